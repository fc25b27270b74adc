#!/usr/bin/env bash
# The fuel supplier gets a refuel request: a generator's fuel falling below
# 12 hours at the current burn opens an incident routed to an outside
# Contact, whose page carries its own message with the site, the litres
# needed to fill the tank and the hours left; the request stays open on the
# incident until the refuel shows in the fuel readings, which resolves it
# and tells the supplier.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
LOG=$VG_TMP/fuelco.jsonl
touch "$LOG"
mkfifo "$VG_TMP/port.fifo"
python3 "$VG_SOURCE/tests/tools/page_receiver.py" --log "$LOG" >"$VG_TMP/port.fifo" &
VG_PIDS+=("$!")
read -r R_PORT <"$VG_TMP/port.fifo"

cat >"$VG_TMP/m.yaml" <<EOF
kind: Site
name: dc1
spec: {location: "hall"}
---
kind: Zone
name: gen-yard
spec: {site: dc1, type: generator}
---
kind: Device
name: gen-1
spec: {site: dc1, zone: gen-yard, driver: push}
---
kind: Sensor
name: gen-1-fuel
spec: {zone: gen-yard, device: gen-1, type: generator-fuel, builtin_rules: false}
---
kind: Rule
name: gen-fuel
spec: {sensor: gen-1-fuel, severity: warning,
       fuel: {tank_litres: 2000, burn_lph_full: 100, below_hours: 12, critical_hours: 4}}
---
kind: Contact
name: fuelco
spec:
  organisation: Fuel & Co
  contact_methods: [{name: orders, type: webhook, url: "http://127.0.0.1:$R_PORT/orders"}]
  message: "Refuel request for site {site}: {litres_needed} litres needed, {hours_left} hours of fuel left."
---
kind: EscalationPolicy
name: refuel
spec:
  match: {labels: {rule: gen-fuel}}
  steps: [{notify: [{contact: fuelco}], wait_minutes: 60}]
EOF
"$VIGIL" apply -f "$VG_TMP/m.yaml" >/dev/null || fail "apply the generator and the supplier"
push() { # PERCENT
    local i
    for ((i = 0; i < 50; i++)); do
        curl -sS -H "Authorization: Bearer $VG_TOKEN" \
            --data-binary "gen-1-fuel value=$1 $(($(date +%s%N) / 1000000))" \
            "http://127.0.0.1:$VG_PORT/api/v1/write?precision=ms" | jq -e '.accepted == 1' >/dev/null && return 0
        sleep 0.1
    done
    fail "push fuel $1 %"
}
wait_for() { # SECONDS WHAT CONDITION
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        eval "$3" && return 0
        sleep 0.1
    done
    fail "$2 (waited $1 s)"
}

push 100 # 2000 l at 100 l/h: 20 h, fine
sleep 0.5
assert_eq 0 "$(wc -l <"$LOG")" "no request while the tank is full"
push 25 # 500 l: 5 h left
wait_for 5 "the supplier's refuel request" '(( $(wc -l <"$LOG") >= 1 ))'
details=$(head -1 "$LOG" | jq -r '.body | fromjson | .details')
assert_eq "Refuel request for site dc1: 1500 litres needed, 5.0 hours of fuel left." "$details" \
    "the supplier's message"
inc=$(vg_api GET '/api/v1/incidents?status=open' | cut -d' ' -f2- | jq -c '.items[0]')
assert_eq "warning dc1 refuel" "$(jq -r '[.severity, .site, .policy] | join(" ")' <<<"$inc")" \
    "the refuel incident"
pass "fuel below 12 hours: the supplier gets a refuel request with litres needed and hours left"

push 95 # refuelled: 1900 l, 19 h
wait_for 5 "the request closed by the refuel" \
    '[[ $(vg_api GET "/api/v1/incidents/$(jq .id <<<"$inc")" | cut -d" " -f2- | jq -r .status) == resolved ]]'
wait_for 5 "the supplier told" '[[ $(tail -1 "$LOG" | jq -r ".body | fromjson | .event") == resolve ]]'
pass "the refuel shows in the fuel readings: the request resolves and the supplier is told"

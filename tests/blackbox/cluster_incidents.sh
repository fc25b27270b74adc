#!/usr/bin/env bash
# Exactly once across a failover: two sites and a witness on loopback, an
# incident escalating through three steps and two rounds (a "minute" is
# 300 ms), and the primary killed with -9 between the first and the second
# step. The
# new primary goes on with the escalation where the log says it was, on
# schedule; a receiver counting every request sees each of the six pages
# once, none twice, none missing. Both sites hold the same incident.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
MIN_MS=300
m_start dc1 --bootstrap --escalation-minute-ms $MIN_MS
wait_until "dc1 is primary" is_primary dc1
m_start dc2 --escalation-minute-ms $MIN_MS
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1

LOG=$VG_TMP/pages.jsonl
touch "$LOG"
fifo=$VG_TMP/port.fifo
mkfifo "$fifo"
python3 "$VG_SOURCE/tests/tools/page_receiver.py" --log "$LOG" >"$fifo" &
VG_PIDS+=("$!")
R_PORT=$(head -1 "$fifo")

people=""
for p in alice bob carol; do
    people+="---
kind: Person
name: $p
spec:
  contact_methods:
    - {name: hook, type: webhook, url: \"http://127.0.0.1:$R_PORT/$p\"}
"
done
cat >"$VG_TMP/m.yaml" <<EOF
kind: Site
name: dc1
spec: {location: "hall"}
---
kind: Zone
name: hall-a
spec: {site: dc1, type: server-room}
---
kind: Device
name: bms
spec: {site: dc1, zone: hall-a, driver: push}
---
kind: Sensor
name: rack-1
spec: {zone: hall-a, device: bms, type: temperature, builtin_rules: false}
---
kind: Rule
name: rack-hot
spec: {sensor: rack-1, severity: critical, above: 30}
$people---
kind: EscalationPolicy
name: everyone
spec:
  steps:
    - {notify: [{person: alice}], wait_minutes: 3}
    - {notify: [{person: bob}], wait_minutes: 3}
    - {notify: [{person: carol}], wait_minutes: 3}
  repeat: 1
EOF
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_TMP/m.yaml" >/dev/null || fail "apply the manifests"
on() { curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$2"; }

pushed() { # the monitor learns a new sensor a moment after it commits
    curl -sS -H "Authorization: Bearer $TOKEN" \
        --data-binary "rack-1 value=35 $(($(date +%s%N) / 1000000))" \
        "${URL[dc1]}/api/v1/write?precision=ms" | jq -e '.accepted == 1' >/dev/null
}
wait_until "a hot reading accepted" pushed
wait_until "the first page (alice)" bash -c "(( \$(wc -l <'$LOG') >= 1 ))"
# the kill lands between steps: once the mirror holds alice's page as
# delivered (a page still in flight at a kill is sent again by the new
# primary with the same Idempotency-Key: docs/oncall.md)
alice_done() { [[ $(on dc2 /api/v1/incidents/1 | jq -r '[.pages[] | select(.target=="alice")][0].state') == delivered ]]; }
wait_until "alice's page recorded on both sites" alice_done
kill -9 "${PID[dc1]}"
wait_until "dc2 takes over" is_primary dc2
pass "the primary was killed -9 after the first page; dc2 took over"

# 2 rounds x 3 steps; the last step is due 5 waits (4.5 s) after the first.
# The failover itself is an incident too (cluster/failover-N), paged by the
# same catch-all policy: only the rack's pages are counted here.
rack() { jq -c 'select(.headers["Idempotency-Key"] | startswith("inc1-"))' "$LOG"; }
wait_until "six pages" bash -c "(( \$(jq -c 'select(.headers[\"Idempotency-Key\"] | startswith(\"inc1-\"))' '$LOG' | wc -l) >= 6 ))"
sleep $((MIN_MS * 3 * 2 / 1000 + 1)) # room for a seventh, which must not come
keys=$(rack | jq -r '.headers["Idempotency-Key"]')
assert_eq 6 "$(rack | wc -l)" "requests the receiver got (none twice)"
assert_eq 6 "$(sort -u <<<"$keys" | wc -l)" "distinct pages"
order=$(rack | jq -r '.path' | tr -d / | tr '\n' ' ')
assert_eq "alice bob carol alice bob carol " "$order" "who was paged, in order"
failover=$(on dc2 '/api/v1/incidents?status=all' |
    jq -r '[.items[] | select(.key | startswith("cluster/failover-"))][0] | .severity')
assert_eq critical "$failover" "the failover is an incident of its own"
pass "every page delivered once, in the policy's order, across the failover"

inc=$(on dc2 /api/v1/incidents/1)
# each step fired one wait after the one before, the failover included
steps=$(jq -r '[.timeline[] | select(.what=="escalated") | .time] | .[]' <<<"$inc")
prev=""
while read -r t; do
    if [[ -n $prev ]]; then
        gap=$((t - prev))
        ((gap >= 3 * MIN_MS - 50 && gap <= 3 * MIN_MS + 2500)) ||
            fail "a step fired $gap ms after the one before (want about $((3 * MIN_MS)) ms)"
    fi
    prev=$t
done <<<"$steps"
assert_eq 6 "$(jq '[.timeline[] | select(.what=="escalated")] | length' <<<"$inc")" \
    "escalation steps on the timeline"
assert_eq 6 "$(jq '[.pages[] | select(.state=="delivered")] | length' <<<"$inc")" \
    "pages delivered on the timeline"
pass "the new primary escalated on schedule from the recorded times"

m_start dc1 --escalation-minute-ms $MIN_MS
wait_until "dc1 back as an in-sync mirror" is_mirror_in_sync dc1 dc2
same() { [[ $(on dc1 /api/v1/incidents/1 | jq -S 'del(.timeline) | del(.pages)') == \
    "$(on dc2 /api/v1/incidents/1 | jq -S 'del(.timeline) | del(.pages)')" ]] &&
    [[ $(on dc1 /api/v1/incidents/1 | jq -S .timeline) == "$(on dc2 /api/v1/incidents/1 | jq -S .timeline)" ]]; }
wait_until "both sites hold the same incident" same
pass "both sites hold the same incident and timeline"

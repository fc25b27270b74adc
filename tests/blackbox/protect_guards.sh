#!/usr/bin/env bash
# The protect service's guard rails on a two-site cluster with a witness
# (docs/protect.md), with detectors whose readings the test pushes:
#  - a smoke detector that raises and clears faster than the hold time,
#    beside a VESDA at fire level, moves nothing and records nothing;
#  - a confirmed fire at dc1 while dc2's own server room is wet is
#    declined, and says so; an operator's freeze declines it too (a viewer
#    may not freeze), and both sites hold the freeze;
#  - once unfrozen, the fire that still holds moves the role to dc2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1
cat >"$VG_TMP/m.yaml" <<'YAML'
kind: Site
name: dc1
spec: {location: "site one"}
---
kind: Site
name: dc2
spec: {location: "site two"}
---
kind: Zone
name: dc1-hall
spec: {site: dc1, type: server-room}
---
kind: Zone
name: dc2-hall
spec: {site: dc2, type: server-room}
---
kind: Device
name: dc1-bms
spec: {site: dc1, zone: dc1-hall, driver: push}
---
kind: Device
name: dc2-bms
spec: {site: dc2, zone: dc2-hall, driver: push}
---
kind: Sensor
name: dc1-smoke
spec: {zone: dc1-hall, device: dc1-bms, type: smoke}
---
kind: Sensor
name: dc1-vesda
spec: {zone: dc1-hall, device: dc1-bms, type: vesda-alarm}
---
kind: Sensor
name: dc2-leak
spec: {zone: dc2-hall, device: dc2-bms, type: water-leak}
---
kind: FailoverPolicy
name: default
spec: {hold_s: 2, cooldown_s: 600}
YAML
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_TMP/m.yaml" >/dev/null || fail "apply the manifests"

on() { curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$2"; }
push() { # "sensor value" pairs, to the primary dc1
    local body="" now
    now=$(date +%s%3N)
    while (($#)); do
        body+="$1 value=$2 $now"$'\n'
        shift 2
    done
    curl -sS -m 5 -H "Authorization: Bearer $TOKEN" --data-binary "$body" \
        "${URL[dc1]}/api/v1/write?precision=ms" | jq -e ".accepted > 0" >/dev/null
}
wait_until "the monitor knows the pushed sensors" push dc1-smoke 0 dc1-vesda 0 dc2-leak 0
protect_events() { on dc1 /api/v1/events | jq -c '[.items[] | select(.kind | startswith("protect_"))]'; }
crit() { on dc1 /api/v1/alerts | jq -e --arg id "$1" '[.active[] | select(.id==$id and .to=="critical")] | length > 0' >/dev/null; }

# --- a flapping smoke detector: 12 raises in 6 s, none lasting the 2 s hold
push dc1-vesda 3 || fail "push VESDA fire 1"
wait_until "VESDA in alarm" crit vesda-alarm/dc1-vesda
raised=0
for ((i = 0; i < 12; i++)); do
    push dc1-smoke 1 dc1-vesda 3
    crit smoke/dc1-smoke && raised=$((raised + 1))
    sleep 0.25
    push dc1-smoke 0 dc1-vesda 3
    sleep 0.25
done
((raised >= 6)) || fail "the smoke detector was seen in alarm only $raised times of 12"
sleep 2.5 # longer than the hold, after the last raise
is_primary dc1 || fail "a flapping smoke detector moved the primary role"
assert_eq "[]" "$(protect_events)" "protect decisions recorded for a flapping detector"
pass "a flapping smoke detector ($raised alarms seen) causes no switchover and no decision"

# --- dc2's server room is wet: a confirmed fire at dc1 is declined
push dc2-leak 1 dc1-smoke 1 dc1-vesda 3 || fail "push the leak and the fire"
wait_until "the leak at dc2 is critical" crit water-leak/dc2-leak
declined() { # CODE
    on dc1 /api/v1/events | jq -e --arg c "$1" \
        '[.items[] | select(.kind=="protect_declined" and .code==$c)] | length > 0' >/dev/null
}
wait_until "the switchover is declined" declined mirror-site-critical
ev=$(on dc1 /api/v1/events | jq -c '[.items[] | select(.kind=="protect_declined")][0]')
assert_eq fire "$(jq -r .condition <<<"$ev")" "the declined event's condition"
assert_contains "$(jq -r .message <<<"$ev")" "dc2 has a critical condition itself (water-leak/dc2-leak)" \
    "the event says why"
is_primary dc1 || fail "dc1 switched over to a wet site"
incident() { on dc1 '/api/v1/incidents?status=all' | jq -c '[.items[] | select(.key=="protect/dc1")][0] // empty'; }
wait_until "an incident for dc1" bash -c "[[ -n \$(curl -s -m 5 -H 'Authorization: Bearer $TOKEN' '${URL[dc1]}/api/v1/incidents?status=all' | jq -c '.items[] | select(.key==\"protect/dc1\")') ]]"
assert_eq critical "$(incident | jq -r .severity)" "a declined switchover's incident"
pass "fire at dc1 with dc2 wet: declined (mirror-site-critical), dc1 stays primary"

# --- frozen: a viewer may not, an operator may; still declined, and stored
VIEWER=$("$VIGIL" -s "${URL[dc1]}" token create --role viewer 2>/dev/null)
set +e
VIGIL_TOKEN=$VIEWER "$VIGIL" -s "${URL[dc1]}" protect freeze --reason "try" 2>/dev/null
rc=$?
set -e
assert_eq 5 "$rc" "vigil protect freeze with a viewer token"
OPERATOR=$("$VIGIL" -s "${URL[dc1]}" token create --role operator --name alice 2>/dev/null)
VIGIL_TOKEN=$OPERATOR "$VIGIL" -s "${URL[dc1]}" protect freeze --reason "generator test" \
    >/dev/null || fail "vigil protect freeze"
wait_until "the switchover is declined as frozen" declined frozen
push dc2-leak 0 dc1-smoke 1 dc1-vesda 3 || fail "push: dc2 dry again"
ok_leak() { ! crit water-leak/dc2-leak; }
wait_until "dc2 is dry" ok_leak
sleep 1
is_primary dc1 || fail "a frozen protect service switched over"
st=$("$VIGIL" -s "${URL[dc2]}" protect status -o json)
assert_eq alice "$(jq -r .frozen.by <<<"$st")" "the freeze as the mirror holds it"
assert_eq "generator test" "$(jq -r .frozen.reason <<<"$st")" "the freeze's reason on the mirror"
assert_eq frozen "$("$VIGIL" -s "${URL[dc1]}" protect status -o json | jq -r .code)" \
    "the primary's current decision"
"$VIGIL" -s "${URL[dc1]}" protect status | grep -q "frozen: *yes, by alice" ||
    fail "vigil protect status does not show the freeze"
on dc1 /api/v1/events | jq -e '[.items[] | select(.kind=="protect_frozen")] | length == 1' >/dev/null ||
    fail "the freeze is not an event"
pass "frozen by an operator: declined (frozen), stored on both sites; a viewer may not freeze"

# --- unfrozen: the fire still holds, the role moves
"$VIGIL" -s "${URL[dc1]}" protect unfreeze --reason "test done" >/dev/null || fail "unfreeze"
wait_until "dc2 becomes primary once unfrozen" is_primary dc2
assert_eq null "$("$VIGIL" -s "${URL[dc2]}" protect status -o json | jq -c .frozen)" "the freeze after unfreeze"
count=$(on dc2 '/api/v1/incidents?status=all' | jq '[.items[] | select(.key=="protect/dc1")][0].count')
((count >= 3)) || fail "the dc1 incident was triggered $count times (want one per decision, 3)"
pass "unfrozen: the fire moves the role to dc2; one incident for dc1, updated $count times"

vg_stop "${PID[dc2]}"
vg_stop "${PID[dc1]}"
pass "clean stop"

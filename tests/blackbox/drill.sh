#!/usr/bin/env bash
# DR drills on a two-site cluster with a witness (docs/protect.md, "Drills"):
# with a drill schedule and no passed drill, an incident says a drill is
# overdue; `vigil drill run --switch-back` moves the primary role to dc2
# and back with the Services, passes with 0 markers lost, reports each
# step's duration and each service's recovery time, leaves dc1 primary and
# resolves the overdue incident; a drill is refused, with the reason, while
# dc2's server room is wet.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_SOURCE/tests/fixtures/protect/sites.yaml" >/dev/null ||
    fail "apply the sites"
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_SOURCE/tests/fixtures/drill/drill.yaml" >/dev/null ||
    fail "apply the drill schedule and the service"
on() { curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$2"; }

# --- the schedule: no drill has passed, the policy asks for one every 8.6 s
overdue() { on "$1" '/api/v1/incidents?status=all' | jq -c '[.items[] | select(.key=="drill/overdue")]'; }
wait_until "a 'DR drill overdue' incident" bash -c "[[ \$(curl -s -m 5 -H 'Authorization: Bearer $TOKEN' '${URL[dc1]}/api/v1/incidents' | jq '[.items[] | select(.key==\"drill/overdue\")] | length') == 1 ]]"
inc=$(overdue dc1 | jq -c '.[0]')
assert_eq drill "$(jq -r .source <<<"$inc")" "the overdue incident's source"
assert_contains "$(jq -r .summary <<<"$inc")" "DR drill overdue" "the overdue incident's summary"
first_id=$(jq -r .id <<<"$inc")
pass "no drill within drill_every_days: incident $first_id 'DR drill overdue'"

# --- a drill there and back
servers="${URL[dc1]},${URL[dc2]}"
t0=$(date +%s%3N)
"$VIGIL" -s "$servers" drill run --switch-back --reason "quarterly drill" >"$VG_TMP/report.md" \
    2>"$VG_TMP/drill.err" || fail "the drill did not pass: $(cat "$VG_TMP/drill.err" "$VG_TMP/report.md")"
took=$(($(date +%s%3N) - t0))
report=$(cat "$VG_TMP/report.md")
assert_contains "$report" "result: **passed**" "the report's result"
assert_contains "$report" "data loss: 0 of 2 markers lost" "the report's data loss"
assert_contains "$report" "| switchover | dc1 | dc2 |" "the report's first step"
assert_contains "$report" "| switch_back | dc2 | dc1 |" "the report's second step"
assert_contains "$report" "| shop | dc2 |" "the service's recovery time at dc2"
assert_contains "$report" "reason: quarterly drill" "the report's reason"
is_primary dc1 || fail "dc1 is not primary after the drill with --switch-back"
pass "drill with --switch-back passed in $took ms, dc1 primary again"

id=$("$VIGIL" -s "${URL[dc2]}" drill list -o json | jq -r '.drills[0].id')
json=$("$VIGIL" -s "${URL[dc2]}" drill report "$id" -o json) || fail "drill report -o json at dc2"
assert_eq passed "$(jq -r .state <<<"$json")" "the stored report's state at dc2 (the mirror)"
assert_eq 2 "$(jq '[.steps[] | select(.result=="ok" and .duration_ms > 0 and .vigil_ms > 0)] | length' <<<"$json")" \
    "steps with a duration and vigil's own role move"
assert_eq 2 "$(jq '[.steps[].services[] | select(.service=="shop" and .rto_ms > 0 and .result=="ok")] | length' <<<"$json")" \
    "the service's recovery time in each step"
assert_eq 0 "$(jq .data_loss.markers_lost <<<"$json")" "markers lost"
assert_eq 2 "$(jq '.marks | length' <<<"$json")" "markers found after the switchovers"
"$VIGIL" -s "${URL[dc1]}" drill report "$id" | grep -q "# DR drill $id" || fail "drill report in Markdown at dc1"
"$VIGIL" -s "${URL[dc1]}" drill list | grep -q "$id  *passed" || fail "drill list shows the drill"
# resolved by the drill (the timeline: 8.6 s later, still without a new
# drill, the same incident comes back as a flap)
resolved() { [[ $(on dc1 "/api/v1/incidents/$first_id" | jq '[.timeline[] | select(.what=="resolved" and .reason=="a DR drill passed")] | length') -ge 1 ]]; }
wait_until "the overdue incident is resolved by the passed drill" resolved
pass "report $id on both sites: per-step durations, per-service RTO, 0 markers lost; overdue incident resolved"

# --- refused while dc2 has a critical condition
"$VIGIL" -s "${URL[dc2]}" sim dc2-sim leak >/dev/null || fail "start the leak at dc2"
wet() { [[ $(on dc1 /api/v1/alerts | jq -r '[.active[] | select(.to=="critical" and .rule=="water-leak")] | length') -ge 1 ]]; }
wait_until "dc2's leak is critical" wet
set +e
"$VIGIL" -s "${URL[dc1]}" drill run --reason "while wet" >/dev/null 2>"$VG_TMP/refused.err"
rc=$?
set -e
assert_eq 4 "$rc" "vigil drill run's exit status when refused (409)"
assert_contains "$(cat "$VG_TMP/refused.err")" "site dc2 has a critical condition" "the refusal says why"
is_primary dc1 || fail "a refused drill moved the primary role"
assert_eq 1 "$("$VIGIL" -s "${URL[dc1]}" drill list -o json | jq '.drills | length')" "a refused drill is not stored"
pass "a drill is refused while dc2 has a critical condition, with the reason"

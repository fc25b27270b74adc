#!/usr/bin/env bash
# The mirror shows the sensor states the primary decides: only the acting
# primary evaluates rules, but both sites hold the alert facts it records,
# and the dashboard (which reads /api/v1/sensors and /api/v1/facility)
# must not show the mirror's tiles grey. A leak at the primary's site,
# whose readings the mirror never holds, is critical on both; a sensor
# without alarm is ok on both; the sites' counts are the same.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_SOURCE/tests/fixtures/facility/two-sites.yaml" \
    >/dev/null || fail "apply the two sites"
cat >"$VG_TMP/leak.yaml" <<'YAML'
kind: Sensor
name: dc1-leak
spec: {zone: dc1-hall, device: dc1-sim, type: water-leak, source: {quantity: water-leak}}
YAML
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_TMP/leak.yaml" >/dev/null || fail "apply dc1-leak"

on() { # MEMBER PATH JQ
    curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$2" | jq -r "$3"
}
state_on() { on "$1" /api/v1/sensors ".[] | select(.name==\"$2\") | .state"; }
is_state() { [[ $(state_on "$1" "$2") == "$3" ]]; }

wait_until "dc1-inlet ok on the primary" is_state dc1 dc1-inlet ok
assert_eq ok "$(state_on dc2 dc1-inlet)" "dc1-inlet's state on the mirror"
assert_eq ok "$(state_on dc2 dc2-inlet)" "dc2-inlet's state on the mirror"

out=$(curl -s -m 5 -H "Authorization: Bearer $TOKEN" -d '{"scenario":"leak"}' \
    "${URL[dc1]}/api/v1/sim/dc1-sim")
assert_contains "$out" '"scenario":"leak"' "trigger a leak on dc1's simulator"
wait_until "dc1-leak critical on the primary" is_state dc1 dc1-leak critical
wait_until "dc1-leak critical on the mirror" is_state dc2 dc1-leak critical
[[ $(on dc2 /api/v1/sensors '.[] | select(.name=="dc1-leak") | .value // empty') == "" ]] ||
    fail "the mirror should not hold dc1's readings"
counts() { on "$1" /api/v1/facility '.sites.dc1 | "\(.sensors) \(.critical) \(.warning) \(.stale)"'; }
assert_eq "$(counts dc1)" "$(counts dc2)" "dc1's counts on the mirror"
[[ $(counts dc2) == "2 1 "* ]] || fail "dc1's counts on the mirror: $(counts dc2)"
pass "a leak the primary decides is critical on the mirror too"

# the leak over: ok again on both
curl -s -m 5 -H "Authorization: Bearer $TOKEN" -d '{"scenario":"normal"}' \
    "${URL[dc1]}/api/v1/sim/dc1-sim" >/dev/null
wait_until "dc1-leak ok on the primary" is_state dc1 dc1-leak ok
wait_until "dc1-leak ok on the mirror" is_state dc2 dc1-leak ok
pass "its end is seen on the mirror"

vg_stop "${PID[dc2]}"
vg_stop "${PID[dc1]}"
pass "clean stop"

#!/usr/bin/env bash
# Facility monitoring across two sites and a witness on loopback: each
# member reads its own site's devices; the mirror's readings reach the
# primary over the member link; a rule state change the primary decides is
# a record both sites hold; while the primary is away (and the witness too,
# so nobody takes over) the mirror spools its readings, sealed, and
# delivers every one of them, in order, once the primary is back.
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

on() { # MEMBER PATH JQ
    curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$2" | jq -r "$3"
}
value_on() { on "$1" /api/v1/sensors ".[] | select(.name==\"$2\") | .value // empty"; }
has_value_on() { [[ -n $(value_on "$1" "$2") ]]; }
points_on() { # MEMBER SENSOR FROM TO -> "t v" lines
    on "$1" "/api/v1/series?sensor=$2&from=$3&to=$4&step=raw" '.points[] | "\(.[0]) \(.[1])"'
}

# --- each site's readings, all on the primary
wait_until "dc1's own sensor on dc1" has_value_on dc1 dc1-inlet
wait_until "dc2's sensor forwarded to dc1" has_value_on dc1 dc2-inlet
# a member runs a simulator only for a device it polls itself: asking it for
# a scenario finds its own site's device (200) and not the other's (404)
sim_code() { # MEMBER DEVICE -> HTTP code of a "normal" scenario there
    curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -d '{"scenario":"normal"}' "${URL[$1]}/api/v1/sim/$2"
}
assert_eq 200 "$(sim_code dc1 dc1-sim)" "dc1 runs its own site's simulator"
assert_eq 404 "$(sim_code dc1 dc2-sim)" "dc1 runs dc2's simulator (it would poll dc2's device itself)"
assert_eq 200 "$(sim_code dc2 dc2-sim)" "dc2 runs its own site's simulator"
assert_eq 404 "$(sim_code dc2 dc1-sim)" "dc2 runs dc1's simulator"
wait_until "dc2's own sensor on dc2" has_value_on dc2 dc2-inlet # the next check reads the same list
[[ $(on dc2 /api/v1/sensors '.[] | select(.name=="dc1-inlet") | .value // empty') == "" ]] ||
    fail "the mirror should hold only its own site's readings"
pass "each member reads its site; dc2's readings reach the primary"

# --- a leak at dc2: decided by the primary, recorded on both sites
out=$(curl -s -m 5 -H "Authorization: Bearer $TOKEN" -d '{"scenario":"leak"}' \
    "${URL[dc2]}/api/v1/sim/dc2-sim")
assert_contains "$out" '"scenario":"leak"' "trigger a leak on dc2's simulator (at dc2)"
leak_on() { [[ $(on "$1" /api/v1/alerts '.active[] | select(.id=="water-leak/dc2-leak") | .to') == critical ]]; }
wait_until "leak alert on dc1" leak_on dc1
wait_until "leak alert replicated to dc2" leak_on dc2
pass "the leak at dc2 is a critical alert on both sites"

# --- the primary away (and the witness, so dc2 stays mirror): dc2 spools
kill -9 "$W_PID"
wait "$W_PID" 2>/dev/null || true
sleep 0.5
t_kill=$(( $(date +%s%3N) ))
kill -9 "${PID[dc1]}"
wait "${PID[dc1]}" 2>/dev/null || true
sleep 3
t_back=$(( $(date +%s%3N) ))
# what dc2 read meanwhile, from its own store
points_on dc2 dc2-inlet "$t_kill" "$t_back" >"$VG_TMP/outage.dc2"
n_outage=$(wc -l <"$VG_TMP/outage.dc2")
[[ $n_outage -ge 8 ]] || fail "dc2 read only $n_outage values during the outage"
[[ $(role_of dc2) == mirror* ]] || fail "dc2 took over without the witness"
spool=$VG_TMP/dc2/spool.vgq
[[ -s $spool ]] || fail "dc2 spooled nothing while the primary was away"
grep -qa "dc2-inlet" "$spool" && fail "the spool holds sensor names in plaintext"
spooled() { curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[dc2]}/metrics" |
    awk '$1 == "vigil_spool_batches" { print $2 }'; }
[[ $(spooled) -gt 0 ]] || fail "dc2's /metrics shows no spooled batches"
pass "primary and witness down: dc2 stays mirror, spools $n_outage readings sealed"

# the witness first (a restarted member learns its role from it), then dc1
# at once: the witness counts every member as heard when it starts, so dc2
# cannot be promoted before dc1 is back
w_start
m_start dc1
wait_until "dc1 primary again" is_primary dc1
delivered() {
    points_on dc1 dc2-inlet "$t_kill" "$t_back" >"$VG_TMP/outage.dc1"
    cmp -s "$VG_TMP/outage.dc1" "$VG_TMP/outage.dc2"
}
wait_until "every spooled reading on dc1" delivered
drained() { [[ ! -s $spool ]]; }
wait_until "the spool empties once the primary has it all" drained
assert_eq 0 "$(spooled)" "spool gauge after delivery"
pass "all $n_outage readings of the outage delivered to dc1, in order"

vg_stop "${PID[dc2]}"
vg_stop "${PID[dc1]}"
pass "clean stop"

#!/usr/bin/env bash
# The primary's site cut off from the other site and the witness (clients
# still reach it): dc1 stops acting as primary once its lease runs out, dc2
# is promoted, writes resume on dc2 and dc1 refuses them. Healed, dc1 rejoins
# as mirror; every acknowledged write is on both.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

vgc_writer_start --workers 2 --interval 0.005
sleep 1
vgn_isolate dc1
t_cut=$(vgc_now)
vgc_wait_primary dc2 3 || fail "no failover to dc2"
pass "dc1 isolated: dc2 acting primary after $VGC_WAITED s"
vgc_wait_resumed "$t_cut" 5 || fail "writes did not resume"
r=$(vgc_maxgap --after "$t_cut" --max 5) || fail "writes did not resume within 5 s: $r"
assert_eq false "$(vgc_cluster dc1 | jq .acting)" "dc1 acting while isolated"
res=$(vgc_api dc1 PUT /api/v1/objects/Site/isolated-write '{"spec":{"location":"nowhere"}}')
assert_eq 503 "${res%% *}" "a write to the isolated dc1"
pass "writes resumed on dc2 $(jq .resumed_after_s <<<"$r") s after the cut; the isolated dc1 refuses them"

vgn_heal
vgc_wait_mirrored 15 || fail "dc1 did not rejoin"
assert_eq mirror "$(vgc_cluster dc1 | jq -r .role)" "role of dc1 after the heal"
vgc_writer_stop
out=$(vgc_check dc2 --also "$(vgc_url dc1)" --wait 10 2>&1) || fail "after the heal: $out"
pass "healed: dc1 is the mirror; $(vgc_summary "$out") on both"
vgc_check_epochs
pass "no epoch with two primaries: $VGC_EPOCHS"

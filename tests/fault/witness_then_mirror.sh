#!/usr/bin/env bash
# The witness down: writes go on. Then the mirror down too: writes block
# (vigil never picks availability over data unless forced), and nothing is
# acknowledged until the mirror is back; then they resume and nothing
# acknowledged is lost (DESIGN.md section 3, "What the witness being down
# means").
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

vgc_writer_start --workers 2 --interval 0.005 --timeout 1
sleep 0.5
vgc_kill9 witness
t_wit=$(vgc_now)
sleep 1.5
r=$(vgc_maxgap --from "$t_wit" --to "$(vgc_now)" --max 0.5) || fail "writes stalled with the witness down: $r"
assert_eq dc1 "$(vgc_primary)" "acting primary with the witness down"
pass "witness down: writes go on (longest gap $(jq .max_gap_s <<<"$r") s)"

vgc_kill9 dc2
t_mirror=$(vgc_now)
sleep 2
t_back=$(vgc_now)
n=$(vgc_acks_between "$(awk -v t="$t_mirror" 'BEGIN { printf "%.6f", t + 0.2 }')" "$t_back")
assert_eq 0 "$n" "writes acknowledged with the witness and the mirror down"
pass "witness and mirror down: no write is acknowledged"

vgc_start_member dc2
vgc_wait_resumed "$t_back" 10 || fail "writes did not resume after dc2's restart: $(vgc_cluster dc1)"
r=$(vgc_maxgap --after "$t_back")
vgc_wait_mirrored 10 || fail "dc2 not mirrored after its restart"
vgc_writer_stop
out=$(vgc_check dc1 --also "$(vgc_url dc2)" --wait 10 2>&1) || fail "after dc2's restart: $out"
pass "dc2 back: writes resumed $(jq .resumed_after_s <<<"$r") s later; $(vgc_summary "$out") on both"
vgc_check_epochs
pass "no epoch with two primaries: $VGC_EPOCHS"

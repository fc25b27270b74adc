#!/usr/bin/env bash
# Each component restarted in turn under continuous acknowledged writes:
#  1. the witness (SIGTERM, clean exit, started again on the same data): writes
#     never stop (no pause of 0.5 s or more), dc1 stays primary and mirrored,
#     and both members hear the witness again;
#  2. the mirror dc2 (kill -9, started again): dc1 degrades to sync {dc1} and
#     goes on committing (writes resume within 1.5 s), dc2 catches up and
#     mirroring is restored within 10 s of its restart;
#  3. the primary dc1 (SIGTERM = clean shutdown, exit 0): dc2 takes over,
#     writes resume within 3 s; dc1 started again rejoins as the mirror.
# After each step every write acknowledged so far is on the primary; at the
# end both members hold the same objects and no epoch had two primaries.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# wait_for TIMEOUT_S JQ_FILTER NAME: until NAME's GET /api/v1/cluster matches.
wait_for() {
    local t0=$EPOCHREALTIME
    while ! vgc_cluster "$3" | jq -e "$2" >/dev/null 2>&1; do
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v t="$1" 'BEGIN { exit !(b - a < t) }' || return 1
        sleep 0.05
    done
}

vgc_writer_start --workers 2 --interval 0.005
sleep 1

# --- 1. the witness -----------------------------------------------------------
t_wit=$(vgc_now)
vgc_term witness
sleep 0.3
vgc_start_witness
for n in dc1 dc2; do
    wait_for 3 '.witness.reachable == true and .witness.last_heard_ms < 300' "$n" ||
        fail "$n does not hear the restarted witness: $(vgc_cluster "$n" | jq -c .witness)"
done
sleep 0.5
r=$(vgc_maxgap --from "$t_wit" --to "$(vgc_now)" --max 0.5) || fail "writes paused while the witness restarted: $r"
assert_eq dc1 "$(vgc_primary)" "acting primary after the witness's restart"
vgc_wait_mirrored 2 || fail "not mirrored after the witness's restart"
vgc_check_live dc1
pass "witness restarted (SIGTERM, exit 0): longest pause in writes $(jq .max_gap_s <<<"$r") s; dc1 primary and mirrored; $VGC_LIVE"

# --- 2. the mirror ------------------------------------------------------------
t_mirror=$(vgc_now)
vgc_kill9 dc2
wait_for 3 '.sync == ["dc1"] and .acting == true' dc1 ||
    fail "dc1 did not degrade to sync {dc1} with its mirror killed: $(vgc_cluster dc1)"
t_degraded=$(vgc_now)
vgc_wait_resumed "$t_degraded" 2 || fail "writes did not go on on the degraded dc1"
r=$(vgc_maxgap --from "$t_mirror" --to "$(vgc_now)" --max 1.5) || fail "writes paused over 1.5 s with the mirror killed: $r"
gap_kill=$(jq .max_gap_s <<<"$r")
t_restart=$(vgc_now)
vgc_start_member dc2
vgc_wait_mirrored 10 || fail "dc2 not back in sync within 10 s of its restart"
t_sync=$(vgc_now)
assert_eq mirror "$(vgc_cluster dc2 | jq -r .role)" "role of the restarted dc2"
r=$(vgc_maxgap --from "$t_mirror" --to "$(vgc_now)" --max 1.5) || fail "writes paused over 1.5 s while dc2 rejoined: $r"
kinds=$(vgc_curl dc1 -f "/api/v1/events?limit=100" | jq -r '[.items[] | select(.config) | .kind] | join(" ")')
[[ $kinds == *"degraded restored" ]] || fail "the last configuration changes are not degraded, restored: $kinds"
vgc_check_live dc1
pass "mirror killed: dc1 degraded after $(secs "$t_mirror" "$t_degraded") s (longest pause in writes $gap_kill s); dc2 restarted and in sync $(secs "$t_restart" "$t_sync") s later; $VGC_LIVE"

# --- 3. the primary, clean shutdown -------------------------------------------
t_term=$(vgc_now)
vgc_term dc1
t_exit=$(vgc_now)
vgc_wait_primary dc2 3 || fail "no failover to dc2 after dc1's clean shutdown"
pass "dc1 exited 0 $(secs "$t_term" "$t_exit") s after SIGTERM; dc2 acting primary $VGC_WAITED s later"
vgc_wait_resumed "$t_exit" 3 || fail "writes did not resume on dc2"
r=$(vgc_maxgap --after "$t_term" --max 3) || fail "writes did not resume within 3 s of the SIGTERM: $r"
resumed=$(jq '[.max_gap_s, .resumed_after_s] | max' <<<"$(vgc_maxgap --from "$t_term" --to "$(vgc_now)" --after "$t_term")")
vgc_check_live dc2
vgc_start_member dc1
vgc_wait_mirrored 10 || fail "dc1 did not rejoin as mirror"
assert_eq mirror "$(vgc_cluster dc1 | jq -r .role)" "role of the restarted dc1"
sleep 0.3
vgc_writer_stop
pass "longest pause in writes across dc1's shutdown $resumed s; dc1 restarted and rejoined as mirror"

out=$(vgc_check dc2 --also "$(vgc_url dc1)" --wait 10 2>&1) || fail "after the restarts: $out"
assert_eq 1 "$(vgc_cluster dc2 | jq .failovers)" "failovers recorded"
vgc_check_epochs
pass "$(vgc_summary "$out") on both; $VGC_EPOCHS"

#!/usr/bin/env bash
# A hung primary (SIGSTOP): dc2 takes over; when dc1 runs again (SIGCONT) it
# must find out it is no longer primary, not serve writes, and rejoin as
# mirror without losing anything acknowledged meanwhile.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

vgc_writer_start --workers 2 --interval 0.005
sleep 1
vgc_stop dc1
vgc_wait_primary dc2 3 || fail "no failover to dc2 while dc1 is stopped"
pass "dc1 stopped: dc2 acting primary after $VGC_WAITED s"
sleep 0.5
vgc_cont dc1
sleep 1
kill -0 "${VGC_PID[dc1]}" 2>/dev/null || fail "dc1 died after SIGCONT"
assert_eq dc2 "$(vgc_primary)" "acting primary after dc1 runs again"
vgc_wait_mirrored 15 || fail "dc1 did not rejoin as mirror"
assert_eq mirror "$(vgc_cluster dc1 | jq -r .role)" "role of dc1"
vgc_writer_stop
out=$(vgc_check dc2 --also "$(vgc_url dc1)" --wait 10 2>&1) || fail "after SIGCONT: $out"
pass "dc1 continued: it stepped down and rejoined as mirror; $(vgc_summary "$out") on both"
vgc_check_epochs
pass "no epoch with two primaries: $VGC_EPOCHS"

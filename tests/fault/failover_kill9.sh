#!/usr/bin/env bash
# Unplanned failover. Under continuous acknowledged writes to both members,
# kill -9 the primary dc1: dc2 must be the acting primary within ~1 s
# (dead_after 800 ms + heartbeat + witness round trip; 3 s allowed here),
# writes resume, every acknowledged write is on dc2; dc1 restarted rejoins as
# mirror, and both then hold the same objects.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up
pass "dc1 primary, dc2 mirrored"

vgc_writer_start --workers 2 --interval 0.005
sleep 1
vgc_kill9 dc1
t_kill=$(vgc_now)
vgc_wait_primary dc2 3 || fail "no failover to dc2"
pass "dc2 acting primary $VGC_WAITED s after kill -9 of dc1"
sleep 1
vgc_writer_stop
r=$(vgc_maxgap --after "$t_kill" --max 3) || fail "writes did not resume within 3 s: $r"
pass "writes resumed $(jq .resumed_after_s <<<"$r") s after the kill"
out=$(vgc_check dc2 2>&1) || fail "acknowledged writes lost in the failover: $out"
pass "$(grep '^check http' <<<"$out")"

vgc_start_member dc1
vgc_wait_mirrored 15 || fail "dc1 did not rejoin as mirror"
[[ $(vgc_cluster dc1 | jq -r .role) == mirror ]] || fail "dc1 is not the mirror: $(vgc_cluster dc1)"
out=$(vgc_check dc2 --also "$(vgc_url dc1)" --wait 10 2>&1) || fail "members disagree: $out"
pass "dc1 rejoined as mirror; both members hold the same objects"
vgc_check_epochs
pass "no epoch with two primaries: $VGC_EPOCHS"

#!/usr/bin/env bash
# A broken link between the sites only (the witness still sees both): the
# primary degrades (sync = {dc1}) and goes on committing alone; there is no
# failover. Healed, dc2 catches up, mirroring is restored, nothing acknowledged
# is lost and both members hold the same objects (DESIGN.md section 3, rule 2).
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

vgc_writer_start --workers 2 --interval 0.005
sleep 1
vgn_cut dc1 dc2
t_cut=$(vgc_now)
sleep 2.5 # > dead_after + heartbeats: a failover would have happened by now
assert_eq dc1 "$(vgc_primary)" "acting primary with the link cut"
c=$(vgc_cluster dc1)
assert_eq '["dc1"]' "$(jq -c .sync <<<"$c")" "sync set of the degraded primary"
assert_eq 0 "$(jq .failovers <<<"$c")" "failovers"
assert_eq mirror "$(vgc_cluster dc2 | jq -r .role)" "role of dc2 with the link cut"
r=$(vgc_maxgap --from "$t_cut" --to "$(vgc_now)" --max 1.5) || fail "writes paused over 1.5 s after the cut: $r"
pass "link cut: dc1 degraded to sync {dc1} and no failover; longest pause in writes $(jq .max_gap_s <<<"$r") s"

vgn_heal dc1 dc2
vgc_wait_mirrored 10 || fail "mirroring not restored after the heal"
sleep 0.5
vgc_writer_stop
out=$(vgc_check dc1 --also "$(vgc_url dc2)" --wait 10 2>&1) || fail "after the heal: $out"
kinds=$(vgc_curl dc1 -f "/api/v1/events?limit=100" | jq -r '[.items[].kind] | join(" ")')
assert_contains "$kinds" degraded "events"
assert_contains "$kinds" restored "events"
pass "healed: mirroring restored, degraded/restored events, $(vgc_summary "$out") on both"
vgc_check_epochs
pass "no epoch with two primaries: $VGC_EPOCHS"

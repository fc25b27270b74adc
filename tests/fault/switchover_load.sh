#!/usr/bin/env bash
# Planned switchover under continuous acknowledged writes (DESIGN.md section
# 3, "Planned switchover"): POST /api/v1/cluster/switchover to dc1 answers
# 200 naming dc2 with took_ms < 1000; dc2 is then the acting primary with
# dc1 as its mirror in sync; writes pause for less than 1 s and no write ends
# with an unknown outcome (clients only see clean "not the primary"
# refusals). Then back to dc1 with `vigil switchover`, the same way. Nothing
# acknowledged is lost, both members hold the same objects, both changes are
# recorded as switchovers (no failover), and no epoch had two primaries.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

vgc_writer_start --workers 2 --interval 0.005
sleep 1

# --- dc1 -> dc2 through the API ---------------------------------------------
t_sw=$(vgc_now)
res=$(VGC_CURL_TIMEOUT=10 vgc_api dc1 POST /api/v1/cluster/switchover \
    '{"to":"dc2","reason":"fault test: switchover under load"}')
t_ans=$(vgc_now)
assert_eq 200 "${res%% *}" "status of the switchover (answer: ${res#* })"
body=${res#* }
assert_eq dc2 "$(jq -r .primary <<<"$body")" "primary in the switchover's answer"
took=$(jq -r .took_ms <<<"$body")
[[ $took =~ ^[0-9]+$ ]] && ((took < 1000)) || fail "switchover took_ms: '$took', not < 1000: $body"
vgc_wait_primary dc2 2 || fail "dc2 is not the acting primary after the switchover answered"
vgc_wait_resumed "$t_ans" 1 || fail "no write acknowledged within 1 s of the switchover's answer"
sleep 1
r=$(vgc_maxgap --from "$t_sw" --to "$(vgc_now)" --max 1) ||
    fail "writes paused over 1 s around the switchover: $r"
vgc_wait_mirrored 5 || fail "dc1 is not dc2's mirror in sync after the switchover"
assert_eq mirror "$(vgc_cluster dc1 | jq -r .role)" "role of dc1 after the switchover"
vgc_check_live dc2
pass "switchover to dc2 answered in $(awk -v a="$t_sw" -v b="$t_ans" 'BEGIN { printf "%.3f", b - a }') s (took_ms $took); longest pause in writes $(jq .max_gap_s <<<"$r") s; dc1 mirrors; $VGC_LIVE on dc2"

# --- dc2 -> dc1 with the CLI -------------------------------------------------
t_back=$(vgc_now)
out=$(vgc_cli switchover --to dc1 --reason "fault test: switch back" -o json 2>&1) ||
    fail "vigil switchover --to dc1: $out"
t_ans=$(vgc_now)
assert_eq dc1 "$(jq -r .primary <<<"$out")" "primary in vigil switchover's answer"
took=$(jq -r .took_ms <<<"$out")
[[ $took =~ ^[0-9]+$ ]] && ((took < 1000)) || fail "switchover back took_ms: '$took', not < 1000: $out"
vgc_wait_primary dc1 2 || fail "dc1 is not the acting primary after the switch back"
vgc_wait_resumed "$t_ans" 1 || fail "no write acknowledged within 1 s of the switch back"
sleep 1
r=$(vgc_maxgap --from "$t_back" --to "$(vgc_now)" --max 1) ||
    fail "writes paused over 1 s around the switch back: $r"
vgc_wait_mirrored 5 || fail "dc2 is not dc1's mirror in sync after the switch back"
vgc_writer_stop
pass "switched back to dc1 with vigil switchover (took_ms $took); longest pause in writes $(jq .max_gap_s <<<"$r") s"

assert_eq 0 "$(jq .unknown <<<"$VGC_WRITER")" "writes with an unknown outcome during planned switchovers"
out=$(vgc_check dc1 --also "$(vgc_url dc2)" --wait 10 2>&1) || fail "after two switchovers: $out"
c=$(vgc_cluster dc1)
assert_eq "2 0" "$(jq -r '"\(.switchovers) \(.failovers)"' <<<"$c")" "switchovers and failovers recorded"
kinds=$(vgc_curl dc1 -f "/api/v1/events?limit=100" | jq -r '[.items[] | select(.config) | .kind] | join(" ")')
[[ $kinds == *"switchover switchover" ]] || fail "the last two configuration changes are not switchovers: $kinds"
vgc_check_epochs
pass "$(vgc_summary "$out") on both; 0 unknown outcomes; $VGC_EPOCHS"

#!/usr/bin/env bash
# Randomized faults under continuous acknowledged writes. Each trial waits a
# random 0-1 s, then injects one fault picked at random, heals it and waits
# until the cluster is mirrored again:
#   kill9-primary   kill -9 the acting primary; restarted after 0-0.5 s more
#                   once the other member took over
#   kill9-mirror    kill -9 the mirror for 0.2-1.2 s, then restart it
#   stop-primary    SIGSTOP the primary for 1.2 s, then SIGCONT
#   cut-link        cut dc1-dc2 for 1 s (the witness sees both)
#   isolate-primary cut the primary from the mirror and the witness for 1.5 s
#   kill9-witness   kill -9 the witness for 1 s, then restart it
# After every trial: exactly one acting primary, mirrored within 15 s, writes
# going on, every write acknowledged so far on the primary, and no epoch with
# two primaries (vgc_check_epochs); writes never pause for 0.5 s with the
# witness down, for 1.5 s with the link cut or the mirror killed, for 3 s
# with a fault of the primary (a failover, or its lease running out; a
# write stuck on a stopped primary times out after 2 s). At the end every
# acknowledged write is on both members, which hold the same objects.
#
# Environment:
#   VG_FAULT_TRIALS  number of trials (default 4, which keeps the suite run
#                    under a minute; a soak: VG_FAULT_TRIALS=200, about 15
#                    minutes: more than ctest's 900 s TIMEOUT, so run it
#                    with bash, see README.md)
#   VG_FAULT_SEED    seed of the fault sequence (default: a random one). The
#                    seed is printed first; set it again (with the same
#                    VG_FAULT_TRIALS) to replay the same faults at the same
#                    offsets (timing on the machine still varies).
# e.g.  VG_FAULT_SEED=12345 VG_FAULT_TRIALS=20 ctest --test-dir build -R fault/random --output-on-failure
#       VIGILD=build/vigild VIGIL=build/vigil VG_FAULT_TRIALS=200 bash tests/fault/random.sh
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime

TRIALS=${VG_FAULT_TRIALS:-4}
SEED=${VG_FAULT_SEED:-$(($(od -An -tu2 -N2 /dev/urandom) + 1))}
[[ $TRIALS =~ ^[0-9]+$ ]] && ((TRIALS > 0)) || fail "VG_FAULT_TRIALS must be a positive number, not '$TRIALS'"
[[ $SEED =~ ^[0-9]+$ ]] || fail "VG_FAULT_SEED must be a number, not '$SEED'"
echo "random: VG_FAULT_SEED=$SEED VG_FAULT_TRIALS=$TRIALS (set both to replay this run)"
FAULTS=(kill9-primary kill9-mirror stop-primary cut-link isolate-primary kill9-witness)

vgn_setup
vgc_cluster_up
# Only the main shell draws from RANDOM, and only from here on: the same
# seed gives the same faults and offsets.
RANDOM=$SEED

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ms() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; } # milliseconds -> sleep argument
tfail() { fail "trial $trial/$TRIALS ($fault, VG_FAULT_SEED=$SEED): $*"; }

# wait_witness: both members hear the witness again.
wait_witness() {
    local n t0=$EPOCHREALTIME
    for n in dc1 dc2; do
        until vgc_cluster "$n" | jq -e '.witness.reachable == true and .witness.last_heard_ms < 300' >/dev/null 2>&1; do
            awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 5) }' ||
                tfail "$n does not hear the restarted witness: $(vgc_cluster "$n" | jq -c .witness)"
            sleep 0.05
        done
    done
}

vgc_writer_start --workers 2 --interval 0.01
sleep 0.5
declare -A done_faults=()
t_all=$(vgc_now)
for ((trial = 1; trial <= TRIALS; trial++)); do
    fault=${FAULTS[RANDOM % ${#FAULTS[@]}]}
    pre=$((RANDOM % 1000))
    extra=$((RANDOM % 1000))
    p=$(vgc_primary)
    [[ $p == dc1 || $p == dc2 ]] || tfail "no single acting primary before the trial: '$p'"
    m=$([[ $p == dc1 ]] && echo dc2 || echo dc1)
    case $fault in
    *-primary) what="$fault of $p" ;;
    *-mirror) what="$fault of $m" ;;
    *) what=$fault ;;
    esac
    sleep "$(ms "$pre")"
    t_fault=$(vgc_now)
    max_gap=""
    case $fault in
    kill9-primary)
        vgc_kill9 "$p"
        vgc_wait_primary "$m" 3 || tfail "no failover to $m"
        sleep "$(ms $((extra / 2)))"
        vgc_start_member "$p"
        max_gap=3
        ;;
    kill9-mirror)
        vgc_kill9 "$m"
        sleep "$(ms $((200 + extra)))"
        vgc_start_member "$m"
        max_gap=1.5
        ;;
    stop-primary)
        vgc_stop "$p"
        sleep 1.2
        vgc_cont "$p"
        max_gap=3
        ;;
    cut-link)
        vgn_cut dc1 dc2
        sleep 1
        vgn_heal dc1 dc2
        max_gap=1.5
        ;;
    isolate-primary)
        vgn_isolate "$p"
        sleep 1.5
        vgn_heal
        max_gap=3
        ;;
    kill9-witness)
        vgc_kill9 witness
        sleep 1
        vgc_start_witness
        wait_witness
        max_gap=0.5
        ;;
    esac
    t_heal=$(vgc_now)
    vgc_wait_mirrored 15 || tfail "not mirrored within 15 s of the heal"
    vgc_wait_resumed "$t_heal" 5 || tfail "no write acknowledged within 5 s of the heal"
    p2=$(vgc_primary)
    [[ $p2 == dc1 || $p2 == dc2 ]] || tfail "no single acting primary after the trial: '$p2'"
    r=$(vgc_maxgap --from "$t_fault" --to "$(vgc_now)" --max "$max_gap") ||
        tfail "writes paused over $max_gap s: $r"
    vgc_check_live "$p2"
    vgc_check_epochs
    done_faults[$fault]=$((${done_faults[$fault]:-0} + 1))
    pass "trial $trial/$TRIALS: $what after $(ms "$pre") s: healed after $(secs "$t_fault" "$t_heal") s, primary now $p2, longest pause in writes $(jq .max_gap_s <<<"$r") s; $VGC_LIVE"
done
vgc_writer_stop

out=$(vgc_check "$p2" --also "$(vgc_url "$([[ $p2 == dc1 ]] && echo dc2 || echo dc1)")" --wait 10 2>&1) ||
    fail "after $TRIALS trials (VG_FAULT_SEED=$SEED): $out"
vgc_check_epochs
summary=$(for f in "${!done_faults[@]}"; do echo "$f x${done_faults[$f]}"; done | sort | paste -sd, | sed 's/,/, /g')
pass "$TRIALS trials in $(secs "$t_all" "$(vgc_now)") s ($summary; VG_FAULT_SEED=$SEED): $(vgc_summary "$out") on both; $VGC_EPOCHS"

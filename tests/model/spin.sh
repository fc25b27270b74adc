#!/usr/bin/env bash
# Model check of the mirroring and failover protocol (DESIGN.md section 3):
# src/cluster/model/vigil.pml, verified exhaustively by spin at two sets of
# bounds. Then every deliberately broken variant must make spin find the
# violation it is built to show (so the check can fail), and the situations
# that make the properties interesting must be reachable (so it is not
# vacuous). See src/cluster/model/README.md.
#
# ctest passes VG_SOURCE (repo root) and VG_BUILD; by hand:
#   VG_SOURCE=$PWD bash tests/model/spin.sh
# VG_MODEL_KEEP=1 keeps the work dir (pan sources, outputs, trails);
# VG_MODEL_QUICK=1 leaves out the two long exhaustive runs.
set -euo pipefail

SRC=${VG_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
MODEL=$SRC/src/cluster/model/vigil.pml
MEMLIM=${VG_MODEL_MEMLIM:-6144}   # MB per pan; two run at once: 12 GiB at most

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# Two pans fill both cores for minutes; the timing-sensitive fault tests
# that ctest runs beside this one must not wait behind them.
renice -n 19 $$ >/dev/null 2>&1 || true

[[ -f $MODEL ]] || fail "no model at $MODEL"
command -v spin >/dev/null || fail "spin is not installed (scripts/deps.sh installs it)"
command -v gcc >/dev/null || fail "gcc is not installed"

TMP=$(mktemp -d /tmp/vigil-model.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do # our background checks and their pan
        pkill -P "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ "${VG_MODEL_KEEP:-0}" == 1 ]]; then
        echo "work dir kept: $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# check NAME DEFINES...: build and run pan in $TMP/NAME; the outcome is
# judged later from $TMP/NAME/pan.out. Runs in the background.
check() {
    local name=$1
    shift
    local d=$TMP/$name
    mkdir -p "$d"
    cp "$MODEL" "$d/vigil.pml"
    printf '%s\n' "$@" >"$d/defines"
    (
        cd "$d"
        spin "$@" -a vigil.pml >spin.out 2>&1 || { echo "spin -a failed" >status; exit 0; }
        gcc -O2 -DSAFETY -DMEMLIM="$MEMLIM" -o pan pan.c >gcc.out 2>&1 ||
            { echo "gcc failed" >status; exit 0; }
        start=$(date +%s.%N)
        ./pan -m200000 -w25 >pan.out 2>&1 || true
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' >wall
        echo finished >status
    ) &
    PIDS+=($!)
}

# at most two pans at a time (two cores)
throttle() {
    while (($(jobs -rp | wc -l) >= 2)); do
        wait -n || true
    done
}

stats() { # NAME: "N states, M transitions, depth D, T s"
    local o=$TMP/$1/pan.out
    local states trans depth
    states=$(awk '/states, stored/ { print $1; exit }' "$o")
    trans=$(awk '/transitions \(= stored\+matched\)/ { print $1; exit }' "$o")
    depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$o" | head -n 1)
    echo "$states states, $trans transitions, depth $depth, $(cat "$TMP/$1/wall") s"
}

built() { # NAME
    local st
    st=$(cat "$TMP/$1/status" 2>/dev/null || echo "did not finish")
    [[ $st == finished ]] || fail "$1: $st: $(cat "$TMP/$1"/spin.out "$TMP/$1"/gcc.out 2>/dev/null | tail -n 20)"
}

# expect_clean NAME WHAT: exhaustive, complete, no error
expect_clean() {
    local name=$1 what=$2 o=$TMP/$1/pan.out
    built "$name"
    if grep -q 'assertion violated' "$o"; then
        fail "$name: $(grep 'assertion violated' "$o" | head -n 1) (defines: $(tr '\n' ' ' <"$TMP/$name/defines"); VG_MODEL_KEEP=1 keeps the trail)"
    fi
    grep -q 'errors: 0' "$o" || fail "$name: pan reported errors: $(grep -E 'error' "$o" | head -n 3)"
    ! grep -q 'Search not completed' "$o" || fail "$name: search not completed: $(head -n 5 "$o")"
    ! grep -q 'max search depth too small' "$o" || fail "$name: depth limit hit, search truncated"
    ! grep -q 'reached -DMEMLIM bound' "$o" || fail "$name: out of memory (-DMEMLIM=$MEMLIM)"
    grep -q 'Full statespace search' "$o" || fail "$name: not a full state-space search"
    pass "$what: $(stats "$name")"
    # statements never executed, for the curious (some are dead by design)
    awk '/^unreached in proctype/ { p = $4 } /of [0-9]+ states\)/ && p { printf "  unreached in %s: %s\n", p, $0; p = "" }' "$o" | tr -d '\t'
}

# expect_violation NAME ASSERTION WHAT: spin must find exactly this violation
expect_violation() {
    local name=$1 want=$2 what=$3 o=$TMP/$1/pan.out got
    built "$name"
    got=$(sed -n 's/^pan:1: assertion violated *\(.*\) (at depth.*/\1/p' "$o" | head -n 1)
    [[ -n $got ]] || fail "$name: spin found no violation, expected $want ($(grep -E 'errors:' "$o"))"
    [[ $got == "$want" ]] || fail "$name: expected $want, spin found $got"
    if [[ $want == '!(reached_'* ]]; then
        pass "$what: spin shows a run to it ($(stats "$name"))"
    else
        pass "$what: spin finds $got ($(stats "$name"))"
    fi
}

spin -V | head -n 1

# --- the model as it stands: exhaustive at two sets of bounds, in parallel
# (VG_MODEL_QUICK=1 skips these two, for work on the variants below)
if [[ "${VG_MODEL_QUICK:-0}" != 1 ]]; then
    check full_r3e3 -DMAXR=3 -DMAXE=3
    check full_r2e4 -DMAXR=2 -DMAXE=4
    wait "${PIDS[@]}" || true
    PIDS=()
    expect_clean full_r3e3 "properties 1-4 hold, 3 records, epochs 1-3, exhaustive"
    expect_clean full_r2e4 "properties 1-4 hold, 2 records, epochs 1-4, exhaustive"
fi

# --- variants: NAME|DEFINES|EXPECTED ("clean" or the assertion spin must report)
R23="-DMAXR=2 -DMAXE=3"
R33="-DMAXR=3 -DMAXE=3"
R24="-DMAXR=2 -DMAXE=4"
VARIANTS=(
    "nolease_safe|$R23 -DNO_LEASE -DNO_P4|clean|without the lease ordering, properties 1-3 still hold (2 records, epochs 1-3)"
    "nolease|$R23 -DNO_LEASE|prop4_one_acting_primary|NO_LEASE: two members act as primary at once"
    "bug_commit_noack|$R23 -DBUG_COMMIT_WITHOUT_MIRROR_ACK|prop3_sync_agree|BUG_COMMIT_WITHOUT_MIRROR_ACK: a sync member lacks a committed record"
    "bug_commit_noack_p2|$R23 -DBUG_COMMIT_WITHOUT_MIRROR_ACK -DNO_P3 -DNO_P4|prop2_committed_kept|BUG_COMMIT_WITHOUT_MIRROR_ACK, property 2 alone: a later primary lacks a committed record"
    "bug_promote|$R23 -DBUG_PROMOTE_WITHOUT_WITNESS_RULE|prop3_sync_agree|BUG_PROMOTE_WITHOUT_WITNESS_RULE: the new sync set lacks a committed record"
    "bug_promote_p2|$R23 -DBUG_PROMOTE_WITHOUT_WITNESS_RULE -DNO_P3 -DNO_P4|prop2_committed_kept|BUG_PROMOTE_WITHOUT_WITNESS_RULE, property 2 alone: the new primary lacks a committed record"
    "bug_self_promote|$R23 -DBUG_SELF_PROMOTE -DNO_P2 -DNO_P3 -DNO_P4|prop1_one_primary_per_epoch|BUG_SELF_PROMOTE, property 1 alone: two members commit in one epoch"
    "bug_no_fencing|$R23 -DBUG_NO_FENCING|prop2_committed_kept|BUG_NO_FENCING: a stale APPEND overwrites a committed record"
    "bug_restore_early|$R23 -DBUG_RESTORE_BEFORE_CATCHUP|prop3_sync_agree|BUG_RESTORE_BEFORE_CATCHUP: restored mirror lacks a committed record"
    "bug_restore_alone|$R23 -DBUG_COMMIT_ALONE_DURING_RESTORE|prop3_sync_agree|BUG_COMMIT_ALONE_DURING_RESTORE: a late restore adds a mirror that lacks a commit"
    "bug_pending_volatile|$R23 -DBUG_PENDING_VOLATILE|prop4_one_acting_primary|BUG_PENDING_VOLATILE: a switchover asked before a crash lands after the restart"
    "bug_pending_volatile_p3|$R23 -DBUG_PENDING_VOLATILE -DNO_P4|prop3_sync_agree|BUG_PENDING_VOLATILE, without property 4: a restore asked before a crash lands after the restart"
    "bug_resume_switchover|$R23 -DBUG_RESUME_DURING_SWITCHOVER|prop4_one_acting_primary|BUG_RESUME_DURING_SWITCHOVER: a late switchover deposes a resumed primary"
    "reach_failover|$R33 -DREACH_FAILOVER|!(reached_failover)|reachable: dc1 fails, dc2 commits every record alone"
    "reach_truncate|$R33 -DREACH_TRUNCATE|!(reached_truncate)|reachable: an old primary cuts its uncommitted tail above a committed prefix"
    "reach_late_restore|$R33 -DREACH_LATE_RESTORE|!(reached_late_restore)|reachable: a restore lands after the primary appended more"
    "reach_switchback|$R24 -DREACH_SWITCHBACK|!(reached_switchback)|reachable: dc1 commits again after dc2 was primary and committed"
)

for v in "${VARIANTS[@]}"; do
    IFS='|' read -r name defs _ _ <<<"$v"
    throttle
    # shellcheck disable=SC2086 # defs is a list of -D options
    check "$name" $defs
done
wait "${PIDS[@]}" || true
PIDS=()

for v in "${VARIANTS[@]}"; do
    IFS='|' read -r name _ want what <<<"$v"
    if [[ $want == clean ]]; then
        expect_clean "$name" "$what"
    else
        expect_violation "$name" "$want" "$what"
    fi
done

pass "model check of DESIGN.md section 3 done in ${SECONDS} s"

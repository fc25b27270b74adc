#!/usr/bin/env bash
# Durable-write benchmark: vigild against a single-node etcd, in one run.
#
# Builds the release tree, starts a fresh vigild (encrypted log, as always) and
# a fresh etcd, both on loopback and with their data under one temporary
# directory (so on the same disk), then drives each with bench_http_load at
# 1, 16 and 64 concurrent clients writing ~100-byte values, and prints
# writes/s and p50/p99 latency of both with the vigil/etcd ratios and a
# verdict against the target (>= 2x etcd's throughput at equal or better p99).
# Everything it starts is stopped and removed on exit.
#
# Environment (all optional):
#   BUILD_DIR      build tree to use (default: build, the release tree)
#   BENCH_SECONDS  measured seconds per run (default 10)
#   BENCH_WARMUP   warm-up seconds before each measured run (default 1)
#   BENCH_CLIENTS  client counts (default "1 16 64")
#   BENCH_TARGETS  "vigil etcd" (default), or just one of them
#   BENCH_NO_BUILD=1  use the binaries already in BUILD_DIR as they are
#   VIGILD_ARGS    extra arguments for 'vigild run' (e.g. "--snapshot-every 100000"),
#   ETCD_ARGS      and for etcd; both empty by default, for diagnosis only
#   BENCH_TMP      parent of the temporary data directory (default $TMPDIR or /tmp)
#   BENCH_KEEP=1   keep the data directory and logs afterwards
#   BENCH_ALLOW_TMPFS=1  run even if the data directory is on tmpfs (fsync is free there)
#
# Exit status: 0 when every run completed and the target is met, 1 when a run
# failed (errors over 0.1%, a server died), 3 when the runs completed but the
# target is not met.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CLIENTS=${BENCH_CLIENTS:-"1 16 64"}
BENCH_TARGETS=${BENCH_TARGETS:-"vigil etcd"}
VALUE_BYTES=100

say() { printf 'writes: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

want() { [[ " $BENCH_TARGETS " == *" $1 "* ]]; }

# ---- build ----

build() {
    LOAD="$BUILD_DIR/bench_http_load"
    VIGILD="$BUILD_DIR/vigild"
    if [[ "${BENCH_NO_BUILD:-0}" == 1 ]]; then
        command -v etcd >/dev/null || die "etcd is not installed (bash scripts/deps.sh --bench)"
        return 0
    fi
    bash scripts/deps.sh --bench
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    local cache="$BUILD_DIR/CMakeCache.txt"
    if grep -q '^VG_SANITIZE:BOOL=ON' "$cache"; then
        die "'$BUILD_DIR' is a sanitizer build; benchmark a release build (BUILD_DIR=...)"
    fi
    local targets=(bench_http_load)
    want vigil && targets+=(vigild)
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}" >/dev/null
    if [[ -f bench/log_append.c ]]; then
        cmake --build "$BUILD_DIR" -j"$(nproc)" --target bench_log_append >/dev/null ||
            say "bench_log_append does not build; its figures are left out"
    fi
}

# ---- processes and clean-up ----

WORK=""
PIDS=()
LOAD_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local pid
    if [[ -n "$LOAD_PID" ]]; then
        kill "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # give each one 10 s to stop, then force it
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
            say "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_workdir() {
    local parent=${BENCH_TMP:-${TMPDIR:-/tmp}}
    WORK=$(mktemp -d "$parent/vigil-bench.XXXXXX")
    FSTYPE=$(df --output=fstype "$WORK" | tail -n 1)
    FSDEV=$(df --output=source "$WORK" | tail -n 1)
    if [[ "$FSTYPE" == tmpfs || "$FSTYPE" == ramfs ]] && [[ "${BENCH_ALLOW_TMPFS:-0}" != 1 ]]; then
        die "'$WORK' is on $FSTYPE, where fsync costs nothing; set BENCH_TMP to a directory on disk"
    fi
}

# A port no socket uses now (ss from iproute2), below the kernel's
# ephemeral range so no client connection can take it meanwhile.
USED_PORTS=" "
free_port() {
    local port listening
    listening=$(ss -Htan | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ')
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 12000))
        if [[ " $listening $USED_PORTS " != *" $port "* ]]; then
            USED_PORTS+="$port "
            echo "$port"
            return 0
        fi
    done
    die "no free loopback port found"
}

# wait_http URL EXPECTED_REGEX PID LOG: polls for up to 60 s.
wait_http() {
    local url=$1 expect=$2 pid=$3 log=$4 body
    for _ in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "process for $url exited"; }
        if body=$(curl -sf --max-time 2 "$url" 2>/dev/null) && [[ "$body" =~ $expect ]]; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "$log" >&2
    die "$url not ready after 60 s"
}

start_vigild() {
    local out
    VIGIL_PORT=$(free_port)
    out=$("$VIGILD" init --data "$WORK/vigil" 2>"$WORK/vigild-init.log") ||
        { cat "$WORK/vigild-init.log" >&2; die "vigild init failed"; }
    VIGIL_TOKEN=$(sed -n 's/^admin token: *\(vgt_[^[:space:]]*\).*/\1/p' <<<"$out" | head -n 1)
    [[ -n "$VIGIL_TOKEN" ]] || die "vigild init printed no 'admin token: vgt_...' line"
    # shellcheck disable=SC2086  # VIGILD_ARGS is a list of words on purpose
    "$VIGILD" run --data "$WORK/vigil" --listen "127.0.0.1:$VIGIL_PORT" ${VIGILD_ARGS:-} \
        >"$WORK/vigild.log" 2>&1 &
    PIDS+=($!)
    VIGILD_PID=$!
    wait_http "http://127.0.0.1:$VIGIL_PORT/readyz" . "$VIGILD_PID" "$WORK/vigild.log"
}

start_etcd() {
    ETCD_PORT=$(free_port)
    local peer
    peer=$(free_port)
    # shellcheck disable=SC2086  # ETCD_ARGS is a list of words on purpose
    etcd --name bench --data-dir "$WORK/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "bench=http://127.0.0.1:$peer" \
        --initial-cluster-state new ${ETCD_ARGS:-} \
        >"$WORK/etcd.log" 2>&1 &
    PIDS+=($!)
    ETCD_PID=$!
    wait_http "http://127.0.0.1:$ETCD_PORT/health" '"health": *"true"' "$ETCD_PID" "$WORK/etcd.log"
}

# ---- runs ----

# run_load TARGET CLIENTS: stores the JSON result line in RESULT[TARGET.CLIENTS]
# (left unset when the run failed).
FAILED=0
declare -A RESULT=()
run_load() {
    local target=$1 clients=$2 port result rc=0
    if [[ $target == vigil ]]; then port=$VIGIL_PORT; else port=$ETCD_PORT; fi
    # The token goes through the environment, never argv (ps shows argv).
    # In the background + wait, so that Ctrl-C or SIGTERM stops the run at once.
    VIGIL_TOKEN=${VIGIL_TOKEN:-} "$LOAD" --target "$target" --port "$port" \
        --clients "$clients" --duration "$BENCH_SECONDS" --warmup "$BENCH_WARMUP" \
        --value-bytes "$VALUE_BYTES" --prefix "c$clients" -o json \
        >"$WORK/result.json" 2> >(sed "s/^/  [$target x$clients] /" >&2) &
    LOAD_PID=$!
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    result=$(cat "$WORK/result.json")
    if ((rc != 0)); then
        say "$target with $clients clients failed (exit $rc)"
        FAILED=1
    fi
    if [[ $target == vigil ]] && ! kill -0 "$VIGILD_PID" 2>/dev/null; then
        tail -n 30 "$WORK/vigild.log" >&2
        die "vigild died during the run with $clients clients"
    fi
    if [[ $target == etcd ]] && ! kill -0 "$ETCD_PID" 2>/dev/null; then
        tail -n 30 "$WORK/etcd.log" >&2
        die "etcd died during the run with $clients clients"
    fi
    if ((rc == 0)); then
        RESULT[$target.$clients]=$result
        say "  $result"
    fi
    return 0
}

field() { jq -r ".$2 // empty" <<<"$1"; }

# Prints the table and the verdict; returns 3 when the target is not met.
report() {
    local c v e met=1 row
    echo
    echo "durable writes, ${VALUE_BYTES}-byte values, ${BENCH_SECONDS} s per run, loopback, data on $FSTYPE ($FSDEV)"
    printf '%-7s | %-30s | %-30s | %-10s | %s\n' clients "vigil w/s p50 p99 (ms)" \
        "etcd w/s p50 p99 (ms)" "w/s ratio" "p99 ratio"
    printf -- '--------+--------------------------------+--------------------------------+------------+----------\n'
    for c in $BENCH_CLIENTS; do
        v=${RESULT[vigil.$c]:-}
        e=${RESULT[etcd.$c]:-}
        row=$(awk -v c="$c" \
            -v vw="$(field "$v" writes_per_s)" -v v50="$(field "$v" p50_ms)" -v v99="$(field "$v" p99_ms)" \
            -v ew="$(field "$e" writes_per_s)" -v e50="$(field "$e" p50_ms)" -v e99="$(field "$e" p99_ms)" '
            function side(w, a, b) { return w == "" ? sprintf("%-30s", "-") : sprintf("%9.0f %9.2f %9.2f  ", w, a, b) }
            BEGIN {
                tr = (vw != "" && ew > 0) ? sprintf("%.2fx", vw / ew) : "-"
                pr = (v99 != "" && e99 > 0) ? sprintf("%.2f", v99 / e99) : "-"
                both = (vw != "" && ew > 0 && v99 != "" && e99 > 0)
                ok = both && vw >= 2 * ew && v99 <= e99
                printf "%-7s | %s | %s | %-10s | %-9s %s\n", c, side(vw, v50, v99), side(ew, e50, e99), tr, pr, both ? (ok ? "meets target" : "below target") : ""
                exit ok ? 0 : 1
            }') || met=0
        echo "$row"
    done
    echo "w/s ratio = vigil writes/s / etcd writes/s (target >= 2); p99 ratio = vigil p99 / etcd p99 (target <= 1)"
    if ! want vigil || ! want etcd; then
        echo "verdict: not judged (only '$BENCH_TARGETS' ran)"
        return 0
    fi
    if ((met)); then
        echo "verdict: TARGET MET at every concurrency (>= 2x etcd's writes/s, p99 <= etcd's)"
        return 0
    fi
    echo "verdict: TARGET NOT MET (needs >= 2x etcd's writes/s and p99 <= etcd's at 1, 16 and 64 clients)"
    return 3
}

show_vigil_status() {
    local status
    status=$(printf 'Authorization: Bearer %s\n' "$VIGIL_TOKEN" |
        curl -sf --max-time 5 -H @- "http://127.0.0.1:$VIGIL_PORT/api/v1/status" 2>/dev/null) || return 0
    echo "vigild status after the runs: $status"
}

run_log_append() {
    local bin="$BUILD_DIR/bench_log_append"
    [[ -x "$bin" ]] || return 0
    bin=$(realpath "$bin")
    echo
    echo "raw log append (bench_log_append, run in $WORK/logbench):"
    mkdir -p "$WORK/logbench"
    # whichever way it picks a directory (cwd, $BENCH_DIR, $TMPDIR), it lands
    # on the same disk as the servers' data and is removed with it
    (cd "$WORK/logbench" && BENCH_DIR="$WORK/logbench" TMPDIR="$WORK/logbench" \
        timeout 600 "$bin") || say "bench_log_append failed (exit $?)"
}

main() {
    build
    make_workdir
    [[ -n "${VIGILD_ARGS:-}${ETCD_ARGS:-}" ]] &&
        say "non-default server arguments: vigild '${VIGILD_ARGS:-}', etcd '${ETCD_ARGS:-}'"
    say "data under $WORK ($FSTYPE on $FSDEV); $(nproc) CPUs; $(etcd --version | head -n 1)"
    want vigil && start_vigild
    want etcd && start_etcd
    local c t
    for c in $BENCH_CLIENTS; do
        for t in vigil etcd; do
            want "$t" || continue
            say "$t, $c clients, ${BENCH_SECONDS} s"
            run_load "$t" "$c"
        done
    done
    want vigil && show_vigil_status
    local verdict=0
    report || verdict=$?
    run_log_append
    ((FAILED)) && exit 1
    exit "$verdict"
}

main "$@"

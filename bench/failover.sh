#!/usr/bin/env bash
# Failover benchmark: a mirrored vigil cluster against a 3-member etcd, in one run.
#
# Builds the release tree and starts, all on 127.0.0.1 with their data under
# one temporary directory on disk:
#   - vigil: a witness and two members (dc1, dc2; one vigild each, the cluster
#     runtime of docs/cluster.md, default timing), plain HTTP API on loopback;
#   - etcd: three members (Debian's etcd 3.4, default settings).
# Then measures, with bench_failover_probe as the client:
#   1. unplanned failover, BENCH_TRIALS times each: kill -9 of vigil's primary
#      and of etcd's leader under continuous writes; time from the kill to the
#      first acknowledged write through a surviving member; every acknowledged
#      write is read back afterwards (lost = missing). The killed member is
#      restarted and the next trial waits until the cluster is whole again;
#   2. planned switchover (vigil): POST /api/v1/cluster/switchover under writes,
#      back and forth; time until the call returns and until the first
#      acknowledged write on the new primary;
#   3. durable-write latency and throughput with bench_http_load at 1/16/64
#      clients: mirrored vigil (the primary), a standalone vigild, etcd (the
#      leader);
# and prints the figures and a verdict against the targets: failover median
# <= 1.0 s, switchover <= 200 ms, no acknowledged write lost, mirrored
# throughput >= 2x etcd's. If vigild has no cluster runtime yet ('vigild run
# --node' missing), only the etcd half (and the standalone vigild) runs.
#
# Environment (all optional):
#   BUILD_DIR       build tree to use (default: build, the release tree)
#   BENCH_TRIALS    failover trials per system (default 20)
#   BENCH_SWITCHOVERS  switchover trials (default BENCH_TRIALS)
#   BENCH_SECONDS   measured seconds per load run (default 5)
#   BENCH_WARMUP    warm-up seconds before each load run (default 1)
#   BENCH_CLIENTS   client counts of the load runs (default "1 16 64")
#   BENCH_PARTS     any of "failover switchover load" (default all three)
#   BENCH_TARGETS   "vigil etcd" (default), or just one of them
#   BENCH_NO_BUILD=1  use the binaries already in BUILD_DIR as they are
#   BENCH_TMP       parent of the temporary directory (default $TMPDIR or /tmp)
#   BENCH_KEEP=1    keep the temporary directory and the servers' logs
#   BENCH_ALLOW_TMPFS=1  run even if the data directory is on tmpfs
#   VIGILD_ARGS     extra arguments for every 'vigild run', ETCD_ARGS for etcd,
#   PROBE_ARGS      and for every bench_failover_probe run; for diagnosis only
#
# Exit status: 0 every run completed and every target judged was met, 1 a run
# failed (a trial without an acknowledged write, a server that did not start
# or rejoin, load errors), 3 the runs completed but a target was not met.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BENCH_TRIALS=${BENCH_TRIALS:-20}
BENCH_SWITCHOVERS=${BENCH_SWITCHOVERS:-$BENCH_TRIALS}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CLIENTS=${BENCH_CLIENTS:-"1 16 64"}
BENCH_PARTS=${BENCH_PARTS:-"failover switchover load"}
BENCH_TARGETS=${BENCH_TARGETS:-"vigil etcd"}
VALUE_BYTES=100
REJOIN_TIMEOUT=180 # seconds a restarted member may take to be mirrored/healthy again
# vigil's protocol timing (docs/cluster.md defaults), written into both node files
HEARTBEAT_MS=100 ACK_TIMEOUT_MS=500 LEASE_MS=400 DEAD_AFTER_MS=800

say() { printf 'failover: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}
want() { [[ " $BENCH_TARGETS " == *" $1 "* ]]; }
part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }

# ---- build ----

build() {
    LOAD="$BUILD_DIR/bench_http_load"
    PROBE="$BUILD_DIR/bench_failover_probe"
    VIGILD="$BUILD_DIR/vigild"
    VIGIL="$BUILD_DIR/vigil"
    if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
        bash scripts/deps.sh --bench
        cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    if grep -q '^VG_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
        die "'$BUILD_DIR' is a sanitizer build; benchmark a release build (BUILD_DIR=...)"
    fi
    if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
        cmake --build "$BUILD_DIR" -j"$(nproc)" \
            --target bench_http_load bench_failover_probe vigild vigil >/dev/null ||
            die "the build of $BUILD_DIR failed"
    fi
    command -v etcd >/dev/null || die "etcd is not installed (bash scripts/deps.sh --bench)"
    local bin
    for bin in "$LOAD" "$PROBE" "$VIGILD" "$VIGIL"; do
        [[ -x "$bin" ]] || die "$bin is missing (build $BUILD_DIR first)"
    done
    CLUSTER=0
    if want vigil; then
        if "$VIGILD" run --help 2>&1 | grep -q -- '--node'; then
            CLUSTER=1
        else
            say "vigild has no cluster runtime yet ('vigild run --help' does not mention --node):"
            say "measuring etcd (and the standalone vigild's load) only; the vigil failover,"
            say "switchover and mirrored figures are left out and the verdict is not judged"
        fi
    fi
}

# ---- processes and clean-up ----

WORK=""
declare -A PID=() # name -> pid of every server this script started and that may still run
LOAD_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local pid
    trap - INT TERM
    if [[ -n "$LOAD_PID" ]]; then
        kill "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
    for pid in "${PID[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PID[@]}"; do
        # 10 s to stop, then forced
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
    WORK=$(mktemp -d "$parent/vigil-failover.XXXXXX")
    FSTYPE=$(df --output=fstype "$WORK" | tail -n 1)
    FSDEV=$(df --output=source "$WORK" | tail -n 1)
    if [[ "$FSTYPE" == tmpfs || "$FSTYPE" == ramfs ]] && [[ "${BENCH_ALLOW_TMPFS:-0}" != 1 ]]; then
        die "'$WORK' is on $FSTYPE, where fsync costs nothing; set BENCH_TMP to a directory on disk"
    fi
    mkdir -p "$WORK/results"
    local f
    for f in vigil-failover etcd-failover vigil-switchover-call vigil-switchover-ack; do
        : >"$WORK/results/$f"
    done
}

# A port no socket uses now, below the kernel's ephemeral range so that no
# client connection takes it meanwhile.
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

alive() { [[ -n "${PID[$1]:-}" ]] && kill -0 "${PID[$1]}" 2>/dev/null; }

# reap NAME: the process was killed (by the probe); collect it.
reap() {
    local pid=${PID[$1]:-}
    unset "PID[$1]"
    [[ -n "$pid" ]] || return 0
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# wait_http URL EXPECTED_REGEX NAME LOG [TOKEN]: polls for up to 60 s.
wait_http() {
    local url=$1 expect=$2 name=$3 log=$4 token=${5:-} body
    for _ in $(seq 600); do
        alive "$name" || { tail -n 30 "$log" >&2; die "$name exited (log: $log)"; }
        if body=$(http_get "$url" "$token") && [[ "$body" =~ $expect ]]; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "$log" >&2
    die "$url not ready after 60 s"
}

# http_get URL [TOKEN]: the body of a 2xx answer; the token never goes to argv.
http_get() {
    if [[ -n "${2:-}" ]]; then
        printf 'Authorization: Bearer %s\n' "$2" | curl -sf --max-time 2 -H @- "$1" 2>/dev/null
    else
        curl -sf --max-time 2 "$1" 2>/dev/null
    fi
}

# ---- statistics ----

# stats FILE: "n median p99 min max" of the numbers in FILE (nearest rank),
# or "0 - - - -" when it is empty.
stats() {
    sort -g "$1" | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "0 - - - -"; exit }
            r50 = int((50 * NR + 99) / 100); r99 = int((99 * NR + 99) / 100)
            printf "%d %.1f %.1f %.1f %.1f\n", NR, v[r50], v[r99], v[1], v[NR]
        }'
}

# note FILE VALUE: appends one figure.
note() { echo "$2" >>"$WORK/results/$1"; }
total() { [[ -s "$WORK/results/$1" ]] || { echo 0; return; }; awk '{ s += $1 } END { print s + 0 }' "$WORK/results/$1"; }
FAILED=0

# ---- etcd: three members ----

ETCD_NAMES=(e1 e2 e3)
declare -A ETCD_CPORT=() ETCD_PPORT=()

etcd_start() {
    local name=$1 cluster="" n
    for n in "${ETCD_NAMES[@]}"; do
        cluster+="${cluster:+,}$n=http://127.0.0.1:${ETCD_PPORT[$n]}"
    done
    # --initial-cluster* are ignored once the data dir exists (a restart)
    # shellcheck disable=SC2086  # ETCD_ARGS is a list of words on purpose
    etcd --name "$name" --data-dir "$WORK/etcd/$name" \
        --listen-client-urls "http://127.0.0.1:${ETCD_CPORT[$name]}" \
        --advertise-client-urls "http://127.0.0.1:${ETCD_CPORT[$name]}" \
        --listen-peer-urls "http://127.0.0.1:${ETCD_PPORT[$name]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PPORT[$name]}" \
        --initial-cluster "$cluster" --initial-cluster-token vigil-failover-bench \
        --initial-cluster-state new ${ETCD_ARGS:-} \
        >>"$WORK/etcd-$name.log" 2>&1 &
    PID[$name]=$!
}

etcd_wait_healthy() {
    local n
    for n in "${ETCD_NAMES[@]}"; do
        wait_http "http://127.0.0.1:${ETCD_CPORT[$n]}/health" '"health": *"true"' \
            "$n" "$WORK/etcd-$n.log"
    done
}

start_etcd() {
    local n
    mkdir -p "$WORK/etcd"
    for n in "${ETCD_NAMES[@]}"; do
        ETCD_CPORT[$n]=$(free_port)
        ETCD_PPORT[$n]=$(free_port)
    done
    for n in "${ETCD_NAMES[@]}"; do etcd_start "$n"; done
    etcd_wait_healthy
    say "etcd: 3 members up (${ETCD_NAMES[*]}), leader $(etcd_leader)"
}

# The name of the member every live member agrees is the leader (30 s at most).
etcd_leader() {
    local n status id leader agreed name
    for _ in $(seq 300); do
        agreed="" name=""
        for n in "${ETCD_NAMES[@]}"; do
            alive "$n" || continue
            status=$(curl -sf --max-time 2 -X POST -d '{}' \
                "http://127.0.0.1:${ETCD_CPORT[$n]}/v3/maintenance/status" 2>/dev/null) || {
                agreed=no
                break
            }
            id=$(jq -r '.header.member_id' <<<"$status")
            leader=$(jq -r '.leader // "0"' <<<"$status")
            [[ -z "$agreed" ]] && agreed=$leader
            [[ "$agreed" == "$leader" ]] || agreed=no
            [[ "$id" == "$leader" ]] && name=$n
        done
        if [[ "$agreed" != no && -n "$name" ]]; then
            echo "$name"
            return 0
        fi
        sleep 0.1
    done
    die "etcd members do not agree on a leader after 30 s"
}

# The highest raft term any live member reports.
etcd_term() {
    local n term max=0
    for n in "${ETCD_NAMES[@]}"; do
        alive "$n" || continue
        term=$(curl -sf --max-time 2 -X POST -d '{}' \
            "http://127.0.0.1:${ETCD_CPORT[$n]}/v3/maintenance/status" 2>/dev/null |
            jq -r '.raftTerm // 0' 2>/dev/null) || term=0
        ((${term:-0} > max)) && max=$term
    done
    echo "$max"
}

# etcd_trial N: kill -9 the leader under writes, restart it, wait until healthy.
# A trial in which no election followed the kill (leadership moved just
# before it, so a follower was killed) is repeated.
etcd_trial() {
    local t=$1 leader args=() n result rc=0 t_restart term
    leader=$(etcd_leader)
    term=$(etcd_term)
    for n in "${ETCD_NAMES[@]}"; do args+=(--member "$n=${ETCD_CPORT[$n]}"); done
    # shellcheck disable=SC2086  # PROBE_ARGS is a list of words on purpose
    result=$("$PROBE" --target etcd "${args[@]}" --primary "$leader" --kill-pid "${PID[$leader]}" \
        --prefix "ef$t" --value-bytes "$VALUE_BYTES" ${PROBE_ARGS:-} 2>>"$WORK/probe.log") || rc=$?
    reap "$leader"
    echo "$result" >>"$WORK/results/etcd-failover.jsonl"
    t_restart=$(date +%s.%N)
    etcd_start "$leader"
    etcd_wait_healthy
    if (($(etcd_term) == term)); then
        say "failover $t/$BENCH_TRIALS: etcd: no election after killing $leader (it was no longer the leader); repeating the trial"
        etcd_trial "$t"
        return 0
    fi
    trial_line "etcd" "$t" "$leader (leader)" "$result" "$rc" "healthy" "$t_restart" etcd-failover
}

# ---- vigil: witness + two members ----

VIGIL_MEMBERS=(dc1 dc2)
declare -A VIGIL_PORT=() VIGIL_PEER_PORT=()

vigil_node_file() {
    local name=$1 peer=$2
    cat >"$WORK/$name.yaml" <<EOF
name: $name
site: $name
data: $WORK/$name
listen: 127.0.0.1:${VIGIL_PORT[$name]}
peer_listen: 127.0.0.1:${VIGIL_PEER_PORT[$name]}
peer: {name: $peer, address: 127.0.0.1:${VIGIL_PEER_PORT[$peer]}}
witness: {name: witness, address: 127.0.0.1:$WITNESS_PORT}
tls: {cert: $WORK/pki/$name.crt, key: $WORK/pki/$name.key, ca: $WORK/pki/ca.crt}
timing: {heartbeat_ms: $HEARTBEAT_MS, ack_timeout_ms: $ACK_TIMEOUT_MS, lease_ms: $LEASE_MS, dead_after_ms: $DEAD_AFTER_MS}
EOF
}

vigil_member_start() {
    local name=$1
    shift
    # shellcheck disable=SC2086  # VIGILD_ARGS is a list of words on purpose
    "$VIGILD" run --node "$WORK/$name.yaml" "$@" ${VIGILD_ARGS:-} >>"$WORK/vigild-$name.log" 2>&1 &
    PID[$name]=$!
}

# vigil_cluster PORT: GET /api/v1/cluster of one member (fails if it does not answer).
vigil_cluster() { http_get "http://127.0.0.1:$1/api/v1/cluster" "$VIGIL_TOKEN"; }

# The acting primary, by what the live members say about themselves.
vigil_primary() {
    local n doc
    for n in "${VIGIL_MEMBERS[@]}"; do
        alive "$n" || continue
        doc=$(vigil_cluster "${VIGIL_PORT[$n]}") || continue
        if [[ $(jq -r '"\(.role) \(.acting)"' <<<"$doc") == "primary true" ]]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

# vigil_wait_mirrored: until the primary reports both members in sync
# (REJOIN_TIMEOUT); prints the primary. Fails, with the members' logs on
# stderr, when a member exited or the cluster is not mirrored in time.
vigil_wait_mirrored() {
    local p doc deadline=$((SECONDS + REJOIN_TIMEOUT)) n
    while ((SECONDS < deadline)); do
        for n in "${VIGIL_MEMBERS[@]}"; do
            if ! alive "$n"; then
                tail -n 30 "$WORK/vigild-$n.log" >&2
                say "vigild $n exited (log: $WORK/vigild-$n.log)"
                return 1
            fi
        done
        if p=$(vigil_primary) && doc=$(vigil_cluster "${VIGIL_PORT[$p]}") &&
            [[ $(jq -r '.sync | length' <<<"$doc") == 2 ]]; then
            echo "$p"
            return 0
        fi
        sleep 0.05
    done
    for n in "${VIGIL_MEMBERS[@]}"; do
        say "GET /api/v1/cluster on $n: $(vigil_cluster "${VIGIL_PORT[$n]}" || echo '(no answer)')"
        tail -n 20 "$WORK/vigild-$n.log" >&2
    done
    say "the vigil cluster is not mirrored again after ${REJOIN_TIMEOUT} s"
    return 1
}

# The vigil cluster broke during the run: its remaining trials and load runs
# are skipped, the figures so far are reported, and the run fails.
VIGIL_DOWN=0
vigil_down() {
    VIGIL_DOWN=1
    FAILED=1
    say "the vigil cluster is broken: its remaining trials and load runs are skipped"
}
vigil_ok() { ((CLUSTER && !VIGIL_DOWN)); }

start_vigil_cluster() {
    local n out
    "$VIGIL" pki init --dir "$WORK/pki" >/dev/null
    for n in "${VIGIL_MEMBERS[@]}" witness; do
        "$VIGIL" pki issue "$n" --dir "$WORK/pki" --ip 127.0.0.1 >/dev/null
    done
    WITNESS_PORT=$(free_port)
    for n in "${VIGIL_MEMBERS[@]}"; do
        VIGIL_PORT[$n]=$(free_port)
        VIGIL_PEER_PORT[$n]=$(free_port)
    done
    "$VIGILD" witness --data "$WORK/witness" --listen "127.0.0.1:$WITNESS_PORT" \
        --tls-cert "$WORK/pki/witness.crt" --tls-key "$WORK/pki/witness.key" \
        --tls-ca "$WORK/pki/ca.crt" --dead-after-ms "$DEAD_AFTER_MS" \
        >>"$WORK/witness.log" 2>&1 &
    PID[witness]=$!
    for _ in $(seq 600); do
        alive witness || { tail -n 30 "$WORK/witness.log" >&2; die "the witness exited"; }
        curl -sf --max-time 2 --cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/dc1.crt" \
            --key "$WORK/pki/dc1.key" -o /dev/null \
            "https://127.0.0.1:$WITNESS_PORT/witness/v1/config" 2>/dev/null && break
        sleep 0.1
    done
    out=$("$VIGILD" init --data "$WORK/dc1" -o json 2>"$WORK/vigild-init.log") ||
        { cat "$WORK/vigild-init.log" >&2; die "vigild init (dc1) failed"; }
    VIGIL_TOKEN=$(jq -r '.admin_token // empty' <<<"$out")
    [[ -n "$VIGIL_TOKEN" ]] || die "vigild init -o json printed no admin_token"
    "$VIGILD" init --data "$WORK/dc2" --key-file "$WORK/dc1/keyring" --mirror \
        >/dev/null 2>>"$WORK/vigild-init.log" ||
        { cat "$WORK/vigild-init.log" >&2; die "vigild init --mirror (dc2) failed"; }
    vigil_node_file dc1 dc2
    vigil_node_file dc2 dc1
    vigil_member_start dc1 --bootstrap
    wait_http "http://127.0.0.1:${VIGIL_PORT[dc1]}/api/v1/cluster" '"member"' dc1 \
        "$WORK/vigild-dc1.log" "$VIGIL_TOKEN"
    vigil_member_start dc2
    wait_http "http://127.0.0.1:${VIGIL_PORT[dc2]}/api/v1/cluster" '"member"' dc2 \
        "$WORK/vigild-dc2.log" "$VIGIL_TOKEN"
    local primary
    primary=$(vigil_wait_mirrored) || die "the vigil cluster did not start mirrored"
    say "vigil: witness + 2 members up, primary $primary, mirrored"
}

vigil_members_args() {
    local n
    for n in "${VIGIL_MEMBERS[@]}"; do printf -- '--member\n%s=%s\n' "$n" "${VIGIL_PORT[$n]}"; done
}

# vigil_failover_trial N: kill -9 the primary under writes, restart it, wait until mirrored.
vigil_failover_trial() {
    local t=$1 primary result rc=0 t_restart args
    primary=$(vigil_wait_mirrored) || { vigil_down; return 0; }
    mapfile -t args < <(vigil_members_args)
    # shellcheck disable=SC2086
    result=$(VIGIL_TOKEN=$VIGIL_TOKEN "$PROBE" --target vigil "${args[@]}" --primary "$primary" \
        --kill-pid "${PID[$primary]}" --prefix "vf$t" --value-bytes "$VALUE_BYTES" \
        ${PROBE_ARGS:-} 2>>"$WORK/probe.log") || rc=$?
    reap "$primary"
    echo "$result" >>"$WORK/results/vigil-failover.jsonl"
    t_restart=$(date +%s.%N)
    vigil_member_start "$primary"
    if ! vigil_wait_mirrored >/dev/null; then
        trial_line "vigil" "$t" "$primary (primary)" "$result" "$rc" "NOT mirrored" "$t_restart" vigil-failover
        vigil_down
        return 0
    fi
    trial_line "vigil" "$t" "$primary (primary)" "$result" "$rc" "mirrored" "$t_restart" vigil-failover
}

# vigil_switchover_trial N: switchover under writes, then wait until mirrored.
vigil_switchover_trial() {
    local t=$1 primary other result rc=0 args line new first call status acked lost unverified
    primary=$(vigil_wait_mirrored) || { vigil_down; return 0; }
    other=dc1
    [[ $primary == dc1 ]] && other=dc2
    mapfile -t args < <(vigil_members_args)
    # shellcheck disable=SC2086
    result=$(VIGIL_TOKEN=$VIGIL_TOKEN "$PROBE" --target vigil "${args[@]}" --primary "$primary" \
        --switchover --to "$other" --prefix "vs$t" --value-bytes "$VALUE_BYTES" \
        ${PROBE_ARGS:-} 2>>"$WORK/probe.log") || rc=$?
    echo "$result" >>"$WORK/results/vigil-switchover.jsonl"
    line=$(probe_fields "$result")
    read -r new first call status acked lost unverified <<<"$line"
    if [[ $first == null || $call == null || $status != 200 ]]; then
        FAILED=1
        say "switchover $t/$BENCH_SWITCHOVERS: $primary -> $other FAILED (probe exit $rc): $result"
    else
        note vigil-switchover-call "$call"
        note vigil-switchover-ack "$first"
        say "$(printf 'switchover %2d/%d: %s -> %s: call returned after %7.1f ms, first write acked on %s after %7.1f ms; %s acked, %s lost, %s unverified' \
            "$t" "$BENCH_SWITCHOVERS" "$primary" "$other" "$call" "$new" "$first" "$acked" "$lost" "$unverified")"
    fi
    note vigil-lost "${lost:-0}"
    note vigil-unverified "${unverified:-0}"
    vigil_wait_mirrored >/dev/null || vigil_down
}

# probe_fields JSON: "new first_ack_ms call_ms call_status acked lost unverified"
probe_fields() {
    local line
    line=$(jq -r '"\(.new) \(.first_ack_ms) \(.call_ms) \(.call_status) \(.acked) \(.lost) \(.unverified)"' \
        <<<"$1" 2>/dev/null) || line=""
    [[ -n "$line" ]] || line="null null null null 0 0 0"
    echo "$line"
}

# trial_line SYSTEM N KILLED RESULT RC WHAT T_RESTART RESULTS: records and prints one trial.
trial_line() {
    local sys=$1 t=$2 killed=$3 result=$4 rc=$5 what=$6 t0=$7 key=$8 line back
    local new first acked lost unverified
    line=$(probe_fields "$result")
    read -r new first _ _ acked lost unverified <<<"$line"
    back=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    note "${sys}-lost" "${lost:-0}"
    note "${sys}-unverified" "${unverified:-0}"
    if [[ $first == null ]]; then
        FAILED=1
        say "failover $t/$BENCH_TRIALS: $sys: killed $killed: NO write acknowledged (probe exit $rc): $result"
        return 0
    fi
    note "$key" "$first"
    say "$(printf 'failover %2d/%d: %-5s killed %-14s first write acked on %s after %7.1f ms; %5s acked, %s lost, %s unverified; %s again after %s s' \
        "$t" "$BENCH_TRIALS" "$sys" "$killed" "$new" "$first" "$acked" "$lost" "$unverified" "$what" "$back")"
}

# ---- load: bench_http_load ----

start_standalone() {
    local out
    STANDALONE_PORT=$(free_port)
    out=$("$VIGILD" init --data "$WORK/standalone" -o json 2>>"$WORK/vigild-init.log") ||
        { cat "$WORK/vigild-init.log" >&2; die "vigild init (standalone) failed"; }
    STANDALONE_TOKEN=$(jq -r '.admin_token // empty' <<<"$out")
    [[ -n "$STANDALONE_TOKEN" ]] || die "vigild init -o json printed no admin_token"
    # shellcheck disable=SC2086
    "$VIGILD" run --data "$WORK/standalone" --listen "127.0.0.1:$STANDALONE_PORT" ${VIGILD_ARGS:-} \
        >>"$WORK/vigild-standalone.log" 2>&1 &
    PID[standalone]=$!
    wait_http "http://127.0.0.1:$STANDALONE_PORT/readyz" . standalone "$WORK/vigild-standalone.log"
}

declare -A RESULT=()
# run_load WHICH CLIENTS: WHICH is mirrored, standalone or etcd.
run_load() {
    local which=$1 clients=$2 port token="" target=vigil result rc=0 server
    case $which in
    mirrored)
        server=$(vigil_wait_mirrored) || { vigil_down; return 0; }
        port=${VIGIL_PORT[$server]} token=$VIGIL_TOKEN
        ;;
    standalone) server=standalone port=$STANDALONE_PORT token=$STANDALONE_TOKEN ;;
    etcd)
        server=$(etcd_leader)
        port=${ETCD_CPORT[$server]} target=etcd
        ;;
    esac
    VIGIL_TOKEN=$token "$LOAD" --target "$target" --port "$port" --clients "$clients" \
        --duration "$BENCH_SECONDS" --warmup "$BENCH_WARMUP" --value-bytes "$VALUE_BYTES" \
        --prefix "l$which$clients" -o json >"$WORK/result.json" \
        2> >(sed "s/^/  [$which x$clients] /" >&2) &
    LOAD_PID=$!
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    result=$(cat "$WORK/result.json")
    if ! alive "$server"; then
        tail -n 30 "$WORK"/*"$server".log >&2
        [[ $which == mirrored ]] || die "$server died during the load run"
        say "vigild $server died during the load run"
        vigil_down
        return 0
    fi
    if ((rc != 0)); then
        say "$which with $clients clients failed (exit $rc)"
        FAILED=1
        return 0
    fi
    RESULT[$which.$clients]=$result
    say "  $which x$clients ($server): $result"
}

# ---- report ----

field() { jq -r ".$2 // empty" <<<"$1"; }

report() {
    local met=1 judged=$CLUSTER line
    local vf ef sc sa vlost vunv elost eunv
    echo
    local what="${BENCH_TRIALS} failover trials"
    ((CLUSTER)) && part switchover && what+=", ${BENCH_SWITCHOVERS} switchovers"
    echo "failover benchmark ($BENCH_PARTS): $what, loopback, data on $FSTYPE ($FSDEV), $(nproc) CPUs"
    echo
    if part failover; then
        echo "unplanned failover (kill -9 of the primary/leader -> first acknowledged write through a survivor), ms:"
        printf '  %-26s %6s %9s %9s %9s %9s\n' "" trials median p99 min max
        read -r -a vf <<<"$(stats "$WORK/results/vigil-failover")"
        read -r -a ef <<<"$(stats "$WORK/results/etcd-failover")"
        ((CLUSTER)) && printf '  %-26s %6s %9s %9s %9s %9s\n' "vigil (2 members + witness)" "${vf[@]}"
        want etcd && printf '  %-26s %6s %9s %9s %9s %9s\n' "etcd (3 members)" "${ef[@]}"
        if ((CLUSTER)) && want etcd && [[ ${vf[1]} != - && ${ef[1]} != - ]]; then
            awk -v v="${vf[1]}" -v e="${ef[1]}" 'BEGIN { printf "  median ratio vigil/etcd: %.2f\n", v / e }'
        fi
    fi
    if ((CLUSTER)) && part switchover; then
        echo "planned switchover (vigil, under writes), ms:"
        printf '  %-26s %6s %9s %9s %9s %9s\n' "" trials median p99 min max
        read -r -a sc <<<"$(stats "$WORK/results/vigil-switchover-call")"
        read -r -a sa <<<"$(stats "$WORK/results/vigil-switchover-ack")"
        printf '  %-26s %6s %9s %9s %9s %9s\n' "call returned" "${sc[@]}"
        printf '  %-26s %6s %9s %9s %9s %9s\n' "first write on new primary" "${sa[@]}"
    fi
    vlost=$(total vigil-lost) vunv=$(total vigil-unverified)
    elost=$(total etcd-lost) eunv=$(total etcd-unverified)
    if part failover || part switchover; then
        echo "acknowledged writes lost (read back from the new primary/leader after each trial):"
        ((CLUSTER)) && echo "  vigil: $vlost lost, $vunv could not be checked"
        want etcd && part failover && echo "  etcd:  $elost lost, $eunv could not be checked"
    fi
    if part load; then
        echo
        echo "durable writes (bench_http_load, ${VALUE_BYTES}-byte values, ${BENCH_SECONDS} s per run):"
        printf '  %-7s | %-26s | %-26s | %-26s | %s\n' clients "mirrored w/s p50 p99 (ms)" \
            "standalone w/s p50 p99" "etcd 3-node w/s p50 p99" "mirrored/etcd"
        local c m s e
        for c in $BENCH_CLIENTS; do
            m=${RESULT[mirrored.$c]:-} s=${RESULT[standalone.$c]:-} e=${RESULT[etcd.$c]:-}
            awk -v c="$c" \
                -v mw="$(field "$m" writes_per_s)" -v m5="$(field "$m" p50_ms)" -v m9="$(field "$m" p99_ms)" \
                -v sw="$(field "$s" writes_per_s)" -v s5="$(field "$s" p50_ms)" -v s9="$(field "$s" p99_ms)" \
                -v ew="$(field "$e" writes_per_s)" -v e5="$(field "$e" p50_ms)" -v e9="$(field "$e" p99_ms)" '
                function side(w, a, b) { return w == "" ? sprintf("%-26s", "-") : sprintf("%8.0f %8.2f %8.2f", w, a, b) }
                BEGIN {
                    r = (mw != "" && ew > 0) ? sprintf("%.2fx", mw / ew) : "-"
                    printf "  %-7s | %s | %s | %s | %s\n", c, side(mw, m5, m9), side(sw, s5, s9), side(ew, e5, e9), r
                }'
        done
    fi
    echo
    if ! want vigil; then
        echo "verdict: not judged (only '$BENCH_TARGETS' ran)"
        return 0
    fi
    if ((!CLUSTER)); then
        echo "verdict: not judged (vigild has no cluster runtime: 'vigild run --node' is missing)"
        return 0
    fi
    if ! want etcd; then
        judged=0
    fi
    ((VIGIL_DOWN)) &&
        echo "the vigil cluster broke during the run (see above): its figures cover the trials before"
    echo "targets:"
    printf '  %-44s %-22s %s\n' target measured result
    verdict_row() { # TEXT MEASURED OK(1/0/-)
        local r=met
        [[ $3 == - ]] && r="not measured"
        [[ $3 == 0 ]] && { r="NOT MET"; met=0; }
        printf '  %-44s %-22s %s\n' "$1" "$2" "$r"
    }
    if part failover; then
        verdict_row "unplanned failover median <= 1000 ms" "${vf[1]} ms" \
            "$(awk -v v="${vf[1]}" 'BEGIN { print v == "-" ? "-" : (v <= 1000 ? 1 : 0) }')"
    fi
    if part switchover; then
        verdict_row "switchover call median <= 200 ms" "${sc[1]} ms" \
            "$(awk -v v="${sc[1]}" 'BEGIN { print v == "-" ? "-" : (v <= 200 ? 1 : 0) }')"
        verdict_row "switchover first-write median <= 200 ms" "${sa[1]} ms" \
            "$(awk -v v="${sa[1]}" 'BEGIN { print v == "-" ? "-" : (v <= 200 ? 1 : 0) }')"
    fi
    if part failover || part switchover; then
        verdict_row "acknowledged writes lost = 0" "$vlost lost, $vunv unchecked" \
            "$(((vlost == 0 && vunv == 0) ? 1 : 0))"
    fi
    if part load && want etcd; then
        local c mw ew
        for c in $BENCH_CLIENTS; do
            mw=$(field "${RESULT[mirrored.$c]:-}" writes_per_s)
            ew=$(field "${RESULT[etcd.$c]:-}" writes_per_s)
            verdict_row "mirrored >= 2x etcd 3-node w/s, $c clients" \
                "$(awk -v m="$mw" -v e="$ew" 'BEGIN { print (m == "" || e == "") ? "-" : sprintf("%.0f vs %.0f", m, e) }')" \
                "$(awk -v m="$mw" -v e="$ew" 'BEGIN { print (m == "" || e == "") ? "-" : (m >= 2 * e ? 1 : 0) }')"
        done
    fi
    if ((!judged)); then
        echo "verdict: not judged (only '$BENCH_TARGETS' ran)"
        return 0
    fi
    if ((met)); then
        echo "verdict: TARGETS MET"
        return 0
    fi
    echo "verdict: TARGETS NOT MET"
    return 3
}

main() {
    build
    make_workdir
    [[ -n "${VIGILD_ARGS:-}${ETCD_ARGS:-}${PROBE_ARGS:-}" ]] &&
        say "non-default arguments: vigild '${VIGILD_ARGS:-}', etcd '${ETCD_ARGS:-}', probe '${PROBE_ARGS:-}'"
    say "data under $WORK ($FSTYPE on $FSDEV); $(nproc) CPUs; $(etcd --version | head -n 1)"
    want etcd && start_etcd
    ((CLUSTER)) && start_vigil_cluster
    local t c
    if part failover; then
        for ((t = 1; t <= BENCH_TRIALS; t++)); do
            vigil_ok && vigil_failover_trial "$t"
            want etcd && etcd_trial "$t"
        done
    fi
    if ((CLUSTER)) && part switchover; then
        for ((t = 1; t <= BENCH_SWITCHOVERS; t++)); do
            vigil_ok && vigil_switchover_trial "$t"
        done
    fi
    if part load; then
        want vigil && start_standalone
        for c in $BENCH_CLIENTS; do
            vigil_ok && run_load mirrored "$c"
            want vigil && run_load standalone "$c"
            want etcd && run_load etcd "$c"
        done
    fi
    local verdict=0
    report || verdict=$?
    ((FAILED)) && exit 1
    exit "$verdict"
}

main "$@"

#!/usr/bin/env bash
# The process hardening of issue item 8, checked from outside:
#  - every unit in systemd/ rates 3.0 or lower in 'systemd-analyze security'
#    and passes 'systemd-analyze verify';
#  - every system call a real run makes (writes, a snapshot child, shutdown)
#    is allowed by the unit's SystemCallFilter, so the sandbox can run it;
#  - a running 'vigild run' and 'vigild witness' keep no core file (limit 0,
#    and a SIGSEGV leaves none), are not dumpable (another process of their
#    own user cannot read their /proc files), and hold the key in locked
#    memory (VmLck > 0); with --allow-core-dumps the inherited limit stays.
source "$(dirname "$0")/lib.sh"

# Tools the checks need: under CI their absence is a failure, not a skip
# (scripts/deps.sh installs them).
need_tool() { # NAME PACKAGE
    command -v "$1" >/dev/null && return 0
    [[ "${CI:-}" == true ]] && fail "$1 is not installed (Debian package $2; scripts/deps.sh)"
    echo "skip: $1 is not installed (Debian package $2)"
    exit 77
}
need_tool systemd-analyze systemd
UNITS=("$VG_SOURCE"/systemd/*.service)
((${#UNITS[@]} >= 2)) || fail "expected vigild.service and vigild-witness.service in systemd/"

# ---- the units ------------------------------------------------------------

for unit in "${UNITS[@]}"; do
    name=$(basename "$unit")
    out=$(timeout 120 systemd-analyze security --offline=true --no-pager "$unit" 2>&1) ||
        true # exits non-zero above its --threshold; the score is what counts
    line=$(grep "Overall exposure level" <<<"$out") || fail "$name: no exposure level in: $out"
    score=$(sed -E 's/.*: ([0-9]+\.[0-9]+) .*/\1/' <<<"$line")
    [[ "$score" =~ ^[0-9]+\.[0-9]+$ ]] || fail "$name: cannot read the score in '$line'"
    awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' ||
        fail "$name: exposure $score is above 3.0: $(grep '✗' <<<"$out")"
    pass "$name: systemd-analyze security exposure $score <= 3.0"

    # verify with the built binary in ExecStart: unknown keys and bad values
    # are reported on stderr, which must stay empty
    sed "s#/usr/local/bin/vigild#$(readlink -f "$VIGILD")#" "$unit" >"$VG_TMP/$name"
    said=$(cd "$VG_TMP" && timeout 120 systemd-analyze verify --man=no "./$name" 2>&1) ||
        fail "$name: systemd-analyze verify failed: $said"
    [[ -z "$said" ]] || fail "$name: systemd-analyze verify complains: $said"
    pass "$name: systemd-analyze verify is clean"
done

# ---- the units' system call filter against a real run ---------------------

# syscalls NAME...: the system calls of these names and @groups, one a line.
syscalls() {
    local x
    for x in "$@"; do
        if [[ "$x" == @* ]]; then
            # the group's members, skipping its title and comment lines
            syscalls $(systemd-analyze syscall-filter --no-pager "$x" | sed 1d |
                grep -v '^[[:space:]]*#' | awk '{print $1}')
        else
            echo "$x"
        fi
    done
}

# allowed_by UNIT: the system calls UNIT's SystemCallFilter lines allow (an
# allow list followed by ~deny lines, as ours are written).
allowed_by() {
    local allow=() deny=() v
    while IFS= read -r v; do
        if [[ "$v" == "~"* ]]; then deny+=(${v#\~}); else allow+=($v); fi
    done < <(sed -n 's/^SystemCallFilter=//p' "$1")
    ((${#allow[@]})) || fail "$(basename "$1"): no SystemCallFilter allow list"
    comm -23 <(syscalls "${allow[@]}" | sort -u) <(syscalls "${deny[@]}" | sort -u)
}

# traced_calls TRACE: the system calls named in an strace -f output file.
traced_calls() {
    sed -E -n 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$1" | sort -u
}

check_filter() { # UNIT TRACE what
    local missing
    missing=$(comm -23 <(traced_calls "$2") <(allowed_by "$1"))
    [[ $(traced_calls "$2" | wc -l) -gt 20 ]] || fail "$3: the trace holds almost nothing"
    [[ -z "$missing" ]] || fail "$(basename "$1") forbids what $3 calls: $missing"
    pass "$(basename "$1"): its SystemCallFilter allows every call of $3"
}

if [[ "${VG_SANITIZE:-0}" == 1 ]]; then
    echo "note: sanitizer build: the system call check is left to the release build" \
        "(ASan makes calls of its own)"
else
    need_tool strace strace
    D=$VG_TMP/traced
    vg_init "$D"
    port=$(vg_free_port)
    strace -f -qq -o "$VG_TMP/run.trace" "$VIGILD" run --data "$D" --listen "127.0.0.1:$port" \
        --snapshot-every 5 >"$D.log" 2>&1 &
    VG_PIDS+=($!)
    VG_PID=$!
    vg_wait_ready "$port" 400 || fail "traced vigild did not become ready"
    VG_PORT=$port
    for i in $(seq 1 12); do
        r=$(vg_api PUT /api/v1/objects/Site/s$i '{"spec":{"location":"x"}}')
        [[ "$r" == 20* ]] || fail "write s$i under strace: $r"
    done
    for ((i = 0; i < 100; i++)); do # the snapshot child's calls count too
        ls "$D"/log/snap-*.vgs >/dev/null 2>&1 && break
        sleep 0.05
    done
    ls "$D"/log/snap-*.vgs >/dev/null 2>&1 || fail "no snapshot written under strace"
    vg_api GET /metrics >/dev/null
    vpid=$(pgrep -P "$VG_PID" -x vigild) || fail "no vigild under strace"
    kill -TERM "$vpid"
    wait "$VG_PID" || fail "traced vigild did not stop cleanly"
    check_filter "$VG_SOURCE/systemd/vigild.service" "$VG_TMP/run.trace" "vigild run"

    W=$VG_TMP/traced-witness
    wport=$(vg_free_port)
    strace -f -qq -o "$VG_TMP/witness.trace" "$VIGILD" witness --data "$W" \
        --listen "127.0.0.1:$wport" --insecure-no-tls >"$W.log" 2>&1 &
    VG_PIDS+=($!)
    tpid=$!
    for ((i = 0; i < 200; i++)); do
        curl -fsS -o /dev/null "http://127.0.0.1:$wport/witness/v1/config" 2>/dev/null && break
        sleep 0.05
    done
    curl -fsS -o /dev/null -X POST --data '{"member":"a","epoch":0,"role":"none"}' \
        "http://127.0.0.1:$wport/witness/v1/heartbeat" || fail "traced witness did not answer"
    kill -TERM "$(pgrep -P "$tpid" -x vigild)"
    wait "$tpid" || fail "traced witness did not stop cleanly"
    check_filter "$VG_SOURCE/systemd/vigild-witness.service" "$VG_TMP/witness.trace" \
        "vigild witness"
fi

# ---- the running process --------------------------------------------------

# ASan turns core dumps off by itself and catches SIGSEGV; leave both to vigild.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0:handle_segv=0"

# Run the daemons as an unprivileged user when we can: then they have no
# CAP_IPC_LOCK (mlock is bound by RLIMIT_MEMLOCK, as under the unit) and
# whether they are dumpable shows in what another process of that user may
# read. The data dirs live in a directory that user owns.
AS_USER=()
HOME_DIR=$VG_TMP/home
mkdir -p "$HOME_DIR"
# a copy of the binary that user can reach, wherever the build tree lives
chmod 0711 "$VG_TMP"
REAL_VIGILD=$VG_TMP/vigild-bin
install -m 0755 "$VIGILD" "$REAL_VIGILD"
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "$REAL_VIGILD" --version \
        >/dev/null 2>&1; then
    chown 65534:65534 "$HOME_DIR"
    AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    VIGILD=$VG_TMP/vigild-as-nobody
    printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${AS_USER[*]}" "$REAL_VIGILD" >"$VIGILD"
    chmod 0755 "$VIGILD"
else
    [[ "${CI:-}" == true ]] && fail "cannot run vigild as user nobody (setpriv, as root)"
    VIGILD=$REAL_VIGILD
    echo "note: not root (or no setpriv): daemons run as $(id -un); the dumpable check" \
        "is left out"
fi
cd "$HOME_DIR" # a core file would land here (core_pattern permitting)
ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -Hc)"
inherited=$(ulimit -c)
[[ "$inherited" != 0 ]] || fail "cannot raise this shell's core limit to test with"

core_limit() { # PID: "soft hard" of Max core file size
    awk '/^Max core file size/ {print $5, $6}' "/proc/$1/limits"
}
# check_locked PID WHAT: VmLck > 0 (left out under ASan, which turns mlock
# into a no-op)
check_locked() {
    [[ "${VG_SANITIZE:-0}" == 1 ]] && return 0
    local kb
    kb=$(awk '/^VmLck:/ {print $2}' "/proc/$1/status")
    [[ "$kb" -gt 0 ]] || fail "$2: VmLck is $kb kB: the keys are not in locked memory"
    pass "$2: keys in $kb kB of locked memory"
}
[[ "${VG_SANITIZE:-0}" == 1 ]] &&
    echo "note: sanitizer build: ASan ignores mlock, the VmLck checks are left out"
# can_read_proc PID: another process of the daemon's user reads its environ
# (ptrace access mode read), which a non-dumpable process refuses.
can_read_proc() {
    "${AS_USER[@]}" cat "/proc/$1/environ" >/dev/null 2>&1
}

# Core files need a core_pattern that writes into the cwd; a pipe to a
# crash collector or an absolute path leaves nothing here to look for.
pattern=$(cat /proc/sys/kernel/core_pattern)
CORE_CHECK=1
if [[ "$pattern" == "|"* || "$pattern" == /* ]]; then
    CORE_CHECK=0
    echo "note: core_pattern is '$pattern': the SIGSEGV core file checks are left out"
elif [[ "${VG_SANITIZE:-0}" == 1 ]]; then
    CORE_CHECK=0 # an ASan process's core maps its whole shadow memory: terabytes to walk
    echo "note: sanitizer build: the SIGSEGV core file checks are left out"
fi

# crash PID: SIGSEGV, then reap it; prints the core files left in the cwd.
crash() {
    kill -SEGV "$1"
    wait "$1" 2>/dev/null || true
    sleep 0.2
    find "$HOME_DIR" -maxdepth 1 -name 'core*' -type f
}

D=$HOME_DIR/member
vg_init "$D"

# hardened (the default)
vg_start "$D" "$(vg_free_port)"
assert_eq "0 0" "$(core_limit "$VG_PID")" "vigild run: core file limit (soft hard)"
pass "vigild run: core file limit 0 (soft and hard)"
check_locked "$VG_PID" "vigild run"
if ((${#AS_USER[@]})); then
    ! can_read_proc "$VG_PID" || fail "vigild run: its own user can read /proc/PID/environ"
    pass "vigild run: not dumpable (its user cannot read its /proc files)"
fi
if ((CORE_CHECK)); then
    cores=$(crash "$VG_PID")
    [[ -z "$cores" ]] || fail "vigild run left a core file after SIGSEGV: $cores"
    pass "vigild run: SIGSEGV leaves no core file"
else
    vg_stop "$VG_PID"
fi

# --allow-core-dumps: the inherited limit stays, and so does the control:
# the same crash does leave a core file, so the check above can fail
vg_start "$D" "$(vg_free_port)" --allow-core-dumps
limit=$(core_limit "$VG_PID")
[[ "$limit" != "0 "* ]] || fail "vigild run --allow-core-dumps: core limit is $limit"
[[ "$limit" == "$inherited "* ]] || fail "--allow-core-dumps: limit $limit, not $inherited"
pass "vigild run --allow-core-dumps: core file limit stays '$limit'"
check_locked "$VG_PID" "vigild run --allow-core-dumps"
if ((${#AS_USER[@]})); then
    can_read_proc "$VG_PID" || fail "--allow-core-dumps: still not dumpable"
    pass "vigild run --allow-core-dumps: dumpable (the control for the check above)"
fi
if ((CORE_CHECK)); then
    cores=$(crash "$VG_PID")
    [[ -n "$cores" ]] || fail "--allow-core-dumps: SIGSEGV left no core file (core_pattern" \
        "'$pattern'): the no-core check proves nothing here"
    rm -f $cores
    pass "vigild run --allow-core-dumps: SIGSEGV leaves a core file (the control)"
else
    vg_stop "$VG_PID"
fi

# the witness: the same, with its own keyring
W=$HOME_DIR/witness
w_start() { # PORT [args]: sets W_PID once the witness answers
    local port=$1 i
    shift
    "$VIGILD" witness --data "$W" --listen "127.0.0.1:$port" --insecure-no-tls "$@" \
        >>"$W.log" 2>&1 &
    W_PID=$!
    VG_PIDS+=("$W_PID")
    for ((i = 0; i < 200; i++)); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/witness/v1/config" 2>/dev/null &&
            return 0
        kill -0 "$W_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "the witness on port $port did not answer"
}
w_start "$(vg_free_port)"
assert_eq "0 0" "$(core_limit "$W_PID")" "vigild witness: core file limit (soft hard)"
check_locked "$W_PID" "vigild witness"
if ((${#AS_USER[@]})); then
    ! can_read_proc "$W_PID" || fail "vigild witness: its own user can read /proc/PID/environ"
fi
if ((CORE_CHECK)); then
    cores=$(crash "$W_PID")
    [[ -z "$cores" ]] || fail "vigild witness left a core file after SIGSEGV: $cores"
else
    vg_stop "$W_PID"
fi
pass "vigild witness: no core file, not dumpable"

w_start "$(vg_free_port)" --allow-core-dumps
limit=$(core_limit "$W_PID")
[[ "$limit" == "$inherited "* ]] || fail "witness --allow-core-dumps: limit $limit"
if ((${#AS_USER[@]})); then
    can_read_proc "$W_PID" || fail "witness --allow-core-dumps: still not dumpable"
fi
vg_stop "$W_PID"
pass "vigild witness --allow-core-dumps: core file limit stays '$limit'"

echo "process: all checks passed"

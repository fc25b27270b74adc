# Shared helpers for black-box tests: start real vigild processes on free
# loopback ports, talk to them with curl and the CLI, clean up on exit.
# Sourced by tests/blackbox/*.sh; ctest passes VIGILD and VIGIL.
set -euo pipefail

: "${VIGILD:?VIGILD must point to the vigild binary}"
: "${VIGIL:?VIGIL must point to the vigil binary}"

VG_TMP=$(mktemp -d /tmp/vigil-test.XXXXXX)
VG_PIDS=()

vg_cleanup() {
    local pid
    for pid in "${VG_PIDS[@]}" $(jobs -p); do # jobs: helpers a failed test left running
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ "${VG_KEEP_TMP:-0}" != 1 ]]; then
        rm -rf "$VG_TMP"
    fi
}
trap vg_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$VG_TMP"/*.log; do
        [[ -f "$f" ]] && { echo "--- $f (tail)" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}

pass() { echo "ok: $*"; }

assert_eq() { # expected actual what
    [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"
}

assert_contains() { # haystack needle what
    [[ -n "$2" ]] || fail "$3: looking for an empty string proves nothing"
    [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in: $1"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
vg_free_port() {
    local port
    while :; do
        # below the kernel's ephemeral range, so no client socket takes it
        port=$((20000 + RANDOM % 12000))
        if ! ss -Htan "sport = :$port" | grep -q .; then
            echo "$port"
            return
        fi
    done
}

# vg_init DIR: initialise a data dir; sets VG_TOKEN to its admin token.
vg_init() {
    local out
    out=$("$VIGILD" init --data "$1" 2>/dev/null) || fail "vigild init $1"
    VG_TOKEN=${out#admin token: }
    [[ "$VG_TOKEN" == vgt_* ]] || fail "vigild init printed no token: $out"
}

# vg_start DIR PORT [extra args...]: start vigild, wait until /readyz; sets
# VG_PID. If another test took the port meanwhile, moves to a free one and
# updates VG_PORT.
vg_start() {
    local dir=$1 port=$2 attempt
    shift 2
    for attempt in 1 2 3; do
        local mark
        mark=0
        [[ -f "$dir.log" ]] && mark=$(wc -l <"$dir.log")
        "$VIGILD" run --data "$dir" --listen "127.0.0.1:$port" "$@" >>"$dir.log" 2>&1 &
        VG_PID=$!
        VG_PIDS+=("$VG_PID")
        if vg_wait_ready "$port"; then
            VG_PORT=$port
            return 0
        fi
        tail -n +"$((mark + 1))" "$dir.log" | grep -q "Address already in use" || break
        port=$(vg_free_port)
    done
    fail "vigild on port $port did not become ready"
}

vg_wait_ready() { # PORT [tries of 50 ms]
    local i
    for ((i = 0; i < ${2:-200}; i++)); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null; then
            return 0
        fi
        kill -0 "${VG_PID:-0}" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# vg_stop PID: SIGTERM and wait; fails if the exit status is not 0.
vg_stop() {
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [[ $rc == 0 ]] || fail "vigild (pid $1) exited with status $rc after SIGTERM"
}

# vg_api METHOD URL_PATH [BODY] [extra curl args...]: prints "CODE BODY".
# Uses VG_PORT and VG_TOKEN (override with VG_AUTH="Bearer ...", or VG_AUTH=none).
vg_api() {
    local method=$1 path=$2 body=${3:-}
    shift 3 2>/dev/null || shift $#
    local auth=("-H" "Authorization: ${VG_AUTH:-Bearer $VG_TOKEN}")
    [[ "${VG_AUTH:-}" == none ]] && auth=()
    local args=(-sS -X "$method" -o "$VG_TMP/resp" -w '%{http_code}' "${auth[@]}" "$@")
    [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    local code
    code=$(curl "${args[@]}" "http://127.0.0.1:$VG_PORT$path") || code=000
    echo "$code $(cat "$VG_TMP/resp" 2>/dev/null)"
}

# vg_notify_listen SOCKET OUT: a stand-in for systemd's notify socket that
# writes each datagram (newlines as spaces) to OUT until STOPPING=1; sets
# VG_NOTIFY_PID and waits until the socket exists.
vg_notify_listen() {
    python3 - "$1" >"$2" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " "), flush=True)
    if "STOPPING=1" in msg:
        break
PY
    VG_NOTIFY_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -S $1 ]] && return 0
        sleep 0.05
    done
    fail "notify socket $1 did not appear"
}

# vg_wait_for_line FILE TEXT: up to 5 s for TEXT to appear in FILE.
vg_wait_for_line() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

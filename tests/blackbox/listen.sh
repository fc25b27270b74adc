#!/usr/bin/env bash
# The one bind-with-retry (src/core/listen.c) behind the API and the
# witness: a port still held for a moment (a predecessor's socket closing)
# is waited for and then served; a port held for good fails the start with
# exit 1 and a message naming the address, after about two seconds.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"

# hold PORT SECONDS: a listener on 127.0.0.1:PORT for SECONDS; sets HOLD_PID
# once the port is bound.
hold() {
    python3 - "$1" "$2" >"$VG_TMP/hold.out" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("bound", flush=True)
time.sleep(float(sys.argv[2]))
PY
    HOLD_PID=$!
    vg_wait_for_line "$VG_TMP/hold.out" bound || fail "could not hold port $1"
}

# --- the API: held for 0.7 s, then served
port=$(vg_free_port)
hold "$port" 0.7
start=$(date +%s%N)
"$VIGILD" run --data "$D" --listen "127.0.0.1:$port" >>"$D.log" 2>&1 &
VG_PID=$!
VG_PIDS+=("$VG_PID")
vg_wait_ready "$port" || fail "vigild did not serve port $port once it was free"
waited_ms=$((($(date +%s%N) - start) / 1000000))
((waited_ms >= 500)) || fail "ready after ${waited_ms} ms: the port was not really held"
wait "$HOLD_PID"
vg_stop "$VG_PID"
pass "API waited ${waited_ms} ms for a port still held, then served it"

# --- the API: held for good: exit 1 naming the address, within a few seconds
port=$(vg_free_port)
hold "$port" 30
start=$(date +%s%N)
rc=0; "$VIGILD" run --data "$D" --listen "127.0.0.1:$port" >"$VG_TMP/busy.out" 2>&1 || rc=$?
took_ms=$((($(date +%s%N) - start) / 1000000))
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true
assert_eq 1 "$rc" "run on a held port"
assert_contains "$(cat "$VG_TMP/busy.out")" "cannot listen on '127.0.0.1:$port': Address already in use" \
    "run on a held port"
((took_ms >= 1500 && took_ms < 10000)) || fail "gave up after ${took_ms} ms, not about 2 s"
pass "API on a port held for good: exit 1 after ${took_ms} ms, naming the address"

# --- the witness: the same function, held for 0.7 s, then served
W=$VG_TMP/witness
port=$(vg_free_port)
hold "$port" 0.7
"$VIGILD" witness --data "$W" --listen "127.0.0.1:$port" --insecure-no-tls >>"$W.log" 2>&1 &
W_PID=$!
VG_PIDS+=("$W_PID")
for ((i = 0; i < 200; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/witness/v1/config" 2>/dev/null && break
    kill -0 "$W_PID" 2>/dev/null || fail "witness exited: $(cat "$W.log")"
    sleep 0.05
done
((i < 200)) || fail "witness did not serve port $port once it was free"
wait "$HOLD_PID"
port=$(vg_free_port)
hold "$port" 30
rc=0; "$VIGILD" witness --data "$VG_TMP/w2" --listen "127.0.0.1:$port" --insecure-no-tls \
    >"$VG_TMP/wbusy.out" 2>&1 || rc=$?
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true
assert_eq 1 "$rc" "witness on a held port"
assert_contains "$(cat "$VG_TMP/wbusy.out")" "cannot listen on '127.0.0.1:$port': Address already in use" \
    "witness on a held port"
pass "witness waits for a port still held and names one held for good"

#!/usr/bin/env bash
# Daemon behaviour around the API: systemd readiness (Type=notify), a
# stalled client is cut off by the request timeout without hurting others,
# and usage errors are reported with exit status 2.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)

# --- sd_notify: READY=1 arrives on $NOTIFY_SOCKET once the API serves
sock=$VG_TMP/notify.sock
python3 - "$sock" >"$VG_TMP/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " "), flush=True)
    if "STOPPING=1" in msg:
        break
PY
listener=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
NOTIFY_SOCKET=$sock vg_start "$D" "$VG_PORT" --http-timeout 1
for _ in $(seq 100); do grep -q READY=1 "$VG_TMP/notify.out" && break; sleep 0.05; done
assert_contains "$(cat "$VG_TMP/notify.out")" "READY=1" "readiness notification"
pass "READY=1 sent to NOTIFY_SOCKET"

# --- a client that stalls mid-request is disconnected; others are served
exec 3<>"/dev/tcp/127.0.0.1/$VG_PORT"
printf 'PUT /api/v1/objects/Site/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"spec"' >&3
start=$(date +%s%N)
timeout 10 cat <&3 >/dev/null || fail "stalled connection was not closed within 10 s"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((elapsed_ms < 5000)) || fail "stalled connection closed only after ${elapsed_ms} ms"
exec 3<&-
r=$(vg_api GET /api/v1/objects/Site/slow); assert_eq 404 "${r%% *}" "half-sent write stored nothing"
pass "stalled client cut off after ${elapsed_ms} ms; nothing stored"

vg_stop "$VG_PID"
wait "$listener" || true
assert_contains "$(cat "$VG_TMP/notify.out")" "STOPPING=1" "stopping notification"
pass "STOPPING=1 sent on SIGTERM"

# --- usage errors
rc=0; "$VIGILD" run --data "$D" --snapshot-every x >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "bad number"
rc=0; "$VIGILD" frobnicate >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "unknown command"
rc=0; "$VIGILD" run >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "missing --data"
"$VIGILD" run --help | grep -q -- "--http-timeout" || fail "run --help lists options"
rc=0; "$VIGILD" init --data "$D" >/dev/null 2>"$VG_TMP/reinit.err" || rc=$?
assert_eq 1 "$rc" "init over existing data"
assert_contains "$(cat "$VG_TMP/reinit.err")" "refusing to overwrite" "init refuses"
pass "usage errors exit 2; init never overwrites"

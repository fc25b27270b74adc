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
vg_notify_listen "$sock" "$VG_TMP/notify.out"
listener=$VG_NOTIFY_PID
NOTIFY_SOCKET=$sock vg_start "$D" "$VG_PORT" --http-timeout 1
vg_wait_for_line "$VG_TMP/notify.out" READY=1 || true
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

# --- bring your own keyring: init --key-file copies it; run --key-file uses it
D2=$VG_TMP/data2
"$VIGILD" init --data "$D2" --key-file "$D/keyring" >"$VG_TMP/init2.out" 2>/dev/null ||
    fail "init --key-file"
cmp -s "$D/keyring" "$D2/keyring" || fail "init --key-file did not keep the given keys"
[[ $(stat -c %a "$D2/keyring") == 600 ]] || fail "copied keyring mode is $(stat -c %a "$D2/keyring")"
cp "$D/keyring" "$VG_TMP/open-keyring"
chmod 644 "$VG_TMP/open-keyring"
rc=0; "$VIGILD" init --data "$VG_TMP/data3" --key-file "$VG_TMP/open-keyring" >/dev/null 2>"$VG_TMP/init3.err" || rc=$?
assert_eq 1 "$rc" "init with a world-readable key file"
[[ ! -e "$VG_TMP/data3/log" ]] || fail "refused init left a log behind"
pass "init --key-file keeps the keys, refuses a readable key file"

mv "$D2/keyring" "$VG_TMP/outside-keyring"
VG_TOKEN=$(sed 's/^admin token: //' "$VG_TMP/init2.out")
rc=0; "$VIGILD" run --data "$D2" --listen "127.0.0.1:$VG_PORT" >/dev/null 2>"$VG_TMP/nokey.err" || rc=$?
assert_eq 1 "$rc" "run without its keyring"
assert_contains "$(cat "$VG_TMP/nokey.err")" "keyring" "missing keyring named"
vg_start "$D2" "$VG_PORT" --key-file "$VG_TMP/outside-keyring"
r=$(vg_api PUT /api/v1/objects/Site/dc1 '{"spec":{"location":"Brussels"}}')
assert_eq 201 "${r%% *}" "write with a keyring supplied from outside"
pass "run --key-file reads the keyring from outside the data dir"

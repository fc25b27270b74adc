#!/usr/bin/env bash
# `vigild dev` (issue 14, point 7): one command from nothing to a working
# API. It prints the token and an export line that work as printed, serves
# on loopback, and leaves nothing behind after Ctrl-C (or keeps the data
# with --keep). A taken port is refused with a clear message.
source "$(dirname "$0")/lib.sh"

mkdir -p "$VG_TMP/t"
start_dev() { # OUT [args...]: starts it, waits for the API; sets DEV_PID
    local out=$1
    shift
    TMPDIR=$VG_TMP/t "$VIGILD" dev "$@" >"$out" 2>&1 &
    DEV_PID=$!
    for _ in $(seq 100); do
        grep -q "serving the API" "$out" && return 0
        sleep 0.05
    done
    fail "vigild dev did not start: $(cat "$out")"
}

port=$(vg_free_port)
start_dev "$VG_TMP/dev.log" --port "$port"
line=$(grep "^  export VIGIL_SERVER=" "$VG_TMP/dev.log") || fail "no export line: $(cat "$VG_TMP/dev.log")"
eval "$line"
assert_eq "http://127.0.0.1:$port" "$VIGIL_SERVER" "the printed server"
role=$("$VIGIL" status -o json | jq -r .role) || fail "vigil status with the printed export line"
assert_eq standalone "$role" "role of the dev member"
printf 'kind: Site\nname: dev1\nspec: {location: "desk"}\n' >"$VG_TMP/site.yaml"
"$VIGIL" apply -f "$VG_TMP/site.yaml" >/dev/null || fail "apply with the printed admin token"
data=$(sed -n 's/^  data:  \(.*\) (removed when it stops)$/\1/p' "$VG_TMP/dev.log")
[[ -d $data && $data == "$VG_TMP/t/vigil-dev."* ]] || fail "data directory '$data' not under TMPDIR"
pass "vigild dev: the printed export line and token work (status, apply) on 127.0.0.1:$port"

# a second one on the same port: told, not half-started
rc=0
out=$(TMPDIR=$VG_TMP/t "$VIGILD" dev --port "$port" 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status of a second dev member on a taken port"
assert_contains "$out" "127.0.0.1:$port is taken" "the taken port is named"
assert_eq 1 "$(find "$VG_TMP/t" -maxdepth 1 -name 'vigil-dev.*' | wc -l)" "directories after the refused start"

kill -INT "$DEV_PID"
rc=0
wait "$DEV_PID" || rc=$?
assert_eq 0 "$rc" "exit status after Ctrl-C"
[[ ! -e $data ]] || fail "the data directory is still there after Ctrl-C"
pass "Ctrl-C: clean stop, data directory removed"

start_dev "$VG_TMP/keep.log" --port "$(vg_free_port)" --keep
data=$(sed -n 's/^  data:  \(.*\) (kept when it stops)$/\1/p' "$VG_TMP/keep.log")
kill -INT "$DEV_PID"
wait "$DEV_PID" || fail "vigild dev --keep did not stop cleanly"
[[ -f $data/keyring ]] || fail "--keep: '$data' was not kept"
pass "--keep keeps the data directory ($data)"

#!/usr/bin/env bash
# `vigil cluster init DIR` (issue 14, point 2): the files of a trial cluster
# on this machine, and a start.sh that brings dc1, dc2 and the witness up in
# the right order, so that the command it prints shows both sites in sync.
source "$(dirname "$0")/lib.sh"

# a base port whose five ports are free
for _ in $(seq 50); do
    base=$((20000 + RANDOM % 10000))
    ok=1
    for off in 0 1 2 10 11; do
        ss -Htan "sport = :$((base + off))" | grep -q . && ok=0
    done
    ((ok)) && break
done
C=$VG_TMP/trial
out=$("$VIGIL" cluster init "$C" --base-port "$base") || fail "vigil cluster init: $out"
assert_contains "$out" "bash $C/start.sh" "the start command is printed"
for f in pki/ca.crt pki/dc1.crt pki/dc2.crt pki/witness.crt dc1.yaml dc2.yaml start.sh; do
    [[ -s $C/$f ]] || fail "vigil cluster init did not write $f"
done
rc=0
"$VIGIL" cluster init "$C" >/dev/null 2>&1 || rc=$?
assert_eq 4 "$rc" "vigil cluster init on a folder that exists"
pass "vigil cluster init wrote the CA, three certificates, two node files and start.sh"

VIGILD=$VIGILD bash "$C/start.sh" >"$VG_TMP/start.out" 2>&1 &
START_PID=$!
stop_trial() { # start.sh stops its three processes on SIGTERM (a kill -9 would orphan them)
    kill -TERM "$START_PID" 2>/dev/null || true
    wait "$START_PID" 2>/dev/null || true
}
trap 'stop_trial; vg_cleanup' EXIT
for _ in $(seq 100); do [[ -s $C/dc1.init.json ]] && break; sleep 0.1; done
token=$(jq -r .admin_token "$C/dc1.init.json") || fail "no admin token: $(cat "$VG_TMP/start.out")"
servers=http://127.0.0.1:$base,http://127.0.0.1:$((base + 10))
in_sync() {
    "$VIGIL" --server "http://127.0.0.1:$base" --token "$token" cluster status -o json \
        2>/dev/null | jq -e '(.sync | sort) == ["dc1","dc2"] and .primary == "dc1"' >/dev/null
}
for _ in $(seq 150); do in_sync && break; sleep 0.1; done
in_sync || fail "the trial cluster is not in sync after 15 s: $(tail -5 "$C"/dc*.log)"
assert_contains "$(cat "$VG_TMP/start.out")" "export VIGIL_SERVER=$servers" "start.sh prints the export line"
pass "start.sh: dc1 primary, dc2 in sync (member link and witness over mutual TLS)"
stop_trial
trap vg_cleanup EXIT
left=$(pgrep -f "$C" || true)
[[ -z $left ]] || fail "processes of the trial still run after start.sh was stopped: $left"
pass "SIGTERM to start.sh stops dc1, dc2 and the witness"

#!/usr/bin/env bash
# A committed record a member cannot apply is never skipped. A record whose
# payload is not JSON (as a damaged disk or a bug could leave one) is put in
# the log of a stopped cluster member, after what it had applied; started
# again, the member reads it back to apply it (member.c apply_from_log, the
# path a mirror applies every record by) and must stop: an error naming the
# record's index and why, and exit status 1. The same record met during
# recovery stops a standalone member before it serves.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
APPEND=${VG_BUILD:-$(dirname "$VIGILD")}/peer_append_record
[[ -x $APPEND ]] || { echo "SKIP: $APPEND not built"; exit 77; }

# --- a cluster member applying records it reads back from its log ----------
cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
out=$(curl -sS -m 5 -X PUT -H "Authorization: Bearer $TOKEN" -d '{"spec":{"location":"x"}}' \
    "${URL[dc1]}/api/v1/objects/Site/before")
assert_contains "$out" '"revision"' "write before the bad record"
vg_stop "${PID[dc1]}"
index=$("$APPEND" "$VG_TMP/dc1" 1 '{"object":{"kind":"Site","name":"bad"') ||
    fail "append the bad record"
"$VIGILD" run --node "$VG_TMP/dc1.yaml" >>"$VG_TMP/dc1.log" 2>&1 &
pid=$!
VG_PIDS+=("$pid")
for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "dc1 kept running past a record it cannot apply"
rc=0
wait "$pid" || rc=$?
assert_eq 1 "$rc" "exit status"
grep -q "cannot apply committed record $index: record $index (type 1) cannot be applied: its payload is not JSON" \
    "$VG_TMP/dc1.log" || fail "no error naming record $index and why in dc1's log"
pass "a member that cannot apply committed record $index says so and exits 1"

# --- a standalone member recovering its log --------------------------------
D=$VG_TMP/solo
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
vg_stop "$VG_PID"
index=$("$APPEND" "$D" 1 'not json') || fail "append the bad record"
rc=0
timeout 20 "$VIGILD" run --data "$D" --listen "127.0.0.1:$(vg_free_port)" >>"$D.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status of a standalone member recovering the record"
grep -q "record $index (type 1) cannot be applied: its payload is not JSON" "$D.log" ||
    fail "no error naming record $index in the standalone log"
pass "recovery stops on record $index too, before serving"

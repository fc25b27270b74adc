#!/usr/bin/env bash
# The acknowledged-write checker (tests/fault/acked.py) against real
# standalone vigild processes on loopback: creates, updates and deletes under
# a kill -9 and restart all hold afterwards; the checker notices a missing
# write, a wrong revision, an object nobody acknowledged, a lost update (the
# content reverted), a resurrected delete, two members that disagree, and a
# record file that is missing, cut short or damaged; the writer moves on
# from a member that says "not the primary" and records a timed-out write as
# of unknown outcome; HTTPS with a CA; a live check while the writer runs;
# SIGTERM and the stop file end the writer cleanly. Needs no network
# namespaces.
source "$(dirname "$0")/../blackbox/lib.sh"
ACKED="python3 $(cd "$(dirname "$0")" && pwd)/acked.py"

RID=ak$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')

# rerecord IN OUT JQ: the records of IN passed through JQ (an array filter),
# numbered again and closed with an end line: a whole file that differs
# from IN only as JQ says.
rerecord() {
    jq -c -s "map(select(.name)) | $3 | to_entries | map(.value + {n: (.key + 1)}) as \$r
              | (\$r[]), {end: {records: (\$r | length)}}" "$1" >"$2" || fail "rerecord $3"
    cp "$1.unknown" "$2.unknown"
}
# records FILE: the number of write records in FILE
records() { jq -s 'map(select(.name)) | length' "$1"; }
# check_fails WHAT NEEDLE ARGS...: acked.py check ARGS must exit 1 and say NEEDLE
check_fails() {
    local what=$1 needle=$2 rc=0
    shift 2
    out=$($ACKED check "$@" 2>&1) || rc=$?
    assert_eq 1 "$rc" "check with $what: exit status ($out)"
    assert_contains "$out" "$needle" "check with $what"
}
D=$VG_TMP/d1
vg_init "$D"
export VIGIL_TOKEN=$VG_TOKEN
vg_start "$D" "$(vg_free_port)"
PORT1=$VG_PORT
URL1=http://127.0.0.1:$PORT1

# --- writes under kill -9 and restart ----------------------------------------
A=$VG_TMP/acked
$ACKED writer --url "$URL1" --run-id "$RID" --out "$A" --workers 2 --timeout 1 \
    --interval 0.002 --stop-file "$VG_TMP/stop" >"$VG_TMP/writer.json" 2>"$VG_TMP/writer.log" &
writer=$!
# kill once writes flow (the writer may start slowly while the suite loads both cores)
for _ in $(seq 200); do
    [[ -f "$A" && $(wc -l <"$A") -ge 25 ]] && break
    kill -0 "$writer" 2>/dev/null || fail "writer exited early: $(cat "$VG_TMP/writer.log")"
    sleep 0.1
done
sleep 0.3
kill -9 "$VG_PID"
wait "$VG_PID" 2>/dev/null || true
t_kill=$EPOCHREALTIME
n_at_kill=$(wc -l <"$A")
sleep 0.5
vg_start "$D" "$PORT1"
[[ $VG_PORT == "$PORT1" ]] || fail "port $PORT1 was taken while vigild was down; the writer cannot follow"
sleep 1
touch "$VG_TMP/stop"
wait "$writer" || fail "writer exited with status $?: $(cat "$VG_TMP/writer.log")"
summary=$(cat "$VG_TMP/writer.json")
n=$(jq .acked <<<"$summary")
((n_at_kill > 20 && n > n_at_kill)) || fail "too few writes: $n_at_kill before the kill, $n in all: $summary"
[[ $(records "$A") == "$n" ]] || fail "summary says $n acknowledged, the file has $(records "$A")"
assert_eq "{\"end\":{\"records\":$n}}" "$(tail -n 1 "$A" | jq -c .)" "the end line"
n_upd=$(jq -s 'map(select(.op == "put" and .v > 1)) | length' "$A")
n_del=$(jq -s 'map(select(.op == "delete")) | length' "$A")
((n_upd > 0 && n_del > 0)) || fail "the writer did not update ($n_upd) and delete ($n_del): $summary"
assert_eq "$n" "$(jq '.puts + .deletes' <<<"$summary")" "puts + deletes in the summary"
gap=$(jq .max_gap_s <<<"$summary")
[[ $(jq .resumed <<<"$summary") == true ]] || fail "the writer did not resume: $summary"
awk -v g="$gap" 'BEGIN { exit !(g >= 0.4 && g < 10) }' || fail "longest gap $gap s, not the ~0.5 s outage"
pass "writer: $n acknowledged ($n_at_kill before kill -9; $n_upd updates or re-creates, $n_del deletes), $(jq .unknown <<<"$summary") unknown, longest gap ${gap} s"

out=$($ACKED check --url "$URL1" --run-id "$RID" --acked "$A" 2>&1) || fail "check after restart: $out"
assert_contains "$out" "$n acknowledged writes" "check after restart"
assert_contains "$out" "0 missing, 0 wrong content, 0 resurrected, 0 wrong revision" "check after restart"
pass "every acknowledged write is there after kill -9 and restart"

# an answer received just before the kill can be recorded just after it:
# measure from 50 ms after the kill
t_after=$(awk -v t="$t_kill" 'BEGIN { printf "%.6f", t + 0.05 }')
out=$($ACKED maxgap --acked "$A" --clock wall --after "$t_after" --max 10) || fail "maxgap: $out"
resumed=$(jq .resumed_after_s <<<"$out")
awk -v r="$resumed" 'BEGIN { exit !(r >= 0.3 && r < 10) }' || fail "resumed $resumed s after the kill: $out"
if $ACKED maxgap --acked "$A" --clock wall --after "$t_after" --max 0.1 >/dev/null 2>&1; then
    fail "maxgap --max 0.1 passed across a 0.5 s outage"
fi
pass "maxgap: writes resumed ${resumed} s after the kill; --max fails when exceeded"

# --- the checker catches what it must ---------------------------------------
rerecord "$A" "$VG_TMP/a-missing" ". + [{name: \"$RID-9999999\", v: 1, op: \"put\", spec: {location: \"x\"}, revision: 99999, t: 1, wall: 1, server: \"x\"}]"
check_fails "a missing write" "MISSING (1): $RID-9999999(write 1 put it)" \
    --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-missing"

# the last write of each object, and objects whose last write is a put, an update, a delete
jq -s 'map(select(.name)) | group_by(.name) | map(max_by(.v))' "$A" >"$VG_TMP/last.json"
upd=$(jq -r 'map(select(.op == "put" and (.v % 3) == 2)) | .[0].name // empty' "$VG_TMP/last.json")
gone=$(jq -r 'map(select(.op == "delete")) | .[0].name // empty' "$VG_TMP/last.json")
[[ -n $upd && -n $gone ]] || fail "no object whose last write is an update ('$upd') or a delete ('$gone')"
rerecord "$A" "$VG_TMP/a-rev" "map(if .name == \"$upd\" then .revision += 100000 else . end)"
check_fails "a wrong revision" "WRONG REVISION (1): $upd(write" \
    --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-rev"

code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $VG_TOKEN" \
    --data-binary '{"spec":{"location":"nobody acknowledged this"}}' "$URL1/api/v1/objects/Site/$RID-ghost")
assert_eq 201 "$code" "PUT of an object nobody records"
rc=0
out=$($ACKED check --url "$URL1" --run-id "$RID" --acked "$A" 2>&1) || rc=$?
assert_eq 1 "$rc" "check with an unexplained object: exit status"
assert_contains "$out" "UNEXPLAINED (1, present but no write of the run names it): $RID-ghost" \
    "check names the unexplained object"
curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer $VG_TOKEN" "$URL1/api/v1/objects/Site/$RID-ghost"
pass "check fails on a missing write, a wrong revision and an object nobody acknowledged"

# --- record files that prove nothing ----------------------------------------
check_fails "no record file" "no such file" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/nothing-here"
cp "$A" "$VG_TMP/a-nounk"
check_fails "no record file of unknown outcomes" "a-nounk.unknown: no such file" \
    --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-nounk"
damage() { # NAME COMMAND...: $VG_TMP/a-NAME made by COMMAND from $A (stdin), with $A's unknowns
    local f=$VG_TMP/a-$1
    shift
    "$@" <"$A" >"$f"
    cp "$A.unknown" "$f.unknown"
}
damage empty true
check_fails "an empty record file" "no end line after record 0" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-empty"
damage noend head -n -1
check_fails "the end line cut off" "no end line after record $n" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-noend"
damage torn head -c "$(($(stat -c %s "$A") - 40))"
check_fails "a record cut in half" "the last line is cut off" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-torn"
damage gap sed 7d
check_fails "a record taken out" "record 7 expected" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-gap"
damage garbage sed '5s/.*/{"name": "garbage/'
check_fails "a garbled record" ":5: not a record" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-garbage"
damage count sed '$s/.*/{"end":{"records":3}}/'
check_fails "an end line that miscounts" "the end line counts" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-count"
damage other sed "3s/$RID-/x$RID-/"
check_fails "a record of another run" "is not of run $RID" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-other"
rerecord "$A" "$VG_TMP/a-none" "[]"
check_fails "no acknowledged write at all" "no acknowledged write at all" \
    --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-none"
check_fails "a damaged file and --wait" "no end line" --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-noend" --wait 5
rc=0
$ACKED writer --url "$URL1" --run-id "$RID" --out "$A" --count 1 >/dev/null 2>"$VG_TMP/again.log" || rc=$?
assert_eq 2 "$rc" "a writer into a file that holds records: exit status"
assert_contains "$(cat "$VG_TMP/again.log")" "already holds records" "a writer into a file that holds records"
[[ $(records "$A") == "$n" ]] || fail "the second writer touched $A"
pass "check fails on a missing, empty, cut, gapped, garbled or miscounted record file, and on one with no write; a writer does not append to old records"

# --- two members: a copy of the data dir behind HTTPS -----------------------
vg_stop "$VG_PID"
cp -a "$D" "$VG_TMP/d2"
vg_start "$D" "$PORT1"
[[ $VG_PORT == "$PORT1" ]] || fail "port $PORT1 was taken meanwhile"
"$VIGIL" pki init --dir "$VG_TMP/pki" >/dev/null || fail "vigil pki init"
"$VIGIL" pki issue member2 --dir "$VG_TMP/pki" --ip 127.0.0.1 >/dev/null || fail "vigil pki issue"
CA=$VG_TMP/pki/ca.crt
PORT2=$(vg_free_port)
"$VIGILD" run --data "$VG_TMP/d2" --listen "127.0.0.1:$PORT2" --tls-cert "$VG_TMP/pki/member2.crt" \
    --tls-key "$VG_TMP/pki/member2.key" >>"$VG_TMP/d2.log" 2>&1 &
VG_PIDS+=($!)
URL2=https://127.0.0.1:$PORT2
for _ in $(seq 200); do curl -fsS -o /dev/null --cacert "$CA" "$URL2/readyz" 2>/dev/null && break; sleep 0.05; done
out=$($ACKED check --url "$URL1" --also "$URL2" --ca "$CA" --run-id "$RID" --acked "$A" 2>&1) ||
    fail "check --also on two copies: $out"
assert_contains "$out" "0 only on $URL1, 0 only on $URL2, 0 differ (revision or content)" "check --also"

# writes over HTTPS, stopped by SIGTERM
A2=$VG_TMP/acked-tls
$ACKED writer --url "$URL2" --ca "$CA" --run-id "t$RID" --out "$A2" >"$VG_TMP/w2.json" 2>"$VG_TMP/w2.log" &
writer=$!
for _ in $(seq 100); do (($(cat "$A2" 2>/dev/null | wc -l) >= 50)) && break; sleep 0.05; done
# while it writes: a live check passes, a full one wants the end line
out=$($ACKED check --live --url "$URL2" --ca "$CA" --run-id "t$RID" --acked "$A2" 2>&1) ||
    fail "check --live while the writer runs: $out"
check_fails "the writer still running" "no end line" --url "$URL2" --ca "$CA" --run-id "t$RID" --acked "$A2"
kill -TERM "$writer"
wait "$writer" || fail "writer exited with status $? after SIGTERM: $(cat "$VG_TMP/w2.log")"
n2=$(jq .acked "$VG_TMP/w2.json")
((n2 >= 50)) || fail "only $n2 writes over HTTPS: $(cat "$VG_TMP/w2.log")"
$ACKED check --url "$URL2" --ca "$CA" --run-id "t$RID" --acked "$A2" >/dev/null 2>&1 || fail "check over HTTPS"
pass "writer and check over HTTPS with --ca; a live check under writes; SIGTERM stops the writer cleanly ($n2 writes)"

curl -fsS -o /dev/null -X PUT --cacert "$CA" -H "Authorization: Bearer $VG_TOKEN" \
    --data-binary '{"spec":{"location":"only on the second"}}' "$URL2/api/v1/objects/Site/$RID-extra"
rc=0
out=$($ACKED check --url "$URL1" --also "$URL2" --ca "$CA" --run-id "$RID" --acked "$A" 2>&1) || rc=$?
assert_eq 1 "$rc" "check --also with an object on one member only: exit status"
assert_contains "$out" "ONLY ON $URL2: $RID-extra" "check --also names the difference"
pass "check --also: two members with the same objects agree; one extra object is reported"

# --- a member that is not the primary, and one that never answers -----------
cat >"$VG_TMP/fake.py" <<'PY'
import http.server, json, sys, time
mode = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "hang":
            time.sleep(3)
        body = json.dumps({"error": "not the primary: this member is the mirror; the primary is dc1",
                           "primary": "dc1"}).encode()
        self.send_response(503)
        self.send_header("Vigil-Primary", "dc1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
for mode in mirror hang; do
    port=$(vg_free_port)
    python3 "$VG_TMP/fake.py" "$port" "$mode" 2>>"$VG_TMP/fake.log" &
    VG_PIDS+=($!)
    for _ in $(seq 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.05; done
    A3=$VG_TMP/acked-$mode
    $ACKED writer --url "http://127.0.0.1:$port,$URL1" --run-id "f$mode$RID" --out "$A3" --count 5 \
        --timeout 0.3 >"$VG_TMP/w3.json" 2>"$VG_TMP/w3.log" || fail "writer with a $mode member: $(cat "$VG_TMP/w3.log")"
    assert_eq 5 "$(jq .acked "$VG_TMP/w3.json")" "writer with a $mode member: acknowledged"
    [[ $(jq -r 'select(.name) | .server' "$A3" | sort -u) == "$URL1" ]] || fail "acknowledged by the $mode member"
    if [[ $mode == mirror ]]; then
        (($(jq .refused "$VG_TMP/w3.json") >= 1)) || fail "no refusal counted: $(cat "$VG_TMP/w3.json")"
        assert_eq 0 "$(records "$A3.unknown")" "a 503 naming the primary taken as unknown: $(cat "$A3.unknown")"
    else
        (($(records "$A3.unknown") > 0)) || fail "a timed-out write was not recorded as unknown"
        jq -s -e 'any(.[]; .name and (.error | test("timed out")))' "$A3.unknown" >/dev/null ||
            fail "unknown: $(cat "$A3.unknown")"
    fi
    $ACKED check --url "$URL1" --run-id "f$mode$RID" --acked "$A3" >/dev/null 2>&1 || fail "check after the $mode member"
done
pass "a 503 naming the primary goes to the next member at once; a timeout is recorded as unknown, then retried"

# --- lost updates and resurrected deletes on the member -----------------------
# (last: they change what $A describes on $URL1)
v=$(jq -r --arg n "$upd" 'map(select(.name == $n)) | .[0].v' "$VG_TMP/last.json")
old=$(jq -c --arg n "$upd" --argjson v "$((v - 1))" 'select(.name == $n and .v == $v) | {spec}' "$A")
[[ -n $old ]] || fail "no record of write $((v - 1)) of $upd"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $VG_TOKEN" \
    --data-binary "$old" "$URL1/api/v1/objects/Site/$upd")
assert_eq 200 "$code" "PUT of $upd's older content"
check_fails "a lost update" "WRONG CONTENT (1): $upd(last acknowledged write $v; holds write $((v - 1))'s content)" \
    --url "$URL1" --run-id "$RID" --acked "$A" --ignore-revisions
v=$(jq -r --arg n "$gone" 'map(select(.name == $n)) | .[0].v' "$VG_TMP/last.json")
old=$(jq -c --arg n "$gone" --argjson v "$((v - 1))" 'select(.name == $n and .v == $v) | {spec}' "$A")
[[ -n $old ]] || fail "no record of write $((v - 1)) of $gone"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $VG_TOKEN" \
    --data-binary "$old" "$URL1/api/v1/objects/Site/$gone")
assert_eq 201 "$code" "PUT of $gone, deleted by an acknowledged write"
check_fails "a resurrected delete" "RESURRECTED (1): $gone(write $v deleted it" \
    --url "$URL1" --run-id "$RID" --acked "$A" --ignore-revisions
assert_contains "$out" "WRONG CONTENT (1): $upd" "the lost update, still"
pass "check fails on a lost update (older content back, revisions ignored) and on a resurrected delete"

#!/usr/bin/env bash
# The acknowledged-write checker (tests/fault/acked.py) against real
# standalone vigild processes on loopback: writes under a kill -9 and restart
# are all found afterwards; the checker notices a missing write, a wrong
# revision, an object nobody acknowledged and two members that disagree; the
# writer moves on from a member that says "not the primary" and records a
# timed-out write as of unknown outcome; HTTPS with a CA; SIGTERM and the stop
# file end the writer cleanly. Needs no network namespaces.
source "$(dirname "$0")/../blackbox/lib.sh"
ACKED="python3 $(cd "$(dirname "$0")" && pwd)/acked.py"

RID=ak$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')
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
[[ $(wc -l <"$A") == "$n" ]] || fail "summary says $n acknowledged, the file has $(wc -l <"$A")"
gap=$(jq .max_gap_s <<<"$summary")
[[ $(jq .resumed <<<"$summary") == true ]] || fail "the writer did not resume: $summary"
awk -v g="$gap" 'BEGIN { exit !(g >= 0.4 && g < 10) }' || fail "longest gap $gap s, not the ~0.5 s outage"
pass "writer: $n acknowledged ($n_at_kill before kill -9), $(jq .unknown <<<"$summary") unknown, longest gap ${gap} s"

out=$($ACKED check --url "$URL1" --run-id "$RID" --acked "$A" 2>&1) || fail "check after restart: $out"
assert_contains "$out" "$n acknowledged, $n present, 0 missing" "check after restart"
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
cp "$A" "$VG_TMP/a-missing"
echo "{\"name\":\"$RID-9999999\",\"revision\":99999,\"t\":1,\"server\":\"x\"}" >>"$VG_TMP/a-missing"
rc=0
out=$($ACKED check --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-missing" 2>&1) || rc=$?
assert_eq 1 "$rc" "check with a missing write: exit status"
assert_contains "$out" "MISSING (1): $RID-9999999" "check names the missing write"

jq -c 'if .name == "'"$RID"'-0000001" then .revision += 100000 else . end' "$A" >"$VG_TMP/a-rev"
rc=0
out=$($ACKED check --url "$URL1" --run-id "$RID" --acked "$VG_TMP/a-rev" 2>&1) || rc=$?
assert_eq 1 "$rc" "check with a wrong revision: exit status"
assert_contains "$out" "WRONG REVISION (1): $RID-0000001" "check names the wrong revision"

code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $VG_TOKEN" \
    --data-binary '{"spec":{"location":"nobody acknowledged this"}}' "$URL1/api/v1/objects/Site/$RID-ghost")
assert_eq 201 "$code" "PUT of an object nobody records"
rc=0
out=$($ACKED check --url "$URL1" --run-id "$RID" --acked "$A" 2>&1) || rc=$?
assert_eq 1 "$rc" "check with an unexplained object: exit status"
assert_contains "$out" "UNEXPLAINED (1, present but neither acknowledged nor of unknown outcome): $RID-ghost" \
    "check names the unexplained object"
curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer $VG_TOKEN" "$URL1/api/v1/objects/Site/$RID-ghost"
pass "check fails on a missing write, a wrong revision and an object nobody acknowledged"

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
assert_contains "$out" "0 only on $URL1, 0 only on $URL2, 0 at different revisions" "check --also"

# writes over HTTPS, stopped by SIGTERM
A2=$VG_TMP/acked-tls
$ACKED writer --url "$URL2" --ca "$CA" --run-id "t$RID" --out "$A2" >"$VG_TMP/w2.json" 2>"$VG_TMP/w2.log" &
writer=$!
for _ in $(seq 100); do (($(cat "$A2" 2>/dev/null | wc -l) >= 50)) && break; sleep 0.05; done
kill -TERM "$writer"
wait "$writer" || fail "writer exited with status $? after SIGTERM: $(cat "$VG_TMP/w2.log")"
n2=$(jq .acked "$VG_TMP/w2.json")
((n2 >= 50)) || fail "only $n2 writes over HTTPS: $(cat "$VG_TMP/w2.log")"
$ACKED check --url "$URL2" --ca "$CA" --run-id "t$RID" --acked "$A2" >/dev/null 2>&1 || fail "check over HTTPS"
pass "writer and check over HTTPS with --ca; SIGTERM stops the writer cleanly ($n2 writes)"

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
    [[ $(jq -r .server "$A3" | sort -u) == "$URL1" ]] || fail "acknowledged by the $mode member"
    if [[ $mode == mirror ]]; then
        (($(jq .refused "$VG_TMP/w3.json") >= 1)) || fail "no refusal counted: $(cat "$VG_TMP/w3.json")"
        [[ ! -s $A3.unknown ]] || fail "a 503 naming the primary was taken as unknown: $(cat "$A3.unknown")"
    else
        [[ -s $A3.unknown ]] || fail "a timed-out write was not recorded as unknown"
        jq -e 'select(.error | test("timed out"))' "$A3.unknown" >/dev/null || fail "unknown: $(cat "$A3.unknown")"
    fi
    $ACKED check --url "$URL1" --run-id "f$mode$RID" --acked "$A3" >/dev/null 2>&1 || fail "check after the $mode member"
done
pass "a 503 naming the primary goes to the next member at once; a timeout is recorded as unknown, then retried"

# The mqtt driver against Debian's mosquitto: a private broker on a free
# loopback port, values published with mosquitto_pub (plain, JSON with a
# path and a time field, a mapped word, retained, through a + wildcard),
# malformed payloads (not a number, missing path, invalid JSON, over 64
# KiB) each rejected with the topic named, a broker with a password file
# (right and wrong credentials), no broker at all, and a broker that dies
# under a running probe. Skipped (77) when mosquitto is not installed.
source "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }
MOSQUITTO=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null) ||
    { echo "skip: mosquitto not installed"; exit 77; }
command -v mosquitto_pub >/dev/null || { echo "skip: mosquitto-clients not installed"; exit 77; }

# broker NAME [EXTRA_CONF_LINES]: starts a broker, sets PORT and BROKER_PID.
broker() {
    local name=$1
    PORT=$(vg_free_port)
    {
        printf 'listener %s 127.0.0.1\npersistence false\n' "$PORT"
        printf 'log_dest stderr\nlog_type all\n'
        # as root, mosquitto would drop to user mosquitto, who cannot read $VG_TMP
        [[ $(id -u) == 0 ]] && printf 'user root\n'
        printf '%s\n' "${2:-allow_anonymous true}"
    } >"$VG_TMP/$name.conf"
    "$MOSQUITTO" -c "$VG_TMP/$name.conf" >"$VG_TMP/$name.out" 2>&1 &
    BROKER_PID=$!
    VG_PIDS+=("$BROKER_PID")
    for ((i = 0; i < 100; i++)); do
        ss -Htln "sport = :$PORT" | grep -q . && return 0
        sleep 0.05
    done
    fail "mosquitto $name did not listen on $PORT"
}

# manifest FILE PORT OPTIONS SENSOR_LINES...: one mqtt device and its sensors
# ("name type {source...}").
manifest() {
    local file=$1 port=$2 options=$3
    shift 3
    {
        printf 'kind: Device\nname: mq1\nspec:\n  site: dc1\n  driver: mqtt\n'
        printf '  address: 127.0.0.1:%s\n  interval_ms: 300\n  timeout_ms: 1000\n' "$port"
        printf '  retries: 0\n  options: %s\n' "$options"
        local s
        for s in "$@"; do
            read -r name type source <<<"$s"
            printf -- '---\nkind: Sensor\nname: %s\nspec: {zone: z1, device: mq1, type: %s, source: %s}\n' \
                "$name" "$type" "$source"
        done
    } >"$file"
}

pub() { mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 "$@"; }

# ---- values and rejections on an anonymous broker ----
broker main
pub -r -t site/dc1/t1 -m "23.5" # retained: there before vigil subscribes
manifest "$VG_TMP/main.yaml" "$PORT" '{qos: 1, client_id: vigil-test}' \
    't1 temperature {topic: site/dc1/t1}' \
    'hum humidity {topic: site/+/hum, path: sensors.hum}' \
    'door door-contact {topic: site/dc1/door, map: {OPEN: 1, CLOSED: 0}}' \
    'cool cooling-supply-temp {topic: site/dc1/crac/#, path: "readings[0].value", field: ts}' \
    'leak water-leak {topic: site/dc1/leak}'
"$VIGILD" probe -f "$VG_TMP/main.yaml" --polls 3 --listen-ms 3500 >"$VG_TMP/main.jsonl" \
    2>"$VG_TMP/probe-main.log" &
PROBE=$!
# the retained value comes right after the SUBACK: vigil is subscribed
vg_wait_for_line "$VG_TMP/main.jsonl" '"sensor":"t1"' || fail "no retained value"
pub -t site/dc1/hum -m '{"sensors": {"hum": 41.5, "temp": 20}}'
pub -t site/dc2/hum -m '{"sensors": {"hum": 55}}'
pub -t site/dc1/door -m 'OPEN'
pub -t site/dc1/leak -m 'ON'
pub -t site/dc1/crac/3/supply -m '{"readings": [{"value": 14.25}], "ts": 1764770000123}'
pub -t site/dc1/t1 -m 'abc'
pub -t site/dc1/hum -m '{"sensors": {"temp": 20}}'
pub -t site/dc1/hum -m '{"sensors": '
pub -t site/dc1/door -m 'AJAR'
head -c 70000 /dev/zero | tr '\0' '7' >"$VG_TMP/big"
pub -t site/dc1/t1 -f "$VG_TMP/big"
pub -t site/dc1/t1 -m '24.0'
wait "$PROBE" || fail "probe exited with $?"
OUT=$VG_TMP/main.jsonl

value() { jq -r --arg s "$1" 'select(.sensor == $s and has("value")) | .value' "$OUT" | paste -sd' '; }
rejects() { jq -r --arg s "$1" 'select(.sensor == $s and has("reject")) | .reject' "$OUT"; }
assert_eq "23.5 24.0" "$(value t1 | sed 's/24$/24.0/')" "retained then live values of t1"
assert_eq "41.5 55.0" "$(value hum | sed 's/55$/55.0/')" "hum through site/+/hum from two sites"
assert_eq "1" "$(value door)" "door OPEN through the map"
assert_eq "1" "$(value leak)" "leak ON as a built-in word"
assert_eq "14.25" "$(value cool)" "JSON path readings[0].value"
assert_eq "1764770000123" "$(jq -r 'select(.sensor == "cool") | .time' "$OUT")" "time from ts"
R=$(rejects t1)
assert_contains "$R" "topic site/dc1/t1: payload is not a number: 'abc'" "not a number"
assert_contains "$R" "topic site/dc1/t1: payload of 70000 bytes is larger than 64 KiB" "oversized"
R=$(rejects hum)
assert_contains "$R" "topic site/dc1/hum: path 'sensors.hum' is not in the payload" "missing path"
assert_contains "$R" "topic site/dc1/hum: payload is not valid JSON" "invalid JSON"
assert_contains "$(rejects door)" "topic site/dc1/door: payload is not a number: 'AJAR'" "unmapped"
assert_eq "0" "$(jq -r 'select(has("error"))' "$OUT" | wc -l)" "polls succeed while connected"
grep -q "Received SUBSCRIBE from vigil-test" "$VG_TMP/main.out" || fail "client_id not used"
pass "plain, JSON path, map, retained, wildcard and time field; malformed payloads rejected"

# ---- the broker dies under a running probe: the device becomes unreachable ----
"$VIGILD" probe -f "$VG_TMP/main.yaml" --polls 12 >"$VG_TMP/dies.jsonl" 2>"$VG_TMP/probe-dies.log" &
PROBE=$!
vg_wait_for_line "$VG_TMP/dies.jsonl" '"sensor":"t1"' || fail "no retained value before the kill"
kill "$BROKER_PID"
rc=0
wait "$PROBE" || rc=$?
assert_eq 1 "$rc" "probe exit status when polls failed"
E=$(jq -r 'select(has("error")) | .error' "$VG_TMP/dies.jsonl" | head -1)
assert_contains "$E" "broker 127.0.0.1:$PORT: disconnected for" "error after the broker died"
pass "a dead broker makes poll fail: $E"

# ---- no broker at all ----
manifest "$VG_TMP/none.yaml" "$(vg_free_port)" '{}' 't1 temperature {topic: a/b}'
"$VIGILD" probe -f "$VG_TMP/none.yaml" >"$VG_TMP/none.jsonl" 2>"$VG_TMP/probe-none.log" ||
    true
E=$(jq -r 'select(has("error")) | .error' "$VG_TMP/none.jsonl" | head -1)
assert_contains "$E" "broker 127.0.0.1:" "error without a broker"
pass "no broker: $E"

# ---- a broker with a password file ----
touch "$VG_TMP/passwd"
chmod 600 "$VG_TMP/passwd"
mosquitto_passwd -b "$VG_TMP/passwd" vigil 's3cret pass' || fail "mosquitto_passwd"
broker auth "$(printf 'allow_anonymous false\npassword_file %s/passwd' "$VG_TMP")"
mosquitto_pub -h 127.0.0.1 -p "$PORT" -u vigil -P 's3cret pass' -r -t dc1/t9 -m 19.5 ||
    fail "authenticated publish"
manifest "$VG_TMP/auth.yaml" "$PORT" '{username: vigil, password: "s3cret pass"}' \
    't9 temperature {topic: dc1/t9}'
"$VIGILD" probe -f "$VG_TMP/auth.yaml" --listen-ms 500 >"$VG_TMP/auth.jsonl" \
    2>"$VG_TMP/probe-auth.log" || fail "probe with credentials"
assert_eq "19.5" "$(jq -r 'select(has("value")) | .value' "$VG_TMP/auth.jsonl")" "value with credentials"
manifest "$VG_TMP/wrong.yaml" "$PORT" '{username: vigil, password: wrong}' \
    't9 temperature {topic: dc1/t9}'
"$VIGILD" probe -f "$VG_TMP/wrong.yaml" >"$VG_TMP/wrong.jsonl" 2>"$VG_TMP/probe-wrong.log" || true
E=$(jq -r 'select(has("error")) | .error' "$VG_TMP/wrong.jsonl" | head -1)
assert_contains "$E" "not authorised" "wrong password refused"
if grep -rq "s3cret\|wrong" "$VG_TMP"/probe-*.log "$VG_TMP"/*.jsonl; then
    fail "a password appears in vigil's output"
fi
pass "password file: right credentials read, wrong ones refused ($E), passwords never printed"

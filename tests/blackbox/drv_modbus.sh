# The modbus driver against a real Modbus TCP peer (peer_modbus_server,
# libmodbus), read through `vigild probe`: every format and table, word
# orders, scale, grouping into few requests, a device that refuses or
# shortens some replies (only those sensors are rejected), NaN floats, unit
# ids, a dead, a stopped, a restarted and a misbehaving server.
source "$(dirname "$0")/lib.sh"

: "${VG_BUILD:?VG_BUILD must point to the build dir}"
PEER=$VG_BUILD/peer_modbus_server
[[ -x $PEER ]] || { echo "skip: $PEER not built"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }

# start_peer NAME ARGS...: a server on a free port; sets PORT and PEER_PID.
start_peer() {
    local name=$1 i
    shift
    PORT=$(vg_free_port)
    "$PEER" "$PORT" "$@" >"$VG_TMP/$name.log" 2>&1 &
    PEER_PID=$!
    VG_PIDS+=("$PEER_PID")
    for ((i = 0; i < 100; i++)); do
        grep -q listening "$VG_TMP/$name.log" 2>/dev/null && return 0
        kill -0 "$PEER_PID" 2>/dev/null || fail "peer $name exited: $(cat "$VG_TMP/$name.log")"
        sleep 0.05
    done
    fail "peer $name did not start"
}

# device NAME PORT [OPTIONS_JSON] [interval_ms]: a Device manifest.
device() {
    cat <<EOF
kind: Device
name: $1
spec:
  site: dc1
  driver: modbus
  address: 127.0.0.1:$2
  interval_ms: ${4:-200}
  timeout_ms: 500
  retries: 0
  options: ${3:-{\}}
EOF
}

# sensor NAME DEVICE TYPE SOURCE_JSON [extra spec]: a Sensor manifest.
sensor() {
    printf -- '---\nkind: Sensor\nname: %s\nspec: {zone: z1, device: %s, type: %s, source: %s%s}\n' \
        "$1" "$2" "$3" "$4" "${5:+, $5}"
}

# value OUT SENSOR: the value of the sensor's first reading ("" if none).
value() { jq -r --arg s "$2" 'select(.sensor == $s and has("value")) | .value' "$1" | head -1; }
reject() { jq -r --arg s "$2" 'select(.sensor == $s and has("reject")) | .reject' "$1" | head -1; }
errors() { jq -r 'select(has("error")) | .error' "$1"; }

# ---- every format and table, word orders, scale, rejections ----
start_peer main \
    --set holding:100=235 --set holding:101=-12 \
    --u32 holding:102=3000000000 --s32 holding:104=-70000 --f32 holding:106=21.5 \
    --set holding:108=5 --u64 holding:109=5000000000 \
    --word-order little --u32 holding:200=123456 --f32 holding:202=-3.25 --f32 holding:204=nan \
    --word-order big \
    --set input:10=2301 --set coil:5=1 --set coil:6=0 --set discrete:7=1 \
    --set holding:300=1 --set holding:301=2 --short holding:300
{
    device plc1 "$PORT"
    sensor u16-scaled plc1 temperature '{register: 100}' 'scale: 0.1'
    sensor s16-negative plc1 temperature '{register: 101, format: s16}'
    sensor u32-big plc1 power-kw '{register: 102, format: u32}'
    sensor s32-big plc1 power-kw '{register: 104, format: s32, word_order: big}'
    sensor f32-big plc1 temperature '{register: 106, format: f32}'
    sensor bit-2 plc1 smoke '{register: 108, bit: 2}'
    sensor bit-1 plc1 smoke '{register: 108, bit: 1}'
    sensor u64 plc1 power-kw '{register: 109, format: u64}'
    sensor u32-little plc1 power-kw '{register: 200, format: u32, word_order: little}'
    sensor f32-little plc1 temperature '{register: 202, format: f32, word_order: little}'
    sensor f32-nan plc1 temperature '{register: 204, format: f32, word_order: little}'
    sensor input plc1 mains-voltage '{register: 10, table: input}' 'scale: 0.1'
    sensor coil-on plc1 smoke '{register: 5, table: coil}'
    sensor coil-off plc1 smoke '{register: 6, table: coil}'
    sensor discrete plc1 water-leak '{register: 7, table: discrete}'
    sensor unmapped plc1 temperature '{register: 40}'
    sensor short plc1 power-kw '{register: 300, format: u32}'
} >"$VG_TMP/main.yaml"
rc=0
"$VIGILD" probe -f "$VG_TMP/main.yaml" --polls 2 >"$VG_TMP/main.out" 2>"$VG_TMP/probe.log" || rc=$?
OUT=$VG_TMP/main.out
assert_eq 0 "$rc" "probe exit status with some sensors rejected (the device answered)"
assert_eq 2 "$(jq -r 'select(.poll == "ok") | .device' "$OUT" | wc -l)" "answered polls"
assert_eq 23.5 "$(value "$OUT" u16-scaled)" "u16 with scale 0.1"
assert_eq -12 "$(value "$OUT" s16-negative)" "s16 negative"
assert_eq 3000000000 "$(value "$OUT" u32-big)" "u32, big word order"
assert_eq -70000 "$(value "$OUT" s32-big)" "s32, big word order"
assert_eq 21.5 "$(value "$OUT" f32-big)" "f32, big word order"
assert_eq 1 "$(value "$OUT" bit-2)" "bit 2 of 5"
assert_eq 0 "$(value "$OUT" bit-1)" "bit 1 of 5"
assert_eq 5000000000 "$(value "$OUT" u64)" "u64"
assert_eq 123456 "$(value "$OUT" u32-little)" "u32, little word order"
assert_eq -3.25 "$(value "$OUT" f32-little)" "f32, little word order"
assert_eq 230.1 "$(value "$OUT" input)" "input register with scale"
assert_eq 1 "$(value "$OUT" coil-on)" "coil on"
assert_eq 0 "$(value "$OUT" coil-off)" "coil off"
assert_eq 1 "$(value "$OUT" discrete)" "discrete input"
pass "formats, word orders, tables, bits and scale"

assert_eq "register 40 (holding): illegal data address" "$(reject "$OUT" unmapped)" \
    "an unmapped register"
assert_eq "register 300 (holding): short reply, 1 of 2 registers" "$(reject "$OUT" short)" \
    "a short reply"
assert_contains "$(reject "$OUT" f32-nan)" "register 204 (holding): f32 value is not a number" \
    "a NaN float"
assert_eq "" "$(value "$OUT" unmapped)$(value "$OUT" short)$(value "$OUT" f32-nan)" \
    "rejected sensors have no value"
pass "exception, short reply and NaN rejected by name, the other sensors still read"

# holding 100..111 are 12 adjacent registers: one request per poll
grep -q "unit 1 fc 3 start 100 count 13" "$VG_TMP/main.log" ||
    fail "adjacent registers 100-112 not read in one request: $(cat "$VG_TMP/main.log")"
n_requests=$(grep -c '^unit' "$VG_TMP/main.log")
# per poll: 100-112, 200-205, 40, 300, input 10, coils 5-6, discrete 7
assert_eq 14 "$n_requests" "requests for 2 polls of 17 sensors"
pass "adjacent registers grouped: 7 requests per poll for 17 sensors"

# ---- max_gap: a gap with an unmapped register falls back to one read each ----
start_peer gap --set holding:100=1 --set holding:105=2
{
    device gapped "$PORT" '{max_gap: 10}'
    sensor a gapped temperature '{register: 100}'
    sensor b gapped temperature '{register: 105}'
} >"$VG_TMP/gap.yaml"
"$VIGILD" probe -f "$VG_TMP/gap.yaml" >"$VG_TMP/gap.out" 2>>"$VG_TMP/probe.log" ||
    fail "probe of gapped device: $(cat "$VG_TMP/gap.out")"
assert_eq "1 2" "$(value "$VG_TMP/gap.out" a) $(value "$VG_TMP/gap.out" b)" \
    "values across an unmapped gap"
assert_eq "unit 1 fc 3 start 100 count 6" "$(grep '^unit' "$VG_TMP/gap.log" | head -1)" \
    "one request spanning the gap first"
assert_eq 3 "$(grep -c '^unit' "$VG_TMP/gap.log")" "the refused span then read point by point"
pass "max_gap spans a gap; a refused span is retried point by point"

# ---- unit ids: the device's, and a sensor's override ----
start_peer unit --unit 7 --set holding:1=42
{
    device gateway "$PORT" '{unit_id: 7}'
    sensor on-7 gateway temperature '{register: 1}'
    sensor on-3 gateway temperature '{register: 1, unit_id: 3}'
} >"$VG_TMP/unit.yaml"
"$VIGILD" probe -f "$VG_TMP/unit.yaml" >"$VG_TMP/unit.out" 2>>"$VG_TMP/probe.log" ||
    fail "probe of unit 7: $(cat "$VG_TMP/unit.out")"
assert_eq 42 "$(value "$VG_TMP/unit.out" on-7)" "options.unit_id"
assert_eq "register 1 (holding): gateway target device failed to respond" \
    "$(reject "$VG_TMP/unit.out" on-3)" "source.unit_id override reaches another unit"
pass "unit ids"

# ---- a reply cut off mid-frame fails the poll as a whole ----
start_peer trunc --set holding:1=1 --set holding:2=2 --truncate holding:2
{
    device cut "$PORT"
    sensor r1 cut temperature '{register: 1}'
    sensor r2 cut temperature '{register: 2}'
} >"$VG_TMP/trunc.yaml"
rc=0
"$VIGILD" probe -f "$VG_TMP/trunc.yaml" >"$VG_TMP/trunc.out" 2>>"$VG_TMP/probe.log" || rc=$?
assert_eq 1 "$rc" "probe exit status for a truncated reply"
assert_contains "$(errors "$VG_TMP/trunc.out")" "modbus 127.0.0.1:$PORT: read of 2 registers from 1 (holding) failed" \
    "error of a truncated reply"
pass "a truncated reply is a failed poll"

# ---- dead, stopped and restarted servers ----
start_peer dead --set holding:1=1
kill "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true
{
    device gone "$PORT"
    sensor r gone temperature '{register: 1}'
} >"$VG_TMP/dead.yaml"
rc=0
"$VIGILD" probe -f "$VG_TMP/dead.yaml" >"$VG_TMP/dead.out" 2>>"$VG_TMP/probe.log" || rc=$?
assert_eq 1 "$rc" "probe exit status with the server killed"
assert_eq "cannot connect to modbus 127.0.0.1:$PORT: Connection refused" \
    "$(errors "$VG_TMP/dead.out")" "error with the server killed"
pass "a killed server: connection refused"

start_peer stopped --set holding:1=1
kill -STOP "$PEER_PID"
{
    device asleep "$PORT"
    sensor r asleep temperature '{register: 1}'
} >"$VG_TMP/stopped.yaml"
rc=0
start_ms=$(date +%s%3N)
"$VIGILD" probe -f "$VG_TMP/stopped.yaml" >"$VG_TMP/stopped.out" 2>>"$VG_TMP/probe.log" || rc=$?
took=$(($(date +%s%3N) - start_ms))
kill -CONT "$PEER_PID"
assert_eq 1 "$rc" "probe exit status with the server stopped"
assert_contains "$(errors "$VG_TMP/stopped.out")" "timed out" "error with the server stopped"
((took < 3000)) || fail "a stopped server took $took ms to time out (timeout_ms 500)"
pass "a stopped server: timed out after timeout_ms"

start_peer restart --set holding:1=7
{
    device flaky "$PORT" '{}' 400
    sensor r flaky temperature '{register: 1}'
} >"$VG_TMP/restart.yaml"
"$VIGILD" probe -f "$VG_TMP/restart.yaml" --polls 6 >"$VG_TMP/restart.out" \
    2>>"$VG_TMP/probe.log" &
probe_pid=$!
vg_wait_for_line "$VG_TMP/restart.out" '"poll":"ok"' || fail "no first poll"
kill "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true
vg_wait_for_line "$VG_TMP/restart.out" '"error"' || fail "no failed poll with the server down"
"$PEER" "$PORT" --set holding:1=8 >"$VG_TMP/restart2.log" 2>&1 &
VG_PIDS+=($!)
wait "$probe_pid" || true
[[ -n "$(jq -r 'select(.value == 8) | .sensor' "$VG_TMP/restart.out")" ]] ||
    fail "no value from the restarted server: $(cat "$VG_TMP/restart.out")"
last=$(jq -r 'select(has("poll") or has("error")) | if has("poll") then "ok" else "error" end' \
    "$VG_TMP/restart.out" | tail -1)
assert_eq ok "$last" "last poll after the restart"
pass "reconnects to a restarted server"

# ---- check(): bad options and sources are refused with the field ----
{
    device badopt 1 '{word_order: middle}'
} >"$VG_TMP/badopt.yaml"
rc=0
"$VIGILD" probe -f "$VG_TMP/badopt.yaml" >/dev/null 2>"$VG_TMP/badopt.err" || rc=$?
assert_eq 2 "$rc" "probe exit status for a bad option"
assert_contains "$(cat "$VG_TMP/badopt.err")" \
    "spec.options.word_order: 'middle' is not one of big, little" "bad word_order"
{
    device checked 1
    sensor f64 checked temperature '{register: 1, format: f64}'
    sensor high checked temperature '{register: 65535, format: u32}'
    sensor coil-fmt checked smoke '{register: 1, table: coil, format: u16}'
    sensor typo checked smoke '{register: 1, oid: "1.3.6"}'
} >"$VG_TMP/badsrc.yaml"
"$VIGILD" probe -f "$VG_TMP/badsrc.yaml" >"$VG_TMP/badsrc.out" 2>/dev/null || true
problems=$(jq -r 'select(has("problem")) | .problem' "$VG_TMP/badsrc.out")
assert_contains "$problems" \
    "sensor 'f64': source.format: 'f64' is not one of u16, s16, u32, s32, f32" "format f64"
assert_contains "$problems" "sensor 'high': source.register: 2 registers from 65535" \
    "u32 past the last register"
assert_contains "$problems" "sensor 'coil-fmt': source.format: not used with table coil" \
    "format on a coil"
assert_contains "$problems" "sensor 'typo': source.oid: not used by the modbus driver" \
    "an snmp key on a modbus sensor"
pass "check() refuses bad options and sources naming the field"

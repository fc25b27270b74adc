# The nut driver against Debian's NUT: dummy-ups plays tests/fixtures/nut/
# seq.seq (mains fails, the battery runs down to low battery, mains comes
# back) to a real upsd, and `vigild probe` must see ups.status go OL -> OB ->
# OB LB while battery.charge and battery.runtime fall; then an unknown
# variable and UPS, stale data (the driver stopped), a driver gone and upsd
# gone. Private config and state dirs in the test's temp dir; skipped (77)
# when NUT's binaries are not installed.
source "$(dirname "$0")/lib.sh"

: "${VG_SOURCE:?VG_SOURCE must point to the source tree}"
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }

# The real binaries: Debian's /sbin/upsd is a wrapper that reads /etc/nut/nut.conf.
find_bin() {
    local d
    for d in /lib/nut /usr/lib/nut /usr/libexec/nut /usr/lib/x86_64-linux-gnu/nut /usr/sbin /sbin; do
        if [[ -x $d/$1 ]] && head -c 4 "$d/$1" | grep -q ELF; then
            echo "$d/$1"
            return 0
        fi
    done
    return 1
}
DUMMY=$(find_bin dummy-ups) || { echo "skip: NUT's dummy-ups driver not installed"; exit 77; }
UPSD=$(find_bin upsd) || { echo "skip: NUT's upsd not installed"; exit 77; }
AS_ROOT=()
[[ $(id -u) == 0 ]] && AS_ROOT=(-u root)

export NUT_CONFPATH=$VG_TMP/nut NUT_STATEPATH=$VG_TMP/nut/state
mkdir -p "$NUT_STATEPATH"
chmod 700 "$NUT_CONFPATH" "$NUT_STATEPATH"
cp "$VG_SOURCE/tests/fixtures/nut/seq.seq" "$NUT_CONFPATH/"
PORT=$(vg_free_port)
echo "MODE=standalone" >"$NUT_CONFPATH/nut.conf"
printf '[seq]\n  driver = dummy-ups\n  port = seq.seq\n  desc = "vigil test"\n' \
    >"$NUT_CONFPATH/ups.conf"
printf 'LISTEN 127.0.0.1 %s\nMAXAGE 4\n' "$PORT" >"$NUT_CONFPATH/upsd.conf"
printf '[monitor]\n  password = s3cret\n  upsmon secondary\n' >"$NUT_CONFPATH/upsd.users"
chmod 600 "$NUT_CONFPATH"/*

"$DUMMY" -a seq "${AS_ROOT[@]}" -F >"$VG_TMP/dummy-ups.log" 2>&1 &
DUMMY_PID=$!
VG_PIDS+=("$DUMMY_PID")
for ((i = 0; i < 100; i++)); do
    [[ -S $NUT_STATEPATH/dummy-ups-seq ]] && break
    kill -0 "$DUMMY_PID" 2>/dev/null || fail "dummy-ups exited"
    sleep 0.05
done
[[ -S $NUT_STATEPATH/dummy-ups-seq ]] || fail "dummy-ups made no socket"
"$UPSD" "${AS_ROOT[@]}" -F >"$VG_TMP/upsd.log" 2>&1 &
UPSD_PID=$!
VG_PIDS+=("$UPSD_PID")
vg_wait_for_line "$VG_TMP/upsd.log" "Connected to UPS \[seq\]" || fail "upsd did not start"

# manifest FILE UPS [interval_ms] SENSOR_LINES...: a device and its sensors.
manifest() {
    local file=$1 ups=$2 interval=$3
    shift 3
    {
        printf 'kind: Device\nname: ups1\nspec:\n  site: dc1\n  driver: nut\n'
        printf '  address: 127.0.0.1:%s\n  interval_ms: %s\n  timeout_ms: 1000\n' "$PORT" "$interval"
        printf '  retries: 0\n  options: {ups: %s, username: monitor, password: s3cret}\n' "$ups"
        local s
        for s in "$@"; do
            printf -- '---\nkind: Sensor\nname: %s\nspec: {zone: z1, device: ups1, type: %s, source: {variable: %s}}\n' $s
        done
    } >"$file"
}
SENSORS=("status ups-status ups.status" "charge ups-charge battery.charge"
    "runtime ups-runtime battery.runtime" "load ups-load ups.load"
    "voltage mains-voltage input.voltage")

# ---- a power cut, as the sequence plays it (12 s a cycle) ----
manifest "$VG_TMP/seq.yaml" seq 400 "${SENSORS[@]}"
rc=0
"$VIGILD" probe -f "$VG_TMP/seq.yaml" --polls 38 >"$VG_TMP/seq.out" 2>"$VG_TMP/probe.log" || rc=$?
OUT=$VG_TMP/seq.out
assert_eq 0 "$rc" "probe exit status against upsd"
# one line per poll: status charge runtime, consecutive repeats folded
jq -r 'select(has("value")) | [.sensor, .value] | @tsv' "$OUT" | awk '
    $1 == "status" { s = $2 } $1 == "charge" { c = $2 } $1 == "runtime" { r = $2 }
    $1 == "voltage" { line = s " " c " " r; if (line != last) print line; last = line }' \
    >"$VG_TMP/steps"
# OL = 1, OB|DISCHRG = 2|64, OB|LB = 2|4
steps=$(tr '\n' ',' <"$VG_TMP/steps")
[[ $steps == *"1 100 1800,66 80 1200,6 20 240,"* ]] ||
    fail "expected OL (100 %, 1800 s) -> OB DISCHRG (80 %, 1200 s) -> OB LB (20 %, 240 s) in order: $steps"
pass "ups.status goes OL -> OB -> OB|LB while charge and runtime fall"
[[ -n "$(jq -r 'select(.sensor == "load" and .value == 35) | .sensor' "$OUT")" ]] ||
    fail "ups.load 35 not read"
[[ -n "$(jq -r 'select(.sensor == "voltage" and .value == 230.1) | .sensor' "$OUT")" ]] ||
    fail "input.voltage 230.1 not read"
pass "numeric variables"

# ---- a variable the UPS does not have; a UPS upsd does not have ----
manifest "$VG_TMP/unknown.yaml" seq 500 "status ups-status ups.status" \
    "bogus ups-charge battery.bogus"
"$VIGILD" probe -f "$VG_TMP/unknown.yaml" >"$VG_TMP/unknown.out" 2>>"$VG_TMP/probe.log" ||
    fail "probe with an unknown variable failed: $(cat "$VG_TMP/unknown.out")"
assert_eq "variable battery.bogus: not supported by ups 'seq'" \
    "$(jq -r 'select(.sensor == "bogus") | .reject' "$VG_TMP/unknown.out")" \
    "rejection of an unknown variable"
[[ -n "$(jq -r 'select(.sensor == "status" and has("value")) | .sensor' "$VG_TMP/unknown.out")" ]] ||
    fail "the known variable was not read next to the unknown one"
pass "an unknown variable is rejected by name, the others still read"

manifest "$VG_TMP/noups.yaml" nosuch 500 "status ups-status ups.status"
rc=0
"$VIGILD" probe -f "$VG_TMP/noups.yaml" >"$VG_TMP/noups.out" 2>>"$VG_TMP/probe.log" || rc=$?
assert_eq 1 "$rc" "probe exit status for an unknown ups"
assert_eq "upsd 127.0.0.1:$PORT: unknown ups 'nosuch'" \
    "$(jq -r 'select(has("error")) | .error' "$VG_TMP/noups.out")" "error for an unknown ups"
pass "an unknown ups fails the poll"

# ---- the driver stops answering: upsd calls the data stale (MAXAGE 4) ----
kill -STOP "$DUMMY_PID"
stale=""
for ((i = 0; i < 20; i++)); do
    [[ -n "$stale" ]] && break
    sleep 1
    "$VIGILD" probe -f "$VG_TMP/unknown.yaml" >"$VG_TMP/stale.out" 2>>"$VG_TMP/probe.log" || true
    stale=$(jq -r 'select(.sensor == "status") | .reject // empty' "$VG_TMP/stale.out")
done
kill -CONT "$DUMMY_PID"
assert_eq "variable ups.status: data stale (upsd has nothing fresh from the ups driver)" \
    "$stale" "rejection of stale data"
pass "stale data is rejected"

# ---- the driver gone, then upsd gone ----
kill "$DUMMY_PID"
wait "$DUMMY_PID" 2>/dev/null || true
err=""
for ((i = 0; i < 20; i++)); do
    [[ -n "$err" ]] && break
    "$VIGILD" probe -f "$VG_TMP/unknown.yaml" >"$VG_TMP/nodriver.out" 2>>"$VG_TMP/probe.log" || true
    err=$(jq -r '.error // empty' "$VG_TMP/nodriver.out")
    [[ -z "$err" ]] && sleep 0.5
done
assert_eq "upsd 127.0.0.1:$PORT: the driver of ups 'seq' is not running" "$err" \
    "error with the ups driver gone"
pass "a ups driver gone fails the poll"

kill "$UPSD_PID"
wait "$UPSD_PID" 2>/dev/null || true
rc=0
"$VIGILD" probe -f "$VG_TMP/unknown.yaml" >"$VG_TMP/noupsd.out" 2>>"$VG_TMP/probe.log" || rc=$?
assert_eq 1 "$rc" "probe exit status with upsd down"
assert_eq "cannot connect to upsd 127.0.0.1:$PORT: Connection refused" \
    "$(jq -r '.error // empty' "$VG_TMP/noupsd.out")" "error with upsd down"
pass "upsd down fails the poll"

# ---- check(): options and sources ----
printf 'kind: Device\nname: bad\nspec: {site: dc1, driver: nut, address: "127.0.0.1:1", options: {username: x}}\n' \
    >"$VG_TMP/bad.yaml"
rc=0
"$VIGILD" probe -f "$VG_TMP/bad.yaml" >/dev/null 2>"$VG_TMP/bad.err" || rc=$?
assert_eq 2 "$rc" "probe exit status for a device without options.ups"
assert_contains "$(cat "$VG_TMP/bad.err")" "spec.options.ups: required" "missing ups"
manifest "$VG_TMP/badvar.yaml" seq 500
printf -- '---\nkind: Sensor\nname: inject\nspec: {zone: z1, device: ups1, type: ups-status, source: {variable: "ups.status LOGOUT"}}\n' \
    >>"$VG_TMP/badvar.yaml"
"$VIGILD" probe -f "$VG_TMP/badvar.yaml" >"$VG_TMP/badvar.out" 2>/dev/null || true
assert_contains "$(jq -r '.problem // empty' "$VG_TMP/badvar.out")" \
    "sensor 'inject': source.variable: 'ups.status LOGOUT' has characters other than" \
    "a variable that would inject a protocol line"
pass "check() refuses a missing ups and a variable with spaces"

# The snmp and snmp-trap drivers against a real agent: Debian's snmpd,
# started here on a free loopback port with a config of its own (-C: no
# system config; persistent state in the test's temp dir), serving the
# enterprise subtree .1.3.6.1.4.1.99999 through tests/fixtures/snmp/pass.sh.
# Read through `vigild probe`: SNMPv2c values and scale, batches above 32
# varbinds, GETBULK table walks, garbage rejected while the rest is read,
# SNMPv3 at every security level and protocol, a wrong passphrase that is
# an authentication error and is never printed, manifest checks, a stopped
# agent, and traps (v2c, v1, map, wrong community, unknown OID, garbage).
source "$(dirname "$0")/lib.sh"

: "${VG_SOURCE:?VG_SOURCE must point to the source tree}"
[[ $(id -u) == 0 ]] || { echo "skip: snmpd is started as root" >&2; exit 77; }
for tool in snmpd snmpget snmptrap jq ss; do
    command -v "$tool" >/dev/null || { echo "skip: $tool missing" >&2; exit 77; }
done

SNMP=$VG_TMP/snmp
mkdir -p "$SNMP/persist"
# net-snmp's tools and snmpd keep state here, not in /var/lib/snmp; no MIBs
export SNMP_PERSISTENT_DIR=$SNMP/persist MIBS=
BASE=1.3.6.1.4.1.99999

# A UDP port on 127.0.0.1 that nothing is bound to right now.
free_udp_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 12000))
        ss -Huan "sport = :$port" | grep -q . || { echo "$port"; return; }
    done
}

start_agent() {
    AGENT_PORT=$(free_udp_port)
    cat >"$SNMP/snmpd.conf" <<EOF
rocommunity vigiltest 127.0.0.1
createUser vgpriv SHA "authpass-123" AES "privpass-456"
createUser vgauth SHA-256 "authpass-256"
createUser vgmd5 MD5 "md5pass-123" DES "despass-123"
createUser vgnone
rouser vgpriv priv
rouser vgauth auth
rouser vgmd5 priv
rouser vgnone noauth
pass .$BASE /bin/bash $VG_SOURCE/tests/fixtures/snmp/pass.sh
EOF
    snmpd -f -Lo -C -c "$SNMP/snmpd.conf" -p "$SNMP/snmpd.pid" "udp:127.0.0.1:$AGENT_PORT" \
        >"$VG_TMP/snmpd.log" 2>&1 &
    AGENT_PID=$!
    VG_PIDS+=("$AGENT_PID")
    local i
    for ((i = 0; i < 100; i++)); do
        snmpget -v2c -c vigiltest -t 0.2 -r 0 "127.0.0.1:$AGENT_PORT" ".$BASE.1.3.0" \
            >/dev/null 2>&1 && return 0
        kill -0 "$AGENT_PID" 2>/dev/null || fail "snmpd exited: $(cat "$VG_TMP/snmpd.log")"
    done
    fail "snmpd did not answer on udp:127.0.0.1:$AGENT_PORT"
}

# device NAME DRIVER PORT OPTIONS [timeout_ms] [retries]: a Device manifest.
device() {
    cat <<EOF
---
kind: Device
name: $1
spec:
  site: dc1
  driver: $2
  address: 127.0.0.1:$3
  interval_ms: 200
  timeout_ms: ${5:-1000}
  retries: ${6:-0}
  options: $4
EOF
}

# sensor NAME DEVICE TYPE SOURCE [extra spec]: a Sensor manifest.
sensor() {
    printf -- '---\nkind: Sensor\nname: %s\nspec: {zone: z1, device: %s, type: %s, source: %s%s}\n' \
        "$1" "$2" "$3" "$4" "${5:+, $5}"
}

value() { jq -r --arg s "$2" 'select(.sensor == $s and has("value")) | .value' "$1" | head -1; }
reject() { jq -r --arg s "$2" 'select(.sensor == $s and has("reject")) | .reject' "$1" | head -1; }
errors() { jq -r 'select(has("error")) | .error' "$1"; }
device_rejects() { jq -r 'select(.sensor == null and has("reject")) | .reject' "$1"; }

expect_value() { # OUT SENSOR EXPECTED
    local got
    got=$(value "$1" "$2")
    [[ -n $got ]] || fail "$2: no value; output: $(cat "$1")"
    jq -en --argjson a "$got" --argjson b "$3" '($a - $b) | fabs < 1e-9' >/dev/null ||
        fail "$2: expected $3, got $got"
}

probe() { # FILE OUT [probe args...]: runs vigild probe; sets PROBE_RC
    local file=$1 out=$2
    shift 2
    PROBE_RC=0
    "$VIGILD" probe -f "$file" "$@" >"$out" 2>"$out.err" || PROBE_RC=$?
}

start_agent

# ---- SNMPv2c: every value type, scale, garbage, a batch above 32 ----
{
    device v2 snmp "$AGENT_PORT" '{community: vigiltest}'
    sensor t-string v2 temperature "{oid: \"$BASE.1.1.0\"}"
    sensor t-int v2 temperature "{oid: \"$BASE.1.2.0\"}" 'scale: 0.1'
    sensor gauge v2 ups-load "{oid: \"$BASE.1.3.0\"}"
    sensor counter v2 power-kw "{oid: \"$BASE.1.4.0\"}" 'scale: 0.001'
    sensor garbage v2 temperature "{oid: \"$BASE.1.5.0\"}"
    sensor ticks v2 ups-runtime "{oid: \"$BASE.1.6.0\"}" 'scale: 0.01'
    sensor an-oid v2 temperature "{oid: \".$BASE.1.7.0\"}"
    sensor negative v2 temperature "{oid: \"$BASE.1.8.0\"}" 'offset: 0.5'
    sensor missing v2 temperature "{oid: \"$BASE.1.99.0\"}"
    for ((i = 0; i < 30; i++)); do
        sensor "many-$i" v2 temperature "{oid: \"$BASE.1.2.0\"}" "scale: 0.$((i % 10 + 1))"
    done
} >"$VG_TMP/v2.yaml"
probe "$VG_TMP/v2.yaml" "$VG_TMP/v2.out" --polls 2
assert_eq 0 "$PROBE_RC" "v2c probe exit status ($(cat "$VG_TMP/v2.out.err"))"
expect_value "$VG_TMP/v2.out" t-string 23.5
expect_value "$VG_TMP/v2.out" t-int 23.5
expect_value "$VG_TMP/v2.out" gauge 42
expect_value "$VG_TMP/v2.out" counter 123.456
expect_value "$VG_TMP/v2.out" ticks 42
expect_value "$VG_TMP/v2.out" negative -39.5
assert_eq "oid $BASE.1.5.0: 'n/a' is not a number" "$(reject "$VG_TMP/v2.out" garbage)" \
    "garbage string"
assert_eq "oid .$BASE.1.7.0: type OBJECT IDENTIFIER is not a reading" \
    "$(reject "$VG_TMP/v2.out" an-oid)" "wrong type"
assert_contains "$(reject "$VG_TMP/v2.out" missing)" "oid $BASE.1.99.0: no such" "missing object"
for ((i = 0; i < 30; i++)); do
    expect_value "$VG_TMP/v2.out" "many-$i" "$(awk "BEGIN { print 235 * 0.$((i % 10 + 1)) }")"
done
assert_eq 2 "$(jq -r 'select(.poll == "ok") | .device' "$VG_TMP/v2.out" | wc -l)" "v2c polls ok"
pass "v2c GET: values after scale and offset, garbage and wrong types rejected, 39 points in 2 GETs"

# ---- GETBULK table walks ----
{
    device tab snmp "$AGENT_PORT" '{community: vigiltest, max_repetitions: 2}'
    for row in 1 2 3; do
        sensor "col2-row$row" tab temperature \
            "{oid: \"$BASE.2.1.2.$row\", table: \"$BASE.2.1.2\"}" 'scale: 0.1'
    done
    sensor col3-row3 tab temperature "{oid: \"$BASE.2.1.3.3\", table: \"$BASE.2.1\"}"
    sensor col2-row9 tab temperature "{oid: \"$BASE.2.1.2.9\", table: \"$BASE.2.1.2\"}"
    sensor scalar tab ups-load "{oid: \"$BASE.1.3.0\"}"
} >"$VG_TMP/tab.yaml"
probe "$VG_TMP/tab.yaml" "$VG_TMP/tab.out" --polls 1
assert_eq 0 "$PROBE_RC" "table probe exit status"
expect_value "$VG_TMP/tab.out" col2-row1 21
expect_value "$VG_TMP/tab.out" col2-row2 22
expect_value "$VG_TMP/tab.out" col2-row3 23
expect_value "$VG_TMP/tab.out" col3-row3 3.5
expect_value "$VG_TMP/tab.out" scalar 42
assert_eq "oid $BASE.2.1.2.9: not in table $BASE.2.1.2" "$(reject "$VG_TMP/tab.out" col2-row9)" \
    "row not in the table"
pass "GETBULK: 3 rows of a column, a cell of a whole-table walk, a missing row rejected"

# ---- SNMPv3 ----
{
    device priv snmp "$AGENT_PORT" '{version: "3", user: vgpriv, auth_protocol: SHA,
      auth_passphrase: authpass-123, priv_protocol: AES, priv_passphrase: privpass-456}'
    sensor t-priv priv temperature "{oid: \"$BASE.1.2.0\"}" 'scale: 0.1'
    device sha256 snmp "$AGENT_PORT" '{version: 3, user: vgauth, auth_protocol: SHA-256,
      auth_passphrase: authpass-256, security_level: authNoPriv}'
    sensor t-sha256 sha256 temperature "{oid: \"$BASE.1.2.0\"}" 'scale: 0.1'
    device md5 snmp "$AGENT_PORT" '{version: "3", user: vgmd5, auth_protocol: MD5,
      auth_passphrase: md5pass-123, priv_protocol: DES, priv_passphrase: despass-123}'
    sensor t-md5 md5 temperature "{oid: \"$BASE.1.2.0\"}" 'scale: 0.1'
    device noauth snmp "$AGENT_PORT" '{version: "3", user: vgnone}'
    sensor t-noauth noauth temperature "{oid: \"$BASE.2.1.2.2\", table: \"$BASE.2.1.2\"}"
} >"$VG_TMP/v3.yaml"
probe "$VG_TMP/v3.yaml" "$VG_TMP/v3.out" --polls 2
assert_eq 0 "$PROBE_RC" "v3 probe exit status ($(errors "$VG_TMP/v3.out"))"
expect_value "$VG_TMP/v3.out" t-priv 23.5
expect_value "$VG_TMP/v3.out" t-sha256 23.5
expect_value "$VG_TMP/v3.out" t-md5 23.5
expect_value "$VG_TMP/v3.out" t-noauth 220
pass "v3: authPriv SHA/AES and MD5/DES, authNoPriv SHA-256, noAuthNoPriv with GETBULK"

{
    device wrong snmp "$AGENT_PORT" '{version: "3", user: vgpriv,
      auth_passphrase: Wrong-Secret-99, priv_passphrase: privpass-456}'
    sensor t-wrong wrong temperature "{oid: \"$BASE.1.2.0\"}"
    device nouser snmp "$AGENT_PORT" '{version: "3", user: nobody}'
    sensor t-nouser nouser temperature "{oid: \"$BASE.1.2.0\"}"
} >"$VG_TMP/wrong.yaml"
probe "$VG_TMP/wrong.yaml" "$VG_TMP/wrong.out" --polls 1
assert_eq 1 "$PROBE_RC" "wrong passphrase exit status"
err=$(jq -r 'select(.device == "wrong" and has("error")) | .error' "$VG_TMP/wrong.out")
assert_contains "$err" "authentication" "wrong passphrase error"
assert_contains "$err" "vgpriv" "wrong passphrase error names the user"
assert_contains "$(jq -r 'select(.device == "nouser") | .error' "$VG_TMP/wrong.out")" \
    "Unknown user name" "unknown user"
if grep -q -e Wrong-Secret-99 -e privpass-456 "$VG_TMP/wrong.out" "$VG_TMP/wrong.out.err"; then
    fail "a passphrase appears in the output: $(cat "$VG_TMP/wrong.out")"
fi
[[ -z $(value "$VG_TMP/wrong.out" t-wrong) ]] || fail "a value read with a wrong passphrase"
pass "v3: wrong passphrase and unknown user are authentication errors; no secret printed"

# ---- manifest checks ----
check_refused() { # OPTIONS EXPECTED_ERROR [SECRET]
    { device bad snmp "$AGENT_PORT" "$1"; } >"$VG_TMP/bad.yaml"
    probe "$VG_TMP/bad.yaml" "$VG_TMP/bad.out" --polls 1
    [[ $PROBE_RC != 0 ]] || fail "options $1 accepted"
    assert_contains "$(cat "$VG_TMP/bad.out.err")" "$2" "options $1"
    if [[ -n ${3:-} ]] && grep -q -- "$3" "$VG_TMP/bad.out" "$VG_TMP/bad.out.err"; then
        fail "the secret '$3' appears in the error"
    fi
}
check_refused '{version: "4", community: x}' "spec.options.version: '4' is not one of 2c, 3"
check_refused '{}' "spec.options.community: required"
check_refused '{version: "3", user: u, auth_passphrase: short7}' \
    "spec.options.auth_passphrase: must be at least 8 characters" short7
check_refused '{version: "3", user: u, auth_protocol: SHA1, auth_passphrase: longenough}' \
    "spec.options.auth_protocol: 'SHA1' is not one of SHA, SHA-224, SHA-256" longenough
check_refused '{version: "3", user: u, security_level: authPriv, auth_passphrase: longenough}' \
    "spec.options.priv_passphrase: required for authPriv" longenough
check_refused '{community: x, user: u}' "spec.options.user: only for version 3"
check_refused '{community: x, colour: red}' "spec.options.colour: not used by the snmp driver"
{
    device v2 snmp "$AGENT_PORT" '{community: vigiltest}'
    sensor bad-oid v2 temperature '{oid: "1.3.x"}'
    sensor bad-table v2 temperature "{oid: \"$BASE.1.1.0\", table: \"$BASE.2\"}"
    sensor good v2 ups-load "{oid: \"$BASE.1.3.0\"}"
} >"$VG_TMP/badsrc.yaml"
probe "$VG_TMP/badsrc.yaml" "$VG_TMP/badsrc.out" --polls 1
problems=$(jq -r 'select(has("problem")) | .problem' "$VG_TMP/badsrc.out")
assert_contains "$problems" "source.oid: '1.3.x' is not a numeric OID" "bad source oid"
assert_contains "$problems" "source.table: '$BASE.2' is not a subtree holding source.oid" \
    "table not a prefix of oid"
expect_value "$VG_TMP/badsrc.out" good 42
pass "options and sources are checked with the dotted field first; secrets not echoed"

# ---- a stopped agent ----
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
{
    device dead snmp "$AGENT_PORT" '{community: vigiltest}' 300 1
    sensor t-dead dead temperature "{oid: \"$BASE.1.2.0\"}"
    device dead3 snmp "$AGENT_PORT" '{version: "3", user: vgnone}' 300 1
    sensor t-dead3 dead3 temperature "{oid: \"$BASE.1.2.0\"}"
} >"$VG_TMP/dead.yaml"
start=$(date +%s%N)
probe "$VG_TMP/dead.yaml" "$VG_TMP/dead.out" --polls 1
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
assert_eq 1 "$PROBE_RC" "stopped agent exit status"
assert_eq "no answer from udp:127.0.0.1:$AGENT_PORT within 300 ms" \
    "$(jq -r 'select(.device == "dead") | .error' "$VG_TMP/dead.out")" "stopped agent, v2c"
assert_eq "no answer from udp:127.0.0.1:$AGENT_PORT within 300 ms" \
    "$(jq -r 'select(.device == "dead3") | .error' "$VG_TMP/dead.out")" "stopped agent, v3"
# 2 attempts of 300 ms and a 100 ms backoff, plus start-up and stopping
((elapsed_ms < 300 * 2 + 100 + 1500)) || fail "stopped agent took $elapsed_ms ms"
pass "stopped agent: '-ETIMEDOUT' within timeout x (retries + 1) ($elapsed_ms ms)"

# ---- traps ----
TRAP_PORT=$(free_udp_port)
{
    device traps snmp-trap "$TRAP_PORT" '{community: trapcomm}'
    sensor trap-temp traps temperature "{oid: \"$BASE.3.1.0\"}"
    sensor trap-load traps ups-load "{oid: \"$BASE.3.2.0\"}" 'scale: 0.5'
    sensor trap-status traps mains-status "{oid: \"$BASE.3.3.0\", map: {online: 1, lost: 0}}"
    sensor trap-v1 traps ups-charge "{oid: \"$BASE.3.4.0\"}"
} >"$VG_TMP/traps.yaml"
"$VIGILD" probe -f "$VG_TMP/traps.yaml" --polls 1 --listen-ms 4000 >"$VG_TMP/traps.out" \
    2>"$VG_TMP/traps.err" &
probe_pid=$!
VG_PIDS+=("$probe_pid")
for ((i = 0; i < 100; i++)); do
    ss -Huln "sport = :$TRAP_PORT" | grep -q . && break
    sleep 0.05
done
trap_to() { snmptrap -v 2c -c "$1" "127.0.0.1:$TRAP_PORT" '' "$2" "${@:3}"; }
trap_to trapcomm ".$BASE.3" ".$BASE.3.1.0" s "23.5"
trap_to trapcomm ".$BASE.3" ".$BASE.3.2.0" i 84 ".$BASE.3.3.0" s lost
trap_to not-the-community ".$BASE.3" ".$BASE.3.1.0" s "99"
trap_to trapcomm ".$BASE.9" ".$BASE.9.1.0" i 1
snmptrap -v 1 -c trapcomm "127.0.0.1:$TRAP_PORT" ".$BASE" 127.0.0.1 6 17 '' ".$BASE.3.4.0" u 77
printf 'not an snmp message' >"/dev/udp/127.0.0.1/$TRAP_PORT"
wait "$probe_pid" || true
out=$VG_TMP/traps.out
expect_value "$out" trap-temp 23.5
expect_value "$out" trap-load 42
expect_value "$out" trap-status 0
expect_value "$out" trap-v1 77
assert_eq 1 "$(jq -r 'select(.sensor == "trap-temp" and has("value")) | .value' "$out" | wc -l)" \
    "one value for trap-temp (the wrong community's is not taken)"
rejects=$(device_rejects "$out")
assert_contains "$rejects" "wrong community" "trap with a wrong community"
assert_contains "$rejects" "trap $BASE.9: no sensor has the OID of any of its 1 varbinds" \
    "trap of an unknown OID"
assert_contains "$rejects" "not an SNMP message" "garbage datagram"
grep -q not-the-community "$out" && fail "the wrong community appears in the output"
pass "traps: v2c string and integer, map, v1, wrong community, unknown OID, garbage"

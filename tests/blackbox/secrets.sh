# Device credentials are never shown and never lost, on one standalone
# vigild collecting from a real snmpd (SNMPv2c community, SNMPv3 auth and
# priv passphrases) and a real mosquitto with a password file, plus a NUT
# device with a password. No output shows a secret: GET and list (admin and
# viewer tokens), watch (replay and live), events, facility, sensors,
# /metrics, `vigil get -o yaml/json`, error replies and the daemon's log;
# each shows {"secret": true} instead. `vigil get -o yaml` applied back is
# "unchanged" (no new revision), an edited copy keeps the credentials (the
# collector still logs in after its restart), a plain value changes one,
# and no secret is in plaintext anywhere in the data directory.
source "$(dirname "$0")/lib.sh"

: "${VG_SOURCE:?VG_SOURCE must point to the source tree}"
[[ $(id -u) == 0 ]] || { echo "skip: snmpd is started as root" >&2; exit 77; }
for tool in snmpd snmpget mosquitto_pub mosquitto_passwd jq ss; do
    command -v "$tool" >/dev/null || { echo "skip: $tool missing" >&2; exit 77; }
done
MOSQUITTO=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null) ||
    { echo "skip: mosquitto not installed" >&2; exit 77; }

COMMUNITY=S3cretCommunity-v2
AUTH_PASS=S3cretAuth-pass1
PRIV_PASS=S3cretPriv-pass2
MQTT_PASS=S3cretMqtt-pw
NUT_PASS=S3cretNut-pw
NEW_MQTT_PASS=S3cretMqtt-new
SECRETS=("$COMMUNITY" "$AUTH_PASS" "$PRIV_PASS" "$MQTT_PASS" "$NUT_PASS" "$NEW_MQTT_PASS")

# no_secret WHAT FILE...: none of the secrets appears in the files.
no_secret() {
    local what=$1 s
    shift
    for s in "${SECRETS[@]}"; do
        if grep -rqaF -- "$s" "$@"; then
            fail "$what shows the secret '$s': $(grep -raF -- "$s" "$@" | head -3)"
        fi
    done
}
no_secret_text() { # WHAT TEXT
    printf '%s' "$2" >"$VG_TMP/text"
    no_secret "$1" "$VG_TMP/text"
}

# ---- the peers: snmpd and mosquitto with credentials ----
SNMP=$VG_TMP/snmp
mkdir -p "$SNMP/persist"
export SNMP_PERSISTENT_DIR=$SNMP/persist MIBS=
BASE=1.3.6.1.4.1.99999
while :; do
    AGENT_PORT=$((20000 + RANDOM % 12000))
    ss -Huan "sport = :$AGENT_PORT" | grep -q . || break
done
cat >"$SNMP/snmpd.conf" <<EOF
rocommunity $COMMUNITY 127.0.0.1
createUser vgpriv SHA "$AUTH_PASS" AES "$PRIV_PASS"
rouser vgpriv priv
pass .$BASE /bin/bash $VG_SOURCE/tests/fixtures/snmp/pass.sh
EOF
snmpd -f -Lo -C -c "$SNMP/snmpd.conf" -p "$SNMP/snmpd.pid" "udp:127.0.0.1:$AGENT_PORT" \
    >"$VG_TMP/snmpd.out" 2>&1 &
VG_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
    snmpget -v2c -c "$COMMUNITY" -t 0.2 -r 0 "127.0.0.1:$AGENT_PORT" ".$BASE.1.3.0" \
        >/dev/null 2>&1 && break
    ((i < 99)) || fail "snmpd did not answer"
done

touch "$VG_TMP/passwd"
chmod 600 "$VG_TMP/passwd"
mosquitto_passwd -b "$VG_TMP/passwd" vigil "$MQTT_PASS" || fail "mosquitto_passwd"
BROKER_PORT=$(vg_free_port)
{
    printf 'listener %s 127.0.0.1\npersistence false\n' "$BROKER_PORT"
    [[ $(id -u) == 0 ]] && printf 'user root\n'
    printf 'allow_anonymous false\npassword_file %s/passwd\n' "$VG_TMP"
} >"$VG_TMP/broker.conf"
"$MOSQUITTO" -c "$VG_TMP/broker.conf" >"$VG_TMP/broker.out" 2>&1 &
BROKER_PID=$!
VG_PIDS+=("$BROKER_PID")
for ((i = 0; i < 100; i++)); do
    ss -Htln "sport = :$BROKER_PORT" | grep -q . && break
    sleep 0.05
done
pub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u vigil -P "$MQTT_PASS" "$@"; }

# ---- vigild with the devices ----
D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
cat >"$VG_TMP/site.yaml" <<EOF
kind: Site
name: dc1
spec: {location: "test hall"}
---
kind: Zone
name: z1
spec: {site: dc1, type: server-room}
---
kind: Device
name: pdu-v2
spec:
  site: dc1
  driver: snmp
  address: 127.0.0.1:$AGENT_PORT
  interval_ms: 200
  timeout_ms: 1000
  retries: 0
  options: {community: $COMMUNITY}
---
kind: Device
name: pdu-v3
spec:
  site: dc1
  driver: snmp
  address: 127.0.0.1:$AGENT_PORT
  interval_ms: 200
  timeout_ms: 1000
  retries: 0
  options: {version: "3", user: vgpriv, auth_passphrase: $AUTH_PASS,
            priv_passphrase: $PRIV_PASS}
---
kind: Device
name: broker
spec:
  site: dc1
  driver: mqtt
  address: 127.0.0.1:$BROKER_PORT
  interval_ms: 200
  timeout_ms: 1000
  options: {username: vigil, password: $MQTT_PASS}
---
kind: Device
name: ups
spec:
  site: dc1
  driver: nut
  address: 127.0.0.1:$(vg_free_port)
  interval_ms: 500
  timeout_ms: 300
  retries: 0
  options: {ups: ups1, username: monitor, password: $NUT_PASS}
---
kind: Sensor
name: t-v2
spec: {zone: z1, device: pdu-v2, type: temperature, source: {oid: "$BASE.1.2.0"}, scale: 0.1}
---
kind: Sensor
name: t-v3
spec: {zone: z1, device: pdu-v3, type: temperature, source: {oid: "$BASE.1.2.0"}, scale: 0.1}
---
kind: Sensor
name: t-mqtt
spec: {zone: z1, device: broker, type: temperature, source: {topic: dc1/t}}
---
kind: Sensor
name: ups-charge
spec: {zone: z1, device: ups, type: ups-charge, source: {variable: battery.charge}}
EOF
"$VIGIL" apply -f "$VG_TMP/site.yaml" >"$VG_TMP/apply.out" 2>&1 || fail "apply: $(cat "$VG_TMP/apply.out")"
no_secret "vigil apply output" "$VG_TMP/apply.out"

jget() { vg_api GET "$1" | cut -d' ' -f2- | jq -r "$2"; }
reading_time() {
    local t
    t=$(jget /api/v1/sensors ".[] | select(.name==\"$1\") | .time // 0" 2>/dev/null) || true
    echo "${t:-0}"
}
wait_reading_after() { # SENSOR MS [PUBLISH]: a reading of SENSOR taken after MS
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -n ${3:-} ]] && pub -t dc1/t -m "$3"
        (($(reading_time "$1") > $2)) && return 0
        sleep 0.1
    done
    fail "no reading of $1 after $2: $(vg_api GET /api/v1/facility)"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

t0=$(now_ms)
wait_reading_after t-v2 "$t0"
wait_reading_after t-v3 "$t0"
wait_reading_after t-mqtt "$t0" 21.5
pass "the collector logs in with the community, the v3 passphrases and the MQTT password"

# ---- every output shows {"secret": true}, never the value ----
r=$(vg_api POST /api/v1/tokens '{"name":"dash","role":"viewer"}')
assert_eq 201 "${r%% *}" "create a viewer token"
VIEWER=$(jq -r .token <<<"${r#* }")
placeholder_at() { # JSON JQ_PATH WHAT
    assert_eq '{"secret":true}' "$(jq -c "$2" <<<"$1")" "$3"
}
for auth in "Bearer $VG_TOKEN" "Bearer $VIEWER"; do
    role=admin
    [[ $auth == *"$VIEWER" ]] && role=viewer
    for dev in pdu-v2 pdu-v3 broker ups; do
        r=$(VG_AUTH=$auth vg_api GET "/api/v1/objects/Device/$dev")
        assert_eq 200 "${r%% *}" "GET $dev as $role"
        no_secret_text "GET $dev as $role" "$r"
    done
    r=$(VG_AUTH=$auth vg_api GET /api/v1/objects/Device/pdu-v2)
    placeholder_at "${r#* }" .spec.options.community "pdu-v2 community as $role"
    r=$(VG_AUTH=$auth vg_api GET /api/v1/objects/Device/pdu-v3)
    placeholder_at "${r#* }" .spec.options.auth_passphrase "auth passphrase as $role"
    placeholder_at "${r#* }" .spec.options.priv_passphrase "priv passphrase as $role"
    assert_eq vgpriv "$(jq -r .spec.options.user <<<"${r#* }")" "the v3 user is shown"
    r=$(VG_AUTH=$auth vg_api GET /api/v1/objects/Device/broker)
    placeholder_at "${r#* }" .spec.options.password "MQTT password as $role"
    r=$(VG_AUTH=$auth vg_api GET /api/v1/objects/Device/ups)
    placeholder_at "${r#* }" .spec.options.password "NUT password as $role"
    for path in /api/v1/objects/Device /api/v1/objects /api/v1/events /api/v1/facility \
        /api/v1/sensors /api/v1/status /metrics; do
        r=$(VG_AUTH=$auth vg_api GET "$path")
        no_secret_text "GET $path as $role" "$r"
    done
    r=$(VG_AUTH=$auth vg_api GET /api/v1/objects/Device)
    assert_eq 5 "$(jq '[.items[] | .spec.options | to_entries[] |
        select(.value == {"secret": true})] | length' <<<"${r#* }")" \
        "list of Devices as $role: the 5 secrets of 4 devices as placeholders"
done
curl -sS -N --max-time 2 -H "Authorization: Bearer $VIEWER" \
    "http://127.0.0.1:$VG_PORT/api/v1/watch?from=0" >"$VG_TMP/watch-replay.txt" 2>/dev/null || true
assert_contains "$(cat "$VG_TMP/watch-replay.txt")" '"name":"pdu-v3"' "watch replays the devices"
assert_contains "$(cat "$VG_TMP/watch-replay.txt")" '"secret":true' "watch shows placeholders"
no_secret "watch replay" "$VG_TMP/watch-replay.txt"
for out in yaml json; do
    "$VIGIL" get device -o "$out" >"$VG_TMP/get-all.$out" 2>&1 || fail "vigil get device -o $out"
    no_secret "vigil get device -o $out" "$VG_TMP/get-all.$out"
done
"$VIGIL" get device pdu-v3 -o yaml >"$VG_TMP/pdu-v3.yaml" || fail "vigil get pdu-v3 -o yaml"
no_secret "vigil get pdu-v3 -o yaml" "$VG_TMP/pdu-v3.yaml"
grep -q "secret: true" "$VG_TMP/pdu-v3.yaml" || fail "no 'secret: true' in: $(cat "$VG_TMP/pdu-v3.yaml")"
pass "GET, list, watch, events, facility, sensors, status, /metrics and vigil get (admin and viewer) show {\"secret\": true} only"

# ---- applying what get showed: unchanged, no new revision ----
# a live watch sees every change from here on
curl -sS -N --max-time 20 -H "Authorization: Bearer $VG_TOKEN" \
    "http://127.0.0.1:$VG_PORT/api/v1/watch" >"$VG_TMP/watch-live.txt" 2>/dev/null &
WATCH_PID=$!
VG_PIDS+=("$WATCH_PID")
# (readings may record alerts, so each Device's own revision is compared)
revisions() { jget /api/v1/objects/Device '[.items[] | .revision | tostring] | join(",")'; }
rev0=$(revisions)
for dev in pdu-v2 pdu-v3 broker ups; do
    "$VIGIL" get device "$dev" -o yaml >"$VG_TMP/$dev.yaml" || fail "vigil get $dev"
    out=$("$VIGIL" apply -f "$VG_TMP/$dev.yaml" 2>&1) || fail "apply back $dev: $out"
    assert_eq "device/$dev unchanged" "$out" "apply back $dev"
    out=$("$VIGIL" apply --dry-run -f "$VG_TMP/$dev.yaml" 2>&1) || fail "dry run $dev: $out"
    assert_contains "$out" "unchanged" "dry run of $dev"
done
# a raw API client: the GET body PUT back as it is
body=$(vg_api GET /api/v1/objects/Device/pdu-v2 | cut -d' ' -f2-)
hdr=$(curl -sS -D - -o "$VG_TMP/put.out" -X PUT -H "Authorization: Bearer $VG_TOKEN" \
    -H 'Content-Type: application/json' --data-binary "$body" \
    "http://127.0.0.1:$VG_PORT/api/v1/objects/Device/pdu-v2")
assert_contains "$hdr" "Vigil-Result: unchanged" "raw PUT of the GET body"
no_secret "reply to an unchanged PUT" "$VG_TMP/put.out"
# leaving the secrets out is the same
r=$(vg_api PUT /api/v1/objects/Device/pdu-v3 "$(jq -c 'del(.spec.options.auth_passphrase,
    .spec.options.priv_passphrase)' <<<"$(vg_api GET /api/v1/objects/Device/pdu-v3 | cut -d' ' -f2-)")")
assert_eq 200 "${r%% *}" "PUT without the passphrases"
assert_eq "$rev0" "$(revisions)" "no revision written by applying what get showed"
pass "vigil get -o yaml | vigil apply, a raw PUT of the GET body, and secrets left out: unchanged"

# ---- an edited copy keeps the credentials: the collector still logs in ----
for dev in pdu-v2 pdu-v3 broker; do
    sed -i 's/^\(  *\)interval_ms: 200$/\1interval_ms: 250/' "$VG_TMP/$dev.yaml"
    grep -q "interval_ms: 250" "$VG_TMP/$dev.yaml" || fail "edit $dev.yaml: $(cat "$VG_TMP/$dev.yaml")"
    out=$("$VIGIL" apply -f "$VG_TMP/$dev.yaml" 2>&1) || fail "apply edited $dev: $out"
    assert_eq "device/$dev configured" "$out" "apply edited $dev"
done
[[ $rev0 != "$(revisions)" ]] || fail "the edits wrote no revision"
sleep 1 # the monitor restarts the devices once changes are quiet
t1=$(now_ms)
wait_reading_after t-v2 "$t1"
wait_reading_after t-v3 "$t1"
wait_reading_after t-mqtt "$t1" 22.5
assert_eq 22.5 "$(jget /api/v1/sensors '.[] | select(.name=="t-mqtt") | .value')" "MQTT value"
for dev in pdu-v2 pdu-v3 broker; do
    assert_eq up "$(jget /api/v1/facility ".devices[] | select(.name==\"$dev\") | .state")" \
        "$dev up after the edit"
done
pass "edited manifests with {\"secret\": true}: configured, and the collector still authenticates"

# ---- a plain value changes the secret ----
mosquitto_passwd -b "$VG_TMP/passwd" vigil "$NEW_MQTT_PASS" || fail "mosquitto_passwd"
kill -HUP "$BROKER_PID" # reloads the password file
pub() { mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u vigil -P "$NEW_MQTT_PASS" "$@"; }
# JSON is YAML: the edited output of get -o json is a manifest too
"$VIGIL" get device broker -o json | jq --arg p "$NEW_MQTT_PASS" '.spec.options.password = $p' \
    >"$VG_TMP/broker-new.yaml"
out=$("$VIGIL" apply -f "$VG_TMP/broker-new.yaml" 2>&1) || fail "apply the new password: $out"
assert_eq "device/broker configured" "$out" "a new plain password is a change"
no_secret_text "apply output" "$out"
sleep 1
t2=$(now_ms)
wait_reading_after t-mqtt "$t2" 23.5
r=$(vg_api GET /api/v1/objects/Device/broker)
placeholder_at "${r#* }" .spec.options.password "the new password is hidden too"
# a wrong community: the device is refused, and the error does not echo it
r=$(vg_api GET /api/v1/objects/Device/pdu-v2 | cut -d' ' -f2-)
r=$(vg_api PUT /api/v1/objects/Device/pdu-v2 "$(jq -c '.spec.options.community = "Wrong-Community-9"' <<<"$r")")
assert_eq 200 "${r%% *}" "PUT a wrong community"
SECRETS+=(Wrong-Community-9)
for ((i = 0; i < 100; i++)); do
    [[ $(jget /api/v1/facility '.devices[] | select(.name=="pdu-v2") | .state') == unreachable ]] &&
        break
    sleep 0.1
done
assert_eq unreachable "$(jget /api/v1/facility '.devices[] | select(.name=="pdu-v2") | .state')" \
    "pdu-v2 with a wrong community"
no_secret_text "facility with a refused device" "$(vg_api GET /api/v1/facility)"
r=$(vg_api GET /api/v1/objects/Device/pdu-v2 | cut -d' ' -f2-)
r=$(vg_api PUT /api/v1/objects/Device/pdu-v2 "$(jq -c --arg c "$COMMUNITY" '.spec.options.community = $c' <<<"$r")")
assert_eq 200 "${r%% *}" "PUT the right community back"
no_secret_text "reply to a changing PUT" "$r"
sleep 1
wait_reading_after t-v2 "$(now_ms)"
pass "a plain value changes a secret (MQTT password, SNMP community), hidden as before"

# ---- errors never echo a secret ----
r=$(vg_api PUT /api/v1/objects/Device/new-one "{\"spec\":{\"site\":\"dc1\",\"driver\":\"mqtt\",
    \"address\":\"127.0.0.1:1\",\"options\":{\"username\":\"u\",\"password\":{\"secret\":true}}}}")
assert_eq 400 "${r%% *}" "placeholder for a new object"
assert_contains "$r" "spec.options.password" "the error names the field"
r=$(vg_api PUT /api/v1/objects/Device/pdu-v3 "{\"spec\":{\"site\":\"dc1\",\"driver\":\"snmp\",
    \"options\":{\"version\":\"3\",\"user\":\"vgpriv\",\"auth_passphrase\":\"$AUTH_PASS\",\"colour\":1}}}")
assert_eq 400 "${r%% *}" "unknown option next to a passphrase"
no_secret_text "schema error" "$r"
r=$(vg_api PUT /api/v1/objects/Device/pdu-v3 "{\"spec\":{\"options\":{\"auth_passphrase\":\"$AUTH_PASS")
assert_eq 400 "${r%% *}" "truncated JSON body"
no_secret_text "JSON syntax error" "$r"
r=$(vg_api PUT /api/v1/objects/Device/pdu-v3 "{\"spec\":{\"options\":{\"auth_passphrase\":$AUTH_PASS}}}")
assert_eq 400 "${r%% *}" "a bare word in JSON"
no_secret_text "JSON syntax error" "$r"
pass "errors name the field and never echo a secret"

# ---- the live watch, the log and the data directory ----
sleep 0.5
kill "$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
assert_contains "$(cat "$VG_TMP/watch-live.txt")" '"name":"broker"' "live watch saw the changes"
no_secret "live watch" "$VG_TMP/watch-live.txt"
vg_stop "$VG_PID"
no_secret "the daemon's log" "$D.log"
no_secret "the data directory" "$D"
pass "live watch, daemon log and every file of the data directory hold no secret in plaintext"

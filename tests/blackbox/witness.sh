#!/usr/bin/env bash
# The witness as the members see it (docs/cluster.md): bootstrap once,
# heartbeats, rule 1 (no promote while the witness still hears the primary,
# a promote once it has not for dead_after), degrade and restore only by the
# primary, compare-and-set on the epoch, malformed requests refused without
# changing anything, the configuration surviving a restart sealed (no member
# name readable on disk), a damaged file stopping the witness. Then the same
# API over mutual TLS, where the member is the client certificate's CN.
source "$(dirname "$0")/lib.sh"

W=$VG_TMP/witness
DEAD=1500 # dead_after in ms: long enough that a busy test host never trips it
suffix=$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')
A=north-$suffix # member names unique to this run, to grep for on disk
B=south-$suffix
W_PORT=$(vg_free_port)
W_SCHEME=http
W_CURL=()

# w_start DIR PORT [args...]: start a witness, wait until it answers; sets
# W_PID (and W_PORT, if the port was taken meanwhile and another was used).
w_start() {
    local dir=$1 port=$2 attempt i mark
    shift 2
    for attempt in 1 2 3; do
        mark=0
        [[ -f "$dir.log" ]] && mark=$(wc -l <"$dir.log")
        "$VIGILD" witness --data "$dir" --listen "127.0.0.1:$port" "$@" >>"$dir.log" 2>&1 &
        W_PID=$!
        VG_PIDS+=("$W_PID")
        for ((i = 0; i < 200; i++)); do
            if curl -fsS -o /dev/null "${W_CURL[@]}" "$W_SCHEME://127.0.0.1:$port/witness/v1/config" 2>/dev/null; then
                W_PORT=$port
                return 0
            fi
            kill -0 "$W_PID" 2>/dev/null || break
            sleep 0.05
        done
        tail -n +"$((mark + 1))" "$dir.log" | grep -q "Address already in use" || break
        port=$(vg_free_port)
    done
    fail "witness on port $port did not start"
}

# w_api METHOD PATH [BODY] [curl args...]: prints "CODE BODY".
w_api() {
    local method=$1 path=$2 body=${3:-} code
    shift 3 2>/dev/null || shift $#
    local args=(-sS -X "$method" -o "$VG_TMP/wresp" -w '%{http_code}' "${W_CURL[@]}" "$@")
    [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    rm -f "$VG_TMP/wresp"
    code=$(curl "${args[@]}" "$W_SCHEME://127.0.0.1:$W_PORT$path" 2>/dev/null) || code=000
    echo "$code $(cat "$VG_TMP/wresp" 2>/dev/null)"
}

hb() { # member epoch role
    w_api POST /witness/v1/heartbeat "{\"member\":\"$1\",\"epoch\":$2,\"role\":\"$3\"}"
}

change() { # member expect_epoch op target [more JSON fields]
    w_api POST /witness/v1/config \
        "{\"member\":\"$1\",\"expect_epoch\":$2,\"op\":\"$3\",\"target\":\"$4\"${5:+,$5}}"
}

config() { w_api GET /witness/v1/config | cut -d' ' -f2-; }

# expect CODE "RESULT" WHAT: checks the status; prints the body.
expect() {
    assert_eq "$1" "${2%% *}" "$3: status (body ${2#* })"
}

# summary BODY: "epoch primary sync,sync" of a C.
summary() { jq -r '"\(.epoch) \(.primary) \(.sync|join(","))"' <<<"$1"; }

# --- start: private directory, systemd readiness --------------------------
sock=$VG_TMP/notify.sock
vg_notify_listen "$sock" "$VG_TMP/notify.out"
listener=$VG_NOTIFY_PID
NOTIFY_SOCKET=$sock w_start "$W" "$W_PORT" --insecure-no-tls --dead-after-ms "$DEAD"
vg_wait_for_line "$VG_TMP/notify.out" READY=1 || true
assert_contains "$(cat "$VG_TMP/notify.out")" "READY=1" "readiness notification"
[[ $(stat -c %a "$W") == 700 ]] || fail "witness dir mode is $(stat -c %a "$W")"
[[ $(stat -c %a "$W/keyring") == 600 ]] || fail "witness keyring mode is $(stat -c %a "$W/keyring")"
assert_eq "0 null " "$(summary "$(config)")" "fresh witness"
pass "fresh witness: epoch 0, own keyring 0600, READY=1"

# --- bootstrap, once ----------------------------------------------------------
r=$(change "$A" 0 promote "$A"); expect 409 "$r" "promote before bootstrap"
r=$(change "$A" 0 bootstrap "$A" "\"members\":[\"$A\",\"$B\"],\"reason\":\"first start\"")
expect 200 "$r" "bootstrap"
assert_eq "1 $A $A" "$(summary "${r#* }")" "bootstrapped C"
assert_eq "$A" "$(jq -r .changed_by <<<"${r#* }")" "changed_by"
assert_eq "first start" "$(jq -r .reason <<<"${r#* }")" "reason"
[[ $(jq -r .changed_at <<<"${r#* }") =~ ^20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z$ ]] || fail "changed_at: $r"
r=$(change "$B" 1 bootstrap "$B" "\"members\":[\"$A\",\"$B\"]"); expect 409 "$r" "second bootstrap"
assert_contains "$r" "only once" "second bootstrap message"
pass "bootstrap happens once"

# --- heartbeats ----------------------------------------------------------------
r=$(hb "$A" 1 primary); expect 200 "$r" "heartbeat"
assert_eq 1 "$(jq -r .config.epoch <<<"${r#* }")" "heartbeat carries C"
((10#$(jq -r ".heard_ms[\"$A\"]" <<<"${r#* }") < 1000)) || fail "primary not just heard: $r"
[[ $(jq -r ".heard_ms[\"$B\"]" <<<"${r#* }") =~ ^[0-9]+$ ]] || fail "no heard_ms for the mirror: $r"
r=$(hb intruder 1 mirror); expect 403 "$r" "heartbeat from a non-member"
pass "heartbeats answer C and heard_ms"

r=$(change "$A" 1 restore "$B" '"reason":"mirror caught up"'); expect 200 "$r" "restore"
assert_eq "2 $A $A,$B" "$(summary "${r#* }")" "restored C"

# --- rule 1: no promote while the primary is heard ---------------------------
start_ms=$(date +%s%3N)
for i in 1 2 3 4 5 6; do
    r=$(hb "$A" 2 primary); expect 200 "$r" "primary heartbeat $i"
    hb "$B" 2 mirror >/dev/null
    sleep 0.3
    r=$(change "$B" 2 promote "$B"); expect 409 "$r" "promote while the primary heartbeats ($i)"
done
(($(date +%s%3N) - start_ms > DEAD)) || fail "refusal loop was shorter than dead_after"
assert_contains "$r" "broken link" "refusal message"
assert_eq 2 "$(jq -r .config.epoch <<<"${r#* }")" "409 carries C"
pass "promote refused for longer than dead_after while the primary heartbeats"

# the primary falls silent; the mirror goes on heartbeating
for i in $(seq 1 $((DEAD / 100 + 3))); do
    hb "$B" 2 mirror >/dev/null
    sleep 0.1
done
r=$(change "$B" 2 promote "$B" '"reason":"primary lost"'); expect 200 "$r" "promote after dead_after"
assert_eq "3 $B $B" "$(summary "${r#* }")" "failover C: sync of one"
pass "promote accepted once the primary was silent for dead_after; sync = {new primary}"

# --- rules 2 and 3: degrade and restore by the primary only ------------------
r=$(change "$B" 3 degrade "$A"); expect 409 "$r" "degrade when already degraded"
r=$(change "$A" 3 restore "$A"); expect 409 "$r" "restore by the mirror"
r=$(change "$B" 3 restore "$A"); expect 200 "$r" "restore by the primary"
assert_eq "4 $B $A,$B" "$(summary "${r#* }")" "restored"
r=$(change "$A" 4 degrade "$A"); expect 409 "$r" "degrade by the mirror"
assert_contains "$r" "only the primary" "degrade by the mirror message"
r=$(change "$B" 4 degrade "$A" '"reason":"acks stopped"'); expect 200 "$r" "degrade by the primary"
assert_eq "5 $B $B" "$(summary "${r#* }")" "degraded"
r=$(change "$B" 5 restore "$A"); expect 200 "$r" "restore again"
r=$(change "$B" 6 promote "$A" '"reason":"planned switchover"'); expect 200 "$r" "planned switchover"
assert_eq "7 $A $A,$B" "$(summary "${r#* }")" "switchover keeps both in sync"
pass "degrade and restore only by the primary; planned switchover keeps both in sync"

# --- compare-and-set -----------------------------------------------------------
r=$(change "$A" 6 degrade "$B"); expect 409 "$r" "stale expect_epoch"
assert_contains "$r" "stale expect_epoch" "stale message"
assert_eq "7 $A $A,$B" "$(summary "$(jq -c .config <<<"${r#* }")")" "409 tells the winner"
r=$(change "$A" 8 degrade "$B"); expect 409 "$r" "future expect_epoch"
pass "stale epoch: 409 with the current C"

# --- malformed requests: 400 naming the field, nothing changes ---------------
before=$(config)
[[ $(jq -r '.epoch // empty' <<<"$before" 2>/dev/null) =~ ^[0-9]+$ ]] ||
    fail "config before the bad requests: '$before'" # two failed reads would be equal
bad() { # what field path body
    local r
    r=$(w_api POST "$3" "$4")
    expect 400 "$r" "$1"
    [[ $(jq -r .error <<<"${r#* }") != null ]] || fail "$1: no error message"
    [[ -z "$2" ]] || assert_eq "$2" "$(jq -r .field <<<"${r#* }")" "$1: field named"
}
C=/witness/v1/config
H=/witness/v1/heartbeat
bad "not JSON" "" $C '{"member":'
bad "array body" "" $C '[1,2]'
bad "empty body" "" $C ''
bad "duplicate keys" "" $C "{\"member\":\"$A\",\"member\":\"$B\",\"expect_epoch\":7,\"op\":\"degrade\"}"
bad "unknown field" colour $C "{\"member\":\"$A\",\"expect_epoch\":7,\"op\":\"degrade\",\"colour\":1}"
bad "epoch as string" expect_epoch $C "{\"member\":\"$A\",\"expect_epoch\":\"7\",\"op\":\"degrade\"}"
bad "negative epoch" expect_epoch $C "{\"member\":\"$A\",\"expect_epoch\":-7,\"op\":\"degrade\"}"
bad "unknown op" op $C "{\"member\":\"$A\",\"expect_epoch\":7,\"op\":\"elect\",\"target\":\"$B\"}"
bad "missing member" member $C "{\"expect_epoch\":7,\"op\":\"degrade\"}"
bad "bad member name" member $C "{\"member\":\"../$A\",\"expect_epoch\":7,\"op\":\"degrade\"}"
bad "unknown target" target $C "{\"member\":\"$A\",\"expect_epoch\":7,\"op\":\"promote\",\"target\":\"west-x\"}"
bad "force without flag" force $C "{\"member\":\"$A\",\"expect_epoch\":7,\"op\":\"force\",\"target\":\"$B\",\"reason\":\"x\"}"
bad "force without reason" reason $C "{\"member\":\"$A\",\"expect_epoch\":7,\"op\":\"force\",\"target\":\"$B\",\"force\":true}"
bad "members outside bootstrap" members $C "{\"member\":\"$A\",\"expect_epoch\":7,\"op\":\"degrade\",\"members\":[\"$A\",\"$B\"]}"
bad "heartbeat role" role $H "{\"member\":\"$A\",\"epoch\":7,\"role\":\"leader\"}"
bad "heartbeat epoch" epoch $H "{\"member\":\"$A\",\"epoch\":1.5,\"role\":\"primary\"}"
bad "heartbeat unknown field" lease $H "{\"member\":\"$A\",\"epoch\":7,\"role\":\"primary\",\"lease\":1}"
printf '{"member":"%s","expect_epoch":7,"op":"degrade","reason":"' "$A" >"$VG_TMP/big.json"
head -c 100000 /dev/zero | tr '\0' a >>"$VG_TMP/big.json"
printf '"}' >>"$VG_TMP/big.json"
r=$(w_api POST $C "@$VG_TMP/big.json")
[[ ${r%% *} == 413 || ${r%% *} == 400 ]] || fail "oversized body: got ${r%% *}"
r=$(change intruder 7 degrade "$B"); expect 403 "$r" "change by a non-member"
r=$(w_api DELETE $C); expect 405 "$r" "DELETE config"
r=$(w_api GET /witness/v1/elsewhere); expect 404 "$r" "unknown endpoint"
assert_eq "$before" "$(config)" "C after rejected requests"
kill -0 "$W_PID" || fail "the witness died on bad input"
pass "malformed requests: 400 naming the field, C unchanged"

# --- restart: C survives, and the clock of rule 1 starts again -----------------
vg_stop "$W_PID"
wait "$listener" || true
assert_contains "$(cat "$VG_TMP/notify.out")" "STOPPING=1" "stopping notification"
w_start "$W" "$W_PORT" --insecure-no-tls --dead-after-ms "$DEAD"
assert_eq "$before" "$(config)" "C after a restart"
r=$(change "$B" 7 promote "$B"); expect 409 "$r" "promote right after a witness restart"
pass "SIGTERM exits 0; C survives a restart; a restarted witness does not forget the primary"

hits=$(grep -rl --binary-files=text -e "$A" -e "$B" -e "switchover" -e "caught up" "$W" || true)
[[ -z "$hits" ]] || fail "plaintext found under the witness dir: $hits"
(($(find "$W" -type f | wc -l) >= 2)) || fail "expected a config and a keyring under $W"
pass "no member name or reason in plaintext under the witness dir"

# --- a damaged config stops the witness -----------------------------------------
vg_stop "$W_PID"
cp "$W/config" "$VG_TMP/config.good"
size=$(stat -c %s "$W/config")
printf '\xff' | dd of="$W/config" bs=1 seek=$((size - 5)) conv=notrunc status=none
rc=0
"$VIGILD" witness --data "$W" --listen "127.0.0.1:$W_PORT" --insecure-no-tls >"$VG_TMP/corrupt.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status with a damaged config"
assert_contains "$(cat "$VG_TMP/corrupt.out")" "failed authentication" "damaged config message"
head -c 20 "$VG_TMP/config.good" >"$W/config"
rc=0
"$VIGILD" witness --data "$W" --listen "127.0.0.1:$W_PORT" --insecure-no-tls >"$VG_TMP/trunc.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status with a truncated config"
assert_contains "$(cat "$VG_TMP/trunc.out")" "truncated" "truncated config message"
cp "$VG_TMP/config.good" "$W/config"
w_start "$W" "$W_PORT" --insecure-no-tls --dead-after-ms "$DEAD"
assert_eq "$before" "$(config)" "C after the good file is back"
vg_stop "$W_PID"
pass "a damaged or truncated config stops the witness with a message"

# --- usage ------------------------------------------------------------------------
rc=0; "$VIGILD" witness --data "$W" --listen "127.0.0.1:$W_PORT" >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "no TLS options and no --insecure-no-tls"
rc=0; "$VIGILD" witness --data "$W" --listen "0.0.0.0:$W_PORT" --insecure-no-tls >"$VG_TMP/off.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "--insecure-no-tls off loopback"
assert_contains "$(cat "$VG_TMP/off.out")" "refusing --insecure-no-tls" "off-loopback message"
rc=0; "$VIGILD" witness --data "$W" --listen "127.0.0.1:$W_PORT" --insecure-no-tls --dead-after-ms x >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "bad --dead-after-ms"
"$VIGILD" witness --help | grep -q -- "--tls-ca" || fail "witness --help lists --tls-ca"
pass "usage errors exit 2; plain HTTP only on loopback"

# === mutual TLS ======================================================================
P=$VG_TMP/pki
mkdir -p "$P"
cat >"$P/ext.cnf" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
make_ca() { # NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "make CA $1"
}
issue() { # CA FILE CN
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
        -keyout "$P/$2.key" -out "$P/$2.csr" 2>/dev/null || fail "key for $3"
    openssl x509 -req -in "$P/$2.csr" -CA "$P/$1.pem" -CAkey "$P/$1.key" -CAcreateserial \
        -days 2 -extfile "$P/ext.cnf" -out "$P/$2.pem" 2>/dev/null || fail "certificate for $3"
}
E=east-$suffix
X=west-$suffix
make_ca cluster-ca
make_ca rogue-ca
issue cluster-ca witness "witness-$suffix"
issue cluster-ca east "$E"
issue cluster-ca west "$X"
issue rogue-ca rogue "$E"

T=$VG_TMP/witness-tls
W_SCHEME=https
as() { W_CURL=(--cacert "$P/cluster-ca.pem" --cert "$P/$1.pem" --key "$P/$1.key"); }
as east
w_start "$T" "$(vg_free_port)" --tls-cert "$P/witness.pem" --tls-key "$P/witness.key" \
    --tls-ca "$P/cluster-ca.pem" --dead-after-ms "$DEAD"

r=$(w_api POST /witness/v1/config "{\"expect_epoch\":0,\"op\":\"bootstrap\",\"target\":\"$E\",\"members\":[\"$E\",\"$X\"]}")
expect 200 "$r" "bootstrap over mTLS"
assert_eq "$E" "$(jq -r .changed_by <<<"${r#* }")" "the CN is the caller"
as west
r=$(w_api POST /witness/v1/heartbeat '{"epoch":1,"role":"mirror"}'); expect 200 "$r" "heartbeat over mTLS"
((10#$(jq -r ".heard_ms[\"$X\"]" <<<"${r#* }") < 1000)) || fail "CN not recorded as heard: $r"
r=$(w_api POST /witness/v1/config "{\"member\":\"$E\",\"expect_epoch\":1,\"op\":\"degrade\"}")
expect 403 "$r" "body member that is not the certificate's CN"
r=$(w_api POST /witness/v1/config '{"expect_epoch":1,"op":"restore","target":"'"$X"'"}')
expect 409 "$r" "restore by the mirror (named by its certificate)"
pass "mTLS: the client certificate's CN is the member"

W_CURL=(--cacert "$P/cluster-ca.pem")
r=$(w_api GET /witness/v1/config); expect 000 "$r" "request without a client certificate"
as rogue
r=$(w_api GET /witness/v1/config); expect 000 "$r" "client certificate from another CA"
as east
r=$(w_api GET /witness/v1/config "" --tls-max 1.2); expect 000 "$r" "TLS 1.2"
if curl -sS "http://127.0.0.1:$W_PORT/witness/v1/config" >/dev/null 2>&1; then
    fail "plain HTTP answered on the mTLS port"
fi
r=$(w_api GET /witness/v1/config); expect 200 "$r" "the witness survives refused handshakes"
vg_stop "$W_PID"
hits=$(grep -rl --binary-files=text -e "$E" -e "$X" "$T" || true)
[[ -z "$hits" ]] || fail "plaintext found under the TLS witness dir: $hits"
pass "mTLS: no client certificate, a foreign CA or TLS 1.2 are refused"

rc=0; "$VIGILD" witness --data "$T" --listen "127.0.0.1:$W_PORT" --tls-cert "$P/witness.pem" \
    --tls-key "$P/witness.key" >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "TLS without --tls-ca"
rc=0; "$VIGILD" witness --data "$T" --listen "127.0.0.1:$W_PORT" --tls-cert "$P/witness.pem" \
    --tls-key "$P/witness.key" --tls-ca /nonexistent >"$VG_TMP/badca.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "missing CA file"
assert_contains "$(cat "$VG_TMP/badca.out")" "cannot load TLS CA" "missing CA message"
pass "bad TLS settings stop start-up"

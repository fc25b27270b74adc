#!/usr/bin/env bash
# TLS off loopback: plain HTTP is refused on a non-loopback address unless
# --insecure; with a certificate the API speaks TLS 1.3 only.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)

if "$VIGILD" run --data "$D" --listen "0.0.0.0:$VG_PORT" >"$VG_TMP/plain.out" 2>&1; then
    fail "vigild served plain HTTP on 0.0.0.0"
fi
assert_contains "$(cat "$VG_TMP/plain.out")" "refusing plain HTTP" "refusal message"
pass "plain HTTP off loopback is refused"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$VG_TMP/key.pem" -out "$VG_TMP/cert.pem" 2>/dev/null

"$VIGILD" run --data "$D" --listen "127.0.0.1:$VG_PORT" --tls-cert "$VG_TMP/cert.pem" \
    --tls-key "$VG_TMP/key.pem" >>"$D.log" 2>&1 &
VG_PID=$!
VG_PIDS+=("$VG_PID")
for _ in $(seq 100); do
    curl -fsS --cacert "$VG_TMP/cert.pem" "https://127.0.0.1:$VG_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.05
done
r=$(curl -sS --cacert "$VG_TMP/cert.pem" -H "Authorization: Bearer $VG_TOKEN" \
    "https://127.0.0.1:$VG_PORT/api/v1/status")
assert_eq standalone "$(jq -r .role <<<"$r")" "status over HTTPS"
if curl -sS --cacert "$VG_TMP/cert.pem" --tls-max 1.2 "https://127.0.0.1:$VG_PORT/healthz" >/dev/null 2>&1; then
    fail "TLS 1.2 was accepted"
fi
if curl -sS "http://127.0.0.1:$VG_PORT/healthz" >/dev/null 2>&1; then
    fail "plain HTTP answered on the TLS port"
fi
pass "HTTPS with TLS 1.3 only"

vg_stop "$VG_PID"
if "$VIGILD" run --data "$D" --listen "127.0.0.1:$VG_PORT" --tls-cert "$VG_TMP/cert.pem" \
    --tls-key /nonexistent >"$VG_TMP/badkey.out" 2>&1; then
    fail "started with a missing key"
fi
assert_contains "$(cat "$VG_TMP/badkey.out")" "cannot load TLS key" "bad key message"
pass "bad TLS settings stop start-up with a message"

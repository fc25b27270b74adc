#!/usr/bin/env bash
# vigil pki, as an operator sets up the certificates of a cluster: a CA, two
# members and a witness. Keys are private whatever the umask, openssl
# accepts every certificate for what it is meant for, a real mutual-TLS
# handshake succeeds between two members and fails with a certificate of
# another CA, nothing is ever replaced unless asked, and bad input is
# refused with a clear message and leaves no file behind.
source "$(dirname "$0")/lib.sh"

cd "$VG_TMP" || exit 1
umask 000 # the modes of keys must not depend on the umask

# vg_cli RC args...: runs the CLI, expects exit status RC; leaves stdout in
# $out and stderr in $err.
vg_cli() {
    local want=$1 rc=0
    shift
    timeout 30 "$VIGIL" "$@" >"$VG_TMP/out" 2>"$VG_TMP/err" || rc=$?
    out=$(cat "$VG_TMP/out")
    err=$(cat "$VG_TMP/err")
    [[ "$rc" == "$want" ]] || fail "vigil $*: exit $rc, expected $want; stderr: $err; stdout: $out"
}

mode() { stat -c %a "$1"; }
x509_text() { openssl x509 -in "$1" -noout -text; }
files() { find "$1" -mindepth 1 -printf '%f\n' | LC_ALL=C sort | xargs; }

# tls_handshake SERVER CLIENT SERVER_CA CLIENT_CA [s_client args...]: one
# TLS 1.3 connection between openssl s_server (certificate SERVER.crt,
# client certificate required and checked against SERVER_CA) and s_client
# (certificate CLIENT.crt, server checked against CLIENT_CA), both bounded
# in time. Leaves the client's output in $hs_out, the server's in $hs_srv,
# and the client's exit status in $hs_rc.
hs_count=0
tls_handshake() {
    local server=$1 client=$2 server_ca=$3 client_ca=$4 port pid i log
    shift 4
    for _ in 1 2 3; do
        # a new log each time: the background shell may create it only after
        # the first grep below, which must not see an earlier server's
        log=$VG_TMP/s_server.$((++hs_count)).log
        port=$(vg_free_port)
        timeout 20 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -www -tls1_3 \
            -Verify 1 -verify_return_error -CAfile "$server_ca" \
            -cert "$server.crt" -key "$server.key" >"$log" 2>&1 &
        pid=$!
        VG_PIDS+=("$pid")
        for ((i = 0; i < 200; i++)); do
            grep -qs ACCEPT "$log" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        grep -qs ACCEPT "$log" && break
        grep -qs "in use" "$log" || break
    done
    grep -qs ACCEPT "$log" || fail "openssl s_server did not start: $(cat "$log")"
    hs_rc=0
    printf 'GET / HTTP/1.0\r\n\r\n' |
        timeout 10 openssl s_client -connect "127.0.0.1:$port" -ign_eof -verify_return_error \
            -CAfile "$client_ca" -cert "$client.crt" -key "$client.key" "$@" \
            >"$VG_TMP/s_client.log" 2>&1 || hs_rc=$?
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    hs_out=$(cat "$VG_TMP/s_client.log")
    hs_srv=$(cat "$log")
}

# --- help and usage
vg_cli 0 pki --help
assert_contains "$out" "init" "vigil pki --help lists its commands"
for c in init issue show; do
    vg_cli 0 pki "$c" --help
    assert_contains "$out" "usage: vigil pki $c" "vigil pki $c --help"
    vg_cli 0 help pki "$c"
    assert_contains "$out" "usage: vigil pki $c" "vigil help pki $c"
done
vg_cli 0 help
assert_contains "$out" "pki" "the command list shows pki"
vg_cli 2 pki
vg_cli 2 pki frobnicate
vg_cli 2 pki init extra
vg_cli 2 pki issue
assert_contains "$err" "give the NAME" "issue without a name"
vg_cli 2 pki issue a b
vg_cli 2 pki init --days 0
assert_contains "$err" "--days" "--days 0"
vg_cli 2 pki init --days soon
vg_cli 2 pki init --dir ''
vg_cli 2 pki show
[[ ! -e pki ]] || fail "a usage error created ./pki"
pass "--help on every pki command, usage errors exit 2 and create nothing"

# --- init: ./pki by default, a self-signed CA
vg_cli 0 pki init
assert_contains "$out" "pki/ca.key" "init names the key it wrote"
assert_contains "$out" "pki/ca.crt" "init names the certificate it wrote"
assert_eq 700 "$(mode pki)" "mode of the CA directory"
assert_eq 600 "$(mode pki/ca.key)" "mode of ca.key"
assert_eq 644 "$(mode pki/ca.crt)" "mode of ca.crt"
assert_eq "ca.crt ca.key" "$(files pki)" "files after init"
assert_eq "-----BEGIN PRIVATE KEY-----" "$(head -1 pki/ca.key)" "ca.key is unencrypted PEM"
ca_text=$(x509_text pki/ca.crt)
assert_contains "$ca_text" "Subject: CN = vigil cluster CA" "CA subject"
assert_contains "$ca_text" "Issuer: CN = vigil cluster CA" "the CA signs itself"
assert_contains "$ca_text" $'X509v3 Basic Constraints: critical\n                CA:TRUE' \
    "CA:TRUE, critical"
assert_contains "$ca_text" $'Key Usage: critical\n                Certificate Sign, CRL Sign' \
    "CA key usage"
assert_contains "$ca_text" "X509v3 Subject Key Identifier" "CA SKI"
assert_contains "$ca_text" "NIST CURVE: P-256" "CA key is P-256"
assert_contains "$ca_text" "ecdsa-with-SHA256" "CA signature"
openssl verify -CAfile pki/ca.crt pki/ca.crt >/dev/null || fail "the CA does not verify itself"
openssl x509 -in pki/ca.crt -noout -checkend $((3649 * 86400)) >/dev/null ||
    fail "the CA expires within 3649 days"
if openssl x509 -in pki/ca.crt -noout -checkend $((3651 * 86400)) >/dev/null; then
    fail "the CA is valid for more than 3650 days"
fi
serial=$(openssl x509 -in pki/ca.crt -noout -serial)
serial=${serial#serial=}
((${#serial} >= 26 && ${#serial} <= 34)) || fail "CA serial $serial is not a random 128-bit number"
pass "init: ./pki 0700, ca.key 0600, a self-signed CA:TRUE P-256 CA for 10 years"

# --- refusing to replace the CA
sum=$(cat pki/ca.key pki/ca.crt | sha256sum)
vg_cli 1 pki init
assert_contains "$err" "already exists" "second init"
assert_eq "$sum" "$(cat pki/ca.key pki/ca.crt | sha256sum)" "a second init changes nothing"
rm pki/ca.crt
vg_cli 1 pki init
assert_contains "$err" "ca.key' already exists" "init over a lone ca.key"
assert_eq "ca.key" "$(files pki)" "a refused init leaves no file"
rm -r pki
vg_cli 0 pki init
pass "init never replaces a CA, not even half of one"

# --- issue: two members and the witness
for name in dc1 dc2 witness; do
    vg_cli 0 pki issue "$name" --ip 127.0.0.1
    assert_contains "$out" "pki/$name.key" "issue $name names the key"
    assert_contains "$out" "pki/$name.crt" "issue $name names the certificate"
    assert_eq 600 "$(mode "pki/$name.key")" "mode of $name.key"
    assert_eq 644 "$(mode "pki/$name.crt")" "mode of $name.crt"
    assert_eq "pki/$name.crt: OK" "$(openssl verify -CAfile pki/ca.crt "pki/$name.crt")" \
        "openssl verify $name.crt"
    for purpose in sslserver sslclient; do
        openssl verify -x509_strict -purpose "$purpose" -CAfile pki/ca.crt "pki/$name.crt" \
            >/dev/null || fail "$name.crt is not valid for $purpose"
    done
    assert_eq "$(openssl pkey -in "pki/$name.key" -pubout)" \
        "$(openssl x509 -in "pki/$name.crt" -noout -pubkey)" "$name.key belongs to $name.crt"
    text=$(x509_text "pki/$name.crt")
    assert_contains "$text" "Subject: CN = $name" "$name subject"
    assert_contains "$text" "Issuer: CN = vigil cluster CA" "$name issuer"
    assert_contains "$text" "DNS:$name, IP Address:127.0.0.1" "$name SANs"
    assert_contains "$text" $'X509v3 Basic Constraints: critical\n                CA:FALSE' \
        "$name CA:FALSE"
    assert_contains "$text" $'Key Usage: critical\n                Digital Signature\n' \
        "$name key usage"
    assert_contains "$text" "TLS Web Server Authentication, TLS Web Client Authentication" \
        "$name EKU serverAuth+clientAuth"
    assert_contains "$text" "X509v3 Authority Key Identifier" "$name AKI"
    assert_contains "$text" "X509v3 Subject Key Identifier" "$name SKI"
    assert_contains "$text" "NIST CURVE: P-256" "$name key is P-256"
done
assert_eq "ca.crt ca.key dc1.crt dc1.key dc2.crt dc2.key witness.crt witness.key" \
    "$(files pki)" "files after three issues (no temporary file left)"
openssl verify -CAfile pki/ca.crt -verify_ip 127.0.0.1 -verify_hostname dc1 pki/dc1.crt \
    >/dev/null || fail "dc1.crt does not match dc1 and 127.0.0.1"
if openssl verify -CAfile pki/ca.crt -verify_hostname dc2 pki/dc1.crt >/dev/null 2>&1; then
    fail "dc1.crt matched host name dc2"
fi
openssl x509 -in pki/dc1.crt -noout -checkend $((824 * 86400)) >/dev/null ||
    fail "dc1.crt expires within 824 days"
if openssl x509 -in pki/dc1.crt -noout -checkend $((826 * 86400)) >/dev/null; then
    fail "dc1.crt is valid for more than 825 days"
fi
[[ "$(openssl x509 -in pki/dc1.crt -noout -serial)" != "$(openssl x509 -in pki/dc2.crt -noout -serial)" ]] ||
    fail "two certificates share a serial"
pass "issue: dc1, dc2, witness verify against the CA with CN, SANs, CA:FALSE, both EKUs"

# --- names, addresses, -o json
vg_cli 0 pki issue client-1 --dns Client-1.Example.com --dns client-1.example.com \
    --ip 10.0.0.1 --ip ::1 --ip 0:0::1 --days 30 -o json
assert_eq "pki/client-1.key pki/client-1.crt pki/ca.crt" \
    "$(jq -r '[.key, .cert, .ca_cert] | join(" ")' <<<"$out")" "issue -o json paths"
assert_eq "client-1 client-1.example.com" "$(jq -r '.dns | join(" ")' <<<"$out")" \
    "DNS names, lower case and each once"
assert_eq "10.0.0.1 ::1" "$(jq -r '.ip | join(" ")' <<<"$out")" "addresses, each once"
assert_eq "CN=client-1 false" "$(jq -r '"\(.subject) \(.ca)"' <<<"$out")" "issue -o json subject"
assert_eq "serverAuth,clientAuth" "$(jq -r '.ext_key_usage | join(",")' <<<"$out")" "json EKU"
openssl x509 -in pki/client-1.crt -noout -checkend $((29 * 86400)) >/dev/null ||
    fail "--days 30 gave less than 29 days"
if openssl x509 -in pki/client-1.crt -noout -checkend $((31 * 86400)) >/dev/null; then
    fail "--days 30 gave more than 31 days"
fi
vg_cli 0 pki init --dir other --name "Example Corp CA" --days 365 -o json
assert_eq "other other/ca.key other/ca.crt CN=Example Corp CA true" \
    "$(jq -r '"\(.dir) \(.key) \(.cert) \(.subject) \(.ca)"' <<<"$out")" "init -o json"
vg_cli 0 pki issue rogue --dir other --ip 127.0.0.1
pass "--dns and --ip, --days, --name and -o json"

# --- show
vg_cli 0 pki show pki/dc1.crt
assert_contains "$out" "subject:     CN=dc1" "show subject"
assert_contains "$out" "issuer:      CN=vigil cluster CA" "show issuer"
assert_contains "$out" "names:       DNS:dc1, IP:127.0.0.1" "show SANs"
assert_contains "$out" "CA:          no" "show CA"
assert_contains "$out" "usage:       digitalSignature, serverAuth, clientAuth" "show usage"
vg_cli 0 pki show pki/dc1.crt -o json
serial=$(openssl x509 -in pki/dc1.crt -noout -serial)
assert_eq "${serial#serial=}" "$(jq -r .serial <<<"$out")" "show serial as openssl prints it"
fpr=$(openssl x509 -in pki/dc1.crt -noout -fingerprint -sha256)
assert_eq "${fpr#*=}" "$(jq -r .sha256 <<<"$out")" "show fingerprint as openssl prints it"
assert_eq "pki/dc1.crt dc1 127.0.0.1 false" \
    "$(jq -r '"\(.file) \(.dns | join(",")) \(.ip | join(",")) \(.expired)"' <<<"$out")" \
    "show -o json"
vg_cli 0 pki show pki/ca.crt -o json
assert_eq "true keyCertSign,cRLSign" "$(jq -r '"\(.ca) \(.key_usage | join(","))"' <<<"$out")" \
    "show the CA"
vg_cli 7 pki show pki/dc1.key
assert_contains "$err" "not a PEM certificate" "show a key"
vg_cli 1 pki show pki/nothing.crt
assert_contains "$err" "cannot open 'pki/nothing.crt'" "show a missing file"
pass "show: subject, issuer, SANs, validity, serial and fingerprint as openssl sees them"

# --- a real mutual-TLS handshake on loopback
tls_handshake pki/dc1 pki/dc2 pki/ca.crt pki/ca.crt -verify_ip 127.0.0.1
assert_eq 0 "$hs_rc" "s_client dc2 -> s_server dc1 exit status; $hs_out"
assert_contains "$hs_out" "HTTP/1.0 200 ok" "the server answered dc2"
assert_contains "$hs_out" "Protocol  : TLSv1.3" "TLS 1.3"
assert_contains "$hs_out" "Client certificate" "the server saw dc2's certificate"
assert_contains "$hs_out" "Subject: CN=dc2" "the client certificate is dc2's"
tls_handshake pki/witness pki/dc1 pki/ca.crt pki/ca.crt -verify_hostname witness
assert_eq 0 "$hs_rc" "s_client dc1 -> s_server witness exit status; $hs_out"
assert_contains "$hs_out" "Subject: CN=dc1" "the witness saw dc1's certificate"
pass "mutual TLS between members and with the witness"

tls_handshake pki/dc1 other/rogue pki/ca.crt pki/ca.crt
[[ "$hs_out" != *"HTTP/1.0 200"* ]] || fail "a client of another CA was served: $hs_out"
assert_contains "$hs_srv" "certificate verify failed" "the server refused the rogue client"
tls_handshake other/rogue pki/dc2 pki/ca.crt pki/ca.crt
[[ "$hs_rc" != 0 ]] || fail "dc2 accepted a server of another CA: $hs_out"
assert_contains "$hs_out" "verify error" "the client refused the rogue server"
[[ "$hs_out" != *"HTTP/1.0 200"* ]] || fail "dc2 talked to a server of another CA"
tls_handshake pki/dc1 pki/dc2 pki/ca.crt pki/ca.crt -verify_hostname dc9
[[ "$hs_rc" != 0 ]] || fail "dc2 accepted dc1's certificate for host dc9"
pass "a certificate of another CA is refused at both ends"

# --- refusals: nothing replaced unless asked, bad input changes nothing
sum=$(cat pki/dc1.key pki/dc1.crt | sha256sum)
vg_cli 1 pki issue dc1
assert_contains "$err" "'pki/dc1.crt' already exists (--force replaces it)" "issue over dc1"
assert_eq "$sum" "$(cat pki/dc1.key pki/dc1.crt | sha256sum)" "a refused issue changes nothing"
mv pki/dc1.crt dc1.crt.saved
vg_cli 1 pki issue dc1
assert_contains "$err" "'pki/dc1.key' already exists" "issue over a lone dc1.key"
assert_eq "$sum" "$(cat pki/dc1.key dc1.crt.saved | sha256sum)" "the lone key is kept"
mv dc1.crt.saved pki/dc1.crt
vg_cli 0 pki issue dc1 --force --ip 127.0.0.1
[[ "$sum" != "$(cat pki/dc1.key pki/dc1.crt | sha256sum)" ]] || fail "--force replaced nothing"
assert_eq 600 "$(mode pki/dc1.key)" "mode of a replaced key"
openssl verify -CAfile pki/ca.crt pki/dc1.crt >/dev/null || fail "replaced dc1.crt does not verify"
assert_eq "$(openssl pkey -in pki/dc1.key -pubout)" \
    "$(openssl x509 -in pki/dc1.crt -noout -pubkey)" "replaced key and certificate belong together"
before=$(files pki)
for bad in DC1 'a..b' 'x/y' '.hidden' "$(printf 'a%.0s' {1..64})" ca ''; do
    vg_cli 7 pki issue "$bad"
    assert_contains "$err" "invalid name" "issue '$bad'"
done
vg_cli 7 pki issue ok1 --ip 300.1.2.3
assert_contains "$err" "invalid IP address '300.1.2.3'" "bad --ip"
vg_cli 7 pki issue ok1 --ip 127.0.0.1junk
vg_cli 7 pki issue ok1 --dns 'a,IP:10.0.0.1'
assert_contains "$err" "invalid DNS name 'a,IP:10.0.0.1'" "--dns cannot smuggle in a SAN"
vg_cli 7 pki issue ok1 --dns -bad.example
vg_cli 7 pki init --dir named --name ''
vg_cli 7 pki init --dir named --name "$(printf 'n%.0s' {1..65})"
assert_eq "$before" "$(files pki)" "refused issues leave no file"
[[ ! -e named ]] || fail "a refused init left its directory"
vg_cli 2 pki issue ok1 --days 36501
mkdir -m 700 empty
vg_cli 1 pki issue dc1 --dir empty
assert_contains "$err" "no CA in 'empty'" "issue without a CA"
assert_eq "" "$(files empty)" "issue without a CA writes nothing"
touch plain
vg_cli 1 pki init --dir plain
assert_contains "$err" "'plain' is not a directory" "init on a file"
pass "refusals: existing files, invalid names, addresses and host names, no CA"

# --- notes that do not stop the command
vg_cli 0 pki init --dir short --days 10
vg_cli 0 pki issue m1 --dir short
assert_contains "$err" "warning: the certificate expires with the CA" "validity cut to the CA's"
assert_eq "$(openssl x509 -in short/ca.crt -noout -enddate)" \
    "$(openssl x509 -in short/m1.crt -noout -enddate)" "a certificate never outlives its CA"
openssl verify -CAfile short/ca.crt short/m1.crt >/dev/null || fail "cut m1.crt does not verify"
vg_cli 0 pki issue under_score --dir short --ip 127.0.0.1
assert_contains "$err" "not a host name" "a name that cannot be a DNS name"
assert_contains "$(x509_text short/under_score.crt)" "IP Address:127.0.0.1" "IP SAN kept"
mkdir -m 755 open
vg_cli 0 pki init --dir open
assert_contains "$err" "directory 'open' is open to others" "warning on an open directory"
assert_eq 600 "$(mode open/ca.key)" "a key in an open directory is still 0600"
chmod 644 open/ca.key
vg_cli 0 pki issue m1 --dir open
assert_contains "$err" "'open/ca.key' is open to others" "warning on an open CA key"
pass "warnings: validity cut to the CA's, no DNS name, open directory or key"

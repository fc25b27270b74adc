#!/usr/bin/env bash
# The dashboard in a real browser: Debian's chromium driven by
# playwright-core (tests/browser/dashboard.mjs, npm ci from its own lock
# file) against two sites and a witness on loopback with the demo's
# manifests. A person logs in (after a refused try), sees both sites,
# watches an incident appear and acknowledges it, starts a fire at dc1 (as
# `vigil demo scenario fire-dc1` does), acknowledges the fire's incident and
# sees dc2 take over by the FailoverPolicy on the overview, and goes on on
# the other site with the same session; the mirror
# draws a floor plan (tests/fixtures/dashboard/floor-plan.yaml) with the
# primary's sensor states; a viewer is refused; axe-core finds no serious
# violation. Screenshots are kept in
# $VG_BUILD/test-artifacts/dashboard and their paths printed. Before it,
# curl checks how the files are served (gzip, ETag/304, caching, CSP);
# after it, that the cookie is Secure over TLS.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    echo "skip: no chromium at $CHROMIUM (scripts/deps.sh installs Debian's chromium)"
    exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "skip: no node and npm"
    exit 77
fi

# playwright-core and axe-core, as the lock file pins them, once per build tree
mods=$VG_BUILD/browser-tests
if ! cmp -s "$VG_SOURCE/tests/browser/package-lock.json" "$mods/package-lock.json" ||
    [[ ! -d $mods/node_modules/playwright-core ]]; then
    mkdir -p "$mods"
    cp "$VG_SOURCE/tests/browser/package.json" "$VG_SOURCE/tests/browser/package-lock.json" "$mods/"
    (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in $mods"
fi

cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1
export VIGIL_SERVER=${URL[dc1]}
for f in examples/demo-dc1 examples/demo-dc2 examples/demo-oncall examples/demo-protect tests/fixtures/dashboard/floor-plan; do
    "$VIGIL" apply -f "$VG_SOURCE/$f.yaml" >/dev/null || fail "apply $f"
done
PASSWORD="night shift $RANDOM$RANDOM"
echo "$PASSWORD" | "$VIGIL" passwd noor --role operator 2>/dev/null || fail "vigil passwd noor"
VIEWER=$("$VIGIL" token create --role viewer --name wall-screen 2>/dev/null) || fail "viewer token"
wait_until "dc2 has applied the logins" \
    bash -c "curl -fsS -H 'Authorization: Bearer $TOKEN' ${URL[dc2]}/api/v1/logins | grep -q noor"
sleep 6 # a reading or two from each site's simulator

# the files as served: gzip, ETag and 304, caching, the security headers
hdrs=$(curl -fsS -D - -o "$VG_TMP/index.gz" "${URL[dc1]}/") || fail "GET /"
for want in "Content-Encoding: gzip" "Cache-Control: no-cache" "X-Content-Type-Options: nosniff" \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'"; do
    assert_contains "$hdrs" "$want" "GET / headers"
done
[[ $hdrs != *unsafe-inline* ]] || fail "the CSP allows inline code"
js=$(gzip -dc "$VG_TMP/index.gz" | grep -o '/ui/app.js?v=[0-9a-f]*') || fail "index.html names no app.js"
etag=$(curl -fsS -D - -o /dev/null "${URL[dc1]}$js" | tr -d '\r' | sed -n 's/^ETag: //p')
assert_contains "$(curl -sS -D - -o /dev/null "${URL[dc1]}$js")" "immutable" "app.js caching"
assert_eq 304 "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "${URL[dc1]}$js")" \
    "app.js with its ETag"
assert_eq 200 "$(curl -sS --compressed -o /dev/null -w '%{http_code}' "${URL[dc2]}/ui/app.css")" \
    "app.css from the mirror"
pass "the dashboard's files: gzip, ETag/304, immutable hashed URLs, strict CSP"

OUT=$VG_BUILD/test-artifacts/dashboard
rm -rf "$OUT" && mkdir -p "$OUT"
DC1=${URL[dc1]} DC2=${URL[dc2]} OUT=$OUT TOKEN=$TOKEN VIEWER_TOKEN=$VIEWER PERSON=noor \
    PASSWORD=$PASSWORD VG_BROWSER_MODULES=$mods/node_modules CHROMIUM=$CHROMIUM \
    timeout 120 node "$VG_SOURCE/tests/browser/dashboard.mjs" || fail "the browser test"
grep -qF "$PASSWORD" "$VG_TMP"/dc*.log && fail "a password reached a log"

# over TLS the session cookie is Secure (on plain loopback HTTP it cannot be)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$VG_TMP/key.pem" -out "$VG_TMP/cert.pem" 2>/dev/null
vg_init "$VG_TMP/tls"
port=$(new_port)
"$VIGILD" run --data "$VG_TMP/tls" --listen "127.0.0.1:$port" --tls-cert "$VG_TMP/cert.pem" \
    --tls-key "$VG_TMP/key.pem" >>"$VG_TMP/tls.log" 2>&1 &
VG_PIDS+=("$!")
wait_until "the TLS member answers" curl -fsS -o /dev/null --cacert "$VG_TMP/cert.pem" \
    "https://127.0.0.1:$port/readyz"
cookie=$(curl -sS -D - -o /dev/null --cacert "$VG_TMP/cert.pem" -d "{\"token\":\"$VG_TOKEN\"}" \
    "https://127.0.0.1:$port/api/v1/login" | grep -i '^set-cookie:')
assert_contains "$cookie" "; Secure" "session cookie over TLS"
assert_contains "$cookie" "HttpOnly; SameSite=Strict" "session cookie over TLS"
pass "over TLS the session cookie is Secure"
pass "the dashboard, in chromium"

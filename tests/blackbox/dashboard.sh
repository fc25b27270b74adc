#!/usr/bin/env bash
# The dashboard in a real browser: Debian's chromium driven by
# playwright-core (tests/browser/dashboard.mjs, npm ci from its own lock
# file) against two sites and a witness on loopback with the demo's
# manifests. A person logs in (after a refused try), sees both sites,
# watches an incident appear and acknowledges it, sees a switchover on the
# overview, and goes on on the other site with the same session; a viewer
# is refused; axe-core finds no serious violation. Screenshots are kept in
# $VG_BUILD/test-artifacts/dashboard and their paths printed.
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
for f in demo-dc1 demo-dc2 demo-oncall; do
    "$VIGIL" apply -f "$VG_SOURCE/examples/$f.yaml" >/dev/null || fail "apply $f"
done
PASSWORD="night shift $RANDOM$RANDOM"
echo "$PASSWORD" | "$VIGIL" passwd noor --role operator 2>/dev/null || fail "vigil passwd noor"
VIEWER=$("$VIGIL" token create --role viewer --name wall-screen 2>/dev/null) || fail "viewer token"
wait_until "dc2 has applied the logins" \
    bash -c "curl -fsS -H 'Authorization: Bearer $TOKEN' ${URL[dc2]}/api/v1/logins | grep -q noor"
sleep 6 # a reading or two from each site's simulator

OUT=$VG_BUILD/test-artifacts/dashboard
rm -rf "$OUT" && mkdir -p "$OUT"
DC1=${URL[dc1]} DC2=${URL[dc2]} OUT=$OUT TOKEN=$TOKEN VIEWER_TOKEN=$VIEWER PERSON=noor \
    PASSWORD=$PASSWORD VG_BROWSER_MODULES=$mods/node_modules CHROMIUM=$CHROMIUM \
    timeout 120 node "$VG_SOURCE/tests/browser/dashboard.mjs" || fail "the browser test"
grep -qF "$PASSWORD" "$VG_TMP"/dc*.log && fail "a password reached a log"
pass "the dashboard, in chromium"

#!/usr/bin/env bash
# Hostile input, as an attacker holding a token of each role would send it:
# invalid UTF-8, NUL and control bytes in paths, queries and headers, huge
# numbers, deep nesting, wrong methods, malformed framing. Every answer must
# be a JSON error with the expected 4xx status, vigild must keep serving,
# and nothing stored may change (tests/blackbox/hostile.py holds the cases).
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT"

# a site with a simulated device and a sensor, so the facility routes have
# something real behind them
cat >"$VG_TMP/site.yaml" <<'YAML'
kind: Site
name: h1
spec: {location: "hostile hall"}
---
kind: Zone
name: h1-hall
spec: {site: h1, type: server-room}
---
kind: Device
name: h-sim
spec: {site: h1, zone: h1-hall, driver: sim, interval_ms: 500}
---
kind: Sensor
name: h-inlet
spec: {zone: h1-hall, device: h-sim, type: temperature, source: {quantity: inlet-temp}}
YAML
"$VIGIL" --server "http://127.0.0.1:$VG_PORT" --token "$VG_TOKEN" apply -f "$VG_TMP/site.yaml" \
    >/dev/null || fail "apply the site"

tokens="{\"admin\":\"$VG_TOKEN\""
for role in operator viewer auditor external-reviewer; do
    r=$(vg_api POST /api/v1/tokens "{\"role\":\"$role\",\"name\":\"t-$role\"}")
    assert_eq 201 "${r%% *}" "create a $role token"
    tokens+=",\"$role\":\"$(jq -r .token <<<"${r#* }")\""
done
echo "$tokens}" >"$VG_TMP/tokens.json"

python3 "$(dirname "$0")/hostile.py" "$VG_PORT" "$VG_TMP/tokens.json" ||
    fail "hostile cases (see above)"
kill -0 "$VG_PID" || fail "vigild died"
grep -q "runtime error\|AddressSanitizer" "$D.log" && fail "sanitizer report in the daemon's log"
vg_stop "$VG_PID"
pass "hostile input refused with clear errors; vigild kept serving; nothing changed"

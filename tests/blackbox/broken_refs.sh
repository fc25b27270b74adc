#!/usr/bin/env bash
# A reference to an object that does not exist is never silent (issue 14,
# point 4): objects may be applied in any order, so it is accepted, but
# `vigil facility` lists it with the closest existing name and /metrics
# counts it until it resolves.
source "$(dirname "$0")/lib.sh"

vg_init "$VG_TMP/m"
vg_start "$VG_TMP/m" "$(vg_free_port)" --no-collect
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
metric() { vg_api GET /metrics | grep "^$1 " | awk '{print $2}'; }

cat >"$VG_TMP/a.yaml" <<'EOF'
kind: Site
name: dc1
spec: {location: "hall"}
---
kind: Zone
name: dc1-hall-a
spec: {site: dc1, type: server-room}
---
kind: Device
name: dc1-bms
spec: {site: dc1, zone: dc1-hall-a, driver: push}
---
kind: Sensor
name: rack-1
spec: {zone: dc1-hall-b, device: dc1-bms, type: temperature}
---
kind: Sensor
name: rack-2
spec: {zone: dc1-hal-a, device: dc1-bms, type: temperature}
---
kind: Rule
name: rack-9-hot
spec: {sensor: rack-9, severity: critical, above: 30}
EOF
"$VIGIL" apply -f "$VG_TMP/a.yaml" >/dev/null || fail "apply"
out=$("$VIGIL" facility 2>&1) || fail "vigil facility: $out"
assert_contains "$out" "sensor 'rack-1': spec.zone names zone 'dc1-hall-b', which does not exist" \
    "the missing zone is listed"
assert_contains "$out" "zone 'dc1-hal-a', which does not exist (did you mean 'dc1-hall-a'?)" \
    "the closest existing zone is named"
assert_contains "$out" "rule 'rack-9-hot': spec.sensor names sensor 'rack-9', which does not exist" \
    "a rule's missing sensor is listed"
assert_eq 3 "$(metric vigil_facility_broken_references)" "vigil_facility_broken_references"
problems=$(metric vigil_facility_problems)
((problems >= 3)) || fail "vigil_facility_problems is $problems"
pass "three broken references: listed by vigil facility with the closest name, counted in /metrics"

# resolved by applying what they name: the problems go
cat >"$VG_TMP/b.yaml" <<'EOF'
kind: Zone
name: dc1-hall-b
spec: {site: dc1, type: server-room}
---
kind: Sensor
name: rack-2
spec: {zone: dc1-hall-a, device: dc1-bms, type: temperature}
---
kind: Sensor
name: rack-9
spec: {zone: dc1-hall-b, device: dc1-bms, type: temperature}
EOF
"$VIGIL" apply -f "$VG_TMP/b.yaml" >/dev/null || fail "apply the fixes"
assert_eq 0 "$(metric vigil_facility_broken_references)" "broken references once resolved"
out=$("$VIGIL" facility 2>&1)
[[ $out != *"does not exist"* ]] || fail "a resolved reference is still listed: $out"
pass "applying the missing objects resolves them: nothing listed, metric 0"

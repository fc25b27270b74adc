#!/usr/bin/env bash
# `vigil explain`: what a manifest may hold, from the server's own schemas:
# the kinds listed, a kind's fields with required/type/help, one field,
# plural and lower-case kind names, and clear errors for an unknown kind
# (exit 7, the known ones listed) or field (exit 3, the kind's fields listed).
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN

out=$("$VIGIL" explain) || fail "vigil explain"
for k in Site Zone Device Sensor Rule Person EscalationPolicy Silence Course; do
    grep -q "^$k " <<<"$out" || fail "vigil explain does not list $k: $out"
done
out=$("$VIGIL" explain sensors) || fail "vigil explain sensors"
assert_contains "$out" "Sensor: one measured quantity" "the kind's help"
grep -Eq '^  zone +required +name' <<<"$out" || fail "zone not shown as a required name: $out"
out=$("$VIGIL" explain Sensor type) || fail "vigil explain Sensor type"
assert_contains "$out" "one of: temperature, humidity" "the enum of a field"
out=$("$VIGIL" explain Zone) || fail "vigil explain Zone"
grep -Eq '^  plan +object' <<<"$out" && [[ $out == *"{x, y, w, h} in metres"* ]] ||
    fail "explain Zone does not show the floor plan: $out"
out=$("$VIGIL" explain Sensor position) || fail "vigil explain Sensor position"
assert_contains "$out" "{x, y} in metres from the top-left corner of its Zone" "a sensor's position"
assert_eq "$(vg_api GET /api/v1/kinds | cut -d' ' -f2- | jq -c '.items[] | select(.kind=="Zone")')" \
    "$("$VIGIL" explain zone -o json | jq -c .)" "-o json is the server's schema"
rc=0
err=$("$VIGIL" explain Rack 2>&1) || rc=$?
assert_eq 7 "$rc" "an unknown kind"
assert_contains "$err" "unknown kind 'Rack'" "the unknown kind named"
assert_contains "$err" "Sensor" "the known kinds listed"
rc=0
err=$("$VIGIL" explain zone colour 2>&1) || rc=$?
assert_eq 3 "$rc" "an unknown field"
assert_contains "$err" "its fields: site, type" "the kind's fields listed"
pass "vigil explain lists kinds, fields and one field from the server's schemas; unknown names are named"

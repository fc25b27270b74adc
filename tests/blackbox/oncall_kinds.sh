#!/usr/bin/env bash
# The on-call manifests as an operator applies them: examples/oncall.yaml
# goes in with `vigil apply -f` and reads back as written, the kinds are
# listed with their list fields, and bad manifests are refused with 400
# naming the field at fault, leaving what is stored unchanged.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT"
export VIGIL_SERVER="http://127.0.0.1:$VG_PORT" VIGIL_TOKEN="$VG_TOKEN"
unset VIGIL_CACERT
EXAMPLE=${VG_SOURCE:-$(dirname "$0")/../..}/examples/oncall.yaml

timeout 30 "$VIGIL" apply -f "$EXAMPLE" >"$VG_TMP/apply.out" 2>&1 ||
    fail "vigil apply -f examples/oncall.yaml: $(cat "$VG_TMP/apply.out")"
pass "examples/oncall.yaml applies"

r=$(vg_api GET /api/v1/objects/Schedule/facilities-primary)
assert_eq 200 "${r%% *}" "read the schedule back"
assert_eq "out-of-hours" "$(jq -r '.spec.layers[1].name' <<<"${r#* }")" "second layer"
assert_eq "24:00" "$(jq -r '.spec.layers[1].restrictions[1].to' <<<"${r#* }")" "end of day"
r=$(vg_api GET /api/v1/objects/Person/alice)
assert_eq "mail" "$(jq -r '.spec.notification_rules[1].contact' <<<"${r#* }")" "alice's rules"
r=$(vg_api GET /api/v1/objects/EscalationPolicy/power-critical)
assert_eq "dirk,facilities" "$(jq -r '[.spec.steps[1].notify[] | .person // .team] | join(",")' \
    <<<"${r#* }")" "second step's targets"
for kind in Person Team Contact; do
    r=$(vg_api GET "/api/v1/objects/$kind")
    assert_eq 200 "${r%% *}" "list $kind"
done
r=$(vg_api GET /api/v1/objects/Person)
assert_eq "alice,bob,carol,dirk" "$(jq -r '[.items[].name] | sort | join(",")' <<<"${r#* }")" \
    "the four people"
pass "objects read back as written"

# applying the same file again changes nothing
timeout 30 "$VIGIL" apply -f "$EXAMPLE" >"$VG_TMP/apply2.out" 2>&1 ||
    fail "second apply: $(cat "$VG_TMP/apply2.out")"
r=$(vg_api GET /api/v1/kinds)
assert_eq "list" "$(jq -r '.. | objects | select(.kind? == "EscalationPolicy") | .fields[] |
    select(.name == "steps") | .type' <<<"${r#* }")" "steps is a list in /api/v1/kinds"
pass "re-apply is harmless; /api/v1/kinds shows list fields"

check_bad() { # what path body field
    local r
    r=$(vg_api PUT "$2" "$3")
    assert_eq 400 "${r%% *}" "$1: status"
    assert_eq "$4" "$(jq -r '.field // .error.field // empty' <<<"${r#* }")" "$1: field"
}
before=$(vg_api GET /api/v1/objects/Schedule/facilities-primary | cut -d' ' -f2- | jq -c .spec)
check_bad "overlapping layers" /api/v1/objects/Schedule/facilities-primary \
    '{"spec":{"timezone":"Europe/Amsterdam","layers":[{"name":"a","people":["alice"],"start":"2026-01-05T08:00","turn":"1d"},{"name":"b","people":["bob"],"start":"2026-01-05T08:00","turn":"1d","restrictions":[{"days":["sat"],"from":"10:00","to":"12:00"}]}]}}' \
    "spec.layers[1].restrictions[0]"
check_bad "unknown time zone" /api/v1/objects/Person/erin \
    '{"spec":{"timezone":"Europe/Atlantis"}}' "spec.timezone"
check_bad "step naming nobody" /api/v1/objects/EscalationPolicy/p \
    '{"spec":{"steps":[{"notify":[{"person":"alice"},{}]}]}}' "spec.steps[0].notify[1]"
check_bad "rule naming an unknown method" /api/v1/objects/Person/erin \
    '{"spec":{"contact_methods":[{"name":"mail","type":"email","address":"e@x.example"}],"notification_rules":[{"contact":"pager"}]}}' \
    "spec.notification_rules[0].contact"
after=$(vg_api GET /api/v1/objects/Schedule/facilities-primary | cut -d' ' -f2- | jq -c .spec)
assert_eq "$before" "$after" "a refused write leaves the schedule as it was"
r=$(vg_api GET /api/v1/objects/Person/erin)
assert_eq 404 "${r%% *}" "a refused Person is not stored"
pass "bad manifests refused with 400 naming the field"

#!/usr/bin/env bash
# An apply that was answered is in force at once (issue 14, point 8): a
# script that runs `vigil apply` and then `vigil push` loses no reading,
# and a rule applied a moment ago judges the next reading. Also `vigil push`
# exits non-zero when readings are refused, and says which --precision fits
# timestamps sent in the wrong unit.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN

cat >"$VG_TMP/site.yaml" <<'EOF'
kind: Site
name: a1
spec: {location: "hall A"}
---
kind: Zone
name: a1-hall
spec: {site: a1, type: server-room}
---
kind: Device
name: a1-bms
spec: {site: a1, zone: a1-hall, driver: push}
EOF
"$VIGIL" apply -f "$VG_TMP/site.yaml" >/dev/null || fail "apply the site"

# --- five rounds: a new sensor and its rule, then a reading at once
now_ms=$(($(date +%s) * 1000))
for i in 1 2 3 4 5; do
    cat >"$VG_TMP/s$i.yaml" <<EOF
kind: Sensor
name: a1-rack-$i
spec: {zone: a1-hall, device: a1-bms, type: temperature, builtin_rules: false}
---
kind: Rule
name: a1-hot-$i
spec: {sensor: a1-rack-$i, severity: critical, above: 30}
EOF
    "$VIGIL" apply -f "$VG_TMP/s$i.yaml" >/dev/null || fail "round $i: apply sensor and rule"
    out=$(echo "a1-rack-$i value=35.5 $((now_ms + i))" | "$VIGIL" push --precision ms 2>&1) ||
        fail "round $i: push right after the apply: $out"
    assert_contains "$out" "accepted 1, rejected 0" "round $i: the reading pushed right after the apply"
done
pass "five sensors pushed to right after their apply: every reading accepted"

for i in 1 2 3 4 5; do
    for _ in $(seq 30); do
        state=$("$VIGIL" alerts -o json 2>/dev/null |
            jq -r --arg s "a1-rack-$i" '[.active[] | select(.sensor == $s) | .to] | first // empty')
        [[ $state == critical ]] && break
        sleep 0.1
    done
    assert_eq critical "$state" "alert of the rule applied just before a1-rack-$i's reading"
done
pass "each rule applied a moment before the reading raised its alert"

# what an alert waits for to clear is said (issue 14, point 5)
out=$("$VIGIL" alerts 2>&1)
assert_contains "$out" "clears with a reading below 30" "vigil alerts says what clears the alert"
clears=$("$VIGIL" alerts -o json | jq -r '[.active[] | select(.sensor == "a1-rack-1") | .clears] | first')
assert_eq "a reading below 30" "$clears" "the alert's clears field"
pass "vigil alerts says what each alert waits for to clear"

# --- a refused reading makes vigil push exit 7, after the totals
rc=0
out=$(printf 'a1-rack-1 value=21 %s\nno-such-sensor value=1 %s\n' "$((now_ms + 100))" "$((now_ms + 100))" |
    "$VIGIL" push --precision ms 2>&1) || rc=$?
assert_eq 7 "$rc" "vigil push exit status with a refused reading"
assert_contains "$out" "accepted 1, rejected 1" "totals printed before exiting"
assert_contains "$out" "no-such-sensor' is not declared" "the refusal's reason"
pass "a refused reading: totals, the reason, exit 7"

# --- timestamps in the wrong unit: the hint names the one that fits
secs=$(date +%s)
out=$(echo "a1-rack-2 value=22 $secs" | "$VIGIL" push 2>&1) || true
assert_contains "$out" "it looks like s: give --precision" "hint for seconds sent as nanoseconds"
out=$(echo "a1-rack-3 value=22 $((secs * 1000000000))" | "$VIGIL" push --precision ms 2>&1) || true
assert_contains "$out" "it looks like ns" "hint for nanoseconds sent as milliseconds"
out=$(echo "a1-rack-4 value=22 $((secs * 1000 + 500))" | "$VIGIL" push --precision ms 2>&1) ||
    fail "push with the right unit: $out"
[[ $out != *"looks like"* ]] || fail "a hint for timestamps in the right unit: $out"
pass "timestamps in the wrong unit are pointed out with the unit that fits"

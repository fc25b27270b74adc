#!/usr/bin/env bash
# Pushed readings whose sensor name holds a NUL byte, another control
# character or invalid UTF-8 (raw in line protocol, escaped in JSON) are
# refused one by one, the answer naming the line or index and why, while
# the clean readings of the same body are stored. Above all a reading for
# "a\0b" is never filed under the declared sensor "a".
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/m
vg_init "$D"
vg_start "$D" "$(vg_free_port)"
put() { # KIND NAME SPEC
    local out
    out=$(vg_api PUT "/api/v1/objects/$1/$2" "{\"spec\":$3}")
    [[ ${out%% *} == 201 ]] || fail "PUT $1/$2: $out"
}
put Site dc1 '{"location":"here"}'
put Zone z1 '{"site":"dc1"}'
put Device p1 '{"site":"dc1","zone":"z1","driver":"push"}'
put Sensor a '{"zone":"z1","device":"p1","type":"temperature"}'
put Sensor ok '{"zone":"z1","device":"p1","type":"temperature"}'

known() { vg_api GET /api/v1/sensors | cut -d' ' -f2- | jq -e 'map(.name) | index("ok")'; }
for ((i = 0; i < 100; i++)); do known >/dev/null 2>&1 && break; sleep 0.1; done
known >/dev/null || fail "the monitor did not pick up the declared sensors"

points() { # SENSOR -> number of raw points stored
    vg_api GET "/api/v1/series?sensor=$1&from=0&step=raw" | cut -d' ' -f2- | jq '.points | length'
}
errors() { echo "${1#* }" | jq -r '.errors[]'; }

# --- line protocol: raw bytes in the measurement, a tag and a field key ------
t0=$(($(date +%s) * 1000 - 60000))
printf 'a\0b value=1 %s\nok value=2 %s\nc\001d value=3 %s\n\377 value=4 %s\nm,sensor=a\177 value=5 %s\na f\0=6 %s\n' \
    "$t0" "$t0" "$t0" "$t0" "$t0" "$t0" >"$VG_TMP/body.lp"
out=$(curl -sS -o "$VG_TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $VG_TOKEN" \
    --data-binary "@$VG_TMP/body.lp" "http://127.0.0.1:$VG_PORT/api/v1/write?precision=ms")
out="$out $(cat "$VG_TMP/resp")"
assert_eq 200 "${out%% *}" "a line protocol body with bad names is not refused whole"
assert_eq "1 5" "$(echo "${out#* }" | jq -r '"\(.accepted) \(.rejected)"')" "accepted/rejected"
e=$(errors "$out")
assert_contains "$e" "line 1: sensor name 'a\\x00b' contains a NUL byte" "NUL in the measurement"
assert_contains "$e" "line 3: sensor name 'c\\x01d' contains a control character" "C0 control"
assert_contains "$e" "line 4: sensor name '\\xff' is not valid UTF-8" "invalid UTF-8"
assert_contains "$e" "line 5: sensor name 'a\\x7f' contains a control character" "DEL in the tag"
assert_contains "$e" "line 6: sensor name 'a.f\\x00' contains a NUL byte" "NUL in a field key"
pass "line protocol: each bad name refused with its line and reason, the clean line stored"

# --- JSON: the same through escapes ------------------------------------------
body='{"readings":[{"sensor":"a\u0000b","value":1,"time":'$((t0 + 1))'},
  {"sensor":"\ud800","value":2},{"sensor":"a\u001f","value":3},
  {"sensor":"ok","value":4,"time":'$((t0 + 2))'},{"sensor":"caf\u00e9","value":5}]}'
out=$(vg_api POST /api/v1/readings "$body")
assert_eq 200 "${out%% *}" "a JSON body with bad names is not refused whole"
assert_eq "1 4" "$(echo "${out#* }" | jq -r '"\(.accepted) \(.rejected)"')" "accepted/rejected"
e=$(errors "$out")
assert_contains "$e" "readings[0]: sensor name 'a\\x00b' contains a NUL byte" "escaped NUL"
assert_contains "$e" "readings[1]: sensor name '\\xed\\xa0\\x80' is not valid UTF-8" \
    "lone surrogate escape"
assert_contains "$e" "readings[2]: sensor name 'a\\x1f' contains a control character" \
    "escaped control"
assert_contains "$e" "readings[4]: sensor 'caf\\xc3\\xa9' is not declared" \
    "valid UTF-8 is looked up (and shown escaped)"
pass "JSON: each bad name refused with its index and reason, the clean reading stored"

# --- nothing was filed under another sensor ------------------------------------
assert_eq 0 "$(points a)" "readings of 'a\\0b' and 'a\\x7f' stored under 'a'"
assert_eq 2 "$(points ok)" "the clean readings"
sensors=$(vg_api GET /api/v1/sensors | cut -d' ' -f2-)
assert_eq "" "$(echo "$sensors" | jq -r '.[] | select(.name=="a") | .value // empty')" \
    "sensor 'a' has a value"
pass "no reading was filed under a truncated name"

#!/usr/bin/env bash
# Objects at the edges of what the API accepts (free-form nesting at its
# limit, keys and strings at their maximum length, multi-byte characters and
# escapes, integers and doubles at their extremes, 64 labels) are written to
# the primary of a two-member cluster, and the same objects just past a
# limit are refused with the field and the limit named. Both members are
# then restarted (each rebuilds its state from its snapshot and log) and
# every object must read back byte for byte the same on both, as before the
# restart, and carry exactly what was sent.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
# snapshots every few records, so restarts load a snapshot and replay a tail
m_start dc1 --bootstrap --snapshot-every 4
wait_until "dc1 is primary" is_primary dc1
m_start dc2 --snapshot-every 4
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1

# --- the manifests, written by python so that every byte is as intended ---
M=$VG_TMP/manifests
mkdir -p "$M"
python3 - "$M" <<'PY'
import json, sys
out = sys.argv[1]

def nest(levels, inner):
    for _ in range(levels):
        inner = {"k": inner}
    return inner

def sensor(name, source, **spec):
    s = {"zone": "z1", "device": "d1", "type": "temperature", "source": source}
    s.update(spec)
    return {"kind": "Sensor", "name": name, "spec": s}

ok = {
    # spec.source is level 1 and its map level 2: the list sits at level 8
    "depth": sensor("edge-depth", {"oid": "1.3.6.1", "map": nest(5, [1, [], {}])}),
    "key": sensor("edge-key", {"oid": "1.3.6.1", "map": {
        "\U0001F600" * 128: 1, "\u00e9" * 128: 2, "k" * 128: 3, "": 4}}),
    "numbers": sensor("edge-numbers", {"oid": "1.3.6.1", "map": {
        "max": 9223372036854775807, "min": -9223372036854775808, "neg-zero": -0.0,
        "big": 1.7976931348623157e308, "tiny": 5e-324, "third": 0.1 + 0.2}},
        scale=1e308, offset=-2.2250738585072014e-308),
    "unicode": {"kind": "Site", "name": "edge-unicode",
                "description": "line one\nline two\t\u00e9\u20ac\U0001F600 \"quoted\" back\\slash /",
                "labels": {"l%02d" % i: "v%02d" % i for i in range(64)},
                "spec": {"location": "Z\u00fcrich \u2603 \U0001F600 <&> '\"\\/",
                         "address": "\u4e2d\u6587" * 256,
                         "contacts": ["\u20ac" * 1024, "a\\b", "\"", "\u00a0\u2028\u2029"]}},
    "options": {"kind": "Device", "name": "edge-options", "spec": {
        "site": "dc1", "driver": "mqtt", "address": "127.0.0.1:9",
        "options": {"client_id": "\U0001F600" * 1024, "username": "u\u00e9", "qos": 1}}},
}
bad = {
    "too-deep": (sensor("bad-depth", {"oid": "1", "map": nest(7, [1])}),
                 "nesting deeper than 8 levels"),
    "long-key": (sensor("bad-key", {"oid": "1", "map": {"k" * 129: 1}}),
                 "key is 129 characters long, at most 128 allowed"),
    "long-string": (sensor("bad-string", {"oid": "1", "map": {"s": "x" * 1025}}),
                    "1025 characters long, at most 1024 allowed"),
    "many-keys": (sensor("bad-many", {"oid": "1", "map": {str(i): i for i in range(257)}}),
                  "257 keys, at most 256 allowed"),
}
for name, doc in ok.items():
    with open(f"{out}/ok-{name}.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=(name == "unicode"))  # escapes once, raw UTF-8 otherwise
for name, (doc, why) in bad.items():
    with open(f"{out}/bad-{name}.json", "w") as f:
        json.dump(doc, f)
    with open(f"{out}/bad-{name}.why", "w") as f:
        f.write(why)
# JSON text no member could read back: refused by the parser itself
raw = {
    "nul-key": '{"kind":"Sensor","name":"nul-key","spec":{"zone":"z1","device":"d1","type":"temperature","source":{"oid":"1","map":{"a\\u0000b":1}}}}',
    "nul-string": '{"kind":"Site","name":"nul-string","spec":{"location":"a\\u0000b"}}',
    "surrogate": '{"kind":"Site","name":"surrogate","spec":{"location":"\\ud800"}}',
    "huge-real": '{"kind":"Zone","name":"huge-real","spec":{"site":"dc1","area_m2":1e400}}',
    "huge-int": '{"kind":"Zone","name":"huge-int","spec":{"site":"dc1","floor":9223372036854775808}}',
}
for name, text in raw.items():
    with open(f"{out}/raw-{name}.json", "w") as f:
        f.write(text)
PY

api() { # MEMBER METHOD PATH [curl args] -> "CODE BODY"
    local m=$1 method=$2 path=$3
    shift 3
    local code
    code=$(curl -sS -m 10 -X "$method" -H "Authorization: Bearer $TOKEN" -o "$VG_TMP/resp" \
        -w '%{http_code}' "$@" "${URL[$m]}$path") || code=000
    echo "$code $(cat "$VG_TMP/resp")"
}
path_of() { # manifest file -> /api/v1/objects/KIND/NAME
    jq -r '"/api/v1/objects/\(.kind)/\(.name)"' "$1"
}

# --- accepted: each reads back carrying exactly what was sent ---------------
for f in "$M"/ok-*.json; do
    out=$(api dc1 PUT "$(path_of "$f")" --data-binary "@$f")
    [[ ${out%% *} == 201 ]] || fail "PUT $(basename "$f"): ${out:0:300}"
done
carries() { # MEMBER: every object on MEMBER holds what was sent
    local f
    for f in "$M"/ok-*.json; do
        curl -sS -m 10 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$(path_of "$f")" \
            >"$VG_TMP/got.json" || return 1
        python3 - "$f" "$VG_TMP/got.json" <<'PY' || return 1
import json, sys
sent = json.load(open(sys.argv[1], encoding="utf-8"))
got = json.load(open(sys.argv[2], encoding="utf-8"))
def same(a, b):  # exact: types too (1 and 1.0 differ), -0.0 kept
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b
for field in ("kind", "name", "spec", "labels", "description"):
    if field in sent and not same(sent[field], got.get(field)):
        sys.exit(f"{sent['name']}: {field} differs after the round trip")
PY
    done
}
carries dc1 || fail "an object on dc1 differs from what was sent"
n_ok=$(ls "$M"/ok-*.json | wc -l)
pass "$n_ok edge-case objects accepted and read back exactly on the primary"

# --- refused: past a limit, or not JSON any member could read back -----------
for f in "$M"/bad-*.json; do
    out=$(api dc1 PUT "$(path_of "$f")" --data-binary "@$f")
    assert_eq 400 "${out%% *}" "PUT $(basename "$f")"
    assert_contains "$out" "$(cat "${f%.json}.why")" "PUT $(basename "$f") names the limit"
    assert_contains "$out" '"field":"spec.source' "PUT $(basename "$f") names the field"
done
for f in "$M"/raw-*.json; do
    name=$(basename "$f" .json)
    name=${name#raw-}
    kind=$(grep -o '"kind":"[A-Za-z]*"' "$f" | cut -d'"' -f4)
    out=$(api dc1 PUT "/api/v1/objects/$kind/$name" --data-binary "@$f")
    assert_eq 400 "${out%% *}" "PUT $name"
    assert_contains "$out" "body is not valid JSON" "PUT $name is refused by the parser"
done
pass "past a limit: 400 naming the field and the limit; NUL, lone surrogates, 1e400 refused"

# --- the same bytes on both members, before and after restarting both -------
bodies() { # MEMBER -> one line per object, the GET body as served
    local f
    for f in "$M"/ok-*.json; do
        curl -sS -m 10 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$(path_of "$f")"
    done
}
in_step() { [[ $(bodies dc2 | md5sum) == "$(bodies dc1 | md5sum)" ]]; }
wait_until "dc2 serves the same objects as dc1" in_step
bodies dc1 >"$VG_TMP/before"

vg_stop "${PID[dc2]}" # the mirror first, so dc1 stays primary
vg_stop "${PID[dc1]}"
ls "$VG_TMP"/dc1/log/snap-*.vgs "$VG_TMP"/dc2/log/snap-*.vgs >/dev/null 2>&1 ||
    fail "no snapshot was written: the restart would only replay the log"
m_start dc1 --snapshot-every 4
wait_until "dc1 is primary again" is_primary dc1
m_start dc2 --snapshot-every 4
wait_until "dc2 is an in-sync mirror again" is_mirror_in_sync dc2 dc1

bodies dc1 >"$VG_TMP/after.dc1"
bodies dc2 >"$VG_TMP/after.dc2"
cmp -s "$VG_TMP/before" "$VG_TMP/after.dc1" || fail "dc1 reads the objects back differently"
cmp -s "$VG_TMP/before" "$VG_TMP/after.dc2" || fail "dc2 reads the objects back differently"
carries dc2 || fail "an object on dc2 differs from what was sent"
grep -q "cannot apply committed record" "$VG_TMP/dc1.log" "$VG_TMP/dc2.log" &&
    fail "a member could not apply a record"
pass "after restarting both members every object reads back byte for byte the same on both"

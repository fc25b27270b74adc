#!/usr/bin/env bash
# The recovery tools of issue item 10, on what a real vigild wrote:
#  - vigild inspect prints every object written (from the snapshot or the
#    log records), decrypted, as JSON lines; no ciphertext in the output;
#    --from/--to select records; what a forced failover set aside
#    (DATA/diverged-*/log and tail.vgl) is printed with its source;
#  - vigild verify passes a clean directory (also next to a running member,
#    which it neither blocks nor changes), names the file and byte of a
#    flipped byte in the middle of a segment (exit 1, and vigild run refuses
#    the same file), reports a torn tail as such (exit 3) which vigild run
#    then cuts;
#  - both judge the checked-in fixtures of tests/fixtures/log as recovery
#    does, and neither changes a byte of anything they read.
source "$(dirname "$0")/lib.sh"

suffix=$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')
D=$VG_TMP/member

# fingerprint DIR: every file's name, size, mtime and content hash
fingerprint() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 stat -c '%n %s %Y' &&
        find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# run_tool OUT ERR cmd...: runs a vigild tool, prints its exit status
run_tool() {
    local out=$1 errf=$2 rc=0
    shift 2
    "$VIGILD" "$@" >"$out" 2>"$errf" || rc=$?
    echo "$rc"
}

# names_in FILE: the object names in inspect output (snapshot or record)
names_in() {
    jq -r '(.object.name // .payload.object.name // empty)' "$1" | sort -u
}

# ---- help and usage --------------------------------------------------------

"$VIGILD" inspect --help | grep -q "JSON lines" || fail "inspect --help"
"$VIGILD" verify --help | grep -q "byte offset" || fail "verify --help"
"$VIGILD" --help | grep -q "^  verify" || fail "verify missing from vigild --help"
"$VIGILD" --help | grep -q "^  inspect" || fail "inspect missing from vigild --help"
assert_eq 2 "$(run_tool /dev/null /dev/null verify)" "verify without DATA"
assert_eq 2 "$(run_tool /dev/null /dev/null inspect "$VG_TMP" -o yaml)" "inspect -o yaml"
pass "help and usage errors"

# ---- a member writes, snapshots and stops ----------------------------------

vg_init "$D"
write_sites() { # FIRST LAST
    local i r
    for i in $(seq "$1" "$2"); do
        r=$(vg_api PUT "/api/v1/objects/Site/rec-$suffix-$i" \
            "{\"spec\":{\"location\":\"loc-$suffix-$i\"}}")
        [[ "$r" == 20* ]] || fail "write rec-$suffix-$i: $r"
    done
}
# first a snapshot, then records after it in small segments (two frames each)
vg_start "$D" "$(vg_free_port)" --snapshot-every 5
write_sites 1 8
for ((i = 0; i < 100; i++)); do # the snapshot child may still be writing
    ls "$D"/log/snap-*.vgs >/dev/null 2>&1 && break
    sleep 0.05
done
vg_stop "$VG_PID"
ls "$D"/log/snap-*.vgs >/dev/null 2>&1 || fail "no snapshot was written"
vg_start "$D" "$(vg_free_port)" --segment-bytes 400
write_sites 9 14
vg_stop "$VG_PID"
n_segs=$(ls "$D"/log/*.vgl | wc -l)
((n_segs >= 3)) || fail "expected several segments, got $n_segs"

# ---- inspect ---------------------------------------------------------------

before=$(fingerprint "$D")
rc=$(run_tool "$VG_TMP/inspect.out" "$VG_TMP/inspect.err" inspect "$D")
assert_eq 0 "$rc" "inspect exit status ($(cat "$VG_TMP/inspect.err"))"
jq -e . "$VG_TMP/inspect.out" >/dev/null || fail "inspect printed something that is not JSON"
[[ $(wc -l <"$VG_TMP/inspect.out") == $(jq -c . "$VG_TMP/inspect.out" | wc -l) ]] ||
    fail "inspect output is not one JSON value per line"
names=$(names_in "$VG_TMP/inspect.out")
for i in $(seq 1 14); do
    grep -qx "rec-$suffix-$i" <<<"$names" || fail "object rec-$suffix-$i not in inspect output"
    n=$(jq -r --arg n "rec-$suffix-$i" \
        'select((.object.name // .payload.object.name) == $n) |
         (.object.spec.location // .payload.object.spec.location)' "$VG_TMP/inspect.out" |
        sort -u)
    assert_eq "loc-$suffix-$i" "$n" "content of rec-$suffix-$i"
done
jq -e -s 'map(select(.snapshot)) | length > 0' "$VG_TMP/inspect.out" >/dev/null ||
    fail "no snapshot line in inspect output"
jq -e -s 'map(select(.index)) | all(.type != null and (.payload | type) == "object")' \
    "$VG_TMP/inspect.out" >/dev/null || fail "a record line without a decoded payload"
jq -e -s 'map(select(.type == "token_create" or .token.role == "admin")) | length >= 1' \
    "$VG_TMP/inspect.out" >/dev/null || fail "the admin token is not shown"
pass "inspect prints every object written, decrypted, from snapshot and log"

# Nothing sealed shows through: the ciphertext of the first frame of every
# segment (frame: u32 length, 24-byte header, 24-byte nonce, then sealed
# bytes) appears neither as hex nor as base64.
for seg in "$D"/log/*.vgl; do
    hex=$(od -An -tx1 -j $((32 + 52)) -N 16 "$seg" | tr -d ' \n')
    b64=$(dd if="$seg" bs=1 skip=$((32 + 52)) count=15 status=none | base64)
    [[ ${#hex} == 32 ]] || fail "cannot read ciphertext of $seg"
    ! grep -qi -- "$hex" "$VG_TMP/inspect.out" || fail "ciphertext of $seg (hex) in output"
    ! grep -qF -- "$b64" "$VG_TMP/inspect.out" || fail "ciphertext of $seg (base64) in output"
done
! grep -q '"payload_hex"' "$VG_TMP/inspect.out" || fail "undecoded payload bytes in output"
pass "inspect output holds no ciphertext"

last=$(jq -s 'map(.index // 0) | max' "$VG_TMP/inspect.out")
first=$(jq -s 'map(select(.index) | .index) | min' "$VG_TMP/inspect.out")
"$VIGILD" inspect "$D" --from "$last" --to "$last" >"$VG_TMP/one.out"
assert_eq "$last" "$(jq -s -c 'map(select(.index) | .index)' "$VG_TMP/one.out" | tr -d '[]')" \
    "inspect --from $last --to $last"
((first < last)) || fail "expected more than one record on disk"
pass "inspect --from/--to selects records by index"

# ---- verify, also next to a running member ---------------------------------

rc=$(run_tool "$VG_TMP/verify.out" "$VG_TMP/verify.err" verify "$D")
assert_eq 0 "$rc" "verify of a clean data dir ($(cat "$VG_TMP/verify.err"))"
assert_eq 1 "$(wc -l <"$VG_TMP/verify.out")" "verify prints one summary line"
summary=$(cat "$VG_TMP/verify.out")
assert_contains "$summary" "$n_segs segments" "verify summary"
assert_contains "$summary" "1 snapshots" "verify summary"
assert_contains "$summary" "all authentic" "verify summary"
after=$(fingerprint "$D")
[[ "$before" == "$after" ]] || fail "inspect or verify changed the data dir"
pass "verify passes a clean data dir; inspect and verify changed nothing"

vg_start "$D" "$(vg_free_port)"
rc=$(run_tool "$VG_TMP/verify.out" "$VG_TMP/verify.err" verify "$D")
assert_eq 0 "$rc" "verify next to a running member ($(cat "$VG_TMP/verify.err"))"
assert_contains "$(cat "$VG_TMP/verify.err")" "running vigild" "verify's note on the member"
r=$(vg_api PUT "/api/v1/objects/Site/after-verify" '{"spec":{"location":"x"}}')
[[ "$r" == 20* ]] || fail "the member does not take writes after verify: $r"
vg_stop "$VG_PID"
vg_start "$D" "$(vg_free_port)" # verify left no lock that keeps it out
vg_stop "$VG_PID"
pass "verify runs next to a live member without holding it up"

# ---- what a forced failover sets aside -------------------------------------

# Another member with the same keyring writes its own objects; its log is
# moved aside into DATA/diverged-<ms>/log as vg_cluster_set_aside does, and
# the frames of its newest segment become DATA/diverged-<ms>/tail.vgl as
# peer.c's keep_records writes them (frames as on disk, no header).
O=$VG_TMP/other
out=$("$VIGILD" init --data "$O" --key-file "$D/keyring" 2>/dev/null) || fail "init $O"
VG_TOKEN=${out#admin token: }
vg_start "$O" "$(vg_free_port)" --segment-bytes 700
for i in 1 2 3 4 5; do
    r=$(vg_api PUT "/api/v1/objects/Site/div-$suffix-$i" '{"spec":{"location":"aside"}}')
    [[ "$r" == 20* ]] || fail "write div-$suffix-$i: $r"
done
vg_stop "$VG_PID"
newest=$(ls "$O"/log/*.vgl | tail -1)
mkdir -m 0700 "$D/diverged-1700000000000" "$D/diverged-1700000000999"
tail -c +33 "$newest" >"$D/diverged-1700000000999/tail.vgl"
tail_first=$(od -An -tu8 -j 12 -N 8 "$D/diverged-1700000000999/tail.vgl" | tr -d ' ')
mv "$O/log" "$D/diverged-1700000000000/log"

rc=$(run_tool "$VG_TMP/inspect.out" "$VG_TMP/inspect.err" inspect "$D")
assert_eq 0 "$rc" "inspect with diverged dirs ($(cat "$VG_TMP/inspect.err"))"
jq -c 'select(.source | test("/diverged-1700000000000/log/"))' "$VG_TMP/inspect.out" \
    >"$VG_TMP/aside.out"
div=$(names_in "$VG_TMP/aside.out")
for i in 1 2 3 4 5; do
    grep -qx "div-$suffix-$i" <<<"$div" || fail "div-$suffix-$i not shown from diverged log"
done
! grep -q "rec-$suffix" <<<"$div" || fail "the member's own objects shown as set aside"
jq -c 'select(.source | test("/diverged-1700000000999/tail.vgl$"))' "$VG_TMP/inspect.out" \
    >"$VG_TMP/tail.out"
[[ -s "$VG_TMP/tail.out" ]] || fail "nothing shown from tail.vgl"
assert_eq "$tail_first" "$(jq -s 'map(.index) | min' "$VG_TMP/tail.out")" \
    "first index shown from tail.vgl"
grep -q "div-$suffix-5" "$VG_TMP/tail.out" || fail "the last object is not in tail.vgl output"
pass "inspect shows what a forced failover set aside, by source"

rc=$(run_tool "$VG_TMP/verify.out" "$VG_TMP/verify.err" verify "$D")
assert_eq 0 "$rc" "verify with diverged dirs ($(cat "$VG_TMP/verify.err"))"
assert_contains "$(cat "$VG_TMP/verify.out")" "1 set-aside frame files" "verify summary"
rc=$(run_tool "$VG_TMP/one.out" "$VG_TMP/one.err" inspect "$D/diverged-1700000000999" \
    --key-file "$D/keyring")
assert_eq 0 "$rc" "inspect of one diverged dir"
assert_eq "$(wc -l <"$VG_TMP/tail.out")" "$(wc -l <"$VG_TMP/one.out")" "lines of one diverged dir"
rc=$(run_tool /dev/null "$VG_TMP/one.err" verify "$D/diverged-1700000000999")
assert_eq 1 "$rc" "verify of a diverged dir without --key-file"
assert_contains "$(cat "$VG_TMP/one.err")" "--key-file" "the missing keyring message"
pass "verify checks what was set aside; a diverged dir can be read by itself"

# ---- damage in the middle of a segment --------------------------------------

# the first segment holding two frames or more: its first frame is then
# followed by an authentic one, so a flipped byte in it cannot be a torn tail
C=$VG_TMP/corrupt
cp -a "$D" "$C"
rm -rf "$C"/diverged-*
target=""
for seg in "$C"/log/*.vgl; do
    len=$(od -An -tu4 -j 32 -N 4 "$seg" | tr -d ' ')
    if (($(stat -c %s "$seg") > 32 + 4 + len)); then
        target=$seg
        break
    fi
done
[[ -n "$target" ]] || fail "no segment with two frames to damage"
at=$((32 + 4 + 24 + 24 + 10)) # in the first frame's ciphertext
byte=$(od -An -tu1 -j "$at" -N 1 "$target" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 0x20)))" |
    dd of="$target" bs=1 seek="$at" conv=notrunc status=none
before=$(fingerprint "$C")
rc=$(run_tool "$VG_TMP/verify.out" "$VG_TMP/verify.err" verify "$C")
assert_eq 1 "$rc" "verify of a damaged segment"
said=$(cat "$VG_TMP/verify.err")
assert_contains "$said" "'$target' is corrupt at byte 32" "verify names the file and offset"
rc=$(run_tool "$VG_TMP/inspect.out" "$VG_TMP/inspect.err" inspect "$C")
assert_eq 1 "$rc" "inspect of a damaged segment"
assert_contains "$(cat "$VG_TMP/inspect.err")" "'$target' is corrupt at byte 32" \
    "inspect names the damage"
[[ "$before" == "$(fingerprint "$C")" ]] || fail "verify or inspect changed the damaged dir"
"$VIGILD" run --data "$C" --listen "127.0.0.1:$(vg_free_port)" >"$C.log" 2>&1 &&
    fail "vigild run started on the damaged dir"
grep -q "'$target' is corrupt at byte 32" "$C.log" || fail "vigild run judged otherwise"
pass "a flipped byte mid-segment: verify names file and byte and exits 1, as run refuses"

# ---- a torn tail --------------------------------------------------------------

T=$VG_TMP/torn
cp -a "$D" "$T"
rm -rf "$T"/diverged-*
tail_seg=$(ls "$T"/log/*.vgl | tail -1)
size=$(stat -c %s "$tail_seg")
truncate -s $((size - 7)) "$tail_seg"
rc=$(run_tool "$VG_TMP/verify.out" "$VG_TMP/verify.err" verify "$T")
assert_eq 3 "$rc" "verify of a torn tail ($(cat "$VG_TMP/verify.err"))"
assert_contains "$(cat "$VG_TMP/verify.err")" "'$tail_seg' ends in a torn tail" "torn tail"
assert_eq $((size - 7)) "$(stat -c %s "$tail_seg")" "verify must not cut the tail"
vg_start "$T" "$(vg_free_port)"
vg_stop "$VG_PID"
grep -q "cutting torn tail" "$T.log" || fail "vigild run did not cut the torn tail"
assert_eq 0 "$(run_tool /dev/null "$VG_TMP/verify.err" verify "$T")" "verify after run cut it"
pass "a torn tail: verify reports it as such (exit 3), run cuts it, verify then passes"

# ---- the checked-in fixtures ---------------------------------------------------

FX=$VG_SOURCE/tests/fixtures/log
install -m 0600 "$FX/keyring" "$VG_TMP/fixture.keyring"
fx_before=$(fingerprint "$FX")
fx() { # NAME STATUS TEXT: verify's exit status and what it says
    local rc
    rc=$(run_tool "$VG_TMP/fx.out" "$VG_TMP/fx.err" verify "$FX/$1" \
        --key-file "$VG_TMP/fixture.keyring")
    assert_eq "$2" "$rc" "verify of fixture $1 ($(cat "$VG_TMP/fx.err"))"
    assert_contains "$(cat "$VG_TMP/fx.out" "$VG_TMP/fx.err")" "$3" "verify of fixture $1"
}
fx clean 0 "3 segments, 9 records"
fx corrupt-middle 1 "00000000000000000007.vgl' is corrupt at byte 116"
fx torn-tail 3 "00000000000000000007.vgl' ends in a torn tail (a frame cut short) at byte 200"
fx zero-tail 3 "00000000000000000007.vgl' ends in zero fill at byte 284"
fx index-gap 1 "index gap"
"$VIGILD" inspect "$FX/clean" --key-file "$VG_TMP/fixture.keyring" >"$VG_TMP/fx.out"
assert_eq "$(printf 'record %d fixture\n' 1 2 3 4 5 6 7 8 9)" \
    "$(jq -r .payload_text "$VG_TMP/fx.out")" "inspect of the clean fixture"
"$VIGILD" inspect "$FX/torn-tail" --key-file "$VG_TMP/fixture.keyring" >"$VG_TMP/fx.out" \
    2>"$VG_TMP/fx.err"
assert_eq 8 "$(wc -l <"$VG_TMP/fx.out")" "records shown before a torn tail"
assert_contains "$(cat "$VG_TMP/fx.err")" "torn tail at byte 200" "inspect's note on the tail"
other=$VG_TMP/other.keyring
"$VIGILD" init --data "$VG_TMP/k" >/dev/null 2>&1 && cp "$VG_TMP/k/keyring" "$other"
assert_eq 1 "$(run_tool /dev/null "$VG_TMP/fx.err" verify "$FX/clean" --key-file "$other")" \
    "verify with the wrong keyring"
assert_contains "$(cat "$VG_TMP/fx.err")" "wrong keyring?" "verify with the wrong keyring"
[[ "$fx_before" == "$(fingerprint "$FX")" ]] || fail "verify or inspect changed a fixture"
pass "the fixtures: clean 0, torn and zero tails 3, damage and index gap 1, unchanged"

echo "recovery: all checks passed"

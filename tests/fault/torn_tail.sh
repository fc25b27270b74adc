#!/usr/bin/env bash
# A torn write at the tail of a member's log (a power cut while it wrote),
# on the member that then rejoins as mirror: the other one took over and
# holds every committed record, so the torn member must start, cut the torn
# tail with a warning (DESIGN.md section 2: "a torn or corrupt tail is
# detected and cut on recovery") and copy back what it lost.
#  1. Writes stop; the primary dc1 is killed (kill -9) with everything
#     committed on both, and its newest segment (DATA/log/*.vgl) is cut in
#     the middle of its last frame: a record dc1 had made durable and
#     committed is gone from its disk. dc2 takes over; dc1 restarted cuts
#     the torn frame, rejoins as mirror and gets the record back from dc2.
#  2. With writes going on, the primary dc2 is killed and the start of a
#     new frame followed by garbage is appended to its newest segment (a
#     record being written when the power went). dc1 takes over; dc2
#     restarted cuts it and rejoins as mirror.
# Every acknowledged write is on both members, which hold the same objects.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgc_require_runtime
vgn_setup
vgc_cluster_up

# tear DATA MODE: tear the newest log segment of DATA. MODE cut: cut the last
# frame in half; garbage: append the first half of a copy of the last frame
# (a frame header naming the next index) and 64 random bytes. Prints
# "SEGMENT OFFSET INDEX EPOCH": where recovery must cut, and the record torn
# (cut) or the last whole record (garbage).
tear() {
    python3 - "$1" "$2" <<'EOF'
import glob, os, struct, sys
data, mode = sys.argv[1], sys.argv[2]
segs = sorted(glob.glob(os.path.join(data, "log", "*.vgl")))
if not segs:
    sys.exit(f"tear: no log segment in {data}/log")
seg = segs[-1]
raw = open(seg, "rb").read()
off, last = 32, None                       # segment header; frames: u32 len, u64 epoch, u64 index, ...
while off + 4 <= len(raw):
    n = struct.unpack_from("<I", raw, off)[0]
    if off + 4 + n > len(raw):
        sys.exit(f"tear: {seg} already ends in a partial frame at byte {off}")
    last, off = off, off + 4 + n
if last is None or off != len(raw):
    sys.exit(f"tear: {seg} holds no whole frame (size {len(raw)})")
flen = 4 + struct.unpack_from("<I", raw, last)[0]
epoch, index = struct.unpack_from("<QQ", raw, last + 4)
if mode == "cut":
    with open(seg, "r+b") as f:
        f.truncate(last + flen // 2)
        os.fsync(f.fileno())
    print(seg, last, index, epoch)
else:
    frame = bytearray(raw[last:last + flen])
    struct.pack_into("<Q", frame, 12, index + 1)
    with open(seg, "ab") as f:
        f.write(bytes(frame[:flen // 2]) + os.urandom(64))
        os.fsync(f.fileno())
    print(seg, len(raw), index, epoch)
EOF
}

# --- 1. dc1 (primary, everything committed) torn in its last frame -----------
vgc_writer_start --workers 2 --interval 0.005
sleep 1
vgc_writer_stop
run1=$VGC_RUN
mv "$VGC_DIR/acked" "$VGC_DIR/acked.1"
mv "$VGC_DIR/acked.unknown" "$VGC_DIR/acked.1.unknown"
vgc_wait_mirrored 3 || fail "dc2 not in sync before the kill"
committed=$(vgc_cluster dc1 | jq .self.commit_index)
vgc_kill9 dc1
read -r seg off idx epoch <<<"$(tear "$VGC_DIR/D1" cut)" || fail "could not tear dc1's log"
((idx <= committed)) || fail "the torn record $idx was not committed (commit index $committed): the test means to tear a committed one"
pass "dc1 killed and its log torn: ${seg##*/} cut in the middle of record $idx (epoch $epoch, committed: commit index $committed)"
vgc_wait_primary dc2 3 || fail "no failover to dc2"

VGC_RUN=""
vgc_writer_start --workers 2 --interval 0.005
t_w2=$(vgc_now)
vgc_start_member dc1
grep -q "cutting torn tail at byte $off " "$VGC_LOGS/dc1.log" ||
    fail "dc1 did not warn that it cut the torn tail at byte $off: $(grep -i 'torn\|segment' "$VGC_LOGS/dc1.log")"
vgc_wait_mirrored 10 || fail "dc1 did not rejoin as mirror after its torn tail was cut"
assert_eq mirror "$(vgc_cluster dc1 | jq -r .role)" "role of dc1"
out=$(VGC_RUN=$run1 vgc_check dc1 --acked "$VGC_DIR/acked.1" --also "$(vgc_url dc2)" --wait 10 2>&1) ||
    fail "the writes acknowledged before the tear: $out"
pass "dc1 restarted: cut its torn tail with a warning, rejoined as mirror; writes before the tear: $(vgc_summary "$out") on both"

# --- 2. dc2 (primary, writes going on) with a half-written frame --------------
sleep 0.5
vgc_kill9 dc2
read -r seg off idx epoch <<<"$(tear "$VGC_DIR/D2" garbage)" || fail "could not tear dc2's log"
pass "dc2 killed under writes; a half-written frame and garbage appended to ${seg##*/} after record $idx (byte $off)"
vgc_wait_primary dc1 3 || fail "no failover to dc1"
vgc_start_member dc2
grep -q "cutting torn tail at byte $off " "$VGC_LOGS/dc2.log" ||
    fail "dc2 did not warn that it cut the torn tail at byte $off: $(grep -i 'torn\|segment' "$VGC_LOGS/dc2.log")"
vgc_wait_mirrored 10 || fail "dc2 did not rejoin as mirror after its torn tail was cut"
assert_eq mirror "$(vgc_cluster dc2 | jq -r .role)" "role of dc2"
sleep 0.3
vgc_writer_stop
r=$(vgc_maxgap --from "$t_w2" --to "$(vgc_now)" --max 3) || fail "writes paused over 3 s: $r"

out=$(vgc_check dc1 --also "$(vgc_url dc2)" --wait 10 2>&1) || fail "after the torn tails: $out"
out1=$(VGC_RUN=$run1 vgc_check dc1 --acked "$VGC_DIR/acked.1" --also "$(vgc_url dc2)" --wait 10 2>&1) ||
    fail "the writes acknowledged before the first tear: $out1"
vgc_check_epochs
pass "dc2 restarted: cut its torn tail, rejoined as mirror; $(vgc_summary "$out1") + $(vgc_summary "$out") on both; $VGC_EPOCHS"

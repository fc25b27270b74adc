#!/usr/bin/env bash
# Disk full on a standalone member, on a small file system the test mounts
# itself (a loop-mounted ext4 image, where fsync and block allocation
# behave as on a disk; tmpfs if loop devices are not available): writes
# until the first refusal, which must be a 507 naming the data directory;
# a filler file made at the start (so that deleting it frees space) and
# another one take the rest. While full: every acknowledged object reads
# back, /healthz stays 200, /readyz says not ready, /metrics shows
# vigil_disk_full 1, the log says so once, and pushed readings get 507 too.
# Deleting the filler lets writes through again within seconds, without a
# restart; after kill -9 every acknowledged object and reading is there and
# recovery finds nothing torn or corrupt.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || {
    echo "SKIP: mounting a small file system needs root"
    exit 77
}

MNT=$VG_TMP/mnt
mkdir -p "$MNT"
disk_cleanup() {
    local pid
    for pid in "${VG_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    mountpoint -q "$MNT" && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }
    vg_cleanup
}
trap disk_cleanup EXIT

truncate -s 10M "$VG_TMP/disk.img"
if mkfs.ext4 -q -F -m 0 "$VG_TMP/disk.img" >/dev/null 2>&1 &&
    mount -o loop "$VG_TMP/disk.img" "$MNT" 2>/dev/null; then
    fs=ext4
elif mount -t tmpfs -o size=10m tmpfs "$MNT" 2>/dev/null; then
    fs=tmpfs
else
    echo "SKIP: cannot mount a loop ext4 image or a tmpfs here"
    exit 77
fi

# space that deleting the fillers gives back later
dd if=/dev/zero of="$MNT/filler" bs=1M count=3 2>/dev/null || fail "cannot write the filler"
D=$MNT/data
LOG=$VG_TMP/vigild.log
vg_init "$D"
start() { # vigild's output goes outside the full file system
    "$VIGILD" run --data "$D" --listen "127.0.0.1:$VG_PORT" --no-collect \
        --snapshot-every 300 --segment-bytes 262144 >>"$LOG" 2>&1 &
    VG_PID=$!
    VG_PIDS+=("$VG_PID")
    vg_wait_ready "$VG_PORT" || fail "vigild did not become ready"
}
VG_PORT=$(vg_free_port)
start
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
"$VIGIL" apply -f "$VG_SOURCE/tests/fixtures/facility/site.yaml" >/dev/null ||
    fail "apply the test site"

push() { # BODY -> "CODE BODY"
    curl -sS -o "$VG_TMP/push" -w '%{http_code}' -H "Authorization: Bearer $VG_TOKEN" \
        --data-binary "$1" "http://127.0.0.1:$VG_PORT/api/v1/write?precision=ms"
    echo " $(cat "$VG_TMP/push")"
}
t0=$(($(date +%s) * 1000 - 600000))
for ((i = 0; i < 50; i++)); do # the monitor picks the new sensors up once they are quiet
    out=$(push "t1-rack-8 value=20.5 $t0")
    [[ $(echo "${out#* }" | jq .accepted 2>/dev/null) == 1 ]] && break
    sleep 0.1
done
assert_eq "200 1" "${out%% *} $(echo "${out#* }" | jq .accepted)" "push a reading before the disk fills"

# writer.py MODE FIRST COUNT: PUTs Sites d<FIRST>.. with a 900-character
# description each over one connection; appends "name description-tag" of
# every 2xx to $ACKED. fill: stop at the first refusal and print it (code
# and body); try: make COUNT attempts, print each code.
ACKED=$VG_TMP/acked
: >"$ACKED"
cat >"$VG_TMP/writer.py" <<'PY'
import http.client, json, sys
mode, first, count, port, token, acked = sys.argv[1:7]
first, count = int(first), int(count)
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
hdrs = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
with open(acked, "a") as out:
    for n in range(first, first + count):
        tag = "v%d-" % n
        body = {"description": tag + "x" * 900, "spec": {"location": "row %d" % n}}
        conn.request("PUT", "/api/v1/objects/Site/d%d" % n, json.dumps(body), hdrs)
        resp = conn.getresponse()
        text = resp.read().decode()
        if 200 <= resp.status < 300:
            out.write("d%d %s\n" % (n, tag))
            out.flush()
        if mode == "try":
            print(resp.status)
        elif resp.status >= 300:
            print(resp.status, text.strip())
            sys.exit(0)
if mode == "fill":
    print("no refusal")
PY
writer() { python3 "$VG_TMP/writer.py" "$@" "$VG_PORT" "$VG_TOKEN" "$ACKED"; }

# --- fill the file system with objects until the first refusal
refusal=$(writer fill 1 40000 | head -1)
n_acked=$(wc -l <"$ACKED")
((n_acked > 100)) || fail "only $n_acked writes before the disk was full: $refusal"
assert_eq 507 "${refusal%% *}" "status of the first refused write ($n_acked acknowledged)"
assert_contains "$refusal" "$D" "the 507 names the data directory"
assert_contains "$refusal" "is full" "the 507 says the disk is full"
pass "$fs: $n_acked writes acknowledged, then 507: ${refusal#* }"

# whatever space is left goes to a second filler, so that nothing can be written
dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null || true
sync
codes=$(writer try 50001 10 | tr '\n' ' ')
[[ $codes == *"507 " ]] || fail "writes on a full disk: the last is not 507 ($codes)"
[[ $codes =~ ^((2[0-9][0-9]|507)\ )+$ ]] || fail "writes on a full disk: only 2xx or 507 allowed ($codes)"
pass "writes with the disk full: $codes"

# --- while full: reads, health, readiness, metric, one log line, readings
check_objects() { # WHAT: every acknowledged object is there with its content
    curl -sS -H "Authorization: Bearer $VG_TOKEN" "http://127.0.0.1:$VG_PORT/api/v1/objects/Site" |
        jq -r '.items[] | select(.name | startswith("d")) | "\(.name) \((.description // "") | split("x")[0])"' | sort >"$VG_TMP/stored"
    local missing
    missing=$(comm -23 <(sort "$ACKED") "$VG_TMP/stored")
    [[ -z "$missing" ]] || fail "$1: acknowledged objects missing or changed: $(head -3 <<<"$missing")"
}
check_objects "disk full"
pass "all $(wc -l <"$ACKED") acknowledged objects read back while the disk is full"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VG_PORT/healthz")" "/healthz while full"
assert_eq 503 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VG_PORT/readyz")" "/readyz while full"
metric() { vg_api GET /metrics | grep "^$1 " | awk '{print $2}'; }
assert_eq 1 "$(metric vigil_disk_full)" "vigil_disk_full while full"
n_said=$(grep -c "data directory '$D' is full.*writes are refused" "$LOG" || true)
assert_eq 1 "$n_said" "times the log says the disk is full"
out=$(push "t1-rack-8 value=22.5 $((t0 + 1000))")
assert_eq 507 "${out%% *}" "readings pushed while the disk is full"
assert_contains "$out" "$D" "the readings' 507 names the data directory"
out=$(vg_api POST /api/v1/readings "{\"readings\":[{\"sensor\":\"t1-rack-8\",\"time\":$((t0 + 1500)),\"value\":22.7}]}")
assert_eq 507 "${out%% *}" "JSON readings pushed while the disk is full"
pass "while full: reads work, /healthz 200, /readyz 503, vigil_disk_full 1, said once, readings 507"

# --- space freed: writes go through again, without a restart
rm -f "$MNT/filler" "$MNT/filler2"
sync
ok=0
for ((i = 0; i < 50 && !ok; i++)); do
    code=$(writer try $((60001 + i)) 1)
    [[ $code == 2* ]] && ok=1 || sleep 0.1
done
((ok)) || fail "no write succeeded within 5 s of freeing space (last: $code)"
for ((i = 0; i < 30; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VG_PORT/readyz") == 200 ]] && break
    sleep 0.1
done
assert_eq 0 "$(metric vigil_disk_full)" "vigil_disk_full once space is freed"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VG_PORT/readyz")" "/readyz once space is freed"
codes=$(writer try 70001 20 | sort -u | tr '\n' ' ')
[[ $codes =~ ^(20[01]\ )+$ ]] || fail "writes after freeing space: $codes"
out=$(push "t1-rack-8 value=23.5 $((t0 + 2000))")
assert_eq 200 "${out%% *}" "readings pushed once space is freed"
assert_eq 1 "$(echo "${out#* }" | jq .accepted)" "reading accepted once space is freed"
grep -q "data directory '$D' has free space again" "$LOG" || fail "the log does not say writes resume"
pass "space freed: writes and readings stored again without a restart"

# --- kill -9 and restart: everything acknowledged is there, nothing torn
kill -9 "$VG_PID"
wait "$VG_PID" 2>/dev/null || true
mark=$(wc -l <"$LOG")
start
after=$(tail -n +"$((mark + 1))" "$LOG")
if grep -Eqi "corrupt|torn|cutting" <<<"$after"; then
    fail "recovery after a full disk complains: $(grep -Ei "corrupt|torn|cutting" <<<"$after" | head -3)"
fi
check_objects "after kill -9 and restart"
points=$(vg_api GET "/api/v1/series?sensor=t1-rack-8&from=$t0&to=$((t0 + 5000))&step=raw" |
    cut -d' ' -f2- | jq -c '[.points[] | .[1]]')
assert_eq "[20.5,23.5]" "$points" "readings acknowledged before and after the full disk"
pass "after kill -9: all $(wc -l <"$ACKED") acknowledged objects and both readings there, recovery clean"

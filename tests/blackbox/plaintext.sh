#!/usr/bin/env bash
# No plaintext reaches disk: a unique marker written through the API (in a
# label, the description and the spec) and the API tokens must not appear in
# any file under the data dir or vigild's temp dir, in the log, the
# snapshots or anywhere else, before and after a restart.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
T=$VG_TMP/tmpdir
mkdir -p "$T"
vg_init "$D"
VG_PORT=$(vg_free_port)
export TMPDIR=$T
# small snapshot interval and segments, so snapshots and rollover happen
vg_start "$D" "$VG_PORT" --snapshot-every 20 --segment-bytes 4096
unset TMPDIR

marker="plaintext-marker-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
for i in $(seq 1 60); do
    r=$(vg_api PUT "/api/v1/objects/Site/m$i" \
        "{\"labels\":{\"probe\":\"$marker\"},\"description\":\"$marker $i\",\"spec\":{\"location\":\"$marker\"}}")
    [[ ${r%% *} == 201 ]] || fail "write $i: $r"
done
r=$(vg_api POST /api/v1/tokens '{"name":"probe","role":"viewer"}')
viewer=$(jq -r .token <<<"${r#* }")
sleep 0.5 # let the writer take its snapshot

scan() { # what
    local hits=""
    for needle in "$marker" "$VG_TOKEN" "$viewer" "${VG_TOKEN#vgt_*_}"; do
        if grep -rl --binary-files=text -F -- "$needle" "$D" "$T" 2>/dev/null; then
            hits+="$needle "
        fi
    done
    [[ -z "$hits" ]] || fail "$1: plaintext found on disk"
    local n_files
    n_files=$(find "$D" "$T" -type f | wc -l)
    ((n_files > 3)) || fail "$1: expected log segments and snapshots, found $n_files files"
    ls "$D"/log/*.vgs >/dev/null 2>&1 || fail "$1: no snapshot was written"
}
scan "while running"
pass "no marker or token in $(find "$D" -type f | wc -l) files while running"

vg_stop "$VG_PID"
scan "after shutdown"
TMPDIR=$T vg_start "$D" "$VG_PORT"
r=$(vg_api GET /api/v1/objects/Site/m60)
assert_eq "$marker 60" "$(jq -r .description <<<"${r#* }")" "marker readable through the API"
scan "after restart"
pass "no plaintext after restart; data still readable through the API"

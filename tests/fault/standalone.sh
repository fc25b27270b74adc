#!/usr/bin/env bash
# The fault tooling end to end on one real member: a standalone vigild in the
# dc1 namespace behind HTTPS (certificate from vigil pki with its namespace
# address), acknowledged writes from the client namespace to both member
# URLs (dc2 has nobody: refused, skipped), then the clients are cut from dc1
# for a second and vigild is SIGSTOPped for a second. Writes stop and resume
# each time, and every acknowledged write is there at the end. Uses
# cluster_lib.sh's helpers that do not need the cluster runtime.
source "$(dirname "$0")/../blackbox/lib.sh"
source "$(dirname "$0")/netns.sh"
source "$(dirname "$0")/cluster_lib.sh"
vgn_setup

vgc_pki
out=$("$VIGILD" init --data "$VGC_DIR/D1" -o json 2>/dev/null) || fail "vigild init"
VGC_TOKEN=$(jq -r .admin_token <<<"$out")
vgn_bg dc1 "$VGC_LOGS/dc1.log" "$VIGILD" run --data "$VGC_DIR/D1" --listen "$(vgc_ip dc1):$VGC_API_PORT" \
    --tls-cert "$VGC_PKI/dc1.crt" --tls-key "$VGC_PKI/dc1.key"
VGC_PID[dc1]=$VGN_LAST_PID
for _ in $(seq 200); do
    [[ $(vgc_api dc1 GET /readyz) == "200 ready" ]] && break
    sleep 0.05
done
assert_eq "200 ready" "$(vgc_api dc1 GET /readyz)" "readyz of vigild in dc1"
role=$(vgc_cli status -o json | jq -r .role) || fail "vigil status from the client namespace"
assert_eq standalone "$role" "vigil status over both URLs"
pass "vigild in namespace dc1 serves HTTPS on $(vgc_url dc1); the CLI reaches it from cli"

vgc_writer_start --workers 2 --interval 0.005 --timeout 0.5
sleep 1
vgn_cut cli dc1
t_cut=$(vgc_now)
sleep 1
t_heal=$(vgc_now)
vgn_heal cli dc1
sleep 1.5
vgc_stop dc1
t_stop=$(vgc_now)
sleep 1
t_cont=$(vgc_now) # before the signal: vigild may answer at once
vgc_cont dc1
sleep 1.5
vgc_writer_stop

n_cut=$(vgc_acks_between "$(awk -v t="$t_cut" 'BEGIN { printf "%.6f", t + 0.6 }')" "$t_heal")
n_stop=$(vgc_acks_between "$(awk -v t="$t_stop" 'BEGIN { printf "%.6f", t + 0.6 }')" "$t_cont")
((n_cut == 0)) || fail "$n_cut writes acknowledged while the clients were cut from dc1"
((n_stop == 0)) || fail "$n_stop writes acknowledged while vigild was stopped"
for what in "heal:$t_heal" "SIGCONT:$t_cont"; do
    r=$(vgc_maxgap --after "${what#*:}" --max 3) ||
        fail "writes did not resume within 3 s of the ${what%%:*}: $r"
    pass "writes resumed $(jq .resumed_after_s <<<"$r") s after the ${what%%:*}"
done
(($(jq .refused <<<"$VGC_WRITER") > 0)) || fail "no write was refused by the empty dc2 address"
(($(jq .unknown <<<"$VGC_WRITER") > 0)) || fail "no write timed out during the cut"

out=$(vgc_check dc1 2>&1) || fail "check: $out"
pass "$(grep '^check http' <<<"$out")"

#!/usr/bin/env bash
# A mirror initialised with a keyring of its own (issue 14, point 3): both
# members find out when they first talk, say so once in their logs and in
# `vigil cluster status`, and the primary does not redial ten times a
# second. Re-initialised with the primary's keyring, the mirror joins.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
# dc2 with a keyring of its own, as a newcomer who forgot --key-file's file
rm -rf "${VG_TMP:?}/dc2"
"$VIGILD" init --data "$VG_TMP/other" >/dev/null 2>&1 || fail "init another member"
"$VIGILD" init --data "$VG_TMP/dc2" --key-file "$VG_TMP/other/keyring" --mirror >/dev/null ||
    fail "init dc2 with another keyring"
m_start dc1 --bootstrap
"$VIGILD" run --node "$VG_TMP/dc2.yaml" >>"$VG_TMP/dc2.log" 2>&1 &
PID[dc2]=$!
VG_PIDS+=("${PID[dc2]}")

said() { grep -c "keyrings differ" "$VG_TMP/$1.log" || true; }
has_said() { (($(said "$1") >= 1)); }
wait_until "dc1 says the keyrings differ" has_said dc1
wait_until "dc2 says the keyrings differ" has_said dc2
sleep 2 # what a retry storm would fill
assert_eq 1 "$(said dc1)" "times dc1's log says the keyrings differ"
assert_eq 1 "$(said dc2)" "times dc2's log says the keyrings differ"
n_auth=$(grep -c "failed authentication" "$VG_TMP/dc2.log" || true)
assert_eq 0 "$n_auth" "records dc2 failed to authenticate"
out=$("$VIGIL" -s "${URL[dc1]}" --token "$TOKEN" cluster status 2>&1) || true
assert_contains "$out" "PROBLEM:" "vigil cluster status on dc1 shows a problem line"
assert_contains "$out" "keyrings differ" "the problem is the keyrings"
assert_contains "$out" "--key-file" "the problem says how to fix it"
problem=$(view dc1 | jq -r '.peer.problem // empty')
assert_contains "$problem" "keyrings differ" "GET /api/v1/cluster's peer.problem"
pass "a mirror with another keyring: said once on each side, shown in the status, no retry storm"

# the fix the message gives
kill "${PID[dc2]}"
wait "${PID[dc2]}" 2>/dev/null || true
rm -rf "${VG_TMP:?}/dc2"
"$VIGILD" init --data "$VG_TMP/dc2" --key-file "$VG_TMP/dc1/keyring" --mirror >/dev/null ||
    fail "init dc2 with the primary's keyring"
"$VIGILD" run --node "$VG_TMP/dc2.yaml" >>"$VG_TMP/dc2.log" 2>&1 &
PID[dc2]=$!
VG_PIDS+=("${PID[dc2]}")
# the primary waits out its back-off before it dials again
for ((i = 0; i < 400; i++)); do
    is_mirror_in_sync dc2 dc1 && break
    sleep 0.1
done
is_mirror_in_sync dc2 dc1 || fail "dc2 with the primary's keyring is not in sync after 40 s"
[[ -z $(view dc1 | jq -r '.peer.problem // empty') ]] || fail "the problem is still shown"
grep -q "keyrings of dc1 and dc2 agree now" "$VG_TMP/dc1.log" || fail "dc1 does not say the keys agree now"
pass "re-initialised with the primary's keyring: in sync, problem gone"

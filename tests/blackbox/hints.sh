#!/usr/bin/env bash
# The first hour's mistakes get a hint that names the fix (issue 14,
# point 6): vigild run without --data, or on a directory vigild init never
# made; HTTPS to a plain listener and the reverse; a server certificate
# without --cacert; `vigil get alerts`; an unknown kind in a manifest.
source "$(dirname "$0")/lib.sh"

# --- vigild run
rc=0
out=$("$VIGILD" run 2>&1) || rc=$?
assert_eq 2 "$rc" "vigild run without --data"
assert_eq "vigild: give either --data DIR or --node FILE" "$(head -1 <<<"$out")" "first line names the option"
out=$("$VIGILD" run --data "$VG_TMP/none" 2>&1) && fail "vigild run on a missing directory started"
assert_contains "$out" "does not exist; create it with 'vigild init --data $VG_TMP/none'" "missing data dir"
mkdir "$VG_TMP/empty"
out=$("$VIGILD" run --data "$VG_TMP/empty" 2>&1) && fail "vigild run on an empty directory started"
assert_contains "$out" "is not a vigil data directory (no keyring, no log); initialise it with 'vigild init" \
    "an empty directory"
pass "vigild run: a missing option, a missing or empty data directory: each says what to run"

# --- a TLS member on loopback
"$VIGIL" pki init --dir "$VG_TMP/pki" >/dev/null || fail "pki init"
"$VIGIL" pki issue m1 --dir "$VG_TMP/pki" --ip 127.0.0.1 >/dev/null || fail "pki issue"
vg_init "$VG_TMP/m"
VG_PORT=$(vg_free_port)
"$VIGILD" run --data "$VG_TMP/m" --listen "127.0.0.1:$VG_PORT" --tls-cert "$VG_TMP/pki/m1.crt" \
    --tls-key "$VG_TMP/pki/m1.key" >>"$VG_TMP/m.log" 2>&1 &
VG_PIDS+=("$!")
export VIGIL_TOKEN=$VG_TOKEN
for _ in $(seq 100); do
    curl -fsS --cacert "$VG_TMP/pki/ca.crt" "https://127.0.0.1:$VG_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.05
done
"$VIGIL" -s "https://127.0.0.1:$VG_PORT" --cacert "$VG_TMP/pki/ca.crt" status >/dev/null ||
    fail "vigil status over HTTPS with the CA"
rc=0
out=$("$VIGIL" -s "https://127.0.0.1:$VG_PORT" status 2>&1) || rc=$?
assert_eq 6 "$rc" "exit status without the CA"
assert_contains "$out" "--cacert FILE" "no CA: the hint names --cacert"
out=$("$VIGIL" -s "http://127.0.0.1:$VG_PORT" status 2>&1) || true
assert_contains "$out" "it speaks HTTPS: use https://" "http:// to a TLS member"
pass "a TLS member: without the CA the hint names --cacert, with http:// it names https://"

# --- a plain member, spoken to over HTTPS
vg_init "$VG_TMP/p"
vg_start "$VG_TMP/p" "$(vg_free_port)"
export VIGIL_SERVER=http://127.0.0.1:$VG_PORT VIGIL_TOKEN=$VG_TOKEN
out=$("$VIGIL" -s "https://127.0.0.1:$VG_PORT" status 2>&1) || true
assert_contains "$out" "the server speaks plain HTTP here: use http://" "https:// to a plain member"
pass "https:// to a plain member: the hint names http://"

# --- kinds
rc=0
out=$("$VIGIL" get alerts 2>&1) || rc=$?
assert_eq 7 "$rc" "vigil get alerts"
assert_contains "$out" "see 'vigil alerts'" "vigil get alerts points to vigil alerts"
out=$("$VIGIL" get incidents 2>&1) || true
assert_contains "$out" "see 'vigil incidents'" "vigil get incidents points to vigil incidents"
printf 'kind: Sensr\nname: x\nspec: {}\n---\nkind: Site\nname: "bad name!"\nspec: {}\n' >"$VG_TMP/m.yaml"
out=$("$VIGIL" apply -f "$VG_TMP/m.yaml" 2>&1) && fail "a manifest with an unknown kind applied"
assert_contains "$out" "unknown kind 'Sensr'" "the unknown kind is named"
assert_contains "$out" "(known: Site, Zone, Device, Sensor" "the known kinds are listed"
assert_contains "$out" "document 2" "the second document's error is reported too"
pass "kinds: get alerts points to vigil alerts; an unknown kind lists the known ones; every error reported"

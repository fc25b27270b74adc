#!/usr/bin/env bash
# Every queue the API holds for clients has a bound and a clear answer past
# it: connections (503 + close), the whole-request deadline (a thousand
# clients trickling one byte a second do not slow /healthz and are closed),
# watch streams (429), writes waiting to commit (503 + Retry-After). The
# cases are in tests/blackbox/bounds.py.
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")

D=$VG_TMP/data
vg_init "$D"

VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT" --request-deadline 3 --no-collect
python3 "$here/bounds.py" trickle "$VG_PORT" "$VG_TOKEN" || fail "request deadline"
vg_stop "$VG_PID"

VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT" --max-connections 20 --no-collect
python3 "$here/bounds.py" conncap "$VG_PORT" "$VG_TOKEN" || fail "connection cap"
vg_stop "$VG_PID"

VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT" --max-watchers 3 --no-collect
python3 "$here/bounds.py" watchcap "$VG_PORT" "$VG_TOKEN" || fail "watch cap"
vg_stop "$VG_PID"

VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT" --max-pending-writes 1 --no-collect
python3 "$here/bounds.py" pending "$VG_PORT" "$VG_TOKEN" || fail "write back-pressure"
# the CLI waits and retries a write refused as busy: ten applies at once
# against a bound of one all succeed
for c in $(seq 1 10); do
    for i in $(seq 1 15); do
        printf 'kind: Site\nname: c%s-%s\nspec: {location: "hall %s"}\n---\n' "$c" "$i" "$i"
    done >"$VG_TMP/apply$c.yaml"
done
pids=()
for c in $(seq 1 10); do
    "$VIGIL" --server "http://127.0.0.1:$VG_PORT" --token "$VG_TOKEN" apply -f "$VG_TMP/apply$c.yaml" \
        >"$VG_TMP/apply$c.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel apply failed: $(cat "$VG_TMP"/apply*.out)"; done
n=$(vg_api GET "/api/v1/objects/Site" | cut -d' ' -f2- | jq '[.items[].name | select(startswith("c"))] | length')
assert_eq 150 "$n" "sites stored by ten parallel applies"
pass "ten parallel applies against a bound of one pending write: all stored ($(cat "$VG_TMP"/apply*.out | grep -c busy || true) busy retries)"
vg_stop "$VG_PID"

r=$("$VIGILD" run --data "$D" --max-connections 0 2>&1) && fail "--max-connections 0 accepted"
assert_contains "$r" "--max-connections '0' is not a number from 1" "bad bound refused"
pass "bounds: connections, deadline, watchers, pending writes"

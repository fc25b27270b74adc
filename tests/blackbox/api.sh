#!/usr/bin/env bash
# The REST API as a client sees it: authentication and roles, object
# lifecycle, optimistic concurrency, bad input rejected without changing
# anything, watch, metrics, and a clean restart that keeps everything.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT"

[[ $(stat -c %a "$D") == 700 ]] || fail "data dir mode is $(stat -c %a "$D")"
[[ $(stat -c %a "$D/keyring") == 600 ]] || fail "keyring mode is $(stat -c %a "$D/keyring")"
pass "data dir 0700, keyring 0600"

# --- authentication
r=$(VG_AUTH=none vg_api GET /healthz); assert_eq "200 ok" "$r" "healthz without token"
r=$(VG_AUTH=none vg_api GET /api/v1/status); assert_eq 401 "${r%% *}" "status without token"
r=$(VG_AUTH="Bearer vgt_0000000000000000_nope" vg_api GET /api/v1/status)
assert_eq 401 "${r%% *}" "status with a forged token"
r=$(VG_AUTH=none vg_api GET /metrics); assert_eq 401 "${r%% *}" "metrics without token"
pass "every endpoint but health needs a valid token"

# --- object lifecycle
site='{"kind":"Site","name":"dc1","labels":{"region":"be"},"description":"Primary site","spec":{"location":"Brussels"}}'
r=$(vg_api PUT /api/v1/objects/Site/dc1 "$site"); assert_eq 201 "${r%% *}" "create site"
rev1=$(jq -r .revision <<<"${r#* }")
r=$(vg_api GET /api/v1/objects/Site/dc1)
assert_eq "Brussels" "$(jq -r .spec.location <<<"${r#* }")" "stored spec"
assert_eq "$rev1" "$(jq -r .revision <<<"${r#* }")" "revision on read"
r=$(vg_api PUT /api/v1/objects/Site/dc1 "$site"); assert_eq 200 "${r%% *}" "re-apply unchanged"
assert_eq "$rev1" "$(jq -r .revision <<<"${r#* }")" "unchanged apply keeps the revision"
site2=${site/Brussels/Antwerp}
r=$(vg_api PUT /api/v1/objects/Site/dc1 "$site2" -H "If-Match: $((rev1 + 100))")
assert_eq 409 "${r%% *}" "stale If-Match"
r=$(vg_api PUT /api/v1/objects/Site/dc1 "$site2" -H "If-Match: 0")
assert_eq 409 "${r%% *}" "If-Match 0 on an existing object"
r=$(vg_api PUT /api/v1/objects/Site/dc1 "$site2" -H "If-Match: $rev1")
assert_eq 200 "${r%% *}" "matching If-Match"
rev2=$(jq -r .revision <<<"${r#* }")
((rev2 > rev1)) || fail "revision did not advance ($rev1 -> $rev2)"
pass "create, read, idempotent apply, If-Match"

vg_api PUT /api/v1/objects/Site/dc2 '{"labels":{"region":"nl"},"spec":{"location":"Amsterdam"}}' >/dev/null
vg_api PUT /api/v1/objects/Zone/dc1-room1 '{"labels":{"region":"be"},"spec":{"site":"dc1","type":"server-room"}}' >/dev/null
r=$(vg_api GET "/api/v1/objects/Site?selector=region=nl")
assert_eq "dc2" "$(jq -r '[.items[].name]|join(",")' <<<"${r#* }")" "selector region=nl"
r=$(vg_api GET "/api/v1/objects/Site?selector=region!=nl")
assert_eq "dc1" "$(jq -r '[.items[].name]|join(",")' <<<"${r#* }")" "selector region!=nl"
pass "list with label selectors"

# --- bad input: clear errors, nothing stored
before=$(vg_api GET /api/v1/status | cut -d' ' -f2- | jq -c '{commit_index,objects}')
[[ $before =~ ^\{\"commit_index\":[1-9][0-9]*,\"objects\":[1-9][0-9]*\}$ ]] ||
    fail "status before the rejected requests: '$before'" # two empty answers would be equal
check_bad() { # what code field path body
    local r
    r=$(vg_api PUT "$4" "$5")
    assert_eq "$2" "${r%% *}" "$1: status"
    if [[ -n "$3" ]]; then
        assert_eq "$3" "$(jq -r .field <<<"${r#* }")" "$1: field named"
    fi
    [[ $(jq -r .error <<<"${r#* }") != null ]] || fail "$1: no error message"
}
check_bad "unknown kind" 404 kind /api/v1/objects/Spaceship/x '{"spec":{}}'
check_bad "unknown spec field" 400 spec.colour /api/v1/objects/Site/dc3 '{"spec":{"location":"x","colour":"red"}}'
check_bad "mistyped field" 400 spec.tier /api/v1/objects/Site/dc3 '{"spec":{"location":"x","tier":"three"}}'
check_bad "missing required" 400 spec.location /api/v1/objects/Site/dc3 '{"spec":{}}'
check_bad "bad name" 400 name /api/v1/objects/Site/a..b '{"spec":{"location":"x"}}'
check_bad "name mismatch" 400 name /api/v1/objects/Site/dc3 '{"name":"dc4","spec":{"location":"x"}}'
check_bad "malformed JSON" 400 "" /api/v1/objects/Site/dc3 '{"spec":'
check_bad "duplicate keys" 400 "" /api/v1/objects/Site/dc3 '{"spec":{"location":"a","location":"b"}}'
check_bad "not an object" 400 "" /api/v1/objects/Site/dc3 '[1,2]'
{ printf '{"spec":{"location":"'; head -c 1100000 /dev/zero | tr '\0' a; printf '"}}'; } >"$VG_TMP/big.json"
r=$(vg_api PUT /api/v1/objects/Site/dc3 "@$VG_TMP/big.json")
[[ ${r%% *} == 413 || ${r%% *} == 400 ]] || fail "oversized body: got ${r%% *}"
r=$(vg_api PUT /api/v1/objects/Site/dc1 "$site" -H "If-Match: abc"); assert_eq 400 "${r%% *}" "If-Match not a number"
r=$(vg_api GET "/api/v1/objects/Site?selector=a==b==c=")
assert_eq 400 "${r%% *}" "malformed selector"
after=$(vg_api GET /api/v1/status | cut -d' ' -f2- | jq -c '{commit_index,objects}')
assert_eq "$before" "$after" "state after rejected requests"
kill -0 "$VG_PID" || fail "vigild died on bad input"
pass "bad input rejected with the field named; nothing stored"

# --- roles
r=$(vg_api POST /api/v1/tokens '{"name":"grafana","role":"viewer"}')
assert_eq 201 "${r%% *}" "create viewer token"
viewer=$(jq -r .token <<<"${r#* }"); viewer_id=$(jq -r .id <<<"${r#* }")
r=$(VG_AUTH="Bearer $viewer" vg_api GET /api/v1/objects/Site/dc1); assert_eq 200 "${r%% *}" "viewer reads"
r=$(VG_AUTH="Bearer $viewer" vg_api PUT /api/v1/objects/Site/dc9 '{"spec":{"location":"x"}}')
assert_eq 403 "${r%% *}" "viewer writes"
r=$(VG_AUTH="Bearer $viewer" vg_api GET /api/v1/tokens); assert_eq 403 "${r%% *}" "viewer lists tokens"
r=$(vg_api POST /api/v1/tokens '{"name":"ops","role":"operator"}')
operator=$(jq -r .token <<<"${r#* }")
r=$(VG_AUTH="Bearer $operator" vg_api PUT /api/v1/objects/Site/dc9 '{"spec":{"location":"x"}}')
assert_eq 201 "${r%% *}" "operator writes"
r=$(VG_AUTH="Bearer $operator" vg_api POST /api/v1/tokens '{"role":"admin"}')
assert_eq 403 "${r%% *}" "operator cannot mint tokens"
r=$(vg_api GET /api/v1/tokens)
[[ $(jq -r '.items[] | select(.hash != null) | .id' <<<"${r#* }") == "" ]] || fail "token list exposes hashes"
r=$(vg_api DELETE "/api/v1/tokens/$viewer_id"); assert_eq 200 "${r%% *}" "revoke"
r=$(VG_AUTH="Bearer $viewer" vg_api GET /api/v1/objects/Site/dc1); assert_eq 401 "${r%% *}" "revoked token"
r=$(vg_api POST /api/v1/tokens '{"role":"wizard"}'); assert_eq 400 "${r%% *}" "unknown role"
pass "roles enforced per endpoint; revocation takes effect"

# --- delete
r=$(vg_api DELETE /api/v1/objects/Site/dc9); assert_eq 200 "${r%% *}" "delete"
r=$(vg_api GET /api/v1/objects/Site/dc9); assert_eq 404 "${r%% *}" "deleted object"
r=$(vg_api DELETE /api/v1/objects/Site/dc9); assert_eq 404 "${r%% *}" "delete twice"
pass "delete"

# --- watch and metrics
events=$(curl -sS -N --max-time 1 -H "Authorization: Bearer $VG_TOKEN" \
    "http://127.0.0.1:$VG_PORT/api/v1/watch?from=0" || true)
assert_contains "$events" "event: put" "watch from 0"
assert_contains "$events" "event: delete" "watch shows the delete"
assert_contains "$events" '"name":"dc9"' "watch carries objects"
m=$(vg_api GET /metrics)
assert_contains "$m" "vigil_commit_index" "metrics"
assert_contains "$m" "vigil_commit_duration_seconds_bucket" "commit histogram"
pass "watch replays history; metrics export"

# --- clean restart keeps everything
state=$(vg_api GET /api/v1/objects | cut -d' ' -f2- | jq -c '[.items[] | {kind,name,revision,spec}]')
vg_stop "$VG_PID"
vg_start "$D" "$VG_PORT"
state2=$(vg_api GET /api/v1/objects | cut -d' ' -f2- | jq -c '[.items[] | {kind,name,revision,spec}]')
[[ $(jq length <<<"$state") -gt 0 ]] || fail "no objects to compare across the restart: '$state'"
assert_eq "$state" "$state2" "objects after restart"
r=$(VG_AUTH="Bearer $operator" vg_api GET /api/v1/objects/Site/dc1); assert_eq 200 "${r%% *}" "token after restart"
pass "SIGTERM exits 0; restart recovers the same state"

# --- two daemons on one data dir
port2=$(vg_free_port)
if "$VIGILD" run --data "$D" --listen "127.0.0.1:$port2" >"$VG_TMP/second.out" 2>&1; then
    fail "a second vigild started on the same data dir"
fi
assert_contains "$(cat "$VG_TMP/second.out")" "in use" "second daemon refused"
pass "a data dir serves one daemon"

#!/usr/bin/env bash
# The vigil command line against a real vigild, as an operator and a script
# use it: applying multi-document manifests, reading them back in every
# output format, invalid manifests refused without changing anything,
# delete, tokens and roles, watch, exit codes, and --help everywhere.
# The admin token must never appear in any output.
source "$(dirname "$0")/lib.sh"

D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT"
export VIGIL_SERVER="http://127.0.0.1:$VG_PORT" VIGIL_TOKEN="$VG_TOKEN"
unset VIGIL_CACERT

# vg_cli RC args...: runs the CLI, expects exit status RC; leaves stdout in
# $out and stderr in $err, and checks the admin token is in neither. A
# command that hangs (a watch that never sees its events) ends as status 124.
vg_cli() {
    local want=$1 rc=0
    shift
    timeout 30 "$VIGIL" "$@" >"$VG_TMP/out" 2>"$VG_TMP/err" || rc=$?
    out=$(cat "$VG_TMP/out")
    err=$(cat "$VG_TMP/err")
    [[ "$rc" == "$want" ]] || fail "vigil $*: exit $rc, expected $want; stderr: $err; stdout: $out"
    [[ "$out$err" != *"$VG_TOKEN"* ]] || fail "vigil $*: printed the admin token"
}

# The revision of the state as the list of a kind reports it.
state_revision() { # the list's revision; fails on anything but a number
    local r
    r=$("$VIGIL" get site -o json | jq -r .revision) || true
    [[ $r =~ ^[0-9]+$ ]] || fail "vigil get site -o json: revision '$r'"
    echo "$r"
}

# --- help and usage: no server needed, every command documents itself
for c in apply get delete watch status events switchover failover version help; do
    vg_cli 0 "$c" --help
    assert_contains "$out" "usage: vigil $c" "vigil $c --help"
    vg_cli 0 help "$c"
    assert_contains "$out" "usage: vigil $c" "vigil help $c"
done
vg_cli 0 token --help
assert_contains "$out" "create" "vigil token --help lists its commands"
for c in create list revoke; do
    vg_cli 0 token "$c" -h
    assert_contains "$out" "usage: vigil token $c" "vigil token $c -h"
    vg_cli 0 help token "$c"
    assert_contains "$out" "usage: vigil token $c" "vigil help token $c"
done
vg_cli 0 cluster --help
assert_contains "$out" "switchover" "vigil cluster --help lists its commands"
for c in status switchover failover; do
    vg_cli 0 cluster "$c" --help
    assert_contains "$out" "usage: vigil cluster $c" "vigil cluster $c --help"
    vg_cli 0 help cluster "$c"
    assert_contains "$out" "usage: vigil cluster $c" "vigil help cluster $c"
done
vg_cli 0 --help
assert_contains "$out" "exit codes:" "vigil --help documents the exit codes"
vg_cli 2
vg_cli 2 frobnicate
assert_contains "$err" "'frobnicate' is not a vigil command" "unknown command"
vg_cli 2 get
vg_cli 2 apply
vg_cli 2 get site --no-such-option
vg_cli 2 get site -o xml
vg_cli 2 token
vg_cli 2 token create
assert_contains "$err" "--role" "token create without a role"
pass "--help on every command, usage errors exit 2"

# --- apply a multi-document manifest: a Site and two Zones
cat >"$VG_TMP/dc1.yaml" <<'EOF'
# the primary site and its rooms
kind: Site
name: dc1
labels: {region: be}
description: primary site
spec:
  location: "Brussels, BE"
  tier: 3
---
kind: Zone
name: room-a
labels: {site: dc1, tier: gold}
spec: {site: dc1, type: server-room, floor: 1}
---
kind: Zone
name: room-b
labels:
  site: dc1
spec:
  site: dc1
  type: power-room
---
EOF
vg_cli 0 apply -f "$VG_TMP/dc1.yaml"
assert_eq $'site/dc1 created\nzone/room-a created\nzone/room-b created' "$out" "first apply"
vg_cli 0 apply -f "$VG_TMP/dc1.yaml"
assert_eq $'site/dc1 unchanged\nzone/room-a unchanged\nzone/room-b unchanged' "$out" \
    "second apply"
sed -i 's/floor: 1}/floor: 2}/' "$VG_TMP/dc1.yaml"
rev=$(state_revision)
vg_cli 0 apply --dry-run -f "$VG_TMP/dc1.yaml"
assert_contains "$out" "zone/room-a configured (dry run)" "dry run"
assert_eq "$rev" "$(state_revision)" "a dry run changes nothing"
vg_cli 0 apply -f "$VG_TMP/dc1.yaml" -o json
assert_eq "unchanged configured unchanged" "$(jq -r '[.items[].result]|join(" ")' <<<"$out")" \
    "apply -o json results"
pass "apply: created, unchanged, configured, dry run"

# --- get: kinds as typed, every output format, selectors
vg_cli 0 get zones
assert_eq "NAME REVISION UPDATED LABELS" "$(head -1 <<<"$out" | tr -s ' ')" "table header"
assert_eq "room-a room-b" "$(tail -n +2 <<<"$out" | awk '{print $1}' | xargs)" "table rows"
assert_contains "$out" "site=dc1,tier=gold" "labels column"
vg_cli 0 get ZONE room-a -o wide
assert_contains "$(head -1 <<<"$out")" "DESCRIPTION" "wide header"
vg_cli 0 get Site dc1 -o json
assert_eq "Brussels, BE" "$(jq -r .spec.location <<<"$out")" "get -o json"
assert_eq "3" "$(jq -r .spec.tier <<<"$out")" "an int stays an int"
vg_cli 0 get sites -o yaml
assert_contains "$out" "location: Brussels, BE" "get -o yaml"
printf '%s\n' "$out" >"$VG_TMP/roundtrip.yaml"
vg_cli 0 apply -f "$VG_TMP/roundtrip.yaml"
assert_eq "site/dc1 unchanged" "$out" "get -o yaml output applies back unchanged"
vg_cli 0 get zone -l tier=gold -o json
assert_eq "room-a" "$(jq -r '[.items[].name]|join(",")' <<<"$out")" "selector tier=gold"
vg_cli 0 get zone -l 'site=dc1,tier!=gold'
assert_eq "room-b" "$(tail -n +2 <<<"$out" | awk '{print $1}' | xargs)" "selector with !="
vg_cli 0 get zone -l tier=platinum
assert_eq "" "$out" "an empty list prints nothing on stdout"
vg_cli 3 get zone room-z
vg_cli 7 get gizmos
assert_contains "$err" "unknown kind 'gizmos'" "unknown kind on the command line"
pass "get: table, wide, json, yaml, selectors, not found"

# --- invalid manifests: exit 7, the field named, nothing changed
rev=$(state_revision)
cat >"$VG_TMP/bad.yaml" <<'EOF'
kind: Zone
name: room-c
spec: {site: dc1, floor: high}
EOF
vg_cli 7 apply -f "$VG_TMP/bad.yaml"
assert_contains "$err" "bad.yaml: document 1: zone/room-c: spec.floor: expected integer" \
    "a spec error names the file, document, object and field"
assert_contains "$err" "(field: spec.floor)" "the field of a spec error"
vg_cli 3 get zone room-c
# a valid Site followed by a Zone with a bad spec field: the spec is checked
# before anything is sent, so not even the Site is applied
cat >"$VG_TMP/half.yaml" <<'EOF'
kind: Site
name: dc9
spec: {location: Lisbon}
---
kind: Zone
name: dc9-hall
spec: {site: dc9, type: ballroom}
EOF
vg_cli 7 apply -f "$VG_TMP/half.yaml"
assert_contains "$err" "half.yaml: document 2: zone/dc9-hall: spec.type: 'ballroom' is not one" \
    "the bad field of the second document"
assert_contains "$err" "(field: spec.type)" "the field of the second document"
assert_contains "$err" "nothing applied: 1 error in the manifests" "apply says nothing applied"
assert_eq "" "$out" "an invalid manifest prints no results"
vg_cli 3 get site dc9
vg_cli 7 apply --dry-run -f "$VG_TMP/half.yaml"
assert_contains "$err" "(field: spec.type)" "a dry run checks the specs too"
# every invalid document is reported at once, not only the first
cat >"$VG_TMP/many.yaml" <<'EOF'
kind: Site
name: dc8
spec: {location: Madrid, tier: 9}
---
kind: Zone
name: dc8-ok
spec: {site: dc8}
---
kind: Zone
name: dc8-hall
labels: {"-bad": x}
spec: {site: dc8}
---
kind: Zone
name: dc8-yard
spec: {site: dc8, colour: green}
EOF
vg_cli 7 apply -f "$VG_TMP/many.yaml"
assert_contains "$err" "many.yaml: document 1: site/dc8: spec.tier: 9 is out of range" \
    "first invalid document"
assert_contains "$err" "many.yaml: document 3: zone/dc8-hall: labels.-bad: " \
    "second invalid document"
assert_contains "$err" "many.yaml: document 4: zone/dc8-yard: spec.colour: unknown field" \
    "third invalid document"
[[ "$err" != *"document 2"* ]] || fail "a valid document was reported: $err"
assert_contains "$err" "nothing applied: 3 errors in the manifests" "all three counted"
vg_cli 3 get site dc8
vg_cli 3 get zone dc8-ok
printf 'kind: Zone\nname: room-d\nspec: {site: dc1}\n---\nkind: Zone\nname: x\n  bad: [\n' \
    >"$VG_TMP/broken.yaml"
vg_cli 7 apply -f "$VG_TMP/broken.yaml"
assert_contains "$err" "broken.yaml: line " "YAML syntax error with its line"
vg_cli 7 apply -f - <<<$'kind: Zone\nname: room-d\nspec: {site: dc1}\n---\nkind: Zoen\nname: y'
assert_contains "$err" "<stdin>: document 2: unknown kind 'Zoen'" "unknown kind in a manifest"
vg_cli 7 apply -f - <<<$'kind: Zone\nname: room-d\nname: again'
assert_contains "$err" "line 3, column 1: duplicate key 'name'" "duplicate key"
vg_cli 7 apply -f - <<<$'kind: Zone\nname: Room_D\nspec: {site: dc1}'
assert_contains "$err" "(field: name)" "invalid name"
vg_cli 3 get zone room-d
assert_eq "$rev" "$(state_revision)" "rejected manifests changed nothing"
pass "invalid manifests: exit 7 with the field, nothing applied"

# --- a directory of manifests, applied in name order
mkdir "$VG_TMP/dir"
printf 'kind: Site\nname: dc2\nspec: {location: Amsterdam}\n' >"$VG_TMP/dir/10-site.yaml"
printf 'kind: Zone\nname: dc2-hall\nspec: {site: dc2}\n' >"$VG_TMP/dir/20-zone.yml"
printf 'not: applied\n' >"$VG_TMP/dir/README.txt"
vg_cli 0 apply -f "$VG_TMP/dir"
assert_eq $'site/dc2 created\nzone/dc2-hall created' "$out" "apply a directory"
pass "apply -f DIR"

# --- delete
vg_cli 0 delete zone dc2-hall
assert_eq "zone/dc2-hall deleted" "$out" "delete"
vg_cli 3 delete zone dc2-hall
vg_cli 3 get zone dc2-hall
vg_cli 4 delete site dc2 --if-match 1
assert_contains "$err" "revision conflict" "delete with a stale If-Match"
vg_cli 0 delete sites dc2 -o json
assert_eq "dc2" "$(jq -r .name <<<"$out")" "delete -o json prints the deleted object"
pass "delete, not found, conflict"

# --- tokens and roles
vg_cli 0 token create --role viewer --name ci
viewer=$out
[[ "$viewer" == vgt_* && "$viewer" != *$'\n'* ]] || fail "token create printed '$viewer'"
assert_contains "$err" "only" "token create warns that the token is shown once"
vg_cli 0 token list
assert_contains "$out" "viewer" "token list shows the new token"
[[ "$out" != *"$viewer"* ]] || fail "token list printed a token's secret"
id=$(awk '$2 == "ci" {print $1}' <<<"$out")
[[ -n "$id" ]] || fail "no token named ci in: $out"
VIGIL_TOKEN=$viewer vg_cli 0 get zones
VIGIL_TOKEN=$viewer vg_cli 5 apply -f "$VG_TMP/dc1.yaml"
assert_contains "$err" "viewer" "a viewer may not write"
VIGIL_TOKEN=$viewer vg_cli 5 delete zone room-a
VIGIL_TOKEN=$viewer vg_cli 5 token list
echo "$viewer" >"$VG_TMP/viewer.token"
env -u VIGIL_TOKEN "$VIGIL" --token-file "$VG_TMP/viewer.token" get sites >/dev/null ||
    fail "--token-file"
vg_cli 0 token revoke "$id"
assert_eq "token $id revoked" "$out" "token revoke"
VIGIL_TOKEN=$viewer vg_cli 5 get zones
vg_cli 0 token list -o json
assert_eq "true" "$(jq -r ".items[] | select(.id == \"$id\") | .revoked" <<<"$out")" \
    "token list shows the revocation"
env -u VIGIL_TOKEN "$VIGIL" get zones >/dev/null 2>"$VG_TMP/err" && fail "no token accepted"
assert_contains "$(cat "$VG_TMP/err")" "VIGIL_TOKEN" "a missing token is explained"
pass "token create/list/revoke; viewer refused for writes (exit 5)"

# --- watch: history from a revision, a kind filter, live changes
vg_cli 0 watch --from 0 --limit 8
assert_eq "put site/dc1
put zone/room-a
put zone/room-b
put zone/room-a
put site/dc2
put zone/dc2-hall
delete zone/dc2-hall
delete site/dc2" "$(awk '{print $2, $3}' <<<"$out")" "watch --from 0 replays the history"
first_rev=$(awk 'NR == 1 {print $1}' <<<"$out")
vg_cli 0 watch --from "$first_rev" --limit 1
assert_eq "put zone/room-a" "$(awk '{print $2, $3}' <<<"$out")" "watch --from REV starts after REV"
vg_cli 0 watch zone --from 0 --limit 2 -o json
assert_eq "Zone Zone" "$(jq -r .object.kind <<<"$out" | xargs)" "watch KIND -o json"
rev=$(state_revision) # watching from here, the change below cannot be missed
"$VIGIL" watch site --from "$rev" --limit 1 -o json >"$VG_TMP/live" 2>"$VG_TMP/live.err" &
watcher=$!
sleep 0.2 # most often the change then arrives live rather than as history
vg_cli 0 apply -f - <<<$'kind: Site\nname: dc3\nspec: {location: Paris}'
for _ in $(seq 200); do
    kill -0 "$watcher" 2>/dev/null || break
    sleep 0.05
done
if kill -0 "$watcher" 2>/dev/null; then
    kill "$watcher"
    fail "live watch saw nothing in 10 s: $(cat "$VG_TMP/live.err")"
fi
wait "$watcher" || fail "live watch failed: $(cat "$VG_TMP/live.err")"
assert_eq "put dc3" "$(jq -r '.type + " " + .object.name' "$VG_TMP/live")" "live watch"
pass "watch: replay, kind filter, json lines, live"

# --- status and exit code 6
vg_cli 0 status
assert_contains "$out" "commit_index:" "status"
vg_cli 0 status -o json
[[ $(jq -r .objects <<<"$out") -ge 4 ]] || fail "status counts objects: $out"
dead=$(vg_free_port)
vg_cli 6 --server "http://127.0.0.1:$dead" status
assert_contains "$err" "cannot reach" "unreachable server"
vg_cli 6 get sites --server "127.0.0.1:$dead"
vg_cli 0 get sites --server "http://127.0.0.1:$dead,http://127.0.0.1:$VG_PORT"
assert_contains "$out" "dc1" "the first server that answers is used"
pass "status; exit 6 when no server answers; server lists"

# --- cluster commands, as far as they need no cluster: a forced failover is
# refused without both flags and a reason, goes to the first server only
# (the live one second in the list would answer anything but 6), and a
# cluster status marks every server that does not answer
vg_cli 2 failover --reason test
assert_contains "$err" "refusing to force a failover without --force and --accept-data-loss" \
    "failover without the flags"
assert_contains "$err" "lost for good" "the refusal says what would be lost"
assert_contains "$err" "Nothing was sent" "the refusal says nothing was sent"
vg_cli 2 cluster failover --force --reason test
assert_contains "$err" "without --accept-data-loss" "failover with --force only"
vg_cli 2 failover --force --accept-data-loss
assert_contains "$err" "--reason" "failover without a reason"
vg_cli 6 --server "http://127.0.0.1:$dead,http://127.0.0.1:$VG_PORT" \
    failover --force --accept-data-loss --reason test
assert_contains "$err" "cannot reach http://127.0.0.1:$dead:" "failover to a dead first server"
dead2=$(vg_free_port)
while [[ $dead2 == "$dead" ]]; do dead2=$(vg_free_port); done
vg_cli 6 --server "127.0.0.1:$dead,127.0.0.1:$dead2" cluster status
assert_contains "$out" "http://127.0.0.1:$dead: UNREACHABLE" "first dead server marked"
assert_contains "$out" "http://127.0.0.1:$dead2: UNREACHABLE" "second dead server marked"
vg_cli 2 events --severity loud
vg_cli 2 events --limit 0
vg_cli 7 switchover --to ../dc2
pass "failover refused without --force --accept-data-loss --reason, first server only"

vg_stop "$VG_PID"
vg_cli 6 status
pass "clean shutdown"

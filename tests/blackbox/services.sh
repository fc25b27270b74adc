#!/usr/bin/env bash
# The service table as vigild reports it: every service's routes are served
# (listed by `vigild routes` as that service's), every `vigil` command it
# names exists, and every record type it owns has a name.
source "$(dirname "$0")/lib.sh"

out=$("$VIGILD" services -o json) || fail "vigild services"
n=$(wc -l <<<"$out")
((n >= 1)) || fail "no service listed"
routes=$("$VIGILD" routes -o json)
help=$("$VIGIL" --help 2>&1)
while read -r svc; do
    name=$(jq -r .name <<<"$svc")
    for path in $(jq -r '.routes[]' <<<"$svc"); do
        jq -se --arg p "$path" --arg s "$name" 'any(.[]; .path == $p and .service == $s)' \
            <<<"$routes" >/dev/null || fail "$name's route $path is not in vigild routes"
    done
    for cmd in $(jq -r '.cli[]' <<<"$svc"); do
        grep -qE "^  $cmd " <<<"$help" || fail "$name names vigil command '$cmd', which vigil lacks"
    done
    [[ $(jq -r '.records | map(select(. == null)) | length' <<<"$svc") == 0 ]] ||
        fail "$name owns a record type without a name"
    pass "service $name: $(jq -r '.routes | length' <<<"$svc") routes served, commands $(jq -r '.cli | join(",")' <<<"$svc") exist"
done <<<"$out"

# the monitor's routes answer on a running member (not 404): they come from
# its service definition, not from the API's own table
D=$VG_TMP/data
vg_init "$D"
VG_PORT=$(vg_free_port)
vg_start "$D" "$VG_PORT" --no-collect
r=$(vg_api GET /api/v1/facility); assert_eq 200 "${r%% *}" "facility view served"
r=$(vg_api DELETE /api/v1/alerts); assert_eq 405 "${r%% *}" "a service route's other methods"
vg_stop "$VG_PID"
pass "service routes served by a running member"

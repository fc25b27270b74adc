#!/usr/bin/env bash
# Every route the router serves is documented in docs/api.md, with its
# method and path as `vigild routes` prints them.
source "$(dirname "$0")/lib.sh"
doc=$VG_SOURCE/docs/api.md
[[ -f "$doc" ]] || fail "no $doc"
n=0
while read -r row; do
    method=$(jq -r .method <<<"$row")
    path=$(jq -r .path <<<"$row")
    grep -qF "\`$method $path" "$doc" || fail "route $method $path is not in docs/api.md"
    n=$((n + 1))
done < <("$VIGILD" routes -o json)
((n >= 20)) || fail "vigild routes listed only $n routes"
pass "all $n routes of vigild routes are in docs/api.md"

#!/usr/bin/env bash
# Issue 13 end to end: a fire at the primary's site moves the company's
# database before the damage spreads. Two PostgreSQL 15 servers (dc1
# primary, dc2 its synchronous standby), a two-site vigil cluster guarding
# them (a postgresql Service) under a FailoverPolicy, and `vigil sim
# dc1-sim fire`: dc2 becomes primary by planned switchover, dc2's server is
# promoted and takes writes, dc1's refuses them, and every transaction
# committed before is there.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
source "$(dirname "$0")/pg_lib.sh"

cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
wait_until "dc1 is primary" is_primary dc1
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1
"$VIGIL" -s "${URL[dc1]}" apply -f "$VG_SOURCE/tests/fixtures/protect/sites.yaml" >/dev/null ||
    fail "apply the sites and the policy"
spec=$(printf '{"agent":"postgresql","order":10,"timeout_s":5,"retries":1,"sites":[{"name":"dc1","conninfo":"%s"},{"name":"dc2","conninfo":"%s"}]}' \
    "$(conninfo dc1)" "$(conninfo dc2)")
curl -fsS -m 5 -X PUT -H "Authorization: Bearer $TOKEN" "${URL[dc1]}/api/v1/objects/Service/orders-db" \
    -d "{\"spec\":$spec}" >/dev/null || fail "PUT Service orders-db"

on() { curl -s -m 5 -H "Authorization: Bearer $TOKEN" "${URL[$1]}$2"; }
role_is() { # MEMBER SITE ROLE
    [[ $(on "$1" /api/v1/services | jq -r --arg s "$2" \
        '.items[] | select(.name == "orders-db") | .sites[] | select(.site == $s) | .role') == "$3" ]]
}
has_value() { [[ -n $(on "$1" /api/v1/sensors | jq -r ".[] | select(.name==\"$2\") | .value // empty") ]]; }
wait_until "dc1's simulator reads" has_value dc1 dc1-smoke
wait_until "dc1 sees its database primary" role_is dc1 dc1 primary
wait_until "dc1 sees dc2's database standby" role_is dc1 dc2 standby
calm() { [[ $("$VIGIL" -s "${URL[dc1]}" protect status -o json | jq -r .state) == calm ]]; }
wait_until "dc1 watches its site calmly" calm
sql dc1 "INSERT INTO orders SELECT g, 'dc1' FROM generate_series(101, 150) g" >/dev/null ||
    fail "insert at dc1 before the fire"
pass "dc1 primary with its database; 150 orders committed; the policy watches"

"$VIGIL" -s "${URL[dc1]}" sim dc1-sim fire >/dev/null || fail "start the fire at dc1"
t0=$(date +%s%3N)
wait_until "dc2 becomes primary" is_primary dc2
takes_writes() { sql dc2 "INSERT INTO orders VALUES (1000 + (random() * 1000000)::int, 'dc2')" >/dev/null; }
wait_until "dc2's database takes writes" takes_writes
t1=$(date +%s%3N)
refuses() { [[ $(sql dc1 "INSERT INTO orders VALUES (999, 'dc1')") == *"read-only transaction"* ]]; }
wait_until "dc1's database refuses writes" refuses
n=$(sql dc2 "SELECT count(*) FROM orders WHERE id <= 150")
assert_eq 150 "$n" "orders committed before the fire, at dc2"
ev=$(on dc2 /api/v1/events | jq -c '[.items[] | select(.kind=="protect_switchover")][0]')
assert_eq fire "$(jq -r .condition <<<"$ev")" "the switchover's condition"
pass "fire at dc1: dc2 primary, its database promoted and taking writes $((t1 - t0)) ms after the fire started; dc1's refuses; all 150 orders there"

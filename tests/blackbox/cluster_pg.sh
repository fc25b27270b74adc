#!/usr/bin/env bash
# The agents move a real PostgreSQL pair with the primary role: two
# PostgreSQL 15 servers started here, one per site, dc2 streaming from dc1
# with synchronous_standby_names set, and a two-site vigil cluster with its
# witness guarding them (a postgresql Service, and an exec Service with
# hooks and HTTP health checks).
#   (a) planned switchover dc1 -> dc2: dc2's server is promoted and takes
#       writes, dc1's refuses them, every committed transaction is at dc2;
#       the connection strings' password is shown nowhere.
#   (c) the exec Service's hooks saw VIGIL_EPOCH, VIGIL_NEW_PRIMARY and
#       VIGIL_REASON, and their output is in the move's events.
#   Then dc1's server is rejoined with scripts/pg-rejoin.sh (pg_rewind) and
#   the roles are switched back, and dc2's rejoined the same way.
#   (b) kill -9 of dc1's vigild with dc1's server stopped: after the
#       failover dc2's server takes writes with every committed transaction;
#       dc1's server started again while dc1's vigild comes back as mirror
#       refuses writes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

source "$(dirname "$0")/pg_lib.sh"

# --- the vigil cluster and the services -------------------------------------
cluster_setup
export VIGIL_TOKEN=$TOKEN
m_start dc1 --bootstrap
m_start dc2
wait_until "dc2 is an in-sync mirror" is_mirror_in_sync dc2 dc1

declare -A WEB
for s in dc1 dc2; do
    WEB[$s]=$(new_port)
    mkdir -p "$VG_TMP/www-$s"
    echo ok >"$VG_TMP/www-$s/health"
    python3 -m http.server "${WEB[$s]}" --bind 127.0.0.1 --directory "$VG_TMP/www-$s" \
        >"$VG_TMP/web-$s.out" 2>&1 &
    VG_PIDS+=($!)
done
{
    echo '#!/bin/sh'
    echo 'echo "hook-output $VIGIL_HOOK epoch=$VIGIL_EPOCH primary=$VIGIL_NEW_PRIMARY reason=$VIGIL_REASON"'
    echo 'echo "$VIGIL_HOOK $VIGIL_EPOCH $VIGIL_NEW_PRIMARY $VIGIL_REASON" >>"$(dirname "$0")/hook.seen"'
} >"$VG_TMP/hook.sh"
chmod 755 "$VG_TMP/hook.sh"

db_site() { printf '{"name":"%s","conninfo":"%s password=%s"}' "$1" "$(conninfo "$1")" "$PASSWORD"; }
app_site() { printf '{"name":"%s","health_url":"http://127.0.0.1:%s/health"}' "$1" "${WEB[$1]}"; }
put_service() { # NAME SPEC [MEMBER]
    curl -fsS -m 5 -X PUT -H "Authorization: Bearer $TOKEN" \
        "${URL[${3:-dc1}]}/api/v1/objects/Service/$1" -d "{\"spec\":$2}" >/dev/null
}
put_service orders-db "{\"agent\":\"postgresql\",\"order\":10,\"timeout_s\":5,\"retries\":1,
    \"sites\":[$(db_site dc1),$(db_site dc2)]}" || fail "PUT Service orders-db"
put_service shop "{\"agent\":\"exec\",\"order\":20,\"hook_timeout_s\":5,\"health_timeout_s\":10,
    \"before\":[\"$VG_TMP/hook.sh\"],\"after\":[\"$VG_TMP/hook.sh\"],
    \"sites\":[$(app_site dc1),$(app_site dc2)]}" || fail "PUT Service shop"

cli() { "$VIGIL" -s "${URL[$1]}" --token "$TOKEN" "${@:2}"; }
services() { cli "$1" services -o json 2>/dev/null; }
events() { cli "$1" events --limit 1000 -o json 2>/dev/null; }
# moved SITE REASON: the last move to SITE for REASON ended with nothing failed
moved() {
    events "$1" | jq -e --arg s "$1" --arg r "$2" \
        '[.items[] | select(.kind == "service_move" and .phase == "done" and .site == $s
          and .reason == $r)] | last | .failed == 0' >/dev/null
}
role_is() { # MEMBER SERVICE SITE ROLE: the member's probes saw that role
    [[ $(services "$1" | jq -r --arg n "$2" --arg s "$3" \
        '.items[] | select(.name == $n) | .sites[] | select(.site == $s) | .role') == "$4" ]]
}
wait_until "the services are in place at dc1" moved dc1 applied
wait_until "dc1 sees orders-db primary at dc1" role_is dc1 orders-db dc1 primary
wait_until "dc1 sees orders-db standby at dc2" role_is dc1 orders-db dc2 standby
pass "Services applied: orders-db primary at dc1 and standby at dc2"

# secrets: the password is shown by no read
for path in /api/v1/objects/Service/orders-db /api/v1/services "/api/v1/events?limit=1000"; do
    body=$(curl -fsS -H "Authorization: Bearer $TOKEN" "${URL[dc1]}$path")
    [[ $body != *"$PASSWORD"* ]] || fail "GET $path shows the connection string's password"
done
curl -fsS -H "Authorization: Bearer $TOKEN" "${URL[dc1]}/api/v1/objects/Service/orders-db" |
    jq -e '.spec.sites[0].conninfo == {"secret": true}' >/dev/null ||
    fail "the connection string is not shown as a secret"

# --- (a) planned switchover dc1 -> dc2 --------------------------------------
cli dc1 switchover --to dc2 --reason "pg test" >/dev/null || fail "vigil switchover to dc2"
wait_until "dc2 moved the services after the switchover" moved dc2 switchover
out=$(sql dc2 "INSERT INTO orders VALUES (101, 'dc2')") ||
    fail "dc2's PostgreSQL does not take writes after the switchover: $out"
assert_eq "101" "$(sql dc2 "SELECT count(*) FROM orders")" "rows at dc2 after the switchover"
out=$(sql dc1 "INSERT INTO orders VALUES (900, 'dc1')") &&
    fail "dc1's PostgreSQL still takes writes after the switchover"
assert_contains "$out" "read-only transaction" "dc1's refusal"
pass "(a) switchover: dc2 promoted and takes writes, dc1 refuses them, no commit lost"

epoch=$(view dc2 | jq -r .epoch)
ev=$(events dc2)
for hook in before after; do
    echo "$ev" | jq -e --arg h "$hook" \
        --arg o "hook-output $hook epoch=$epoch primary=dc2 reason=switchover" \
        '[.items[] | select(.kind == "service_step" and .service == "shop" and .step == $h
          and .reason == "switchover")] | last | .result == "ok" and (.output | contains($o))' \
        >/dev/null ||
        fail "(c) the $hook hook's event: $(echo "$ev" | jq -c --arg h "$hook" '[.items[] | select(.step == $h)] | last')"
done
grep -q "^before $epoch dc2 switchover$" "$VG_TMP/hook.seen" ||
    fail "(c) the hook's environment: $(cat "$VG_TMP/hook.seen")"
echo "$ev" | jq -e '[.items[] | select(.kind == "service_step" and .service == "shop"
    and .step == "health" and .site == "dc2")] | last | .result == "ok"' >/dev/null ||
    fail "no passed health check of shop at dc2"
pass "(c) hooks saw VIGIL_EPOCH=$epoch VIGIL_NEW_PRIMARY=dc2 VIGIL_REASON=switchover; output in the events"

out=$(cli dc2 services) || fail "vigil services"
assert_contains "$out" "orders-db" "vigil services table"
for log in "$VG_TMP/dc1.log" "$VG_TMP/dc2.log"; do
    if grep -q "$PASSWORD" "$log"; then fail "$log holds the connection string's password"; fi
done

# --- rejoin dc1 with pg_rewind, switch back, rejoin dc2 ----------------------
rejoin() { # SITE NEW-PRIMARY
    as_pg "$REJOIN" -D "${PGDIR[$1]}" -s "$(conninfo "$2")" -n "$1" >"$VG_TMP/rejoin-$1.out" 2>&1 ||
        fail "pg-rejoin.sh at $1: $(tail -5 "$VG_TMP/rejoin-$1.out")"
}
rejoin dc1 dc2
# dc2 committed alone since its promotion; its agent restores synchronous
# replication once dc1 streams
wait_until "dc1 streams synchronously from dc2" synced dc2 dc1
events dc2 | jq -e '[.items[] | select(.step == "sync_restore" and .site == "dc2")] | length > 0' \
    >/dev/null || fail "no sync_restore event at dc2"
wait_until "dc2 sees orders-db standby at dc1" role_is dc2 orders-db dc1 standby
pass "scripts/pg-rejoin.sh made dc1's server a synchronous standby of dc2"
cli dc2 switchover --to dc1 >/dev/null || fail "switchover back to dc1"
wait_until "dc1 moved the services back" moved dc1 switchover
out=$(sql dc1 "INSERT INTO orders VALUES (102, 'dc1')") || fail "dc1 takes no writes again: $out"
rejoin dc2 dc1
wait_until "dc2 streams synchronously from dc1 again" synced dc1 dc2
out=$(sql dc1 "INSERT INTO orders VALUES (103, 'dc1')") || fail "a synchronous commit at dc1: $out"
pass "switched back to dc1, dc2 rejoined as its synchronous standby"

# --- (b) kill -9 of dc1's vigild with dc1's PostgreSQL stopped ---------------
kill -9 "${PID[dc1]}"
as_pg "$PGBIN/pg_ctl" -D "${PGDIR[dc1]}" -m fast -w stop >/dev/null || fail "stop dc1's PostgreSQL"
wait_until "dc2 took over" is_primary dc2
wait_until "dc2 moved the services after the failover" moved dc2 failover
out=$(sql dc2 "INSERT INTO orders VALUES (104, 'dc2')") ||
    fail "dc2 takes no writes after the failover: $out"
assert_eq "104" "$(sql dc2 "SELECT count(*) FROM orders")" "rows at dc2 after the failover"
events dc2 | jq -e '[.items[] | select(.kind == "service_step" and .service == "orders-db"
    and .step == "fence" and .site == "dc1" and .reason == "failover")] | last
    | .result == "unreachable"' >/dev/null ||
    fail "the failover did not report dc1's server unreachable"
pass "(b) failover: dc2 promoted, takes writes, every commit there; dc1 reported unreachable"

pg_start dc1 || fail "dc1's PostgreSQL did not start again"
m_start dc1
fenced() { [[ $(sql dc1 "INSERT INTO orders VALUES (905, 'dc1')") == *"read-only transaction"* ]]; }
wait_until "dc1's PostgreSQL refuses writes with dc1 back as mirror" fenced
not_acting dc1 || fail "dc1 came back acting as primary"
assert_eq "104" "$(sql dc2 "SELECT count(*) FROM orders")" "rows at dc2"
pass "(b) dc1's server, started again, refuses writes while its vigild is a mirror"

# --- a failed step is reported, and what depends on it is reported skipped --
put_service gate "{\"agent\":\"exec\",\"order\":5,\"retries\":1,
    \"before\":[\"/bin/sh\",\"-c\",\"echo gate closed; exit 3\"],
    \"sites\":[{\"name\":\"dc1\"},{\"name\":\"dc2\"}]}" dc2 || fail "PUT Service gate"
ended() { # SITE REASON: the last move there for REASON is done
    events "$1" | jq -e --arg s "$1" --arg r "$2" '[.items[] | select(.kind == "service_move"
        and .phase == "done" and .site == $s and .reason == $r)] | length > 0' >/dev/null
}
wait_until "dc2's move after the gate was applied ended" ended dc2 applied
ev=$(events dc2)
echo "$ev" | jq -e '[.items[] | select(.kind == "service_step" and .service == "gate"
    and .reason == "applied")] | last | .result == "failed" and .attempts == 2
    and .severity == "critical" and .message == "exit status 3"
    and (.output | contains("gate closed"))' >/dev/null ||
    fail "the failed hook's event: $(echo "$ev" | jq -c '[.items[] | select(.service == "gate")] | last')"
for svc in orders-db shop; do
    echo "$ev" | jq -e --arg n "$svc" '[.items[] | select(.kind == "service_step" and .service == $n
        and .reason == "applied")] | last | .result == "skipped"
        and (.message | contains("gate"))' >/dev/null ||
        fail "$svc was not reported skipped after gate failed"
done
echo "$ev" | jq -e '[.items[] | select(.kind == "service_move" and .phase == "done"
    and .reason == "applied")] | last | .failed == 3 and .severity == "critical"' >/dev/null ||
    fail "the move's end does not count the services not moved"
pass "a failed hook is reported with its output; the services after it are reported skipped"

#!/usr/bin/env bash
# Shared by the black-box tests that move a real PostgreSQL pair with the
# primary role (sourced after lib.sh and cluster_lib.sh): two PostgreSQL 15
# servers, one per site, dc2 streaming synchronously from dc1, a table
# `orders` with 100 rows committed at dc1. Exits 77 without the binaries.
# Sets PGBIN, PG, PGPORT, PGDIR, AS_PG; defines as_pg, conninfo, sql,
# pg_start, synced, pg_stop_all (the EXIT trap).
PGBIN=/usr/lib/postgresql/15/bin
for b in initdb pg_ctl pg_basebackup pg_rewind psql; do
    if [[ ! -x $PGBIN/$b ]]; then
        echo "skip: $PGBIN/$b is missing (Debian package postgresql, version 15)"
        exit 77
    fi
done
REJOIN=$(cd "$(dirname "$0")/../.." && pwd)/scripts/pg-rejoin.sh
PASSWORD=pw-$RANDOM-never-shown

# PostgreSQL refuses to run as root: the servers run as postgres then
AS_PG=()
if [[ $(id -u) == 0 ]]; then AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
as_pg() { "${AS_PG[@]}" "$@"; }
chmod 755 "$VG_TMP"
PG=$VG_TMP/pg
mkdir -p "$PG"
if [[ $(id -u) == 0 ]]; then chown postgres: "$PG"; fi
declare -A PGPORT PGDIR
for s in dc1 dc2; do
    PGPORT[$s]=$(new_port)
    PGDIR[$s]=$PG/$s
done
pg_stop_all() {
    for s in dc1 dc2; do
        as_pg "$PGBIN/pg_ctl" -D "${PGDIR[$s]}" -m immediate stop >/dev/null 2>&1 || true
    done
    vg_cleanup
}
trap pg_stop_all EXIT

conninfo() { echo "host=$PG port=${PGPORT[$1]} user=postgres dbname=postgres"; }
sql() { # SITE SQL: prints the result (or psql's error), fails like psql
    timeout 10 "${AS_PG[@]}" "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(conninfo "$1") connect_timeout=3" \
        -c "$2" 2>&1
}
pg_start() {
    as_pg "$PGBIN/pg_ctl" -D "${PGDIR[$1]}" -w -t 20 -l "$PG/$1.log" start >/dev/null
}
synced() { # PRIMARY STANDBY
    [[ $(sql "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2'") == sync ]]
}

# --- the PostgreSQL pair: dc1 primary, dc2 its synchronous standby ----------
as_pg "$PGBIN/initdb" -D "${PGDIR[dc1]}" -A trust -U postgres >"$VG_TMP/initdb.log" 2>&1 ||
    fail "initdb: $(tail -3 "$VG_TMP/initdb.log")"
{
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$PG'"
    echo "port = ${PGPORT[dc1]}"
    echo "wal_level = replica"
    echo "max_wal_senders = 4"
    echo "wal_log_hints = on"
    echo "wal_keep_size = 256MB" # pg_rewind reads the WAL back to the fork
    echo "synchronous_standby_names = 'dc2'"
    echo "fsync = off"
    echo "shared_buffers = 16MB"
} >>"${PGDIR[dc1]}/postgresql.conf"
pg_start dc1 || fail "dc1's PostgreSQL did not start: $(tail -5 "$PG/dc1.log")"
as_pg "$PGBIN/pg_basebackup" -D "${PGDIR[dc2]}" -d "$(conninfo dc1)" -R -X stream \
    >"$VG_TMP/basebackup.log" 2>&1 || fail "pg_basebackup: $(tail -3 "$VG_TMP/basebackup.log")"
sed -i -e "s/^port = .*/port = ${PGPORT[dc2]}/" \
    -e "s/^synchronous_standby_names = .*/synchronous_standby_names = 'dc1'/" \
    "${PGDIR[dc2]}/postgresql.conf"
echo "primary_conninfo = '$(conninfo dc1) application_name=dc2'" >>"${PGDIR[dc2]}/postgresql.auto.conf"
pg_start dc2 || fail "dc2's PostgreSQL did not start: $(tail -5 "$PG/dc2.log")"
wait_until "dc2 streams synchronously from dc1" synced dc1 dc2
sql dc1 "CREATE TABLE orders (id int PRIMARY KEY, site text)" >/dev/null || fail "create table"
sql dc1 "INSERT INTO orders SELECT g, 'dc1' FROM generate_series(1, 100) g" >/dev/null ||
    fail "insert at dc1"
pass "two PostgreSQL 15 servers with synchronous streaming replication"

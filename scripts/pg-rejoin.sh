#!/usr/bin/env bash
# Rejoins a PostgreSQL server that vigil fenced (an old primary) as a
# standby of the new primary, with pg_rewind (docs/services.md, "Rejoining
# the old primary"). Run it at the old primary's site, as the user that
# owns the data directory, once the new primary is in service.
#
#   pg-rejoin.sh -D DATADIR -s 'SOURCE CONNINFO' -n APPLICATION_NAME [-b BINDIR]
#
#   -D  the old primary's data directory
#   -s  libpq connection string of the new primary, for CHECKPOINT, pg_rewind
#       and then streaming (a superuser, or a user with pg_checkpoint,
#       pg_rewind's rights and REPLICATION)
#   -n  this standby's application_name: the name the new primary's
#       synchronous_standby_names uses for it
#   -b  PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin)
#
# What it does: stops the server (fast), checkpoints the new primary (so
# that pg_rewind sees its new timeline), rewinds its data directory to the
# new primary's timeline (whatever the fenced server wrote after the fork
# is discarded: it was never acknowledged through synchronous replication),
# removes vigil's fence (default_transaction_read_only) from
# postgresql.auto.conf, writes standby.signal and primary_conninfo, and
# starts the server as a standby. pg_rewind needs wal_log_hints = on or
# data checksums on the old primary. Nothing here talks to vigil: its
# agents see the server become a standby at their next probe.
set -euo pipefail

bindir=/usr/lib/postgresql/15/bin
datadir="" source="" appname=""
while getopts "D:s:n:b:" opt; do
    case $opt in
    D) datadir=$OPTARG ;;
    s) source=$OPTARG ;;
    n) appname=$OPTARG ;;
    b) bindir=$OPTARG ;;
    *) echo "usage: $0 -D DATADIR -s CONNINFO -n APPLICATION_NAME [-b BINDIR]" >&2; exit 2 ;;
    esac
done
if [[ -z $datadir || -z $source || -z $appname ]]; then
    echo "usage: $0 -D DATADIR -s CONNINFO -n APPLICATION_NAME [-b BINDIR]" >&2
    exit 2
fi
[[ -f $datadir/PG_VERSION ]] || { echo "pg-rejoin: '$datadir' is no data directory" >&2; exit 1; }

if "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
    "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
fi
# a recently promoted source names its new timeline in its control file
# only after a checkpoint; without one pg_rewind would see nothing to do
"$bindir/psql" -X -q -d "$source" -c CHECKPOINT >/dev/null
# pg_rewind copies the source's configuration files too: this server's own
# are kept aside and put back (its port, its paths)
keep=$(mktemp -d)
trap 'rm -rf "$keep"' EXIT
for f in postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf; do
    [[ -f $datadir/$f ]] && cp -p "$datadir/$f" "$keep/$f"
done
"$bindir/pg_rewind" --target-pgdata="$datadir" --source-server="$source" --progress 2>&1 |
    sed 's/^/pg_rewind: /' >&2 || {
    echo "pg-rejoin: pg_rewind failed; a new base backup (pg_basebackup -R) is the way back" >&2
    exit 1
}

for f in postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf; do
    [[ -f $keep/$f ]] && cp -p "$keep/$f" "$datadir/$f"
done
auto=$datadir/postgresql.auto.conf
touch "$auto"
# vigil's fence, and any primary_conninfo from before, go; the new one is added
grep -v -E "^[[:space:]]*(default_transaction_read_only|primary_conninfo)[[:space:]]*=" "$auto" \
    >"$auto.rejoin" || true
printf "primary_conninfo = '%s application_name=%s'\n" "${source//\'/\'\'}" "$appname" \
    >>"$auto.rejoin"
mv "$auto.rejoin" "$auto"
touch "$datadir/standby.signal"

"$bindir/pg_ctl" -D "$datadir" -w -l "$datadir/rejoin.log" start >/dev/null
echo "pg-rejoin: $datadir runs as a standby of the new primary (application_name $appname)" >&2

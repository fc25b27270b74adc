/*
 * agent_pg.c - the PostgreSQL agent's actions over libpq (agents.h):
 * probe, fence, promote, write check. Blocking, with a deadline on the
 * connection (connect_timeout, tcp_user_timeout) and on every statement
 * (statement_timeout); run by the agents' worker thread only.
 *
 * Sessions are kept open between actions (one per connection string): the
 * probes open them, and a switchover then sets up none (25-90 ms each on
 * a busy machine). A kept session is checked before each use and opened
 * again when the server ended it.
 *
 * Fencing makes a primary refuse ordinary writes: default_transaction_read_only
 * is set with ALTER SYSTEM (it lasts across a restart, so a server started
 * again before its vigild returns still refuses), the configuration is
 * reloaded, the sessions must see it, and every other client session is
 * ended so that none keeps a read-write transaction open. A session that
 * asks for READ WRITE explicitly can still write: the rejoin script's
 * pg_rewind discards whatever a fenced server wrote (docs/services.md).
 *
 * The connection string is never put into a message: it holds a password.
 */
#include "agents/agents.h"

#include "core/text.h"

#include <libpq-fe.h>
#include <string.h>
#include <time.h>

#define FENCE_POLL_MS 2

static void clean_error(const PGconn *conn, const PGresult *res, char *out, size_t len)
{
    const char *e = res ? PQresultErrorMessage(res) : NULL;
    if (!e || !*e)
        e = conn ? PQerrorMessage(conn) : "out of memory";
    char line[512];
    size_t n = strcspn(e, "\n");
    snprintf(line, sizeof line, "%.*s", (int)(n < 400 ? n : 400), e);
    vg_text_clean_inplace(line, sizeof line, 0);
    snprintf(out, len, "%s", line);
}

#define KEPT_MAX 8

/* The kept sessions, by connection string; each worker thread its own. */
static _Thread_local struct kept {
    char *conninfo;
    PGconn *conn;
} kept[KEPT_MAX];

/* Connects with the step's deadline; NULL (msg set) when it cannot. */
static PGconn *connect_new(const char *conninfo, int timeout_s, char *msg, size_t msglen)
{
    char timeout[16], user_timeout[16];
    int t = timeout_s < 2 ? 2 : timeout_s;
    snprintf(timeout, sizeof timeout, "%d", t);
    /* a kept session to a site cut off must fail, not wait for TCP */
    snprintf(user_timeout, sizeof user_timeout, "%d", t * 1000);
    /* the connection string first; the deadlines after it override its own */
    const char *keys[] = {"dbname", "connect_timeout", "tcp_user_timeout", "application_name",
                          NULL};
    const char *vals[] = {conninfo, timeout, user_timeout, "vigil-agent", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (conn && PQstatus(conn) == CONNECTION_OK)
        return conn;
    clean_error(conn, NULL, msg, msglen);
    PQfinish(conn);
    return NULL;
}

/* The kept session for conninfo, checked (and given this step's statement
 * deadline), or a new one; NULL (msg set) when the server does not answer. */
static PGconn *connect_to(const char *conninfo, int timeout_s, char *msg, size_t msglen)
{
    struct kept *k = NULL, *free_slot = NULL;
    for (size_t i = 0; i < KEPT_MAX; i++) {
        if (kept[i].conninfo && !strcmp(kept[i].conninfo, conninfo))
            k = &kept[i];
        else if (!kept[i].conninfo && !free_slot)
            free_slot = &kept[i];
    }
    if (!k) {
        k = free_slot ? free_slot : &kept[0];
        PQfinish(k->conn);
        free(k->conninfo);
        k->conninfo = vg_strdup(conninfo);
        k->conn = NULL;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d", timeout_s * 1000);
    for (int fresh = 0; fresh < 2; fresh++) {
        if (!k->conn && !(k->conn = connect_new(conninfo, timeout_s, msg, msglen)))
            return NULL;
        PGresult *r = PQexec(k->conn, sql);
        int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            clean_error(k->conn, r, msg, msglen);
        PQclear(r);
        if (ok)
            return k->conn;
        PQfinish(k->conn); /* ended by the server (restart, fence of another) */
        k->conn = NULL;
    }
    return NULL;
}

/* Ends an action on a session: kept unless it broke or was left inside a
 * transaction. */
static void done_with(PGconn *conn)
{
    if (!conn || (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE))
        return;
    for (size_t i = 0; i < KEPT_MAX; i++)
        if (kept[i].conn == conn)
            kept[i].conn = NULL;
    PQfinish(conn);
}

void vg_agent_pg_close_all(void)
{
    for (size_t i = 0; i < KEPT_MAX; i++) {
        PQfinish(kept[i].conn);
        free(kept[i].conninfo);
        kept[i].conn = NULL;
        kept[i].conninfo = NULL;
    }
}

/* Runs sql; 0 with *res when it gave tuples or a command status. */
static int run(PGconn *conn, const char *sql, PGresult **res, char *msg, size_t msglen)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return 0;
    }
    clean_error(conn, r, msg, msglen);
    PQclear(r);
    return -EIO;
}

static enum vg_pg_role role_of(PGconn *conn, char *msg, size_t msglen, int *rc)
{
    PGresult *r = NULL;
    *rc = run(conn,
              "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')",
              &r, msg, msglen);
    if (*rc)
        return VG_PG_UNREACHABLE;
    enum vg_pg_role role = !strcmp(PQgetvalue(r, 0, 0), "t")    ? VG_PG_STANDBY
                           : !strcmp(PQgetvalue(r, 0, 1), "on") ? VG_PG_FENCED
                                                                : VG_PG_PRIMARY;
    PQclear(r);
    return role;
}

int vg_agent_pg_probe(const char *conninfo, int timeout_s, enum vg_pg_role *role, char *msg,
                      size_t msglen)
{
    *role = VG_PG_UNREACHABLE;
    PGconn *conn = connect_to(conninfo, timeout_s, msg, msglen);
    if (!conn)
        return -EHOSTUNREACH;
    int rc;
    *role = role_of(conn, msg, msglen, &rc);
    if (!rc)
        snprintf(msg, msglen, "%s", vg_pg_role_name(*role));
    done_with(conn);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until the server has reloaded its configuration with
 * default_transaction_read_only = want. The postmaster reloads before it
 * passes the signal on to the sessions, and every new session starts from
 * the postmaster's settings: once this session sees the value, so does
 * every session opened after it. Asking here costs no connection. */
static int wait_setting(PGconn *conn, int timeout_s, const char *want, char *msg,
                        size_t msglen)
{
    uint64_t deadline = vg_mono_ms() + (uint64_t)timeout_s * 1000;
    do {
        PGresult *r = NULL;
        int rc = run(conn, "SHOW default_transaction_read_only", &r, msg, msglen);
        int seen = !rc && !strcmp(PQgetvalue(r, 0, 0), want);
        PQclear(r);
        if (rc)
            return rc;
        if (seen)
            return 0;
        sleep_ms(FENCE_POLL_MS);
    } while (vg_mono_ms() < deadline);
    return vg_err(msg, msglen, -ETIMEDOUT,
                  "the server reloaded but its sessions do not see read_only %s", want);
}

int vg_agent_pg_fence(const char *conninfo, int timeout_s, char *msg, size_t msglen)
{
    PGconn *conn = connect_to(conninfo, timeout_s, msg, msglen);
    if (!conn)
        return -EHOSTUNREACH;
    int rc;
    enum vg_pg_role role = role_of(conn, msg, msglen, &rc);
    if (rc || role == VG_PG_STANDBY) {
        if (!rc)
            snprintf(msg, msglen, "a standby: nothing to fence");
        goto out;
    }
    rc = run(conn, "ALTER SYSTEM SET default_transaction_read_only = on", NULL, msg, msglen);
    if (!rc)
        rc = run(conn, "SELECT pg_reload_conf()", NULL, msg, msglen);
    if (!rc)
        rc = wait_setting(conn, timeout_s, "on", msg, msglen);
    if (rc)
        goto out;
    /* Both sites' members may fence the same server at once (the old
     * primary's on losing the role, the new primary's before promoting):
     * ending each other's sessions would fail one fence and cost it a
     * retry, so agent sessions are spared. */
    PGresult *r = NULL;
    rc = run(conn,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' "
             "AND application_name IS DISTINCT FROM 'vigil-agent'",
             &r, msg, msglen);
    if (!rc)
        snprintf(msg, msglen, "fenced: read-only, %s client session(s) ended",
                 PQgetvalue(r, 0, 0));
    PQclear(r);
out:
    done_with(conn);
    return rc;
}

static int unfence(PGconn *conn, int timeout_s, char *msg, size_t msglen)
{
    int rc = run(conn, "ALTER SYSTEM RESET default_transaction_read_only", NULL, msg, msglen);
    if (!rc)
        rc = run(conn, "SELECT pg_reload_conf()", NULL, msg, msglen);
    return rc ? rc : wait_setting(conn, timeout_s, "off", msg, msglen);
}

/* A new primary whose synchronous_standby_names waits for standbys of
 * which none streams would hang every commit: like vigil's own log, it
 * commits alone until a standby is back (decided on the standby before it
 * is promoted, or on a primary) (ALTER SYSTEM SET ... = '', undone
 * by vg_agent_pg_sync_restore). *alone is set when it did so. */
static int suspend_sync(PGconn *conn, int *alone, char *msg, size_t msglen)
{
    PGresult *r = NULL;
    int rc = run(conn,
                 "SELECT current_setting('synchronous_standby_names') <> '' AND NOT EXISTS "
                 "(SELECT 1 FROM pg_stat_replication WHERE state = 'streaming')",
                 &r, msg, msglen);
    *alone = !rc && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (rc || !*alone)
        return rc;
    rc = run(conn, "ALTER SYSTEM SET synchronous_standby_names = ''", NULL, msg, msglen);
    return rc ? rc : run(conn, "SELECT pg_reload_conf()", NULL, msg, msglen);
}

int vg_agent_pg_sync_restore(const char *conninfo, int timeout_s, char *msg, size_t msglen)
{
    PGconn *conn = connect_to(conninfo, timeout_s, msg, msglen);
    if (!conn)
        return -EHOSTUNREACH;
    PGresult *r = NULL;
    int rc = run(conn,
                 "SELECT EXISTS (SELECT 1 FROM pg_file_settings WHERE name = "
                 "'synchronous_standby_names' AND setting = '' AND applied AND sourcefile LIKE "
                 "'%/postgresql.auto.conf') AND EXISTS (SELECT 1 FROM pg_stat_replication "
                 "WHERE state = 'streaming') AND NOT pg_is_in_recovery()",
                 &r, msg, msglen);
    int restore = !rc && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (restore) {
        rc = run(conn, "ALTER SYSTEM RESET synchronous_standby_names", NULL, msg, msglen);
        if (!rc)
            rc = run(conn, "SELECT pg_reload_conf()", NULL, msg, msglen);
        if (!rc) {
            snprintf(msg, msglen, "a standby streams again: synchronous replication restored");
            rc = 1;
        }
    }
    done_with(conn);
    return rc;
}

/* pg_promote's own wait looks ten times a second; asking here every
 * FENCE_POLL_MS shortens the switchover by up to 100 ms. */
static int promote(PGconn *conn, int timeout_s, char *msg, size_t msglen)
{
    PGresult *r = NULL;
    int rc = run(conn, "SELECT pg_promote(false)", &r, msg, msglen);
    if (!rc && strcmp(PQgetvalue(r, 0, 0), "t"))
        rc = vg_err(msg, msglen, -EIO, "the server refused to promote (see its log)");
    PQclear(r);
    uint64_t deadline = vg_mono_ms() + (uint64_t)timeout_s * 1000;
    while (!rc) {
        rc = run(conn, "SELECT pg_is_in_recovery()", &r, msg, msglen);
        int done = !rc && !strcmp(PQgetvalue(r, 0, 0), "f");
        PQclear(r);
        if (rc || done)
            break;
        if (vg_mono_ms() >= deadline)
            return vg_err(msg, msglen, -ETIMEDOUT, "not promoted within %d s", timeout_s);
        sleep_ms(FENCE_POLL_MS);
    }
    return rc;
}

int vg_agent_pg_promote(const char *conninfo, int timeout_s, char *msg, size_t msglen)
{
    PGconn *conn = connect_to(conninfo, timeout_s, msg, msglen);
    if (!conn)
        return -EHOSTUNREACH;
    int rc, promoted = 0, alone = 0;
    enum vg_pg_role role = role_of(conn, msg, msglen, &rc);
    if (rc)
        goto out;
    if (role == VG_PG_STANDBY) {
        /* before the promotion, so that its first commit does not wait */
        rc = suspend_sync(conn, &alone, msg, msglen);
        if (!rc)
            rc = promote(conn, timeout_s, msg, msglen);
        if (rc)
            goto out;
        promoted = 1;
        role = role_of(conn, msg, msglen, &rc);
        if (rc)
            goto out;
    }
    if (role == VG_PG_FENCED) {
        rc = unfence(conn, timeout_s, msg, msglen);
        if (rc)
            goto out;
    }
    if (!alone) {
        rc = suspend_sync(conn, &alone, msg, msglen);
        if (rc)
            goto out;
    }
    snprintf(msg, msglen, "%s%s%s", promoted ? "promoted" : "already primary",
             role == VG_PG_FENCED ? ", fence lifted" : "",
             alone ? ", synchronous replication suspended until a standby streams" : "");
out:
    done_with(conn);
    return rc;
}

int vg_agent_pg_write_check(const char *conninfo, int timeout_s, char *msg, size_t msglen)
{
    PGconn *conn = connect_to(conninfo, timeout_s, msg, msglen);
    if (!conn)
        return -EHOSTUNREACH;
    /* synchronous_commit local: the check proves this server writes, even
     * while its synchronous standby (the old primary) is away */
    int rc = run(conn,
                 "BEGIN; SET LOCAL synchronous_commit = local; "
                 "CREATE TEMP TABLE vigil_write_check (at timestamptz) ON COMMIT DROP; "
                 "INSERT INTO vigil_write_check VALUES (now()); COMMIT",
                 NULL, msg, msglen);
    if (!rc)
        snprintf(msg, msglen, "a write committed");
    done_with(conn);
    return rc;
}

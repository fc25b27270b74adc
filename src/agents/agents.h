/*
 * agents.h - the agents that move the company's services with vigil's
 * primary role (docs/services.md): what a Service object says, in the form
 * the agents use (spec), the steps of a move in their order (plan), and
 * the blocking actions on one site's endpoint (PostgreSQL, a hook, an HTTP
 * health check) that the worker thread runs one after the other.
 *
 * Only the acting primary's vigild moves services (promotes at its own
 * site, fences the others it can reach); every other vigild only fences
 * its own site's PostgreSQL when it finds it accepting writes. Nothing here
 * logs or returns a connection string: they hold passwords.
 */
#ifndef VG_AGENTS_H
#define VG_AGENTS_H

#include <jansson.h>

#include "core/buf.h"
#include "core/names.h"
#include "core/vg.h"

#define VG_AGENT_SITES_MAX    8
#define VG_AGENT_OUTPUT_MAX   4096 /* bytes of a hook's output kept in its event */
#define VG_AGENT_RETRY_MS     500  /* between two attempts of a failed step */
#define VG_AGENT_SERVICES_MAX 256  /* Service objects acted on; the rest are reported */

enum vg_agent_kind { VG_AGENT_POSTGRESQL, VG_AGENT_EXEC };

struct vg_agent_site {
    char name[VG_NAME_MAX + 1];
    char *conninfo;   /* secret; wiped by vg_agent_spec_release */
    char *health_url; /* or NULL */
};

/* One Service object, defaults filled in. */
struct vg_agent_spec {
    char name[VG_NAME_MAX + 1];
    enum vg_agent_kind kind;
    int64_t order;
    struct vg_agent_site sites[VG_AGENT_SITES_MAX];
    size_t n_sites;
    char **before, **after; /* NULL-ended argv, or NULL */
    int timeout_s, retries, hook_timeout_s, health_timeout_s;
};

/* Reads one stored Service object (with its secrets) into out; -EINVAL
 * with a message if it does not have the kind's shape (the schema checked
 * it on the way in, so only a bug or an older version gets here). */
int vg_agent_spec_parse(const json_t *object, struct vg_agent_spec *out, char *err,
                        size_t errlen);
/* Frees what out holds, wiping the connection strings. */
void vg_agent_spec_release(struct vg_agent_spec *spec);

/* Every parsable Service of objects (an array of stored objects), in move
 * order: increasing order, then name. *out is heap (vg_agent_specs_free);
 * at most VG_AGENT_SERVICES_MAX. */
void vg_agent_specs_from(const json_t *objects, struct vg_agent_spec **out, size_t *n);
void vg_agent_specs_free(struct vg_agent_spec *specs, size_t n);

/* The site entry of spec named site, or NULL. */
const struct vg_agent_site *vg_agent_site(const struct vg_agent_spec *spec, const char *site);

/* ---- the steps of a move ---- */

enum vg_agent_step_kind {
    VG_STEP_BEFORE,      /* the before hook, at the new primary's site */
    VG_STEP_FENCE,       /* make another site's PostgreSQL refuse writes */
    VG_STEP_PROMOTE,     /* promote the new site's standby, lift its fence */
    VG_STEP_WRITE_CHECK, /* a committed write at the new site */
    VG_STEP_AFTER,       /* the after hook */
    VG_STEP_HEALTH,      /* the health URL at the new site answers 2xx */
};

struct vg_agent_step {
    enum vg_agent_step_kind kind;
    size_t service;   /* index into the specs */
    const char *site; /* where it acts; borrowed from the spec */
};

/* "before", "fence", "promote", "write_check", "after", "health" */
const char *vg_agent_step_name(enum vg_agent_step_kind kind);

/* The steps that move specs[0..n) to new_primary, in order: service by
 * service as listed; within one, before hook, fence of every other site
 * (before any promotion: two writable primaries must never exist), promote,
 * write check, after hook, health check. A service without an endpoint at
 * new_primary has no step. Writes at most cap steps; returns how many there
 * are (call with cap 0 to count). */
size_t vg_agent_plan(const struct vg_agent_spec *specs, size_t n, const char *new_primary,
                     struct vg_agent_step *out, size_t cap);

/* ---- actions (blocking; the worker thread runs them) ---- */

/* What a PostgreSQL server is, as seen through its connection string. */
enum vg_pg_role {
    VG_PG_UNREACHABLE,
    VG_PG_STANDBY, /* in recovery */
    VG_PG_PRIMARY, /* accepts writes */
    VG_PG_FENCED,  /* a primary whose default transactions are read-only */
};
const char *vg_pg_role_name(enum vg_pg_role role);

/* Outcome of an action: 0 done, -EHOSTUNREACH the server does not answer,
 * another negative errno for a failure; msg says what happened (never the
 * connection string). */
int vg_agent_pg_probe(const char *conninfo, int timeout_s, enum vg_pg_role *role, char *msg,
                      size_t msglen);
/* A primary is made to refuse writes: default_transaction_read_only on
 * (ALTER SYSTEM, reload, seen by the sessions), then every other
 * client session ended. A standby is left alone (0). */
int vg_agent_pg_fence(const char *conninfo, int timeout_s, char *msg, size_t msglen);
/* A standby is promoted (pg_promote, waiting up to timeout_s), then a fence
 * on it is lifted (a primary is only unfenced); if its synchronous standbys
 * do not stream, it commits alone until one does (vg_agent_pg_sync_restore). */
int vg_agent_pg_promote(const char *conninfo, int timeout_s, char *msg, size_t msglen);
/* Undoes what a promotion did when no standby streamed (it set
 * synchronous_standby_names to '' with ALTER SYSTEM) once one streams
 * again: 1 when restored, 0 when nothing was to do. */
int vg_agent_pg_sync_restore(const char *conninfo, int timeout_s, char *msg, size_t msglen);
/* Commits a write in a default transaction (a temporary table, committed
 * without waiting for a synchronous standby): fails on a standby or a
 * fenced server. */
int vg_agent_pg_write_check(const char *conninfo, int timeout_s, char *msg, size_t msglen);
/* Closes the sessions the calling thread kept open between actions. */
void vg_agent_pg_close_all(void);

/* Runs argv with env_extra ("NAME=value", NULL-ended) added to vigild's
 * environment (without its own VIGIL_* variables), stdin from /dev/null,
 * stdout and stderr into output (the first VG_AGENT_OUTPUT_MAX bytes).
 * Past timeout_s its process group is killed. 0 on exit status 0. */
int vg_agent_exec(char *const argv[], const char *const env_extra[], int timeout_s,
                  vg_buf_t *output, char *msg, size_t msglen);

/* GET url within timeout_s: 0 on a 2xx answer. msg never holds the URL. */
int vg_agent_http_check(const char *url, int timeout_s, char *msg, size_t msglen);

#endif

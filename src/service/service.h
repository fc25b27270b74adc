/*
 * service.h - the one interface through which a capability plugs into
 * vigild (nginx's module struct, Redis's command table).
 *
 * A service comes in two halves, because they are linked in different
 * places:
 *
 *  - its data (struct vg_service_data): the record types it owns, a
 *    deterministic apply of those records into its slice of the state, and
 *    that slice's part of a snapshot. Everything that rebuilds a state from
 *    a log links it (the member, the mirror, `vigild inspect`, unit tests),
 *    so it does no I/O, reads no clock and calls nothing of the runtime.
 *    Listed in vg_service_data[] (service_data.c).
 *
 *  - its runtime (struct vg_service): the kinds it reads, start/stop, what
 *    it does when its member becomes primary or mirror (only the primary
 *    pages, evaluates rules, runs agents), what it does on each committed
 *    change, its HTTP routes, its metrics, its traffic on the member link,
 *    and the names of its `vigil` commands. Only vigild links it. Listed in
 *    vg_services[] (src/vigild/services.c); `vigild run` starts, feeds and
 *    stops every row, and the router serves every row's routes.
 *
 * Adding a service: a folder, one row in each table, its rows in vigil's
 * CLI table (docs/architecture.md).
 */
#ifndef VG_SERVICE_H
#define VG_SERVICE_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "auth/token.h"
#include "core/buf.h"
#include "state/state.h"

/* ---- the data half ---- */

struct vg_service_data {
    const char *name;             /* the slice's name in snapshots: "alerts" */
    const uint16_t *record_types; /* owned record types, ended by 0 */
    void *(*slice_new)(void);
    void (*slice_free)(void *slice);
    /* Applies one committed record of an owned type. Deterministic: the same
     * records give the same slice on both members. A payload it cannot use
     * is kept out (0), never trusted; a negative return stops the member. */
    int (*apply)(void *slice, uint64_t index, uint16_t type, json_t *payload);
    /* The slice as one JSON value, and back (the slice is empty before
     * load; on failure the caller discards it). */
    void (*dump)(const void *slice, vg_buf_t *out);
    int (*load)(void *slice, const json_t *dump, char *err, size_t errlen);
};

/* Every service's data half, ended by NULL. */
extern const struct vg_service_data *const vg_service_data[];

/* The service owning record type, or NULL. */
const struct vg_service_data *vg_service_data_owner(uint16_t type, size_t *slot);

/* ---- the runtime half ---- */

struct vg_call;            /* api/api_int.h: one request being handled */
struct vg_member;          /* member/member.h */
struct vg_cluster;         /* cluster/cluster.h */
struct vg_cluster_channel; /* cluster/cluster.h */

enum vg_service_role {
    VG_SERVICE_STANDBY, /* a mirror, or a member not serving as primary now */
    VG_SERVICE_PRIMARY, /* the acting primary (standalone: always) */
};

/* What a service is started with. */
struct vg_service_env {
    struct event_base *base;
    struct vg_member *member;
    struct vg_cluster *cluster; /* NULL when standalone */
    const char *site;           /* collect only this site's devices; NULL: every one */
    int no_collect;             /* run no device */
    /* paging (the incidents service) */
    const char *public_url; /* base of links sent in pages: "https://vigil.example:7700" */
    const char *smtp_url;   /* relay for email pages, or NULL */
    const char *mail_from;  /* their From: address */
    uint64_t minute_ms;     /* one minute of escalation delays (60000 unless drilling) */
};

/* One route (the API's router serves these beside its own). */
struct vg_route {
    enum evhttp_cmd_type method;
    const char *pattern; /* "/api/v1/objects/{kind}/{name}" */
    enum vg_perm perm;   /* ignored for VG_ROUTE_PUBLIC */
    unsigned flags;      /* VG_ROUTE_* (api/api_int.h) */
    void (*handler)(struct vg_call *call);
};

struct vg_service {
    const char *name;
    const char *const *kinds;           /* the object kinds it acts on, ended by NULL */
    const struct vg_service_data *data; /* its data half, or NULL */
    int (*start)(const struct vg_service_env *env, void **instance, char *err, size_t errlen);
    void (*stop)(void *instance); /* frees; NULL instance is fine */
    void (*on_role)(void *instance, enum vg_service_role role);
    void (*on_commit)(void *instance, const vg_change_t *change); /* objects put/deleted */
    void (*on_record)(void *instance, uint64_t index, uint16_t type); /* any record applied */
    void (*metrics)(void *instance, vg_buf_t *out);               /* Prometheus text */
    int (*disk_full)(void *instance); /* 1 while it cannot store for lack of space */
    /* its traffic on the member link (cluster.h), or NULL */
    int (*channel)(void *instance, struct vg_cluster_channel *out);
    const struct vg_route *routes; /* ended by a row with a NULL pattern */
    const char *const *cli;        /* its `vigil` commands, for `vigild services` */
};

/* Every service vigild runs, ended by NULL (src/vigild/services.c). */
extern const struct vg_service *const vg_services[];

/* A running service. */
struct vg_service_running {
    const struct vg_service *def;
    void *instance;
};

/* ---- running them (service_run.c) ---- */

typedef struct vg_services vg_services_t;

/* Starts every row of vg_services[] in order (stopping those started if
 * one fails), feeds them committed changes and the member's role (polled
 * every 20 ms: the acting primary, or not), and attaches the one service
 * that has member-link traffic to the cluster's channel. */
int vg_services_start(const struct vg_service_env *env, vg_services_t **out, char *err,
                      size_t errlen);
/* Stops them in reverse order; NULL is fine. */
void vg_services_stop(vg_services_t *s);
/* The running services (for the API's router, metrics and readiness). */
const struct vg_service_running *vg_services_running(const vg_services_t *s, size_t *n);

#endif

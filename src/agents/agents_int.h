/*
 * agents_int.h - what the agents' service (agents_service.c: lifecycle,
 * role, reports into events) and its route (agents_routes.c: GET
 * /api/v1/services) share. Not for use outside src/agents/.
 */
#ifndef VG_AGENTS_INT_H
#define VG_AGENTS_INT_H

#include "agents/agents_worker.h"
#include "cluster/cluster.h"
#include "member/member.h"
#include "service/service.h"

#define VG_AGENTS_PROBE_MS 2000 /* every endpoint's role and health, this often */

struct vg_agents_svc {
    struct event_base *base;
    vg_member_t *member;
    vg_cluster_t *cluster; /* NULL when standalone */
    char site[VG_NAME_MAX + 1];
    vg_agents_worker_t *worker;
    struct event *ev_reports, *tick;
    int primary;
    uint64_t epoch;          /* the cluster's epoch while acting primary, 0 when not */
    uint64_t term;           /* counts the times this member became acting primary */
    uint64_t primary_since;  /* vg_mono_ms */
    int move_pending;        /* a move waits for the epoch's config event */
    char pending_reason[64]; /* why, when not a role change ("applied") */
    uint64_t last_probe;     /* vg_mono_ms */
    /* what this member saw: {service: {site: {role, health, ..., last}}} */
    json_t *seen;
    json_t *move; /* the last move's "move" reports: {start, done} */
    uint64_t n_moves, n_steps_failed, n_fences;
};

/* The route's handler (agents_routes.c). */
void vg_api_services(struct vg_call *call);

/* The body of GET /api/v1/services (new reference). */
json_t *vg_agents_view(const struct vg_agents_svc *svc);

#endif

/*
 * protect_int.h - the protect service's runtime, shared by its two files:
 * protect_service.c (lifecycle, the tick that decides and acts on the
 * acting primary) and protect_routes.c (status, freeze, unfreeze).
 */
#ifndef VG_PROTECT_INT_H
#define VG_PROTECT_INT_H

#include <event2/event.h>
#include <jansson.h>

#include "member/member.h"
#include "protect/protect_decide.h"
#include "protect/protect_data.h"

#define VG_PROTECT_TICK_MS     200
#define VG_PROTECT_RETRY_MS    10000 /* after a switchover that failed, at the least */
#define VG_PROTECT_RESUBMIT_MS 5000  /* a decision not seen committed by then is written again \
                                      */

struct vg_protect_switch; /* a switchover in progress (protect_service.c) */
struct drill_switch;      /* a drill's switchover in progress (drill_routes.c) */
struct vg_call;

struct vg_protect_svc {
    struct event_base *base;
    vg_member_t *member;
    struct vg_cluster *cluster; /* NULL when standalone */
    const char *site;           /* this member's site */
    int primary;
    int64_t acting_since_ms; /* when this member became the acting primary */
    struct event *tick, *kick;
    int dirty;          /* policy and places to read again */
    json_t *policy_obj; /* the FailoverPolicy covering site, or NULL */
    struct vg_protect_policy policy;
    json_t *sensor_site, *sensor_room, *device_site, *sites;
    json_t *submitted; /* the last decision written, until seen committed */
    int64_t submitted_at;
    struct vg_protect_switch *switching;
    int64_t retry_after_ms;
    struct drill_switch *drill_switch;
    int64_t drill_rev, drill_written_at; /* the last drill report written */
    /* metrics */
    uint64_t n_switchovers, n_declined, n_failed;
};

/* Fills in (borrowing from svc and the state) for now; *status gets the
 * cluster's status (new ref, NULL when standalone). */
void vg_protect_gather(struct vg_protect_svc *svc, int64_t now, struct vg_protect_in *in,
                       json_t **status);
int64_t vg_protect_now_ms(void);
/* Writes an event (VG_REC_EVENT) of kind with message, and extra fields
 * (borrowed, may be NULL). */
int vg_protect_event(struct vg_protect_svc *svc, const char *kind, const char *severity,
                     const char *message, const json_t *extra);

extern const struct vg_route vg_protect_routes[];

/* A reason field (may be absent unless required): 0, or answered 400. */
int vg_protect_check_reason(struct vg_call *call, const json_t *v, int required);

/* Drills (drill_routes.c): the acting primary's step on every tick, the
 * handlers of /api/v1/drills, and what stop() must detach. */
void vg_protect_drill_tick(struct vg_protect_svc *svc, const struct vg_protect_in *in,
                           int acting);
void vg_protect_drill_stop(struct vg_protect_svc *svc);
void vg_protect_drill_run(struct vg_call *call);
void vg_protect_drill_list(struct vg_call *call);
void vg_protect_drill_get(struct vg_call *call);

#endif

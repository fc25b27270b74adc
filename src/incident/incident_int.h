/*
 * incident_int.h - the incidents service's runtime, shared by its files:
 * the engine (engine.c: incidents from alerts and cluster events,
 * escalation, delivery), the on-call directory (directory.c: people,
 * teams, schedules, policies as the engine reads them), acknowledge links
 * (acklink.c) and the routes (incident_service.c, incident_routes.c).
 */
#ifndef VG_INCIDENT_INT_H
#define VG_INCIDENT_INT_H

#include <event2/event.h>
#include <jansson.h>

#include "incident/incidents.h"
#include "member/member.h"
#include "page/page.h"

#define VG_ACK_LINK_TTL_MS (24 * 3600 * 1000LL) /* a page's acknowledge link */
#define VG_INCIDENT_TICK_MS 100
#define VG_INCIDENT_INFLIGHT_MS 5000 /* a record not seen committed by then is tried again */
#define VG_INCIDENT_WORK_SLICE 1000  /* incidents a tick escalates and delivers at most */
/* a delivered page whose outcome is not seen applied by then is sent again
 * (its record was lost); long, as a loaded member may take seconds */
#define VG_INCIDENT_OUTCOME_MS 60000

/* The on-call objects, by name, as the engine reads them (unredacted: the
 * engine needs routing keys). Rebuilt when one of their kinds changes. */
struct vg_directory {
    json_t *person, *team, *schedule, *policy, *contact; /* {name: spec} */
    json_t *policy_names;                                /* [name] sorted */
    json_t *sensor_zone, *zone_site;                     /* {sensor: zone}, {zone: site} */
    json_t *silence, *maintenance;                       /* {name: spec} */
    json_t *sensor, *rule;                               /* {name: spec} */
};

struct vg_incident_sending; /* engine.c: one delivery in progress */

/* due.c: when the engine must next look at each incident */
struct vg_due_entry {
    int64_t at;
    uint64_t id;
};
struct vg_due {
    struct vg_due_entry *heap; /* min-heap by at, with entries left behind */
    size_t n, cap;
    json_t *at; /* {"<id>": ms} the time that counts for each id */
};
void vg_due_init(struct vg_due *d);
void vg_due_release(struct vg_due *d);
void vg_due_clear(struct vg_due *d);
/* at < 0: nothing to do for id */
void vg_due_set(struct vg_due *d, uint64_t id, int64_t at);
/* The earliest time that counts, or -1. */
int64_t vg_due_next(struct vg_due *d);
/* 1 and the id of an incident due at or before now (forgotten), or 0. */
int vg_due_pop(struct vg_due *d, int64_t now, uint64_t *id);
size_t vg_due_size(const struct vg_due *d);

struct vg_incident_svc {
    struct event_base *base;
    vg_member_t *member;
    const char *site; /* this member's site, for the log */
    int primary;
    int dirty; /* the directory must be rebuilt */
    struct vg_directory dir;
    struct event *tick;
    struct event *kick; /* a tick soon, after a record that matters */
    vg_pager_t *pager;
    char public_url[256];
    int64_t minute_ms; /* a minute of escalation delays (60000; less in drills and tests) */
    json_t *inflight;  /* {what: deadline ms} records submitted, not yet seen applied */
    json_t *sending;   /* {page key: 1} deliveries in progress */
    json_t *throttle;  /* {target/method: [window start ms, pages]} */
    struct vg_due due;      /* when each incident needs the engine next (engine.c) */
    uint64_t changes_seen;  /* vg_incidents_changed's cursor */
    int rescan;             /* look at every incident (start, role, directory change) */
    json_t *rule_open;      /* {"<id>": alert id} open incidents a rule resolves */
    json_t *training_open;  /* {"<id>": dedup key} open overdue-training incidents */
    json_t *alerts_recheck; /* {alert id: true} to look at again (engine.c, from_alerts) */
    uint64_t alerts_seen;   /* the newest alert log index from_alerts has looked at */
    int64_t alerts_full_at; /* when it last looked at every active alert */
    int alerts_full;        /* look at every one on the next tick */
    uint64_t tick_cost_us;  /* how long the last tick took */
    int work_more;          /* the last tick left incidents due */
    struct vg_incident_sending *sends; /* their callback contexts (freed on stop) */
    uint64_t events_seen;
    int64_t training_at; /* when overdue training was last looked at */
    int64_t drills_at;   /* when an overdue drill was last looked at */
    int64_t handoff_at;  /* when schedules were last looked at for hand-offs */
    int64_t swept_at;    /* when expired inflight entries were last dropped */
    /* metrics */
    uint64_t n_opened, n_resolved, n_escalations, n_pages_ok, n_pages_failed, n_acks_link;
    uint64_t n_throttled;
};

/* engine.c */
void vg_incident_tick(struct vg_incident_svc *svc);
/* Writes an incident record (payload borrowed); 0 or a negative errno. */
int vg_incident_submit(struct vg_incident_svc *svc, json_t *payload);
int64_t vg_incident_now_ms(void);
/* Makes p (key, severity, summary, source, labels, site...) an "open"
 * record: op, time and the escalation policy that takes it. */
void vg_incident_prepare_open(struct vg_incident_svc *svc, json_t *p, int64_t now);
/* Frees the contexts of deliveries the pager dropped unanswered (stop). */
void vg_incident_sends_free(struct vg_incident_svc *svc);

/* directory.c */
void vg_directory_init(struct vg_directory *d);
void vg_directory_release(struct vg_directory *d);
void vg_directory_load(struct vg_directory *d, const vg_state_t *st);
/* The escalation policy whose match takes an incident, or NULL. */
const char *vg_directory_route(const struct vg_directory *d, const char *severity,
                               const char *site, const json_t *labels);

/* The name of the Silence or MaintenanceWindow covering incident inc at
 * now (and when it ends), or NULL. */
const char *vg_directory_silenced(const struct vg_directory *d, const json_t *inc, int64_t now,
                                  int64_t *until);

/* acklink.c: a link that acknowledges incident id once, until expires_ms,
 * sealed with the cluster's data key (both sites can open it). */
int vg_acklink_make(const vg_member_t *m, uint64_t id, int64_t expires_ms, char *out,
                    size_t outlen);
/* Opens a token; 0 and the incident, nonce and expiry, or -EINVAL. */
int vg_acklink_open(const vg_member_t *m, const char *token, uint64_t *id, char *nonce,
                    size_t noncelen, int64_t *expires_ms);

#endif

/*
 * demo_watch.h - the outcomes `vigil demo scenario` waits for, observed
 * through the API of the demo's members (demo_watch.c): an alert raised at a
 * site, an incident opened and its page delivered, a member becoming the
 * acting primary (by a planned switchover), a member down, the link cut
 * (the primary alone in the sync set, the mirror not taking over, the
 * witness reached by both) and the link healed.
 */
#ifndef VG_CLI_DEMO_WATCH_H
#define VG_CLI_DEMO_WATCH_H

#include "cli/demo.h"

enum vg_demo_oc {
    VG_OC_ALERT,       /* rule at level (NULL: warning, critical or suppressed) at site */
    VG_OC_INCIDENT,    /* an incident at site for one of the rules' alerts */
    VG_OC_PAGE,        /* a page of that incident delivered */
    VG_OC_PRIMARY,     /* member is the acting primary */
    VG_OC_PLANNED,     /* a protect switchover away from site, since the start */
    VG_OC_DECLINED,    /* a protect switchover away from site declined, since the start */
    VG_OC_DOWN,        /* member's vigild is gone */
    VG_OC_ALONE,       /* member is the acting primary and the other is out of sync */
    VG_OC_NO_TAKEOVER, /* member answers and is not acting */
    VG_OC_WITNESS,     /* both members reach the witness */
    VG_OC_IN_SYNC,     /* both members answer, the mirror in sync */
};

#define VG_DEMO_MAX_OC    12
#define VG_DEMO_MAX_RULES 4

struct vg_demo_outcome {
    enum vg_demo_oc kind;
    const char *rule, *level; /* VG_OC_ALERT */
    char site[64];
    int member;
    int after; /* index of an outcome that must show first, or -1 */
    char what[200];
    int seen;
    long after_ms;
    char detail[240];
};

struct vg_demo_plan {
    char name[64];
    char watch[400];                          /* one line: what to watch for */
    const char *rules[VG_DEMO_MAX_RULES + 1]; /* the incident's rules, NULL-terminated */
    struct vg_demo_outcome oc[VG_DEMO_MAX_OC];
    int n_oc;
    int64_t start_ms; /* wall clock, for events and incidents */
};

/* Appends an outcome; returns its index. */
int vg_demo_expect(struct vg_demo_plan *p, enum vg_demo_oc kind, const char *site, int member,
                   int after, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Polls until every outcome showed or wait_s passed, printing a line per
 * outcome seen (unless quiet). 0 when all showed, else 1 (the missing ones
 * printed unless quiet). */
int vg_demo_wait(struct vg_cli *cli, const struct vg_demo *d, struct vg_demo_plan *p,
                 long wait_s, int quiet);

/* GET path from member i only, silently: the parsed answer of a 200 (new
 * reference), or NULL. */
json_t *vg_demo_get(struct vg_cli *cli, int member, const char *path);

/* The index of the acting primary as the members say, or -1. */
int vg_demo_primary(struct vg_cli *cli, const struct vg_demo *d);

#endif

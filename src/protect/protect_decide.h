/*
 * protect_decide.h - the protect service's decision, as pure functions:
 * given the committed alert facts, where each sensor is, the cluster's
 * state, the FailoverPolicy, the stored freeze and last switchover, and
 * the time, say whether to move the primary role to the other site, and
 * why (docs/protect.md).
 *
 * Nothing here reads a clock, the disk or the network: the runtime
 * (protect_service.c) gathers the inputs and acts on the answer, and unit
 * tests (tests/unit/test_protect.c) give the inputs directly.
 *
 * Conditions are read from the built-in rule packs' alerts (rules/packs.c),
 * an alert fact being {id: "RULE/SENSOR" | "RULE/SITE", rule, sensor?, to,
 * time, value?, predicted_s?} as the monitor records it:
 *   fire   smoke critical and vesda-alarm critical at the site, or
 *          gas-discharged critical
 *   water  water-leak critical in a server-room zone
 *   power  mains-lost critical and (generator-not-running in any state but
 *          ok, or mains-lost-generator-not-running critical, or
 *          generator-fuel-hours saying less than fuel_below_hours)
 *   ups    ups-on-battery critical (low battery), or ups-on-battery and
 *          ups-runtime-low saying less than ups_below_minutes
 *   heat   ashrae-aN-forecast saying the allowable maximum comes within
 *          heat_within_minutes, or ashrae-aN-inlet critical above it
 * A prediction (fuel, runtime, forecast) counts down from the time the
 * alert recorded it, so "less than N" holds from the moment the recorded
 * figure minus the time elapsed since is below N.
 */
#ifndef VG_PROTECT_DECIDE_H
#define VG_PROTECT_DECIDE_H

#include <jansson.h>

#include "core/vg.h"

enum vg_protect_cond {
    VG_PROTECT_FIRE,
    VG_PROTECT_WATER,
    VG_PROTECT_POWER,
    VG_PROTECT_UPS,
    VG_PROTECT_HEAT,
    VG_PROTECT__NCOND
};

#define VG_PROTECT_IGNORE_MAX 64

/* A FailoverPolicy's spec with its defaults filled in. */
struct vg_protect_policy {
    char name[128];
    int enabled;
    int on[VG_PROTECT__NCOND];
    double fuel_below_h, ups_below_min, heat_within_min;
    int64_t hold_ms, cooldown_ms;
    size_t n_ignore;
    char ignore[VG_PROTECT_IGNORE_MAX][128]; /* rules that do not block at the mirror */
};

/* Defaults a datacentre team would choose (docs/protect.md). */
#define VG_PROTECT_HOLD_S       30
#define VG_PROTECT_COOLDOWN_S   3600
#define VG_PROTECT_FUEL_HOURS   4.0
#define VG_PROTECT_UPS_MINUTES  10.0
#define VG_PROTECT_HEAT_MINUTES 15.0

/* Fills p from a FailoverPolicy object ({name, spec}, as the state holds
 * it; NULL gives the defaults). The spec was validated on the way in. */
void vg_protect_policy_parse(const json_t *obj, struct vg_protect_policy *p);

/* "fire", "water", ... */
const char *vg_protect_cond_name(enum vg_protect_cond c);

/* Where the alerts are: borrowed JSON objects, any may be NULL (empty).
 *   sensor_site  {sensor: site}
 *   sensor_room  {sensor: true} for sensors in a server-room zone
 *   device_site  {device: site} */
struct vg_protect_places {
    const json_t *sensor_site, *sensor_room, *device_site;
};

/* The site of an alert fact, or NULL when it has none (a user composite). */
const char *vg_protect_alert_site(const struct vg_protect_places *pl, const char *id,
                                  const json_t *fact);

/* One condition holding at a site. */
struct vg_protect_hit {
    enum vg_protect_cond cond;
    int64_t since_ms; /* it has held without a break since then */
    char detail[256]; /* what holds: "smoke dc1-smoke, VESDA dc1-vesda" */
};

/* The condition of the policy that holds at site and has held longest:
 * 1 and *hit, or 0. */
int vg_protect_condition(const struct vg_protect_policy *p, const json_t *alerts,
                         const struct vg_protect_places *pl, const char *site, int64_t now_ms,
                         struct vg_protect_hit *hit);

/* A critical alert at site that is not one of p's ignored rules: 1 and its
 * id in what, or 0. */
int vg_protect_site_critical(const struct vg_protect_policy *p, const json_t *alerts,
                             const struct vg_protect_places *pl, const char *site, char *what,
                             size_t whatlen);

/* Everything the decision reads. */
struct vg_protect_in {
    const struct vg_protect_policy *policy; /* NULL: no FailoverPolicy covers site */
    const json_t *alerts;                   /* {id: fact} active alert facts */
    struct vg_protect_places places;
    const char *site;      /* the primary's (this member's) site */
    const char *peer;      /* the other member, NULL when standalone */
    const char *peer_site; /* its site, NULL when it cannot be told */
    int peer_in_sync;      /* the peer is connected and in the sync set */
    int64_t now_ms;
    int64_t acting_since_ms;    /* this member became the acting primary */
    const json_t *frozen;       /* {by, reason, time} or NULL */
    int64_t last_switchover_ms; /* the last role change (0: none known) */
};

enum vg_protect_action {
    VG_PROTECT_OFF,     /* no policy, disabled, or no other site */
    VG_PROTECT_CALM,    /* no condition holds */
    VG_PROTECT_HOLDING, /* a condition holds, not yet for the hold time */
    VG_PROTECT_SWITCH,  /* switch over to the peer now */
    VG_PROTECT_DECLINE, /* a switchover is called for and a guard rail says no */
};

struct vg_protect_decision {
    enum vg_protect_action action;
    struct vg_protect_hit hit; /* HOLDING, SWITCH, DECLINE */
    const char *code;          /* DECLINE: the first guard that said no (static) */
    char reason[768];          /* for people, every action */
};

/* "off", "calm", "holding", "switchover", "declined" */
const char *vg_protect_action_name(enum vg_protect_action a);

/* The decision. Guard rails, in the order they are named in a decline:
 * "frozen", "cooldown", "mirror-not-in-sync" (or "no-mirror"),
 * "mirror-site-unknown", "mirror-site-critical". A condition is acted on
 * (or declined) only once it has held for hold_s since the later of its
 * start and acting_since_ms: a new primary watches for itself first. */
void vg_protect_decide(const struct vg_protect_in *in, struct vg_protect_decision *out);

/* 1 if d is news against the last recorded decision (NULL: none): another
 * action, guard, condition or episode (its since). A decision repeated on
 * every tick is recorded once. */
int vg_protect_is_news(const struct vg_protect_decision *d, const json_t *last);

/* The peer's site: spec.member_sites[peer] of the policy object, else the
 * Site named like the peer, else the only Site (not a witness site) other
 * than own_site; NULL if none of those tells. sites is [{name, spec}]. */
const char *vg_protect_peer_site(const json_t *policy_obj, const json_t *sites,
                                 const char *peer, const char *own_site);

#endif

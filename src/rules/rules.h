/*
 * rules.h - the rule engine of facility monitoring (DESIGN.md section 4).
 *
 * A pure, deterministic, event-driven library: it is given the Zones,
 * Sensors, Devices and Rules as the state holds them, then every reading,
 * device up/down event and a periodic tick, and it reports every change of
 * state of a rule instance through a callback. It does no I/O and never
 * reads a clock: time is always passed in (milliseconds, any epoch, the
 * same one for every call). The same calls in the same order give the same
 * changes with the same bytes, so the daemon can turn them into replicated
 * records and a new primary can carry on where the old one stopped.
 *
 * Rule instances. A rule definition (a Rule object or a built-in pack rule)
 * applies to one sensor, to every sensor a match selects (one instance per
 * sensor), to a site (pack composites) or to nothing in particular (a
 * user composite). Instance ids are stable: "RULE/SENSOR", "RULE/SITE" for
 * a pack composite, "device-unreachable/DEVICE", or "RULE" alone.
 *
 * Instance states: "ok", "info" (a condition that never alerts, used as a
 * part of composites, e.g. generator-not-running), "warning", "critical",
 * "suppressed" (it would fire but a rule it depends on is firing) and
 * "stale" (its sensor has no fresh data). Stale never resolves anything: a
 * firing instance whose sensor goes stale stays firing underneath (it still
 * suppresses its dependants and counts in composites) and is shown stale;
 * only a good reading that clears it resolves it.
 *
 * Threading: none. A vg_rules_t belongs to one thread, the daemon's event
 * loop; no call may run concurrently with another on the same engine, and
 * the change callback must not call back into the engine.
 *
 * Cost: vg_rules_reading on a sensor with its pack rules does no allocation
 * unless a state changes and takes on the order of 100 ns (bench/rules_eval.c).
 */
#ifndef VG_RULES_H
#define VG_RULES_H

#include <jansson.h>

#include "core/vg.h"

typedef struct vg_rules vg_rules_t;

/* One change of one instance's state. Every pointer stays valid only for
 * the duration of the callback (they point into the engine's buffers). */
struct vg_rule_change {
    const char *id;      /* stable instance id, "ashrae-a1-inlet/dc1-hall-a-t1" */
    const char *rule;    /* rule (definition) name */
    const char *sensor;  /* sensor name, NULL for composites and devices */
    const char *from;    /* previous state */
    const char *to;      /* new state */
    const char *message; /* deterministic text for people */
    double value;        /* the sensor's latest value, NAN if none */
    int64_t time_ms;     /* the time passed in with the event that caused it */
    double predicted_s;  /* prediction rules: seconds to the threshold, NAN if none */
    int firing;          /* the latched condition underneath: 0 none, else 1 (see seed) */
    const char *clears;  /* what ends a warning or critical state, for people; else NULL */
};

typedef void (*vg_rule_change_fn)(void *ctx, const struct vg_rule_change *change);

/* An empty engine; vg_rules_free(NULL) does nothing. */
vg_rules_t *vg_rules_new(void);
void vg_rules_free(vg_rules_t *rules);

/* (Re)builds the engine from arrays of objects as the state returns them:
 * {kind, name, labels, spec, ...}; any argument may be NULL (no objects).
 * Nothing is retained from the JSON: the engine copies what it needs.
 * An instance whose id and definition are unchanged keeps its runtime
 * state; sensors keep their latest values and trend windows by name. New
 * instances start "ok" without a change. Instances that disappear are
 * dropped silently: the daemon resolves their records itself.
 * Objects that refer to missing ones (a rule on an unknown sensor, a
 * depends_on naming no rule, a cycle) are skipped and listed in
 * vg_rules_problems(). Returns 0, or -EINVAL with err when an array is not
 * an array of objects; the engine is then unchanged. Indexes returned by
 * vg_rules_sensor before a load are invalid after it. */
int vg_rules_load(vg_rules_t *rules, const json_t *zones, const json_t *sensors,
                  const json_t *devices, const json_t *rule_objs, char *err, size_t errlen);

/* What the last load skipped, and why: a new array of strings. */
json_t *vg_rules_problems(const vg_rules_t *rules);

/* Dense index of a sensor (0 .. n-1, valid until the next load), -1 if unknown. */
int vg_rules_sensor(const vg_rules_t *rules, const char *sensor_name);

/* One reading of a sensor (an index from vg_rules_sensor; others are
 * ignored). Calls fn once for each instance whose state changes. */
void vg_rules_reading(vg_rules_t *rules, int sensor_idx, int64_t time_ms, double value,
                      vg_rule_change_fn fn, void *ctx);

/* Periodic work, at least once a second: sensors without data for their
 * stale_after (spec.stale_after_s, else 3 x the device's interval_ms, else
 * 30 s) go stale, and hold timers that have run out raise. */
void vg_rules_tick(vg_rules_t *rules, int64_t now_ms, vg_rule_change_fn fn, void *ctx);

/* A device became unreachable (up = 0) or reachable again (up = 1). Down
 * makes all its sensors stale at once and raises the instance
 * "device-unreachable/DEVICE" (warning); up clears that instance (the
 * sensors stay stale until they read again). Unknown devices are ignored. */
void vg_rules_device(vg_rules_t *rules, const char *device, int up, int64_t time_ms,
                     vg_rule_change_fn fn, void *ctx);

/* Restores a committed state after failover, without calling anything:
 * the next reading that confirms it reports no change. "warning",
 * "critical", "suppressed" and "info" set the firing latch, "ok" clears
 * it, "stale" shows the instance stale and keeps the latch as it is (to
 * restore a firing instance that went stale, seed its last firing state
 * and then "stale", or use the change's firing field). Returns 0, or
 * -ENOENT for an unknown id, -EINVAL for an unknown state. */
int vg_rules_seed(vg_rules_t *rules, const char *instance_id, const char *state);

/* Every instance: [{id, rule, sensor, state, since, value, severity,
 * message, prediction, firing}], in a fixed order. New reference. */
json_t *vg_rules_status(const vg_rules_t *rules);

/* State of a sensor: "unknown" (no data yet), "stale", else the worst of
 * its instances ("ok", "warning", "critical"; a suppressed instance counts
 * as what it would be). The string is static. */
const char *vg_rules_sensor_state(const vg_rules_t *rules, int sensor_idx);

/* Checks a message template ({rule} {sensor} {device} {zone} {site}
 * {value} {predicted}); for the Rule kind's validation. */
int vg_rules_message_check(const char *tmpl, char *err, size_t errlen);

#endif

/*
 * monitor.h - facility monitoring inside a member (DESIGN.md section 4):
 * the site's devices (collector), the time-series store, the rule engine,
 * and the bridge from rule state changes to replicated records.
 *
 * Flow of one reading:  driver thread -> collector queue -> loop:
 *   sensor lookup -> tsdb append (durable at the next sync) -> rule engine
 *   -> on a state change, the primary appends a VG_REC_ALERT record, so
 *   both sites agree on every alert.
 * Readings pushed over HTTP enter at vg_monitor_ingest. Only the primary
 * evaluates rules; a mirror stores what its own site's devices read and
 * forwards it to the primary (spooled while the primary is unreachable).
 *
 * Threads: everything here runs on the event loop thread.
 */
#ifndef VG_MONITOR_H
#define VG_MONITOR_H

#include <event2/event.h>
#include <jansson.h>

#include "core/buf.h"
#include "cluster/cluster.h"
#include "member/member.h"

typedef struct vg_monitor vg_monitor_t;

struct vg_monitor_opts {
    const char *site; /* collect only this site's devices; NULL: every device */
    int no_collect;   /* 1: store pushed readings only, run no device */
};

/* Opens DATA/tsdb, loads the objects and starts the devices. cluster may
 * be NULL (standalone: always primary). */
int vg_monitor_start(struct event_base *base, vg_member_t *m, vg_cluster_t *cluster,
                     const struct vg_monitor_opts *opts, vg_monitor_t **out, char *err,
                     size_t errlen);

/* Stops the devices, flushes the store, frees. NULL is fine. */
void vg_monitor_free(vg_monitor_t *mon);

/* The member became the acting primary (1: evaluate rules, seeded from the
 * committed alerts) or stopped being it (0: forward readings instead). */
void vg_monitor_set_role(vg_monitor_t *mon, int primary);

/* A committed object change: a changed Site, Zone, Device, Sensor or Rule
 * reloads the monitor's tables a moment later. */
void vg_monitor_on_commit(vg_monitor_t *mon, const vg_change_t *change);

/* One reading from outside (HTTP push, the peer). 0; -ENOENT unknown
 * sensor; -EINVAL out of order or not finite; err says which. Durable only
 * after a later vg_monitor_sync. */
int vg_monitor_ingest(vg_monitor_t *mon, const char *sensor, size_t len, int64_t time_ms,
                      double value, char *err, size_t errlen);

/* Reloads the tables now if objects changed since the last reload, so a
 * request from outside (a push, a query) sees every apply that was
 * answered. Not for the collector's own readings: they come only from
 * devices already loaded, and a bulk apply must not reload per drain. */
void vg_monitor_settle(vg_monitor_t *mon);

/* Marks the arrival of a batch of readings (for the reading -> rule state
 * change latency reported by vg_monitor_facility and /metrics). */
void vg_monitor_batch_begin(vg_monitor_t *mon);

/* How many readings the batch holds (latency is reported apart for
 * readings that came alone or in a few, and in bulk). */
void vg_monitor_batch_size(vg_monitor_t *mon, size_t n);

/* Ends it: records the rule state changes its readings caused. */
void vg_monitor_batch_end(vg_monitor_t *mon);

/* 1 if the sensor is declared. */
int vg_monitor_has_sensor(vg_monitor_t *mon, const char *sensor, size_t len);

/* Calls done(ctx, 0) once everything ingested so far is durable; code
 * -ENOSPC if the file system had no room for it (tsdb.h). */
int vg_monitor_sync(vg_monitor_t *mon, void (*done)(void *ctx, int code), void *ctx);

/* 1 while the time-series store is out of space: a WAL batch was lost for
 * it (said once in the log) and neither a later write nor a free-space
 * probe (at most once a second, from here or the tick) found room since.
 * Pushed readings are refused meanwhile rather than kept in memory only. */
int vg_monitor_disk_full(vg_monitor_t *mon);

/* Series query (tsdb.h): fn is called with (time, min, max, avg, count). */
int vg_monitor_series(vg_monitor_t *mon, const char *sensor, int64_t from_ms, int64_t to_ms,
                      int64_t step_ms,
                      void (*fn)(void *ctx, int64_t t, double mn, double mx, double avg,
                                 uint64_t count),
                      void *ctx, char *err, size_t errlen);

/* Every sensor: name, type, unit, zone, site, device, state, value, time,
 * rejects. New reference. Optional filters (NULL: all). */
json_t *vg_monitor_sensors(vg_monitor_t *mon, const char *site, const char *zone);

/* Devices with reachability, sites with PUE, configuration problems. New ref. */
json_t *vg_monitor_facility(vg_monitor_t *mon);

/* Rule instances and their live state (rules.h). New ref. */
json_t *vg_monitor_rules(vg_monitor_t *mon);

/* ---- forwarding between the sites ---- */

/* The monitor's channel on the member link (cluster.h): on a mirror, the
 * spooled reading batches (pointers valid until the next spool change),
 * dropped once the primary acknowledges them; on the primary, each batch
 * is ingested and acknowledged once durable. A malformed batch is refused
 * whole (logged, counted) and acknowledged so it is not sent forever. */
struct vg_cluster_channel vg_monitor_channel(vg_monitor_t *mon);

/* Prometheus text for /metrics. */
void vg_monitor_metrics(vg_monitor_t *mon, vg_buf_t *out);

#endif

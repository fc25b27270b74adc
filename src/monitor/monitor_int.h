/*
 * monitor_int.h - internals shared by monitor.c (lifecycle, devices, rules)
 * and monitor_ingest.c (the sensor table and the reading hot path).
 */
#ifndef VG_MONITOR_INT_H
#define VG_MONITOR_INT_H

#include "monitor/monitor.h"
#include "rules/rules.h"
#include "sense/collect.h"
#include "sense/fwd.h"
#include "tsdb/tsdb.h"

#define NO_SENSOR INT32_MAX
#define SMALL_BATCH 16
#define DRAIN_BATCH 1024 /* collector items taken per drain */

/* One declared sensor; ~100 bytes, so 100,000 sensors stay cheap. */
struct msensor {
    char *name;
    uint32_t series;  /* tsdb id */
    int32_t rule_idx; /* rules.h index, -1 if the engine does not know it */
    int32_t feeds[2]; /* derived sensors (dew point) this one is an input of */
    int32_t derive_t, derive_h; /* inputs of a derived sensor, else NO_SENSOR */
    int32_t device;   /* index in the monitor's device list, -1 none */
    int64_t last_time;
    double last_value;
    uint64_t n_values, n_rejects;
    float pos_x, pos_y; /* spec.position on the floor plan (metres), NAN none */
    uint8_t type;     /* enum vg_stype */
    uint8_t scope;    /* power-kw: 1 facility, 2 it */
    uint16_t site;    /* index in the monitor's site list */
    uint16_t zone;    /* index in the monitor's zone list ("" for none) */
};

struct mdevice {
    char *name;
    char *site;
    char *driver;
    int up;            /* -1 not polled yet, 0 unreachable, 1 answering */
    char error[240];
    char last_reject[240];
    uint64_t polls, failures, rejects;
    int64_t since;     /* when up last changed */
};

struct vg_monitor {
    struct event_base *base;
    vg_member_t *member;
    vg_cluster_t *cluster;
    struct vg_monitor_opts opts;
    vg_tsdb_t *tsdb;
    vg_rules_t *rules;
    vg_collector_t *collector;
    struct event *drain_ev, *tick_ev;
    struct vg_collected drain_items[DRAIN_BATCH]; /* on_drain's scratch (~280 KiB) */

    struct msensor *sensors;
    size_t n_sensors;
    uint32_t *slots; /* open addressing: sensor index + 1, 0 empty */
    size_t n_slots;  /* power of two */
    char **sites, **zones; /* names, kept for the monitor's life */
    size_t n_sites, n_zones;
    struct mdevice *devices;
    size_t n_devices;
    json_t *problems;
    json_t *recorded; /* {instance id: true} for instances last recorded not "ok" */

    int dirty;        /* objects changed: reload once they are quiet */
    size_t n_broken_refs; /* references to objects that do not exist (problems) */
    uint64_t dirty_since_ms, last_change_ms; /* monotonic */
    int devices_dirty;
    int primary;      /* evaluating rules and writing alert records */
    int64_t last_maintain;
    int disk_full;                /* a tsdb WAL batch was lost for want of space, */
    uint64_t space_failures_seen; /* and neither a write nor the probe found room since */
    uint64_t next_probe_ms;
    int spool_failing;    /* the last spool push failed (said once) */
    int maintain_failing; /* the last tsdb maintenance failed (said once if for space) */
    vg_spool_t *spool; /* cluster member: batches for the primary */
    vg_buf_t fwd;      /* the batch being filled */
    uint64_t n_forwarded, n_fwd_received, n_fwd_bad;
    /* reading -> rule state change: from the arrival of the batch that
     * carried the reading (HTTP body read, or a drain of the collector) to
     * the engine's decision, the newest LAT_RING of them */
    uint64_t batch_us;
    size_t batch_n; /* readings in it: up to SMALL_BATCH is a device's or a detector's */
    int in_reading; /* a change now is decided by a reading (not a tick) */
    struct change_copy *changes; /* decided, recorded at the end of the batch */
    size_t n_changes, cap_changes;
    struct lat_ring {
        uint32_t us[4096];
        uint64_t n;
    } lat_small, lat_bulk; /* readings that came alone or in a few, and in bulk */
    uint64_t n_ingested, n_rejected, n_unknown, n_out_of_order, n_alerts;
};

/* monitor_ingest.c */
void vg_mon_table_build(struct vg_monitor *mon, const json_t *zones, const json_t *sensors,
                        const json_t *devices);
void vg_mon_table_free(struct vg_monitor *mon);
int32_t vg_mon_lookup(const struct vg_monitor *mon, const char *name, size_t len);
int32_t vg_mon_device(const struct vg_monitor *mon, const char *name); /* -1 if unknown */
int vg_mon_ingest_idx(struct vg_monitor *mon, int32_t idx, int64_t time_ms, double value);
void vg_mon_on_change(void *ctx, const struct vg_rule_change *c);
void vg_mon_flush_changes(struct vg_monitor *mon);
struct change_copy;

#endif

/*
 * monitor_view.c - what the API, the CLI and /metrics show of the facility
 * monitor: sensors with their live value and state, devices, sites and
 * PUE, rule instances.
 */
#include "monitor/monitor_int.h"

#include <malloc.h>
#include <math.h>

#include "sense/stype.h"
#include "monitor/alerts.h"
#include "state/state.h"

/* A suppressed instance keeps the level it had: that of its "from". */
static int alert_rank_from(const json_t *alert)
{
    const char *from = json_string_value(json_object_get(alert, "from"));
    return from && !strcmp(from, "critical") ? 2 : 1;
}

/* How bad a recorded rule state is for its sensor: stale shows over any
 * level (as the engine's vg_rules_sensor_state), then critical, warning. */
static int alert_rank(const json_t *alert)
{
    const char *to = json_string_value(json_object_get(alert, "to"));
    if (!to)
        return 0;
    if (!strcmp(to, "stale"))
        return 3;
    if (!strcmp(to, "critical"))
        return 2;
    if (!strcmp(to, "warning"))
        return 1;
    if (!strcmp(to, "suppressed"))
        return alert_rank_from(alert);
    return 0; /* info */
}

/*
 * Only the acting primary evaluates rules, but every member holds the
 * alert facts it recorded (alerts.c): a member that is not evaluating
 * derives each sensor's state from them, so the mirror's dashboard shows
 * what the primary's does. A sensor the rules know and no fact is against
 * is "ok": the primary records "stale" for one it has no fresh reading of.
 * Returns {sensor: "stale"|"critical"|"warning"}, a new reference, or NULL
 * on the primary.
 */
static json_t *recorded_states(const struct vg_monitor *mon)
{
    static const char *const names[] = {"ok", "warning", "critical", "stale"};
    if (mon->primary)
        return NULL;
    json_t *worst = json_object(), *alert;
    const char *id;
    json_object_foreach(vg_alerts_active(vg_member_state(mon->member)), id, alert) {
        const char *sensor = json_string_value(json_object_get(alert, "sensor"));
        int rank = alert_rank(alert);
        if (!sensor || !rank)
            continue;
        const char *have = json_string_value(json_object_get(worst, sensor));
        int have_rank = 0;
        for (int i = 1; have && i < 4; i++)
            if (!strcmp(have, names[i]))
                have_rank = i;
        if (rank > have_rank)
            json_object_set_new(worst, sensor, json_string(names[rank]));
    }
    return worst;
}

static const char *sensor_state(const struct vg_monitor *mon, const struct msensor *s,
                                const json_t *recorded)
{
    if (s->rule_idx < 0)
        return "unknown"; /* no rule judges it */
    if (mon->primary)
        return vg_rules_sensor_state(mon->rules, s->rule_idx);
    const char *state = json_string_value(json_object_get(recorded, s->name));
    return state ? state : "ok";
}

static json_t *sensor_json(const struct vg_monitor *mon, const struct msensor *s,
                           const json_t *recorded)
{
    const struct vg_stype_info *info = vg_stype_info(s->type);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "name", s->name, "type", info->name,
                          "unit", info->unit, "site", mon->sites[s->site], "state",
                          sensor_state(mon, s, recorded), "values", (json_int_t)s->n_values,
                          "rejects", (json_int_t)s->n_rejects);
    if (s->device >= 0)
        json_object_set_new(o, "device", json_string(mon->devices[s->device].name));
    if (!isnan(s->pos_x))
        json_object_set_new(
            o, "position",
            json_pack("{s:f,s:f}", "x", (double)s->pos_x, "y", (double)s->pos_y));
    if (s->n_values) {
        json_object_set_new(o, "value", json_real(s->last_value));
        json_object_set_new(o, "time", json_integer((json_int_t)s->last_time));
    }
    return o;
}

json_t *vg_monitor_sensors(vg_monitor_t *mon, const char *site, const char *zone)
{
    vg_monitor_settle(mon);
    json_t *out = json_array();
    json_t *recorded = recorded_states(mon);
    for (size_t i = 0; i < mon->n_sensors; i++) {
        const struct msensor *s = &mon->sensors[i];
        if (site && strcmp(site, mon->sites[s->site]) != 0)
            continue;
        const char *z = mon->zones[s->zone];
        if (zone && strcmp(zone, z) != 0)
            continue;
        json_t *o = sensor_json(mon, s, recorded);
        if (*z)
            json_object_set_new(o, "zone", json_string(z));
        json_array_append_new(out, o);
    }
    json_decref(recorded);
    return out;
}

static json_t *device_json(const struct mdevice *d)
{
    const char *state = d->up < 0 ? "unknown" : d->up ? "up" : "unreachable";
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "name", d->name, "site", d->site,
                          "driver", d->driver, "state", state, "polls", (json_int_t)d->polls,
                          "failures", (json_int_t)d->failures, "rejects",
                          (json_int_t)d->rejects);
    if (d->up == 0)
        json_object_set_new(o, "error", json_string(d->error));
    if (d->last_reject[0])
        json_object_set_new(o, "last_reject", json_string(d->last_reject));
    if (d->since)
        json_object_set_new(o, "since", json_integer((json_int_t)d->since));
    return o;
}

/* PUE per site: facility kW over IT kW, from the latest power readings. */
static json_t *sites_json(const struct vg_monitor *mon)
{
    json_t *sites = json_object();
    json_t *recorded = recorded_states(mon);
    for (size_t k = 0; k < mon->n_sites; k++) {
        double facility = 0, it = 0;
        size_t n = 0, n_crit = 0, n_warn = 0, n_stale = 0;
        for (size_t i = 0; i < mon->n_sensors; i++) {
            const struct msensor *s = &mon->sensors[i];
            if (s->site != k)
                continue;
            n++;
            const char *state = sensor_state(mon, s, recorded);
            n_crit += !strcmp(state, "critical");
            n_warn += !strcmp(state, "warning");
            n_stale += !strcmp(state, "stale");
            if (s->type == VG_ST_POWER_KW && s->n_values)
                *(s->scope == 1 ? &facility : &it) += s->last_value;
        }
        json_t *o = json_pack("{s:I,s:I,s:I,s:I}", "sensors", (json_int_t)n, "critical",
                              (json_int_t)n_crit, "warning", (json_int_t)n_warn, "stale",
                              (json_int_t)n_stale);
        if (it > 0 && facility > 0) {
            json_object_set_new(o, "pue", json_real(round(facility / it * 100) / 100));
            json_object_set_new(o, "facility_kw", json_real(facility));
            json_object_set_new(o, "it_kw", json_real(it));
        }
        if (*mon->sites[k])
            json_object_set_new(sites, mon->sites[k], o);
        else
            json_decref(o);
    }
    json_decref(recorded);
    return sites;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* p50 / p99 / max of the newest rule decision latencies, in microseconds. */
static size_t latency_quantiles(const struct lat_ring *ring, uint32_t q[3])
{
    size_t n = ring->n < VG_ARRAY_LEN(ring->us) ? ring->n : VG_ARRAY_LEN(ring->us);
    static uint32_t sorted[VG_ARRAY_LEN(((struct lat_ring *)0)->us)];
    memcpy(sorted, ring->us, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u32);
    q[0] = n ? sorted[n / 2] : 0;
    q[1] = n ? sorted[n * 99 / 100] : 0;
    q[2] = n ? sorted[n - 1] : 0;
    return n;
}

static json_t *latency_json(const struct lat_ring *ring)
{
    uint32_t q[3];
    size_t n = latency_quantiles(ring, q);
    return json_pack("{s:I,s:I,s:I,s:I}", "samples", (json_int_t)n, "p50_us", (json_int_t)q[0],
                     "p99_us", (json_int_t)q[1], "max_us", (json_int_t)q[2]);
}

json_t *vg_monitor_facility(vg_monitor_t *mon)
{
    vg_monitor_settle(mon);
    json_t *latency = json_pack("{s:o,s:o}", "single", latency_json(&mon->lat_small), "bulk",
                                latency_json(&mon->lat_bulk));
    json_t *devices = json_array();
    for (size_t i = 0; i < mon->n_devices; i++)
        json_array_append_new(devices, device_json(&mon->devices[i]));
    json_t *alerts = json_array();
    const char *id;
    json_t *a;
    json_object_foreach(vg_alerts_active(vg_member_state(mon->member)), id, a) {
        if (strcmp(json_string_value(json_object_get(a, "to")), "info") != 0)
            json_array_append(alerts, a);
    }
    return json_pack("{s:o,s:o,s:o,s:O,s:b,s:o}", "sites", sites_json(mon), "devices", devices,
                     "alerts", alerts, "problems", mon->problems, "evaluating", mon->primary,
                     "rule_latency", latency);
}

json_t *vg_monitor_rules(vg_monitor_t *mon)
{
    vg_monitor_settle(mon);
    return vg_rules_status(mon->rules);
}

void vg_monitor_metrics(vg_monitor_t *mon, vg_buf_t *out)
{
    vg_monitor_settle(mon);
    struct vg_tsdb_stats ts;
    vg_tsdb_stats(mon->tsdb, &ts);
    vg_buf_printf(out,
                  "# HELP vigil_readings_total Readings stored in the time-series store.\n"
                  "# TYPE vigil_readings_total counter\nvigil_readings_total %llu\n"
                  "# HELP vigil_readings_rejected_total Readings refused, by reason.\n"
                  "# TYPE vigil_readings_rejected_total counter\n"
                  "vigil_readings_rejected_total{reason=\"device\"} %llu\n"
                  "vigil_readings_rejected_total{reason=\"unknown_sensor\"} %llu\n"
                  "vigil_readings_rejected_total{reason=\"out_of_order\"} %llu\n"
                  "# HELP vigil_rule_changes_total Rule state changes recorded.\n"
                  "# TYPE vigil_rule_changes_total counter\nvigil_rule_changes_total %llu\n"
                  "# HELP vigil_sensors Declared sensors.\n# TYPE vigil_sensors gauge\n"
                  "vigil_sensors %zu\n"
                  "# HELP vigil_facility_problems Problems vigil facility lists (broken "
                  "references, sources a driver refuses, rules that cannot load).\n"
                  "# TYPE vigil_facility_problems gauge\nvigil_facility_problems %zu\n"
                  "# HELP vigil_facility_broken_references References to a site, zone, "
                  "device or sensor that does not exist.\n"
                  "# TYPE vigil_facility_broken_references gauge\n"
                  "vigil_facility_broken_references %zu\n"
                  "# HELP vigil_tsdb_series Series in the time-series store.\n"
                  "# TYPE vigil_tsdb_series gauge\nvigil_tsdb_series %llu\n"
                  "# HELP vigil_tsdb_points_on_disk Raw points in chunk files.\n"
                  "# TYPE vigil_tsdb_points_on_disk gauge\nvigil_tsdb_points_on_disk %llu\n"
                  "# HELP vigil_tsdb_wal_bytes Bytes in the time-series WAL.\n"
                  "# TYPE vigil_tsdb_wal_bytes gauge\nvigil_tsdb_wal_bytes %llu\n",
                  (unsigned long long)mon->n_ingested, (unsigned long long)mon->n_rejected,
                  (unsigned long long)mon->n_unknown, (unsigned long long)mon->n_out_of_order,
                  (unsigned long long)mon->n_alerts, mon->n_sensors,
                  json_array_size(mon->problems), mon->n_broken_refs,
                  (unsigned long long)ts.n_series, (unsigned long long)ts.points_on_disk,
                  (unsigned long long)ts.wal_bytes);
    static const char *const tiers[VG_TSDB_N_TIERS] = {"raw", "1m", "1h"};
    vg_buf_printf(out, "# HELP vigil_tsdb_bytes_on_disk Bytes of chunk files, by tier.\n"
                       "# TYPE vigil_tsdb_bytes_on_disk gauge\n");
    for (int t = 0; t < VG_TSDB_N_TIERS; t++)
        vg_buf_printf(out, "vigil_tsdb_bytes_on_disk{tier=\"%s\"} %llu\n", tiers[t],
                      (unsigned long long)ts.bytes_on_disk[t]);
    vg_buf_printf(out, "# HELP vigil_tsdb_checkpoint_bytes Bytes of the open-chunk checkpoint.\n"
                       "# TYPE vigil_tsdb_checkpoint_bytes gauge\nvigil_tsdb_checkpoint_bytes %llu\n",
                  (unsigned long long)ts.checkpoint_bytes);
    vg_buf_printf(out, "# HELP vigil_rule_latency_seconds Reading arrival to rule state change "
                       "(newest changes), readings that came alone or in bulk.\n"
                       "# TYPE vigil_rule_latency_seconds summary\n");
    const struct lat_ring *rings[2] = {&mon->lat_small, &mon->lat_bulk};
    for (int k = 0; k < 2; k++) {
        uint32_t q[3];
        latency_quantiles(rings[k], q);
        const char *batch = k ? "bulk" : "single";
        vg_buf_printf(out,
                      "vigil_rule_latency_seconds{batch=\"%s\",quantile=\"0.5\"} %.6f\n"
                      "vigil_rule_latency_seconds{batch=\"%s\",quantile=\"0.99\"} %.6f\n",
                      batch, q[0] / 1e6, batch, q[1] / 1e6);
    }
    if (mon->spool) {
        struct vg_spool_stats sp;
        vg_spool_stats(mon->spool, &sp);
        vg_buf_printf(out,
                      "# HELP vigil_spool_batches Reading batches waiting for the primary.\n"
                      "# TYPE vigil_spool_batches gauge\nvigil_spool_batches %llu\n"
                      "# HELP vigil_spool_bytes Bytes of readings waiting for the primary.\n"
                      "# TYPE vigil_spool_bytes gauge\nvigil_spool_bytes %llu\n"
                      "# HELP vigil_spool_dropped_total Batches dropped because the spool was "
                      "full.\n# TYPE vigil_spool_dropped_total counter\n"
                      "vigil_spool_dropped_total %llu\n",
                      (unsigned long long)sp.batches, (unsigned long long)sp.bytes,
                      (unsigned long long)sp.dropped_batches);
    }
    struct mallinfo2 mi = mallinfo2();
    vg_buf_printf(out,
                  "# HELP vigil_heap_bytes Heap in use by vigild (allocated, not free).\n"
                  "# TYPE vigil_heap_bytes gauge\nvigil_heap_bytes %zu\n",
                  mi.uordblks + mi.hblkhd);
    vg_buf_printf(out, "# HELP vigil_device_up 1 if the device answered its last poll.\n"
                       "# TYPE vigil_device_up gauge\n");
    for (size_t i = 0; i < mon->n_devices; i++)
        if (mon->devices[i].up >= 0)
            vg_buf_printf(out, "vigil_device_up{device=\"%s\",site=\"%s\"} %d\n",
                          mon->devices[i].name, mon->devices[i].site, mon->devices[i].up);
}

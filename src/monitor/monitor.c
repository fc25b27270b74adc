/*
 * monitor.c - the facility monitor's lifecycle: opening the time-series
 * store, following object changes, running the site's devices, ticking the
 * rule engine, and turning rule state changes into VG_REC_ALERT records.
 *
 * Object changes (Sensor, Device, Rule, Zone, Site) only mark the monitor
 * dirty; it reloads once changes have been quiet for QUIET_MS (or every
 * BUSY_RELOAD_MS during a long stream of them), so applying a hundred
 * thousand sensors rebuilds the tables a few times, not once per object.
 * Freed memory goes back to the system after a reload (malloc_trim): the
 * tables of 100,000 sensors are rebuilt whole.
 * Only the acting primary evaluates rules; a member that becomes primary
 * first seeds the engine with the committed alert states, so a failover
 * neither forgets an alert nor raises it twice.
 */
#include "monitor/monitor_int.h"

#include <malloc.h>
#include <math.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "core/say.h"
#include "sense/stype.h"
#include "monitor/alerts.h"
#include "state/state.h"
#include "store/record.h"

#define TICK_MS 250
#define QUIET_MS 500
#define BUSY_RELOAD_MS 5000
#define MAINTAIN_EVERY_MS 5000
#define SPOOL_MAX_BYTES (64u << 20)
#define FWD_FLUSH_BYTES (64u << 10)
#define SPACE_PROBE_BYTES (1u << 20) /* free space that ends "the disk is full" */
#define SPACE_PROBE_MS 1000

static const char *const watched_kinds[] = {"Sensor", "Device", "Rule", "Zone", "Site", NULL};

/* With secrets: the collector logs in to the devices with them. Nothing
 * the monitor shows (facility view, problems, logs) copies an option. */
static json_t *list_kind(vg_monitor_t *mon, const char *kind)
{
    json_t *items = NULL;
    char err[256];
    if (vg_state_list_unredacted(vg_member_state(mon->member), kind, NULL, &items, err,
                                 sizeof err))
        return json_array();
    return items;
}

/* ---- rule changes become records ---- */

/* A change is copied here and recorded after the batch that caused it
 * (vg_mon_flush_changes), so a batch where thousands of sensors change at
 * once decides each of them without waiting for the records of the
 * others. Strings: id, rule, sensor, from, to, message, clears, NUL-separated. */
struct change_copy {
    char *text;
    unsigned has_rule : 1, has_sensor : 1, has_message : 1, has_clears : 1;
    double value, predicted_s;
    int64_t time_ms;
};

static char *append_text(char *at, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 1;
    memcpy(at, s ? s : "", n);
    return at + n;
}

/* A sensor going stale (or fresh again) while none of its rules fires is
 * no alert: it shows in the sensor's state. Recording it would write one
 * record per rule instance of every silent sensor — 200,000 for a
 * gateway's 100,000 sensors going quiet. A firing instance going stale is
 * recorded: stale never resolves an alert. */
static int worth_recording(const struct vg_monitor *mon, const struct vg_rule_change *c)
{
    if (c->firing || json_object_get(mon->recorded, c->id))
        return 1; /* firing, or closing what a record opened */
    int quiet_from = !strcmp(c->from, "ok") || !strcmp(c->from, "stale");
    int quiet_to = !strcmp(c->to, "ok") || !strcmp(c->to, "stale");
    return !(quiet_from && quiet_to);
}

static void copy_change(struct vg_monitor *mon, const struct vg_rule_change *c);

void vg_mon_on_change(void *ctx, const struct vg_rule_change *c)
{
    struct vg_monitor *mon = ctx;
    if (!worth_recording(mon, c))
        return;
    copy_change(mon, c);
}

/* Instances whose latest record left them not "ok": what the state's
 * active alerts will hold once those records commit. */
static void track_recorded(struct vg_monitor *mon, const char *id, const char *to)
{
    if (!strcmp(to, "ok"))
        json_object_del(mon->recorded, id);
    else
        json_object_set_new(mon->recorded, id, json_true());
}

static void copy_change(struct vg_monitor *mon, const struct vg_rule_change *c)
{
    track_recorded(mon, c->id, c->to);
    if (mon->in_reading) {
        uint64_t lat = vg_mono_us() - mon->batch_us;
        struct lat_ring *ring = mon->batch_n <= SMALL_BATCH ? &mon->lat_small : &mon->lat_bulk;
        ring->us[ring->n++ % VG_ARRAY_LEN(ring->us)] = lat > UINT32_MAX ? UINT32_MAX
                                                                        : (uint32_t)lat;
    }
    const char *parts[7] = {c->id, c->rule, c->sensor, c->from, c->to, c->message, c->clears};
    size_t len = 0;
    for (size_t i = 0; i < 7; i++)
        len += (parts[i] ? strlen(parts[i]) : 0) + 1;
    if (mon->n_changes == mon->cap_changes) {
        mon->cap_changes = mon->cap_changes ? 2 * mon->cap_changes : 64;
        mon->changes = vg_realloc(mon->changes, mon->cap_changes * sizeof *mon->changes);
    }
    struct change_copy *cc = &mon->changes[mon->n_changes++];
    cc->text = vg_malloc(len);
    char *at = cc->text;
    for (size_t i = 0; i < 7; i++)
        at = append_text(at, parts[i]);
    cc->has_clears = c->clears != NULL;
    cc->has_rule = c->rule != NULL;
    cc->has_sensor = c->sensor != NULL;
    cc->has_message = c->message != NULL;
    cc->value = c->value;
    cc->predicted_s = c->predicted_s;
    cc->time_ms = c->time_ms;
}

static void record_change(struct vg_monitor *mon, const struct change_copy *cc)
{
    const char *p[7], *at = cc->text;
    for (size_t i = 0; i < 7; i++, at += strlen(at) + 1)
        p[i] = at;
    json_t *payload = json_pack("{s:s,s:s?,s:s?,s:s,s:s,s:s?,s:I}", "id", p[0], "rule",
                                cc->has_rule ? p[1] : NULL, "sensor",
                                cc->has_sensor ? p[2] : NULL, "from", p[3], "to", p[4],
                                "message", cc->has_message ? p[5] : NULL, "time",
                                (json_int_t)cc->time_ms);
    if (cc->has_clears)
        json_object_set_new(payload, "clears", json_string(p[6]));
    if (isfinite(cc->value))
        json_object_set_new(payload, "value", json_real(cc->value));
    if (isfinite(cc->predicted_s))
        json_object_set_new(payload, "predicted_s", json_real(cc->predicted_s));
    mon->n_alerts++;
    /* what pages people is worth a line; the rest (ok, stale, info) is debug */
    int loud = !strcmp(p[4], "warning") || !strcmp(p[4], "critical");
    if (loud)
        vg_info("rule %s: %s -> %s: %s", p[0], p[3], p[4], cc->has_message ? p[5] : "");
    else
        vg_debug("rule %s: %s -> %s", p[0], p[3], p[4]);
    int rc = vg_member_submit(mon->member, VG_REC_ALERT, payload, NULL, NULL, NULL);
    if (rc)
        vg_error("cannot record rule state change of '%s': %s", p[0], strerror(-rc));
    json_decref(payload);
}

void vg_mon_flush_changes(struct vg_monitor *mon)
{
    for (size_t i = 0; i < mon->n_changes; i++) {
        record_change(mon, &mon->changes[i]);
        free(mon->changes[i].text);
    }
    mon->n_changes = 0;
}

void vg_monitor_batch_end(vg_monitor_t *mon)
{
    vg_mon_flush_changes(mon);
}

/* ---- devices ---- */

/* A cluster member that is not the acting primary forwards what its own
 * devices read. */
static int forwarding(const struct vg_monitor *mon)
{
    return mon->spool && !mon->primary;
}

static void fwd_flush(struct vg_monitor *mon)
{
    if (!mon->fwd.len)
        return;
    uint64_t seq;
    char err[512];
    int rc = vg_spool_push(mon->spool, mon->fwd.data, mon->fwd.len, &seq, err, sizeof err);
    if (rc && !mon->spool_failing) /* once, not once a batch, while the disk is full */
        vg_error("readings for the primary not spooled: %s", err);
    else if (!rc && mon->spool_failing)
        vg_info("readings for the primary are spooled again");
    else if (!rc)
        mon->n_forwarded++;
    mon->spool_failing = rc != 0;
    vg_buf_reset(&mon->fwd);
    vg_cluster_channel_ready(mon->cluster);
}

static void on_polled(struct vg_monitor *mon, struct mdevice *d, const struct vg_collected *it)
{
    d->polls++;
    int up = it->code == 0;
    if (!up) {
        d->failures++;
        snprintf(d->error, sizeof d->error, "%s", it->text);
    }
    if (up == d->up)
        return;
    if (!up)
        vg_warn("device '%s' unreachable: %s", d->name, it->text);
    else if (d->up == 0)
        vg_info("device '%s' answers again", d->name);
    d->up = up;
    d->since = it->time_ms;
    if (forwarding(mon))
        vg_fwd_add_device(&mon->fwd, d->name, it->time_ms, up, up ? "" : it->text);
    if (mon->primary)
        vg_rules_device(mon->rules, d->name, up, it->time_ms, vg_mon_on_change, mon);
}

static void handle_item(struct vg_monitor *mon, const struct vg_collected *it)
{
    const struct vg_device *dev = vg_collector_device(mon->collector, it->device);
    /* values are the hot path: the device is looked up only for the rest */
    int32_t di = it->kind == VG_COL_VALUE ? -1 : vg_mon_device(mon, dev->name);
    struct mdevice *d = di >= 0 ? &mon->devices[di] : NULL;
    const char *sensor = it->point < dev->n_points ? dev->points[it->point].sensor : NULL;
    int32_t si = sensor ? vg_mon_lookup(mon, sensor, strlen(sensor)) : -1;
    switch (it->kind) {
    case VG_COL_VALUE:
        if (si >= 0 && !isfinite(it->value))
            mon->n_rejected++;
        else if (si >= 0 && vg_mon_ingest_idx(mon, si, it->time_ms, it->value) == 0 &&
                 forwarding(mon))
            vg_fwd_add_reading(&mon->fwd, sensor, it->time_ms, it->value);
        break;
    case VG_COL_REJECT:
        mon->n_rejected++;
        if (si >= 0)
            mon->sensors[si].n_rejects++;
        if (d) {
            d->rejects++;
            if (sensor)
                snprintf(d->last_reject, sizeof d->last_reject, "sensor '%.63s': %.160s",
                         sensor, it->text);
            else
                snprintf(d->last_reject, sizeof d->last_reject, "%s", it->text);
        }
        vg_debug("device '%s': rejected: %s", dev->name, it->text);
        break;
    case VG_COL_POLLED:
        if (d)
            on_polled(mon, d, it);
        break;
    }
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct vg_monitor *mon = arg;
    struct vg_collected *items = mon->drain_items;
    size_t n;
    vg_monitor_batch_begin(mon);
    while (mon->collector && (n = vg_collector_drain(mon->collector, items, DRAIN_BATCH)) > 0) {
        vg_monitor_batch_size(mon, n);
        for (size_t i = 0; i < n; i++)
            handle_item(mon, &items[i]);
    }
    vg_mon_flush_changes(mon);
    vg_tsdb_sync(mon->tsdb, NULL, NULL);
    if (mon->fwd.len >= FWD_FLUSH_BYTES)
        fwd_flush(mon);
}

/* Called from device threads. */
static void wake(void *ctx)
{
    struct vg_monitor *mon = ctx;
    event_active(mon->drain_ev, EV_READ, 0);
}

static void restart_devices(struct vg_monitor *mon, const json_t *devices,
                            const json_t *sensors)
{
    if (mon->collector) {
        on_drain(-1, 0, mon); /* keep what the old one read */
        vg_collector_free(mon->collector);
        mon->collector = NULL;
    }
    if (mon->opts.no_collect)
        return;
    vg_collector_new(devices, sensors, mon->opts.site, &mon->collector);
    size_t i;
    json_t *p;
    json_array_foreach(vg_collector_problems(mon->collector), i, p)
        json_array_append(mon->problems, p);
    char err[256];
    if (vg_collector_start(mon->collector, wake, mon, err, sizeof err))
        vg_error("%s", err);
}

/* ---- reload ---- */

/* Alerts of rule instances that no longer exist (their Rule, Sensor or
 * Device was deleted, or a reference broke) are resolved by a record, so
 * they do not stay active forever. Only the primary writes them. */
static void resolve_removed(struct vg_monitor *mon)
{
    json_t *active = vg_alerts_active(vg_member_state(mon->member));
    if (!mon->primary || json_object_size(active) == 0)
        return;
    json_t *status = vg_rules_status(mon->rules);
    json_t *live = json_object();
    size_t i;
    json_t *inst;
    json_array_foreach(status, i, inst) {
        const char *id = json_string_value(json_object_get(inst, "id"));
        if (id)
            json_object_set_new(live, id, json_true());
    }
    const char *id;
    json_t *alert;
    json_object_foreach(active, id, alert) {
        if (json_object_get(live, id))
            continue;
        struct vg_rule_change c = {
            .id = id,
            .rule = json_string_value(json_object_get(alert, "rule")),
            .sensor = json_string_value(json_object_get(alert, "sensor")),
            .from = json_string_value(json_object_get(alert, "to")),
            .to = "ok",
            .message = "resolved: the rule, sensor or device it was about is gone",
            .value = NAN,
            .time_ms = (int64_t)vg_wall_ms(),
            .predicted_s = NAN,
        };
        copy_change(mon, &c); /* always recorded: it closes an active alert */
    }
    json_decref(live);
    json_decref(status);
    vg_mon_flush_changes(mon);
}

/* Edit distance of a and b, capped (names are short; a typo is close). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* One reference from obj's spec.field to a name among names (its objects'
 * names): a problem when nothing has that name, with the closest one. */
static void check_ref(struct vg_monitor *mon, const char *kind, const json_t *obj,
                      const char *field, const json_t *names, const char *target)
{
    const char *ref = json_string_value(json_object_get(json_object_get(obj, "spec"), field));
    if (!ref || json_object_get(names, ref))
        return;
    const char *near = NULL, *name;
    size_t best = SIZE_MAX;
    json_t *v;
    json_object_foreach((json_t *)names, name, v) {
        size_t d = distance(ref, name);
        if (d < best && d <= 1 + strlen(ref) / 3)
            best = d, near = name;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%s '%s': spec.%s names %s '%s', which does not exist%s%s%s",
             kind, json_string_value(json_object_get(obj, "name")), field, target, ref,
             near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    json_array_append_new(mon->problems, json_string(msg));
    mon->n_broken_refs++;
}

static json_t *names_of(const json_t *items)
{
    json_t *names = json_object();
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        const char *n = json_string_value(json_object_get(obj, "name"));
        if (n)
            json_object_set_new(names, n, json_true());
    }
    return names;
}

/* Objects may be applied in any order, so a reference to a name that does
 * not exist (yet) is accepted; it is shown here until it resolves, so no
 * sensor sits unmonitored without anyone being told. */
static void check_references(struct vg_monitor *mon, const json_t *zones, const json_t *sensors,
                             const json_t *devices, const json_t *rules)
{
    json_t *sites = list_kind(mon, "Site");
    json_t *site_n = names_of(sites), *zone_n = names_of(zones), *dev_n = names_of(devices);
    json_t *sensor_n = names_of(sensors);
    size_t i;
    json_t *obj;
    mon->n_broken_refs = 0;
    json_array_foreach(zones, i, obj) check_ref(mon, "zone", obj, "site", site_n, "site");
    json_array_foreach(devices, i, obj) {
        check_ref(mon, "device", obj, "site", site_n, "site");
        check_ref(mon, "device", obj, "zone", zone_n, "zone");
    }
    json_array_foreach(sensors, i, obj) {
        check_ref(mon, "sensor", obj, "zone", zone_n, "zone");
        check_ref(mon, "sensor", obj, "device", dev_n, "device");
    }
    json_array_foreach(rules, i, obj) check_ref(mon, "rule", obj, "sensor", sensor_n, "sensor");
    json_decref(site_n);
    json_decref(zone_n);
    json_decref(dev_n);
    json_decref(sensor_n);
    json_decref(sites);
}

static void reload(struct vg_monitor *mon)
{
    /* clean from here on: what restarting the devices sets off must not
     * see the tables as still dirty and reload again */
    int devices_dirty = mon->devices_dirty;
    mon->dirty = mon->devices_dirty = 0;
    json_t *zones = list_kind(mon, "Zone");
    json_t *sensors = list_kind(mon, "Sensor");
    json_t *devices = list_kind(mon, "Device");
    json_t *rules = list_kind(mon, "Rule");
    json_decref(mon->problems);
    mon->problems = json_array();
    check_references(mon, zones, sensors, devices, rules);
    char err[512];
    if (vg_rules_load(mon->rules, zones, sensors, devices, rules, err, sizeof err))
        json_array_append_new(mon->problems, json_string(err));
    else
        resolve_removed(mon);
    vg_mon_table_build(mon, zones, sensors, devices);
    if (devices_dirty)
        restart_devices(mon, devices, sensors);
    json_decref(zones);
    json_decref(sensors);
    json_decref(devices);
    json_decref(rules);
    malloc_trim(0);
}

/* Before anything reads the tables for a client: an apply that was
 * answered is in them (a push right after `vigil apply` of its sensors is
 * accepted, a new rule judges it), whatever the quiet-time batching. */
void vg_monitor_settle(vg_monitor_t *mon)
{
    if (mon->dirty)
        reload(mon);
}

void vg_monitor_on_commit(vg_monitor_t *mon, const vg_change_t *change)
{
    const char *kind = json_string_value(json_object_get(change->object, "kind"));
    for (size_t i = 0; kind && watched_kinds[i]; i++)
        if (!strcmp(kind, watched_kinds[i])) {
            uint64_t now = vg_mono_ms();
            if (!mon->dirty)
                mon->dirty_since_ms = now;
            mon->last_change_ms = now;
            mon->dirty = 1;
            if (!strcmp(kind, "Sensor") || !strcmp(kind, "Device"))
                mon->devices_dirty = 1;
        }
}

/* ---- role and tick ---- */

static void seed_from_state(struct vg_monitor *mon)
{
    const char *id;
    json_t *alert;
    json_object_clear(mon->recorded);
    json_object_foreach(vg_alerts_active(vg_member_state(mon->member)), id, alert) {
        const char *to = json_string_value(json_object_get(alert, "to"));
        vg_rules_seed(mon->rules, id, to);
        track_recorded(mon, id, to);
    }
}

static void set_disk_full(struct vg_monitor *mon, int full)
{
    if (full == mon->disk_full)
        return;
    mon->disk_full = full;
    if (full)
        vg_error("data directory '%s' is full: pushed readings are refused and collected ones "
                 "are kept in memory only, until space is freed",
                 vg_member_data_dir(mon->member));
    else
        vg_info("data directory '%s' has free space again: readings are stored",
                vg_member_data_dir(mon->member));
}

int vg_monitor_disk_full(vg_monitor_t *mon)
{
    uint64_t failures = vg_tsdb_space_failures(mon->tsdb);
    uint64_t now = vg_mono_ms();
    if (failures != mon->space_failures_seen) {
        mon->space_failures_seen = failures;
        mon->next_probe_ms = now + SPACE_PROBE_MS;
        set_disk_full(mon, 1);
    } else if (mon->disk_full && (!vg_tsdb_full(mon->tsdb) || now >= mon->next_probe_ms)) {
        /* a batch got through, or time to look: either way, over 1 MiB
         * free ends it (a few freed kilobytes would only flap) */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tsdb", vg_member_data_dir(mon->member));
        mon->next_probe_ms = now + SPACE_PROBE_MS;
        if (vg_fs_has_room(dir, SPACE_PROBE_BYTES) == 1)
            set_disk_full(mon, 0);
    }
    return mon->disk_full;
}

void vg_monitor_set_role(vg_monitor_t *mon, int primary)
{
    if (primary && !mon->primary) {
        seed_from_state(mon);
        mon->primary = 1;
        resolve_removed(mon);
        vg_info("facility monitor: evaluating rules (acting primary)");
        if (mon->spool) { /* what we spooled is in our own store already */
            vg_buf_reset(&mon->fwd);
            vg_spool_ack(mon->spool, UINT64_MAX);
        }
    }
    mon->primary = primary;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct vg_monitor *mon = arg;
    uint64_t mono = vg_mono_ms();
    if (mon->dirty && (mono - mon->last_change_ms >= QUIET_MS ||
                       mono - mon->dirty_since_ms >= BUSY_RELOAD_MS))
        reload(mon);
    int primary = mon->primary;
    if (forwarding(mon))
        fwd_flush(mon);
    int64_t now = (int64_t)vg_wall_ms();
    if (primary)
        vg_rules_tick(mon->rules, now, vg_mon_on_change, mon);
    vg_mon_flush_changes(mon);
    vg_monitor_disk_full(mon);
    if (now - mon->last_maintain >= MAINTAIN_EVERY_MS) {
        char err[512];
        int rc = vg_tsdb_maintain(mon->tsdb, now, err, sizeof err);
        if (rc && !(vg_out_of_space(rc) && mon->maintain_failing)) /* once while full */
            vg_error("time-series maintenance: %s", err);
        else if (!rc && mon->maintain_failing)
            vg_info("time-series maintenance succeeds again");
        mon->maintain_failing = rc != 0;
        mon->last_maintain = now;
        malloc_trim(0); /* bursts (a flood of alert records) leave free heap behind */
    }
}

/* ---- lifecycle ---- */

int vg_monitor_start(struct event_base *base, vg_member_t *m, vg_cluster_t *cluster,
                     const struct vg_monitor_opts *opts, vg_monitor_t **out, char *err,
                     size_t errlen)
{
    struct vg_monitor *mon = vg_calloc(1, sizeof *mon);
    mon->base = base;
    mon->member = m;
    mon->cluster = cluster;
    mon->opts = *opts;
    mon->problems = json_array();
    mon->recorded = json_object();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tsdb", vg_member_data_dir(m));
    if (mkdir(dir, 0700) && errno != EEXIST) {
        int rc = vg_err(err, errlen, -errno, "cannot create '%s': %s", dir, strerror(errno));
        json_decref(mon->problems);
        json_decref(mon->recorded);
        free(mon);
        return rc;
    }
    int rc = vg_tsdb_open(dir, vg_member_keys(m), NULL, base, &mon->tsdb, err, errlen);
    if (rc) {
        json_decref(mon->problems);
        json_decref(mon->recorded);
        free(mon);
        return rc;
    }
    if (cluster) {
        snprintf(dir, sizeof dir, "%s/spool.vgq", vg_member_data_dir(m));
        rc = vg_spool_open(dir, vg_member_keys(m), SPOOL_MAX_BYTES, &mon->spool, err, errlen);
        if (rc) {
            vg_tsdb_close(mon->tsdb);
            json_decref(mon->problems);
            json_decref(mon->recorded);
            free(mon);
            return rc;
        }
    }
    mon->rules = vg_rules_new();
    mon->drain_ev = event_new(base, -1, 0, on_drain, mon);
    mon->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, mon);
    struct timeval every = {0, TICK_MS * 1000};
    event_add(mon->tick_ev, &every);
    mon->dirty = mon->devices_dirty = 1;
    reload(mon);
    if (!cluster) /* standalone: always the primary */
        vg_monitor_set_role(mon, 1);
    *out = mon;
    return 0;
}

void vg_monitor_free(vg_monitor_t *mon)
{
    if (!mon)
        return;
    vg_collector_free(mon->collector);
    if (mon->drain_ev)
        event_free(mon->drain_ev);
    if (mon->tick_ev)
        event_free(mon->tick_ev);
    vg_mon_flush_changes(mon);
    free(mon->changes);
    if (mon->spool && forwarding(mon))
        fwd_flush(mon);
    vg_spool_close(mon->spool);
    vg_buf_release(&mon->fwd);
    vg_tsdb_close(mon->tsdb);
    vg_rules_free(mon->rules);
    vg_mon_table_free(mon);
    json_decref(mon->problems);
    json_decref(mon->recorded);
    free(mon);
}

int vg_monitor_sync(vg_monitor_t *mon, void (*done)(void *ctx, int code), void *ctx)
{
    return vg_tsdb_sync(mon->tsdb, done, ctx);
}

int vg_monitor_series(vg_monitor_t *mon, const char *sensor, int64_t from_ms, int64_t to_ms,
                      int64_t step_ms,
                      void (*fn)(void *ctx, int64_t t, double mn, double mx, double avg,
                                 uint64_t count),
                      void *ctx, char *err, size_t errlen)
{
    vg_monitor_settle(mon);
    if (vg_mon_lookup(mon, sensor, strlen(sensor)) < 0)
        return vg_err(err, errlen, -ENOENT, "sensor '%s' is not declared", sensor);
    return vg_tsdb_query(mon->tsdb, sensor, from_ms, to_ms, step_ms, fn, ctx, err, errlen);
}

/* ---- forwarding (peer.c) ---- */

static int fwd_next(void *ctx, uint64_t after, const uint8_t **data, size_t *len,
                    uint64_t *seq)
{
    struct vg_monitor *mon = ctx;
    if (!mon->spool || mon->primary)
        return -ENOENT;
    return vg_spool_next(mon->spool, after, data, len, seq);
}

static void fwd_acked(void *ctx, uint64_t seq)
{
    struct vg_monitor *mon = ctx;
    if (mon->spool)
        vg_spool_ack(mon->spool, seq);
}

static void on_fwd_entry(void *ctx, const struct vg_fwd_entry *e)
{
    struct vg_monitor *mon = ctx;
    char err[256];
    if (e->kind == 1) {
        if (vg_monitor_ingest(mon, e->name, strlen(e->name), e->time_ms, e->value, err,
                              sizeof err))
            vg_debug("forwarded reading refused: %s", err);
        return;
    }
    int32_t di = vg_mon_device(mon, e->name);
    if (di < 0)
        return;
    struct vg_collected it = {.kind = VG_COL_POLLED, .time_ms = e->time_ms,
                              .code = e->up ? 0 : -EHOSTUNREACH};
    snprintf(it.text, sizeof it.text, "%.200s", e->error);
    on_polled(mon, &mon->devices[di], &it);
}

struct fwd_ack {
    vg_monitor_t *mon;
    uint64_t seq;
};

static void on_fwd_durable(void *ctx, int code)
{
    struct fwd_ack *fa = ctx;
    if (code == 0)
        vg_cluster_channel_durable(fa->mon->cluster, fa->seq);
    free(fa);
}

static void fwd_receive(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    struct vg_monitor *mon = ctx;
    char err[256];
    mon->n_fwd_received++;
    vg_monitor_batch_begin(mon);
    int bad = vg_fwd_decode(data, len, on_fwd_entry, mon, err, sizeof err);
    vg_mon_flush_changes(mon);
    if (bad) {
        mon->n_fwd_bad++;
        vg_warn("from the mirror: %s; batch %llu refused", err, (unsigned long long)seq);
        vg_cluster_channel_durable(mon->cluster, seq);
        return;
    }
    struct fwd_ack *fa = vg_malloc(sizeof *fa);
    *fa = (struct fwd_ack){mon, seq};
    if (vg_tsdb_sync(mon->tsdb, on_fwd_durable, fa))
        free(fa);
}

void vg_monitor_batch_begin(vg_monitor_t *mon)
{
    mon->batch_us = vg_mono_us();
    mon->batch_n = 1;
}

void vg_monitor_batch_size(vg_monitor_t *mon, size_t n)
{
    mon->batch_n = n;
}

struct vg_cluster_channel vg_monitor_channel(vg_monitor_t *mon)
{
    return (struct vg_cluster_channel){fwd_next, fwd_acked, fwd_receive, mon};
}

/*
 * monitor_ingest.c - the sensor table and the path of one reading.
 *
 * The hot path (vg_mon_ingest_idx) runs up to a million times a second on
 * the loop thread: one hash lookup by name, one tsdb append, one rule
 * evaluation, no allocation. Derived sensors (dew point) are computed
 * here when either input gets a new value, stamped with that value's time.
 */
#include "monitor/monitor_int.h"

#include <math.h>

#include "core/say.h"
#include "sense/lineproto.h"
#include "sense/stype.h"

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

/* Index of name in a sensor table and its slots (n_slots a power of two). */
static int32_t lookup_in(const struct msensor *sensors, const uint32_t *slots, size_t n_slots,
                         const char *name, size_t len)
{
    if (!n_slots)
        return -1;
    size_t mask = n_slots - 1;
    for (size_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        uint32_t slot = slots[i];
        if (!slot)
            return -1;
        /* whole bytes: "a\0b" must never find "a" (strncmp stops at a NUL) */
        const char *have = sensors[slot - 1].name;
        if (strnlen(have, len + 1) == len && memcmp(have, name, len) == 0)
            return (int32_t)(slot - 1);
    }
}

int32_t vg_mon_lookup(const struct vg_monitor *mon, const char *name, size_t len)
{
    return lookup_in(mon->sensors, mon->slots, mon->n_slots, name, len);
}

static void slot_insert(struct vg_monitor *mon, uint32_t idx)
{
    const char *name = mon->sensors[idx].name;
    size_t mask = mon->n_slots - 1;
    size_t i = hash_name(name, strlen(name)) & mask;
    while (mon->slots[i])
        i = (i + 1) & mask;
    mon->slots[i] = idx + 1;
}

/* Index of name in a list of names kept for the monitor's life (sites,
 * zones: a few hundred at most), added if new. */
static uint16_t name_index(char ***names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*names)[i], name))
            return (uint16_t)i;
    *names = vg_realloc(*names, (*n + 1) * sizeof **names);
    (*names)[*n] = vg_strdup(name);
    return (uint16_t)(*n)++;
}

int32_t vg_mon_device(const struct vg_monitor *mon, const char *name)
{
    for (size_t i = 0; name && i < mon->n_devices; i++)
        if (!strcmp(mon->devices[i].name, name))
            return (int32_t)i;
    return -1;
}

static const char *spec_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "spec"), key));
}

/* {zone name: site name} from the state's zones. */
static json_t *zone_sites(const json_t *zones)
{
    json_t *out = json_object();
    size_t i;
    const json_t *z;
    json_array_foreach(zones, i, z) {
        const char *name = json_string_value(json_object_get(z, "name"));
        const char *site = spec_str(z, "site");
        if (name && site)
            json_object_set_new(out, name, json_string(site));
    }
    return out;
}

static void fill_sensor(struct vg_monitor *mon, struct msensor *s, const json_t *obj,
                        const json_t *sites_by_zone, const struct msensor *old)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    s->name = vg_strdup(name);
    s->series = vg_tsdb_series(mon->tsdb, name);
    s->rule_idx = mon->rules ? vg_rules_sensor(mon->rules, name) : -1;
    s->feeds[0] = s->feeds[1] = NO_SENSOR;
    s->derive_t = s->derive_h = NO_SENSOR;
    s->device = vg_mon_device(mon, spec_str(obj, "device"));
    int type = vg_stype_lookup(spec_str(obj, "type") ? spec_str(obj, "type") : "");
    s->type = (uint8_t)(type < 0 ? 0 : type);
    const char *scope = spec_str(obj, "scope");
    s->scope = scope ? (!strcmp(scope, "facility") ? 1 : 2) : 0;
    const char *zone = spec_str(obj, "zone") ? spec_str(obj, "zone") : "";
    const char *site = json_string_value(json_object_get(sites_by_zone, zone));
    s->site = name_index(&mon->sites, &mon->n_sites, site ? site : "");
    s->zone = name_index(&mon->zones, &mon->n_zones, zone);
    const json_t *pos = json_object_get(json_object_get(obj, "spec"), "position");
    s->pos_x = pos ? (float)json_number_value(json_object_get(pos, "x")) : NAN;
    s->pos_y = pos ? (float)json_number_value(json_object_get(pos, "y")) : NAN;
    if (old) {
        s->last_time = old->last_time;
        s->last_value = old->last_value;
        s->n_values = old->n_values;
        s->n_rejects = old->n_rejects;
    } else if (vg_tsdb_last(mon->tsdb, s->series, &s->last_time, &s->last_value) == 0) {
        s->n_values = 1;
    }
}

static void link_derived(struct vg_monitor *mon, const json_t *sensors)
{
    size_t i;
    const json_t *obj;
    json_array_foreach(sensors, i, obj) {
        const json_t *derive = json_object_get(json_object_get(obj, "spec"), "derive");
        if (!derive)
            continue;
        const char *t = json_string_value(json_object_get(derive, "temperature"));
        const char *h = json_string_value(json_object_get(derive, "humidity"));
        int32_t ti = t ? vg_mon_lookup(mon, t, strlen(t)) : -1;
        int32_t hi = h ? vg_mon_lookup(mon, h, strlen(h)) : -1;
        if (ti < 0 || hi < 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "sensor '%s': derive names a missing sensor",
                     mon->sensors[i].name);
            json_array_append_new(mon->problems, json_string(msg));
            continue;
        }
        mon->sensors[i].derive_t = ti;
        mon->sensors[i].derive_h = hi;
        int32_t inputs[2] = {ti, hi};
        for (int k = 0; k < 2; k++) {
            struct msensor *in = &mon->sensors[inputs[k]];
            if (in->feeds[0] == NO_SENSOR)
                in->feeds[0] = (int32_t)i;
            else if (in->feeds[1] == NO_SENSOR)
                in->feeds[1] = (int32_t)i;
        }
    }
}

static void build_devices(struct vg_monitor *mon, const json_t *devices)
{
    struct mdevice *old = mon->devices;
    size_t n_old = mon->n_devices;
    mon->n_devices = json_array_size(devices);
    mon->devices = vg_calloc(mon->n_devices + 1, sizeof *mon->devices);
    size_t i;
    const json_t *obj;
    json_array_foreach(devices, i, obj) {
        struct mdevice *d = &mon->devices[i];
        const char *name = json_string_value(json_object_get(obj, "name"));
        for (size_t k = 0; k < n_old; k++)
            if (old[k].name && !strcmp(old[k].name, name)) { /* NULL: already taken over */
                *d = old[k];
                old[k].name = old[k].site = old[k].driver = NULL;
                free(d->site);
                free(d->driver);
                break;
            }
        if (!d->name) {
            d->name = vg_strdup(name);
            d->up = -1;
        }
        d->site = vg_strdup(spec_str(obj, "site") ? spec_str(obj, "site") : "");
        d->driver = vg_strdup(spec_str(obj, "driver") ? spec_str(obj, "driver") : "");
    }
    for (size_t k = 0; k < n_old; k++) {
        free(old[k].name);
        free(old[k].site);
        free(old[k].driver);
    }
    free(old);
}

void vg_mon_table_build(struct vg_monitor *mon, const json_t *zones, const json_t *sensors,
                        const json_t *devices)
{
    json_t *sites_by_zone = zone_sites(zones);
    struct msensor *old = mon->sensors;
    size_t n_old = mon->n_sensors;
    uint32_t *old_slots = mon->slots;
    size_t old_n_slots = mon->n_slots;
    build_devices(mon, devices);
    size_t n = json_array_size(sensors);
    mon->sensors = vg_calloc(n + 1, sizeof *mon->sensors);
    mon->n_sensors = 0;
    mon->n_slots = 16;
    while (mon->n_slots < 2 * n)
        mon->n_slots *= 2;
    mon->slots = vg_calloc(mon->n_slots, sizeof *mon->slots);
    size_t i;
    const json_t *obj;
    json_array_foreach(sensors, i, obj) {
        const char *name = json_string_value(json_object_get(obj, "name"));
        int32_t was = lookup_in(old, old_slots, old_n_slots, name, strlen(name));
        fill_sensor(mon, &mon->sensors[i], obj, sites_by_zone, was >= 0 ? &old[was] : NULL);
        slot_insert(mon, (uint32_t)i);
        mon->n_sensors++;
    }
    link_derived(mon, sensors);
    json_decref(sites_by_zone);
    for (size_t k = 0; k < n_old; k++)
        free(old[k].name);
    free(old);
    free(old_slots);
}

void vg_mon_table_free(struct vg_monitor *mon)
{
    for (size_t i = 0; i < mon->n_sensors; i++)
        free(mon->sensors[i].name);
    free(mon->sensors);
    free(mon->slots);
    for (size_t i = 0; i < mon->n_sites; i++)
        free(mon->sites[i]);
    free(mon->sites);
    for (size_t i = 0; i < mon->n_zones; i++)
        free(mon->zones[i]);
    free(mon->zones);
    for (size_t i = 0; i < mon->n_devices; i++) {
        free(mon->devices[i].name);
        free(mon->devices[i].site);
        free(mon->devices[i].driver);
    }
    free(mon->devices);
    mon->sensors = NULL;
    mon->slots = NULL;
    mon->sites = NULL;
    mon->zones = NULL;
    mon->devices = NULL;
    mon->n_sensors = mon->n_slots = mon->n_sites = mon->n_zones = mon->n_devices = 0;
}

/* A dew point from its inputs' latest values, if both have one. */
static void update_derived(struct vg_monitor *mon, int32_t idx, int64_t time_ms)
{
    struct msensor *d = &mon->sensors[idx];
    const struct msensor *t = &mon->sensors[d->derive_t];
    const struct msensor *h = &mon->sensors[d->derive_h];
    if (!t->n_values || !h->n_values || time_ms <= d->last_time)
        return;
    double dp = round(vg_dew_point(t->last_value, h->last_value) * 10.0) / 10.0;
    vg_mon_ingest_idx(mon, idx, time_ms, dp);
}

int vg_mon_ingest_idx(struct vg_monitor *mon, int32_t idx, int64_t time_ms, double value)
{
    struct msensor *s = &mon->sensors[idx];
    int rc = vg_tsdb_append(mon->tsdb, s->series, time_ms, value);
    if (rc) {
        mon->n_out_of_order++;
        s->n_rejects++;
        return rc;
    }
    s->last_time = time_ms;
    s->last_value = value;
    s->n_values++;
    mon->n_ingested++;
    if (mon->primary && s->rule_idx >= 0) {
        mon->in_reading = 1;
        vg_rules_reading(mon->rules, s->rule_idx, time_ms, value, vg_mon_on_change, mon);
        mon->in_reading = 0;
    }
    for (int k = 0; k < 2; k++)
        if (s->feeds[k] != NO_SENSOR)
            update_derived(mon, s->feeds[k], time_ms);
    return 0;
}

int vg_monitor_has_sensor(vg_monitor_t *mon, const char *sensor, size_t len)
{
    return vg_mon_lookup(mon, sensor, len) >= 0;
}

int vg_monitor_ingest(vg_monitor_t *mon, const char *sensor, size_t len, int64_t time_ms,
                      double value, char *err, size_t errlen)
{
    int32_t idx = vg_mon_lookup(mon, sensor, len);
    if (idx < 0) {
        char shown[VG_LP_NAME_MAX * 4 + 4]; /* bytes from the network, escaped */
        vg_lp_show(shown, sizeof shown, sensor, len, VG_LP_NAME_MAX);
        mon->n_unknown++;
        return vg_err(err, errlen, -ENOENT, "sensor '%s' is not declared", shown);
    }
    if (!isfinite(value)) {
        mon->n_rejected++;
        return vg_err(err, errlen, -EINVAL, "sensor '%s': value is not a finite number",
                      mon->sensors[idx].name);
    }
    if (mon->sensors[idx].derive_t != NO_SENSOR)
        return vg_err(err, errlen, -EINVAL, "sensor '%s' is derived: it takes no readings",
                      mon->sensors[idx].name);
    int rc = vg_mon_ingest_idx(mon, idx, time_ms, value);
    if (rc)
        return vg_err(err, errlen, rc,
                      "sensor '%s': time %lld is not after its last reading (%lld)",
                      mon->sensors[idx].name, (long long)time_ms,
                      (long long)mon->sensors[idx].last_time);
    return 0;
}

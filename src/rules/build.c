/*
 * build.c - turns the Zones, Devices, Sensors and Rules the state holds
 * into an engine: places and sensors by dense index, definitions (built-in
 * packs first, then Rule objects), their instances grouped by sensor, and
 * the dependency graph.
 *
 * Input comes from the replicated state, so it has passed the schema; it
 * is still checked again (Rules through vg_schema_validate), because a
 * bad object must cost one line in vg_rules_problems(), never the engine.
 * Anything referring to something missing is skipped and listed there.
 * Runs on load only; the hot path never comes here.
 */
#include "rules/rules_int.h"

#include "schema/schema.h"
#include "sense/stype.h"

#define DEFAULT_STALE_MS      30000
#define STALE_INTERVALS       3
#define DEFAULT_RATE_WINDOW_S 300
#define DEFAULT_PRED_WINDOW_S 600
#define DEFAULT_IDLE_FRACTION 0.3

/* ---- small helpers ---- */

void vg_rules_problem(vg_rules_t *rules, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    json_array_append_new(rules->problems, json_string(line));
}

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static double num_at(const json_t *obj, const char *key, double dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static void grow(void **arr, int n, int *cap, size_t size)
{
    if (n < *cap)
        return;
    *cap = *cap ? *cap * 2 : 16;
    *arr = vg_realloc(*arr, (size_t)*cap * size);
}

static int intern_site(vg_rules_t *r, const char *name, int *cap)
{
    if (!name)
        return -1;
    int idx = vg_strmap_get(r->site_map, name);
    if (idx >= 0)
        return idx;
    grow((void **)&r->sites, r->n_sites, cap, sizeof *r->sites);
    struct rplace *p = &r->sites[r->n_sites];
    memset(p, 0, sizeof *p);
    p->name = vg_strdup(name);
    p->site = p->zone = p->inst = -1;
    vg_strmap_put(r->site_map, p->name, r->n_sites);
    return r->n_sites++;
}

void vg_rules_clear(vg_rules_t *r)
{
    for (int i = 0; i < r->n_sensors; i++) {
        free(r->sensors[i].name);
        free(r->sensors[i].trend);
    }
    for (int i = 0; i < r->n_defs; i++) {
        struct rdef *d = &r->defs[i];
        free(d->name), free(d->fingerprint), free(d->message), free(d->crit_message);
        free(d->parents), free(d->children), free(d->dependants), free(d->insts);
        json_decref(d->build_spec);
    }
    struct rplace *lists[] = {r->sites, r->zones, r->devices};
    int counts[] = {r->n_sites, r->n_zones, r->n_devices};
    for (size_t k = 0; k < VG_ARRAY_LEN(lists); k++) {
        for (int i = 0; i < counts[k]; i++)
            free(lists[k][i].name);
        free(lists[k]);
    }
    free(r->sensors), free(r->insts), free(r->defs);
    free(r->fire_site), free(r->fire_zone), free(r->fire_all), free(r->fire_free);
    vg_strmap_free(r->sensor_map), vg_strmap_free(r->def_map);
    vg_strmap_free(r->device_map), vg_strmap_free(r->site_map);
    json_decref(r->problems);
    memset(r, 0, sizeof *r);
}

/* ---- definitions and instances ---- */

int vg_rules_add_def(vg_rules_t *r, const struct rdef *proto, const char *fingerprint)
{
    grow((void **)&r->defs, r->n_defs, &r->cap_defs, sizeof *r->defs);
    struct rdef *d = &r->defs[r->n_defs];
    *d = *proto;
    d->name = vg_strdup(proto->name);
    d->fingerprint = vg_strdup(fingerprint);
    d->message = proto->message ? vg_strdup(proto->message) : NULL;
    d->crit_message = proto->crit_message ? vg_strdup(proto->crit_message) : NULL;
    d->next_same = -1;
    int first = vg_strmap_get(r->def_map, d->name);
    if (first < 0) {
        vg_strmap_put(r->def_map, d->name, r->n_defs);
    } else {
        while (r->defs[first].next_same >= 0)
            first = r->defs[first].next_same;
        r->defs[first].next_same = r->n_defs;
    }
    return r->n_defs++;
}

int vg_rules_add_inst(vg_rules_t *r, int def, int sensor, int scope_id)
{
    grow((void **)&r->insts, r->n_insts, &r->cap_insts, sizeof *r->insts);
    struct rinst *in = &r->insts[r->n_insts];
    memset(in, 0, sizeof *in);
    in->def = def;
    in->sensor = sensor;
    in->scope_id = scope_id;
    in->predicted_s = NAN;
    return r->n_insts++;
}

/* ---- places and sensors ---- */

static int check_array(const json_t *arr, const char *what, char *err, size_t errlen)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return vg_err(err, errlen, -EINVAL, "%s: expected an array of objects", what);
    size_t i;
    const json_t *obj;
    json_array_foreach(arr, i, obj) {
        if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "name")))
            return vg_err(err, errlen, -EINVAL, "%s[%zu]: expected an object with a name",
                          what, i);
    }
    return 0;
}

static struct vg_strmap *load_zones(vg_rules_t *r, const json_t *zones, int *site_cap)
{
    struct vg_strmap *map = vg_strmap_new(json_array_size(zones));
    r->zones = vg_calloc(json_array_size(zones) + 1, sizeof *r->zones);
    size_t i;
    const json_t *obj;
    json_array_foreach(zones, i, obj) {
        const json_t *spec = json_object_get(obj, "spec");
        const char *name = str_at(obj, "name"), *site = str_at(spec, "site");
        if (vg_strmap_get(map, name) >= 0 || !site) {
            vg_rules_problem(r, "zone '%s' skipped: %s", name, site ? "duplicate" : "no site");
            continue;
        }
        struct rplace *z = &r->zones[r->n_zones];
        z->name = vg_strdup(name);
        z->site = intern_site(r, site, site_cap);
        z->zone = z->inst = -1;
        const char *cls = str_at(spec, "ashrae_class");
        if (cls && cls[0] == 'A' && cls[1] >= '1' && cls[1] <= '4' && !cls[2])
            z->ashrae = (uint8_t)(cls[1] - '0');
        const char *type = str_at(spec, "type");
        z->server_room = type && strcmp(type, "server-room") == 0;
        vg_strmap_put(map, z->name, r->n_zones++);
    }
    return map;
}

static void load_devices(vg_rules_t *r, const json_t *devices, struct vg_strmap *zone_map,
                         int *site_cap)
{
    r->devices = vg_calloc(json_array_size(devices) + 1, sizeof *r->devices);
    size_t i;
    const json_t *obj;
    json_array_foreach(devices, i, obj) {
        const json_t *spec = json_object_get(obj, "spec");
        const char *name = str_at(obj, "name"), *site = str_at(spec, "site");
        if (vg_strmap_get(r->device_map, name) >= 0 || !site) {
            vg_rules_problem(r, "device '%s' skipped: %s", name, site ? "duplicate" : "no site");
            continue;
        }
        struct rplace *d = &r->devices[r->n_devices];
        d->name = vg_strdup(name);
        d->site = intern_site(r, site, site_cap);
        d->zone = vg_strmap_get(zone_map, str_at(spec, "zone"));
        d->interval_ms = (int64_t)num_at(spec, "interval_ms", 0);
        d->inst = vg_rules_add_inst(r, r->device_def, -1, r->n_devices);
        vg_strmap_put(r->device_map, d->name, r->n_devices++);
    }
}

/* Sensors in input order; *objs gets each kept sensor's object (borrowed). */
static void load_sensors(vg_rules_t *r, const json_t *sensors, struct vg_strmap *zone_map,
                         const json_t ***objs)
{
    size_t n = json_array_size(sensors);
    r->sensors = vg_calloc(n + 1, sizeof *r->sensors);
    *objs = vg_calloc(n + 1, sizeof **objs);
    r->sensor_map = vg_strmap_new(n);
    size_t i;
    const json_t *obj;
    json_array_foreach(sensors, i, obj) {
        const json_t *spec = json_object_get(obj, "spec");
        const char *name = str_at(obj, "name"), *zone = str_at(spec, "zone");
        const char *device = str_at(spec, "device");
        int zone_idx = vg_strmap_get(zone_map, zone);
        int dev_idx = vg_strmap_get(r->device_map, device);
        const char *why = vg_strmap_get(r->sensor_map, name) >= 0 ? "duplicate"
                          : zone_idx < 0                         ? "its zone is missing"
                          : device && dev_idx < 0                ? "its device is missing"
                                                                 : NULL;
        if (why) {
            vg_rules_problem(r, "sensor '%s' skipped: %s", name, why);
            continue;
        }
        struct rsensor *s = &r->sensors[r->n_sensors];
        s->name = vg_strdup(name);
        s->zone = zone_idx;
        s->site = r->zones[zone_idx].site;
        s->device = dev_idx;
        s->value = NAN;
        int type = vg_stype_lookup(str_at(spec, "type") ? str_at(spec, "type") : "");
        s->type = (uint8_t)(type < 0 ? 255 : type);
        double stale_s = num_at(spec, "stale_after_s", 0);
        int64_t interval = dev_idx >= 0 ? r->devices[dev_idx].interval_ms : 0;
        s->stale_after_ms = stale_s > 0      ? (int64_t)(stale_s * 1000)
                            : interval > 0 ? STALE_INTERVALS * interval
                                           : DEFAULT_STALE_MS;
        (*objs)[r->n_sensors] = obj;
        vg_strmap_put(r->sensor_map, s->name, r->n_sensors++);
    }
}

/* ---- Rule objects ---- */

static uint8_t severity_of(const char *s)
{
    if (s && strcmp(s, "critical") == 0)
        return LV_CRITICAL;
    if (s && strcmp(s, "info") == 0)
        return LV_INFO;
    return LV_WARNING;
}

void vg_rules_proto(struct rdef *d, const char *name, uint8_t op, uint8_t severity)
{
    memset(d, 0, sizeof *d);
    d->name = (char *)name;
    d->op = op;
    d->severity = severity;
    d->above = d->below = d->crit_above = d->crit_below = NAN;
    d->clear_below = d->clear_above = d->crit_clear_below = d->crit_clear_above = NAN;
    d->equals = d->threshold = d->within_s = d->crit_within_s = NAN;
    d->tank_litres = d->burn_lph_full = NAN;
    d->idle_fraction = DEFAULT_IDLE_FRACTION;
    d->load_sensor = -1;
}

/* Clear levels default to the raise levels; the critical level of a
 * two-level rule clears with the same margin as the warning level. */
void vg_rules_finish_band(struct rdef *d)
{
    if (isnan(d->clear_below))
        d->clear_below = d->above;
    if (isnan(d->clear_above))
        d->clear_above = d->below;
    double margin_hi = isnan(d->above) ? 0 : d->above - d->clear_below;
    double margin_lo = isnan(d->below) ? 0 : d->clear_above - d->below;
    d->crit_clear_below = d->crit_above - margin_hi;
    d->crit_clear_above = d->crit_below + margin_lo;
}

static int user_condition(vg_rules_t *r, struct rdef *d, const json_t *spec)
{
    const json_t *predict = json_object_get(spec, "predict");
    const json_t *fuel = json_object_get(spec, "fuel");
    if (json_object_get(spec, "all") || json_object_get(spec, "any")) {
        d->op = json_object_get(spec, "all") ? OP_ALL : OP_ANY;
    } else if (json_object_get(spec, "equals")) {
        d->op = OP_EQUALS;
        d->equals = num_at(spec, "equals", NAN);
    } else if (json_object_get(spec, "rate_per_min")) {
        d->op = OP_RATE;
        d->rate_per_min = num_at(spec, "rate_per_min", 0);
        d->window_ms = (int64_t)(num_at(spec, "window_s", DEFAULT_RATE_WINDOW_S) * 1000);
    } else if (predict) {
        d->op = OP_PREDICT;
        d->threshold = num_at(predict, "threshold", NAN);
        d->within_s = num_at(predict, "within_s", NAN);
        d->window_ms = (int64_t)(num_at(predict, "window_s", DEFAULT_PRED_WINDOW_S) * 1000);
        d->falling = json_is_true(json_object_get(predict, "falling"));
    } else if (fuel) {
        d->op = OP_FUEL;
        d->tank_litres = num_at(fuel, "tank_litres", NAN);
        d->burn_lph_full = num_at(fuel, "burn_lph_full", NAN);
        d->idle_fraction = num_at(fuel, "idle_fraction", DEFAULT_IDLE_FRACTION);
        d->within_s = num_at(fuel, "below_hours", NAN) * 3600;
        d->crit_within_s = num_at(fuel, "critical_hours", NAN) * 3600;
        const char *load = str_at(fuel, "load_sensor");
        d->load_sensor = vg_strmap_get(r->sensor_map, load);
        if (load && d->load_sensor < 0)
            return -ENOENT;
    } else {
        d->op = OP_BAND;
        d->above = num_at(spec, "above", NAN);
        d->below = num_at(spec, "below", NAN);
        d->crit_above = num_at(spec, "critical_above", NAN);
        d->crit_below = num_at(spec, "critical_below", NAN);
        d->clear_below = num_at(spec, "clear_below", NAN);
        d->clear_above = num_at(spec, "clear_above", NAN);
        vg_rules_finish_band(d);
    }
    return 0;
}

static void user_def(vg_rules_t *r, const json_t *obj)
{
    const char *name = str_at(obj, "name");
    json_t *norm = NULL;
    char why[256], field[64];
    if (vg_schema_validate(obj, "Rule", NULL, &norm, why, sizeof why, field, sizeof field)) {
        vg_rules_problem(r, "rule '%s' skipped: %s", name, why);
        return;
    }
    if (vg_strmap_get(r->def_map, name) >= 0) {
        vg_rules_problem(r, "rule '%s' skipped: the name is taken (a built-in rule or a "
                            "duplicate)", name);
        json_decref(norm);
        return;
    }
    const json_t *spec = json_object_get(norm, "spec");
    struct rdef d;
    vg_rules_proto(&d, name, OP_BAND, severity_of(str_at(spec, "severity")));
    d.message = (char *)str_at(spec, "message");
    d.hold_ms = (int64_t)(num_at(spec, "hold_s", 0) * 1000);
    if (user_condition(r, &d, spec)) {
        vg_rules_problem(r, "rule '%s' skipped: load sensor '%s' is missing", name,
                         str_at(json_object_get(spec, "fuel"), "load_sensor"));
        json_decref(norm);
        return;
    }
    char *fp = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    int idx = vg_rules_add_def(r, &d, fp ? fp : "");
    free(fp);
    r->defs[idx].build_spec = json_incref((json_t *)spec);
    json_decref(norm);
}

/* Links every definition of the given name; 0, or -ENOENT if there is none. */
static int link_name(vg_rules_t *r, struct rlink **links, int *n, const char *name,
                     uint8_t scope)
{
    int def = vg_strmap_get(r->def_map, name);
    if (def < 0)
        return -ENOENT;
    for (; def >= 0; def = r->defs[def].next_same) {
        *links = vg_realloc(*links, (size_t)(*n + 1) * sizeof **links);
        (*links)[(*n)++] = (struct rlink){def, scope};
    }
    return 0;
}

int vg_rules_link(vg_rules_t *r, int def, int parent, const char *name, uint8_t scope)
{
    struct rdef *d = &r->defs[def];
    return parent ? link_name(r, &d->parents, &d->n_parents, name, scope)
                  : link_name(r, &d->children, &d->n_children, name, scope);
}

static void resolve_user_links(vg_rules_t *r, int def)
{
    static const char *const lists[] = {"depends_on", "all", "any"};
    const json_t *spec = r->defs[def].build_spec;
    for (size_t k = 0; k < VG_ARRAY_LEN(lists); k++) {
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(spec, lists[k]), i, item) {
            const char *name = json_string_value(item);
            if (!vg_rules_link(r, def, k == 0, name, SC_SITE))
                continue;
            vg_rules_problem(r, "rule '%s' skipped: %s names '%s', which is no rule",
                             r->defs[def].name, lists[k], name);
            r->defs[def].dead = 1;
        }
    }
}

/* Depth-first search for cycles through parents and children. */
static int on_cycle(vg_rules_t *r, int def, uint8_t *color)
{
    if (color[def] == 1)
        return 1;
    if (color[def] == 2)
        return 0;
    color[def] = 1;
    struct rdef *d = &r->defs[def];
    int found = 0;
    for (int i = 0; i < d->n_parents && !found; i++)
        found = on_cycle(r, d->parents[i].def, color);
    for (int i = 0; i < d->n_children && !found; i++)
        found = on_cycle(r, d->children[i].def, color);
    color[def] = 2;
    return found;
}

static int links_dead(const vg_rules_t *r, const struct rdef *d)
{
    for (int i = 0; i < d->n_parents; i++)
        if (r->defs[d->parents[i].def].dead)
            return 1;
    for (int i = 0; i < d->n_children; i++)
        if (r->defs[d->children[i].def].dead)
            return 1;
    return 0;
}

static void kill_cycles_and_orphans(vg_rules_t *r, int first_user)
{
    uint8_t *color = vg_calloc((size_t)r->n_defs + 1, 1);
    for (int i = first_user; i < r->n_defs; i++) {
        memset(color, 0, (size_t)r->n_defs);
        if (!r->defs[i].dead && on_cycle(r, i, color)) {
            vg_rules_problem(r, "rule '%s' skipped: its dependencies form a cycle",
                             r->defs[i].name);
            r->defs[i].dead = 1;
        }
    }
    free(color);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = first_user; i < r->n_defs; i++) {
            if (r->defs[i].dead || !links_dead(r, &r->defs[i]))
                continue;
            vg_rules_problem(r, "rule '%s' skipped: a rule it refers to was skipped",
                             r->defs[i].name);
            r->defs[i].dead = changed = 1;
        }
    }
}

static int sensor_matches(const vg_rules_t *r, const struct rsensor *s, const json_t *match)
{
    const char *type = str_at(match, "type"), *zone = str_at(match, "zone");
    const char *site = str_at(match, "site");
    if (type && (s->type == 255 || strcmp(vg_stype_info(s->type)->name, type) != 0))
        return 0;
    if (zone && strcmp(r->zones[s->zone].name, zone) != 0)
        return 0;
    return !site || strcmp(r->sites[s->site].name, site) == 0;
}

static void user_instances(vg_rules_t *r, int def)
{
    struct rdef *d = &r->defs[def];
    const json_t *spec = d->build_spec;
    if (d->op == OP_ALL || d->op == OP_ANY) {
        vg_rules_add_inst(r, def, -1, -1);
        return;
    }
    const char *sensor = str_at(spec, "sensor");
    if (sensor) {
        int idx = vg_strmap_get(r->sensor_map, sensor);
        if (idx < 0) {
            vg_rules_problem(r, "rule '%s' skipped: sensor '%s' is missing", d->name, sensor);
            d->dead = 1;
            return;
        }
        vg_rules_add_inst(r, def, idx, -1);
        return;
    }
    const json_t *match = json_object_get(spec, "match");
    int n = 0;
    for (int i = 0; i < r->n_sensors; i++)
        if (sensor_matches(r, &r->sensors[i], match))
            vg_rules_add_inst(r, def, i, -1), n++;
    if (!n)
        vg_rules_problem(r, "rule '%s' matches no sensor", d->name);
}

/* ---- indexes over the finished instance list ---- */

static int inst_order(const void *a, const void *b)
{
    const struct rinst *x = a, *y = b;
    unsigned sx = (unsigned)x->sensor, sy = (unsigned)y->sensor; /* -1 sorts last */
    if (sx != sy)
        return sx < sy ? -1 : 1;
    if (x->def != y->def)
        return x->def < y->def ? -1 : 1;
    return (x->scope_id > y->scope_id) - (x->scope_id < y->scope_id);
}

static void add_int(int **arr, int *n, int v)
{
    if ((*n & (*n - 1)) == 0)
        *arr = vg_realloc(*arr, (size_t)(*n ? *n * 2 : 1) * sizeof **arr);
    (*arr)[(*n)++] = v;
}

static void index_instances(vg_rules_t *r)
{
    if (r->n_insts)
        qsort(r->insts, (size_t)r->n_insts, sizeof *r->insts, inst_order);
    for (int i = r->n_insts - 1; i >= 0; i--) {
        struct rinst *in = &r->insts[i];
        add_int(&r->defs[in->def].insts, &r->defs[in->def].n_insts, i);
        if (in->sensor >= 0) {
            r->sensors[in->sensor].first_inst = i;
            r->sensors[in->sensor].n_insts++;
        }
        if (r->defs[in->def].op == OP_DEVICE)
            r->devices[in->scope_id].inst = i;
    }
    for (int i = 0; i < r->n_defs; i++) { /* built backwards: put in order */
        struct rdef *d = &r->defs[i];
        for (int a = 0, b = d->n_insts - 1; a < b; a++, b--) {
            int t = d->insts[a];
            d->insts[a] = d->insts[b], d->insts[b] = t;
        }
        for (int k = 0; k < d->n_parents; k++)
            add_int(&r->defs[d->parents[k].def].dependants,
                    &r->defs[d->parents[k].def].n_dependants, i);
        for (int k = 0; k < d->n_children; k++)
            add_int(&r->defs[d->children[k].def].dependants,
                    &r->defs[d->children[k].def].n_dependants, i);
    }
}

/* A trend ring for each sensor a rate or prediction rule watches. */
static void attach_trends(vg_rules_t *r)
{
    for (int i = 0; i < r->n_sensors; i++) {
        struct rsensor *s = &r->sensors[i];
        int64_t window = 0;
        for (int k = 0; k < s->n_insts; k++) {
            const struct rdef *d = &r->defs[r->insts[s->first_inst + k].def];
            if ((d->op == OP_RATE || d->op == OP_PREDICT) && d->window_ms > window)
                window = d->window_ms;
        }
        if (window) {
            s->trend = vg_malloc(sizeof *s->trend);
            vg_trend_init(s->trend, window);
        }
    }
}

int vg_rules_build(vg_rules_t *r, const json_t *zones, const json_t *sensors,
                   const json_t *devices, const json_t *rule_objs, char *err, size_t errlen)
{
    int rc = check_array(zones, "zones", err, errlen);
    if (!rc)
        rc = check_array(sensors, "sensors", err, errlen);
    if (!rc)
        rc = check_array(devices, "devices", err, errlen);
    if (!rc)
        rc = check_array(rule_objs, "rules", err, errlen);
    if (rc)
        return rc;
    r->problems = json_array();
    r->site_map = vg_strmap_new(8);
    r->def_map = vg_strmap_new(64 + json_array_size(rule_objs));
    r->device_map = vg_strmap_new(json_array_size(devices));
    int site_cap = 0;
    struct vg_strmap *zone_map = load_zones(r, zones, &site_cap);
    vg_rules_add_pack_defs(r);
    load_devices(r, devices, zone_map, &site_cap);
    const json_t **sensor_objs;
    load_sensors(r, sensors, zone_map, &sensor_objs);
    vg_strmap_free(zone_map);
    vg_rules_add_packs(r, sensor_objs, devices);
    free(sensor_objs);

    int first_user = r->n_defs;
    size_t i;
    const json_t *obj;
    json_array_foreach(rule_objs, i, obj)
        user_def(r, obj);
    for (int k = first_user; k < r->n_defs; k++)
        resolve_user_links(r, k);
    kill_cycles_and_orphans(r, first_user);
    for (int k = first_user; k < r->n_defs; k++)
        if (!r->defs[k].dead)
            user_instances(r, k);
    for (int k = first_user; k < r->n_defs; k++) {
        json_decref(r->defs[k].build_spec);
        r->defs[k].build_spec = NULL;
    }
    index_instances(r);
    attach_trends(r);
    size_t n_defs = (size_t)r->n_defs + 1;
    r->fire_site = vg_calloc(n_defs * (size_t)(r->n_sites + 1), sizeof *r->fire_site);
    r->fire_zone = vg_calloc(n_defs * (size_t)(r->n_zones + 1), sizeof *r->fire_zone);
    r->fire_all = vg_calloc(n_defs, sizeof *r->fire_all);
    r->fire_free = vg_calloc(n_defs, sizeof *r->fire_free);
    return 0;
}

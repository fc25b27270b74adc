/*
 * rules.c - the engine's lifecycle and its slow paths: load (with the
 * runtime state carried over), seed after failover, status and the state
 * of a sensor. See rules.h for the contract; eval.c has the hot path.
 */
#include "rules/rules_int.h"

#include "sense/stype.h"

vg_rules_t *vg_rules_new(void)
{
    vg_rules_t *r = vg_calloc(1, sizeof *r);
    if (vg_rules_build(r, NULL, NULL, NULL, NULL, NULL, 0))
        VG_BUG("an empty engine does not build");
    return r;
}

void vg_rules_free(vg_rules_t *r)
{
    if (!r)
        return;
    vg_rules_clear(r);
    free(r);
}

/* The old instance that is the same as the new one: same id, same definition. */
static const struct rinst *same_instance(const vg_rules_t *old, const vg_rules_t *r,
                                         const struct rinst *in)
{
    const struct rdef *d = &r->defs[in->def];
    int first = old->n_insts, end = old->n_insts;
    if (in->sensor >= 0) {
        int s = vg_strmap_get(old->sensor_map, r->sensors[in->sensor].name);
        if (s < 0)
            return NULL;
        first = old->sensors[s].first_inst;
        end = first + old->sensors[s].n_insts;
    } else {
        for (first = 0; first < old->n_insts && old->insts[first].sensor >= 0; first++)
            ;
    }
    char id_new[256], id_old[256];
    vg_rules_render_id((vg_rules_t *)r, in, id_new, sizeof id_new);
    for (int i = first; i < end; i++) {
        const struct rinst *o = &old->insts[i];
        const struct rdef *od = &old->defs[o->def];
        if (strcmp(od->name, d->name) != 0 || strcmp(od->fingerprint, d->fingerprint) != 0)
            continue;
        vg_rules_render_id((vg_rules_t *)old, o, id_old, sizeof id_old);
        if (strcmp(id_old, id_new) == 0)
            return o;
    }
    return NULL;
}

static void carry_sensor(struct rsensor *s, const struct rsensor *o)
{
    s->value = o->value;
    s->last_ms = o->last_ms;
    s->has_data = o->has_data;
    s->stale = o->stale;
    s->expected = o->expected;
    if (s->trend && o->trend) {
        int32_t gap = s->trend->min_gap_ms;
        *s->trend = *o->trend;
        s->trend->min_gap_ms = gap;
    }
}

static void carry_state(vg_rules_t *r, const vg_rules_t *old)
{
    for (int i = 0; i < r->n_sensors; i++) {
        int o = vg_strmap_get(old->sensor_map, r->sensors[i].name);
        if (o >= 0)
            carry_sensor(&r->sensors[i], &old->sensors[o]);
    }
    for (int i = 0; i < r->n_insts; i++) {
        struct rinst *in = &r->insts[i];
        const struct rinst *o = same_instance(old, r, in);
        if (!o)
            continue;
        in->level = o->level;
        in->state = o->state;
        in->pending = o->pending;
        in->since_ms = o->since_ms;
        in->pending_since_ms = o->pending_since_ms;
        in->predicted_s = o->predicted_s;
        if (in->level)
            vg_rules_count(r, in, 1);
    }
}

int vg_rules_load(vg_rules_t *r, const json_t *zones, const json_t *sensors,
                  const json_t *devices, const json_t *rule_objs, char *err, size_t errlen)
{
    vg_rules_t fresh;
    memset(&fresh, 0, sizeof fresh);
    int rc = vg_rules_build(&fresh, zones, sensors, devices, rule_objs, err, errlen);
    if (rc) {
        vg_rules_clear(&fresh);
        return rc;
    }
    carry_state(&fresh, r);
    fresh.now_ms = r->now_ms;
    vg_rules_clear(r);
    *r = fresh;
    return 0;
}

json_t *vg_rules_problems(const vg_rules_t *r)
{
    return json_deep_copy(r->problems);
}

int vg_rules_sensor(const vg_rules_t *r, const char *sensor_name)
{
    return vg_strmap_get(r->sensor_map, sensor_name);
}

/* The instance an id names: "RULE/SENSOR", "RULE/SITE", "device-unreachable/DEVICE", "RULE". */
static struct rinst *find_instance(vg_rules_t *r, const char *id)
{
    char def_name[128];
    const char *slash = strchr(id, '/');
    size_t len = slash ? (size_t)(slash - id) : strlen(id);
    if (len >= sizeof def_name)
        return NULL;
    memcpy(def_name, id, len);
    def_name[len] = '\0';
    const char *rest = slash ? slash + 1 : NULL;
    for (int def = vg_strmap_get(r->def_map, def_name); def >= 0; def = r->defs[def].next_same) {
        const struct rdef *d = &r->defs[def];
        int sensor = rest ? vg_strmap_get(r->sensor_map, rest) : -1;
        int scope = !rest             ? -1
                    : d->op == OP_DEVICE ? vg_strmap_get(r->device_map, rest)
                                         : vg_strmap_get(r->site_map, rest);
        for (int i = 0; i < d->n_insts; i++) {
            struct rinst *in = &r->insts[d->insts[i]];
            if (in->sensor >= 0 ? in->sensor == sensor : rest ? scope >= 0 && in->scope_id == scope
                                                              : in->scope_id < 0)
                return in;
        }
    }
    return NULL;
}

int vg_rules_seed(vg_rules_t *r, const char *instance_id, const char *state)
{
    int st = -1;
    for (int i = 0; i <= ST_STALE; i++)
        if (strcmp(vg_rules_state_names[i], state) == 0)
            st = i;
    if (st < 0)
        return -EINVAL;
    struct rinst *in = find_instance(r, instance_id);
    if (!in)
        return -ENOENT;
    uint8_t level = in->level;
    const struct rdef *d = &r->defs[in->def];
    if (st == ST_OK)
        level = LV_NONE;
    else if (st == ST_SUPPRESSED)
        level = in->level >= LV_WARNING ? in->level : d->severity > LV_INFO ? d->severity
                                                                           : LV_WARNING;
    else if (st != ST_STALE)
        level = (uint8_t)st;
    if ((level != LV_NONE) != (in->level != LV_NONE))
        vg_rules_count(r, in, level ? 1 : -1);
    in->level = level;
    in->state = (uint8_t)st;
    in->pending = 0;
    if (st == ST_STALE && in->sensor >= 0)
        r->sensors[in->sensor].stale = 1;
    return 0;
}

static json_t *number_or_null(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

json_t *vg_rules_status(const vg_rules_t *r)
{
    json_t *out = json_array();
    char id[256], msg[512];
    static const char *const levels[] = {"none", "info", "warning", "critical"};
    for (int i = 0; i < r->n_insts; i++) {
        const struct rinst *in = &r->insts[i];
        const struct rdef *d = &r->defs[in->def];
        const struct rsensor *s = in->sensor >= 0 ? &r->sensors[in->sensor] : NULL;
        json_t *row = json_object();
        json_object_set_new(row, "id", json_string(vg_rules_render_id((vg_rules_t *)r, in, id,
                                                                      sizeof id)));
        json_object_set_new(row, "rule", json_string(d->name));
        json_object_set_new(row, "sensor", s ? json_string(s->name) : json_null());
        json_object_set_new(row, "state", json_string(vg_rules_state_names[in->state]));
        json_object_set_new(row, "since", in->since_ms ? json_integer(in->since_ms) : json_null());
        json_object_set_new(row, "value", number_or_null(s && s->has_data ? s->value : NAN));
        json_object_set_new(row, "severity", json_string(levels[in->level ? in->level
                                                                           : d->severity]));
        json_object_set_new(row, "message",
                            json_string(vg_rules_render_message(r, in, msg, sizeof msg)));
        json_object_set_new(row, "prediction", number_or_null(in->predicted_s));
        json_object_set_new(row, "firing", json_boolean(in->level != LV_NONE));
        json_array_append_new(out, row);
    }
    return out;
}

const char *vg_rules_sensor_state(const vg_rules_t *r, int sensor_idx)
{
    if (sensor_idx < 0 || sensor_idx >= r->n_sensors)
        return "unknown";
    const struct rsensor *s = &r->sensors[sensor_idx];
    if (s->stale)
        return "stale";
    if (!s->has_data)
        return "unknown";
    uint8_t worst = LV_NONE;
    for (int i = s->first_inst; i < s->first_inst + s->n_insts; i++)
        if (r->insts[i].level > worst)
            worst = r->insts[i].level;
    return worst == LV_CRITICAL ? "critical" : worst == LV_WARNING ? "warning" : "ok";
}

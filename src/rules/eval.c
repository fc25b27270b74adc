/*
 * eval.c - the hot path: readings, ticks and device events turned into
 * state changes of rule instances.
 *
 * Each instance keeps a latched level (none/info/warning/critical) and a
 * shown state. A reading re-evaluates only the instances of its sensor:
 * the condition gives a target level (with hysteresis against the current
 * one), the hold time delays any rise, and only when the level or the
 * shown state moves is anything formatted or reported. A level crossing
 * between none and firing updates the firing counts and re-settles the
 * definitions that depend on it (dependants suppressed, composites
 * re-evaluated); the dependency graph is acyclic (build.c refuses cycles).
 * No allocation here, no clock: time is what the caller passes.
 */
#include "rules/rules_int.h"

const char *const vg_rules_state_names[] = {
    [ST_OK] = "ok",         [ST_INFO] = "info",
    [ST_WARNING] = "warning", [ST_CRITICAL] = "critical",
    [ST_SUPPRESSED] = "suppressed", [ST_STALE] = "stale",
};

/* ---- scopes and firing counts ---- */

int vg_rules_scope_site(const vg_rules_t *r, const struct rinst *in)
{
    if (in->sensor >= 0)
        return r->sensors[in->sensor].site;
    if (r->defs[in->def].op == OP_DEVICE)
        return r->devices[in->scope_id].site;
    return in->scope_id;
}

int vg_rules_scope_zone(const vg_rules_t *r, const struct rinst *in)
{
    if (in->sensor >= 0)
        return r->sensors[in->sensor].zone;
    if (r->defs[in->def].op == OP_DEVICE)
        return r->devices[in->scope_id].zone;
    return -1;
}

void vg_rules_count(vg_rules_t *r, const struct rinst *in, int delta)
{
    int site = vg_rules_scope_site(r, in), zone = vg_rules_scope_zone(r, in);
    r->fire_all[in->def] += delta;
    if (site < 0)
        r->fire_free[in->def] += delta;
    else
        r->fire_site[(size_t)in->def * (size_t)r->n_sites + (size_t)site] += delta;
    if (zone >= 0)
        r->fire_zone[(size_t)in->def * (size_t)r->n_zones + (size_t)zone] += delta;
}

/* Is definition def firing as seen from (site, zone) through a link of scope? */
static int firing_in(const vg_rules_t *r, const struct rlink *link, int site, int zone)
{
    size_t def = (size_t)link->def;
    if (r->fire_free[def])
        return 1;
    if (link->scope == SC_ZONE && zone >= 0)
        return r->fire_zone[def * (size_t)r->n_zones + (size_t)zone] > 0;
    if (link->scope != SC_ALL && site >= 0)
        return r->fire_site[def * (size_t)r->n_sites + (size_t)site] > 0;
    return r->fire_all[def] > 0;
}

int vg_rules_firing_parent(const vg_rules_t *r, const struct rinst *in)
{
    const struct rdef *d = &r->defs[in->def];
    if (!d->n_parents)
        return -1;
    int site = vg_rules_scope_site(r, in), zone = vg_rules_scope_zone(r, in);
    for (int i = 0; i < d->n_parents; i++)
        if (firing_in(r, &d->parents[i], site, zone))
            return d->parents[i].def;
    return -1;
}

/* ---- conditions: the level an instance should be at ---- */

static uint8_t band_level(const struct rdef *d, double v, uint8_t cur)
{
    if (v > d->crit_above || v < d->crit_below)
        return LV_CRITICAL;
    if (cur == LV_CRITICAL && (v >= d->crit_clear_below || v <= d->crit_clear_above))
        return LV_CRITICAL;
    if (v > d->above || v < d->below)
        return d->severity;
    if (cur >= d->severity && (v >= d->clear_below || v <= d->clear_above))
        return d->severity;
    return LV_NONE;
}

/* Seconds-to-limit rules: rise below within, clear only past the margin. */
static uint8_t limit_level(const struct rdef *d, double predicted_s, uint8_t cur)
{
    if (predicted_s < d->crit_within_s ||
        (cur == LV_CRITICAL && predicted_s < d->crit_within_s * PREDICT_CLEAR_FACTOR))
        return LV_CRITICAL;
    if (predicted_s < d->within_s ||
        (cur >= d->severity && predicted_s < d->within_s * PREDICT_CLEAR_FACTOR))
        return d->severity;
    return LV_NONE;
}

static uint8_t rate_level(const struct rdef *d, const struct rsensor *s, uint8_t cur)
{
    double slope, now;
    if (vg_trend_fit(s->trend, d->window_ms, &slope, &now))
        return cur; /* too few samples decide nothing */
    double per_min = slope * 60 * (d->rate_per_min < 0 ? -1 : 1);
    double limit = fabs(d->rate_per_min);
    if (per_min >= limit || (cur && per_min >= limit * RATE_CLEAR_FACTOR))
        return d->severity;
    return LV_NONE;
}

/* Time until the threshold at the least-squares trend; INFINITY if the
 * trend points away, 0 if it is already reached. */
static uint8_t predict_level(const struct rdef *d, const struct rsensor *s, uint8_t cur,
                             float *predicted)
{
    double slope, now;
    if (vg_trend_fit(s->trend, d->window_ms, &slope, &now)) {
        *predicted = NAN;
        return cur;
    }
    double dir = d->falling ? -1 : 1;
    double gap = (d->threshold - now) * dir, speed = slope * dir;
    if (gap <= 0 || (d->threshold - s->value) * dir <= 0) {
        /* reached: the threshold's own rule speaks now. A forecast raised
         * before stays as it was; none is raised after the fact ("reaches
         * 32 degC in 0 s" beside the alert that it did). */
        *predicted = 0;
        return cur;
    }
    double pred = speed > 0 ? gap / speed : INFINITY;
    *predicted = (float)pred;
    return limit_level(d, pred, cur);
}

/* Fuel hours: litres (or % x tank) over the burn at the current load,
 * burn = full x (idle + (1 - idle) x load); no fresh load reading counts
 * as full load, the conservative guess. */
static uint8_t fuel_level(const vg_rules_t *r, const struct rdef *d, const struct rsensor *s,
                          uint8_t cur, float *predicted)
{
    double litres = isnan(d->tank_litres) ? s->value : s->value / 100 * d->tank_litres;
    double load = 1;
    if (d->load_sensor >= 0) {
        const struct rsensor *ls = &r->sensors[d->load_sensor];
        if (ls->has_data && !ls->stale)
            load = fmin(fmax(ls->value / 100, 0), 1);
    }
    double burn_lph = d->burn_lph_full * (d->idle_fraction + (1 - d->idle_fraction) * load);
    double pred = burn_lph > 0 ? fmax(litres, 0) / burn_lph * 3600 : INFINITY;
    *predicted = (float)pred;
    return limit_level(d, pred, cur);
}

static uint8_t composite_level(const vg_rules_t *r, const struct rdef *d,
                               const struct rinst *in)
{
    int site = vg_rules_scope_site(r, in), zone = vg_rules_scope_zone(r, in);
    int n_firing = 0;
    for (int i = 0; i < d->n_children; i++)
        n_firing += firing_in(r, &d->children[i], site, zone);
    int on = d->op == OP_ALL ? n_firing == d->n_children && d->n_children : n_firing > 0;
    return on ? d->severity : LV_NONE;
}

static uint8_t sensor_level(const vg_rules_t *r, const struct rdef *d, struct rinst *in,
                            const struct rsensor *s)
{
    double v = s->value;
    switch (d->op) {
    case OP_BAND:
        return band_level(d, v, in->level);
    case OP_EQUALS:
        return fabs(v - d->equals) < 1e-9 ? d->severity : LV_NONE;
    case OP_BITS: {
        uint32_t bits = v >= 0 && v < 4294967296.0 ? (uint32_t)v : 0;
        return bits & d->crit_bits ? LV_CRITICAL : bits & d->bits ? d->severity : LV_NONE;
    }
    case OP_RATE:
        return rate_level(d, s, in->level);
    case OP_PREDICT:
        return predict_level(d, s, in->level, &in->predicted_s);
    case OP_FUEL:
        return fuel_level(r, d, s, in->level, &in->predicted_s);
    }
    return in->level;
}

/* The hold time delays every rise; falls are immediate. */
static uint8_t hold(const struct rdef *d, struct rinst *in, uint8_t target, int64_t t)
{
    if (target <= in->level || !d->hold_ms) {
        in->pending = 0;
        return target;
    }
    if (!in->pending)
        in->pending_since_ms = t;
    in->pending = target;
    if (t - in->pending_since_ms < d->hold_ms)
        return in->level;
    in->pending = 0;
    return target;
}

/* ---- settling and reporting ---- */

static uint8_t shown_state(const vg_rules_t *r, const struct rinst *in)
{
    if (in->sensor >= 0 && r->sensors[in->sensor].stale)
        return ST_STALE;
    if (in->level == LV_NONE)
        return ST_OK;
    if (in->level >= LV_WARNING && vg_rules_firing_parent(r, in) >= 0)
        return ST_SUPPRESSED;
    return in->level;
}

struct sink {
    vg_rule_change_fn fn;
    void *ctx;
    int64_t time_ms;
};

static void settle(vg_rules_t *r, int idx, uint8_t level, const struct sink *out);

/* What ends the state in is in, as `vigil alerts` shows it: a band's
 * hysteresis edge, a forecast's margin, a stale sensor's fresh reading.
 * NULL when it is not a warning or critical state. */
static const char *clears_text(const vg_rules_t *r, const struct rinst *in, char *buf, size_t len)
{
    const struct rdef *d = &r->defs[in->def];
    if (in->state == ST_STALE)
        return "a fresh reading (the sensor is stale; stale never clears an alert)";
    if (in->state != LV_WARNING && in->state != LV_CRITICAL)
        return NULL;
    int crit = in->level == LV_CRITICAL;
    switch (d->op) {
    case OP_BAND: {
        /* a two-level rule's critical edges, else its own (a rule whose one
         * level is critical keeps it in above/below) */
        int two = crit && (isfinite(d->crit_above) || isfinite(d->crit_below));
        double lo = two ? d->crit_clear_below : d->clear_below;
        double hi = two ? d->crit_clear_above : d->clear_above;
        int has_lo = isfinite(lo) && isfinite(two ? d->crit_above : d->above);
        int has_hi = isfinite(hi) && isfinite(two ? d->crit_below : d->below);
        if (has_lo && has_hi)
            snprintf(buf, len, "a reading between %g and %g", hi, lo);
        else if (has_lo)
            snprintf(buf, len, "a reading below %g", lo);
        else if (has_hi)
            snprintf(buf, len, "a reading above %g", hi);
        else
            snprintf(buf, len, "a reading back in its band");
        break;
    }
    case OP_EQUALS:
        snprintf(buf, len, "a reading other than %g", d->equals);
        break;
    case OP_BITS:
        snprintf(buf, len, "the alarm bits clearing");
        break;
    case OP_RATE:
        snprintf(buf, len, "a change slower than %g per minute", fabs(d->rate_per_min) * RATE_CLEAR_FACTOR);
        break;
    case OP_PREDICT:
    case OP_FUEL: {
        double within = crit && isfinite(d->crit_within_s) ? d->crit_within_s : d->within_s;
        double s = within * PREDICT_CLEAR_FACTOR;
        if (d->op == OP_FUEL)
            snprintf(buf, len, "more than %.1f h of fuel at the current load", s / 3600);
        else
            snprintf(buf, len, "a forecast more than %.0f min away (the trend turning)", s / 60);
        break;
    }
    default:
        snprintf(buf, len, "its conditions clearing");
    }
    return buf;
}

static void emit(vg_rules_t *r, struct rinst *in, uint8_t from, const struct sink *out)
{
    if (!out->fn)
        return;
    const struct rdef *d = &r->defs[in->def];
    const struct rsensor *s = in->sensor >= 0 ? &r->sensors[in->sensor] : NULL;
    struct vg_rule_change change = {
        .id = vg_rules_render_id(r, in, r->id_buf, sizeof r->id_buf),
        .rule = d->name,
        .sensor = s ? s->name : NULL,
        .from = vg_rules_state_names[from],
        .to = vg_rules_state_names[in->state],
        .message = vg_rules_render_message(r, in, r->msg_buf, sizeof r->msg_buf),
        .value = s && s->has_data ? s->value : NAN,
        .time_ms = out->time_ms,
        .predicted_s = in->predicted_s,
        .firing = in->level != LV_NONE,
        .clears = clears_text(r, in, r->clears_buf, sizeof r->clears_buf),
    };
    out->fn(out->ctx, &change);
}

/* Re-settles the instances of the definitions that depend on def, in the
 * scope of the instance that moved (others cannot have changed). */
static void propagate(vg_rules_t *r, const struct rinst *moved, const struct sink *out)
{
    const struct rdef *d = &r->defs[moved->def];
    int site = vg_rules_scope_site(r, moved);
    for (int k = 0; k < d->n_dependants; k++) {
        const struct rdef *dep = &r->defs[d->dependants[k]];
        for (int i = 0; i < dep->n_insts; i++) {
            struct rinst *in = &r->insts[dep->insts[i]];
            int in_site = vg_rules_scope_site(r, in);
            if (site >= 0 && in_site >= 0 && in_site != site)
                continue;
            uint8_t level = in->level;
            if (dep->op == OP_ALL || dep->op == OP_ANY)
                level = hold(dep, in, composite_level(r, dep, in), out->time_ms);
            settle(r, dep->insts[i], level, out);
        }
    }
}

static void settle(vg_rules_t *r, int idx, uint8_t level, const struct sink *out)
{
    struct rinst *in = &r->insts[idx];
    int was_firing = in->level != LV_NONE, firing = level != LV_NONE;
    in->level = level;
    if (was_firing != firing)
        vg_rules_count(r, in, firing ? 1 : -1);
    uint8_t state = shown_state(r, in);
    if (state != in->state) {
        uint8_t from = in->state;
        in->state = state;
        in->since_ms = out->time_ms;
        emit(r, in, from, out);
    }
    if (was_firing != firing)
        propagate(r, in, out);
}

/* ---- the entry points ---- */

void vg_rules_reading(vg_rules_t *r, int sensor_idx, int64_t time_ms, double value,
                      vg_rule_change_fn fn, void *ctx)
{
    if (sensor_idx < 0 || sensor_idx >= r->n_sensors || isnan(value))
        return;
    struct rsensor *s = &r->sensors[sensor_idx];
    if (s->has_data && time_ms < s->last_ms)
        return; /* late: a newer reading already decided */
    int was_stale = s->stale;
    s->value = value;
    s->last_ms = time_ms;
    s->has_data = 1;
    /* a backfill or a spool delivered late is evaluated, but old data does
     * not make a sensor fresh (or its instances flap fresh/stale per tick) */
    s->stale = r->now_ms && r->now_ms - time_ms >= s->stale_after_ms;
    if (s->trend)
        vg_trend_push(s->trend, time_ms, value);
    struct sink out = {fn, ctx, time_ms};
    for (int i = s->first_inst, end = s->first_inst + s->n_insts; i < end; i++) {
        struct rinst *in = &r->insts[i];
        const struct rdef *d = &r->defs[in->def];
        uint8_t level = hold(d, in, sensor_level(r, d, in, s), time_ms);
        if (level != in->level || was_stale != s->stale)
            settle(r, i, level, &out);
    }
}

static void go_stale(vg_rules_t *r, struct rsensor *s, const struct sink *out)
{
    s->stale = 1;
    for (int i = s->first_inst; i < s->first_inst + s->n_insts; i++) {
        r->insts[i].pending = 0; /* old data raises nothing */
        settle(r, i, r->insts[i].level, out);
    }
}

void vg_rules_tick(vg_rules_t *r, int64_t now_ms, vg_rule_change_fn fn, void *ctx)
{
    struct sink out = {fn, ctx, now_ms};
    if (now_ms > r->now_ms)
        r->now_ms = now_ms;
    for (int i = 0; i < r->n_sensors; i++) {
        struct rsensor *s = &r->sensors[i];
        if (s->stale)
            continue;
        if (!s->has_data && !s->expected) { /* the clock for "no data" starts now */
            s->expected = 1;
            s->last_ms = now_ms;
        }
        if (now_ms - s->last_ms >= s->stale_after_ms)
            go_stale(r, s, &out);
    }
    for (int i = 0; i < r->n_insts; i++) {
        struct rinst *in = &r->insts[i];
        if (!in->pending || (in->sensor >= 0 && r->sensors[in->sensor].stale))
            continue;
        const struct rdef *d = &r->defs[in->def];
        if (now_ms - in->pending_since_ms >= d->hold_ms) {
            uint8_t level = in->pending;
            in->pending = 0;
            settle(r, i, level, &out);
        }
    }
}

void vg_rules_device(vg_rules_t *r, const char *device, int up, int64_t time_ms,
                     vg_rule_change_fn fn, void *ctx)
{
    int dev = vg_strmap_get(r->device_map, device);
    if (dev < 0)
        return;
    struct sink out = {fn, ctx, time_ms};
    if (!up)
        for (int i = 0; i < r->n_sensors; i++)
            if (r->sensors[i].device == dev && !r->sensors[i].stale)
                go_stale(r, &r->sensors[i], &out);
    int idx = r->devices[dev].inst;
    settle(r, idx, up ? LV_NONE : r->defs[r->insts[idx].def].severity, &out);
}

/*
 * protect_decide.c - conditions and guard rails of the protect service
 * (protect_decide.h). Pure: the same inputs give the same decision and
 * the same words, whichever member computes it.
 *
 * Alert facts are scanned once per site into the earliest time each
 * ingredient has held; a condition holds since the latest of the
 * ingredients it needs (smoke AND VESDA) and the earliest of its
 * alternatives (smoke AND VESDA, OR gas). A flapping sensor therefore
 * restarts the hold: each new raise is a new alert with a new time.
 */
#include "protect/protect_decide.h"

#include <math.h>

enum ingredient {
    IG_SMOKE,
    IG_VESDA,
    IG_GAS,
    IG_WATER,
    IG_MAINS,
    IG_GEN_STOPPED,
    IG_GEN_COMPOSITE,
    IG_FUEL,
    IG_UPS_LB,
    IG_UPS_OB,
    IG_UPS_LOW,
    IG_HEAT,
    IG__COUNT
};

struct facts {
    int64_t since[IG__COUNT]; /* 0: not holding */
    char who[IG__COUNT][96];  /* the alert's sensor (or id) that holds earliest */
};

static const char *const cond_names[VG_PROTECT__NCOND] = {"fire", "water", "power", "ups",
                                                          "heat"};

const char *vg_protect_cond_name(enum vg_protect_cond c)
{
    return (unsigned)c < VG_PROTECT__NCOND ? cond_names[c] : "?";
}

const char *vg_protect_action_name(enum vg_protect_action a)
{
    static const char *const names[] = {"off", "calm", "holding", "switchover", "declined"};
    return (unsigned)a < VG_ARRAY_LEN(names) ? names[a] : "?";
}

/* ---- the policy ---- */

static int bool_of(const json_t *spec, const char *key, int dflt)
{
    const json_t *v = json_object_get(spec, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static double num_of(const json_t *spec, const char *key, double dflt)
{
    const json_t *v = json_object_get(spec, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

void vg_protect_policy_parse(const json_t *obj, struct vg_protect_policy *p)
{
    const json_t *spec = json_object_get(obj, "spec");
    const char *name = json_string_value(json_object_get(obj, "name"));
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name ? name : "(defaults)");
    p->enabled = bool_of(spec, "enabled", 1);
    p->on[VG_PROTECT_FIRE] = bool_of(spec, "fire", 1);
    p->on[VG_PROTECT_WATER] = bool_of(spec, "water", 1);
    p->on[VG_PROTECT_POWER] = bool_of(spec, "power", 1);
    p->on[VG_PROTECT_UPS] = bool_of(spec, "ups", 1);
    p->on[VG_PROTECT_HEAT] = bool_of(spec, "heat", 1);
    p->fuel_below_h = num_of(spec, "fuel_below_hours", VG_PROTECT_FUEL_HOURS);
    p->ups_below_min = num_of(spec, "ups_below_minutes", VG_PROTECT_UPS_MINUTES);
    p->heat_within_min = num_of(spec, "heat_within_minutes", VG_PROTECT_HEAT_MINUTES);
    p->hold_ms = (int64_t)(num_of(spec, "hold_s", VG_PROTECT_HOLD_S) * 1000);
    p->cooldown_ms = (int64_t)(num_of(spec, "cooldown_s", VG_PROTECT_COOLDOWN_S) * 1000);
    const json_t *ignore = json_object_get(spec, "mirror_ignore_rules");
    if (!json_is_array(ignore)) {
        snprintf(p->ignore[0], sizeof p->ignore[0], "door-forced");
        p->n_ignore = 1;
        return;
    }
    for (size_t i = 0; i < json_array_size(ignore) && p->n_ignore < VG_PROTECT_IGNORE_MAX; i++)
        if (json_is_string(json_array_get(ignore, i)))
            snprintf(p->ignore[p->n_ignore++], sizeof p->ignore[0], "%s",
                     json_string_value(json_array_get(ignore, i)));
}

/* ---- where an alert is ---- */

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The part of "RULE/X" after the first '/', or NULL. */
static const char *id_subject(const char *id)
{
    const char *slash = id ? strchr(id, '/') : NULL;
    return slash ? slash + 1 : NULL;
}

const char *vg_protect_alert_site(const struct vg_protect_places *pl, const char *id,
                                  const json_t *fact)
{
    const char *sensor = str_of(fact, "sensor"), *rule = str_of(fact, "rule");
    if (sensor)
        return str_of(pl->sensor_site, sensor);
    const char *subject = id_subject(id);
    if (!rule || !subject)
        return NULL;
    if (!strcmp(rule, "mains-lost-generator-not-running")) /* a pack composite: RULE/SITE */
        return subject;
    if (!strcmp(rule, "device-unreachable"))
        return str_of(pl->device_site, subject);
    return NULL;
}

/* ---- one site's facts ---- */

static void take(struct facts *f, enum ingredient ig, int64_t since, int64_t now,
                 const char *who)
{
    if (since > now)
        return; /* a prediction that does not hold yet */
    if (since < 1)
        since = 1;
    if (f->since[ig] && f->since[ig] <= since)
        return;
    f->since[ig] = since;
    snprintf(f->who[ig], sizeof f->who[ig], "%s", who);
}

/* When "less than limit_ms left" began to hold for a figure of left_ms
 * recorded at time_ms that counts down in real time. */
static int64_t crossing(int64_t time_ms, double left_ms, double limit_ms)
{
    if (!isfinite(left_ms) || left_ms <= limit_ms)
        return time_ms;
    return time_ms + (int64_t)(left_ms - limit_ms);
}

static int is_to(const char *to, const char *want)
{
    return to && !strcmp(to, want);
}

/* warning or critical */
static int is_alerting(const char *to)
{
    return is_to(to, "warning") || is_to(to, "critical");
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static void fact_in(const struct vg_protect_policy *p, const struct vg_protect_places *pl,
                    const char *id, const json_t *fact, int64_t now, struct facts *f)
{
    const char *rule = str_of(fact, "rule"), *to = str_of(fact, "to");
    const char *sensor = str_of(fact, "sensor");
    const char *who = sensor ? sensor : id;
    int64_t t = json_integer_value(json_object_get(fact, "time"));
    const json_t *value = json_object_get(fact, "value");
    const json_t *predicted = json_object_get(fact, "predicted_s");
    double v = json_is_number(value) ? json_number_value(value) : NAN;
    double pred_ms = json_is_number(predicted) ? json_number_value(predicted) * 1000 : NAN;
    if (!rule || !to)
        return;
    int crit = is_to(to, "critical");
    if (!strcmp(rule, "smoke") && crit)
        take(f, IG_SMOKE, t, now, who);
    else if (!strcmp(rule, "vesda-alarm") && crit)
        take(f, IG_VESDA, t, now, who);
    else if (!strcmp(rule, "gas-discharged") && crit)
        take(f, IG_GAS, t, now, who);
    else if (!strcmp(rule, "water-leak") && crit && sensor &&
             json_is_true(json_object_get(pl->sensor_room, sensor)))
        take(f, IG_WATER, t, now, who);
    else if (!strcmp(rule, "mains-lost") && crit)
        take(f, IG_MAINS, t, now, who);
    else if (!strcmp(rule, "generator-not-running") && strcmp(to, "ok") && strcmp(to, "stale"))
        take(f, IG_GEN_STOPPED, t, now, who);
    else if (!strcmp(rule, "mains-lost-generator-not-running") && crit)
        take(f, IG_GEN_COMPOSITE, t, now, who);
    else if (!strcmp(rule, "generator-fuel-hours") && is_alerting(to) && isfinite(pred_ms))
        take(f, IG_FUEL, crossing(t, pred_ms, p->fuel_below_h * 3600000.0), now, who);
    else if (!strcmp(rule, "ups-on-battery") && crit)
        take(f, IG_UPS_LB, t, now, who);
    else if (!strcmp(rule, "ups-on-battery") && is_to(to, "warning"))
        take(f, IG_UPS_OB, t, now, who);
    else if (!strcmp(rule, "ups-runtime-low") && is_alerting(to) && isfinite(v))
        take(f, IG_UPS_LOW, crossing(t, v * 1000, p->ups_below_min * 60000.0), now, who);
    else if (!strncmp(rule, "ashrae-a", 8) && ends_with(rule, "-forecast") && crit &&
             isfinite(pred_ms))
        take(f, IG_HEAT, crossing(t, pred_ms, p->heat_within_min * 60000.0), now, who);
    else if (!strncmp(rule, "ashrae-a", 8) && ends_with(rule, "-inlet") && crit && v > 27.0)
        take(f, IG_HEAT, t, now, who); /* past the allowable maximum (hot side) already */
}

static void scan(const struct vg_protect_policy *p, const json_t *alerts,
                 const struct vg_protect_places *pl, const char *site, int64_t now,
                 struct facts *f)
{
    memset(f, 0, sizeof *f);
    const char *id;
    json_t *fact;
    json_object_foreach((json_t *)alerts, id, fact)
    {
        const char *at = vg_protect_alert_site(pl, id, fact);
        if (at && !strcmp(at, site))
            fact_in(p, pl, id, fact, now, f);
    }
}

/* ---- conditions ---- */

static int64_t both(int64_t a, int64_t b)
{
    return a && b ? (a > b ? a : b) : 0;
}

static int64_t either(int64_t a, int64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

/* When cond has held since at these facts (0: it does not hold), and what. */
static int64_t cond_since(const struct facts *f, enum vg_protect_cond c, char *what,
                          size_t whatlen)
{
    const int64_t *s = f->since;
    int64_t confirmed = both(s[IG_SMOKE], s[IG_VESDA]), gen;
    switch (c) {
    case VG_PROTECT_FIRE:
        if (confirmed && (!s[IG_GAS] || confirmed <= s[IG_GAS]))
            snprintf(what, whatlen,
                     "smoke detector %s in alarm with VESDA %s at action/fire level",
                     f->who[IG_SMOKE], f->who[IG_VESDA]);
        else if (s[IG_GAS])
            snprintf(what, whatlen, "gas suppression discharged (%s)", f->who[IG_GAS]);
        return either(confirmed, s[IG_GAS]);
    case VG_PROTECT_WATER:
        snprintf(what, whatlen, "water detected by %s in a server room", f->who[IG_WATER]);
        return s[IG_WATER];
    case VG_PROTECT_POWER:
        gen = either(either(s[IG_GEN_STOPPED], s[IG_FUEL]), s[IG_GEN_COMPOSITE]);
        if (s[IG_GEN_COMPOSITE] && s[IG_GEN_COMPOSITE] == gen)
            snprintf(what, whatlen, "mains lost and generator not running (%s)",
                     f->who[IG_GEN_COMPOSITE]);
        else if (s[IG_GEN_STOPPED] && s[IG_GEN_STOPPED] == gen)
            snprintf(what, whatlen, "mains lost (%s) and generator not running (%s)",
                     f->who[IG_MAINS], f->who[IG_GEN_STOPPED]);
        else
            snprintf(what, whatlen, "mains lost (%s) and generator fuel low (%s)",
                     f->who[IG_MAINS], f->who[IG_FUEL]);
        return s[IG_GEN_COMPOSITE] ? either(s[IG_GEN_COMPOSITE], both(s[IG_MAINS], gen))
                                   : both(s[IG_MAINS], gen);
    case VG_PROTECT_UPS:
        if (s[IG_UPS_LB])
            snprintf(what, whatlen, "UPS battery low (%s)", f->who[IG_UPS_LB]);
        else
            snprintf(what, whatlen, "UPS on battery (%s) with little runtime left (%s)",
                     f->who[IG_UPS_OB], f->who[IG_UPS_LOW]);
        return either(s[IG_UPS_LB], both(s[IG_UPS_OB], s[IG_UPS_LOW]));
    case VG_PROTECT_HEAT:
        snprintf(what, whatlen, "inlet temperature at %s reaches the allowable maximum soon",
                 f->who[IG_HEAT]);
        return s[IG_HEAT];
    default:
        return 0;
    }
}

int vg_protect_condition(const struct vg_protect_policy *p, const json_t *alerts,
                         const struct vg_protect_places *pl, const char *site, int64_t now_ms,
                         struct vg_protect_hit *hit)
{
    struct facts f;
    int found = 0;
    scan(p, alerts, pl, site, now_ms, &f);
    for (int c = 0; c < VG_PROTECT__NCOND; c++) {
        char what[sizeof hit->detail];
        int64_t since =
            p->on[c] ? cond_since(&f, (enum vg_protect_cond)c, what, sizeof what) : 0;
        if (!since || (found && since >= hit->since_ms))
            continue;
        hit->cond = (enum vg_protect_cond)c;
        hit->since_ms = since;
        snprintf(hit->detail, sizeof hit->detail, "%s", what);
        found = 1;
    }
    return found;
}

int vg_protect_site_critical(const struct vg_protect_policy *p, const json_t *alerts,
                             const struct vg_protect_places *pl, const char *site, char *what,
                             size_t whatlen)
{
    const char *id;
    json_t *fact;
    json_object_foreach((json_t *)alerts, id, fact)
    {
        const char *rule = str_of(fact, "rule"), *at = vg_protect_alert_site(pl, id, fact);
        int ignored = 0;
        if (!is_to(str_of(fact, "to"), "critical") || !at || strcmp(at, site))
            continue;
        for (size_t i = 0; rule && i < p->n_ignore; i++)
            ignored |= !strcmp(rule, p->ignore[i]);
        if (ignored)
            continue;
        snprintf(what, whatlen, "%s", id);
        return 1;
    }
    return 0;
}

/* ---- the decision ---- */

/* Appends "; " and a formatted clause to out. */
static void clause(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void clause(char *out, size_t outlen, const char *fmt, ...)
{
    size_t used = strlen(out);
    if (used + 3 >= outlen)
        return;
    if (used)
        used += (size_t)snprintf(out + used, outlen - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, outlen - used, fmt, ap);
    va_end(ap);
}

/* The guard rails, every one that says no, the first one's code. */
static const char *guards(const struct vg_protect_in *in, char *why, size_t whylen)
{
    const struct vg_protect_policy *p = in->policy;
    const char *code = NULL;
    char what[160];
    why[0] = '\0';
    if (in->frozen) {
        const char *by = str_of(in->frozen, "by"), *reason = str_of(in->frozen, "reason");
        clause(why, whylen, "automatic switchover is frozen by %s: %s", by ? by : "?",
               reason ? reason : "");
        code = "frozen";
    }
    if (in->last_switchover_ms && in->now_ms - in->last_switchover_ms < p->cooldown_ms) {
        clause(why, whylen,
               "cooldown: the primary role moved %lld s ago, and for %lld s after that only "
               "an operator moves it",
               (long long)((in->now_ms - in->last_switchover_ms) / 1000),
               (long long)(p->cooldown_ms / 1000));
        code = code ? code : "cooldown";
    }
    if (!in->peer_in_sync) {
        clause(why, whylen, "%s is not an in-sync mirror: a switchover could lose data",
               in->peer);
        code = code ? code : "mirror-not-in-sync";
    }
    if (!in->peer_site) {
        clause(why, whylen,
               "the site of %s is unknown (name it in the policy's spec.member_sites)",
               in->peer);
        code = code ? code : "mirror-site-unknown";
    } else if (vg_protect_site_critical(p, in->alerts, &in->places, in->peer_site, what,
                                        sizeof what)) {
        clause(why, whylen, "the mirror's site %s has a critical condition itself (%s)",
               in->peer_site, what);
        code = code ? code : "mirror-site-critical";
    }
    return code;
}

void vg_protect_decide(const struct vg_protect_in *in, struct vg_protect_decision *out)
{
    const struct vg_protect_policy *p = in->policy;
    memset(out, 0, sizeof *out);
    out->action = VG_PROTECT_OFF;
    if (!p) {
        snprintf(out->reason, sizeof out->reason, "no FailoverPolicy covers site %s",
                 in->site ? in->site : "?");
        return;
    }
    if (!p->enabled) {
        snprintf(out->reason, sizeof out->reason, "FailoverPolicy %s is disabled", p->name);
        return;
    }
    if (!in->peer || !in->site) {
        snprintf(out->reason, sizeof out->reason, "standalone: there is no other site");
        return;
    }
    out->action = VG_PROTECT_CALM;
    if (!vg_protect_condition(p, in->alerts, &in->places, in->site, in->now_ms, &out->hit)) {
        snprintf(out->reason, sizeof out->reason,
                 "no condition of FailoverPolicy %s holds at %s", p->name, in->site);
        return;
    }
    int64_t from =
        out->hit.since_ms > in->acting_since_ms ? out->hit.since_ms : in->acting_since_ms;
    double held_s = (double)(in->now_ms - from) / 1000.0;
    const char *cond = vg_protect_cond_name(out->hit.cond);
    if (in->now_ms - from < p->hold_ms) {
        out->action = VG_PROTECT_HOLDING;
        snprintf(out->reason, sizeof out->reason, "%s at %s (%s), held %.1f s of %.1f s", cond,
                 in->site, out->hit.detail, held_s < 0 ? 0.0 : held_s,
                 (double)p->hold_ms / 1000.0);
        return;
    }
    char why[512];
    out->code = guards(in, why, sizeof why);
    out->action = out->code ? VG_PROTECT_DECLINE : VG_PROTECT_SWITCH;
    if (out->code)
        snprintf(out->reason, sizeof out->reason,
                 "%s at %s (%s) for %.1f s: switchover to %s declined: %s", cond, in->site,
                 out->hit.detail, held_s, in->peer, why);
    else
        snprintf(out->reason, sizeof out->reason,
                 "%s at %s (%s) for %.1f s: planned switchover to %s (FailoverPolicy %s)", cond,
                 in->site, out->hit.detail, held_s, in->peer, p->name);
}

int vg_protect_is_news(const struct vg_protect_decision *d, const json_t *last)
{
    if (!last)
        return 1;
    const char *action = str_of(last, "decision"), *code = str_of(last, "code");
    const char *cond = str_of(last, "condition"), *site = str_of(last, "site");
    (void)site;
    return !action || strcmp(action, vg_protect_action_name(d->action)) ||
           strcmp(code ? code : "", d->code ? d->code : "") || !cond ||
           strcmp(cond, vg_protect_cond_name(d->hit.cond)) ||
           json_integer_value(json_object_get(last, "since")) != d->hit.since_ms;
}

const char *vg_protect_peer_site(const json_t *policy_obj, const json_t *sites,
                                 const char *peer, const char *own_site)
{
    const json_t *spec = json_object_get(policy_obj, "spec");
    const char *named = str_of(json_object_get(spec, "member_sites"), peer);
    if (named)
        return named;
    size_t i;
    const json_t *site;
    const char *other = NULL;
    int n_other = 0;
    json_array_foreach(sites, i, site)
    {
        const char *name = str_of(site, "name");
        const char *role = str_of(json_object_get(site, "spec"), "role");
        if (!name)
            continue;
        if (peer && !strcmp(name, peer))
            return name;
        if ((own_site && !strcmp(name, own_site)) || (role && !strcmp(role, "witness")))
            continue;
        other = name;
        n_other++;
    }
    return n_other == 1 ? other : NULL;
}

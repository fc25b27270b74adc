/*
 * engine.c - what the acting primary does about incidents, every tick:
 *
 *  1. opens an incident for every rule instance in warning or critical and
 *     resolves it when the rule is ok again (a stale sensor is not ok: it
 *     never resolves one); opens and resolves incidents for cluster events
 *     (mirroring degraded/restored, witness lost/back, failovers);
 *  2. escalates every incident nobody acknowledged, step by step, round by
 *     round, as its policy says, from the times recorded in the log, so a
 *     new primary goes on exactly where the old one was;
 *  3. delivers every page whose time has come. The page's intent (its
 *     idempotency key) is in the log before it is sent, and its outcome
 *     after; a new primary sends again, with the same key, only what has no
 *     outcome yet;
 *  4. tells whoever was paged when an incident resolves.
 *
 * Every decision is made from the committed state; records in flight are
 * remembered (svc->inflight) only so one tick does not write twice what the
 * previous one already did.
 */
#include "incident/incident_int.h"

#include <math.h>
#include <time.h>

#include "core/say.h"
#include "monitor/alerts.h"
#include "oncall/schedule.h"
#include "store/record.h"
#include "protect/drill.h"
#include "protect/protect_data.h"
#include "training/training.h"

int64_t vg_incident_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vg_incident_submit(struct vg_incident_svc *svc, json_t *payload)
{
    int rc = vg_member_submit(svc->member, VG_REC_INCIDENT, payload, NULL, NULL, NULL);
    if (rc)
        vg_warn("cannot record an incident change (%s): %s",
                json_string_value(json_object_get(payload, "op")), strerror(-rc));
    return rc;
}

/* 1 while what was submitted and not yet seen applied; marks it if not. */
static int once(struct vg_incident_svc *svc, const char *what, int64_t now)
{
    json_t *until = json_object_get(svc->inflight, what);
    if (until && json_integer_value(until) > now)
        return 1;
    json_object_set_new(svc->inflight, what, json_integer(now + VG_INCIDENT_INFLIGHT_MS));
    return 0;
}

/* once() reads the deadline, so an expired entry only takes room: swept
 * once a second, not every tick (thousands are in flight under load). */
static void forget_expired(struct vg_incident_svc *svc, int64_t now)
{
    if (now - svc->swept_at < 1000)
        return;
    svc->swept_at = now;
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(svc->inflight, tmp, k, v)
    {
        if (json_integer_value(v) <= now)
            json_object_del(svc->inflight, k);
    }
}

static const char *s_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---- 1. incidents from rule states and cluster events ---- */

static void first_step(struct vg_incident_svc *svc, json_t *p, const char *policy, int64_t now);

void vg_incident_prepare_open(struct vg_incident_svc *svc, json_t *p, int64_t now)
{
    if (svc->dirty) {
        vg_directory_load(&svc->dir, vg_member_state(svc->member));
        svc->dirty = 0;
    }
    const char *site = s_of(p, "site");
    json_object_set_new(p, "op", json_string("open"));
    json_object_set_new(p, "time", json_integer(now));
    const char *policy =
        vg_directory_route(&svc->dir, s_of(p, "severity"), site, json_object_get(p, "labels"));
    if (policy) {
        json_object_set_new(p, "policy", json_string(policy));
        first_step(svc, p, policy, now);
    }
}

static void open_incident(struct vg_incident_svc *svc, json_t *p, int64_t now)
{
    vg_incident_prepare_open(svc, p, now);
    if (!vg_incident_submit(svc, p))
        svc->n_opened++;
}

static void resolve_incident(struct vg_incident_svc *svc, uint64_t id, const char *reason,
                             uint64_t event_index, int64_t now)
{
    json_t *p = json_pack("{s:s,s:I,s:s,s:s,s:I}", "op", "resolve", "id", (json_int_t)id, "by",
                          "vigil", "reason", reason, "time", now);
    if (event_index)
        json_object_set_new(p, "event_index", json_integer((json_int_t)event_index));
    if (!vg_incident_submit(svc, p))
        svc->n_resolved++;
    json_decref(p);
}

static void open_for_alert(struct vg_incident_svc *svc, const char *id, const json_t *ch,
                           int64_t now)
{
    const char *to = s_of(ch, "to"), *sensor = s_of(ch, "sensor"), *rule = s_of(ch, "rule");
    const char *zone = sensor ? s_of(svc->dir.sensor_zone, sensor) : NULL;
    const char *site = zone ? s_of(svc->dir.zone_site, zone) : NULL;
    char summary[512];
    if (s_of(ch, "message"))
        snprintf(summary, sizeof summary, "%s", s_of(ch, "message"));
    else
        snprintf(summary, sizeof summary, "%s: %s", id, to);
    char key[300];
    snprintf(key, sizeof key, "rule/%s", id);
    json_t *labels = json_object();
    if (rule)
        json_object_set_new(labels, "rule", json_string(rule));
    if (sensor)
        json_object_set_new(labels, "sensor", json_string(sensor));
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "key", key, "severity", to, "summary",
                          summary, "source", "rule", "ref", id, "labels", labels);
    if (site)
        json_object_set_new(p, "site", json_string(site));
    if (zone)
        json_object_set_new(p, "zone", json_string(zone));
    /* what the reading was: an outside contact's message may quote it */
    if (json_is_number(json_object_get(ch, "value")))
        json_object_set(p, "value", json_object_get(ch, "value"));
    if (json_is_number(json_object_get(ch, "predicted_s")))
        json_object_set(p, "predicted_s", json_object_get(ch, "predicted_s"));
    open_incident(svc, p, now);
    json_decref(p);
}

/* One alert instance against its incident: open (or re-severity) one for
 * a warning or critical state, resolve the open one once the rule is ok.
 * Stale and suppressed leave the incident as it is. */
static void alert_to_incident(struct vg_incident_svc *svc, const vg_state_t *st, const char *id,
                              int64_t now)
{
    const json_t *ch = json_object_get(vg_alerts_active(st), id);
    char key[300], what[320];
    snprintf(key, sizeof key, "rule/%s", id);
    uint64_t open = vg_incidents_open_id(st, key);
    if (!ch) { /* ok again */
        snprintf(what, sizeof what, "resolve/%llu", (unsigned long long)open);
        if (open && !once(svc, what, now))
            resolve_incident(svc, open, "the rule is ok again", 0, now);
        return;
    }
    const char *to = s_of(ch, "to");
    if (!to || (strcmp(to, "warning") && strcmp(to, "critical")))
        return;
    const char *sev = open ? s_of(vg_incidents_get(st, open), "severity") : NULL;
    if (open && sev && !strcmp(sev, to))
        return;
    snprintf(what, sizeof what, "open/%s/%s", key, to);
    if (!once(svc, what, now))
        open_for_alert(svc, id, ch, now);
}

/* Only the alerts that changed since the last tick (the alert log's
 * newest entries), and those an incident's change asks to look at again
 * (svc->alerts_recheck); every active alert and open rule incident only on
 * a rescan, when the log no longer reaches back, and every
 * ALERTS_FULL_EVERY_MS (a record lost in flight is retried). With hundreds
 * of alerts active a tick then costs what changed, not what is active. */
#define ALERTS_FULL_EVERY_MS 10000

static void from_alerts(struct vg_incident_svc *svc, const vg_state_t *st, int64_t now)
{
    json_t *active = vg_alerts_active(st), *log = vg_alerts_log(st);
    size_t n = json_array_size(log), k = n;
    uint64_t newest = n ? (uint64_t)json_integer_value(
                              json_object_get(json_array_get(log, n - 1), "index"))
                        : 0;
    while (k && (uint64_t)json_integer_value(json_object_get(json_array_get(log, k - 1),
                                                             "index")) > svc->alerts_seen)
        k--;
    int full = svc->alerts_full || now - svc->alerts_full_at >= ALERTS_FULL_EVERY_MS ||
               (k == 0 && n >= VG_ALERT_LOG_CAP); /* the log may have lost some */
    const char *id;
    json_t *v;
    if (full) {
        json_object_foreach(active, id, v) alert_to_incident(svc, st, id, now);
        json_object_foreach(svc->rule_open, id, v)
        {
            if (!json_object_get(active, json_string_value(v)))
                alert_to_incident(svc, st, json_string_value(v), now);
        }
        svc->alerts_full = 0;
        svc->alerts_full_at = now;
    } else {
        for (size_t i = k; i < n; i++) {
            const char *aid = s_of(json_array_get(log, i), "id");
            if (aid)
                alert_to_incident(svc, st, aid, now);
        }
        json_object_foreach(svc->alerts_recheck, id, v) alert_to_incident(svc, st, id, now);
    }
    json_object_clear(svc->alerts_recheck);
    svc->alerts_seen = newest;
}

/* What a cluster event means for incidents. */
struct event_rule {
    const char *kind;
    const char *key; /* "%llu" takes the epoch */
    const char *severity;
    int opens; /* else resolves key */
};

static const struct event_rule event_rules[] = {
    {"degraded", "cluster/mirroring", "critical", 1},
    {"restored", "cluster/mirroring", NULL, 0},
    {"witness_unreachable", "cluster/witness", "error", 1},
    {"witness_reachable", "cluster/witness", NULL, 0},
    {"failover", "cluster/failover-%llu", "critical", 1},
    {"forced", "cluster/failover-%llu", "critical", 1},
    {"switchover", "cluster/switchover-%llu", "info", 1},
};

/* A decision of the protect service (src/protect, docs/protect.md): one
 * incident per site, key "protect/SITE", which a later decision about the
 * same site re-triggers. A declined or failed switchover is critical (an
 * operator must decide); one taken is a warning (the site is in trouble,
 * the primary role left it). A freeze is an event only. */
static void on_protect_event(struct vg_incident_svc *svc, const json_t *ev, uint64_t index,
                             int64_t now)
{
    const char *kind = s_of(ev, "kind"), *site = s_of(ev, "site");
    int taken = !strcmp(kind, "protect_switchover");
    if (!site || (!taken && strcmp(kind, "protect_declined") && strcmp(kind, "protect_failed")))
        return;
    char key[96], what[160];
    snprintf(key, sizeof key, "protect/%s", site);
    snprintf(what, sizeof what, "open/%s/%llu", key, (unsigned long long)index);
    if (once(svc, what, now))
        return;
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:{s:s}}", "key", key, "severity",
                          taken ? "warning" : "critical", "summary",
                          s_of(ev, "message") ?: kind, "source", "protect", "site", site,
                          "event_index", (json_int_t)index, "labels", "event", kind);
    if (s_of(ev, "condition"))
        json_object_set(json_object_get(p, "labels"), "condition",
                        json_object_get(ev, "condition"));
    open_incident(svc, p, now);
    json_decref(p);
}

/* 0 when handled (or nothing to do), -EAGAIN to try the event again on the
 * next tick (what it resolves is still being opened). */
static int on_event(struct vg_incident_svc *svc, const vg_state_t *st, const json_t *ev,
                    int64_t now)
{
    const char *kind = s_of(ev, "kind");
    uint64_t index = (uint64_t)json_integer_value(json_object_get(ev, "index"));
    uint64_t epoch = (uint64_t)json_integer_value(json_object_get(ev, "epoch"));
    if (kind && !strncmp(kind, "protect_", 8)) {
        on_protect_event(svc, ev, index, now);
        return 0;
    }
    for (size_t i = 0; kind && i < VG_ARRAY_LEN(event_rules); i++) {
        const struct event_rule *r = &event_rules[i];
        if (strcmp(kind, r->kind))
            continue;
        char key[80], what[120];
        snprintf(key, sizeof key, r->key, (unsigned long long)epoch);
        snprintf(what, sizeof what, "open/%s/event", key);
        uint64_t open = vg_incidents_open_id(st, key);
        if (!r->opens) {
            json_t *pending = json_object_get(svc->inflight, what);
            if (!open && pending && json_integer_value(pending) > now)
                return -EAGAIN;
            if (open)
                resolve_incident(svc, open, s_of(ev, "message") ?: kind, index, now);
            return 0;
        }
        if (open)
            return 0;
        once(svc, what, now);
        json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:s}}", "key", key, "severity",
                              r->severity, "summary", s_of(ev, "message") ?: kind, "source",
                              "cluster", "event_index", (json_int_t)index, "labels", "event",
                              kind);
        if (s_of(ev, "member"))
            json_object_set(p, "member", json_object_get(ev, "member"));
        open_incident(svc, p, now);
        json_decref(p);
        return 0;
    }
    return 0;
}

static void from_events(struct vg_incident_svc *svc, const vg_state_t *st, int64_t now)
{
    uint64_t cursor = vg_incidents_event_cursor(st);
    if (svc->events_seen < cursor)
        svc->events_seen = cursor;
    size_t i;
    json_t *ev;
    json_array_foreach(vg_state_events(st), i, ev)
    {
        uint64_t index = (uint64_t)json_integer_value(json_object_get(ev, "index"));
        if (index <= svc->events_seen)
            continue;
        if (on_event(svc, st, ev, now) == -EAGAIN)
            return;
        svc->events_seen = index;
    }
}

/* A planned switchover is news, not a problem: resolved once recorded. */
static void settle_switchover(struct vg_incident_svc *svc, const json_t *inc, int64_t now)
{
    char what[64];
    if (!strcmp(s_of(inc, "status"), "resolved") ||
        strncmp(s_of(inc, "key"), "cluster/switchover-", 19))
        return;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(inc, "id"));
    snprintf(what, sizeof what, "resolve/%llu", (unsigned long long)id);
    if (!once(svc, what, now))
        resolve_incident(svc, id, "planned switchover completed", 0, now);
}

/* Overdue security training: a warning incident per person and course,
 * paged to the person's manager (no policy), resolved once a completion
 * is recorded. Looked at every TRAINING_EVERY_MS, not every tick. */
#define TRAINING_EVERY_MS 10000

static json_t *list_of(const vg_state_t *st, const char *kind)
{
    json_t *items = NULL;
    char err[128];
    if (vg_state_list_unredacted(st, kind, NULL, &items, err, sizeof err))
        return json_array();
    return items;
}

static void open_training(struct vg_incident_svc *svc, const json_t *it, const char *key,
                          int64_t now)
{
    const char *person = s_of(it, "person"), *manager = s_of(it, "manager");
    char summary[512];
    snprintf(summary, sizeof summary, "%s's training '%s' is overdue (due %s)", person,
             s_of(it, "title") ? s_of(it, "title") : s_of(it, "course"),
             s_of(it, "due_on") ? s_of(it, "due_on") : "?");
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:I}", "op", "open", "key", key,
                          "severity", "warning", "summary", summary, "source", "training",
                          "labels", "person", person, "course", s_of(it, "course"), "time", now);
    if (manager)
        json_object_set_new(p, "direct", json_string(manager));
    if (!vg_incident_submit(svc, p))
        svc->n_opened++;
    json_decref(p);
}

static void from_training(struct vg_incident_svc *svc, const vg_state_t *st, int64_t now)
{
    if (now - svc->training_at < TRAINING_EVERY_MS * svc->minute_ms / 60000)
        return;
    svc->training_at = now;
    json_t *courses = list_of(st, "Course");
    if (!json_array_size(courses) && !json_object_size(svc->training_open)) {
        json_decref(courses); /* no course, nothing to resolve: copy no one (a tick's stall) */
        return;
    }
    json_t *done = list_of(st, "Completion");
    json_t *people = list_of(st, "Person"), *teams = list_of(st, "Team"), *items = NULL;
    json_t *overdue = json_object();
    if (json_array_size(courses) &&
        !vg_training_status(courses, done, people, teams, now, &items)) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            char key[200], what[240];
            if (strcmp(s_of(it, "status") ?: "", "overdue"))
                continue;
            snprintf(key, sizeof key, "training/%s/%s", s_of(it, "person"), s_of(it, "course"));
            json_object_set_new(overdue, key, json_true());
            snprintf(what, sizeof what, "open/%s", key);
            if (!vg_incidents_open_id(st, key) && !once(svc, what, now))
                open_training(svc, it, key, now);
        }
    }
    const char *id;
    json_t *key;
    json_object_foreach(svc->training_open, id, key)
    {
        char what[64];
        if (json_object_get(overdue, json_string_value(key)))
            continue;
        snprintf(what, sizeof what, "resolve/%s", id);
        if (!once(svc, what, now))
            resolve_incident(svc, strtoull(id, NULL, 10), "the training is completed", 0, now);
    }
    json_decref(overdue);
    json_decref(items);
    json_decref(courses);
    json_decref(done);
    json_decref(people);
    json_decref(teams);
}

/* An overdue DR drill (docs/protect.md, "Drills"): a FailoverPolicy's
 * drill_every_days says how old the last passed drill may be; past that,
 * one warning incident, key drill/overdue, resolved when a drill passes.
 * Without any passed drill the interval counts from the policy's creation.
 * Looked at every DRILLS_EVERY_MS. */
#define DRILLS_EVERY_MS 1000
#define DAY_MS          86400000.0

static int64_t last_passed_drill(const vg_state_t *st)
{
    const json_t *drills = vg_protect_drills(st);
    int64_t at = 0;
    size_t i;
    const json_t *d;
    json_array_foreach(drills, i, d)
    {
        int64_t ended = (int64_t)json_integer_value(json_object_get(d, "ended"));
        if (!strcmp(s_of(d, "state") ?: "", "passed") && ended > at)
            at = ended;
    }
    return at;
}

/* The shortest drill interval of the policies (ms) and the policy naming
 * it (*policy: new ref, or NULL); 0 when none asks for drills. */
static int64_t drill_interval(const vg_state_t *st, json_t **policy)
{
    json_t *policies = list_of(st, "FailoverPolicy");
    int64_t every = 0;
    size_t i;
    json_t *o;
    json_array_foreach(policies, i, o)
    {
        const json_t *v = json_object_get(json_object_get(o, "spec"), "drill_every_days");
        int64_t ms = json_is_number(v) ? (int64_t)(json_number_value(v) * DAY_MS) : 0;
        if (ms > 0 && (!every || ms < every)) {
            every = ms;
            json_decref(*policy);
            *policy = json_incref(o);
        }
    }
    json_decref(policies);
    return every;
}

static void from_drills(struct vg_incident_svc *svc, const vg_state_t *st, int64_t now)
{
    if (now - svc->drills_at < DRILLS_EVERY_MS)
        return;
    svc->drills_at = now;
    json_t *policy = NULL;
    int64_t every = drill_interval(st, &policy);
    int64_t last = last_passed_drill(st);
    int64_t since = last ? last : vg_drill_event_ms(s_of(policy, "created"));
    uint64_t open = vg_incidents_open_id(st, "drill/overdue");
    int overdue = every && since && now - since > every;
    if (overdue && !open && !once(svc, "open/drill/overdue", now)) {
        char summary[300];
        snprintf(summary, sizeof summary,
                 "DR drill overdue: %s %.2f days ago, FailoverPolicy %s asks for one every "
                 "%.2f days",
                 last ? "the last passed drill ended" : "no drill has passed; the policy was made",
                 (double)(now - since) / DAY_MS, s_of(policy, "name") ?: "?",
                 (double)every / DAY_MS);
        json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:{s:s}}", "op", "open", "key",
                              "drill/overdue", "severity", "warning", "summary", summary,
                              "source", "drill", "time", now, "labels", "policy",
                              s_of(policy, "name") ?: "?");
        open_incident(svc, p, now);
        json_decref(p);
    } else if (!overdue && open) {
        char what[64];
        snprintf(what, sizeof what, "resolve/%llu", (unsigned long long)open);
        if (!once(svc, what, now))
            resolve_incident(svc, open, every ? "a DR drill passed" : "no drill schedule", 0,
                             now);
    }
    json_decref(policy);
}

/* ---- 2. escalation ---- */

struct intents {
    json_t *pages;
    uint64_t id;
    json_int_t round, step;
    int64_t now;
    const char *event;
};

static const json_t *method_named(const json_t *spec, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "contact_methods"), i, m)
    {
        if (!strcmp(s_of(m, "name") ?: "", name))
            return m;
    }
    return NULL;
}

static void add_intent(struct intents *in, const char *target, const json_t *method,
                       int64_t delay_ms)
{
    const char *name = s_of(method, "name"), *type = s_of(method, "type");
    if (!name || !type)
        return;
    char key[400];
    /* an incident not opened yet has no id: its open record's apply
     * prefixes "inc<id>-" (incidents.c) */
    int n = in->id ? snprintf(key, sizeof key, "inc%llu-", (unsigned long long)in->id) : 0;
    snprintf(key + n, sizeof key - (size_t)n, "r%llds%lld-%s-%s-%s", (long long)in->round,
             (long long)in->step, in->event, target, name);
    json_array_append_new(in->pages,
                          json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", in->id ? "key" : "suffix", key,
                                    "target", target, "method", name, "channel", type, "event",
                                    in->event, "due", (json_int_t)(in->now + delay_ms)));
}

static void add_person(struct vg_incident_svc *svc, struct intents *in, const char *person)
{
    const json_t *spec = json_object_get(svc->dir.person, person);
    if (!spec) {
        vg_warn("incident %llu: escalation names person '%s', who does not exist",
                (unsigned long long)in->id, person);
        return;
    }
    json_t *rules = json_object_get(spec, "notification_rules");
    size_t i;
    json_t *r;
    if (!json_array_size(rules)) { /* no rules: every method at once */
        json_array_foreach(json_object_get(spec, "contact_methods"), i, r)
            add_intent(in, person, r, 0);
        return;
    }
    json_array_foreach(rules, i, r)
    {
        const json_t *m = method_named(spec, s_of(r, "contact") ?: "");
        json_int_t delay = json_integer_value(json_object_get(r, "delay_minutes"));
        if (m)
            add_intent(in, person, m, delay * svc->minute_ms);
    }
}

static void add_schedule(struct vg_incident_svc *svc, struct intents *in, const char *name)
{
    const json_t *spec = json_object_get(svc->dir.schedule, name);
    struct vg_shift shift;
    char err[256];
    if (!spec || vg_schedule_oncall(spec, in->now, &shift, err, sizeof err)) {
        vg_warn("incident %llu: schedule '%s' cannot say who is on call%s%s",
                (unsigned long long)in->id, name, spec ? ": " : " (no such schedule)",
                spec ? err : "");
        return;
    }
    if (!shift.person[0]) {
        vg_warn("incident %llu: nobody is on call in schedule '%s' now",
                (unsigned long long)in->id, name);
        return;
    }
    add_person(svc, in, shift.person);
}

static void add_target(struct vg_incident_svc *svc, struct intents *in, const json_t *t)
{
    size_t i;
    json_t *v;
    if (s_of(t, "person"))
        add_person(svc, in, s_of(t, "person"));
    else if (s_of(t, "schedule"))
        add_schedule(svc, in, s_of(t, "schedule"));
    else if (s_of(t, "team")) {
        const json_t *team = json_object_get(svc->dir.team, s_of(t, "team"));
        if (team && s_of(team, "schedule"))
            add_schedule(svc, in, s_of(team, "schedule"));
        else
            json_array_foreach(json_object_get(team, "members"), i, v)
                add_person(svc, in, json_string_value(v));
    } else if (s_of(t, "contact")) {
        const json_t *c = json_object_get(svc->dir.contact, s_of(t, "contact"));
        json_array_foreach(json_object_get(c, "contact_methods"), i, v)
            add_intent(in, s_of(t, "contact"), v, 0);
    }
}

/* The step to fire next and when, or 0 when the policy is exhausted. */
static int next_step(const json_t *inc, const json_t *policy, int64_t minute_ms,
                     json_int_t *step, json_int_t *round, int64_t *due)
{
    json_t *steps = json_object_get(policy, "steps");
    json_int_t n = (json_int_t)json_array_size(steps);
    json_int_t cur = json_integer_value(json_object_get(inc, "step"));
    json_int_t r = json_integer_value(json_object_get(inc, "round"));
    json_int_t repeat = json_integer_value(json_object_get(policy, "repeat"));
    if (!n)
        return 0;
    if (cur < 0) {
        *step = 0, *round = 0;
        *due = json_integer_value(json_object_get(inc, "opened"));
        return 1;
    }
    json_int_t wait = json_integer_value(
        json_object_get(json_array_get(steps, (size_t)(cur < n ? cur : n - 1)), "wait_minutes"));
    *due = json_integer_value(json_object_get(inc, "stepped_at")) + wait * minute_ms;
    *step = cur + 1, *round = r;
    if (*step >= n) {
        if (r >= repeat)
            return 0;
        *step = 0, *round = r + 1;
    }
    return 1;
}

static void escalate(struct vg_incident_svc *svc, const json_t *inc, int64_t now)
{
    const char *pname = s_of(inc, "policy");
    const json_t *policy = pname ? json_object_get(svc->dir.policy, pname) : NULL;
    json_int_t step, round;
    int64_t due;
    json_t *head_id = json_object_get(inc, "group_of");
    if (head_id) { /* paged with its group's head while that is open */
        json_t *head = vg_incidents_get(vg_member_state(svc->member),
                                        (uint64_t)json_integer_value(head_id));
        if (head && strcmp(s_of(head, "status"), "resolved"))
            return;
    }
    /* routed to one person, not a policy (overdue training: the manager):
     * paged once */
    static const json_t *direct_policy;
    if (!policy && s_of(inc, "direct")) {
        if (!direct_policy)
            direct_policy = json_pack("{s:[{s:[{s:s}],s:i}],s:i}", "steps", "notify", "person",
                                      "-", "wait_minutes", 0, "repeat", 0);
        policy = direct_policy;
    }
    if (!policy || strcmp(s_of(inc, "status"), "triggered") ||
        !next_step(inc, policy, svc->minute_ms, &step, &round, &due) || now < due)
        return;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(inc, "id"));
    char what[96];
    int64_t until = 0;
    const char *quiet = vg_directory_silenced(&svc->dir, inc, now, &until);
    if (quiet) { /* recorded once per silence; escalation waits for its end */
        const char *was = s_of(inc, "silenced_by");
        snprintf(what, sizeof what, "quiet/%llu/%s", (unsigned long long)id, quiet);
        if ((!was || strcmp(was, quiet)) && !once(svc, what, now)) {
            json_t *p = json_pack("{s:s,s:I,s:s,s:I,s:I}", "op", "silenced", "id", (json_int_t)id,
                                  "by", quiet, "until", (json_int_t)until, "time", now);
            vg_incident_submit(svc, p);
            json_decref(p);
        }
        return;
    }
    snprintf(what, sizeof what, "esc/%llu/%lld/%lld", (unsigned long long)id, (long long)round,
             (long long)step);
    if (once(svc, what, now))
        return;
    struct intents in = {json_array(), id, round, step, now, "trigger"};
    size_t i;
    json_t *t;
    if (s_of(inc, "direct") && !pname)
        add_person(svc, &in, s_of(inc, "direct"));
    else
        json_array_foreach(json_object_get(json_array_get(json_object_get(policy, "steps"),
                                                          (size_t)step),
                                           "notify"),
                           i, t) add_target(svc, &in, t);
    json_t *p = json_pack("{s:s,s:I,s:I,s:I,s:o,s:I}", "op", "escalate", "id", (json_int_t)id,
                          "step", step, "round", round, "pages", in.pages, "time", now);
    if (!vg_incident_submit(svc, p))
        svc->n_escalations++;
    json_decref(p);
}

/* The first step rides on the open record itself (one record, one fsync,
 * fewer milliseconds between a reading and a page); apply drops it when the
 * incident joins a group or re-triggers one already open. Not while a
 * silence covers it: the next tick records that instead. */
static void first_step(struct vg_incident_svc *svc, json_t *p, const char *policy, int64_t now)
{
    const json_t *pol = json_object_get(svc->dir.policy, policy);
    int64_t until;
    if (!pol || vg_directory_silenced(&svc->dir, p, now, &until))
        return;
    struct intents in = {json_array(), 0, 0, 0, now, "trigger"};
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(json_array_get(json_object_get(pol, "steps"), 0), "notify"),
                       i, t) add_target(svc, &in, t);
    json_object_set_new(p, "escalate", json_pack("{s:i,s:i,s:o}", "step", 0, "round", 0, "pages",
                                                 in.pages));
}

/* ---- 4. telling whoever was paged that it is over ---- */

/* The notices owed for a resolved incident (new ref; empty when none). */
static json_t *resolve_notices(struct vg_incident_svc *svc, const json_t *inc, int64_t now)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(inc, "id"));
    struct intents in = {json_array(), id, 0, 0, now, "resolve"};
    if (strcmp(s_of(inc, "status"), "resolved") ||
        json_is_true(json_object_get(inc, "resolve_noticed")))
        return in.pages;
    json_t *seen = json_object();
    const char *key;
    json_t *pg;
    json_object_foreach(json_object_get(inc, "pages"), key, pg)
    {
        const char *target = s_of(pg, "target"), *method = s_of(pg, "method");
        char who[300];
        if (strcmp(s_of(pg, "state"), "delivered") || strcmp(s_of(pg, "event"), "trigger"))
            continue;
        snprintf(who, sizeof who, "%s/%s", target, method);
        if (json_object_get(seen, who))
            continue;
        json_object_set_new(seen, who, json_true());
        const json_t *spec = json_object_get(svc->dir.person, target);
        if (!spec)
            spec = json_object_get(svc->dir.contact, target);
        const json_t *m = spec ? method_named(spec, method) : NULL;
        if (m)
            add_intent(&in, target, m, 0);
    }
    json_decref(seen);
    const char *pname = s_of(inc, "policy");
    const json_t *policy = pname ? json_object_get(svc->dir.policy, pname) : NULL;
    if (!json_array_size(in.pages) && s_of(inc, "silenced_by") && policy) {
        /* silenced all along: its resolution still goes to the first step */
        size_t i;
        json_t *t;
        json_array_foreach(
            json_object_get(json_array_get(json_object_get(policy, "steps"), 0), "notify"), i, t)
            add_target(svc, &in, t);
    }
    return in.pages;
}

static void notice_resolved(struct vg_incident_svc *svc, const json_t *inc, int64_t now)
{
    json_t *pages = resolve_notices(svc, inc, now);
    uint64_t id = (uint64_t)json_integer_value(json_object_get(inc, "id"));
    char what[64];
    snprintf(what, sizeof what, "notice/%llu", (unsigned long long)id);
    if (json_array_size(pages) && !once(svc, what, now)) {
        json_t *p = json_pack("{s:s,s:I,s:s,s:O,s:I}", "op", "notify", "id", (json_int_t)id,
                              "reason", "resolve", "pages", pages, "time", now);
        vg_incident_submit(svc, p);
        json_decref(p);
    }
    json_decref(pages);
}

/* ---- 3. delivery ---- */

struct vg_incident_sending {
    struct vg_incident_svc *svc;
    uint64_t id;
    char key[400];
    char schedule[VG_NAME_MAX + 1]; /* a hand-off notice's schedule, or "" */
    struct vg_incident_sending *prev, *next;
};

static struct vg_incident_sending *sending_new(struct vg_incident_svc *svc, uint64_t id, const char *key)
{
    struct vg_incident_sending *s = vg_calloc(1, sizeof *s);
    s->svc = svc;
    s->id = id;
    snprintf(s->key, sizeof s->key, "%s", key);
    s->next = svc->sends;
    if (svc->sends)
        svc->sends->prev = s;
    svc->sends = s;
    return s;
}

static void sending_free(struct vg_incident_sending *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->svc->sends = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

void vg_incident_sends_free(struct vg_incident_svc *svc)
{
    while (svc->sends)
        sending_free(svc->sends);
}

static void on_delivered(void *arg, const struct vg_page_result *res)
{
    struct vg_incident_sending *s = arg;
    struct vg_incident_svc *svc = s->svc;
    /* stays "sending" until its outcome is seen applied, or a while (the
     * record was lost): a tick in between must not send it again */
    json_object_set_new(svc->sending, s->key,
                        json_integer(vg_incident_now_ms() + VG_INCIDENT_OUTCOME_MS));
    if (res->ok)
        svc->n_pages_ok++;
    else
        svc->n_pages_failed++;
    if (svc->primary && s->schedule[0]) {
        json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I}", "op", "handoff_paged", "schedule",
                              s->schedule, "key", s->key, "ok", res->ok, "detail", res->detail,
                              "time", vg_incident_now_ms());
        vg_incident_submit(svc, p);
        json_decref(p);
    } else if (svc->primary) { /* a mirror's result is the new primary's to find out */
        json_t *p = json_pack("{s:s,s:I,s:s,s:b,s:b,s:i,s:i,s:s,s:I}", "op", "paged", "id",
                              (json_int_t)s->id, "key", s->key, "ok", res->ok, "permanent",
                              res->permanent, "attempts", res->attempts, "status", res->status,
                              "detail", res->detail, "time", vg_incident_now_ms());
        vg_incident_submit(svc, p);
        json_decref(p);
    }
    sending_free(s);
}

static enum vg_page_event page_event(const char *e)
{
    return !strcmp(e, "resolve")       ? VG_PAGE_RESOLVE
           : !strcmp(e, "acknowledge") ? VG_PAGE_ACKNOWLEDGE
           : !strcmp(e, "notice")      ? VG_PAGE_NOTICE
                                       : VG_PAGE_TRIGGER;
}

static int fill_channel(struct vg_page *page, const json_t *m, const char **argv, size_t max)
{
    const char *type = s_of(m, "type") ?: "";
    if (!strcmp(type, "webhook")) {
        const char *fmt = s_of(m, "format") ?: "generic";
        page->channel = VG_PAGE_WEBHOOK;
        page->url = s_of(m, "url");
        page->format = !strcmp(fmt, "pagerduty") ? VG_PAGE_PAGERDUTY
                       : !strcmp(fmt, "slack")   ? VG_PAGE_SLACK
                                                 : VG_PAGE_GENERIC;
        page->routing_key = s_of(m, "routing_key");
        return 0;
    }
    if (!strcmp(type, "email")) {
        page->channel = VG_PAGE_EMAIL;
        page->to = s_of(m, "address");
        return 0;
    }
    if (!strcmp(type, "exec")) {
        size_t i, n = 0;
        json_t *a;
        json_array_foreach(json_object_get(m, "command"), i, a)
        {
            if (n + 1 < max && json_is_string(a))
                argv[n++] = json_string_value(a);
        }
        argv[n] = NULL;
        page->channel = VG_PAGE_EXEC;
        page->argv = argv;
        return n ? 0 : -EINVAL;
    }
    return -EINVAL;
}

/* The tank of a fuel sensor: its rule's fuel.tank_litres, else the
 * sensor's label tank_litres; NAN when unknown. */
static double tank_litres(struct vg_incident_svc *svc, const json_t *inc)
{
    const json_t *labels = json_object_get(inc, "labels");
    const json_t *rule = json_object_get(svc->dir.rule, s_of(labels, "rule") ?: "");
    const json_t *tank = json_object_get(json_object_get(rule, "fuel"), "tank_litres");
    if (json_is_number(tank))
        return json_number_value(tank);
    const json_t *sensor = json_object_get(svc->dir.sensor, s_of(labels, "sensor") ?: "");
    const char *label = s_of(json_object_get(sensor, "labels"), "tank_litres");
    return label ? strtod(label, NULL) : NAN;
}

/* An outside contact's message, its {placeholders} filled in: summary,
 * site, zone, sensor, value, hours_left and, for a generator's fuel,
 * litres_needed to fill the tank. An unknown one stays as written. */
static void render_message(struct vg_incident_svc *svc, const char *tmpl, const json_t *inc,
                           vg_buf_t *out)
{
    const json_t *labels = json_object_get(inc, "labels");
    const json_t *value = json_object_get(inc, "value");
    const json_t *pred = json_object_get(inc, "predicted_s");
    const json_t *sensor = json_object_get(svc->dir.sensor, s_of(labels, "sensor") ?: "");
    double tank = tank_litres(svc, inc), litres = json_number_value(value);
    if (!strcmp(s_of(sensor, "type") ?: "", "generator-fuel"))
        litres = litres / 100 * tank; /* a percentage of the tank */
    for (const char *p = tmpl; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close || close - p > 32) {
            vg_buf_add(out, p++, 1);
            continue;
        }
        char name[40];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        if (!strcmp(name, "summary") || !strcmp(name, "site") || !strcmp(name, "zone"))
            vg_buf_adds(out, s_of(inc, name) ?: "?");
        else if (!strcmp(name, "sensor"))
            vg_buf_adds(out, s_of(labels, "sensor") ?: "?");
        else if (!strcmp(name, "value") && json_is_number(value))
            vg_buf_printf(out, "%.1f", json_number_value(value));
        else if (!strcmp(name, "hours_left") && json_is_number(pred))
            vg_buf_printf(out, "%.1f", json_number_value(pred) / 3600);
        else if (!strcmp(name, "litres_needed") && json_is_number(value) && tank > 0)
            vg_buf_printf(out, "%.0f", fmax(tank - litres, 0));
        else
            vg_buf_add(out, p, (size_t)(close - p + 1));
        p = close + 1;
    }
}

static void send_page(struct vg_incident_svc *svc, const json_t *inc, const json_t *pg)
{
    const char *target = s_of(pg, "target"), *key = s_of(pg, "key");
    const json_t *spec = json_object_get(svc->dir.person, target);
    if (!spec)
        spec = json_object_get(svc->dir.contact, target);
    const json_t *m = spec ? method_named(spec, s_of(pg, "method")) : NULL;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(inc, "id"));
    char incident[24], ack_url[512] = "", token[160], summary[1200];
    json_int_t grouped = json_integer_value(json_object_get(inc, "grouped"));
    if (grouped > 0)
        snprintf(summary, sizeof summary, "%s (+%lld more%s%s)", s_of(inc, "summary"),
                 (long long)grouped, s_of(inc, "site") ? " at " : "",
                 s_of(inc, "site") ? s_of(inc, "site") : "");
    else
        snprintf(summary, sizeof summary, "%s", s_of(inc, "summary"));
    snprintf(incident, sizeof incident, "%llu", (unsigned long long)id);
    const char *argv[33];
    vg_buf_t details = VG_BUF_INIT;
    const json_t *contact = json_object_get(svc->dir.contact, target);
    if (contact && s_of(contact, "message")) {
        render_message(svc, s_of(contact, "message"), inc, &details);
        vg_buf_add(&details, "", 1);
    }
    struct vg_page page = {
        .key = key,
        .details = details.len ? (const char *)details.data : NULL,
        .event = page_event(s_of(pg, "event")),
        .incident = incident,
        .dedup = s_of(inc, "key"),
        .summary = summary,
        .severity = s_of(inc, "severity"),
        .site = s_of(inc, "site"),
        .zone = s_of(inc, "zone"),
        .labels = json_object_get(inc, "labels"),
        .recipient = target,
        .time_ms = json_integer_value(json_object_get(inc, "opened")),
    };
    if (page.event == VG_PAGE_TRIGGER &&
        !vg_acklink_make(svc->member, id, vg_incident_now_ms() + VG_ACK_LINK_TTL_MS, token,
                         sizeof token)) {
        snprintf(ack_url, sizeof ack_url, "%s/ack/%s", svc->public_url, token);
        page.ack_url = ack_url;
    }
    struct vg_page_result res = {.attempts = 0};
    char err[256];
    if (!m || fill_channel(&page, m, argv, VG_ARRAY_LEN(argv))) {
        snprintf(res.detail, sizeof res.detail, "%s has no usable contact method '%s'", target,
                 s_of(pg, "method"));
        goto failed;
    }
    struct vg_incident_sending *s = sending_new(svc, id, key);
    json_object_set_new(svc->sending, key, json_true());
    if (vg_pager_send(svc->pager, &page, on_delivered, s, err, sizeof err) == 0) {
        vg_buf_release(&details);
        return;
    }
    res.permanent = 1;
    snprintf(res.detail, sizeof res.detail, "%s", err);
    on_delivered(s, &res);
    vg_buf_release(&details);
    return;
failed:
    vg_buf_release(&details);
    res.permanent = 1;
    json_object_set_new(svc->sending, key, json_true());
    on_delivered(sending_new(svc, id, key), &res);
}

/* At most PAGE_BURST pages a minute to one contact method: the rest wait
 * (a page is late rather than lost; a phone buzzing 300 times helps nobody). */
#define PAGE_BURST 10

static int throttled(struct vg_incident_svc *svc, const json_t *pg, int64_t now)
{
    char who[300];
    snprintf(who, sizeof who, "%s/%s", s_of(pg, "target"), s_of(pg, "method"));
    json_t *w = json_object_get(svc->throttle, who);
    if (!w || now - json_integer_value(json_array_get(w, 0)) >= svc->minute_ms) {
        json_object_set_new(svc->throttle, who, json_pack("[I,i]", (json_int_t)now, 1));
        return 0;
    }
    json_int_t n = json_integer_value(json_array_get(w, 1));
    if (n >= PAGE_BURST) {
        svc->n_throttled++;
        return 1;
    }
    json_array_set_new(w, 1, json_integer(n + 1));
    return 0;
}

static void deliver(struct vg_incident_svc *svc, const json_t *inc, int64_t now)
{
    const char *key, *status = s_of(inc, "status");
    json_t *pg;
    json_object_foreach(json_object_get(inc, "pages"), key, pg)
    {
        json_t *busy = json_object_get(svc->sending, key);
        if (busy && (strcmp(s_of(pg, "state"), "pending") ||
                     (json_is_integer(busy) && json_integer_value(busy) <= now))) {
            json_object_del(svc->sending, key); /* its outcome is in (or was lost) */
            busy = NULL;
        }
        if (strcmp(s_of(pg, "state"), "pending") || busy ||
            json_integer_value(json_object_get(pg, "due")) > now)
            continue;
        char what[420];
        snprintf(what, sizeof what, "paged/%s", key);
        if (!strcmp(s_of(pg, "event"), "trigger") && strcmp(status, "triggered")) {
            /* acknowledged or resolved before this page was due */
            if (once(svc, what, now))
                continue;
            json_t *p = json_pack("{s:s,s:I,s:s,s:b,s:b,s:s,s:I}", "op", "paged", "id",
                                  json_integer_value(json_object_get(inc, "id")), "key", key,
                                  "ok", 0, "skipped", 1, "detail",
                                  !strcmp(status, "resolved") ? "not sent: resolved first"
                                                              : "not sent: acknowledged first",
                                  "time", now);
            vg_incident_submit(svc, p);
            json_decref(p);
            continue;
        }
        if (!throttled(svc, pg, now))
            send_page(svc, inc, pg);
    }
}

/* ---- hand-offs: tell whoever comes on call ---- */

#define HANDOFF_EVERY_MS 1000

static void send_notice(struct vg_incident_svc *svc, const char *schedule, const json_t *h)
{
    const char *person = s_of(h, "person"), *key = s_of(h, "key");
    const json_t *spec = json_object_get(svc->dir.person, person);
    const json_t *rules = json_object_get(spec, "notification_rules");
    const json_t *m = json_array_size(rules)
                          ? method_named(spec, s_of(json_array_get(rules, 0), "contact") ?: "")
                          : json_array_get(json_object_get(spec, "contact_methods"), 0);
    char summary[300], until[40] = "further notice";
    json_t *u = json_object_get(h, "until");
    if (json_is_integer(u)) {
        time_t t = (time_t)(json_integer_value(u) / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(until, sizeof until, "%a %Y-%m-%d %H:%M UTC", &tm);
    }
    snprintf(summary, sizeof summary, "You are on call for %s until %s", schedule, until);
    const char *argv[33];
    struct vg_page page = {.key = key, .event = VG_PAGE_NOTICE, .summary = summary,
                           .severity = "info", .recipient = person,
                           .time_ms = json_integer_value(json_object_get(h, "time"))};
    struct vg_incident_sending *s = sending_new(svc, 0, key);
    snprintf(s->schedule, sizeof s->schedule, "%s", schedule);
    json_object_set_new(svc->sending, key, json_true());
    struct vg_page_result res = {.permanent = 1};
    char err[256];
    if (!m || fill_channel(&page, m, argv, VG_ARRAY_LEN(argv)))
        snprintf(res.detail, sizeof res.detail, "%s has no usable contact method", person);
    else if (vg_pager_send(svc->pager, &page, on_delivered, s, err, sizeof err) == 0)
        return;
    else
        snprintf(res.detail, sizeof res.detail, "%s", err);
    on_delivered(s, &res);
}

static void handoffs(struct vg_incident_svc *svc, const vg_state_t *st, int64_t now)
{
    if (now - svc->handoff_at < HANDOFF_EVERY_MS)
        return;
    svc->handoff_at = now;
    const char *name;
    json_t *spec;
    json_object_foreach(svc->dir.schedule, name, spec)
    {
        struct vg_shift sh;
        char err[256], what[200], key[200];
        if (vg_schedule_oncall(spec, now, &sh, err, sizeof err) || !sh.person[0])
            continue;
        json_t *h = json_object_get(vg_incidents_handoffs(st), name);
        if (!h || strcmp(s_of(h, "person"), sh.person)) {
            snprintf(what, sizeof what, "handoff/%s/%s", name, sh.person);
            snprintf(key, sizeof key, "handoff-%s-%s-%lld", name, sh.person, (long long)now);
            if (once(svc, what, now))
                continue;
            json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "op", "handoff", "schedule", name,
                                  "person", sh.person, "key", key, "until",
                                  (json_int_t)sh.end_ms, "time", now);
            vg_incident_submit(svc, p);
            json_decref(p);
            continue;
        }
        json_t *busy = json_object_get(svc->sending, s_of(h, "key"));
        if (busy && (strcmp(s_of(h, "state"), "pending") ||
                     (json_is_integer(busy) && json_integer_value(busy) <= now))) {
            json_object_del(svc->sending, s_of(h, "key")); /* outcome in, or lost */
            busy = NULL;
        }
        if (!strcmp(s_of(h, "state"), "pending") && !busy)
            send_notice(svc, name, h);
    }
}

/* ---- when each incident needs the engine next ---- */

#define POLL_MS 1000 /* waiting on something no record announces (a silence's end, a group) */

#define SOONER(due, t) ((due) < 0 || (t) < (due) ? (t) : (due))

/* The next time the engine may have to act on inc, or -1 for never
 * (until a record changes it). Forgets deliveries whose outcome is in. */
static int64_t next_due(struct vg_incident_svc *svc, const vg_state_t *st, const json_t *inc,
                        int64_t now)
{
    int64_t due = -1;
    const char *status = s_of(inc, "status");
    int resolved = !strcmp(status, "resolved");
    if (!resolved && !strncmp(s_of(inc, "key"), "cluster/switchover-", 19))
        due = now;
    if (resolved && !json_is_true(json_object_get(inc, "resolve_noticed"))) {
        json_t *owed = resolve_notices(svc, inc, now);
        if (json_array_size(owed))
            due = now;
        json_decref(owed);
    }
    const char *pname = s_of(inc, "policy");
    const json_t *policy = pname ? json_object_get(svc->dir.policy, pname) : NULL;
    json_int_t step, round;
    int64_t at;
    if (!strcmp(status, "triggered") && (policy || s_of(inc, "direct"))) {
        if (!policy) /* routed to one person: one step */
            at = json_integer_value(json_object_get(inc, "step")) < 0
                     ? json_integer_value(json_object_get(inc, "opened")) : -1;
        else if (!next_step(inc, policy, svc->minute_ms, &step, &round, &at))
            at = -1;
        json_t *head_id = json_object_get(inc, "group_of");
        json_t *head = head_id ? vg_incidents_get(st, (uint64_t)json_integer_value(head_id)) : NULL;
        if (at >= 0 && head && strcmp(s_of(head, "status"), "resolved") && at < now + POLL_MS)
            at = now + POLL_MS; /* paged with its head while that is open */
        int64_t until;
        const char *quiet = at >= 0 && at <= now
                                ? vg_directory_silenced(&svc->dir, inc, now, &until) : NULL;
        const char *was = s_of(inc, "silenced_by");
        if (quiet && was && !strcmp(quiet, was))
            at = now + POLL_MS; /* recorded; it may end, or be deleted, any time */
        if (at >= 0)
            due = SOONER(due, at);
    }
    const char *key;
    json_t *pg;
    json_object_foreach(json_object_get(inc, "pages"), key, pg)
    {
        json_t *busy = json_object_get(svc->sending, key);
        if (strcmp(s_of(pg, "state"), "pending")) {
            if (busy)
                json_object_del(svc->sending, key); /* its outcome is in */
            continue;
        }
        if (json_is_integer(busy)) /* sent; its outcome record may be lost */
            due = SOONER(due, json_integer_value(busy));
        else if (!busy)
            due = SOONER(due, json_integer_value(json_object_get(pg, "due")));
    }
    return due;
}

/* Looks at incident id again: the engine's indexes and when it is due (not
 * before floor: what was due and stays so waits for the next tick). */
static void track(struct vg_incident_svc *svc, const vg_state_t *st, uint64_t id, int64_t now,
                  int64_t floor)
{
    char k[24];
    snprintf(k, sizeof k, "%llu", (unsigned long long)id);
    json_t *inc = json_object_get(vg_incidents_all(st), k);
    int open = inc && strcmp(s_of(inc, "status"), "resolved");
    const char *source = inc ? s_of(inc, "source") : "";
    if (open && !strcmp(source, "rule") && s_of(inc, "ref"))
        json_object_set(svc->rule_open, k, json_object_get(inc, "ref"));
    else
        json_object_del(svc->rule_open, k);
    /* opened after its alert cleared, or resolved by hand while it is
     * active: from_alerts looks at that alert again */
    const char *ref = inc && !strcmp(source, "rule") ? s_of(inc, "ref") : NULL;
    if (ref && open != !!json_object_get(vg_alerts_active(st), ref))
        json_object_set_new(svc->alerts_recheck, ref, json_true());
    if (open && !strcmp(source, "training"))
        json_object_set(svc->training_open, k, json_object_get(inc, "key"));
    else
        json_object_del(svc->training_open, k);
    int64_t at = inc ? next_due(svc, st, inc, now) : -1;
    vg_due_set(&svc->due, id, at >= 0 && at < floor ? floor : at);
}

struct track_ctx {
    struct vg_incident_svc *svc;
    const vg_state_t *st;
    int64_t now;
};

static void track_changed(void *arg, uint64_t id)
{
    struct track_ctx *c = arg;
    track(c->svc, c->st, id, c->now, 0);
}

/* Brings the indexes up to date with the records applied since the last
 * tick, or with every incident when that is not known. */
static void catch_up(struct vg_incident_svc *svc, const vg_state_t *st, int64_t now)
{
    struct track_ctx c = {svc, st, now};
    if (!vg_incidents_changed(st, &svc->changes_seen, track_changed, &c) && !svc->rescan)
        return;
    vg_due_clear(&svc->due);
    svc->alerts_full = 1;
    json_object_clear(svc->rule_open);
    json_object_clear(svc->training_open);
    const char *k;
    json_t *inc;
    json_object_foreach(vg_incidents_all(st), k, inc) track(svc, st, strtoull(k, NULL, 10), now, 0);
    svc->rescan = 0;
}

void vg_incident_tick(struct vg_incident_svc *svc)
{
    if (!svc->primary || !vg_member_writable(svc->member))
        return;
    const vg_state_t *st = vg_member_state(svc->member);
    int64_t now = vg_incident_now_ms();
    forget_expired(svc, now);
    catch_up(svc, st, now);
    from_alerts(svc, st, now);
    from_events(svc, st, now);
    from_training(svc, st, now);
    from_drills(svc, st, now);
    handoffs(svc, st, now);
    /* what is due, a slice a tick: with thousands of incidents escalating,
     * the loop still answers requests between slices */
    uint64_t id;
    for (size_t done = 0; done < VG_INCIDENT_WORK_SLICE && vg_due_pop(&svc->due, now, &id);
         done++) {
        json_t *inc = vg_incidents_get(st, id);
        if (!inc)
            continue;
        settle_switchover(svc, inc, now);
        escalate(svc, inc, now);
        notice_resolved(svc, inc, now);
        deliver(svc, inc, now);
        /* a record will announce what changed; until then (or when nothing
         * could be done: throttled), the next tick looks again */
        track(svc, st, id, now, now + VG_INCIDENT_TICK_MS);
    }
    int64_t next = vg_due_next(&svc->due);
    svc->work_more = next >= 0 && next <= now;
}

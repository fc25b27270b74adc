/*
 * protect_service.c - the protect service (service.h, docs/protect.md):
 * on the acting primary, every tick, it reads the committed alert facts,
 * the cluster's state and the FailoverPolicy, asks the pure decision
 * (protect_decide.c) whether to move the primary role to the other site,
 * and acts: a planned switchover, or a declined one with its reason.
 *
 * Every decision taken or declined is written twice: as a cluster event
 * (VG_REC_EVENT, kind protect_*, listed by `vigil events`; the incidents
 * engine opens or re-triggers one incident per site from it) and as a
 * VG_REC_PROTECT record, whose slice keeps the cooldown and the last
 * decision for whichever member is primary next. The switchover itself
 * starts only once its decision is committed, so the reason is on both
 * sites before the role moves. A mirror decides nothing.
 */
#include "protect/protect_int.h"

#include <time.h>

#include "cluster/cluster.h"
#include "core/say.h"
#include "core/timefmt.h"
#include "monitor/alerts.h"
#include "protect/drill.h"
#include "store/record.h"

int64_t vg_protect_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *s_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---- inputs ---- */

static json_t *list_of(const vg_state_t *st, const char *kind)
{
    json_t *items = NULL;
    char err[128];
    if (vg_state_list(st, kind, NULL, &items, err, sizeof err))
        return json_array();
    return items;
}

static int covers(const json_t *policy, const char *site)
{
    const json_t *sites = json_object_get(json_object_get(policy, "spec"), "sites");
    size_t i;
    const json_t *s;
    if (!json_is_array(sites))
        return 1;
    json_array_foreach(sites, i, s) if (site && json_is_string(s) &&
                                        !strcmp(json_string_value(s), site)) return 1;
    return 0;
}

/* The policy (first by name covering this site) and where sensors are. */
static void reload(struct vg_protect_svc *svc)
{
    const vg_state_t *st = vg_member_state(svc->member);
    json_t *policies = list_of(st, "FailoverPolicy"), *zones = list_of(st, "Zone");
    json_t *sensors = list_of(st, "Sensor"), *devices = list_of(st, "Device");
    json_t *zone_site = json_object(), *server_zone = json_object();
    size_t i;
    json_t *o;
    json_decref(svc->policy_obj);
    svc->policy_obj = NULL;
    json_array_foreach(policies, i, o) if (!svc->policy_obj && covers(o, svc->site))
        svc->policy_obj = json_incref(o);
    vg_protect_policy_parse(svc->policy_obj, &svc->policy);
    json_array_foreach(zones, i, o)
    {
        const json_t *spec = json_object_get(o, "spec");
        const char *name = s_of(o, "name"), *type = s_of(spec, "type");
        if (s_of(spec, "site"))
            json_object_set(zone_site, name, json_object_get(spec, "site"));
        if (type && !strcmp(type, "server-room"))
            json_object_set_new(server_zone, name, json_true());
    }
    json_object_clear(svc->sensor_site);
    json_object_clear(svc->sensor_room);
    json_object_clear(svc->device_site);
    json_array_foreach(sensors, i, o)
    {
        const char *zone = s_of(json_object_get(o, "spec"), "zone");
        if (zone && json_object_get(zone_site, zone))
            json_object_set(svc->sensor_site, s_of(o, "name"),
                            json_object_get(zone_site, zone));
        if (zone && json_object_get(server_zone, zone))
            json_object_set_new(svc->sensor_room, s_of(o, "name"), json_true());
    }
    json_array_foreach(devices, i, o)
    {
        json_t *site = json_object_get(json_object_get(o, "spec"), "site");
        if (json_is_string(site))
            json_object_set(svc->device_site, s_of(o, "name"), site);
    }
    json_decref(svc->sites);
    svc->sites = list_of(st, "Site");
    json_decref(policies);
    json_decref(zones);
    json_decref(sensors);
    json_decref(devices);
    json_decref(zone_site);
    json_decref(server_zone);
    svc->dirty = 0;
}

/* "2026-03-01T10:00:00.123Z" (an event's time) in ms, or 0. */
static int64_t event_ms(const char *t)
{
    char whole[24];
    int64_t ms;
    if (!t || strlen(t) < 19)
        return 0;
    snprintf(whole, sizeof whole, "%.19sZ", t);
    return vg_time_parse_utc(whole, &ms) ? 0 : ms;
}

/* The last time the primary role moved: a switchover this service started
 * (unless it failed), or any switchover or failover in the cluster's
 * events. */
static int64_t last_role_change(const vg_state_t *st)
{
    const json_t *last = vg_protect_last_switchover(st);
    int64_t at = last && !json_is_true(json_object_get(last, "failed"))
                     ? json_integer_value(json_object_get(last, "time"))
                     : 0;
    const json_t *events = vg_state_events(st);
    for (size_t i = json_array_size(events); i-- > 0;) {
        const json_t *ev = json_array_get(events, i);
        const char *kind = s_of(ev, "kind");
        const char *why = s_of(json_object_get(ev, "config"), "reason");
        if (why && !strncmp(why, VG_DRILL_REASON_PREFIX, strlen(VG_DRILL_REASON_PREFIX)))
            continue; /* a drill's switchover is no reason to hold back a real one */
        if (kind && (!strcmp(kind, "switchover") || !strcmp(kind, "failover") ||
                     !strcmp(kind, "forced"))) {
            int64_t t = event_ms(s_of(ev, "time"));
            return t > at ? t : at;
        }
    }
    return at;
}

static int in_sync(const json_t *status, const char *peer)
{
    const json_t *sync = json_object_get(status, "sync");
    size_t i;
    const json_t *m;
    if (!json_is_true(json_object_get(json_object_get(status, "peer"), "connected")))
        return 0;
    json_array_foreach(sync, i, m) if (json_is_string(m) &&
                                       !strcmp(json_string_value(m), peer)) return 1;
    return 0;
}

void vg_protect_gather(struct vg_protect_svc *svc, int64_t now, struct vg_protect_in *in,
                       json_t **status)
{
    const vg_state_t *st = vg_member_state(svc->member);
    if (svc->dirty)
        reload(svc);
    memset(in, 0, sizeof *in);
    *status = svc->cluster ? vg_cluster_status(svc->cluster) : NULL;
    in->policy = svc->policy_obj ? &svc->policy : NULL;
    in->alerts = vg_alerts_active(st);
    in->places =
        (struct vg_protect_places){svc->sensor_site, svc->sensor_room, svc->device_site};
    in->site = svc->site;
    in->peer = s_of(json_object_get(*status, "peer"), "name");
    in->peer_site = in->peer
                        ? vg_protect_peer_site(svc->policy_obj, svc->sites, in->peer, svc->site)
                        : NULL;
    in->peer_in_sync = in->peer && in_sync(*status, in->peer);
    in->now_ms = now;
    in->acting_since_ms = svc->acting_since_ms;
    in->frozen = vg_protect_frozen(st);
    in->last_switchover_ms = last_role_change(st);
}

/* ---- writing decisions ---- */

static void rfc3339(int64_t ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];
    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", base, (int)(ms % 1000));
}

int vg_protect_event(struct vg_protect_svc *svc, const char *kind, const char *severity,
                     const char *message, const json_t *extra)
{
    const vg_state_t *st = vg_member_state(svc->member);
    char at[40];
    rfc3339(vg_protect_now_ms(), at, sizeof at);
    const char *me = svc->cluster ? vg_cluster_member_name(svc->cluster) : "standalone";
    json_t *ev =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "time", at, "severity", severity, "kind", kind,
                  "member", me, "epoch", (json_int_t)vg_state_epoch(st), "message", message);
    if (extra)
        json_object_update(ev, (json_t *)extra);
    int rc = vg_member_submit(svc->member, VG_REC_EVENT, ev, NULL, NULL, NULL);
    if (rc)
        vg_warn("protect: cannot record event %s: %s", kind, strerror(-rc));
    json_decref(ev);
    return rc;
}

/* The decision record's payload (new ref). */
static json_t *decision_payload(struct vg_protect_svc *svc, const struct vg_protect_in *in,
                                const struct vg_protect_decision *d, const char *decision,
                                const char *reason, int64_t now)
{
    json_t *p =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I}", "op", "decision", "decision", decision,
                  "site", in->site, "condition", vg_protect_cond_name(d->hit.cond), "since",
                  (json_int_t)d->hit.since_ms, "reason", reason, "member",
                  svc->cluster ? vg_cluster_member_name(svc->cluster) : "standalone", "time",
                  (json_int_t)now);
    if (in->peer)
        json_object_set_new(p, "to", json_string(in->peer));
    if (d->code)
        json_object_set_new(p, "code", json_string(d->code));
    return p;
}

/* The event and the record of one decision; done (may be NULL) hears the
 * record's commit. */
static int record(struct vg_protect_svc *svc, const struct vg_protect_in *in,
                  const struct vg_protect_decision *d, const char *decision, const char *reason,
                  vg_member_done_fn done, void *ctx)
{
    int64_t now = vg_protect_now_ms();
    char kind[40];
    snprintf(kind, sizeof kind, "protect_%s", decision);
    json_t *extra = json_pack("{s:s,s:s,s:s}", "site", in->site, "condition",
                              vg_protect_cond_name(d->hit.cond), "decision", decision);
    if (d->code)
        json_object_set_new(extra, "code", json_string(d->code));
    if (in->peer)
        json_object_set_new(extra, "to", json_string(in->peer));
    vg_protect_event(svc, kind, strcmp(decision, "switchover") ? "critical" : "warning", reason,
                     extra);
    json_decref(extra);
    json_t *p = decision_payload(svc, in, d, decision, reason, now);
    int rc = vg_member_submit(svc->member, VG_REC_PROTECT, p, done, ctx, NULL);
    if (rc)
        vg_warn("protect: cannot record the decision (%s): %s", decision, strerror(-rc));
    json_decref(svc->submitted);
    svc->submitted = p;
    svc->submitted_at = now;
    return rc;
}

/* ---- switching over ---- */

struct vg_protect_switch {
    struct vg_protect_svc *svc; /* NULL once the service stopped */
    struct vg_protect_in in;    /* its strings point into text below */
    struct vg_protect_decision d;
    char site[64], peer[64], cluster_reason[250];
};

static void switch_failed(struct vg_protect_switch *sw, const char *why)
{
    struct vg_protect_svc *svc = sw->svc;
    char reason[1024];
    snprintf(reason, sizeof reason, "planned switchover to %s failed: %s (%s)", sw->peer, why,
             sw->d.reason);
    vg_error("protect: %s", reason);
    svc->n_failed++;
    svc->retry_after_ms =
        vg_protect_now_ms() +
        (svc->policy.hold_ms > VG_PROTECT_RETRY_MS ? svc->policy.hold_ms : VG_PROTECT_RETRY_MS);
    if (svc->primary)
        record(svc, &sw->in, &sw->d, "failed", reason, NULL, NULL);
}

static void on_switched(void *ctx, int status, json_t *body)
{
    struct vg_protect_switch *sw = ctx;
    if (sw->svc) {
        sw->svc->switching = NULL;
        if (status == 200)
            vg_info("protect: switchover to %s done", sw->peer);
        else
            switch_failed(sw, s_of(body, "error") ? s_of(body, "error") : "refused");
    }
    free(sw);
}

/* The decision is committed on both sites: move the role now. */
static void on_decided(void *ctx, int code, const vg_apply_result_t *res)
{
    (void)res;
    struct vg_protect_switch *sw = ctx;
    struct vg_protect_svc *svc = sw->svc;
    if (!svc) {
        free(sw);
        return;
    }
    if (code < 0 || !svc->primary || !svc->cluster) {
        svc->switching = NULL;
        svc->retry_after_ms = vg_protect_now_ms() + VG_PROTECT_RETRY_MS;
        vg_warn("protect: switchover to %s not started: %s", sw->peer,
                code < 0 ? strerror(-code) : "no longer the acting primary");
        free(sw);
        return;
    }
    vg_cluster_switchover(svc->cluster, sw->peer, sw->cluster_reason, "protect", on_switched,
                          sw);
}

static void start_switchover(struct vg_protect_svc *svc, const struct vg_protect_in *in,
                             const struct vg_protect_decision *d)
{
    struct vg_protect_switch *sw = vg_calloc(1, sizeof *sw);
    sw->svc = svc;
    sw->d = *d;
    snprintf(sw->site, sizeof sw->site, "%s", in->site);
    snprintf(sw->peer, sizeof sw->peer, "%s", in->peer);
    sw->in = *in;
    sw->in.site = sw->site;
    sw->in.peer = sw->peer;
    snprintf(sw->cluster_reason, sizeof sw->cluster_reason, "%s at %.63s: %.160s",
             vg_protect_cond_name(d->hit.cond), in->site, d->hit.detail);
    vg_warn("protect: %s", d->reason);
    svc->switching = sw;
    svc->n_switchovers++;
    if (record(svc, in, d, "switchover", d->reason, on_decided, sw)) {
        svc->switching = NULL;
        svc->retry_after_ms = vg_protect_now_ms() + VG_PROTECT_RETRY_MS;
        free(sw);
    }
}

/* ---- the tick ---- */

/* A declined decision worth writing: news against what is committed and
 * against what was just written and may not be committed yet. */
static int decline_is_news(struct vg_protect_svc *svc, const struct vg_protect_decision *d,
                           int64_t now)
{
    const vg_state_t *st = vg_member_state(svc->member);
    if (!vg_protect_is_news(d, vg_protect_last_decision(st)))
        return 0;
    return !svc->submitted || now - svc->submitted_at > VG_PROTECT_RESUBMIT_MS ||
           vg_protect_is_news(d, svc->submitted);
}

static void decide_and_act(struct vg_protect_svc *svc)
{
    int64_t now = vg_protect_now_ms();
    struct vg_protect_in in;
    struct vg_protect_decision d;
    json_t *status;
    vg_protect_gather(svc, now, &in, &status);
    int acting = json_is_true(json_object_get(status, "acting"));
    vg_protect_decide(&in, &d);
    if (!acting || svc->switching)
        ;
    else if (d.action == VG_PROTECT_SWITCH && now >= svc->retry_after_ms)
        start_switchover(svc, &in, &d);
    else if (d.action == VG_PROTECT_DECLINE && decline_is_news(svc, &d, now)) {
        vg_warn("protect: %s", d.reason);
        svc->n_declined++;
        record(svc, &in, &d, "declined", d.reason, NULL, NULL);
    }
    vg_protect_drill_tick(svc, &in, acting);
    json_decref(status);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct vg_protect_svc *svc = arg;
    if (svc->primary && svc->cluster)
        decide_and_act(svc);
}

/* ---- the service ---- */

static int start(const struct vg_service_env *env, void **instance, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct vg_protect_svc *svc = vg_calloc(1, sizeof *svc);
    svc->base = env->base;
    svc->member = env->member;
    svc->cluster = env->cluster;
    svc->site = env->site;
    svc->dirty = 1;
    svc->sensor_site = json_object();
    svc->sensor_room = json_object();
    svc->device_site = json_object();
    svc->sites = json_array();
    svc->tick = event_new(env->base, -1, EV_PERSIST, on_tick, svc);
    svc->kick = evtimer_new(env->base, on_tick, svc);
    event_priority_set(svc->tick, VG_MEMBER_PRIORITIES - 1);
    event_priority_set(svc->kick, VG_MEMBER_PRIORITIES - 1);
    struct timeval tv = {0, VG_PROTECT_TICK_MS * 1000};
    event_add(svc->tick, &tv);
    *instance = svc;
    return 0;
}

static void stop(void *instance)
{
    struct vg_protect_svc *svc = instance;
    if (!svc)
        return;
    if (svc->switching) /* its callbacks free it */
        svc->switching->svc = NULL;
    vg_protect_drill_stop(svc);
    event_free(svc->tick);
    event_free(svc->kick);
    json_decref(svc->policy_obj);
    json_decref(svc->sensor_site);
    json_decref(svc->sensor_room);
    json_decref(svc->device_site);
    json_decref(svc->sites);
    json_decref(svc->submitted);
    free(svc);
}

static void on_role(void *instance, enum vg_service_role role)
{
    struct vg_protect_svc *svc = instance;
    int primary = role == VG_SERVICE_PRIMARY;
    if (primary == svc->primary)
        return;
    svc->primary = primary;
    /* a new primary watches a condition for the whole hold time itself */
    svc->acting_since_ms = vg_protect_now_ms();
    json_decref(svc->submitted);
    svc->submitted = NULL;
    svc->retry_after_ms = 0;
    svc->dirty = 1;
    if (primary && svc->cluster)
        vg_info("protect: watching site %s for conditions that call for a switchover",
                svc->site ? svc->site : "?");
}

static void on_commit(void *instance, const vg_change_t *change)
{
    static const char *const watched[] = {"FailoverPolicy", "Site",   "Zone",
                                          "Sensor",         "Device", NULL};
    struct vg_protect_svc *svc = instance;
    const char *kind = s_of(change->object, "kind");
    for (size_t i = 0; kind && watched[i]; i++)
        if (!strcmp(kind, watched[i]))
            svc->dirty = 1;
}

/* A rule state, a cluster event or a freeze decides soon, not at the next
 * tick. */
static void on_record(void *instance, uint64_t index, uint16_t type)
{
    (void)index;
    struct vg_protect_svc *svc = instance;
    if (!svc->primary || evtimer_pending(svc->kick, NULL) ||
        (type != VG_REC_ALERT && type != VG_REC_CONFIG && type != VG_REC_PROTECT))
        return;
    struct timeval tv = {0, 1000};
    evtimer_add(svc->kick, &tv);
}

static void metrics(void *instance, vg_buf_t *out)
{
    struct vg_protect_svc *svc = instance;
    const vg_state_t *st = vg_member_state(svc->member);
    vg_buf_printf(out,
                  "# HELP vigil_protect_decisions_total Switchover decisions this member took "
                  "as primary, by outcome.\n"
                  "# TYPE vigil_protect_decisions_total counter\n"
                  "vigil_protect_decisions_total{decision=\"switchover\"} %llu\n"
                  "vigil_protect_decisions_total{decision=\"declined\"} %llu\n"
                  "vigil_protect_decisions_total{decision=\"failed\"} %llu\n"
                  "# HELP vigil_protect_frozen 1 while an operator froze automatic "
                  "switchover.\n"
                  "# TYPE vigil_protect_frozen gauge\n"
                  "vigil_protect_frozen %d\n",
                  (unsigned long long)svc->n_switchovers, (unsigned long long)svc->n_declined,
                  (unsigned long long)svc->n_failed, vg_protect_frozen(st) != NULL);
}

static const char *const kinds[] = {"FailoverPolicy", NULL};
static const char *const cli[] = {"protect", NULL};

const struct vg_service vg_protect_service = {
    .name = "protect",
    .kinds = kinds,
    .data = &vg_protect_data,
    .start = start,
    .stop = stop,
    .on_role = on_role,
    .on_commit = on_commit,
    .on_record = on_record,
    .metrics = metrics,
    .routes = vg_protect_routes,
    .cli = cli,
};

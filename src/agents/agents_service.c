/*
 * agents_service.c - the agents as a service (service.h): they move the
 * company's services (Service objects) with the primary role. On becoming
 * the acting primary, once its epoch's configuration event has committed
 * (so the reason is known: switchover, failover, forced), the member posts
 * a move of every service to its own site; on every Service change it
 * moves again (idempotent: a promoted server is only checked). Every other
 * member only fences its own site's PostgreSQL, from the moment it starts
 * (the runner tells it its role first of all) and at every probe.
 *
 * The worker thread (agents_worker.c) does the blocking work; its reports
 * come back here through an eventfd. The acting primary records moves and
 * steps as cluster events (VG_REC_EVENT, kind service_move and
 * service_step, listed by `vigil events`); another member cannot write, so
 * its own fences are logged and shown by its GET /api/v1/services, and
 * the primary's probes report what they find at its site.
 */
#include "agents/agents_int.h"

#include "agents/agents.h"
#include "core/say.h"
#include "store/record.h"

#define TICK_MS        100
#define CONFIG_WAIT_MS 1500 /* a move waits this long at most for its epoch's event */

static const char *member_name(const struct vg_agents_svc *svc)
{
    return svc->cluster ? vg_cluster_member_name(svc->cluster) : "standalone";
}

static uint64_t cluster_epoch(const struct vg_agents_svc *svc)
{
    if (!svc->cluster)
        return vg_state_epoch(vg_member_state(svc->member));
    json_t *st = vg_cluster_status(svc->cluster);
    uint64_t epoch = (uint64_t)json_integer_value(json_object_get(st, "epoch"));
    json_decref(st);
    return epoch;
}

static struct vg_agents_job *job_new(struct vg_agents_svc *svc, enum vg_agents_job_kind kind)
{
    json_t *objects = NULL;
    if (!svc->site[0]) /* a member of no site has no endpoint to act on */
        return NULL;
    if (vg_state_list_unredacted(vg_member_state(svc->member), "Service", NULL, &objects, NULL,
                                 0))
        return NULL;
    struct vg_agents_job *job = vg_calloc(1, sizeof *job);
    job->kind = kind;
    vg_agent_specs_from(objects, &job->specs, &job->n_specs);
    json_decref(objects);
    snprintf(job->site, sizeof job->site, "%s", svc->site);
    job->primary = svc->primary;
    job->term = svc->primary ? svc->term : 0;
    job->epoch = svc->epoch;
    if (!job->n_specs) {
        vg_agents_job_free(job);
        return NULL;
    }
    return job;
}

static void post_probe(struct vg_agents_svc *svc)
{
    svc->last_probe = vg_mono_ms();
    struct vg_agents_job *job = job_new(svc, VG_AGENTS_PROBE);
    if (job)
        vg_agents_worker_post(svc->worker, job);
}

/* The reason of this epoch's move: its configuration event's op once it
 * has committed; NULL while it may still come. */
static const char *move_reason(struct vg_agents_svc *svc)
{
    if (svc->pending_reason[0])
        return svc->pending_reason;
    json_t *last =
        json_object_get(vg_state_cluster(vg_member_state(svc->member)), "last_change");
    json_t *config = json_object_get(last, "config");
    uint64_t epoch = (uint64_t)json_integer_value(json_object_get(config, "epoch"));
    const char *op = json_string_value(json_object_get(config, "op"));
    if (!svc->cluster)
        return "standalone";
    if (op && epoch == svc->epoch)
        return op;
    return vg_mono_ms() - svc->primary_since >= CONFIG_WAIT_MS ? "resumed" : NULL;
}

static void post_move(struct vg_agents_svc *svc)
{
    const char *reason = move_reason(svc);
    if (!reason)
        return;
    svc->move_pending = 0;
    struct vg_agents_job *job = job_new(svc, VG_AGENTS_MOVE);
    if (job) {
        snprintf(job->reason, sizeof job->reason, "%s", reason);
        vg_agents_worker_post(svc->worker, job);
        svc->n_moves++;
    }
    svc->pending_reason[0] = '\0';
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct vg_agents_svc *svc = arg;
    if (svc->primary && svc->move_pending)
        post_move(svc);
    if (vg_mono_ms() - svc->last_probe >= VG_AGENTS_PROBE_MS &&
        !vg_agents_worker_busy(svc->worker))
        post_probe(svc);
}

/* ---- reports from the worker ---- */

static void record_event(struct vg_agents_svc *svc, const char *kind, const char *severity,
                         json_t *fields, const char *msg)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "time",
                           json_string_value(json_object_get(fields, "time")), "severity",
                           severity, "kind", kind, "member", member_name(svc), "epoch",
                           (json_int_t)svc->epoch, "message", msg);
    const char *key;
    json_t *v;
    json_object_foreach(fields, key, v)
    {
        if (strcmp(key, "type") && strcmp(key, "time") && strcmp(key, "epoch"))
            json_object_set(ev, key, v);
    }
    vg_say(vg_say_level_of(severity), "%s", msg);
    if (svc->primary)
        vg_member_submit(svc->member, VG_REC_EVENT, ev, NULL, NULL, NULL);
    json_decref(ev);
}

static json_t *seen_at(struct vg_agents_svc *svc, const char *service, const char *site)
{
    json_t *per = json_object_get(svc->seen, service);
    if (!per) {
        per = json_object();
        json_object_set_new(svc->seen, service, per);
    }
    json_t *at = json_object_get(per, site);
    if (!at) {
        at = json_object();
        json_object_set_new(per, site, at);
    }
    return at;
}

static void on_step(struct vg_agents_svc *svc, json_t *r)
{
    const char *result = json_string_value(json_object_get(r, "result"));
    const char *service = json_string_value(json_object_get(r, "service"));
    const char *site = json_string_value(json_object_get(r, "site"));
    const char *step = json_string_value(json_object_get(r, "step"));
    int enforced = json_is_true(json_object_get(r, "enforced"));
    const char *severity = !strcmp(result, "ok")            ? (enforced ? "warning" : "info")
                           : !strcmp(result, "unreachable") ? "warning"
                                                            : "critical";
    if (strcmp(result, "ok") && strcmp(result, "unreachable"))
        svc->n_steps_failed++;
    if (!strcmp(step, "fence") && !strcmp(result, "ok"))
        svc->n_fences++;
    char msg[900];
    snprintf(msg, sizeof msg, "service %s: %s at %s %s in %lld ms: %s", service, step, site,
             result, (long long)json_integer_value(json_object_get(r, "duration_ms")),
             json_string_value(json_object_get(r, "message")));
    json_object_set(seen_at(svc, service, site), "last", r);
    record_event(svc, "service_step", severity, r, msg);
}

static void on_move(struct vg_agents_svc *svc, json_t *r)
{
    const char *phase = json_string_value(json_object_get(r, "phase"));
    const char *site = json_string_value(json_object_get(r, "site"));
    const char *reason = json_string_value(json_object_get(r, "reason"));
    json_int_t failed = json_integer_value(json_object_get(r, "failed"));
    char msg[512];
    if (!strcmp(phase, "start")) {
        json_object_clear(svc->move);
        snprintf(msg, sizeof msg, "moving %lld service(s) to %s (%s, epoch %lld)",
                 (long long)json_integer_value(json_object_get(r, "services")), site, reason,
                 (long long)json_integer_value(json_object_get(r, "epoch")));
    } else if (failed)
        snprintf(msg, sizeof msg, "move to %s (%s) ended in %lld ms: %lld service(s) not moved",
                 site, reason, (long long)json_integer_value(json_object_get(r, "duration_ms")),
                 (long long)failed);
    else
        snprintf(msg, sizeof msg,
                 "move to %s (%s) complete in %lld ms: every service answers "
                 "there",
                 site, reason,
                 (long long)json_integer_value(json_object_get(r, "duration_ms")));
    json_object_set(svc->move, phase, r);
    record_event(svc, "service_move", failed ? "critical" : "info", r, msg);
}

static void on_reports(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct vg_agents_svc *svc = arg;
    json_t *reports = vg_agents_worker_take(svc->worker);
    size_t i;
    json_t *r;
    json_array_foreach(reports, i, r)
    {
        const char *type = json_string_value(json_object_get(r, "type"));
        if (!strcmp(type, "step"))
            on_step(svc, r);
        else if (!strcmp(type, "move"))
            on_move(svc, r);
        else {
            json_t *at = seen_at(svc, json_string_value(json_object_get(r, "service")),
                                 json_string_value(json_object_get(r, "site")));
            json_object_set(at, "probe", r);
        }
    }
    json_decref(reports);
}

/* ---- lifecycle ---- */

static void stop(void *instance)
{
    struct vg_agents_svc *svc = instance;
    if (!svc)
        return;
    if (svc->tick)
        event_free(svc->tick);
    if (svc->ev_reports)
        event_free(svc->ev_reports);
    vg_agents_worker_free(svc->worker);
    json_decref(svc->seen);
    json_decref(svc->move);
    free(svc);
}

static int start(const struct vg_service_env *env, void **instance, char *err, size_t errlen)
{
    struct vg_agents_svc *svc = vg_calloc(1, sizeof *svc);
    svc->base = env->base;
    svc->member = env->member;
    svc->cluster = env->cluster;
    snprintf(svc->site, sizeof svc->site, "%s", env->site ? env->site : "");
    svc->seen = json_object();
    svc->move = json_object();
    if (!svc->site[0])
        vg_warn("agents: this member has no site: it moves and fences no Service");
    int rc = vg_agents_worker_new(&svc->worker, err, errlen);
    if (rc) {
        stop(svc);
        return rc;
    }
    svc->ev_reports = event_new(env->base, vg_agents_worker_fd(svc->worker),
                                EV_READ | EV_PERSIST, on_reports, svc);
    event_add(svc->ev_reports, NULL);
    svc->tick = event_new(env->base, -1, EV_PERSIST, on_tick, svc);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(svc->tick, &tv);
    *instance = svc;
    return 0;
}

static void on_role(void *instance, enum vg_service_role role)
{
    struct vg_agents_svc *svc = instance;
    int primary = role == VG_SERVICE_PRIMARY;
    if (primary == svc->primary && (primary || svc->last_probe))
        return;
    svc->primary = primary;
    svc->epoch = primary ? cluster_epoch(svc) : 0;
    svc->term += primary;
    vg_agents_worker_set_primary(svc->worker, primary ? svc->term : 0);
    if (primary) {
        svc->primary_since = vg_mono_ms();
        svc->move_pending = 1;
        post_move(svc);
        return;
    }
    /* not (or no longer) the acting primary: fence this site's servers
     * before anything else (a probe fences what accepts writes) */
    svc->move_pending = 0;
    post_probe(svc);
}

static void on_commit(void *instance, const vg_change_t *change)
{
    struct vg_agents_svc *svc = instance;
    const char *kind = json_string_value(json_object_get(change->object, "kind"));
    if (!kind || strcmp(kind, "Service"))
        return;
    if (svc->primary) {
        svc->move_pending = 1;
        snprintf(svc->pending_reason, sizeof svc->pending_reason, "applied");
        post_move(svc);
    } else
        post_probe(svc);
}

static void on_record(void *instance, uint64_t index, uint16_t type)
{
    (void)index;
    struct vg_agents_svc *svc = instance;
    if (type != VG_REC_CONFIG || !svc->primary)
        return;
    svc->epoch = cluster_epoch(svc); /* a mirror lost or restored: same term */
    if (svc->move_pending)
        post_move(svc);
}

static void metrics(void *instance, vg_buf_t *out)
{
    struct vg_agents_svc *svc = instance;
    vg_buf_printf(out,
                  "# HELP vigil_service_moves_total Moves of the services this member started "
                  "as primary.\n"
                  "# TYPE vigil_service_moves_total counter\n"
                  "vigil_service_moves_total %llu\n"
                  "# HELP vigil_service_steps_failed_total Agent steps that failed or were "
                  "skipped.\n"
                  "# TYPE vigil_service_steps_failed_total counter\n"
                  "vigil_service_steps_failed_total %llu\n"
                  "# HELP vigil_service_fences_total Servers this member fenced.\n"
                  "# TYPE vigil_service_fences_total counter\n"
                  "vigil_service_fences_total %llu\n",
                  (unsigned long long)svc->n_moves, (unsigned long long)svc->n_steps_failed,
                  (unsigned long long)svc->n_fences);
}

static const struct vg_route routes[] = {
    {EVHTTP_REQ_GET, "/api/v1/services", VG_PERM_READ, 0, vg_api_services},
    {0, NULL, 0, 0, NULL},
};

static const char *const kinds[] = {"Service", NULL};
static const char *const cli[] = {"services", NULL};

const struct vg_service vg_agents_service = {
    .name = "agents",
    .kinds = kinds,
    .start = start,
    .stop = stop,
    .on_role = on_role,
    .on_commit = on_commit,
    .on_record = on_record,
    .metrics = metrics,
    .routes = routes,
    .cli = cli,
};

/*
 * incident_service.c - incidents and paging as a service (service.h): its
 * lifecycle (the engine ticks only on the acting primary), the directory
 * rebuilt when an on-call object changes, and its metrics. Its routes are
 * in incident_routes.c.
 */
#include "incident/incident_int.h"

#include "core/say.h"
#include "store/record.h"
#include "incident/incident_routes.h"

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct vg_incident_svc *svc = arg;
    if (!svc->primary)
        return;
    if (svc->dirty) {
        vg_directory_load(&svc->dir, vg_member_state(svc->member));
        svc->dirty = 0;
        svc->rescan = 1; /* a policy or silence changed: due times may have */
    }
    uint64_t t0 = vg_mono_us();
    vg_incident_tick(svc);
    svc->tick_cost_us = vg_mono_us() - t0;
    if (svc->work_more && !evtimer_pending(svc->kick, NULL)) { /* the rest, soon */
        struct timeval tv = {0, (suseconds_t)svc->tick_cost_us};
        evtimer_add(svc->kick, &tv);
    }
}

/* A record that may change what the engine does (a rule state, a cluster
 * event, an incident's own change) runs a tick soon, rather than at the
 * next of the periodic ones: a page goes out milliseconds after the
 * reading that caused it. A tick that took long (thousands of incidents
 * escalating) waits twice its own time after the last, at most
 * KICK_MAX_US: the engine then takes at most about a third of the loop,
 * and the API goes on answering. */
#define KICK_MAX_US 50000

static void on_record(void *instance, uint64_t index, uint16_t type)
{
    (void)index;
    struct vg_incident_svc *svc = instance;
    if (!svc->primary || evtimer_pending(svc->kick, NULL) ||
        (type != VG_REC_ALERT && type != VG_REC_EVENT && type != VG_REC_CONFIG &&
         type != VG_REC_INCIDENT))
        return;
    uint64_t wait_us = svc->tick_cost_us < 1000 ? 0 : 2 * svc->tick_cost_us;
    struct timeval tv = {0, (suseconds_t)(wait_us < KICK_MAX_US ? wait_us : KICK_MAX_US)};
    evtimer_add(svc->kick, &tv);
}

static int start(const struct vg_service_env *env, void **instance, char *err, size_t errlen)
{
    struct vg_incident_svc *svc = vg_calloc(1, sizeof *svc);
    svc->base = env->base;
    svc->member = env->member;
    svc->site = env->site;
    svc->minute_ms = env->minute_ms ? (int64_t)env->minute_ms : 60000;
    snprintf(svc->public_url, sizeof svc->public_url, "%s",
             env->public_url ? env->public_url : "http://127.0.0.1:7700");
    size_t n = strlen(svc->public_url);
    while (n && svc->public_url[n - 1] == '/')
        svc->public_url[--n] = '\0';
    svc->inflight = json_object();
    svc->sending = json_object();
    svc->throttle = json_object();
    vg_due_init(&svc->due);
    svc->rule_open = json_object();
    svc->training_open = json_object();
    svc->alerts_recheck = json_object();
    svc->rescan = 1;
    svc->dirty = 1;
    vg_directory_init(&svc->dir);
    struct vg_pager_opts po = {
        .smtp_url = env->smtp_url,
        .mail_from = env->mail_from ? env->mail_from : "vigil@localhost",
    };
    int rc = vg_pager_new(env->base, &po, &svc->pager, err, errlen);
    if (rc) {
        json_decref(svc->inflight);
        json_decref(svc->sending);
        json_decref(svc->throttle);
        vg_due_release(&svc->due);
        json_decref(svc->rule_open);
        json_decref(svc->training_open);
        json_decref(svc->alerts_recheck);
        vg_directory_release(&svc->dir);
        free(svc);
        return rc;
    }
    svc->tick = event_new(env->base, -1, EV_PERSIST, on_tick, svc);
    svc->kick = evtimer_new(env->base, on_tick, svc);
    /* the lowest priority, the member's flush's: ticks kicked back to back
     * must never keep the records they wait for from committing, nor
     * requests from being read */
    event_priority_set(svc->tick, VG_MEMBER_PRIORITIES - 1);
    event_priority_set(svc->kick, VG_MEMBER_PRIORITIES - 1);
    struct timeval tv = {0, VG_INCIDENT_TICK_MS * 1000};
    event_add(svc->tick, &tv);
    *instance = svc;
    return 0;
}

static void stop(void *instance)
{
    struct vg_incident_svc *svc = instance;
    if (!svc)
        return;
    event_free(svc->tick);
    event_free(svc->kick);
    vg_pager_free(svc->pager);
    vg_incident_sends_free(svc);
    vg_directory_release(&svc->dir);
    json_decref(svc->inflight);
    json_decref(svc->sending);
    json_decref(svc->throttle);
    vg_due_release(&svc->due);
    json_decref(svc->rule_open);
    json_decref(svc->training_open);
    json_decref(svc->alerts_recheck);
    free(svc);
}

static void on_role(void *instance, enum vg_service_role role)
{
    struct vg_incident_svc *svc = instance;
    int primary = role == VG_SERVICE_PRIMARY;
    if (primary == svc->primary)
        return;
    svc->primary = primary;
    /* a new primary decides from the log alone: nothing remembered counts */
    json_object_clear(svc->inflight);
    svc->rescan = 1;
    svc->events_seen = 0;
    svc->dirty = 1;
    if (primary)
        vg_info("incidents: escalating and paging (acting primary)");
}

static void on_commit(void *instance, const vg_change_t *change)
{
    static const char *const watched[] = {"Person",  "Team",   "Schedule", "EscalationPolicy",
                                          "Contact", "Sensor", "Zone",     "Silence",
                                          "MaintenanceWindow", NULL};
    struct vg_incident_svc *svc = instance;
    const char *kind = json_string_value(json_object_get(change->object, "kind"));
    for (size_t i = 0; kind && watched[i]; i++)
        if (!strcmp(kind, watched[i]))
            svc->dirty = 1;
}

static void metrics(void *instance, vg_buf_t *out)
{
    struct vg_incident_svc *svc = instance;
    const vg_state_t *st = vg_member_state(svc->member);
    vg_buf_printf(out,
                  "# HELP vigil_incidents_open Incidents not resolved.\n"
                  "# TYPE vigil_incidents_open gauge\n"
                  "vigil_incidents_open %zu\n"
                  "# HELP vigil_incidents_opened_total Incidents this member opened as primary.\n"
                  "# TYPE vigil_incidents_opened_total counter\n"
                  "vigil_incidents_opened_total %llu\n"
                  "# HELP vigil_incident_escalations_total Escalation steps this member fired.\n"
                  "# TYPE vigil_incident_escalations_total counter\n"
                  "vigil_incident_escalations_total %llu\n"
                  "# HELP vigil_incident_pages_total Pages this member delivered, by outcome.\n"
                  "# TYPE vigil_incident_pages_total counter\n"
                  "vigil_incident_pages_total{outcome=\"delivered\"} %llu\n"
                  "vigil_incident_pages_total{outcome=\"failed\"} %llu\n"
                  "# HELP vigil_incident_pages_throttled_total Times a page waited: its contact "
                  "method had %d pages in the last minute.\n"
                  "# TYPE vigil_incident_pages_throttled_total counter\n"
                  "vigil_incident_pages_throttled_total %llu\n",
                  vg_incidents_n_open(st), (unsigned long long)svc->n_opened,
                  (unsigned long long)svc->n_escalations, (unsigned long long)svc->n_pages_ok,
                  (unsigned long long)svc->n_pages_failed, 10,
                  (unsigned long long)svc->n_throttled);
    vg_pager_metrics(svc->pager, out);
}

static const char *const kinds[] = {"Person",  "Team",    "Schedule",          "EscalationPolicy",
                                    "Contact", "Silence", "MaintenanceWindow", "Course",
                                    "Completion", NULL};
static const char *const cli[] = {"incidents", "incident", "ack", "resolve", "note",
                                  "oncall",    NULL};

const struct vg_service vg_incident_service = {
    .name = "incidents",
    .kinds = kinds,
    .data = &vg_incidents_data,
    .start = start,
    .stop = stop,
    .on_role = on_role,
    .on_commit = on_commit,
    .on_record = on_record,
    .metrics = metrics,
    .routes = vg_incident_routes,
    .cli = cli,
};

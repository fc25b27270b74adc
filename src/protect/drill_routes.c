/*
 * drill_routes.c - DR drills (docs/protect.md, "Drills"): the routes
 * (POST /api/v1/drills, GET /api/v1/drills, GET /api/v1/drills/{id}) and
 * the drill's progress, driven by the protect service's tick on whichever
 * member is the acting primary.
 *
 * A drill is a report record in the protect slice (drill.h), so both sites
 * hold it and the member that becomes primary mid-drill carries it on:
 *   1. the primary checks the guard rails (no critical condition at either
 *      site, mirror in sync, not frozen, no drill running), writes the
 *      report ("running", step "switchover") and a marker record, and once
 *      the marker is committed asks for a planned switchover;
 *   2. the new primary sees the running step aimed at it, waits for the
 *      cluster's switchover event and the agents' move of its epoch,
 *      measures them (drill.c), checks the marker is in its state, and
 *      either finishes the report or, with switch_back, writes the next
 *      step and its marker and switches back; the first primary then
 *      finishes it the same way.
 * A step that does not complete within VG_DRILL_STEP_MS fails the drill.
 * Nothing here blocks: every wait is a look at the state on a tick.
 */
#include "protect/protect_int.h"

#include "api/api_int.h"
#include "cluster/cluster.h"
#include "core/say.h"
#include "core/timefmt.h"
#include "protect/drill.h"
#include "store/record.h"

#define VG_DRILL_STEP_MS    180000 /* a step's switchover and services' moves */
#define VG_DRILL_REWRITE_MS 5000   /* a report written and not seen committed by then */

static const char *s_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *me_of(struct vg_protect_svc *svc)
{
    return svc->cluster ? vg_cluster_member_name(svc->cluster) : "standalone";
}

/* The running drill, or NULL. */
static json_t *running_drill(const vg_state_t *st)
{
    json_t *drills = vg_protect_drills(st);
    for (size_t i = json_array_size(drills); i-- > 0;) {
        json_t *d = json_array_get(drills, i);
        if (!strcmp(s_of(d, "state") ? s_of(d, "state") : "", "running"))
            return d;
    }
    return NULL;
}

/* The record of the report drill, its rev raised (changed in place): a
 * new ref. Notes what this member wrote, for the tick to wait for. */
static json_t *drill_record(struct vg_protect_svc *svc, json_t *drill)
{
    json_int_t rev = json_integer_value(json_object_get(drill, "rev")) + 1;
    json_object_set_new(drill, "rev", json_integer(rev));
    json_object_del(drill, "marks"); /* the slice keeps its own */
    svc->drill_rev = rev;
    svc->drill_written_at = vg_protect_now_ms();
    return json_pack("{s:s,s:O,s:I}", "op", "drill", "drill", drill, "time",
                     (json_int_t)vg_protect_now_ms());
}

/* Writes the report (drill's rev is raised). */
static int write_drill(struct vg_protect_svc *svc, json_t *drill)
{
    json_t *p = drill_record(svc, drill);
    int rc = vg_member_submit(svc->member, VG_REC_PROTECT, p, NULL, NULL, NULL);
    json_decref(p);
    if (rc)
        vg_warn("protect: cannot record drill %s: %s", s_of(drill, "id"), strerror(-rc));
    return rc;
}

static void drill_event(struct vg_protect_svc *svc, const json_t *drill, const char *severity,
                        const char *message)
{
    json_t *extra = json_pack("{s:s}", "drill", s_of(drill, "id"));
    vg_protect_event(svc, "drill", severity, message, extra);
    json_decref(extra);
}

/* Ends a drill: passed, or failed with why (may be NULL for passed). */
static void finish(struct vg_protect_svc *svc, const json_t *current, const char *why)
{
    json_t *d = json_deep_copy(current);
    char msg[900];
    json_object_set_new(d, "state", json_string(why ? "failed" : "passed"));
    if (why)
        json_object_set_new(d, "why", json_string(why));
    json_object_set_new(d, "phase", json_string("done"));
    json_object_set_new(d, "ended", json_integer((json_int_t)vg_protect_now_ms()));
    snprintf(msg, sizeof msg, "DR drill %s %s%s%.700s", s_of(d, "id"),
             why ? "failed" : "passed", why ? ": " : "", why ? why : "");
    drill_event(svc, d, why ? "critical" : "info", msg);
    write_drill(svc, d);
    json_decref(d);
}

/* ---- starting a step's switchover ---- */

struct drill_switch {
    struct vg_protect_svc *svc; /* NULL once the service stopped */
    char id[64], peer[64], reason[200];
};

static void step_failed(struct vg_protect_svc *svc, const char *id, const char *why)
{
    const json_t *d = vg_protect_drill(vg_member_state(svc->member), id);
    if (d && svc->primary && !strcmp(s_of(d, "state"), "running"))
        finish(svc, d, why);
}

static void on_switched(void *ctx, int status, json_t *body)
{
    struct drill_switch *ds = ctx;
    if (ds->svc) {
        ds->svc->drill_switch = NULL;
        if (status != 200) {
            char why[600];
            snprintf(why, sizeof why, "the switchover to %s was refused: %.500s", ds->peer,
                     s_of(body, "error") ? s_of(body, "error") : "no reason given");
            step_failed(ds->svc, ds->id, why);
        }
    }
    free(ds);
}

/* The marker is committed on both sites: switch over now. */
static void on_marked(void *ctx, int code, const vg_apply_result_t *res)
{
    (void)res;
    struct drill_switch *ds = ctx;
    struct vg_protect_svc *svc = ds->svc;
    if (!svc) {
        free(ds);
        return;
    }
    if (code < 0 || !svc->primary || !svc->cluster) {
        svc->drill_switch = NULL;
        step_failed(svc, ds->id, "the marker was not committed before the switchover");
        free(ds);
        return;
    }
    vg_cluster_switchover(svc->cluster, ds->peer, ds->reason, "drill", on_switched, ds);
}

/* Writes the marker of step phase, then switches over to peer. */
static int start_step(struct vg_protect_svc *svc, const char *id, const char *phase,
                      const char *peer)
{
    struct drill_switch *ds = vg_calloc(1, sizeof *ds);
    ds->svc = svc;
    snprintf(ds->id, sizeof ds->id, "%s", id);
    snprintf(ds->peer, sizeof ds->peer, "%s", peer);
    snprintf(ds->reason, sizeof ds->reason, "DR drill %s (%s)", id, phase);
    json_t *mark = json_pack("{s:s,s:s,s:s,s:I}", "op", "drill_mark", "id", id, "phase", phase,
                             "time", (json_int_t)vg_protect_now_ms());
    svc->drill_switch = ds;
    int rc = vg_member_submit(svc->member, VG_REC_PROTECT, mark, on_marked, ds, NULL);
    json_decref(mark);
    if (rc) {
        svc->drill_switch = NULL;
        free(ds);
    }
    return rc;
}

static json_t *new_step(const char *name, const char *from, const char *to, uint64_t epoch)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "name", name, "from", from, "to", to,
                     "from_epoch", (json_int_t)epoch, "started",
                     (json_int_t)vg_protect_now_ms(), "result", "running");
}

/* ---- the tick ---- */

static int has_mark(const json_t *drill, const char *phase)
{
    size_t i;
    const json_t *m;
    json_array_foreach(
        json_object_get(drill, "marks"), i,
        m) if (!strcmp(s_of(m, "phase") ? s_of(m, "phase") : "", phase)) return 1;
    return 0;
}

static int n_services(const vg_state_t *st)
{
    json_t *items = NULL;
    char err[64];
    if (vg_state_list(st, "Service", NULL, &items, err, sizeof err))
        return 0;
    int n = (int)json_array_size(items);
    json_decref(items);
    return n;
}

/* The step aimed at this member has completed: the next step or the end. */
static void step_done(struct vg_protect_svc *svc, json_t *d, json_t *step,
                      const struct vg_protect_in *in)
{
    json_t *loss = json_object_get(d, "data_loss");
    if (!has_mark(d, s_of(step, "name")))
        json_object_set_new(
            loss, "markers_lost",
            json_integer(json_integer_value(json_object_get(loss, "markers_lost")) + 1));
    if (!strcmp(s_of(step, "result"), "ok") && !strcmp(s_of(step, "name"), "switchover") &&
        json_is_true(json_object_get(d, "switch_back"))) {
        if (!in->peer_in_sync) /* the old primary is catching up: next tick */
            return;
        uint64_t epoch = vg_state_epoch(vg_member_state(svc->member));
        json_array_append_new(json_object_get(d, "steps"),
                              new_step("switch_back", me_of(svc), in->peer, epoch));
        json_object_set_new(
            loss, "markers_written",
            json_integer(json_integer_value(json_object_get(loss, "markers_written")) + 1));
        json_object_set_new(d, "phase", json_string("switch_back"));
        if (!write_drill(svc, d) && start_step(svc, s_of(d, "id"), "switch_back", in->peer))
            finish(svc, d, "cannot write the marker of the switch back");
        return;
    }
    const char *why = NULL;
    char text[300];
    if (json_integer_value(json_object_get(loss, "markers_lost"))) {
        snprintf(text, sizeof text, "%lld marker(s) written before a switchover are missing",
                 (long long)json_integer_value(json_object_get(loss, "markers_lost")));
        why = text;
    } else if (strcmp(s_of(step, "result"), "ok")) {
        snprintf(text, sizeof text, "step %s: %.200s", s_of(step, "name"),
                 s_of(step, "message") ? s_of(step, "message") : "failed");
        why = text;
    }
    finish(svc, d, why);
}

void vg_protect_drill_tick(struct vg_protect_svc *svc, const struct vg_protect_in *in,
                           int acting)
{
    const vg_state_t *st = vg_member_state(svc->member);
    const json_t *current = running_drill(st);
    int64_t now = vg_protect_now_ms();
    if (!acting || !current || svc->drill_switch)
        return;
    /* what this member wrote last is not committed yet: wait for it */
    if (json_integer_value(json_object_get(current, "rev")) < svc->drill_rev &&
        now - svc->drill_written_at < VG_DRILL_REWRITE_MS)
        return;
    json_t *d = json_deep_copy(current);
    json_t *steps = json_object_get(d, "steps");
    json_t *step = json_array_get(steps, json_array_size(steps) - 1);
    const char *to = s_of(step, "to"), *me = me_of(svc);
    uint64_t epoch = vg_state_epoch(st);
    int64_t started = json_integer_value(json_object_get(step, "started"));
    if (!step || !to) {
        finish(svc, d, "the report has no step to carry on");
    } else if (!strcmp(to, me) &&
               epoch > (uint64_t)json_integer_value(json_object_get(step, "from_epoch"))) {
        if (now - started > VG_DRILL_STEP_MS)
            finish(svc, d, "the services' move (or the mirror's catching up) took too long");
        else if (vg_drill_measure(vg_state_events(st), epoch, n_services(st) > 0, step))
            step_done(svc, d, step, in);
    } else if (now - started > VG_DRILL_STEP_MS) {
        char why[200];
        snprintf(why, sizeof why, "step %s: the primary role did not move to %s in time",
                 s_of(step, "name"), to);
        finish(svc, d, why);
    }
    json_decref(d);
}

void vg_protect_drill_stop(struct vg_protect_svc *svc)
{
    if (svc->drill_switch) /* its callbacks free it */
        svc->drill_switch->svc = NULL;
}

/* ---- routes ---- */

static struct vg_protect_svc *svc_of(struct vg_call *call)
{
    return call->service;
}

/* Why a drill may not start now, or 0: checked against what protect
 * itself would need to switch over. */
static int refused(struct vg_protect_svc *svc, const struct vg_protect_in *in, int acting,
                   char *why, size_t whylen)
{
    struct vg_protect_policy dflt;
    const struct vg_protect_policy *p = in->policy;
    char what[160];
    if (!p) {
        vg_protect_policy_parse(NULL, &dflt);
        p = &dflt;
    }
    if (!svc->cluster || !in->peer)
        return snprintf(why, whylen, "a drill needs a two-site cluster"), 1;
    if (!acting)
        return snprintf(why, whylen, "this member is not the acting primary"), 1;
    if (running_drill(vg_member_state(svc->member)) || svc->drill_switch)
        return snprintf(why, whylen, "a drill is already running"), 1;
    if (svc->switching)
        return snprintf(why, whylen, "the protect service is switching over"), 1;
    if (in->frozen)
        return snprintf(why, whylen, "automatic switchover is frozen by %s: %s",
                        s_of(in->frozen, "by") ? s_of(in->frozen, "by") : "?",
                        s_of(in->frozen, "reason") ? s_of(in->frozen, "reason") : ""),
               1;
    if (!in->peer_in_sync)
        return snprintf(why, whylen, "the mirror %s is not in sync", in->peer), 1;
    if (vg_protect_site_critical(p, in->alerts, &in->places, in->site, what, sizeof what))
        return snprintf(why, whylen, "site %s has a critical condition (%s)", in->site, what),
               1;
    if (!in->peer_site)
        return snprintf(why, whylen, "the mirror's site cannot be told (see member_sites)"), 1;
    if (vg_protect_site_critical(p, in->alerts, &in->places, in->peer_site, what, sizeof what))
        return snprintf(why, whylen, "site %s has a critical condition (%s)", in->peer_site,
                        what),
               1;
    return 0;
}

static int parse_body(struct vg_call *call, const json_t *body)
{
    const char *key;
    json_t *v;
    if (!json_is_object(body)) {
        vg_api_reply_error(call->srv, call->req, 400, NULL, "body must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)body, key, v)
    {
        if (!strcmp(key, "switch_back") && !json_is_boolean(v)) {
            vg_api_reply_error(call->srv, call->req, 400, key, "switch_back: true or false");
            return -1;
        }
        if (strcmp(key, "reason") && strcmp(key, "switch_back")) {
            vg_api_reply_error(call->srv, call->req, 400, key, "unknown field '%s'", key);
            return -1;
        }
    }
    return vg_protect_check_reason(call, json_object_get(body, "reason"), 0);
}

static json_t *new_drill(struct vg_protect_svc *svc, const struct vg_protect_in *in,
                         const char *by, const json_t *body, uint64_t epoch)
{
    char id[40], at[32];
    int64_t now = vg_protect_now_ms();
    vg_time_format_utc(now, at); /* 2026-05-01T12:00:00.000Z -> 20260501-120000-000 */
    snprintf(id, sizeof id, "%.4s%.2s%.2s-%.2s%.2s%.2s-%.3s", at, at + 5, at + 8, at + 11,
             at + 14, at + 17, at + 20);
    const json_t *reason = json_object_get(body, "reason");
    json_t *d =
        json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:s,s:s,s:[o],s:{s:i,s:i},s:i}", "id", id, "state",
                  "running", "reason", reason ? json_string_value(reason) : "", "by", by,
                  "switch_back", json_is_true(json_object_get(body, "switch_back")), "started",
                  (json_int_t)now, "from", me_of(svc), "phase", "switchover", "steps",
                  new_step("switchover", me_of(svc), in->peer, epoch), "data_loss",
                  "markers_written", 1, "markers_lost", 0, "rev", 0);
    return d;
}

void vg_protect_drill_run(struct vg_call *call)
{
    struct vg_protect_svc *svc = svc_of(call);
    json_t *body = vg_api_body_json(call);
    struct vg_protect_in in;
    json_t *status = NULL;
    char why[600], by[128], msg[900];
    if (!body || parse_body(call, body))
        goto out;
    vg_protect_gather(svc, vg_protect_now_ms(), &in, &status);
    if (refused(svc, &in, json_is_true(json_object_get(status, "acting")), why, sizeof why)) {
        vg_api_reply_error(call->srv, call->req, 409, NULL, "drill refused: %s", why);
        goto out;
    }
    vg_api_actor_name(call, by, sizeof by);
    json_t *d = new_drill(svc, &in, by, body, vg_state_epoch(vg_member_state(svc->member)));
    snprintf(msg, sizeof msg, "DR drill %s started by %s: planned switchover to %s%s%.500s",
             s_of(d, "id"), by, in.peer, *s_of(d, "reason") ? ": " : "", s_of(d, "reason"));
    drill_event(svc, d, "info", msg);
    /* answered once the report is committed; the marker after it, then
     * the switchover once the marker is committed too */
    json_t *answer = json_deep_copy(d), *p = drill_record(svc, d);
    json_object_del(answer, "rev");
    vg_api_submit_answer(call, VG_REC_PROTECT, p, 202, answer);
    json_decref(p);
    if (start_step(svc, s_of(d, "id"), "switchover", in.peer))
        finish(svc, d, "cannot write the marker before the switchover");
    json_decref(d);
out:
    json_decref(status);
    json_decref(body);
}

void vg_protect_drill_list(struct vg_call *call)
{
    const vg_state_t *st = vg_member_state(svc_of(call)->member);
    json_t *drills = vg_protect_drills(st), *items = json_array();
    for (size_t i = json_array_size(drills); i-- > 0;) {
        const json_t *d = json_array_get(drills, i);
        json_t *row = json_object();
        static const char *const keys[] = {"id",      "state", "why",         "reason",   "by",
                                           "started", "ended", "switch_back", "data_loss"};
        for (size_t k = 0; k < VG_ARRAY_LEN(keys); k++)
            if (json_object_get(d, keys[k]))
                json_object_set(row, keys[k], json_object_get(d, keys[k]));
        json_array_append_new(items, row);
    }
    json_t *out = json_pack("{s:o}", "drills", items);
    vg_api_reply_json(call->srv, call->req, 200, out);
    json_decref(out);
}

void vg_protect_drill_get(struct vg_call *call)
{
    const vg_state_t *st = vg_member_state(svc_of(call)->member);
    const json_t *d = vg_protect_drill(st, call->args[0]);
    if (!d) {
        vg_api_reply_error(call->srv, call->req, 404, NULL, "no drill '%s'", call->args[0]);
        return;
    }
    json_t *out = json_deep_copy(d);
    json_object_del(out, "rev");
    vg_api_reply_json(call->srv, call->req, 200, out);
    json_decref(out);
}

/*
 * protect_routes.c - the protect service's routes (docs/api.md): what it
 * would decide now and what it decided (GET /api/v1/protect), and the
 * operator's freeze (POST /api/v1/protect/freeze, /unfreeze). A freeze is
 * a record, so both sites and a new primary hold it.
 */
#include "protect/protect_int.h"

#include "api/api_int.h"
#include "cluster/cluster.h"
#include "store/record.h"

#define STATUS_DECISIONS 20 /* newest decisions in the status */

static struct vg_protect_svc *svc_of(struct vg_call *call)
{
    return call->service;
}

static void set_or_null(json_t *o, const char *key, const json_t *v)
{
    json_object_set_new(o, key, v ? json_deep_copy(v) : json_null());
}

static json_t *newest(const json_t *decisions, size_t n)
{
    json_t *out = json_array();
    size_t total = json_array_size(decisions);
    for (size_t i = total > n ? total - n : 0; i < total; i++)
        json_array_append(out, json_array_get(decisions, i));
    return out;
}

/* The decision as this member sees it now. */
static void add_now(struct vg_protect_svc *svc, json_t *out)
{
    int64_t now = vg_protect_now_ms();
    struct vg_protect_in in;
    struct vg_protect_decision d;
    json_t *status;
    vg_protect_gather(svc, now, &in, &status);
    int acting = json_is_true(json_object_get(status, "acting"));
    json_object_set_new(out, "deciding", json_boolean(acting));
    json_object_set_new(out, "policy", in.policy ? json_string(in.policy->name) : json_null());
    json_object_set_new(out, "mirror", in.peer ? json_string(in.peer) : json_null());
    json_object_set_new(out, "mirror_site",
                        in.peer_site ? json_string(in.peer_site) : json_null());
    json_object_set_new(out, "mirror_in_sync", json_boolean(in.peer_in_sync));
    if (in.policy) {
        json_object_set_new(out, "hold_s", json_real((double)in.policy->hold_ms / 1000));
        json_object_set_new(out, "cooldown_s",
                            json_real((double)in.policy->cooldown_ms / 1000));
    }
    int64_t until =
        in.policy && in.last_switchover_ms ? in.last_switchover_ms + in.policy->cooldown_ms : 0;
    json_object_set_new(out, "cooldown_until",
                        until > now ? json_integer((json_int_t)until) : json_null());
    if (svc->cluster && !acting) {
        const char *primary = json_string_value(json_object_get(status, "primary"));
        char why[160];
        snprintf(why, sizeof why, "this member is not the acting primary; %s decides",
                 primary ? primary : "the primary");
        json_object_set_new(out, "state", json_string("standby"));
        json_object_set_new(out, "reason", json_string(why));
    } else {
        vg_protect_decide(&in, &d);
        json_object_set_new(out, "state", json_string(vg_protect_action_name(d.action)));
        json_object_set_new(out, "reason", json_string(d.reason));
        if (d.action >= VG_PROTECT_HOLDING) {
            json_object_set_new(out, "condition",
                                json_string(vg_protect_cond_name(d.hit.cond)));
            json_object_set_new(out, "since", json_integer((json_int_t)d.hit.since_ms));
        }
        if (d.code)
            json_object_set_new(out, "code", json_string(d.code));
    }
    json_decref(status);
}

static void route_status(struct vg_call *call)
{
    struct vg_protect_svc *svc = svc_of(call);
    const vg_state_t *st = vg_member_state(svc->member);
    json_t *out = json_pack("{s:s?,s:s?}", "member",
                            svc->cluster ? vg_cluster_member_name(svc->cluster) : NULL, "site",
                            svc->site);
    add_now(svc, out);
    set_or_null(out, "frozen", vg_protect_frozen(st));
    set_or_null(out, "last_switchover", vg_protect_last_switchover(st));
    set_or_null(out, "last_decision", vg_protect_last_decision(st));
    json_object_set_new(out, "decisions", newest(vg_protect_decisions(st), STATUS_DECISIONS));
    vg_api_reply_json(call->srv, call->req, 200, out);
    json_decref(out);
}

/* ---- freeze ---- */


/* A reason: a string of 1..VG_PROTECT_REASON_MAX characters without
 * control bytes (it goes into events, logs and pages). 0 or answered. */
int vg_protect_check_reason(struct vg_call *call, const json_t *v, int required)
{
    size_t chars = 0;
    if (!v && !required)
        return 0;
    if (!json_is_string(v) || !json_string_length(v)) {
        vg_api_reply_error(call->srv, call->req, 400, "reason",
                           "reason: required, a non-empty string saying why");
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            vg_api_reply_error(call->srv, call->req, 400, "reason",
                               "reason: control characters are not allowed");
            return -1;
        }
        chars += (*p & 0xc0) != 0x80;
    }
    if (chars > VG_PROTECT_REASON_MAX ||
        json_string_length(v) != strlen(json_string_value(v))) {
        vg_api_reply_error(call->srv, call->req, 400, "reason",
                           "reason: at most %d characters, no NUL", VG_PROTECT_REASON_MAX);
        return -1;
    }
    return 0;
}

static int only_reason(struct vg_call *call, const json_t *body)
{
    const char *key;
    json_t *v;
    if (!json_is_object(body)) {
        vg_api_reply_error(call->srv, call->req, 400, NULL, "body must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "reason")) {
            vg_api_reply_error(call->srv, call->req, 400, key, "unknown field '%s'", key);
            return -1;
        }
    }
    return 0;
}

static void freeze_change(struct vg_call *call, int freeze)
{
    struct vg_protect_svc *svc = svc_of(call);
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    const json_t *reason = json_object_get(body, "reason");
    if (only_reason(call, body) || vg_protect_check_reason(call, reason, freeze)) {
        json_decref(body);
        return;
    }
    char by[128], message[1200];
    vg_api_actor_name(call, by, sizeof by);
    int64_t now = vg_protect_now_ms();
    json_t *p = json_pack("{s:s,s:s,s:I}", "op", freeze ? "freeze" : "unfreeze", "by", by,
                          "time", (json_int_t)now);
    if (reason)
        json_object_set(p, "reason", (json_t *)reason);
    if (freeze)
        snprintf(message, sizeof message, "automatic switchover frozen by %s: %s", by,
                 json_string_value(reason));
    else
        snprintf(message, sizeof message, "automatic switchover unfrozen by %s%s%s", by,
                 reason ? ": " : "", reason ? json_string_value(reason) : "");
    json_t *extra = json_pack("{s:s}", "by", by);
    vg_protect_event(svc, freeze ? "protect_frozen" : "protect_unfrozen", "warning", message,
                     extra);
    json_decref(extra);
    json_t *answer = json_object();
    if (freeze) {
        json_t *frozen =
            json_pack("{s:s,s:O,s:I}", "by", by, "reason", reason, "time", (json_int_t)now);
        json_object_set_new(answer, "frozen", frozen);
    } else {
        json_object_set_new(answer, "frozen", json_null());
    }
    vg_api_submit_answer(call, VG_REC_PROTECT, p, 200, answer);
    json_decref(p);
    json_decref(body);
}

static void route_freeze(struct vg_call *call)
{
    freeze_change(call, 1);
}

static void route_unfreeze(struct vg_call *call)
{
    freeze_change(call, 0);
}

#define GET  EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST

const struct vg_route vg_protect_routes[] = {
    {GET, "/api/v1/protect", VG_PERM_READ, 0, route_status},
    /* freezing is an operator's call, like a switchover */
    {POST, "/api/v1/protect/freeze", VG_PERM_SWITCHOVER, VG_ROUTE_PRIMARY, route_freeze},
    {POST, "/api/v1/protect/unfreeze", VG_PERM_SWITCHOVER, VG_ROUTE_PRIMARY, route_unfreeze},
    /* DR drills (drill_routes.c): running one moves the primary role */
    {GET, "/api/v1/drills", VG_PERM_READ, 0, vg_protect_drill_list},
    {GET, "/api/v1/drills/{id}", VG_PERM_READ, 0, vg_protect_drill_get},
    {POST, "/api/v1/drills", VG_PERM_SWITCHOVER, VG_ROUTE_PRIMARY, vg_protect_drill_run},
    {0, NULL, 0, 0, NULL},
};

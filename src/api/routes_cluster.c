/*
 * routes_cluster.c - the cluster as operators see it: status, planned
 * switchover, forced failover, and the cluster events (docs/api.md).
 */
#include "api/api_int.h"

#include "state/state.h"

/* A switchover or failover answers later; the client may go away first. */
struct cluster_wait {
    struct vg_server *srv;
    struct evhttp_request *req; /* NULL once the client went away */
};

static void on_wait_gone(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct cluster_wait *w = arg;
    vg_api_release_request(w->req);
    w->req = NULL;
}

static void on_cluster_done(void *ctx, int status, json_t *body)
{
    struct cluster_wait *w = ctx;
    if (w->req) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(w->req);
        if (evcon)
            evhttp_connection_set_closecb(evcon, NULL, NULL);
        const char *primary = json_string_value(json_object_get(body, "primary"));
        if (status == 503 && primary) /* like a write sent to the mirror */
            evhttp_add_header(evhttp_request_get_output_headers(w->req), "Vigil-Primary",
                              primary);
        vg_api_reply_json(w->srv, w->req, status, body);
    }
    free(w);
}

static struct cluster_wait *wait_for(struct vg_call *call)
{
    struct cluster_wait *w = vg_calloc(1, sizeof *w);
    w->srv = call->srv;
    w->req = call->req;
    struct evhttp_connection *evcon = evhttp_request_get_connection(call->req);
    if (evcon)
        evhttp_connection_set_closecb(evcon, on_wait_gone, w);
    return w;
}

/* Optional string field: 0 and *out (NULL if absent), or answers 400. */
static int opt_string(struct vg_call *call, json_t *body, const char *key, size_t max,
                      const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > max) {
        vg_api_reply_error(call->srv, call->req, 400, key,
                           "'%s' must be a string of at most %zu bytes", key, max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int only_fields(struct vg_call *call, json_t *body, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= !strcmp(key, allowed[i]);
        if (!ok) {
            vg_api_reply_error(call->srv, call->req, 400, key, "unknown field '%s'", key);
            return -1;
        }
    }
    return 0;
}

/* 1 if this member is in a cluster; otherwise answers 404. */
static int clustered(struct vg_call *call)
{
    if (call->srv->cluster)
        return 1;
    vg_api_reply_error(call->srv, call->req, 404, NULL,
                       "this member runs standalone: there is no cluster");
    return 0;
}

void vg_api_switchover(struct vg_call *call)
{
    if (!clustered(call))
        return;
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    static const char *const allowed[] = {"to", "reason", NULL};
    const char *to, *reason;
    if (!json_is_object(body))
        vg_api_reply_error(call->srv, call->req, 400, NULL, "body must be a JSON object");
    else if (!only_fields(call, body, allowed) && !opt_string(call, body, "to", 63, &to) &&
             !opt_string(call, body, "reason", 150, &reason))
    {
        char who[96];
        vg_api_actor_name(call, who, sizeof who);
        vg_cluster_switchover(call->srv->cluster, to, reason, who, on_cluster_done,
                              wait_for(call));
    }
    json_decref(body);
}

void vg_api_failover(struct vg_call *call)
{
    if (!clustered(call))
        return;
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    static const char *const allowed[] = {"force", "accept_data_loss", "reason", NULL};
    const char *reason;
    if (!json_is_object(body))
        vg_api_reply_error(call->srv, call->req, 400, NULL, "body must be a JSON object");
    else if (only_fields(call, body, allowed) || opt_string(call, body, "reason", 150, &reason))
        ;
    else if (!json_is_true(json_object_get(body, "force")) ||
             !json_is_true(json_object_get(body, "accept_data_loss")))
        vg_api_reply_error(call->srv, call->req, 400, "accept_data_loss",
                           "a forced failover needs \"force\": true and \"accept_data_loss\": "
                           "true: records the old primary committed alone may be lost");
    else if (!reason || !reason[0])
        vg_api_reply_error(call->srv, call->req, 400, "reason",
                           "a forced failover needs a reason: it is recorded in the log");
    else {
        char who[96];
        vg_api_actor_name(call, who, sizeof who);
        vg_cluster_force(call->srv->cluster, reason, who, on_cluster_done, wait_for(call));
    }
    json_decref(body);
}

void vg_api_cluster_status(struct vg_call *call)
{
    if (!clustered(call))
        return;
    json_t *body = vg_cluster_status(call->srv->cluster);
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

void vg_api_events(struct vg_call *call)
{
    long limit = 100;
    const char *l = evhttp_find_header(&call->query, "limit");
    if (l) {
        char *end;
        errno = 0;
        limit = strtol(l, &end, 10);
        if (errno || end == l || *end || limit < 1 || limit > VG_STATE_EVENTS_CAP) {
            vg_api_reply_error(call->srv, call->req, 400, "limit",
                               "limit must be a number from 1 to %d", VG_STATE_EVENTS_CAP);
            return;
        }
    }
    const char *severity = evhttp_find_header(&call->query, "severity");
    static const char *const levels[] = {"info", "warning", "critical"};
    int min = 0;
    if (severity) {
        for (min = 0; min < 3 && strcmp(severity, levels[min]); min++)
            ;
        if (min == 3) {
            vg_api_reply_error(call->srv, call->req, 400, "severity",
                               "severity must be info, warning or critical");
            return;
        }
    }
    /* newest last; the limit counts from the newest, after the filter */
    json_t *all = vg_state_events(vg_member_state(call->srv->member));
    json_t *items = json_array();
    for (size_t i = json_array_size(all); i-- > 0 && json_array_size(items) < (size_t)limit;) {
        json_t *ev = json_array_get(all, i);
        const char *sev = json_string_value(json_object_get(ev, "severity"));
        int level = 0;
        while (sev && level < 3 && strcmp(sev, levels[level]))
            level++;
        if (level >= min && level < 3)
            json_array_insert(items, 0, ev);
    }
    json_t *body = json_pack("{s:o}", "items", items);
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

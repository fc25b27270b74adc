/*
 * agents_routes.c - GET /api/v1/services: each Service in move order, and
 * at each of its sites what this member saw last (the server's role and
 * the health check, from its probes) and the last step taken there (the
 * newest of the committed service_step events and this member's own
 * reports: a mirror's fences of its own site are only in the latter).
 * Read-only; a mirror answers too, from what it holds and saw.
 */
#include "agents/agents_int.h"

#include "api/api_int.h"

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The newest committed event of kind for service at site (site NULL: any). */
static const json_t *newest_event(const vg_state_t *st, const char *kind, const char *service,
                                  const char *site)
{
    const json_t *events = vg_state_events(st);
    for (size_t i = json_array_size(events); i-- > 0;) {
        const json_t *ev = json_array_get(events, i);
        const char *k = jstr(ev, "kind");
        if (!k || strcmp(k, kind))
            continue;
        if (service && (!jstr(ev, "service") || strcmp(jstr(ev, "service"), service)))
            continue;
        if (site && (!jstr(ev, "site") || strcmp(jstr(ev, "site"), site)))
            continue;
        return ev;
    }
    return NULL;
}

/* The newer of two reports by their "time" (RFC 3339, same format). */
static const json_t *newer(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a ? a : b;
    const char *ta = jstr(a, "time"), *tb = jstr(b, "time");
    return ta && tb && strcmp(ta, tb) < 0 ? b : a;
}

static json_t *last_step_view(const json_t *ev)
{
    if (!ev)
        return json_null();
    json_t *v = json_object();
    static const char *const keys[] = {"step",     "result", "message", "duration_ms",
                                       "attempts", "time",   "epoch",   "reason",
                                       "enforced", "output", NULL};
    for (size_t i = 0; keys[i]; i++)
        if (json_object_get(ev, keys[i]))
            json_object_set(v, keys[i], json_object_get(ev, keys[i]));
    return v;
}

static json_t *site_view(const struct vg_agents_svc *svc, const vg_state_t *st,
                         const char *service, const char *site)
{
    const json_t *seen = json_object_get(json_object_get(svc->seen, service), site);
    const json_t *probe = json_object_get(seen, "probe");
    const json_t *last =
        newer(newest_event(st, "service_step", service, site), json_object_get(seen, "last"));
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s}", "site", site, "role",
                          probe ? jstr(probe, "role") : "unknown", "role_detail",
                          probe ? jstr(probe, "role_detail") : "", "health",
                          probe ? jstr(probe, "health") : "unknown", "health_detail",
                          probe ? jstr(probe, "health_detail") : "");
    json_object_set_new(v, "probed", probe ? json_string(jstr(probe, "time")) : json_null());
    json_object_set_new(v, "last_step", last_step_view(last));
    return v;
}

static json_t *service_view(const struct vg_agents_svc *svc, const vg_state_t *st,
                            const json_t *obj)
{
    const char *name = jstr(obj, "name");
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *order = json_object_get(spec, "order");
    json_t *sites = json_array();
    size_t i;
    const json_t *site;
    json_array_foreach(json_object_get(spec, "sites"), i, site)
    {
        if (jstr(site, "name"))
            json_array_append_new(sites, site_view(svc, st, name, jstr(site, "name")));
    }
    return json_pack("{s:s, s:s, s:I, s:o}", "name", name, "agent",
                     jstr(spec, "agent") ? jstr(spec, "agent") : "", "order",
                     json_is_integer(order) ? json_integer_value(order) : 100, "sites", sites);
}

static int by_order(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    json_int_t ox = json_integer_value(json_object_get(x, "order"));
    json_int_t oy = json_integer_value(json_object_get(y, "order"));
    if (ox != oy)
        return ox < oy ? -1 : 1;
    return strcmp(jstr(x, "name"), jstr(y, "name"));
}

json_t *vg_agents_view(const struct vg_agents_svc *svc)
{
    const vg_state_t *st = vg_member_state(svc->member);
    json_t *objects = NULL;
    if (vg_state_list(st, "Service", NULL, &objects, NULL, 0))
        objects = json_array();
    size_t n = json_array_size(objects);
    json_t **views = vg_calloc(n ? n : 1, sizeof *views);
    for (size_t i = 0; i < n; i++)
        views[i] = service_view(svc, st, json_array_get(objects, i));
    qsort(views, n, sizeof *views, by_order);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, views[i]);
    free(views);
    json_decref(objects);
    const json_t *move =
        newer(newest_event(st, "service_move", NULL, NULL), json_object_get(svc->move, "done"));
    json_t *body = json_pack("{s:s, s:s, s:b, s:o, s:o}", "member",
                             svc->cluster ? vg_cluster_member_name(svc->cluster) : "standalone",
                             "site", svc->site, "acting", svc->primary, "last_move",
                             move ? json_deep_copy(move) : json_null(), "items", items);
    return body;
}

void vg_api_services(struct vg_call *call)
{
    json_t *body = vg_agents_view(call->service);
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

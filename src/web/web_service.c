/*
 * web_service.c - the dashboard as a service (service.h): its files at /
 * and /ui/FILE, and the live stream its pages listen to.
 *
 * The files are embedded, gzip-compressed (assets.h), and sent as they
 * are, with a strong ETag (304 on If-None-Match), a strict
 * Content-Security-Policy (scripts and styles from this origin only, no
 * inline script) and caching: index.html is revalidated on every load and
 * names the other files by their hash, which may be kept for a year.
 *
 * The stream (GET /api/v1/ui/events, any role) carries no data: it says
 * "hello" when it opens (a page reconnecting fetches again: it may have
 * missed changes), "change" within 250 ms of a record being applied or the cluster's view
 * changing (epoch, primary, sync, link, witness), and "tick" every 5 s so
 * readings refresh; the page then asks the API, with its own role. It is
 * bounded (VG_WEB_MAX_STREAMS, 429 past it) and a stream whose client
 * stopped reading (64 KiB unsent) is closed.
 */
#include "api/api_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "cluster/cluster.h"
#include "core/say.h"
#include "web/assets.h"
#include "web/logins.h"
#include "web/sessions.h"
#include "web/web_int.h"

#define STREAM_MAX_UNSENT (64u << 10)
#define POLL_MS           250
#define TICK_EVERY        20 /* polls: 5 s */

#define CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "              \
    "form-action 'self'; frame-ancestors 'none'"

/* ---- files ---- */

static const struct vg_web_asset *find_asset(const char *name)
{
    for (const struct vg_web_asset *a = vg_web_assets; a->name; a++)
        if (!strcmp(a->name, name))
            return a;
    return NULL;
}

/* Headers every dashboard answer carries, the files and the stream alike. */
static void security_headers(struct evkeyvalq *out)
{
    evhttp_add_header(out, "Content-Security-Policy", CSP);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(out, "X-Frame-Options", "DENY");
    evhttp_add_header(out, "Referrer-Policy", "no-referrer");
}

static void send_asset(struct vg_call *call, const struct vg_web_asset *a, const char *cache)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(call->req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
    security_headers(out);
    evhttp_add_header(out, "ETag", a->etag);
    evhttp_add_header(out, "Cache-Control", cache);
    evhttp_add_header(out, "Vary", "Accept-Encoding");
    const char *inm = evhttp_find_header(in, "If-None-Match");
    if (inm && strstr(inm, a->etag)) {
        vg_api_reply_raw(call->srv, call->req, 304, NULL);
        return;
    }
    /* stored compressed only: every browser takes gzip (documented) */
    evhttp_add_header(out, "Content-Type", a->content_type);
    evhttp_add_header(out, "Content-Encoding", "gzip");
    struct evbuffer *body = evbuffer_new();
    evbuffer_add_reference(body, a->gzip, a->gzip_len, NULL, NULL);
    vg_api_reply_raw(call->srv, call->req, 200, body);
    evbuffer_free(body);
}

static void ui_index(struct vg_call *call)
{
    send_asset(call, find_asset("index.html"), "no-cache");
}

static void ui_file(struct vg_call *call)
{
    const struct vg_web_asset *a = find_asset(call->args[0]);
    if (!a || !strcmp(a->name, "index.html")) {
        vg_api_reply_error(call->srv, call->req, 404, NULL, "no such dashboard file");
        return;
    }
    /* index.html asks for ?v=HASH: a new build is a new URL */
    int versioned = evhttp_find_header(&call->query, "v") != NULL;
    send_asset(call, a, versioned ? "public, max-age=31536000, immutable" : "no-cache");
}

/* ---- the live stream ---- */

static size_t unsent(const struct vg_web_stream *s)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(s->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void unlink_stream(struct vg_web_stream *s)
{
    for (struct vg_web_stream **p = &s->web->streams; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            s->web->n_streams--;
            return;
        }
}

static void on_stream_gone(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct vg_web_stream *s = arg;
    unlink_stream(s);
    vg_api_release_request(s->req);
    free(s);
}

static void drop_stream(struct vg_web_stream *s)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(s->req);
    unlink_stream(s);
    if (evcon) {
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        evhttp_send_reply_end(s->req);
    }
    free(s);
}

static void send_all(struct vg_web *web, const char *text)
{
    struct vg_web_stream *s = web->streams;
    while (s) {
        struct vg_web_stream *next = s->next;
        if (unsent(s) > STREAM_MAX_UNSENT) {
            web->n_dropped++;
            drop_stream(s);
        } else {
            struct evbuffer *buf = evbuffer_new();
            evbuffer_add(buf, text, strlen(text));
            evhttp_send_reply_chunk(s->req, buf);
            evbuffer_free(buf);
        }
        s = next;
    }
}

/* What of the cluster's view the overview shows, as one comparable line. */
static void cluster_line(const struct vg_web *web, char *out, size_t outlen)
{
    if (!web->cluster) {
        snprintf(out, outlen, "standalone");
        return;
    }
    json_t *v = vg_cluster_status(web->cluster);
    json_t *peer = json_object_get(v, "peer"), *w = json_object_get(v, "witness");
    snprintf(out, outlen, "%lld %s %d %s %zu %d %d %d %d",
             (long long)json_integer_value(json_object_get(v, "epoch")),
             vg_cluster_role_name(web->cluster), json_is_true(json_object_get(v, "acting")),
             json_string_value(json_object_get(v, "primary")) ?: "-",
             json_array_size(json_object_get(v, "sync")),
             json_is_true(json_object_get(peer, "connected")),
             json_is_true(json_object_get(w, "reachable")), vg_cluster_lag(web->cluster) > 0,
             !json_is_null(json_object_get(v, "catchup")));
    json_decref(v);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct vg_web *web = arg;
    if (!web->streams)
        return;
    char line[sizeof web->view];
    cluster_line(web, line, sizeof line);
    int changed = web->dirty || strcmp(line, web->view) != 0;
    web->polls++;
    if (changed) {
        char event[96];
        snprintf(event, sizeof event, "event: change\ndata: {\"applied\":%llu}\n\n",
                 (unsigned long long)vg_state_applied_index(vg_member_state(web->member)));
        snprintf(web->view, sizeof web->view, "%s", line);
        web->dirty = 0;
        web->n_changes++;
        send_all(web, event);
    } else if (web->polls % TICK_EVERY == 0) {
        send_all(web, "event: tick\ndata: {}\n\n");
    }
}

static void ui_events(struct vg_call *call)
{
    struct vg_web *web = call->service;
    if (web->n_streams >= VG_WEB_MAX_STREAMS) {
        web->n_refused++;
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "5");
        vg_api_reply_error(call->srv, call->req, 429, NULL,
                           "too many dashboard streams open (%zu, bound %d): retry later",
                           web->n_streams, VG_WEB_MAX_STREAMS);
        return;
    }
    struct vg_web_stream *s = vg_calloc(1, sizeof *s);
    s->web = web;
    s->req = call->req;
    struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
    evhttp_add_header(out, "Content-Type", "text/event-stream");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_send_reply_start(call->req, 200, "OK");
    struct evbuffer *hello = evbuffer_new();
    evbuffer_add_printf(hello, "retry: 1000\nevent: hello\ndata: {}\n\n");
    evhttp_send_reply_chunk(call->req, hello);
    evbuffer_free(hello);
    s->next = web->streams;
    web->streams = s;
    web->n_streams++;
    evhttp_connection_set_closecb(evhttp_request_get_connection(call->req), on_stream_gone, s);
}

/* ---- the service ---- */

static int start(const struct vg_service_env *env, void **instance, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct vg_web *web = vg_calloc(1, sizeof *web);
    web->base = env->base;
    web->member = env->member;
    web->cluster = env->cluster;
    web->poll = event_new(env->base, -1, EV_PERSIST, on_poll, web);
    struct timeval every = {0, POLL_MS * 1000};
    event_add(web->poll, &every);
    *instance = web;
    return 0;
}

static void stop(void *instance)
{
    struct vg_web *web = instance;
    if (!web)
        return;
    while (web->streams)
        drop_stream(web->streams);
    vg_web_login_jobs_stop(web);
    event_free(web->poll);
    free(web);
}

static void on_record(void *instance, uint64_t index, uint16_t type)
{
    (void)index;
    (void)type;
    ((struct vg_web *)instance)->dirty = 1;
}

static void metrics(void *instance, vg_buf_t *out)
{
    const struct vg_web *web = instance;
    vg_buf_printf(
        out,
        "# HELP vigil_dashboard_streams Open dashboard event streams.\n"
        "# TYPE vigil_dashboard_streams gauge\nvigil_dashboard_streams %zu\n"
        "vigil_dashboard_streams_bound %d\n"
        "# TYPE vigil_dashboard_streams_refused_total counter\n"
        "vigil_dashboard_streams_refused_total %llu\n"
        "# TYPE vigil_dashboard_streams_dropped_total counter\n"
        "vigil_dashboard_streams_dropped_total %llu\n"
        "# HELP vigil_dashboard_assets_gzip_bytes The dashboard's files, compressed.\n"
        "vigil_dashboard_assets_gzip_bytes %zu\n"
        "# TYPE vigil_dashboard_logins_total counter\n"
        "vigil_dashboard_logins_total{result=\"ok\"} %llu\n"
        "vigil_dashboard_logins_total{result=\"failed\"} %llu\n"
        "vigil_dashboard_logins_total{result=\"limited\"} %llu\n"
        "# HELP vigil_dashboard_sessions_ended Sessions logged out whose cookies could "
        "still be presented (refused on both sites).\n"
        "# TYPE vigil_dashboard_sessions_ended gauge\nvigil_dashboard_sessions_ended %zu\n"
        "vigil_dashboard_sessions_ended_bound %d\n",
        web->n_streams, VG_WEB_MAX_STREAMS, (unsigned long long)web->n_refused,
        (unsigned long long)web->n_dropped, vg_web_assets_gzip_total,
        (unsigned long long)web->n_login_ok, (unsigned long long)web->n_login_failed,
        (unsigned long long)web->n_login_limited,
        vg_sessions_n_revoked(vg_member_state(web->member), vg_wall_ms()),
        VG_SESSIONS_REVOKED_MAX);
}

static const struct vg_route routes[] = {
    {EVHTTP_REQ_GET, "/", VG_PERM_READ, VG_ROUTE_PUBLIC, ui_index},
    {EVHTTP_REQ_GET, "/ui/{file}", VG_PERM_READ, VG_ROUTE_PUBLIC, ui_file},
    {EVHTTP_REQ_GET, "/api/v1/ui/events", VG_PERM_READ, 0, ui_events},
    {EVHTTP_REQ_POST, "/api/v1/login", VG_PERM_READ, VG_ROUTE_PUBLIC, vg_web_login},
    {EVHTTP_REQ_POST, "/api/v1/logout", VG_PERM_READ, VG_ROUTE_PUBLIC, vg_web_logout},
    {EVHTTP_REQ_GET, "/api/v1/session", VG_PERM_READ, 0, vg_web_session},
    {EVHTTP_REQ_GET, "/api/v1/logins", VG_PERM_TOKENS, 0, vg_web_logins_list},
    {EVHTTP_REQ_PUT, "/api/v1/logins/{person}", VG_PERM_TOKENS, VG_ROUTE_PRIMARY,
     vg_web_logins_set},
    {EVHTTP_REQ_DELETE, "/api/v1/logins/{person}", VG_PERM_TOKENS, VG_ROUTE_PRIMARY,
     vg_web_logins_delete},
    {0, NULL, 0, 0, NULL},
};

static const char *const no_kinds[] = {NULL};
static const char *const no_cli[] = {"passwd", NULL};

const struct vg_service vg_web_service = {
    .name = "dashboard",
    .kinds = no_kinds,
    .data = &vg_logins_data,
    .start = start,
    .stop = stop,
    .on_record = on_record,
    .metrics = metrics,
    .routes = routes,
    .cli = no_cli,
};

/*
 * watch.c - GET /api/v1/watch: server-sent events of every committed change
 * after a revision, then live.
 *
 * Watchers are a linked list fed by the state's observer. A slow watcher
 * whose unsent output exceeds VG_WATCH_MAX_BUFFER is disconnected rather
 * than allowed to grow memory without bound; it re-lists and watches again.
 */
#include "api/api_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>

#include "core/jsonout.h"
#include "state/state.h"

struct vg_watcher {
    struct vg_watcher *next;
    struct vg_server *srv;
    struct evhttp_request *req;
    char kind[64]; /* empty: all kinds */
};

static size_t unsent_bytes(struct vg_watcher *w)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(w->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void unlink_watcher(struct vg_watcher *w)
{
    struct vg_server *srv = w->srv;
    for (struct vg_watcher **p = &srv->watchers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            srv->n_watchers--;
            return;
        }
    }
}

/* The server-sent event for a change, formatted once for every watcher. */
static void format_event(const vg_change_t *ch, vg_buf_t *out)
{
    json_t *data = json_pack("{s:s, s:I, s:O}", "type", ch->type, "revision",
                             (json_int_t)ch->revision, "object", ch->object);
    vg_buf_printf(out, "id: %llu\nevent: %s\ndata: ", (unsigned long long)ch->revision,
                  ch->type);
    vg_json_dump(data, out);
    vg_buf_add(out, "\n\n", 2);
    json_decref(data);
}

static int wants(const struct vg_watcher *w, const vg_change_t *ch)
{
    const char *kind = json_string_value(json_object_get(ch->object, "kind"));
    return !w->kind[0] || (kind && strcmp(w->kind, kind) == 0);
}

static void send_event(struct vg_watcher *w, const vg_buf_t *event)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, event->data, event->len);
    evhttp_send_reply_chunk(w->req, buf);
    evbuffer_free(buf);
}

static void on_watcher_gone(struct evhttp_connection *evcon, void *arg)
{
    struct vg_watcher *w = arg;
    unlink_watcher(w);
    vg_api_release_request(w->req);
    free(w);
}

static void drop_watcher(struct vg_watcher *w)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(w->req);
    unlink_watcher(w);
    if (evcon) {
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        evhttp_send_reply_end(w->req);
    }
    free(w);
}

static void fan_out(void *ctx, const vg_change_t *ch)
{
    struct vg_server *srv = ctx;
    vg_buf_t event = VG_BUF_INIT;
    struct vg_watcher *w = srv->watchers;
    while (w) {
        struct vg_watcher *next = w->next;
        if (unsent_bytes(w) > VG_WATCH_MAX_BUFFER) {
            drop_watcher(w);
        } else if (wants(w, ch)) {
            if (!event.len)
                format_event(ch, &event);
            send_event(w, &event);
        }
        w = next;
    }
    vg_buf_release(&event);
}

static void replay_one(void *ctx, const vg_change_t *ch)
{
    struct vg_watcher *w = ctx;
    if (!wants(w, ch))
        return;
    vg_buf_t event = VG_BUF_INIT;
    format_event(ch, &event);
    send_event(w, &event);
    vg_buf_release(&event);
}

static void keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct vg_server *srv = arg;
    for (struct vg_watcher *w = srv->watchers; w; w = w->next) {
        struct evbuffer *buf = evbuffer_new();
        evbuffer_add_printf(buf, ": keepalive\n\n");
        evhttp_send_reply_chunk(w->req, buf);
        evbuffer_free(buf);
    }
}

void vg_api_watch(struct vg_call *call)
{
    struct vg_server *srv = call->srv;
    const char *from_text = evhttp_find_header(&call->query, "from");
    const char *kind = evhttp_find_header(&call->query, "kind");
    const vg_state_t *st = vg_member_state(srv->member);
    unsigned long long from = vg_state_applied_index(st);
    if (from_text) {
        char *end;
        errno = 0;
        unsigned long long want = from_text[0] >= '0' && from_text[0] <= '9'
                                      ? strtoull(from_text, &end, 10)
                                      : ULLONG_MAX;
        if (want == ULLONG_MAX || errno || *end) {
            vg_api_reply_error(srv, call->req, 400, "from", "from must be a revision number");
            return;
        }
        if (want > from) {
            vg_api_reply_error(srv, call->req, 400, "from",
                               "from %llu is beyond the current revision %llu", want, from);
            return;
        }
        from = want;
    }
    if (srv->n_watchers >= srv->max_watchers) {
        srv->n_watch_refused++;
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "5");
        vg_api_reply_error(srv, call->req, 429, NULL,
                           "too many watch streams open (%zu, bound %zu): retry later",
                           srv->n_watchers, srv->max_watchers);
        return;
    }
    if (kind && strlen(kind) >= sizeof((struct vg_watcher *)0)->kind) {
        vg_api_reply_error(srv, call->req, 400, "kind", "kind is too long");
        return;
    }
    struct vg_watcher *w = vg_calloc(1, sizeof *w);
    w->srv = srv;
    w->req = call->req;
    snprintf(w->kind, sizeof w->kind, "%s", kind ? kind : "");
    struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
    /* check retention before committing to a 200 stream */
    if (!vg_state_history_covers(st, from)) {
        free(w);
        vg_api_reply_error(srv, call->req, 410, "from", "revision %llu is too old, re-list",
                           from);
        return;
    }
    /* the replay goes into this connection's buffer at once: bounded */
    size_t replay = vg_state_history_bytes_since(st, from);
    if (replay > VG_WATCH_MAX_REPLAY) {
        free(w);
        vg_api_reply_error(srv, call->req, 410, "from",
                           "changes after revision %llu hold %zu bytes, more than one watch "
                           "replays (%u): re-list",
                           from, replay, VG_WATCH_MAX_REPLAY);
        return;
    }
    evhttp_add_header(out, "Content-Type", "text/event-stream");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_send_reply_start(call->req, 200, "OK");
    vg_state_changes_since(st, from, replay_one, w);
    w->next = srv->watchers;
    srv->watchers = w;
    srv->n_watchers++;
    struct evhttp_connection *evcon = evhttp_request_get_connection(call->req);
    evhttp_connection_set_closecb(evcon, on_watcher_gone, w);
}

void vg_watch_init(struct vg_server *srv)
{
    vg_state_set_observer(vg_member_state(srv->member), fan_out, srv);
    srv->keepalive_ev = event_new(srv->base, -1, EV_PERSIST, keepalive, srv);
    struct timeval every = {15, 0};
    event_add(srv->keepalive_ev, &every);
}

void vg_watch_release(struct vg_server *srv)
{
    if (srv->member)
        vg_state_set_observer(vg_member_state(srv->member), NULL, NULL);
    if (srv->keepalive_ev)
        event_free(srv->keepalive_ev);
    while (srv->watchers)
        drop_watcher(srv->watchers);
}

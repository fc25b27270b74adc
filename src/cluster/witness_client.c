/*
 * witness_client.c - requests from a member to the witness: JSON over
 * HTTPS with the member's certificate (docs/cluster.md, "Witness API").
 *
 * Heartbeats share one kept-alive connection, one request at a time, with
 * a short timeout so a witness behind a partition is noticed within a few
 * heartbeats. Change requests are rare and each gets a fresh connection:
 * one that idled may have been closed by the witness, and a failover must
 * not lose its first attempt to that. A connection that failed is never
 * reused (its TLS state is gone); it is freed outside its own callback.
 */
#include "cluster/cluster_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>

#include "core/jsonout.h"
#include "core/netaddr.h"
#include "core/say.h"
#include "crypto/tls.h"

#define HEARTBEAT_TIMEOUT_MS 500
#define CHANGE_TIMEOUT_MS    2000

struct wreq {
    vg_cluster_t *c;
    struct evhttp_connection *conn;
    int heartbeat;
    vg_wc_done_fn done;
    void *arg;
    uint64_t sent_us;
    struct wreq *next;
};

/* A connection to free once the callback that gave it up has returned. */
struct dead {
    struct wclient *w;
    struct evhttp_connection *conn;
    struct event *ev;
    struct dead *next;
};

struct wclient {
    vg_cluster_t *c;
    struct evhttp_connection *hb_conn;
    int hb_busy;
    char host[256];
    uint16_t port;
    struct wreq *reqs; /* in flight */
    struct dead *dead;
};

static void unlink_req(struct wclient *w, struct wreq *r)
{
    for (struct wreq **p = &w->reqs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

static void free_dead(struct dead *d)
{
    for (struct dead **p = &d->w->dead; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    evhttp_connection_free(d->conn);
    event_free(d->ev);
    free(d);
}

static void on_dead(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    free_dead(arg);
}

static void drop_conn(vg_cluster_t *c, struct evhttp_connection *conn)
{
    struct dead *d = vg_calloc(1, sizeof *d);
    d->w = c->wc;
    d->conn = conn;
    d->ev = event_new(c->base, -1, 0, on_dead, d);
    d->next = c->wc->dead;
    c->wc->dead = d;
    event_active(d->ev, EV_TIMEOUT, 0);
}

static struct evhttp_connection *make_conn(vg_cluster_t *c, int timeout_ms)
{
    struct wclient *w = c->wc;
    SSL *ssl = vg_tls_client_ssl(c->client_ctx, c->node.witness_name);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    struct evhttp_connection *conn =
        evhttp_connection_base_bufferevent_new(c->base, NULL, bev, w->host, w->port);
    if (!conn)
        return NULL;
    evhttp_connection_set_retries(conn, 0);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evhttp_connection_set_timeout_tv(conn, &tv);
    return conn;
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct wreq *r = arg;
    vg_cluster_t *c = r->c;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    json_t *body = NULL;
    if (req && status) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
    }
    unlink_req(c->wc, r);
    if (r->heartbeat) {
        c->wc->hb_busy = 0;
        if (!status || status >= 500) { /* the connection cannot be trusted again */
            drop_conn(c, r->conn);
            c->wc->hb_conn = NULL;
        }
    } else {
        drop_conn(c, r->conn);
    }
    if (status && !body)
        vg_warn("the witness answered %d without JSON", status);
    r->done(c, status, body, r->sent_us, r->arg);
    json_decref(body);
    free(r);
}

int vg_wc_post(vg_cluster_t *c, int heartbeat, const char *path, json_t *body,
               vg_wc_done_fn done, void *arg)
{
    struct wclient *w = c->wc;
    struct evhttp_connection *conn;
    if (heartbeat) {
        if (w->hb_busy)
            return -EBUSY;
        if (!w->hb_conn)
            w->hb_conn = make_conn(c, HEARTBEAT_TIMEOUT_MS);
        conn = w->hb_conn;
    } else {
        conn = make_conn(c, CHANGE_TIMEOUT_MS);
    }
    if (!conn) {
        vg_warn("cannot set up a connection to the witness");
        return -ENOMEM;
    }
    struct wreq *r = vg_calloc(1, sizeof *r);
    *r = (struct wreq){c, conn, heartbeat, done, arg, vg_mono_us(), w->reqs};
    struct evhttp_request *req = evhttp_request_new(on_response, r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", w->host);
    evhttp_add_header(h, "Content-Type", "application/json");
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(body, &text);
    evbuffer_add(evhttp_request_get_output_buffer(req), text.data, text.len);
    vg_buf_release(&text);
    if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, path) != 0) {
        /* libevent freed req; the connection is of no further use */
        free(r);
        if (heartbeat)
            w->hb_conn = NULL;
        drop_conn(c, conn);
        return -EIO;
    }
    w->reqs = r;
    vg_tcp_nodelay(bufferevent_getfd(evhttp_connection_get_bufferevent(conn)));
    if (heartbeat)
        w->hb_busy = 1;
    return 0;
}

int vg_wc_heartbeat_busy(const vg_cluster_t *c)
{
    return c->wc->hb_busy;
}

int vg_wc_new(vg_cluster_t *c, char *err, size_t errlen)
{
    struct wclient *w = vg_calloc(1, sizeof *w);
    w->c = c;
    if (vg_addr_split(c->node.witness_address, w->host, sizeof w->host, &w->port)) {
        free(w);
        return vg_err(err, errlen, -EINVAL, "witness address '%s' is not HOST:PORT",
                      c->node.witness_address);
    }
    c->wc = w;
    return 0;
}

void vg_wc_free(vg_cluster_t *c)
{
    if (!c->wc)
        return;
    struct wclient *w = c->wc;
    /* freeing a connection drops its requests without calling back */
    while (w->reqs) {
        struct wreq *r = w->reqs;
        w->reqs = r->next;
        if (r->conn != w->hb_conn)
            evhttp_connection_free(r->conn);
        free(r);
    }
    if (w->hb_conn)
        evhttp_connection_free(w->hb_conn);
    while (w->dead)
        free_dead(w->dead);
    free(w);
    c->wc = NULL;
}

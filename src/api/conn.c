/*
 * conn.c - a bound on the API's connections and a deadline for each
 * request, which libevent 2.1's evhttp has neither of.
 *
 * evhttp's timeout is per read: a client that trickles one byte every few
 * seconds keeps a connection forever, and a few thousand of them exhaust
 * the descriptors. Every connection's bufferevent is made here (evhttp's
 * bevcb), so each gets a guard: past the cap a new connection is answered
 * 503 with Retry-After and closed; a connection that has not delivered a
 * whole request within the deadline (from its opening, or from the answer
 * to its previous request) is shut down. A guard holds a reference to its
 * bufferevent, so it can tell when evhttp has let go of it (all callbacks
 * cleared) and drop it on the next tick.
 */
#include "api/api_int.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <sys/socket.h>

#define TICK_MS 100

struct vg_conn_guard {
    struct bufferevent *bev;
    uint64_t since_ms;    /* opened, or last answered */
    unsigned busy : 1;    /* a request is being handled or streamed */
    unsigned refuse : 1;  /* past the cap: answer 503 and close */
    unsigned closing : 1; /* shut down by us; waiting for evhttp to let go */
};

static struct vg_conn_guard *find_guard(struct vg_server *srv, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (!bev)
        return NULL;
    for (size_t i = 0; i < srv->n_conns; i++)
        if (srv->conns[i].bev == bev)
            return &srv->conns[i];
    return NULL;
}

int vg_api_conn_busy(struct vg_server *srv, struct evhttp_request *req)
{
    struct vg_conn_guard *g = find_guard(srv, req);
    if (!g)
        return 0;
    g->busy = 1;
    if (!g->refuse || g->closing)
        return 0;
    g->closing = 1; /* the router answers 503 with Connection: close */
    return 1;
}

void vg_api_conn_idle(struct vg_server *srv, struct evhttp_request *req)
{
    struct vg_conn_guard *g = find_guard(srv, req);
    if (g) {
        g->busy = 0;
        g->since_ms = vg_mono_ms();
    }
}

static int released_by_evhttp(struct bufferevent *bev)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;
    bufferevent_getcb(bev, &rd, &wr, &ev, &arg);
    return !rd && !wr && !ev && !arg;
}

static void shut(struct vg_conn_guard *g)
{
    evutil_socket_t fd = bufferevent_getfd(g->bev);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR); /* evhttp sees the end and frees the connection */
    g->closing = 1;
}

static void refuse(struct vg_server *srv, struct vg_conn_guard *g)
{
    static const char body[] = "{\"error\":\"too many connections: retry shortly\"}\n";
    evutil_socket_t fd = bufferevent_getfd(g->bev);
    if (fd >= 0 && !srv->ssl) {
        char reply[256];
        int n =
            snprintf(reply, sizeof reply,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Retry-After: 1\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof body - 1, body);
        ssize_t sent = send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)sent; /* best effort: the close says the rest */
    }
    srv->n_conn_refused++;
    shut(g);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct vg_server *srv = arg;
    uint64_t now = vg_mono_ms();
    for (size_t i = 0; i < srv->n_conns;) {
        struct vg_conn_guard *g = &srv->conns[i];
        if (released_by_evhttp(g->bev)) {
            bufferevent_disable(g->bev, EV_READ | EV_WRITE);
            bufferevent_decref(g->bev);
            srv->conns[i] = srv->conns[--srv->n_conns];
            continue;
        }
        if (g->refuse && !g->closing)
            refuse(srv, g);
        else if (!g->busy && !g->closing && now - g->since_ms > srv->request_deadline_ms) {
            srv->n_conn_deadline++;
            shut(g);
        }
        i++;
    }
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
    struct vg_server *srv = arg;
    struct bufferevent *bev = srv->ssl ? vg_tls_accept_bev(base, srv->ssl)
                                       : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL; /* evhttp makes a plain one itself; it is then unguarded */
    if (srv->n_conns == srv->conns_alloc) {
        srv->conns_alloc = srv->conns_alloc ? 2 * srv->conns_alloc : 64;
        srv->conns = vg_realloc(srv->conns, srv->conns_alloc * sizeof *srv->conns);
    }
    struct vg_conn_guard *g = &srv->conns[srv->n_conns++];
    *g = (struct vg_conn_guard){.bev = bev, .since_ms = vg_mono_ms()};
    bufferevent_incref(bev);
    /* the guard counts itself: more than the cap live at once is refused */
    g->refuse = srv->n_conns > srv->max_conns;
    if (g->refuse)
        event_active(srv->conn_tick, EV_TIMEOUT, 0);
    return bev;
}

void vg_api_conn_init(struct vg_server *srv)
{
    evhttp_set_bevcb(srv->http, new_bev, srv);
    srv->conn_tick = event_new(srv->base, -1, EV_PERSIST, tick, srv);
    struct timeval every = {0, TICK_MS * 1000};
    event_add(srv->conn_tick, &every);
}

void vg_api_conn_release(struct vg_server *srv)
{
    /* after evhttp_free: every connection has been let go of */
    for (size_t i = 0; i < srv->n_conns; i++)
        bufferevent_decref(srv->conns[i].bev);
    free(srv->conns);
    srv->conns = NULL;
    srv->n_conns = 0;
    if (srv->conn_tick)
        event_free(srv->conn_tick);
    srv->conn_tick = NULL;
}

size_t vg_api_conn_count(const struct vg_server *srv)
{
    size_t n = 0;
    for (size_t i = 0; i < srv->n_conns; i++)
        n += !srv->conns[i].closing;
    return n;
}

/*
 * server.h - the REST API of a member (docs/api.md) on libevent's evhttp.
 *
 * Plain HTTP is allowed only on loopback addresses; any other address needs
 * a TLS certificate and key (TLS 1.3 only) or an explicit insecure flag.
 */
#ifndef VG_SERVER_H
#define VG_SERVER_H

#include <event2/event.h>

#include "cluster/cluster.h"
#include "member/member.h"
#include "service/service.h"

struct vg_server_opts {
    const char *listen; /* HOST:PORT; "[::1]:7700" for IPv6 */
    const char *tls_cert;
    const char *tls_key;
    int insecure;          /* allow plain HTTP off loopback */
    int timeout_s;         /* idle/read/write timeout per connection; 0 = 30 */
    vg_cluster_t *cluster; /* NULL: standalone */
    /* the running services, whose routes the router serves (service.h) */
    const struct vg_service_running *services;
    size_t n_services;
    /* bounds; 0 takes the default */
    size_t max_pending;         /* writes waiting to commit before 503 + Retry-After */
    size_t max_watchers;        /* open watch streams before 429 */
    size_t max_conns;           /* open connections before 503 */
    unsigned request_deadline_s; /* a whole request must arrive within this */
};

#define VG_API_DEFAULT_MAX_PENDING 10000
#define VG_API_DEFAULT_MAX_WATCHERS 256
#define VG_API_DEFAULT_MAX_CONNS 4096
#define VG_API_DEFAULT_DEADLINE_S 15

typedef struct vg_server vg_server_t;

int vg_server_start(struct event_base *base, vg_member_t *member,
                    const struct vg_server_opts *opts, vg_server_t **out, char *err,
                    size_t errlen);

/* The port the API listens on (the one the kernel chose for port 0). */
uint16_t vg_server_port(const vg_server_t *srv);

/* Shutdown: new requests get 503; returns the number of writes still
 * waiting for their commit (poll until 0, then vg_server_free). */
size_t vg_server_drain(vg_server_t *srv);

void vg_server_free(vg_server_t *srv);

#endif

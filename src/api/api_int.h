/*
 * api_int.h - internals shared by the API's route files: the server struct,
 * the per-request context and reply helpers.
 */
#ifndef VG_API_INT_H
#define VG_API_INT_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "api/server.h"
#include "auth/token.h"
#include "service/service.h" /* struct vg_route */
#include "crypto/tls.h"

#define VG_API_MAX_BODY     (1u << 20)
#define VG_API_MAX_HEADERS  (16u << 10)
#define VG_API_TIMEOUT_S    30
#define VG_WATCH_MAX_BUFFER (8u << 20)
#define VG_WATCH_MAX_REPLAY (8u << 20) /* bytes of history one watch may replay */

struct vg_watcher;
struct vg_conn_guard;

struct vg_server {
    struct event_base *base;
    struct evhttp *http;
    vg_member_t *member;
    vg_cluster_t *cluster; /* NULL when standalone */
    const struct vg_service_running *services;
    size_t n_services;
    SSL_CTX *ssl;
    uint16_t port;
    int draining;
    size_t n_inflight; /* writes waiting for commit */
    uint64_t start_ms;
    struct vg_watcher *watchers;
    size_t n_watchers;
    struct event *keepalive_ev;
    uint64_t http_codes[600]; /* requests answered, by status */
    uint64_t auth_failures;

    /* bounds (struct vg_server_opts); each shows in /metrics */
    size_t max_pending;  /* writes waiting to commit before 503 + Retry-After */
    size_t max_watchers; /* open watch streams before 429 */
    size_t max_conns;    /* open connections before 503 + close */
    uint64_t request_deadline_ms;
    uint64_t n_backpressure, n_watch_refused, n_conn_refused, n_conn_deadline;

    /* connection guards (conn.c) */
    struct vg_conn_guard *conns;
    size_t n_conns, conns_alloc;
    struct event *conn_tick;
};

/* One request being handled, after routing and authentication. */
struct vg_call {
    struct vg_server *srv;
    struct evhttp_request *req;
    enum evhttp_cmd_type method;
    const struct vg_route *route;
    void *service; /* the instance of the service whose route this is, or NULL */
    const char *args[4]; /* decoded values of the route's {} segments, in order */
    struct evkeyvalq query; /* decoded, valid UTF-8, no control bytes */
    enum vg_role role;
    char actor[64]; /* the token's id, or the person logged in (records' "actor") */
    /* set when the credential was the dashboard's session cookie */
    int via_session;
    char person[64];      /* the person of a password session, else "" */
    char csrf[33];        /* the session's CSRF secret (X-Vigil-CSRF) */
    int64_t session_expires_ms;
};

/* Replies; each ends the request. */
void vg_api_reply_json(struct vg_server *srv, struct evhttp_request *req, int code,
                       const json_t *body);
void vg_api_reply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                        const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vg_api_reply_text(struct vg_server *srv, struct evhttp_request *req, int code,
                       const char *content_type, const char *text, size_t len);
/* body (may be NULL) as it is, with the headers the caller set; the caller
 * keeps body. */
void vg_api_reply_raw(struct vg_server *srv, struct evhttp_request *req, int code,
                      struct evbuffer *body);

/* Connection guards (conn.c): the cap and the whole-request deadline. */
/* Who made the request, as people read it in events and timelines: the
 * person logged in to the dashboard, else the token's name, else
 * "token:ID". */
void vg_api_actor_name(const struct vg_call *call, char *out, size_t outlen);

void vg_api_conn_init(struct vg_server *srv);
void vg_api_conn_release(struct vg_server *srv);
/* A request arrived on req's connection; 1 if that connection is past the
 * cap and must be answered 503. */
int vg_api_conn_busy(struct vg_server *srv, struct evhttp_request *req);
void vg_api_conn_idle(struct vg_server *srv, struct evhttp_request *req);
size_t vg_api_conn_count(const struct vg_server *srv);

/* 1 if the caller's role has perm; otherwise answers 403 and returns 0. */
int vg_api_require(struct vg_call *call, enum vg_perm perm);

/* Parses the JSON body; on error answers 400/413 and returns NULL. */
json_t *vg_api_body_json(struct vg_call *call);

/* An async write: the reply is sent by done() once the record commits. */
struct vg_pending_call;
typedef void (*vg_api_commit_fn)(struct vg_pending_call *pc, int code,
                                 const vg_apply_result_t *res);
struct vg_pending_call {
    struct vg_server *srv;
    struct evhttp_request *req; /* NULL once the client went away */
    uint64_t handle;
    vg_api_commit_fn on_commit;
    char secret[VG_TOKEN_LEN + 1]; /* token to show once; wiped */
    uint64_t ref;                  /* the caller's: what the reply is about (an incident) */
    json_t *answer;                /* vg_api_submit_answer: the body to answer */
    int answer_code;
};
/* Submits payload as a record; on_commit gets the result with a live req. */
void vg_api_submit(struct vg_call *call, uint16_t type, const json_t *payload,
                   vg_api_commit_fn on_commit, const char *secret);
/* Submits payload; once it commits answers code with answer (stolen). */
void vg_api_submit_answer(struct vg_call *call, uint16_t type, const json_t *payload, int code,
                          json_t *answer);
/* The same, with pc->ref set for on_commit. */
void vg_api_submit_ref(struct vg_call *call, uint16_t type, const json_t *payload,
                       vg_api_commit_fn on_commit, uint64_t ref);
/* From a connection's close callback: frees req if libevent detached it. */
void vg_api_release_request(struct evhttp_request *req);

/* Maps an apply/submit error code to an HTTP reply. */
void vg_api_reply_apply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                              const vg_apply_result_t *res);

/*
 * The route table (router.c): one row per method and path. The router
 * decodes and checks the path and query, answers 401/403/404/405 (with
 * Allow), refuses writes on a mirror or while draining, applies the
 * back-pressure bound, and only then calls the handler, which can rely on
 * the role and on args[] holding the {} segments.
 */
enum {
    VG_ROUTE_PUBLIC = 1,  /* no token needed (/healthz, /readyz) */
    VG_ROUTE_PRIMARY = 2, /* appends to the log: acting primary only, back-pressure */
    VG_ROUTE_QUERY_TOKEN = 4, /* the token may come as ?access_token= (calendar feeds) */
};
/* The API's own routes, ended by a row with a NULL pattern; each running
 * service adds its own (struct vg_service). */
extern const struct vg_route vg_api_routes[];

/* Routes one request (the evhttp callback of the server). */
void vg_api_route(struct evhttp_request *req, void *srv);

/* Route handlers. */
void vg_api_healthz(struct vg_call *call);
void vg_api_readyz(struct vg_call *call);
void vg_api_list_all(struct vg_call *call);
void vg_api_list_kind(struct vg_call *call);
void vg_api_get_object(struct vg_call *call);
void vg_api_put_object(struct vg_call *call);
void vg_api_delete_object(struct vg_call *call);
void vg_api_kinds(struct vg_call *call);
void vg_api_list_tokens(struct vg_call *call);
void vg_api_create_token(struct vg_call *call);
void vg_api_revoke_token(struct vg_call *call);
void vg_api_watch(struct vg_call *call);
void vg_api_status(struct vg_call *call);
void vg_api_metrics(struct vg_call *call);
void vg_api_cluster_status(struct vg_call *call);
void vg_api_switchover(struct vg_call *call);
void vg_api_failover(struct vg_call *call);
void vg_api_events(struct vg_call *call);
void vg_api_push_lp(struct vg_call *call);
void vg_api_push_json(struct vg_call *call);
void vg_api_series(struct vg_call *call);
void vg_api_sensors(struct vg_call *call);
void vg_api_facility(struct vg_call *call);
void vg_api_rules(struct vg_call *call);
void vg_api_alerts(struct vg_call *call);
void vg_api_sim(struct vg_call *call);

/* Watch fan-out, set up by the server. */
void vg_watch_init(struct vg_server *srv);
void vg_watch_release(struct vg_server *srv);

#endif

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
#include "crypto/tls.h"

#define VG_API_MAX_BODY     (1u << 20)
#define VG_API_MAX_HEADERS  (16u << 10)
#define VG_API_TIMEOUT_S    30
#define VG_WATCH_MAX_BUFFER (8u << 20)

struct vg_watcher;

struct vg_server {
    struct event_base *base;
    struct evhttp *http;
    vg_member_t *member;
    vg_cluster_t *cluster; /* NULL when standalone */
    struct vg_monitor *monitor;
    SSL_CTX *ssl;
    int draining;
    size_t n_inflight; /* writes waiting for commit */
    uint64_t start_ms;
    struct vg_watcher *watchers;
    size_t n_watchers;
    struct event *keepalive_ev;
    uint64_t http_codes[600]; /* requests answered, by status */
    uint64_t auth_failures;
};

/* One request being handled, after routing and authentication. */
struct vg_call {
    struct vg_server *srv;
    struct evhttp_request *req;
    enum evhttp_cmd_type method;
    const char *parts[8]; /* decoded path segments after /api/v1/ */
    size_t n_parts;
    struct evkeyvalq query;
    enum vg_role role;
    char actor[VG_TOKEN_ID_LEN + 1];
};

/* Replies; each ends the request. */
void vg_api_reply_json(struct vg_server *srv, struct evhttp_request *req, int code,
                       const json_t *body);
void vg_api_reply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                        const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vg_api_reply_text(struct vg_server *srv, struct evhttp_request *req, int code,
                       const char *content_type, const char *text, size_t len);

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
};
/* Submits payload as a record; on_commit gets the result with a live req. */
void vg_api_submit(struct vg_call *call, uint16_t type, const json_t *payload,
                   vg_api_commit_fn on_commit, const char *secret);
/* From a connection's close callback: frees req if libevent detached it. */
void vg_api_release_request(struct evhttp_request *req);

/* Maps an apply/submit error code to an HTTP reply. */
void vg_api_reply_apply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                              const vg_apply_result_t *res);

/* Route handlers. */
void vg_api_objects(struct vg_call *call);
void vg_api_kinds(struct vg_call *call);
void vg_api_tokens(struct vg_call *call);
void vg_api_watch(struct vg_call *call);
void vg_api_status(struct vg_call *call);
void vg_api_metrics(struct vg_call *call);
void vg_api_cluster(struct vg_call *call);
void vg_api_events(struct vg_call *call);
void vg_api_sense(struct vg_call *call); /* write, readings, series, sensors, facility, ... */

/* Watch fan-out, set up by the server. */
void vg_watch_init(struct vg_server *srv);
void vg_watch_release(struct vg_server *srv);

#endif

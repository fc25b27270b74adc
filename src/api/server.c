/*
 * server.c - listener setup, routing, authentication and reply helpers of
 * the REST API. Route handlers live in the routes_*.c files.
 *
 * Every request is answered with JSON (or text for health and metrics);
 * every failure names what is wrong. Handlers never trust the path, query,
 * headers or body: all of it is checked before anything is appended.
 */
#include "api/api_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http_struct.h> /* major/minor of a request that never parsed */
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <unistd.h>

#include "core/jsonout.h"
#include "core/listen.h"
#include "core/netaddr.h"
#include "core/say.h"
#include "core/text.h"
#include "state/state.h"

static void count_code(struct vg_server *srv, int code)
{
    if (code >= 100 && code < 600)
        srv->http_codes[code]++;
}

void vg_api_reply_text(struct vg_server *srv, struct evhttp_request *req, int code,
                       const char *content_type, const char *text, size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", content_type);
    evhttp_add_header(out, "Cache-Control", "no-store");
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text, len);
    count_code(srv, code);
    vg_api_conn_idle(srv, req);
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
}

void vg_api_reply_raw(struct vg_server *srv, struct evhttp_request *req, int code,
                      struct evbuffer *body)
{
    count_code(srv, code);
    vg_api_conn_idle(srv, req);
    evhttp_send_reply(req, code, NULL, body);
}

void vg_api_reply_json(struct vg_server *srv, struct evhttp_request *req, int code,
                       const json_t *body)
{
    if (!body) { /* a builder refused its input: a bug, but never a crash */
        static const char text[] = "{\"error\":\"internal error: reply could not be built\"}\n";
        vg_error("API reply with status %d could not be built", code);
        vg_api_reply_text(srv, req, 500, "application/json", text, sizeof text - 1);
        return;
    }
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(body, &text);
    vg_buf_add(&text, "\n", 1);
    vg_api_reply_text(srv, req, code, "application/json", (char *)text.data, text.len);
    vg_buf_release(&text);
}

void vg_api_reply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                        const char *field, const char *fmt, ...)
{
    /* messages echo client input: made valid UTF-8 and cut on a character
     * boundary, so the reply can always be built */
    vg_buf_t raw = VG_BUF_INIT;
    char msg[1024], field_shown[160];
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    vg_text_clean(msg, sizeof msg, raw.data ? (char *)raw.data : "", raw.len, 0);
    vg_buf_release(&raw);
    json_t *body = json_object();
    json_object_set_new(body, "error", json_string(msg));
    if (field && *field) {
        vg_text_clean(field_shown, sizeof field_shown, field, strlen(field), 0);
        json_object_set_new(body, "field", json_string(field_shown));
    }
    if (code == 401)
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"vigil\"");
    vg_api_reply_json(srv, req, code, body);
    json_decref(body);
}

int vg_api_require(struct vg_call *call, enum vg_perm perm)
{
    if (vg_role_allows(call->role, perm))
        return 1;
    static const char *what[] = {"read",
                                 "write objects",
                                 "manage tokens",
                                 "read metrics",
                                 "read the audit trail",
                                 "switch over",
                                 "force a failover"};
    vg_api_reply_error(call->srv, call->req, 403, NULL, "role %s may not %s",
                       vg_role_name(call->role), what[perm]);
    return 0;
}

json_t *vg_api_body_json(struct vg_call *call)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(call->req);
    size_t len = evbuffer_get_length(in);
    if (len > VG_API_MAX_BODY) {
        vg_api_reply_error(call->srv, call->req, 413, NULL, "body exceeds %u bytes",
                           VG_API_MAX_BODY);
        return NULL;
    }
    if (len == 0) {
        vg_api_reply_error(call->srv, call->req, 400, NULL, "request body is empty");
        return NULL;
    }
    json_error_t jerr;
    const char *text = (const char *)evbuffer_pullup(in, -1);
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        /* jansson ends its text with "near '<input>'": that input may be a
         * password, so the message stops before it */
        char *near = strstr(jerr.text, " near '");
        if (near)
            *near = '\0';
        vg_api_reply_error(call->srv, call->req, 400, NULL,
                           "body is not valid JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
        return NULL;
    }
    return body;
}

/* --- async writes ------------------------------------------------------ */

static void pending_free(struct vg_pending_call *pc)
{
    sodium_memzero(pc->secret, sizeof pc->secret);
    json_decref(pc->answer);
    free(pc);
}

/* libevent detaches an unfinished request from a connection that failed
 * and leaves freeing it to us; one still attached (evhttp_free at
 * shutdown) is freed by libevent itself. */
void vg_api_release_request(struct evhttp_request *req)
{
    if (req && !evhttp_request_get_connection(req))
        evhttp_request_free(req);
}

static void on_client_gone(struct evhttp_connection *evcon, void *arg)
{
    struct vg_pending_call *pc = arg;
    vg_api_release_request(pc->req);
    vg_member_forget(pc->srv->member, pc->handle);
    pc->srv->n_inflight--;
    pending_free(pc);
}

static void on_member_done(void *ctx, int code, const vg_apply_result_t *res)
{
    struct vg_pending_call *pc = ctx;
    struct evhttp_connection *evcon = evhttp_request_get_connection(pc->req);
    if (evcon)
        evhttp_connection_set_closecb(evcon, NULL, NULL);
    pc->srv->n_inflight--;
    pc->on_commit(pc, code, res);
    pending_free(pc);
}

static void submit(struct vg_call *call, uint16_t type, const json_t *payload,
                   vg_api_commit_fn on_commit, const char *secret, uint64_t ref, int code,
                   json_t *answer)
{
    struct vg_pending_call *pc = vg_calloc(1, sizeof *pc);
    pc->srv = call->srv;
    pc->req = call->req;
    pc->on_commit = on_commit;
    pc->ref = ref;
    pc->answer = answer;
    pc->answer_code = code;
    if (secret)
        snprintf(pc->secret, sizeof pc->secret, "%s", secret);
    int rc =
        vg_member_submit(call->srv->member, type, payload, on_member_done, pc, &pc->handle);
    if (rc) {
        vg_api_reply_apply_error(call->srv, call->req, rc, NULL);
        pending_free(pc);
        return;
    }
    call->srv->n_inflight++;
    struct evhttp_connection *evcon = evhttp_request_get_connection(call->req);
    if (evcon)
        evhttp_connection_set_closecb(evcon, on_client_gone, pc);
}

void vg_api_submit(struct vg_call *call, uint16_t type, const json_t *payload,
                   vg_api_commit_fn on_commit, const char *secret)
{
    submit(call, type, payload, on_commit, secret, 0, 0, NULL);
}

void vg_api_submit_ref(struct vg_call *call, uint16_t type, const json_t *payload,
                       vg_api_commit_fn on_commit, uint64_t ref)
{
    submit(call, type, payload, on_commit, NULL, ref, 0, NULL);
}

static void reply_answer(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code)
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
    else
        vg_api_reply_json(pc->srv, pc->req, pc->answer_code, pc->answer);
}

void vg_api_submit_answer(struct vg_call *call, uint16_t type, const json_t *payload, int code,
                          json_t *answer)
{
    submit(call, type, payload, reply_answer, NULL, 0, code, answer);
}

void vg_api_reply_apply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                              const vg_apply_result_t *res)
{
    const char *msg = res && res->msg[0] ? res->msg : strerror(code < 0 ? -code : code);
    switch (code) {
    case -VG_ECONFLICT:
        vg_api_reply_error(srv, req, 409, NULL, "%s", msg);
        break;
    case -ENOENT:
        vg_api_reply_error(srv, req, 404, NULL, "%s", msg);
        break;
    case -ESTALE:
        vg_api_reply_error(
            srv, req, 503, NULL,
            "write not committed: this member stopped being the primary before "
            "the mirror acknowledged it; the new primary may still commit it, so "
            "check before retrying");
        break;
    case -EINVAL:
    case -EEXIST:
        vg_api_reply_error(srv, req, 400, NULL, "%s", msg);
        break;
    case -ENOSPC:
    case -EDQUOT: /* not written, and never will be: safe to retry once space is freed */
        vg_api_reply_error(srv, req, 507, NULL,
                           "write not stored: the disk holding data directory '%s' is full; "
                           "free space there and retry",
                           vg_member_data_dir(srv->member));
        break;
    default:
        vg_api_reply_error(srv, req, 503, NULL, "write not committed: %s", msg);
        break;
    }
}

/* --- unauthenticated probes ------------------------------------------ */

void vg_api_healthz(struct vg_call *call)
{
    vg_api_reply_text(call->srv, call->req, 200, "text/plain", "ok\n", 3);
}

void vg_api_readyz(struct vg_call *call)
{
    struct vg_server *srv = call->srv;
    int ready = !srv->draining && vg_member_writable(srv->member) &&
                !vg_member_disk_full(srv->member);
    if (ready && srv->cluster) /* serving: an acting primary, or a mirror */
        ready = strcmp(vg_cluster_role_name(srv->cluster), "none") != 0;
    const char *text = ready ? "ready\n" : "not ready\n";
    vg_api_reply_text(srv, call->req, ready ? 200 : 503, "text/plain", text, strlen(text));
}

/* --- listener ----------------------------------------------------------- */

static int setup_listener(struct vg_server *srv, const struct vg_server_opts *opts, char *err,
                          size_t errlen)
{
    char host[256];
    uint16_t port;
    if (vg_addr_split(opts->listen, host, sizeof host, &port))
        return vg_err(err, errlen, -EINVAL, "--listen '%s' is not HOST:PORT", opts->listen);
    int tls = opts->tls_cert || opts->tls_key;
    if (tls && !(opts->tls_cert && opts->tls_key))
        return vg_err(err, errlen, -EINVAL, "--tls-cert and --tls-key go together");
    if (!tls && !vg_addr_is_loopback(host) && !opts->insecure)
        return vg_err(err, errlen, -EPERM,
                      "refusing plain HTTP on non-loopback address '%s': give --tls-cert and "
                      "--tls-key, or --insecure",
                      host);
    if (tls) {
        srv->ssl = vg_tls_server_ctx(opts->tls_cert, opts->tls_key, NULL, err, errlen);
        if (!srv->ssl)
            return -EINVAL;
    }
    int rc = vg_http_listen(srv->http, opts->listen, &srv->port, err, errlen);
    if (rc)
        return rc;
    vg_info("serving the API on %s://%s", tls ? "https" : "http", opts->listen);
    return 0;
}

int vg_server_start(struct event_base *base, vg_member_t *member,
                    const struct vg_server_opts *opts, vg_server_t **out, char *err,
                    size_t errlen)
{
    struct vg_server *srv = vg_calloc(1, sizeof *srv);
    srv->base = base;
    srv->member = member;
    srv->cluster = opts->cluster;
    srv->services = opts->services;
    srv->n_services = opts->n_services;
    srv->start_ms = vg_mono_ms();
    srv->max_pending = opts->max_pending ? opts->max_pending : VG_API_DEFAULT_MAX_PENDING;
    srv->max_watchers = opts->max_watchers ? opts->max_watchers : VG_API_DEFAULT_MAX_WATCHERS;
    srv->max_conns = opts->max_conns ? opts->max_conns : VG_API_DEFAULT_MAX_CONNS;
    srv->request_deadline_ms =
        (opts->request_deadline_s ? opts->request_deadline_s : VG_API_DEFAULT_DEADLINE_S) * 1000u;
    srv->http = evhttp_new(base);
    evhttp_set_max_body_size(srv->http, VG_API_MAX_BODY);
    evhttp_set_max_headers_size(srv->http, VG_API_MAX_HEADERS);
    evhttp_set_timeout(srv->http, opts->timeout_s > 0 ? opts->timeout_s : VG_API_TIMEOUT_S);
    /* every method reaches the router, which answers 405 with Allow */
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
                                              EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
    evhttp_set_default_content_type(srv->http, "application/json");
    evhttp_set_gencb(srv->http, vg_api_route, srv);
    int rc = setup_listener(srv, opts, err, errlen);
    if (rc) {
        vg_server_free(srv);
        return rc;
    }
    vg_api_conn_init(srv);
    vg_watch_init(srv);
    *out = srv;
    return 0;
}

uint16_t vg_server_port(const vg_server_t *srv)
{
    return srv->port;
}

size_t vg_server_drain(vg_server_t *srv)
{
    srv->draining = 1;
    return srv->n_inflight;
}

void vg_server_free(vg_server_t *srv)
{
    if (!srv)
        return;
    vg_watch_release(srv);
    if (srv->http)
        evhttp_free(srv->http);
    vg_api_conn_release(srv);
    if (srv->ssl)
        SSL_CTX_free(srv->ssl);
    free(srv);
}

/* --- libevent's own error pages ----------------------------------------- */

/*
 * evhttp answers requests it cannot parse (a bad request line, a header
 * past the limit, a body too large) itself, with an HTML page, before any
 * callback of ours runs; libevent 2.1 has no hook for it. This definition
 * takes the place of the library's (the dynamic linker binds the library's
 * own calls to the executable's symbol), so those answers are JSON errors
 * like every other.
 */
void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
    /* an unknown method is the client's error: 400, never a 5xx */
    if (error == 501)
        error = 400, reason = NULL;
    const char *what = error == 413 ? "request too large: the body exceeds the limit"
                                    : "request could not be parsed: a malformed request "
                                      "line, header or body framing, or headers past the limit";
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        evhttp_connection_free(evhttp_request_get_connection(req));
        return;
    }
    evbuffer_add_printf(buf, "{\"error\":\"%s\"}\n", what);
    if (req->major != 1) /* the request line never parsed, or named no HTTP/1 */
        req->major = 1, req->minor = 1;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_clear_headers(out);
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Connection", "close");
    evhttp_send_reply(req, error, reason, buf);
    evbuffer_free(buf);
}

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
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <sodium.h>
#include <unistd.h>

#include "core/jsonout.h"
#include "core/netaddr.h"
#include "core/say.h"
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
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
}

void vg_api_reply_json(struct vg_server *srv, struct evhttp_request *req, int code,
                       const json_t *body)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(body, &text);
    vg_buf_add(&text, "\n", 1);
    vg_api_reply_text(srv, req, code, "application/json", (char *)text.data, text.len);
    vg_buf_release(&text);
}

void vg_api_reply_error(struct vg_server *srv, struct evhttp_request *req, int code,
                        const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s}", "error", msg);
    if (field && *field)
        json_object_set_new(body, "field", json_string(field));
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

void vg_api_submit(struct vg_call *call, uint16_t type, const json_t *payload,
                   vg_api_commit_fn on_commit, const char *secret)
{
    struct vg_pending_call *pc = vg_calloc(1, sizeof *pc);
    pc->srv = call->srv;
    pc->req = call->req;
    pc->on_commit = on_commit;
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

/* --- routing and authentication --------------------------------------- */

static enum vg_role authenticate(struct vg_call *call)
{
    const char *h =
        evhttp_find_header(evhttp_request_get_input_headers(call->req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return VG_ROLE_NONE;
    const char *token = h + 7;
    const char *hash = NULL;
    if (vg_token_id(token, call->actor))
        return VG_ROLE_NONE;
    enum vg_role role = vg_state_token(vg_member_state(call->srv->member), call->actor, &hash);
    if (role == VG_ROLE_NONE || !vg_token_matches(token, hash))
        return VG_ROLE_NONE;
    return role;
}

/* Splits "/api/v1/a/b" into decoded segments; -EINVAL on junk. */
static int split_path(struct vg_call *call, const char *path, char *scratch, size_t cap)
{
    static const char prefix[] = "/api/v1/";
    if (strncmp(path, prefix, sizeof prefix - 1) != 0)
        return -ENOENT;
    char *dec = evhttp_uridecode(path + sizeof prefix - 1, 0, NULL);
    if (!dec || strlen(dec) >= cap) {
        free(dec);
        return -EINVAL;
    }
    snprintf(scratch, cap, "%s", dec);
    free(dec);
    call->n_parts = 0;
    char *save = NULL;
    for (char *p = strtok_r(scratch, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (call->n_parts == VG_ARRAY_LEN(call->parts))
            return -EINVAL;
        call->parts[call->n_parts++] = p;
    }
    return call->n_parts ? 0 : -ENOENT;
}

static void dispatch(struct vg_call *call)
{
    const char *top = call->parts[0];
    if (strcmp(top, "objects") == 0)
        vg_api_objects(call);
    else if (strcmp(top, "watch") == 0 && call->n_parts == 1)
        vg_api_watch(call);
    else if (strcmp(top, "kinds") == 0 && call->n_parts == 1)
        vg_api_kinds(call);
    else if (strcmp(top, "tokens") == 0)
        vg_api_tokens(call);
    else if (strcmp(top, "status") == 0 && call->n_parts == 1)
        vg_api_status(call);
    else if (strcmp(top, "cluster") == 0)
        vg_api_cluster(call);
    else if (strcmp(top, "events") == 0 && call->n_parts == 1)
        vg_api_events(call);
    else if (!strcmp(top, "write") || !strcmp(top, "readings") || !strcmp(top, "series") ||
             !strcmp(top, "sensors") || !strcmp(top, "facility") || !strcmp(top, "rules") ||
             !strcmp(top, "alerts") || !strcmp(top, "sim"))
        vg_api_sense(call);
    else
        vg_api_reply_error(call->srv, call->req, 404, NULL, "no such endpoint");
}

static void handle_unauthenticated(struct vg_server *srv, struct evhttp_request *req,
                                   const char *path)
{
    if (strcmp(path, "/readyz") == 0) {
        int ready = !srv->draining && vg_member_writable(srv->member) &&
                    !vg_member_disk_full(srv->member);
        if (ready && srv->cluster) /* serving: an acting primary, or a mirror */
            ready = strcmp(vg_cluster_role_name(srv->cluster), "none") != 0;
        const char *text = ready ? "ready\n" : "not ready\n";
        vg_api_reply_text(srv, req, ready ? 200 : 503, "text/plain", text, strlen(text));
        return;
    }
    vg_api_reply_text(srv, req, 200, "text/plain", "ok\n", 3);
}

/* In a cluster every answer says who served it, in which role, and how far
 * behind a mirror is. */
static void add_cluster_headers(struct vg_server *srv, struct evhttp_request *req)
{
    vg_cluster_t *cl = srv->cluster;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    char lag[32];
    evhttp_add_header(out, "Vigil-Role", vg_cluster_role_name(cl));
    evhttp_add_header(out, "Vigil-Member", vg_cluster_member_name(cl));
    snprintf(lag, sizeof lag, "%llu", (unsigned long long)vg_cluster_lag(cl));
    evhttp_add_header(out, "Vigil-Lag", lag);
}

/* A write refused before anything was done: "primary" (a member name, or
 * null when unknown) tells a client it may send it to another member. */
static void reply_refused(struct vg_server *srv, struct evhttp_request *req, const char *why,
                          const char *primary)
{
    int named = primary && primary[0];
    if (named)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Vigil-Primary", primary);
    json_t *body = json_pack("{s:s, s:o}", "error", why, "primary",
                             named ? json_string(primary) : json_null());
    vg_api_reply_json(srv, req, 503, body);
    json_decref(body);
}

/* In a cluster, writes go only to the acting primary. 0 if answered. */
static int cluster_gate(struct vg_call *call)
{
    /* a scenario changes the site's simulator, not the log: any member */
    if (call->method == EVHTTP_REQ_GET || strcmp(call->parts[0], "cluster") == 0 ||
        strcmp(call->parts[0], "sim") == 0)
        return 1;
    char why[512], primary[64];
    if (vg_cluster_can_write(call->srv->cluster, why, sizeof why, primary, sizeof primary))
        return 1;
    reply_refused(call->srv, call->req, why, primary);
    return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct vg_server *srv = arg;
    struct vg_call call = {.srv = srv, .req = req, .method = evhttp_request_get_command(req)};
    TAILQ_INIT(&call.query);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    char scratch[1024];
    if (!path) {
        vg_api_reply_error(srv, req, 400, NULL, "malformed request URI");
        return;
    }
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
        handle_unauthenticated(srv, req, path);
        return;
    }
    call.role = authenticate(&call);
    if (call.role == VG_ROLE_NONE) {
        srv->auth_failures++;
        vg_api_reply_error(srv, req, 401, NULL, "missing or invalid bearer token");
        return;
    }
    if (srv->cluster)
        add_cluster_headers(srv, req);
    if (srv->draining && call.method != EVHTTP_REQ_GET) {
        reply_refused(srv, req, "vigild is shutting down", NULL);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        vg_api_metrics(&call);
        return;
    }
    const char *query = evhttp_uri_get_query(uri);
    if (query && evhttp_parse_query_str(query, &call.query) != 0) {
        vg_api_reply_error(srv, req, 400, NULL, "malformed query string");
        return;
    }
    int rc = split_path(&call, path, scratch, sizeof scratch);
    if (!rc && srv->cluster && !cluster_gate(&call))
        rc = 1; /* answered */
    else if (rc == -EINVAL)
        vg_api_reply_error(srv, req, 400, NULL, "malformed path");
    else if (rc < 0)
        vg_api_reply_error(srv, req, 404, NULL, "no such endpoint '%s'", path);
    else
        dispatch(&call);
    evhttp_clear_headers(&call.query);
}

/* --- listener ----------------------------------------------------------- */

static struct bufferevent *make_tls_bev(struct event_base *base, void *arg)
{
    SSL_CTX *ctx = arg;
    return bufferevent_openssl_socket_new(base, -1, SSL_new(ctx), BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

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
        evhttp_set_bevcb(srv->http, make_tls_bev, srv->ssl);
    }
    /* retry briefly: a killed predecessor's socket may still be closing */
    struct evhttp_bound_socket *bound;
    for (int tries = 0; !(bound = evhttp_bind_socket_with_handle(srv->http, host, port));
         tries++) {
        if (errno != EADDRINUSE || tries == 40)
            return vg_err(err, errlen, -EADDRINUSE, "cannot listen on '%s': %s", opts->listen,
                          strerror(errno));
        usleep(50000);
    }
    vg_tcp_nodelay(evhttp_bound_socket_get_fd(bound)); /* answers go out at once */
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
    srv->monitor = opts->monitor;
    srv->start_ms = vg_mono_ms();
    srv->http = evhttp_new(base);
    evhttp_set_max_body_size(srv->http, VG_API_MAX_BODY);
    evhttp_set_max_headers_size(srv->http, VG_API_MAX_HEADERS);
    evhttp_set_timeout(srv->http, opts->timeout_s > 0 ? opts->timeout_s : VG_API_TIMEOUT_S);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_default_content_type(srv->http, "application/json");
    evhttp_set_gencb(srv->http, on_request, srv);
    int rc = setup_listener(srv, opts, err, errlen);
    if (rc) {
        vg_server_free(srv);
        return rc;
    }
    vg_watch_init(srv);
    *out = srv;
    return 0;
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
    if (srv->ssl)
        SSL_CTX_free(srv->ssl);
    free(srv);
}

/*
 * server.c - the witness's three endpoints over evhttp, mutual TLS, and the
 * heartbeat table that rule 1 of DESIGN.md section 3 depends on.
 *
 * Workload: two members heartbeating every 100 ms and a configuration
 * change now and then, so everything runs on the one event-loop thread and
 * a change is saved (fsync) synchronously before it is answered.
 *
 * Must never: answer 200 to a change that is not durable, let a member
 * speak for another (under TLS the name is the certificate's CN), crash or
 * change anything on malformed input, or start with "not heard for a long
 * time" for a primary it has simply not had the chance to hear yet: the
 * heartbeat table starts at the witness's own start.
 */
#include "witness/witness_server.h"
#include "core/netaddr.h"
#include "crypto/tls.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/jsonout.h"
#include "core/listen.h"
#include "core/names.h"
#include "core/say.h"
#include "core/text.h"

#define MAX_BODY        (64u << 10)
#define MAX_HEADERS     (16u << 10)
#define HTTP_TIMEOUT_S  10
#define PATH_CONFIG     "/witness/v1/config"
#define PATH_HEARTBEAT  "/witness/v1/heartbeat"
#define FAIL_EXIT_DELAY 200000 /* us to let the 503 reach the caller */

struct vg_witness_server {
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *ssl; /* NULL with insecure_no_tls */
    vg_witness_store_t *store;
    vg_witness_cfg_t cfg;
    uint64_t dead_after_ms;
    uint64_t heard_ms[VG_WITNESS_N_MEMBERS];     /* vg_mono_ms of the last request */
    uint64_t warned_epoch[VG_WITNESS_N_MEMBERS]; /* to warn once per epoch ahead */
    int failed;
};

/* --- replies -------------------------------------------------------------- */

static void reply_json(struct evhttp_request *req, int code, json_t *body)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(body, &text);
    vg_buf_add(&text, "\n", 1);
    json_decref(body);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Cache-Control", "no-store");
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text.data, text.len);
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
    vg_buf_release(&text);
}

/* Messages may quote what a caller sent: cleaned (core/text.h) so that the
 * JSON string can always be built. */
static json_t *ascii_string(const char *s)
{
    char clean[512];
    vg_text_clean(clean, sizeof clean, s, strlen(s), 0);
    return json_string(clean);
}

/* {"error":msg[,"field":field]}; field may be NULL. */
static void reply_error(struct evhttp_request *req, int code, const char *field,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_error(struct evhttp_request *req, int code, const char *field,
                        const char *fmt, ...)
{
    vg_buf_t msg = VG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    json_t *body = json_object();
    json_object_set_new(body, "error", ascii_string(msg.data ? (char *)msg.data : ""));
    vg_buf_release(&msg);
    if (field)
        json_object_set_new(body, "field", ascii_string(field));
    reply_json(req, code, body);
}

static void reply_405(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    reply_error(req, 405, NULL, "method not allowed: use %s", allow);
}

/* 409: the request lost a race or a rule forbids it; the caller learns C. */
static void reply_conflict(struct vg_witness_server *srv, struct evhttp_request *req,
                           const char *msg)
{
    json_t *body = json_object();
    json_object_set_new(body, "error", ascii_string(msg));
    json_object_set_new(body, "config", vg_witness_cfg_to_json(&srv->cfg));
    reply_json(req, 409, body);
}

/* --- request input --------------------------------------------------------- */

/* The body as a JSON value, or NULL after answering 400. */
static json_t *body_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        reply_error(req, 400, NULL, "request body is empty");
        return NULL;
    }
    json_error_t jerr;
    const char *text = (const char *)evbuffer_pullup(in, -1);
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        reply_error(req, 400, NULL, "body is not valid JSON: %s (line %d, column %d)",
                    jerr.text, jerr.line, jerr.column);
    return body;
}

/* The common name of the verified client certificate, as a member name. */
static int peer_cn(struct evhttp_request *req, char out[VG_WITNESS_NAME_MAX + 1], char *err,
                   size_t errlen)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    return vg_tls_peer_cn(ssl, out, VG_WITNESS_NAME_MAX + 1, err, errlen);
}

/* Who is asking: the certificate's CN under TLS (a "member" in the body
 * must then agree with it), the body's "member" without TLS. On failure
 * answers 400 or 403 and returns -1; name is filled on success. */
static int caller(struct vg_witness_server *srv, struct evhttp_request *req,
                  const char *body_member, char name[VG_WITNESS_NAME_MAX + 1])
{
    char why[128];
    if (!srv->ssl) {
        if (!body_member[0]) {
            reply_error(req, 400, "member", "'member' is required without TLS");
            return -1;
        }
        snprintf(name, VG_WITNESS_NAME_MAX + 1, "%s", body_member);
        return 0;
    }
    if (peer_cn(req, name, why, sizeof why)) {
        reply_error(req, 403, NULL, "%s", why);
        return -1;
    }
    if (body_member[0] && strcmp(body_member, name) != 0) {
        reply_error(req, 403, "member",
                    "'member' is '%s' but the client certificate belongs to '%s'", body_member,
                    name);
        return -1;
    }
    return 0;
}

/* --- heartbeat table (monotonic clock) ----------------------------------- */

static void heard(struct vg_witness_server *srv, const char *name)
{
    int i = vg_witness_cfg_member(&srv->cfg, name);
    if (i >= 0)
        srv->heard_ms[i] = vg_mono_ms();
}

static uint64_t ms_since_heard(const struct vg_witness_server *srv, int i)
{
    uint64_t now = vg_mono_ms();
    return now > srv->heard_ms[i] ? now - srv->heard_ms[i] : 0;
}

static json_t *heard_json(const struct vg_witness_server *srv)
{
    json_t *obj = json_object();
    for (int i = 0; srv->cfg.epoch && i < VG_WITNESS_N_MEMBERS; i++)
        json_object_set_new(obj, srv->cfg.members[i],
                            json_integer((json_int_t)ms_since_heard(srv, i)));
    return obj;
}

/* --- handlers ----------------------------------------------------------- */

static void get_config(struct vg_witness_server *srv, struct evhttp_request *req)
{
    reply_json(req, 200, vg_witness_cfg_to_json(&srv->cfg));
}

static void post_heartbeat(struct vg_witness_server *srv, struct evhttp_request *req)
{
    json_t *body = body_json(req);
    vg_witness_heartbeat_t hb;
    const char *field;
    char err[512], name[VG_WITNESS_NAME_MAX + 1];
    if (!body)
        return;
    if (vg_witness_heartbeat_from_json(body, &hb, &field, err, sizeof err))
        reply_error(req, 400, field, "%s", err);
    else if (caller(srv, req, hb.member, name) == 0) {
        int i = vg_witness_cfg_member(&srv->cfg, name);
        if (srv->cfg.epoch && i < 0) {
            reply_error(req, 403, "member", "'%s' is not a member of this cluster", name);
        } else {
            heard(srv, name);
            if (i >= 0 && hb.epoch > srv->cfg.epoch && hb.epoch > srv->warned_epoch[i]) {
                srv->warned_epoch[i] = hb.epoch;
                vg_warn("member '%s' has seen epoch %llu but the witness is at %llu: was the "
                        "witness's config restored from an old copy?",
                        name, (unsigned long long)hb.epoch, (unsigned long long)srv->cfg.epoch);
            }
            json_t *answer = json_object();
            json_object_set_new(answer, "config", vg_witness_cfg_to_json(&srv->cfg));
            json_object_set_new(answer, "heard_ms", heard_json(srv));
            reply_json(req, 200, answer);
        }
    }
    json_decref(body);
}

static void log_change(const vg_witness_cfg_t *c, const vg_witness_request_t *r)
{
    const char *second = c->sync == 3 ? c->members[1 - c->primary] : NULL;
    vg_say(c->forced ? VG_SAY_WARN : VG_SAY_INFO,
           "epoch %llu: %s%s by '%s' (%s): primary '%s', sync {%s%s%s}",
           (unsigned long long)c->epoch, vg_witness_op_name(r->op),
           c->forced ? " (FORCED, may lose data)" : "", c->changed_by,
           c->reason[0] ? c->reason : "no reason given", c->members[c->primary],
           c->members[c->primary], second ? ", " : "", second ? second : "");
}

/* Decides, saves durably, then answers: the order that makes a 200 a
 * promise the witness keeps across a crash. */
static void apply_change(struct vg_witness_server *srv, struct evhttp_request *req,
                         const vg_witness_request_t *r)
{
    char err[512];
    vg_witness_cfg_t next;
    uint64_t since = srv->cfg.epoch ? ms_since_heard(srv, srv->cfg.primary) : 0;
    int rc = vg_witness_decide(&srv->cfg, r, since, srv->dead_after_ms, vg_wall_ms(), &next,
                               err, sizeof err);
    if (rc == -VG_ECONFLICT) {
        reply_conflict(srv, req, err);
        return;
    }
    if (rc == -EPERM || rc == -EINVAL) {
        reply_error(req, rc == -EPERM ? 403 : 400, rc == -EPERM ? "member" : "target", "%s",
                    err);
        return;
    }
    if (rc) {
        reply_error(req, 500, NULL, "%s", err);
        return;
    }
    if ((rc = vg_witness_store_save(srv->store, &next, err, sizeof err))) {
        vg_error("cannot persist epoch %llu, stopping: %s", (unsigned long long)next.epoch,
                 err);
        reply_error(req, 503, NULL, "the witness could not persist the change");
        srv->failed = 1;
        struct timeval delay = {0, FAIL_EXIT_DELAY};
        event_base_loopexit(srv->base, &delay);
        return;
    }
    if (r->op == VG_WITNESS_OP_BOOTSTRAP) /* new members: count from now */
        for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
            srv->heard_ms[i] = vg_mono_ms();
    srv->cfg = next;
    log_change(&srv->cfg, r);
    reply_json(req, 200, vg_witness_cfg_to_json(&srv->cfg));
}

static void post_config(struct vg_witness_server *srv, struct evhttp_request *req)
{
    json_t *body = body_json(req);
    vg_witness_request_t r;
    const char *field;
    char err[512], name[VG_WITNESS_NAME_MAX + 1];
    if (!body)
        return;
    if (vg_witness_request_from_json(body, &r, &field, err, sizeof err))
        reply_error(req, 400, field, "%s", err);
    else if (caller(srv, req, r.member, name) == 0) {
        memcpy(r.member, name, sizeof r.member);
        heard(srv, r.member);
        apply_change(srv, req, &r);
    }
    json_decref(body);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct vg_witness_server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (srv->failed) {
        reply_error(req, 503, NULL, "the witness is stopping");
    } else if (!path) {
        reply_error(req, 400, NULL, "malformed request URI");
    } else if (strcmp(path, PATH_CONFIG) == 0) {
        if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD)
            get_config(srv, req);
        else if (method == EVHTTP_REQ_POST)
            post_config(srv, req);
        else
            reply_405(req, "GET, HEAD, POST");
    } else if (strcmp(path, PATH_HEARTBEAT) == 0) {
        if (method == EVHTTP_REQ_POST)
            post_heartbeat(srv, req);
        else
            reply_405(req, "POST");
    } else {
        reply_error(req, 404, NULL, "no such endpoint");
    }
}

/* --- TLS and listener ----------------------------------------------------- */

static int setup_listener(struct vg_witness_server *srv, const struct vg_witness_server_opts *o,
                          char *err, size_t errlen)
{
    char host[256];
    uint16_t port;
    if (vg_addr_split(o->listen, host, sizeof host, &port))
        return vg_err(err, errlen, -EINVAL, "--listen '%s' is not HOST:PORT", o->listen);
    if (o->insecure_no_tls && !vg_addr_is_loopback(host))
        return vg_err(err, errlen, -EPERM,
                      "refusing --insecure-no-tls on non-loopback address '%s': members and "
                      "witness use mutual TLS",
                      host);
    if (!o->insecure_no_tls) {
        if (!o->tls_cert || !o->tls_key || !o->tls_ca)
            return vg_err(err, errlen, -EINVAL,
                          "the witness needs --tls-cert, --tls-key and --tls-ca (or "
                          "--insecure-no-tls on loopback)");
        if (!(srv->ssl = vg_tls_server_ctx(o->tls_cert, o->tls_key, o->tls_ca, err, errlen)))
            return -EINVAL;
        evhttp_set_bevcb(srv->http, vg_tls_accept_bev, srv->ssl);
    }
    int rc = vg_http_listen(srv->http, o->listen, NULL, err, errlen);
    if (rc)
        return rc;
    vg_info("witness serving on %s://%s (dead_after %llu ms)", srv->ssl ? "https" : "http",
            o->listen, (unsigned long long)srv->dead_after_ms);
    return 0;
}

int vg_witness_server_start(struct event_base *base, vg_witness_store_t *store,
                            const vg_witness_cfg_t *cfg,
                            const struct vg_witness_server_opts *opts,
                            vg_witness_server_t **out, char *err, size_t errlen)
{
    struct vg_witness_server *srv = vg_calloc(1, sizeof *srv);
    srv->base = base;
    srv->store = store;
    srv->cfg = *cfg;
    srv->dead_after_ms = opts->dead_after_ms ? opts->dead_after_ms : VG_WITNESS_DEAD_AFTER_MS;
    /* nobody has been silent for longer than the witness has listened */
    for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
        srv->heard_ms[i] = vg_mono_ms();
    srv->http = evhttp_new(base);
    evhttp_set_max_body_size(srv->http, MAX_BODY);
    evhttp_set_max_headers_size(srv->http, MAX_HEADERS);
    evhttp_set_timeout(srv->http, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(srv->http, on_request, srv);
    int rc = setup_listener(srv, opts, err, errlen);
    if (rc) {
        vg_witness_server_free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

int vg_witness_server_failed(const vg_witness_server_t *srv)
{
    return srv && srv->failed;
}

void vg_witness_server_free(vg_witness_server_t *srv)
{
    if (!srv)
        return;
    if (srv->http)
        evhttp_free(srv->http);
    if (srv->ssl)
        SSL_CTX_free(srv->ssl);
    free(srv);
}

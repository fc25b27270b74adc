/*
 * router.c - the REST API's route table and the one path every request
 * takes before a handler runs.
 *
 * Everything a client controls is checked here first: the path is decoded
 * and refused (400) if a segment holds a control byte (%00 included) or is
 * not UTF-8; the query likewise. A known path with another method is 405
 * with an Allow header; the table is also what `vigild routes` prints and
 * what the docs test compares docs/api.md against.
 */
#include "api/api_int.h"

#include <event2/http_struct.h> /* the request's HTTP version */
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "core/text.h"
#include "core/utf8.h"
#include "state/state.h"
#include "web/logins.h"
#include "web/session.h"
#include "web/sessions.h"

#define GET     EVHTTP_REQ_GET
#define PUT     EVHTTP_REQ_PUT
#define POST    EVHTTP_REQ_POST
#define DELETE  EVHTTP_REQ_DELETE
#define PUBLIC  VG_ROUTE_PUBLIC
#define PRIMARY VG_ROUTE_PRIMARY

const struct vg_route vg_api_routes[] = {
    {GET, "/healthz", VG_PERM_READ, PUBLIC, vg_api_healthz},
    {GET, "/readyz", VG_PERM_READ, PUBLIC, vg_api_readyz},
    {GET, "/metrics", VG_PERM_METRICS, 0, vg_api_metrics},
    {GET, "/api/v1/objects", VG_PERM_READ, 0, vg_api_list_all},
    {GET, "/api/v1/objects/{kind}", VG_PERM_READ, 0, vg_api_list_kind},
    {GET, "/api/v1/objects/{kind}/{name}", VG_PERM_READ, 0, vg_api_get_object},
    {PUT, "/api/v1/objects/{kind}/{name}", VG_PERM_WRITE, PRIMARY, vg_api_put_object},
    {DELETE, "/api/v1/objects/{kind}/{name}", VG_PERM_WRITE, PRIMARY, vg_api_delete_object},
    {GET, "/api/v1/watch", VG_PERM_READ, 0, vg_api_watch},
    {GET, "/api/v1/kinds", VG_PERM_READ, 0, vg_api_kinds},
    {GET, "/api/v1/tokens", VG_PERM_TOKENS, 0, vg_api_list_tokens},
    {POST, "/api/v1/tokens", VG_PERM_TOKENS, PRIMARY, vg_api_create_token},
    {DELETE, "/api/v1/tokens/{id}", VG_PERM_TOKENS, PRIMARY, vg_api_revoke_token},
    {GET, "/api/v1/status", VG_PERM_READ, 0, vg_api_status},
    {GET, "/api/v1/cluster", VG_PERM_READ, 0, vg_api_cluster_status},
    {POST, "/api/v1/cluster/switchover", VG_PERM_SWITCHOVER, 0, vg_api_switchover},
    {POST, "/api/v1/cluster/failover", VG_PERM_FORCE, 0, vg_api_failover},
    {GET, "/api/v1/events", VG_PERM_READ, 0, vg_api_events},
    {0, NULL, 0, 0, NULL},
};

#define MAX_SEGMENTS 8

/* A request path split into decoded segments (pointing into text). */
struct path {
    char *text;
    const char *seg[MAX_SEGMENTS];
    size_t n_seg;
};

/* Decodes one %-encoded piece; -EINVAL (and why) if the result holds a
 * control byte or is not UTF-8. Caller frees *out. */
static int decode_piece(const char *piece, size_t len, int plus, char **out, const char *what,
                        char *why, size_t whylen)
{
    char *raw = vg_malloc(len + 1);
    memcpy(raw, piece, len);
    raw[len] = '\0';
    size_t n = 0;
    char *dec = evhttp_uridecode(raw, plus, &n);
    free(raw);
    if (!dec)
        return vg_err(why, whylen, -EINVAL, "%s cannot be decoded", what);
    if (vg_text_has_control(dec, n) || vg_utf8_check(dec, n) != n) {
        char shown[96];
        vg_text_clean(shown, sizeof shown, dec, n, 0);
        free(dec);
        return vg_err(why, whylen, -EINVAL, "%s '%s' holds a control byte or is not UTF-8",
                      what, shown);
    }
    *out = dec;
    return 0;
}

static int split_path(const char *path, struct path *p, char *why, size_t whylen)
{
    size_t len = strlen(path);
    p->text = vg_malloc(len + 1);
    size_t used = 0;
    p->n_seg = 0;
    for (const char *s = path; *s;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        size_t n = strcspn(s, "/");
        if (p->n_seg == MAX_SEGMENTS)
            return vg_err(why, whylen, -ENOENT, "path has too many segments");
        char *dec;
        if (decode_piece(s, n, 0, &dec, "path segment", why, whylen))
            return -EINVAL;
        size_t dlen = strlen(dec);
        memcpy(p->text + used, dec, dlen + 1); /* decoding never lengthens */
        p->seg[p->n_seg++] = p->text + used;
        used += dlen + 1;
        free(dec);
        s += n;
    }
    return 0;
}

/* 1 if the route's pattern matches; fills args. */
static int match(const struct vg_route *r, const struct path *p, const char **args)
{
    const char *pat = r->pattern;
    size_t i = 0, n_args = 0;
    if (!strcmp(pat, "/")) /* the dashboard's page */
        return p->n_seg == 0;
    while (*pat) {
        pat++; /* the '/' */
        size_t n = strcspn(pat, "/");
        if (i == p->n_seg)
            return 0;
        if (pat[0] == '{') {
            if (n_args < 4)
                args[n_args++] = p->seg[i];
        } else if (strlen(p->seg[i]) != n || strncmp(pat, p->seg[i], n) != 0) {
            return 0;
        }
        i++;
        pat += n;
    }
    return i == p->n_seg;
}

static int same_method(enum evhttp_cmd_type want, enum evhttp_cmd_type got)
{
    return want == got || (want == GET && got == EVHTTP_REQ_HEAD);
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case GET:
        return "GET";
    case PUT:
        return "PUT";
    case POST:
        return "POST";
    case DELETE:
        return "DELETE";
    default:
        return "?";
    }
}

/* Finds the route; 0, or 404/405 with Allow filled for 405. *public is
 * set when the path is one that needs no token. */
static int find_route(struct vg_call *call, const struct path *p, char *allow, size_t cap,
                      int *public)
{
    int path_known = 0;
    size_t used = 0;
    allow[0] = '\0';
    const struct vg_server *srv = call->srv;
    for (size_t t = 0; t <= srv->n_services; t++) { /* our own table, then each service's */
        const struct vg_route *table = t ? srv->services[t - 1].def->routes : vg_api_routes;
        for (const struct vg_route *r = table; r && r->pattern; r++) {
            const char *args[4] = {0};
            if (!match(r, p, args))
                continue;
            path_known = 1;
            *public |= (r->flags & PUBLIC) != 0;
            if (same_method(r->method, call->method)) {
                call->route = r;
                call->service = t ? srv->services[t - 1].instance : NULL;
                memcpy(call->args, args, sizeof args);
                return 0;
            }
            int n = snprintf(allow + used, cap - used, "%s%s%s", used ? ", " : "",
                             method_name(r->method), r->method == GET ? ", HEAD" : "");
            if (n > 0 && (size_t)n < cap - used)
                used += (size_t)n;
        }
    }
    return path_known ? 405 : 404;
}

/* Query pairs decoded like form fields ('+' is a space), each checked. */
static int parse_query(const char *query, struct evkeyvalq *out, char *why, size_t whylen)
{
    for (const char *s = query; s && *s;) {
        size_t n = strcspn(s, "&");
        size_t klen = strcspn(s, "=");
        if (klen > n)
            klen = n;
        if (n) {
            char *key = NULL, *value = NULL;
            const char *v = klen < n ? s + klen + 1 : s + n;
            size_t vlen = klen < n ? n - klen - 1 : 0;
            if (decode_piece(s, klen, 1, &key, "query parameter", why, whylen) ||
                decode_piece(v, vlen, 1, &value, "query value", why, whylen)) {
                free(key);
                return -EINVAL;
            }
            if (evhttp_find_header(out, key)) {
                int rc = vg_err(why, whylen, -EINVAL, "query parameter '%s' given twice", key);
                free(key);
                free(value);
                return rc;
            }
            evhttp_add_header(out, key, value);
            free(key);
            free(value);
        }
        s += n;
        if (*s == '&')
            s++;
    }
    return 0;
}

/* A route flagged VG_ROUTE_QUERY_TOKEN (a calendar feed: calendar apps
 * send no headers) also takes the token as ?access_token=; the first
 * value, decoded, copied into out. */
static const char *query_token(struct vg_call *call, char *out, size_t outlen)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(call->req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (!call->route || !(call->route->flags & VG_ROUTE_QUERY_TOKEN) || !query ||
        evhttp_parse_query_str(query, &q))
        return NULL;
    const char *v = evhttp_find_header(&q, "access_token");
    if (v && strlen(v) < outlen)
        snprintf(out, outlen, "%s", v);
    evhttp_clear_headers(&q);
    return v && *out ? out : NULL;
}

/* The dashboard's session cookie (web/session.h), checked as a token is:
 * the role is the token's or the login's as the state holds it now, so a
 * revoked token, a changed password or a logout (web/sessions.h) ends the
 * session on both members. */
static enum vg_role session_role(struct vg_call *call)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(call->req);
    const char *cookie = evhttp_find_header(in, "Cookie");
    char text[VG_SESSION_TEXT_MAX];
    struct vg_session s;
    const vg_state_t *st = vg_member_state(call->srv->member);
    const char *hash = NULL;
    uint8_t fp[8];
    if (!cookie || vg_session_cookie(cookie, VG_SESSION_COOKIE, text, sizeof text) ||
        vg_session_open(vg_member_keys(call->srv->member), text, vg_wall_ms(), &s))
        return VG_ROLE_NONE;
    enum vg_role role = s.kind == VG_SESSION_TOKEN ? vg_state_token(st, s.subject, &hash)
                                                   : vg_logins_get(st, s.subject, &hash);
    if (role == VG_ROLE_NONE || !hash)
        return VG_ROLE_NONE;
    vg_session_fingerprint(hash, fp);
    if (sodium_memcmp(fp, s.fingerprint, sizeof fp) || vg_sessions_revoked(st, s.sid))
        return VG_ROLE_NONE;
    call->via_session = 1;
    snprintf(call->actor, sizeof call->actor, "%s", s.subject);
    if (s.kind == VG_SESSION_PERSON)
        snprintf(call->person, sizeof call->person, "%s", s.subject);
    memcpy(call->csrf, s.csrf, sizeof call->csrf);
    call->session_expires_ms = s.expires_ms;
    return role;
}

/* A change made with the session cookie carries the session's CSRF secret
 * in X-Vigil-CSRF: a page of another origin can make a browser send the
 * cookie (SameSite aside) but cannot read the secret. */
static int csrf_ok(struct vg_call *call)
{
    if (!call->via_session || call->method == GET || call->method == EVHTTP_REQ_HEAD)
        return 1;
    const char *h =
        evhttp_find_header(evhttp_request_get_input_headers(call->req), "X-Vigil-CSRF");
    return h && strlen(h) == strlen(call->csrf) &&
           !sodium_memcmp(h, call->csrf, strlen(call->csrf));
}

static enum vg_role authenticate(struct vg_call *call)
{
    const char *h =
        evhttp_find_header(evhttp_request_get_input_headers(call->req), "Authorization");
    char from_query[VG_TOKEN_LEN + 1] = "";
    const char *token = h && !strncasecmp(h, "Bearer ", 7)
                            ? h + 7
                            : query_token(call, from_query, sizeof from_query);
    if (!token)
        return session_role(call);
    const char *hash = NULL;
    if (vg_token_id(token, call->actor))
        return VG_ROLE_NONE;
    enum vg_role role = vg_state_token(vg_member_state(call->srv->member), call->actor, &hash);
    if (role == VG_ROLE_NONE || !vg_token_matches(token, hash))
        return VG_ROLE_NONE;
    return role;
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
    json_t *body = json_object();
    json_object_set_new(body, "error", json_string(why));
    json_object_set_new(body, "primary", named ? json_string(primary) : json_null());
    vg_api_reply_json(srv, req, 503, body);
    json_decref(body);
}

/* The checks after the route is known; 1 if the handler may run. */
static int admit(struct vg_call *call)
{
    struct vg_server *srv = call->srv;
    const struct vg_route *r = call->route;
    if (r->flags & PUBLIC)
        return 1;
    if (!vg_api_require(call, r->perm))
        return 0;
    if (srv->draining && call->method != GET && call->method != EVHTTP_REQ_HEAD) {
        reply_refused(srv, call->req, "vigild is shutting down", NULL);
        return 0;
    }
    if (!(r->flags & PRIMARY))
        return 1;
    char why[512], primary[64];
    if (srv->cluster &&
        !vg_cluster_can_write(srv->cluster, why, sizeof why, primary, sizeof primary)) {
        reply_refused(srv, call->req, why, primary);
        return 0;
    }
    size_t pending = vg_member_n_pending(srv->member);
    if (pending >= srv->max_pending) {
        srv->n_backpressure++;
        /* "busy": refused before anything was done, so a client may retry */
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "1");
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Vigil-Result", "busy");
        vg_api_reply_error(srv, call->req, 503, NULL,
                           "too many writes waiting to commit (%zu, bound %zu): retry shortly",
                           pending, srv->max_pending);
        return 0;
    }
    return 1;
}

void vg_api_route(struct evhttp_request *req, void *arg)
{
    struct vg_server *srv = arg;
    struct vg_call call = {.srv = srv, .req = req, .method = evhttp_request_get_command(req)};
    TAILQ_INIT(&call.query);
    if (vg_api_conn_busy(srv, req)) {
        srv->n_conn_refused++;
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        vg_api_reply_error(srv, req, 503, NULL, "too many connections: retry shortly");
        return;
    }
    if (req->major != 1 || req->minor > 1) { /* evhttp takes any HTTP/d.d */
        req->major = 1, req->minor = 1;
        vg_api_reply_error(srv, req, 400, NULL, "only HTTP/1.0 and HTTP/1.1 are served");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct path p = {0};
    char why[256], allow[128];
    if (!path) {
        vg_api_reply_error(srv, req, 400, NULL, "malformed request URI");
        return;
    }
    int rc = split_path(path, &p, why, sizeof why);
    if (rc == -EINVAL) {
        vg_api_reply_error(srv, req, 400, NULL, "malformed path: %s", why);
        goto out;
    }
    int public = 0;
    int status = rc ? 404 : find_route(&call, &p, allow, sizeof allow, &public);
    if (!public) {
        call.role = authenticate(&call);
        if (call.role == VG_ROLE_NONE) {
            srv->auth_failures++;
            vg_api_reply_error(srv, req, 401, NULL, "missing or invalid bearer token");
            goto out;
        }
        if (!csrf_ok(&call)) {
            vg_api_reply_error(srv, req, 403, NULL,
                               "missing or wrong X-Vigil-CSRF header: a change made with the "
                               "dashboard's session needs the session's CSRF token");
            goto out;
        }
        if (srv->cluster)
            add_cluster_headers(srv, req);
    }
    if (status == 405) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        vg_api_reply_error(srv, req, 405, NULL, "method not allowed: use %s", allow);
        goto out;
    }
    if (status == 404) {
        vg_api_reply_error(srv, req, 404, NULL, "no such endpoint '%s'", path);
        goto out;
    }
    const char *query = evhttp_uri_get_query(uri);
    if (query && parse_query(query, &call.query, why, sizeof why)) {
        vg_api_reply_error(srv, req, 400, NULL, "malformed query: %s", why);
        goto out;
    }
    if (admit(&call))
        call.route->handler(&call);
out:
    evhttp_clear_headers(&call.query);
    free(p.text);
}

void vg_api_actor_name(const struct vg_call *call, char *out, size_t outlen)
{
    if (call->person[0]) { /* logged in to the dashboard with a password */
        snprintf(out, outlen, "%s", call->person);
        return;
    }
    snprintf(out, outlen, "token:%s", call->actor);
    json_t *tokens = vg_state_tokens(vg_member_state(call->srv->member));
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        const char *name = json_string_value(json_object_get(t, "name"));
        if (id && name && *name && !strcmp(id, call->actor)) {
            snprintf(out, outlen, "%s", name);
            break;
        }
    }
    json_decref(tokens);
}

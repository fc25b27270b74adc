/*
 * client.c - HTTP requests of the CLI to the vigil REST API, over libcurl.
 *
 * Workload: a handful of short requests per invocation (apply may send a few
 * hundred), or one long server-sent-events stream for `vigil watch`. One curl
 * easy handle is reused so the connection stays open between requests.
 *
 * Failover rule (see client.h): a request goes to the next server only if the
 * previous one certainly never saw it (no TCP connection: refused, no route,
 * unknown host, connect timeout), or if it was a GET answered with 503, or a
 * write refused with 503 by a member that is not the primary. Any other
 * failure is reported, because the server may have acted on it. A request
 * pinned to one server (vg_client_request_at) never moves on.
 *
 * Must never: follow a redirect, print or log the token, keep an unwiped copy
 * of the Authorization header it built.
 */
#include "cli/client.h"

#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <strings.h>

#define MAX_BODY (64u << 20) /* an answer larger than this is refused */

struct vg_client {
    char **servers;
    size_t n_servers;
    size_t current;    /* index of the server that answered last */
    char *auth_header; /* "Authorization: Bearer ...", wiped on free */
    char *cacert;
    long timeout_ms;
    long connect_timeout_ms;
    CURL *curl;
};

/* One request as perform() sends it. */
struct request {
    const char *method;
    const char *path;
    const char *body; /* JSON text (or content_type's) or NULL */
    size_t body_len;  /* 0: strlen(body) */
    const char *content_type; /* NULL: JSON */
    const char *if_match;
    vg_client_sink_fn sink; /* streams only */
    void *sink_ctx;
    long idle_s;
    int pinned;    /* to servers[server] only */
    size_t server; /* when pinned */
};

/* State of the write and header callbacks during one perform(). */
struct receive {
    CURL *curl;
    struct vg_resp *resp;
    const struct request *rq;
    int stopped; /* the sink asked to end the stream */
    int too_big; /* the body passed MAX_BODY */
};

void vg_resp_release(struct vg_resp *resp)
{
    vg_buf_release(&resp->body);
    json_decref(resp->json);
    resp->json = NULL;
    resp->status = 0;
    resp->result[0] = 0;
    resp->role[0] = 0;
    resp->lag = 0;
    resp->primary[0] = 0;
    resp->member[0] = 0;
}

/* ---- configuration ----------------------------------------------------- */

/* Trims, adds http:// when no scheme is given, drops trailing slashes. */
static int normalize_server(const char *text, size_t len, char **out, char *err, size_t errlen)
{
    while (len && (*text == ' ' || *text == '\t'))
        text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '/'))
        len--;
    if (len == 0)
        return vg_err(err, errlen, -EINVAL, "empty server address in the server list");
    vg_buf_t url = VG_BUF_INIT;
    if (!memmem(text, len, "://", 3))
        vg_buf_adds(&url, "http://");
    vg_buf_add(&url, text, len);
    const char *s = (const char *)url.data;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
        int rc =
            vg_err(err, errlen, -EINVAL, "server '%s' is not an http:// or https:// URL", s);
        vg_buf_release(&url);
        return rc;
    }
    *out = (char *)vg_buf_detach(&url, NULL);
    return 0;
}

static int parse_servers(vg_client_t *c, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *url = NULL;
        int rc = normalize_server(p, len, &url, err, errlen);
        if (rc < 0)
            return rc;
        c->servers = vg_realloc(c->servers, (c->n_servers + 1) * sizeof *c->servers);
        c->servers[c->n_servers++] = url;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int vg_client_new(const struct vg_client_opts *opts, vg_client_t **out, char *err,
                  size_t errlen)
{
    vg_client_t *c = vg_calloc(1, sizeof *c);
    int rc = parse_servers(
        c, opts->servers && *opts->servers ? opts->servers : VG_CLIENT_DEFAULT_SERVER, err,
        errlen);
    if (rc < 0) {
        vg_client_free(c);
        return rc;
    }
    if (opts->token && *opts->token) {
        vg_buf_t h = VG_BUF_INIT;
        vg_buf_printf(&h, "Authorization: Bearer %s", opts->token);
        c->auth_header = (char *)vg_buf_detach(&h, NULL);
    }
    c->cacert = opts->cacert && *opts->cacert ? vg_strdup(opts->cacert) : NULL;
    c->timeout_ms = opts->timeout_ms;
    c->connect_timeout_ms = opts->connect_timeout_ms;
    c->curl = curl_easy_init();
    if (!c->curl)
        VG_BUG("curl_easy_init failed");
    *out = c;
    return 0;
}

void vg_client_free(vg_client_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_servers; i++)
        free(c->servers[i]);
    free(c->servers);
    if (c->auth_header) {
        sodium_memzero(c->auth_header, strlen(c->auth_header));
        free(c->auth_header);
    }
    free(c->cacert);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c);
}

const char *vg_client_server(const vg_client_t *c)
{
    return c->servers[c->current];
}

size_t vg_client_n_servers(const vg_client_t *c)
{
    return c->n_servers;
}

const char *vg_client_server_at(const vg_client_t *c, size_t i)
{
    if (i >= c->n_servers)
        VG_BUG("server %zu of %zu", i, c->n_servers);
    return c->servers[i];
}

/* Loopback by name, as far as a URL shows it: localhost, 127.x, [::1]. */
static int is_loopback_url(const char *url)
{
    const char *host = url + strlen("http://");
    static const char *const prefixes[] = {"localhost:", "127.", "[::1]:", NULL};
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
        strncmp(host, "localhost/", 10) == 0)
        return 1;
    for (size_t i = 0; prefixes[i]; i++)
        if (strncmp(host, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

const char *vg_client_cleartext_server(const vg_client_t *c)
{
    for (size_t i = 0; i < c->n_servers; i++)
        if (strncmp(c->servers[i], "http://", 7) == 0 && !is_loopback_url(c->servers[i]))
            return c->servers[i];
    return NULL;
}

int vg_client_has_token(const vg_client_t *c)
{
    return c->auth_header != NULL;
}

void vg_client_escape(vg_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            vg_buf_add(b, &ch, 1);
        } else {
            char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            vg_buf_add(b, enc, 3);
        }
    }
}

/* ---- one attempt against one server ------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct receive *rx = arg;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(rx->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rx->rq->sink && status == 200) {
        if (rx->rq->sink(rx->rq->sink_ctx, data, n) < 0) {
            rx->stopped = 1;
            return 0; /* makes curl stop with CURLE_WRITE_ERROR */
        }
        return n;
    }
    if (rx->resp->body.len + n > MAX_BODY) {
        rx->too_big = 1;
        return 0;
    }
    vg_buf_add(&rx->resp->body, data, n);
    return n;
}

/* When the header line is "name: value", copies the value (cut to dstlen,
 * control characters as '?': it may reach a terminal) and returns 1. */
static int take_header(const char *line, size_t n, const char *name, char *dst, size_t dstlen)
{
    size_t name_len = strlen(name);
    if (n <= name_len || strncasecmp(line, name, name_len) != 0 || line[name_len] != ':')
        return 0;
    const char *v = line + name_len + 1;
    size_t len = n - name_len - 1;
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    if (len >= dstlen)
        len = dstlen - 1;
    for (size_t i = 0; i < len; i++)
        dst[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    dst[len] = 0;
    return 1;
}

/* Keeps the Vigil-* headers of the final answer (see struct vg_resp). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct receive *rx = arg;
    struct vg_resp *r = rx->resp;
    size_t n = size * nmemb;
    char lag[24] = "";
    const struct {
        const char *name;
        char *dst;
        size_t size;
    } wanted[] = {
        {"Vigil-Result", r->result, sizeof r->result},
        {"Vigil-Role", r->role, sizeof r->role},
        {"Vigil-Primary", r->primary, sizeof r->primary},
        {"Vigil-Member", r->member, sizeof r->member},
        {"Vigil-Lag", lag, sizeof lag},
    };

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new (final or interim) status line: forget the previous one's */
        r->result[0] = r->role[0] = r->primary[0] = r->member[0] = 0;
        r->lag = 0;
        return n;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(wanted); i++)
        if (take_header(data, n, wanted[i].name, wanted[i].dst, wanted[i].size))
            break;
    if (lag[0] && strspn(lag, "0123456789") == strlen(lag))
        r->lag = strtoull(lag, NULL, 10); /* anything else: not a lag we understand */
    return n;
}

static struct curl_slist *build_headers(vg_client_t *c, const struct request *rq)
{
    struct curl_slist *h = NULL;
    char line[128];

    h = curl_slist_append(h,
                          rq->sink ? "Accept: text/event-stream" : "Accept: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    if (rq->body && rq->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
        h = curl_slist_append(h, line);
    } else if (rq->body) {
        h = curl_slist_append(h, "Content-Type: application/json");
    }
    if (rq->if_match) {
        snprintf(line, sizeof line, "If-Match: %s", rq->if_match);
        h = curl_slist_append(h, line);
    }
    if (c->auth_header)
        h = curl_slist_append(h, c->auth_header);
    if (!h)
        VG_BUG("curl_slist_append failed");
    return h;
}

/* Wipes curl's copy of the Authorization header before freeing the list. */
static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        if (strncmp(p->data, "Authorization:", 14) == 0)
            sodium_memzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

static void set_options(vg_client_t *c, const char *url, const struct request *rq,
                        struct curl_slist *headers, struct receive *rx, char *curl_err)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil/" VG_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rx);
    if (c->connect_timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (rq->sink) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, rq->idle_s);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    } else if (c->timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    }
    if (c->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    if (strcmp(rq->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        if (rq->body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(rq->body_len ? rq->body_len : strlen(rq->body)));
        }
    }
}

/* 1 when a failed transfer certainly never reached the server. */
static int never_connected(CURL *h, CURLcode res)
{
    curl_off_t connect_us = 0;
    switch (res) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return 1;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
        return connect_us == 0;
    default:
        return 0;
    }
}

/*
 * Sends rq to base. Returns 0 with resp filled when the server answered,
 * -EHOSTUNREACH when it was never reached, -ETIMEDOUT or -EIO otherwise;
 * why says what went wrong.
 */
/* What a newcomer most likely got wrong, from how the transfer failed. */
static const char *hint(const char *base, CURLcode res, const char *curl_err)
{
    int https = !strncmp(base, "https://", 8);
    if (https && (strstr(curl_err, "wrong version number") || strstr(curl_err, "packet length")))
        return " (the server speaks plain HTTP here: use http://)";
    if (!https && (res == CURLE_GOT_NOTHING || res == CURLE_RECV_ERROR ||
                   res == CURLE_WEIRD_SERVER_REPLY || res == CURLE_UNSUPPORTED_PROTOCOL))
        return " (if the server has a certificate, it speaks HTTPS: use https://)";
    if (res == CURLE_PEER_FAILED_VERIFICATION)
        return " (give the CA that signed the server's certificate with --cacert FILE or "
               "VIGIL_CACERT)";
    return "";
}

static int perform(vg_client_t *c, const char *base, const struct request *rq,
                   struct vg_resp *resp, char *why, size_t whylen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    struct receive rx = {.curl = c->curl, .resp = resp, .rq = rq};
    vg_buf_t url = VG_BUF_INIT;
    struct curl_slist *headers = build_headers(c, rq);

    vg_resp_release(resp);
    vg_buf_printf(&url, "%s%s", base, rq->path);
    set_options(c, (const char *)url.data, rq, headers, &rx, curl_err);
    CURLcode res = curl_easy_perform(c->curl);
    int rc = 0;
    if (res == CURLE_OK || (res == CURLE_WRITE_ERROR && rx.stopped)) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        if (resp->body.len)
            resp->json = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    } else if (rx.too_big) {
        rc = vg_err(why, whylen, -EIO, "the answer is larger than %u bytes", MAX_BODY);
    } else {
        rc = never_connected(c->curl, res)     ? -EHOSTUNREACH
             : res == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
                                               : -EIO;
        vg_err(why, whylen, rc, "%s%s", curl_err[0] ? curl_err : curl_easy_strerror(res),
               hint(base, res, curl_err));
    }
    free_headers(headers);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    vg_buf_release(&url);
    return rc;
}

/* ---- server selection -------------------------------------------------- */

/*
 * 1 when a 503 answer means the server did not act on the request, so that
 * another may be asked: a read changes nothing, and a member that is not the
 * primary refuses a write before doing anything and says so by naming the
 * primary (or null) in "primary" or Vigil-Primary (docs/api.md). Other 503s
 * to a write ("write not committed") may come after the server acted.
 */
static int refused_unseen(const struct request *rq, const struct vg_resp *resp)
{
    if (resp->status != 503)
        return 0;
    if (strcmp(rq->method, "GET") == 0)
        return 1;
    return resp->primary[0] || json_object_get(resp->json, "primary") != NULL;
}

#define BUSY_RETRIES 10

static int run_request(vg_client_t *c, const struct request *rq, struct vg_resp *resp,
                       char *err, size_t errlen)
{
    vg_buf_t failures = VG_BUF_INIT;
    char why[CURL_ERROR_SIZE + 64];
    int rc = -EHOSTUNREACH;
    size_t start = rq->pinned ? rq->server : c->current;
    size_t n_tries = rq->pinned ? 1 : c->n_servers;

    int busy_waits = 0;
    for (size_t tried = 0; tried < n_tries; tried++) {
        size_t i = (start + tried) % c->n_servers;
        int last = tried + 1 == n_tries;
        rc = perform(c, c->servers[i], rq, resp, why, sizeof why);
        /* the primary's write queue is full: it did nothing, so wait and ask again */
        if (rc == 0 && resp->status == 503 && !strcmp(resp->result, "busy") &&
            busy_waits++ < BUSY_RETRIES) {
            fprintf(stderr, "vigil: %s is busy (too many writes waiting); retrying in 1 s\n",
                    c->servers[i]);
            sleep(1);
            tried--;
            continue;
        }
        if (rc == 0 && !last && refused_unseen(rq, resp)) {
            vg_buf_printf(&failures, "%s%s (503)", failures.len ? "; " : "", c->servers[i]);
            continue; /* refused without acting: ask another */
        }
        if (rc == 0) {
            c->current = i;
            break;
        }
        vg_buf_printf(&failures, "%s%s (%s)", failures.len ? "; " : "", c->servers[i], why);
        if (rc != -EHOSTUNREACH)
            break; /* it may have seen the request: do not send it twice */
    }
    if (rc < 0 && n_tries == 1)
        vg_err(err, errlen, rc, "cannot %s %s: %s", rc == -EHOSTUNREACH ? "reach" : "talk to",
               c->servers[start], why);
    else if (rc < 0)
        vg_err(err, errlen, rc, "cannot %s: %s",
               rc == -EHOSTUNREACH ? "reach any server" : "complete the request",
               (const char *)failures.data);
    vg_buf_release(&failures);
    return rc;
}

/* Encodes body and runs rq with it. */
static int run_with_body(vg_client_t *c, struct request *rq, const json_t *body,
                         struct vg_resp *resp, char *err, size_t errlen)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (body && !text)
        return vg_err(err, errlen, -EINVAL, "cannot encode the request as JSON");
    rq->body = text;
    int rc = run_request(c, rq, resp, err, errlen);
    free(text);
    return rc;
}

int vg_client_request(vg_client_t *c, const char *method, const char *path, const json_t *body,
                      const char *if_match, struct vg_resp *resp, char *err, size_t errlen)
{
    struct request rq = {.method = method, .path = path, .if_match = if_match};
    return run_with_body(c, &rq, body, resp, err, errlen);
}

int vg_client_request_at(vg_client_t *c, size_t server, const char *method, const char *path,
                         const json_t *body, const char *if_match, struct vg_resp *resp,
                         char *err, size_t errlen)
{
    struct request rq = {
        .method = method, .path = path, .if_match = if_match, .pinned = 1, .server = server};
    if (server >= c->n_servers)
        VG_BUG("server %zu of %zu", server, c->n_servers);
    return run_with_body(c, &rq, body, resp, err, errlen);
}

int vg_client_request_text(vg_client_t *c, const char *method, const char *path,
                           const char *content_type, const char *text, size_t len,
                           struct vg_resp *resp, char *err, size_t errlen)
{
    struct request rq = {.method = method,
                         .path = path,
                         .body = text,
                         .body_len = len,
                         .content_type = content_type};
    return run_request(c, &rq, resp, err, errlen);
}

int vg_client_stream(vg_client_t *c, const char *path, long idle_s, vg_client_sink_fn sink,
                     void *ctx, struct vg_resp *resp, char *err, size_t errlen)
{
    struct request rq = {
        .method = "GET", .path = path, .sink = sink, .sink_ctx = ctx, .idle_s = idle_s};
    return run_request(c, &rq, resp, err, errlen);
}

/*
 * http_load.c - closed-loop durable-write load over HTTP/1.1, for vigild or etcd.
 *
 * Each client is one thread with one keep-alive connection to 127.0.0.1:PORT
 * that sends a write, waits for the whole answer, and sends the next one
 * (closed loop, no pipelining), so latency is what one caller sees and
 * throughput is what N such callers get. Every write carries a value of about
 * 100 bytes of text (--value-bytes) under a fresh key:
 *
 *   vigil: PUT /api/v1/objects/Site/<prefix>-<client>-<n>  (Bearer token)
 *          {"kind":"Site","name":...,"spec":{"location":"<value>"}}
 *   etcd:  POST /v3/kv/put   {"key":"<base64 name>","value":"<base64 value>"}
 *          (etcd 3.4's gRPC gateway; a put is acknowledged once fsynced)
 *
 * Only 2xx answers count as writes. Any other status, a malformed answer, a
 * timeout or a connection failure is an error; errors are counted, sampled on
 * stderr, and more than 0.1% of attempts makes the run fail (exit 1) after
 * the result is printed. Latency runs from just before the request is sent
 * (or the connection is re-opened) until the last byte of the answer.
 *
 * It only ever talks to 127.0.0.1 and always stops by itself: after
 * --duration seconds, or after --requests writes (bounded by --duration,
 * 600 s if not given). It must never print the token.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/vg.h"

#define MAX_CLIENTS      4096
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_ANSWER_BYTES (8 * 1024 * 1024)
#define MAX_ERROR_RATE   0.001
#define N_ERROR_SAMPLES  5

enum target { TARGET_VIGIL, TARGET_ETCD };

struct load_opts {
    enum target target;
    int port;
    int n_clients;
    double duration_s;   /* 0 = not given */
    uint64_t n_requests; /* 0 = run for duration_s */
    double warmup_s;
    double timeout_s;
    size_t value_bytes;
    const char *token; /* vigil only; borrowed from argv or the environment */
    const char *prefix;
    int json;
};

/* Shared by all clients. Times are set by main between the two barriers,
 * so clients read them only after the second barrier. */
struct run {
    const struct load_opts *opts;
    uint64_t measure_from_us; /* end of warm-up */
    uint64_t stop_at_us;      /* no request starts at or after this */
    atomic_uint_fast64_t n_claimed;
    pthread_barrier_t connected, go;
};

/* What one client saw; merged by main after join. */
struct tally {
    uint32_t *lat_us; /* latency of each measured 2xx write */
    size_t n_lat, cap_lat;
    uint64_t n_ok_warmup;
    uint64_t n_err_conn, n_err_http, n_err_proto;
    uint64_t n_reconnects;
    uint64_t last_done_us;
    char sample[256]; /* first error, for the report */
};

struct client {
    struct run *run;
    int id;
    int fd;
    uint64_t seq;
    vg_buf_t req;
    char *rx; /* received bytes [rx_off, rx_len) not consumed yet */
    size_t rx_off, rx_len, rx_cap;
    int must_close; /* the last answer ends the connection */
    char key[128];
    char value[1024];
    struct tally tally;
    pthread_t thread;
};

/* One parsed answer. */
struct answer {
    int status;
    char body_head[160]; /* start of the body, for error samples */
};

static void die_usage(const char *msg)
{
    fprintf(stderr, "http_load: %s\n", msg);
    fprintf(stderr, "usage: bench_http_load --target vigil|etcd --port P [--clients N]\n"
                    "         [--duration S | --requests N] [--warmup S] [--token T]\n"
                    "         [--value-bytes B] [--prefix P] [--timeout S] [-o text|json]\n"
                    "  the vigil token may also come from $VIGIL_TOKEN\n");
    exit(2);
}

/* ---- request bodies ---- */

static void base64_add(vg_buf_t *out, const char *in, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = (const uint8_t *)in;
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        quad[0] = tbl[(v >> 18) & 63];
        quad[1] = tbl[(v >> 12) & 63];
        quad[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? tbl[v & 63] : '=';
        vg_buf_add(out, quad, 4);
    }
}

/* Fills c->key and c->value for write number c->seq. The value is readable
 * text of exactly value_bytes characters that need no JSON escaping. */
static void make_key_value(struct client *c)
{
    const struct load_opts *o = c->run->opts;
    snprintf(c->key, sizeof(c->key), "%s-%d-%llu", o->prefix, c->id,
             (unsigned long long)c->seq);
    int n = snprintf(c->value, sizeof(c->value),
                     "hall B, row %02d, rack %03llu, bench client %d write %llu; ", c->id % 40,
                     (unsigned long long)(c->seq % 1000), c->id, (unsigned long long)c->seq);
    size_t head = n > 0 ? (size_t)n : 0, len = head;
    static const char filler[] = "power and cooling zone alpha ";
    for (; len < o->value_bytes; len++)
        c->value[len] = filler[(len - head) % (sizeof(filler) - 1)];
    c->value[o->value_bytes] = '\0';
}

static void build_request(struct client *c)
{
    const struct load_opts *o = c->run->opts;
    vg_buf_t body = VG_BUF_INIT;
    make_key_value(c);
    if (o->target == TARGET_VIGIL) {
        vg_buf_printf(&body,
                      "{\"kind\":\"Site\",\"name\":\"%s\",\"spec\":{\"location\":\"%s\"}}",
                      c->key, c->value);
    } else {
        vg_buf_adds(&body, "{\"key\":\"");
        base64_add(&body, c->key, strlen(c->key));
        vg_buf_adds(&body, "\",\"value\":\"");
        base64_add(&body, c->value, strlen(c->value));
        vg_buf_adds(&body, "\"}");
    }
    vg_buf_reset(&c->req);
    if (o->target == TARGET_VIGIL)
        vg_buf_printf(&c->req,
                      "PUT /api/v1/objects/Site/%s HTTP/1.1\r\n"
                      "Authorization: Bearer %s\r\n",
                      c->key, o->token);
    else
        vg_buf_adds(&c->req, "POST /v3/kv/put HTTP/1.1\r\n");
    vg_buf_printf(&c->req,
                  "Host: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  o->port, body.len);
    vg_buf_add(&c->req, body.data, body.len);
    vg_buf_release(&body);
}

/* ---- connection ---- */

static void conn_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rx_off = c->rx_len = 0;
    c->must_close = 0;
}

static int conn_open(struct client *c, char *err, size_t errlen)
{
    double t = c->run->opts->timeout_s;
    struct timeval tv = {.tv_sec = (time_t)t};
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)c->run->opts->port)};
    int one = 1;
    tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return vg_err(err, errlen, -errno, "cannot create socket: %s", strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        conn_close(c);
        return vg_err(err, errlen, -e, "cannot connect to 127.0.0.1:%d: %s", c->run->opts->port,
                      strerror(e));
    }
    return 0;
}

static int send_all(struct client *c, char *err, size_t errlen)
{
    size_t off = 0;
    while (off < c->req.len) {
        ssize_t n = send(c->fd, c->req.data + off, c->req.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vg_err(err, errlen, -errno, "send failed: %s",
                          errno == EAGAIN ? "timed out" : strerror(errno));
        off += (size_t)n;
    }
    return 0;
}

/* Reads more bytes into the receive buffer. Returns the count, 0 at EOF,
 * or a negative errno. */
static ssize_t rx_fill(struct client *c)
{
    if (c->rx_off > 0 && c->rx_cap - c->rx_len < 4096) {
        /* offsets elsewhere are relative to rx_off, so compacting is safe */
        memmove(c->rx, c->rx + c->rx_off, c->rx_len - c->rx_off);
        c->rx_len -= c->rx_off;
        c->rx_off = 0;
    }
    if (c->rx_cap - c->rx_len < 4096) {
        if (c->rx_cap >= MAX_ANSWER_BYTES)
            return -EMSGSIZE;
        c->rx_cap = c->rx_cap ? c->rx_cap * 2 : 16384;
        c->rx = vg_realloc(c->rx, c->rx_cap);
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        c->rx_len += (size_t)n;
        return n;
    }
}

/* Makes at least `need` unconsumed bytes available. */
static int rx_need(struct client *c, size_t need)
{
    while (c->rx_len - c->rx_off < need) {
        ssize_t n = rx_fill(c);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return (int)n;
    }
    return 0;
}

/* Finds the end of the line starting at unconsumed offset `from` (relative
 * to rx_off), reading more as needed; *eol is the offset of its "\r\n". */
static int rx_line(struct client *c, size_t from, size_t limit, size_t *eol)
{
    size_t scanned = from;
    for (;;) {
        const char *base = c->rx + c->rx_off;
        size_t avail = c->rx_len - c->rx_off;
        for (; scanned + 1 < avail; scanned++) {
            if (base[scanned] == '\r' && base[scanned + 1] == '\n') {
                *eol = scanned;
                return 0;
            }
        }
        if (avail - from > limit)
            return -EMSGSIZE;
        int rc = rx_need(c, avail + 1);
        if (rc < 0)
            return rc;
    }
}

/* ---- answer parsing (RFC 9112: status line, fields, body framing) ---- */

struct framing {
    int chunked;
    long long content_length; /* -1 = not given */
    int close;
    int http10;
    int keep_alive;
};

static int header_is(const char *line, size_t len, const char *name, const char **value,
                     size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return 0;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return 1;
}

static int has_token(const char *v, size_t n, const char *token)
{
    size_t t = strlen(token);
    for (size_t i = 0; i + t <= n; i++)
        if (strncasecmp(v + i, token, t) == 0)
            return 1;
    return 0;
}

static int parse_field(const char *line, size_t len, struct framing *f)
{
    const char *v;
    size_t vn;
    if (header_is(line, len, "content-length", &v, &vn)) {
        char tmp[32];
        char *end;
        if (vn == 0 || vn >= sizeof(tmp))
            return -EPROTO;
        memcpy(tmp, v, vn);
        tmp[vn] = '\0';
        f->content_length = strtoll(tmp, &end, 10);
        if (*end != '\0' || f->content_length < 0)
            return -EPROTO;
    } else if (header_is(line, len, "transfer-encoding", &v, &vn)) {
        f->chunked = has_token(v, vn, "chunked");
    } else if (header_is(line, len, "connection", &v, &vn)) {
        f->close = has_token(v, vn, "close");
        f->keep_alive = has_token(v, vn, "keep-alive");
    }
    return 0;
}

/* Parses the status line and fields; consumes them. */
static int read_head(struct client *c, struct answer *a, struct framing *f)
{
    size_t eol, pos;
    int rc = rx_line(c, 0, MAX_HEADER_BYTES, &eol);
    if (rc < 0)
        return rc;
    const char *line = c->rx + c->rx_off;
    if (eol < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
        return -EPROTO;
    memset(f, 0, sizeof(*f));
    f->content_length = -1;
    f->http10 = line[7] == '0';
    a->status = atoi(line + 9);
    if (a->status < 100 || a->status > 999)
        return -EPROTO;
    for (pos = eol + 2;; pos = eol + 2) {
        if ((rc = rx_line(c, pos, MAX_HEADER_BYTES, &eol)) < 0)
            return rc;
        if (eol == pos)
            break;
        if ((rc = parse_field(c->rx + c->rx_off + pos, eol - pos, f)) < 0)
            return rc;
    }
    c->rx_off += eol + 2;
    return 0;
}

static void keep_body_head(struct answer *a, const char *p, size_t n)
{
    size_t have = strlen(a->body_head), room = sizeof(a->body_head) - 1 - have;
    if (n > room)
        n = room;
    for (size_t i = 0; i < n; i++)
        a->body_head[have + i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '.';
    a->body_head[have + n] = '\0';
}

/* Consumes n body bytes, keeping the first ones for error samples. */
static int read_body_bytes(struct client *c, struct answer *a, size_t n)
{
    int rc = rx_need(c, n);
    if (rc < 0)
        return rc;
    keep_body_head(a, c->rx + c->rx_off, n);
    c->rx_off += n;
    return 0;
}

static int read_chunked(struct client *c, struct answer *a)
{
    size_t eol;
    for (;;) {
        int rc = rx_line(c, 0, 4096, &eol);
        if (rc < 0)
            return rc;
        char *end;
        unsigned long long size = strtoull(c->rx + c->rx_off, &end, 16);
        if (end == c->rx + c->rx_off || size > MAX_ANSWER_BYTES)
            return -EPROTO;
        c->rx_off += eol + 2;
        if (size == 0)
            break;
        if ((rc = read_body_bytes(c, a, (size_t)size)) < 0 || (rc = rx_need(c, 2)) < 0)
            return rc;
        if (memcmp(c->rx + c->rx_off, "\r\n", 2) != 0)
            return -EPROTO;
        c->rx_off += 2;
    }
    for (;;) { /* trailer fields, then the empty line */
        int rc = rx_line(c, 0, MAX_HEADER_BYTES, &eol);
        if (rc < 0)
            return rc;
        c->rx_off += eol + 2;
        if (eol == 0)
            return 0;
    }
}

/* Reads the body up to the end of the connection (no length given). */
static int read_to_eof(struct client *c, struct answer *a)
{
    for (;;) {
        size_t avail = c->rx_len - c->rx_off;
        keep_body_head(a, c->rx + c->rx_off, avail);
        c->rx_off = c->rx_len;
        ssize_t n = rx_fill(c);
        if (n == 0)
            return 0;
        if (n < 0)
            return (int)n;
    }
}

static int read_answer(struct client *c, struct answer *a)
{
    struct framing f;
    int rc;
    a->body_head[0] = '\0';
    do { /* skip interim 1xx answers */
        if ((rc = read_head(c, a, &f)) < 0)
            return rc;
    } while (a->status < 200);
    c->must_close = f.close || (f.http10 && !f.keep_alive);
    if (a->status == 204 || a->status == 304)
        return 0;
    if (f.chunked)
        return read_chunked(c, a);
    if (f.content_length >= 0)
        return f.content_length > MAX_ANSWER_BYTES
                   ? -EMSGSIZE
                   : read_body_bytes(c, a, (size_t)f.content_length);
    c->must_close = 1;
    return read_to_eof(c, a);
}

/* ---- the client loop ---- */

static void note_error(struct client *c, uint64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_error(struct client *c, uint64_t *counter, const char *fmt, ...)
{
    (*counter)++;
    if (c->tally.sample[0])
        return;
    int n = snprintf(c->tally.sample, sizeof(c->tally.sample), "client %d: ", c->id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->tally.sample + n, sizeof(c->tally.sample) - (size_t)n, fmt, ap);
    va_end(ap);
}

static void record_latency(struct tally *t, uint64_t us)
{
    if (t->n_lat == t->cap_lat) {
        t->cap_lat = t->cap_lat ? t->cap_lat * 2 : 4096;
        t->lat_us = vg_realloc(t->lat_us, t->cap_lat * sizeof(*t->lat_us));
    }
    t->lat_us[t->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* One write: (re)connect if needed, send, read the answer. Returns 0 with
 * a->status set, or a negative errno with the reason in err. */
static int one_write(struct client *c, struct answer *a, char *err, size_t errlen)
{
    int rc;
    if (c->fd < 0) {
        if ((rc = conn_open(c, err, errlen)) < 0)
            return rc;
        c->tally.n_reconnects++;
    }
    if ((rc = send_all(c, err, errlen)) < 0)
        return rc;
    if ((rc = read_answer(c, a)) < 0)
        return vg_err(err, errlen, rc, "reading the answer failed: %s",
                      rc == -EPROTO ? "malformed HTTP" : strerror(-rc));
    return 0;
}

/* Decides whether another write starts now; 1 = go. */
static int may_start(struct client *c, uint64_t now_us)
{
    struct run *r = c->run;
    if (now_us >= r->stop_at_us)
        return 0;
    if (r->opts->n_requests == 0 || now_us < r->measure_from_us)
        return 1;
    return atomic_fetch_add(&r->n_claimed, 1) < r->opts->n_requests;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct tally *t = &c->tally;
    char err[200];
    c->rx_cap = 16384;
    c->rx = vg_malloc(c->rx_cap);
    if (conn_open(c, err, sizeof(err)) < 0)
        note_error(c, &t->n_err_conn, "%s", err);
    pthread_barrier_wait(&c->run->connected);
    pthread_barrier_wait(&c->run->go);
    for (;;) {
        struct answer a;
        uint64_t start_us = vg_mono_us();
        if (!may_start(c, start_us))
            break;
        int measured = start_us >= c->run->measure_from_us;
        c->seq++;
        build_request(c);
        int rc = one_write(c, &a, err, sizeof(err));
        uint64_t done_us = vg_mono_us();
        if (rc < 0) {
            note_error(c, rc == -EPROTO ? &t->n_err_proto : &t->n_err_conn, "%s", err);
            conn_close(c);
            usleep(2000); /* a refused connection must not become a spin */
            continue;
        }
        if (a.status < 200 || a.status > 299)
            note_error(c, &t->n_err_http, "HTTP %d: %s", a.status, a.body_head);
        else if (measured) {
            record_latency(t, done_us - start_us);
            t->last_done_us = done_us;
        } else
            t->n_ok_warmup++;
        if (c->must_close)
            conn_close(c);
    }
    conn_close(c);
    return NULL;
}

/* ---- options ---- */

static double parse_num(const char *s, const char *flag, double min)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= min) || v > 1e9) {
        char msg[128];
        snprintf(msg, sizeof(msg), "bad value '%s' for %s", s, flag);
        die_usage(msg);
    }
    return v;
}

static void parse_opts(int argc, char **argv, struct load_opts *o)
{
    static const struct option longs[] = {{"target", required_argument, NULL, 't'},
                                          {"port", required_argument, NULL, 'p'},
                                          {"clients", required_argument, NULL, 'c'},
                                          {"duration", required_argument, NULL, 'd'},
                                          {"requests", required_argument, NULL, 'n'},
                                          {"warmup", required_argument, NULL, 'w'},
                                          {"token", required_argument, NULL, 'k'},
                                          {"value-bytes", required_argument, NULL, 'b'},
                                          {"prefix", required_argument, NULL, 'x'},
                                          {"timeout", required_argument, NULL, 'T'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *target = NULL;
    int opt;
    *o = (struct load_opts){
        .n_clients = 1, .warmup_s = 1, .timeout_s = 10, .value_bytes = 100, .prefix = "bench"};
    while ((opt = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
        switch (opt) {
        case 't':
            target = optarg;
            break;
        case 'p':
            o->port = (int)parse_num(optarg, "--port", 1);
            break;
        case 'c':
            o->n_clients = (int)parse_num(optarg, "--clients", 1);
            break;
        case 'd':
            o->duration_s = parse_num(optarg, "--duration", 0.001);
            break;
        case 'n':
            o->n_requests = (uint64_t)parse_num(optarg, "--requests", 1);
            break;
        case 'w':
            o->warmup_s = parse_num(optarg, "--warmup", 0);
            break;
        case 'k':
            o->token = optarg;
            break;
        case 'b':
            o->value_bytes = (size_t)parse_num(optarg, "--value-bytes", 1);
            break;
        case 'x':
            o->prefix = optarg;
            break;
        case 'T':
            o->timeout_s = parse_num(optarg, "--timeout", 0.001);
            break;
        case 'o':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                die_usage("-o takes text or json");
            o->json = strcmp(optarg, "json") == 0;
            break;
        default:
            die_usage("see usage");
        }
    }
    if (optind != argc)
        die_usage("unexpected argument");
    if (!target || (strcmp(target, "vigil") != 0 && strcmp(target, "etcd") != 0))
        die_usage("--target must be vigil or etcd");
    o->target = strcmp(target, "vigil") == 0 ? TARGET_VIGIL : TARGET_ETCD;
    if (o->port < 1 || o->port > 65535)
        die_usage("--port must be 1..65535");
    if (o->n_clients > MAX_CLIENTS)
        die_usage("--clients is limited to 4096");
    if (o->value_bytes > 900)
        die_usage("--value-bytes is limited to 900");
    if (strlen(o->prefix) > 40)
        die_usage("--prefix is limited to 40 characters");
    if (o->duration_s == 0 && o->n_requests == 0)
        o->duration_s = 10;
    if (!o->token)
        o->token = getenv("VIGIL_TOKEN");
    if (o->target == TARGET_VIGIL && (!o->token || !*o->token))
        die_usage("--target vigil needs --token or $VIGIL_TOKEN");
}

/* ---- results ---- */

struct result {
    uint64_t n_ok, n_errors, n_attempts;
    double seconds, writes_per_s, p50_ms, p99_ms, max_ms;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (p in whole percent) of sorted latencies, in ms. */
static double percentile_ms(const uint32_t *sorted, size_t n, unsigned p)
{
    if (n == 0)
        return 0;
    size_t rank = (p * n + 99) / 100; /* ceil(p/100 * n) */
    return sorted[rank ? rank - 1 : 0] / 1000.0;
}

static void summarise(struct client *clients, int n, const struct run *r, struct result *res)
{
    size_t total = 0, at = 0;
    uint64_t last_us = r->measure_from_us;
    memset(res, 0, sizeof(*res));
    for (int i = 0; i < n; i++) {
        const struct tally *t = &clients[i].tally;
        total += t->n_lat;
        res->n_errors += t->n_err_conn + t->n_err_http + t->n_err_proto;
        res->n_attempts += t->n_lat + t->n_ok_warmup;
        if (t->last_done_us > last_us)
            last_us = t->last_done_us;
    }
    res->n_attempts += res->n_errors;
    uint32_t *all = vg_malloc((total ? total : 1) * sizeof(*all));
    for (int i = 0; i < n; i++) {
        const struct tally *t = &clients[i].tally;
        if (t->n_lat == 0)
            continue;
        memcpy(all + at, t->lat_us, t->n_lat * sizeof(*all));
        at += t->n_lat;
    }
    qsort(all, total, sizeof(*all), cmp_u32);
    res->n_ok = total;
    res->seconds = (double)(last_us - r->measure_from_us) / 1e6;
    if (res->seconds <= 0)
        res->seconds = r->opts->duration_s;
    res->writes_per_s = res->seconds > 0 ? (double)total / res->seconds : 0;
    res->p50_ms = percentile_ms(all, total, 50);
    res->p99_ms = percentile_ms(all, total, 99);
    res->max_ms = total ? all[total - 1] / 1000.0 : 0;
    free(all);
}

static void print_result(const struct load_opts *o, const struct result *res)
{
    const char *target = o->target == TARGET_VIGIL ? "vigil" : "etcd";
    if (o->json)
        printf("{\"target\":\"%s\",\"clients\":%d,\"requests\":%llu,\"errors\":%llu,"
               "\"seconds\":%.3f,\"writes_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"max_ms\":%.3f}\n",
               target, o->n_clients, (unsigned long long)res->n_ok,
               (unsigned long long)res->n_errors, res->seconds, res->writes_per_s, res->p50_ms,
               res->p99_ms, res->max_ms);
    else
        printf("%-5s clients=%-3d writes/s=%-9.1f p50=%.3fms p99=%.3fms max=%.3fms "
               "requests=%llu errors=%llu seconds=%.2f\n",
               target, o->n_clients, res->writes_per_s, res->p50_ms, res->p99_ms, res->max_ms,
               (unsigned long long)res->n_ok, (unsigned long long)res->n_errors, res->seconds);
    fflush(stdout);
}

/* Prints error counts and a few samples to stderr; returns 1 when the
 * error rate is over the limit. */
static int report_errors(struct client *clients, int n, const struct result *res)
{
    uint64_t conn = 0, http = 0, proto = 0, reconnects = 0;
    int shown = 0;
    for (int i = 0; i < n; i++) {
        const struct tally *t = &clients[i].tally;
        conn += t->n_err_conn;
        http += t->n_err_http;
        proto += t->n_err_proto;
        reconnects += t->n_reconnects;
        if (t->sample[0] && shown++ < N_ERROR_SAMPLES)
            fprintf(stderr, "http_load: error sample: %s\n", t->sample);
    }
    if (reconnects > 0)
        fprintf(stderr, "http_load: connections re-opened %llu times\n",
                (unsigned long long)reconnects);
    if (res->n_errors == 0)
        return 0;
    double rate = (double)res->n_errors / (double)res->n_attempts;
    fprintf(stderr,
            "http_load: %llu errors in %llu attempts (%.3f%%): %llu HTTP non-2xx, "
            "%llu connection/timeout, %llu malformed\n",
            (unsigned long long)res->n_errors, (unsigned long long)res->n_attempts, 100 * rate,
            (unsigned long long)http, (unsigned long long)conn, (unsigned long long)proto);
    if (rate <= MAX_ERROR_RATE)
        return 0;
    fprintf(stderr, "http_load: FAILED: error rate %.3f%% is over the 0.1%% limit\n",
            100 * rate);
    return 1;
}

int main(int argc, char **argv)
{
    struct load_opts o;
    struct run r = {.opts = NULL};
    struct result res;
    parse_opts(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    r.opts = &o;
    atomic_init(&r.n_claimed, 0);
    pthread_barrier_init(&r.connected, NULL, (unsigned)o.n_clients + 1);
    pthread_barrier_init(&r.go, NULL, (unsigned)o.n_clients + 1);
    struct client *clients = vg_calloc((size_t)o.n_clients, sizeof(*clients));
    for (int i = 0; i < o.n_clients; i++) {
        clients[i] = (struct client){.run = &r, .id = i, .fd = -1};
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0) {
            fprintf(stderr, "http_load: cannot start client thread %d\n", i);
            return 2;
        }
    }
    pthread_barrier_wait(&r.connected);
    uint64_t now = vg_mono_us();
    double limit_s = o.duration_s > 0 ? o.duration_s : 600;
    r.measure_from_us = now + (uint64_t)(o.warmup_s * 1e6);
    r.stop_at_us = r.measure_from_us + (uint64_t)(limit_s * 1e6);
    pthread_barrier_wait(&r.go);
    for (int i = 0; i < o.n_clients; i++)
        pthread_join(clients[i].thread, NULL);
    summarise(clients, o.n_clients, &r, &res);
    print_result(&o, &res);
    int failed = report_errors(clients, o.n_clients, &res);
    for (int i = 0; i < o.n_clients; i++) {
        vg_buf_release(&clients[i].req);
        free(clients[i].rx);
        free(clients[i].tally.lat_us);
    }
    free(clients);
    return failed;
}

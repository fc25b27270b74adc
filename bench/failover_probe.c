/*
 * failover_probe.c - one failover or switchover trial, timed from the client's side.
 *
 * A client writes continuously to a replicated service, the probe causes the
 * fault itself, and it measures how long the service could not acknowledge a
 * write, then checks that every write it saw acknowledged is still there:
 *
 *   1. steady: back-to-back writes (one outstanding) to the primary (vigil)
 *      or leader (etcd) for --warmup-ms;
 *   2. the event, at t0 on CLOCK_MONOTONIC: --kill-pid sends SIGKILL to the
 *      primary's process; --switchover POSTs /api/v1/cluster/switchover to it
 *      (vigil only) and times the call;
 *   3. waiting: writes go to every member that may answer (the survivors after
 *      a kill, every member in a switchover). A failed answer (503 "not the
 *      primary", refused connection) is retried on the same member after 1 ms;
 *      a write that hangs (etcd holds a put sent while there is no leader
 *      until its 7 s request timeout) does not hold the client back: every
 *      --hedge-ms a further attempt starts beside it, and each attempt is
 *      given up after --retry-ms. The first acknowledged write on a member
 *      other than the old primary ends the wait: failover (or switchover) time
 *      = its answer's arrival - t0;
 *   4. after: --after-ms of back-to-back writes to the member that answered;
 *   5. verify: every acknowledged write (2xx from any member, in any phase)
 *      is read back from that member (vigil GET of the object, etcd
 *      linearizable range) and compared with the value written; missing or
 *      different = lost.
 *
 *   vigil: PUT /api/v1/objects/Site/<prefix>-<n> (Bearer $VIGIL_TOKEN)
 *          {"kind":"Site","name":...,"spec":{"location":"<value>"}}; 200/201 = acked
 *   etcd:  POST /v3/kv/put {"key":"<base64>","value":"<base64>"} (gRPC gateway);
 *          200 with a "header" and no "error" = acked
 *
 * Prints one JSON line on stdout (see usage) and progress problems on stderr.
 * Exit 0 when a write was acknowledged after the event and every acknowledged
 * write was verified present, 3 when some were lost, 1 when no write was
 * acknowledged within --max-ms or the event failed, 2 for usage errors.
 * Only ever talks to 127.0.0.1; never prints the token.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/vg.h"

#define MAX_MEMBERS   5
#define MAX_ATTEMPTS  1024
#define BACKOFF_US    1000
#define SAMPLE_BYTES  200
#define MAX_BODY_KEEP 4096

enum target { TARGET_VIGIL, TARGET_ETCD };
enum phase { PH_STEADY, PH_WAIT, PH_AFTER, PH_DRAIN };

struct opts {
    enum target target;
    int n_members;
    char names[MAX_MEMBERS][64];
    int ports[MAX_MEMBERS];
    int primary; /* index into names */
    pid_t kill_pid;
    int switchover;
    const char *switch_to;
    const char *prefix;
    const char *token;
    double warmup_ms, after_ms, hedge_ms, retry_ms, timeout_ms, max_ms;
    size_t value_bytes;
};

struct attempt {
    CURL *h;
    int in_use;
    int lane;
    int is_call; /* the switchover call, not a write */
    uint64_t seq;
    uint64_t start_us;
    enum phase started_in;
    vg_buf_t body;
    vg_buf_t resp;
};

struct lane {
    int n_inflight;
    uint64_t newest_start_us;
    uint64_t backoff_until_us;
    uint64_t n_ok, n_fail, n_abandoned;
    char first_fail[SAMPLE_BYTES]; /* first failed write on this member */
    char last_fail[SAMPLE_BYTES];  /* last one while waiting for the new primary */
};

struct acked {
    uint64_t seq;
    int lane;
    int after_event;
};

static struct opts O;
static struct lane lanes[MAX_MEMBERS];
static struct attempt attempts[MAX_ATTEMPTS];
static struct acked *acks;
static size_t n_acks, cap_acks;
static uint64_t next_seq;
static struct curl_slist *hdrs;
static CURLM *multi;

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "failover_probe: %s\n", msg);
    fprintf(
        stderr,
        "usage: bench_failover_probe --target vigil|etcd --member NAME=PORT... --primary NAME\n"
        "         (--kill-pid PID | --switchover [--to NAME]) [--prefix P]\n"
        "         [--warmup-ms 500] [--after-ms 200] [--hedge-ms 5] [--retry-ms 500]\n"
        "         [--timeout-ms 10000] [--max-ms 30000] [--value-bytes 100]\n"
        "  vigil needs $VIGIL_TOKEN. Prints one JSON line:\n"
        "  "
        "{\"target\",\"event\",\"old\",\"new\",\"first_ack_ms\",\"call_ms\",\"call_status\",\n"
        "   \"call_answer\",\"acked\",\"acked_before\",\"verified\",\"lost\",\"unverified\",\n"
        "   \"attempts_failed\",\"attempts_abandoned\",\"sample\",\n"
        "   \"members\":{NAME:{\"acked\",\"failed\",\"abandoned\",\"first_failure\",\n"
        "                     \"last_failure_waiting\"}}}\n");
    exit(2);
}

/* ---- keys and values ---- */

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

static void make_key(uint64_t seq, char *key, size_t n)
{
    snprintf(key, n, "%s-%llu", O.prefix, (unsigned long long)seq);
}

/* Readable text of exactly value_bytes characters that needs no escaping;
 * a function of the key's number, so verification can rebuild it. */
static void make_value(uint64_t seq, char *value)
{
    static const char filler[] = "power and cooling zone alpha ";
    int n = snprintf(value, 1024, "failover probe %s write %llu; ", O.prefix,
                     (unsigned long long)seq);
    size_t len = n > 0 ? (size_t)n : 0, head = len;
    for (; len < O.value_bytes; len++)
        value[len] = filler[(len - head) % (sizeof(filler) - 1)];
    value[O.value_bytes] = '\0';
}

/* Makes text fit between JSON quotes as it is: quotes become ', backslashes
 * /, control characters spaces; trailing spaces go. */
static void json_safe(char *text)
{
    char *p = text;
    for (; *p; p++)
        if (*p == '"')
            *p = '\'';
        else if (*p == '\\')
            *p = '/';
        else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = ' ';
    while (p > text && p[-1] == ' ')
        *--p = '\0';
}

/* ---- attempts ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    vg_buf_t *b = arg;
    size_t len = size * n;
    if (b->len < MAX_BODY_KEEP)
        vg_buf_add(b, p, len < MAX_BODY_KEEP - b->len ? len : MAX_BODY_KEEP - b->len);
    return len;
}

static void base_opts(CURL *h, vg_buf_t *resp)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
}

static struct attempt *attempt_new(void)
{
    for (int i = 0; i < MAX_ATTEMPTS; i++) {
        struct attempt *a = &attempts[i];
        if (a->in_use)
            continue;
        if (!a->h && !(a->h = curl_easy_init())) {
            fprintf(stderr, "failover_probe: curl_easy_init failed\n");
            exit(1);
        }
        curl_easy_reset(a->h);
        a->in_use = 1;
        a->is_call = 0;
        vg_buf_reset(&a->body);
        vg_buf_reset(&a->resp);
        base_opts(a->h, &a->resp);
        curl_easy_setopt(a->h, CURLOPT_PRIVATE, a);
        return a;
    }
    return NULL;
}

static void start_write(int lane, enum phase ph, double timeout_ms, uint64_t now)
{
    struct attempt *a = attempt_new();
    char key[128], value[1024], url[512];
    if (!a)
        return; /* every slot busy: the next loop tries again */
    a->lane = lane;
    a->seq = ++next_seq;
    a->start_us = now;
    a->started_in = ph;
    make_key(a->seq, key, sizeof(key));
    make_value(a->seq, value);
    if (O.target == TARGET_VIGIL) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/objects/Site/%s", O.ports[lane],
                 key);
        vg_buf_printf(&a->body,
                      "{\"kind\":\"Site\",\"name\":\"%s\",\"spec\":{\"location\":\"%s\"}}", key,
                      value);
        curl_easy_setopt(a->h, CURLOPT_CUSTOMREQUEST, "PUT");
    } else {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v3/kv/put", O.ports[lane]);
        vg_buf_adds(&a->body, "{\"key\":\"");
        base64_add(&a->body, key, strlen(key));
        vg_buf_adds(&a->body, "\",\"value\":\"");
        base64_add(&a->body, value, strlen(value));
        vg_buf_adds(&a->body, "\"}");
    }
    curl_easy_setopt(a->h, CURLOPT_URL, url);
    curl_easy_setopt(a->h, CURLOPT_POSTFIELDS, (char *)a->body.data);
    curl_easy_setopt(a->h, CURLOPT_POSTFIELDSIZE, (long)a->body.len);
    curl_easy_setopt(a->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_multi_add_handle(multi, a->h);
    lanes[lane].n_inflight++;
    lanes[lane].newest_start_us = now;
}

static void start_call(uint64_t now)
{
    struct attempt *a = attempt_new();
    char url[512];
    if (!a) {
        fprintf(stderr, "failover_probe: no slot for the switchover call\n");
        exit(1);
    }
    a->is_call = 1;
    a->lane = O.primary;
    a->start_us = now;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/cluster/switchover",
             O.ports[O.primary]);
    if (O.switch_to)
        vg_buf_printf(&a->body, "{\"to\":\"%s\",\"reason\":\"failover benchmark\"}",
                      O.switch_to);
    else
        vg_buf_adds(&a->body, "{\"reason\":\"failover benchmark\"}");
    curl_easy_setopt(a->h, CURLOPT_URL, url);
    curl_easy_setopt(a->h, CURLOPT_POSTFIELDS, (char *)a->body.data);
    curl_easy_setopt(a->h, CURLOPT_POSTFIELDSIZE, (long)a->body.len);
    curl_easy_setopt(a->h, CURLOPT_TIMEOUT_MS, (long)O.max_ms);
    curl_multi_add_handle(multi, a->h);
}

static void attempt_free(struct attempt *a)
{
    curl_multi_remove_handle(multi, a->h);
    if (!a->is_call)
        lanes[a->lane].n_inflight--;
    a->in_use = 0;
}

static int write_acked(const struct attempt *a, CURLcode rc, long status)
{
    if (rc != CURLE_OK)
        return 0;
    if (O.target == TARGET_VIGIL)
        return status == 200 || status == 201;
    const char *body = (const char *)a->resp.data;
    return status == 200 && body && strstr(body, "\"header\"") && !strstr(body, "\"error\"");
}

static void describe_failure(char *out, const struct attempt *a, CURLcode rc, long status)
{
    if (rc != CURLE_OK)
        snprintf(out, SAMPLE_BYTES, "%s", curl_easy_strerror(rc));
    else
        snprintf(out, SAMPLE_BYTES, "HTTP %ld %.150s", status,
                 a->resp.data ? (const char *)a->resp.data : "");
    json_safe(out);
}

static void add_ack(uint64_t seq, int lane, int after_event)
{
    if (n_acks == cap_acks) {
        cap_acks = cap_acks ? cap_acks * 2 : 4096;
        acks = vg_realloc(acks, cap_acks * sizeof(*acks));
    }
    acks[n_acks++] = (struct acked){seq, lane, after_event};
}

/* ---- the run ---- */

struct outcome {
    uint64_t t0_us, first_ack_us, call_done_us;
    int event_done, first_lane;
    long call_status;
    char call_answer[SAMPLE_BYTES];
};

static int lane_may_write(int lane, enum phase ph, const struct outcome *out)
{
    switch (ph) {
    case PH_STEADY:
        return lane == O.primary;
    case PH_WAIT:
        return !(O.kill_pid > 0 && lane == O.primary);
    case PH_AFTER:
        return lane == out->first_lane;
    default:
        return 0;
    }
}

static void schedule(enum phase ph, const struct outcome *out, uint64_t now)
{
    for (int i = 0; i < O.n_members; i++) {
        struct lane *l = &lanes[i];
        if (!lane_may_write(i, ph, out))
            continue;
        if (ph == PH_WAIT) {
            int max_inflight = (int)(O.retry_ms / O.hedge_ms) + 1;
            if ((l->n_inflight == 0 && now >= l->backoff_until_us) ||
                (l->n_inflight > 0 && l->n_inflight < max_inflight &&
                 now - l->newest_start_us >= (uint64_t)(O.hedge_ms * 1000)))
                start_write(i, ph, O.retry_ms, now);
        } else if (l->n_inflight == 0 && now >= l->backoff_until_us) {
            start_write(i, ph, O.timeout_ms, now);
        }
    }
}

static void complete(CURLMsg *m, enum phase ph, struct outcome *out)
{
    struct attempt *a;
    long status = 0;
    uint64_t now = vg_mono_us();
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&a);
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    CURLcode rc = m->data.result;
    if (a->is_call) {
        out->call_done_us = now;
        out->call_status = rc == CURLE_OK ? status : -1;
        snprintf(out->call_answer, sizeof(out->call_answer), "%.150s",
                 rc != CURLE_OK ? curl_easy_strerror(rc)
                 : a->resp.data ? (const char *)a->resp.data
                                : "");
        json_safe(out->call_answer);
        attempt_free(a);
        return;
    }
    struct lane *l = &lanes[a->lane];
    if (write_acked(a, rc, status)) {
        int after = out->event_done && now >= out->t0_us;
        l->n_ok++;
        add_ack(a->seq, a->lane, after);
        if (after && a->lane != O.primary && !out->first_ack_us) {
            out->first_ack_us = now;
            out->first_lane = a->lane;
        }
    } else {
        l->n_fail++;
        l->backoff_until_us = now + BACKOFF_US;
        if (!l->first_fail[0])
            describe_failure(l->first_fail, a, rc, status);
        if (ph == PH_WAIT)
            describe_failure(l->last_fail, a, rc, status);
    }
    attempt_free(a);
}

/* Gives up every write in flight that is not on `keep` (-1: every one). */
static void abandon_except(int keep)
{
    for (int i = 0; i < MAX_ATTEMPTS; i++) {
        struct attempt *a = &attempts[i];
        if (a->in_use && !a->is_call && a->lane != keep) {
            lanes[a->lane].n_abandoned++;
            attempt_free(a);
        }
    }
}

static int any_inflight(void)
{
    for (int i = 0; i < MAX_ATTEMPTS; i++)
        if (attempts[i].in_use)
            return 1;
    return 0;
}

static void pump(enum phase ph, struct outcome *out)
{
    int running, left;
    CURLMsg *m;
    curl_multi_perform(multi, &running);
    while ((m = curl_multi_info_read(multi, &left)))
        if (m->msg == CURLMSG_DONE)
            complete(m, ph, out);
}

static int run(struct outcome *out)
{
    enum phase ph = PH_STEADY;
    uint64_t begin = vg_mono_us(), after_until = 0;
    uint64_t steady_until = begin + (uint64_t)(O.warmup_ms * 1000);
    for (;;) {
        uint64_t now = vg_mono_us();
        if (ph == PH_STEADY && now >= steady_until) {
            ph = PH_WAIT;
            if (O.kill_pid > 0) {
                out->t0_us = vg_mono_us();
                if (kill(O.kill_pid, SIGKILL) < 0) {
                    fprintf(stderr, "failover_probe: kill %d: %s\n", (int)O.kill_pid,
                            strerror(errno));
                    return -1;
                }
            } else {
                out->t0_us = vg_mono_us();
                start_call(out->t0_us);
            }
            out->event_done = 1;
            now = out->t0_us;
        }
        if (ph == PH_WAIT && out->first_ack_us) {
            ph = PH_AFTER;
            after_until = out->first_ack_us + (uint64_t)(O.after_ms * 1000);
            abandon_except(out->first_lane);
        }
        if (ph == PH_WAIT && (now - out->t0_us > (uint64_t)(O.max_ms * 1000) ||
                              (out->call_done_us && out->call_status != 200))) {
            abandon_except(-1);
            ph = PH_DRAIN;
        }
        if (ph == PH_AFTER && now >= after_until)
            ph = PH_DRAIN;
        if (ph == PH_DRAIN && !any_inflight())
            return 0;
        schedule(ph, out, now);
        pump(ph, out);
        curl_multi_poll(multi, NULL, 0, ph == PH_WAIT || ph == PH_STEADY ? 1 : 5, NULL);
        pump(ph, out);
    }
}

/* ---- verification ---- */

enum verdict { V_PRESENT, V_LOST, V_UNKNOWN };

static enum verdict verify_one(CURL *h, vg_buf_t *resp, int lane, uint64_t seq, char *sample,
                               size_t sample_len)
{
    char key[128], value[1024], url[512];
    vg_buf_t body = VG_BUF_INIT, want = VG_BUF_INIT;
    long status = 0;
    enum verdict v;
    make_key(seq, key, sizeof(key));
    make_value(seq, value);
    vg_buf_reset(resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)O.timeout_ms);
    if (O.target == TARGET_VIGIL) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/objects/Site/%s", O.ports[lane],
                 key);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        vg_buf_printf(&want, "\"%s\"", value);
    } else {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v3/kv/range", O.ports[lane]);
        vg_buf_adds(&body, "{\"key\":\"");
        base64_add(&body, key, strlen(key));
        vg_buf_adds(&body, "\"}");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (char *)body.data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
        vg_buf_adds(&want, "\"value\":\"");
        base64_add(&want, value, strlen(value));
        vg_buf_adds(&want, "\"");
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    const char *got = resp->data ? (const char *)resp->data : "";
    if (rc != CURLE_OK)
        v = V_UNKNOWN;
    else if (O.target == TARGET_VIGIL)
        v = status == 404   ? V_LOST
            : status == 200 ? (strstr(got, (const char *)want.data) ? V_PRESENT : V_LOST)
                            : V_UNKNOWN;
    else
        v = status != 200 || strstr(got, "\"error\"") || !strstr(got, "\"header\"")
                ? V_UNKNOWN
                : (strstr(got, (const char *)want.data) ? V_PRESENT : V_LOST);
    if (v != V_PRESENT && !sample[0]) {
        snprintf(sample, sample_len, "%s %s: %s", v == V_LOST ? "lost" : "unverified", key,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : got);
        json_safe(sample);
    }
    vg_buf_release(&body);
    vg_buf_release(&want);
    return v;
}

/* ---- options ---- */

static double num(const char *s, const char *flag, double min)
{
    char *end, msg[128];
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= min) || v > 1e9) {
        snprintf(msg, sizeof(msg), "bad value '%s' for %s", s, flag);
        usage(msg);
    }
    return v;
}

static int member_index(const char *name)
{
    for (int i = 0; i < O.n_members; i++)
        if (strcmp(O.names[i], name) == 0)
            return i;
    return -1;
}

static void parse(int argc, char **argv)
{
    static const struct option longs[] = {{"target", required_argument, NULL, 't'},
                                          {"member", required_argument, NULL, 'm'},
                                          {"primary", required_argument, NULL, 'P'},
                                          {"kill-pid", required_argument, NULL, 'k'},
                                          {"switchover", no_argument, NULL, 's'},
                                          {"to", required_argument, NULL, 'T'},
                                          {"prefix", required_argument, NULL, 'x'},
                                          {"warmup-ms", required_argument, NULL, 'w'},
                                          {"after-ms", required_argument, NULL, 'a'},
                                          {"hedge-ms", required_argument, NULL, 'H'},
                                          {"retry-ms", required_argument, NULL, 'r'},
                                          {"timeout-ms", required_argument, NULL, 'o'},
                                          {"max-ms", required_argument, NULL, 'M'},
                                          {"value-bytes", required_argument, NULL, 'b'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *target = NULL, *primary = NULL;
    int opt;
    O = (struct opts){.prefix = "fo",
                      .warmup_ms = 500,
                      .after_ms = 200,
                      .hedge_ms = 5,
                      .retry_ms = 500,
                      .timeout_ms = 10000,
                      .max_ms = 30000,
                      .value_bytes = 100};
    while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (opt) {
        case 't':
            target = optarg;
            break;
        case 'm': {
            const char *eq = strchr(optarg, '=');
            size_t n = eq ? (size_t)(eq - optarg) : 0;
            if (!eq || n == 0 || n >= sizeof(O.names[0]) || O.n_members == MAX_MEMBERS)
                usage("--member takes NAME=PORT (at most 5)");
            memcpy(O.names[O.n_members], optarg, n);
            O.names[O.n_members][n] = '\0';
            O.ports[O.n_members] = (int)num(eq + 1, "--member", 1);
            if (O.ports[O.n_members] > 65535)
                usage("--member port must be 1..65535");
            O.n_members++;
            break;
        }
        case 'P':
            primary = optarg;
            break;
        case 'k':
            O.kill_pid = (pid_t)num(optarg, "--kill-pid", 2);
            break;
        case 's':
            O.switchover = 1;
            break;
        case 'T':
            O.switch_to = optarg;
            break;
        case 'x':
            O.prefix = optarg;
            break;
        case 'w':
            O.warmup_ms = num(optarg, "--warmup-ms", 0);
            break;
        case 'a':
            O.after_ms = num(optarg, "--after-ms", 0);
            break;
        case 'H':
            O.hedge_ms = num(optarg, "--hedge-ms", 0.1);
            break;
        case 'r':
            O.retry_ms = num(optarg, "--retry-ms", 1);
            break;
        case 'o':
            O.timeout_ms = num(optarg, "--timeout-ms", 1);
            break;
        case 'M':
            O.max_ms = num(optarg, "--max-ms", 1);
            break;
        case 'b':
            O.value_bytes = (size_t)num(optarg, "--value-bytes", 1);
            break;
        case 'h':
            usage(NULL);
            break;
        default:
            usage("see usage");
        }
    }
    if (optind != argc)
        usage("unexpected argument");
    if (!target || (strcmp(target, "vigil") && strcmp(target, "etcd")))
        usage("--target must be vigil or etcd");
    O.target = strcmp(target, "vigil") == 0 ? TARGET_VIGIL : TARGET_ETCD;
    if (O.n_members < 2)
        usage("give at least two --member NAME=PORT");
    if (!primary || (O.primary = member_index(primary)) < 0)
        usage("--primary must name one of the members");
    if ((O.kill_pid > 0) == O.switchover)
        usage("give exactly one of --kill-pid and --switchover");
    if (O.switchover && O.target != TARGET_VIGIL)
        usage("--switchover is for vigil only");
    if (O.switch_to && member_index(O.switch_to) < 0)
        usage("--to must name one of the members");
    if (O.value_bytes > 900 || O.value_bytes < 40)
        usage("--value-bytes must be 40..900");
    if (strlen(O.prefix) > 40)
        usage("--prefix is limited to 40 characters");
    if (O.retry_ms / O.hedge_ms > MAX_ATTEMPTS / MAX_MEMBERS - 2)
        usage("--retry-ms / --hedge-ms is too large (too many attempts in flight)");
    O.token = getenv("VIGIL_TOKEN");
    if (O.target == TARGET_VIGIL && (!O.token || !*O.token))
        usage("--target vigil needs $VIGIL_TOKEN");
}

int main(int argc, char **argv)
{
    struct outcome out = {.first_lane = -1, .call_status = 0};
    char sample[SAMPLE_BYTES] = "";
    uint64_t lost = 0, unknown = 0, present = 0, before = 0;
    parse(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(multi = curl_multi_init())) {
        fprintf(stderr, "failover_probe: cannot initialise libcurl\n");
        return 1;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (O.target == TARGET_VIGIL) {
        vg_buf_t auth = VG_BUF_INIT;
        vg_buf_printf(&auth, "Authorization: Bearer %s", O.token);
        hdrs = curl_slist_append(hdrs, (const char *)auth.data);
        vg_buf_release(&auth);
    }
    int rc = run(&out);
    int verify_lane = out.first_lane >= 0 ? out.first_lane : -1;
    if (verify_lane >= 0) {
        CURL *h = curl_easy_init();
        vg_buf_t resp = VG_BUF_INIT;
        base_opts(h, &resp);
        for (size_t i = 0; i < n_acks; i++) {
            enum verdict v =
                verify_one(h, &resp, verify_lane, acks[i].seq, sample, sizeof(sample));
            present += v == V_PRESENT;
            lost += v == V_LOST;
            unknown += v == V_UNKNOWN;
        }
        curl_easy_cleanup(h);
        vg_buf_release(&resp);
    } else {
        unknown = n_acks;
    }
    uint64_t failed = 0, abandoned = 0;
    for (int i = 0; i < O.n_members; i++) {
        failed += lanes[i].n_fail;
        abandoned += lanes[i].n_abandoned;
    }
    for (size_t i = 0; i < n_acks; i++)
        before += !acks[i].after_event;
    if (!sample[0] && out.first_lane < 0)
        for (int i = 0; i < O.n_members; i++)
            if (lanes[i].last_fail[0] && i != (O.kill_pid > 0 ? O.primary : -1)) {
                snprintf(sample, sizeof(sample), "%s: %s", O.names[i], lanes[i].last_fail);
                break;
            }
    printf("{\"target\":\"%s\",\"event\":\"%s\",\"old\":\"%s\",\"new\":",
           O.target == TARGET_VIGIL ? "vigil" : "etcd", O.switchover ? "switchover" : "kill",
           O.names[O.primary]);
    if (out.first_lane >= 0)
        printf("\"%s\",\"first_ack_ms\":%.3f", O.names[out.first_lane],
               (double)(out.first_ack_us - out.t0_us) / 1000.0);
    else
        printf("null,\"first_ack_ms\":null");
    if (O.switchover && out.call_done_us)
        printf(",\"call_ms\":%.3f,\"call_status\":%ld,\"call_answer\":\"%s\"",
               (double)(out.call_done_us - out.t0_us) / 1000.0, out.call_status,
               out.call_answer);
    else
        printf(",\"call_ms\":null,\"call_status\":null,\"call_answer\":null");
    printf(",\"acked\":%zu,\"acked_before\":%llu,\"verified\":%llu,\"lost\":%llu,"
           "\"unverified\":%llu,\"attempts_failed\":%llu,\"attempts_abandoned\":%llu,"
           "\"sample\":\"%s\",\"members\":{",
           n_acks, (unsigned long long)before, (unsigned long long)present,
           (unsigned long long)lost, (unsigned long long)unknown, (unsigned long long)failed,
           (unsigned long long)abandoned, sample);
    for (int i = 0; i < O.n_members; i++)
        printf("%s\"%s\":{\"acked\":%llu,\"failed\":%llu,\"abandoned\":%llu,"
               "\"first_failure\":\"%s\",\"last_failure_waiting\":\"%s\"}",
               i ? "," : "", O.names[i], (unsigned long long)lanes[i].n_ok,
               (unsigned long long)lanes[i].n_fail, (unsigned long long)lanes[i].n_abandoned,
               lanes[i].first_fail, lanes[i].last_fail);
    printf("}}\n");
    fflush(stdout);
    for (int i = 0; i < MAX_ATTEMPTS; i++) {
        if (attempts[i].h)
            curl_easy_cleanup(attempts[i].h);
        vg_buf_release(&attempts[i].body);
        vg_buf_release(&attempts[i].resp);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    free(acks);
    if (rc < 0 || out.first_lane < 0)
        return 1;
    if (O.switchover && out.call_status != 200)
        return 1;
    return lost > 0 ? 3 : 0;
}

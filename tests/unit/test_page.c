/*
 * test_page.c - page delivery (page/page.h) against real receivers run as
 * child processes: tests/tools/page_receiver.py (an HTTP server that
 * records every request and answers chosen status codes), Debian's
 * aiosmtpd with tests/tools/page_smtp_handler.py (saves each message raw),
 * and /bin/sh for exec. The pager runs on an event loop in this process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/say.h"
#include "core/utf8.h"
#include "page/page.h"

#define TOOLS VG_FIXTURES "/../tools"

extern char **environ;

static char tmp[64];
static struct event_base *base;
static int n_files;

/* ---- receivers ---------------------------------------------------------- */

struct peer {
    pid_t pid;
    int port;
    char path[256]; /* the log file or the mail directory */
};

#define assert_has(hay, needle) has_((hay), (needle), __FILE__, __LINE__)

static void has_(const char *hay, const char *needle, const char *file, int line)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("%s:%d: '%s' not found in:\n%s", file, line, needle, hay ? hay : "(null)");
}

/* every receiver started, killed at teardown even when a test failed */
static pid_t peers[64];
static int n_peers;

static const char *python(void)
{
    /* aiosmtpd is Debian's package: the system interpreter has it */
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static pid_t spawn_argv(char *const argv[], int stdout_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdout_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
    if (stdout_fd < 0) /* keep the test's output to itself */
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        fail_msg("cannot start %s: %s", argv[0], strerror(rc));
    return pid;
}

static void new_path(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "%s/%s-%d", tmp, what, ++n_files);
}

/* An HTTP receiver answering statuses ("503,202") first, then 202. */
static struct peer http_peer(const char *statuses, const char *delay)
{
    struct peer p = {0};
    new_path(p.path, sizeof p.path, "requests");
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    char *argv[] = {(char *)python(),
                    TOOLS "/page_receiver.py",
                    "--log",
                    p.path,
                    "--statuses",
                    (char *)statuses,
                    "--delay",
                    (char *)delay,
                    NULL};
    p.pid = peers[n_peers++ % 64] = spawn_argv(argv, fds[1]);
    close(fds[1]);
    struct pollfd pfd = {fds[0], POLLIN, 0};
    char line[32] = "";
    size_t n = 0;
    while (n < sizeof line - 1 && !strchr(line, '\n') && poll(&pfd, 1, 10000) == 1) {
        ssize_t got = read(fds[0], line + n, sizeof line - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    p.port = strchr(line, '\n') ? atoi(line) : 0;
    close(fds[0]);
    if (p.port <= 0)
        fail_msg("the HTTP receiver did not start");
    return p;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* aiosmtpd saving messages under a new directory; codes: first replies */
static struct peer smtp_peer(const char *codes)
{
    struct peer p = {.port = free_port()};
    new_path(p.path, sizeof p.path, "mail");
    assert_int_equal(mkdir(p.path, 0700), 0);
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p.port);
    setenv("PYTHONPATH", TOOLS, 1);
    char *argv[] = {(char *)python(),         "-m",   "aiosmtpd",    "-n", "-l", listen, "-c",
                    "page_smtp_handler.Save", p.path, (char *)codes, NULL};
    p.pid = peers[n_peers++ % 64] = spawn_argv(argv, -1);
    for (int i = 0; i < 200 && !port_open(p.port); i++)
        usleep(50000);
    if (!port_open(p.port))
        fail_msg("aiosmtpd did not start on port %d (python3-aiosmtpd installed?)", p.port);
    return p;
}

static void peer_stop(struct peer *p)
{
    if (kill(p->pid, SIGKILL) == 0)
        waitpid(p->pid, NULL, 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    vg_buf_t b = VG_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        vg_buf_add(&b, chunk, n);
    fclose(f);
    vg_buf_add(&b, "", 0);
    return (char *)vg_buf_detach(&b, NULL);
}

/* The n-th (0-based) request the receiver recorded, or NULL. */
static json_t *request(const struct peer *p, int n)
{
    char *text = slurp(p->path);
    char *line = text;
    for (int i = 0; line && i < n; i++)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    json_t *req = line && *line ? json_loadb(line, strcspn(line, "\n"), 0, NULL) : NULL;
    free(text);
    return req;
}

static int n_requests(const struct peer *p)
{
    char *text = slurp(p->path);
    int n = 0;
    for (char *c = text; c && *c; c++)
        n += *c == '\n';
    free(text);
    return n;
}

/* ---- the loop and the outcomes ----------------------------------------- */

struct outcome {
    int calls;
    int from_inside_send;
    struct vg_page_result res;
};

static int in_send;

static void on_done(void *arg, const struct vg_page_result *res)
{
    struct outcome *o = arg;
    o->calls++;
    o->from_inside_send |= in_send;
    o->res = *res;
}

static void run_until(const int *calls, int want, int max_ms)
{
    uint64_t end = vg_mono_ms() + (uint64_t)max_ms;
    struct timeval slice = {0, 20000};
    while (*calls < want && vg_mono_ms() < end) {
        event_base_loopexit(base, &slice);
        event_base_dispatch(base);
    }
}

static vg_pager_t *pager(const char *smtp_url, int max_attempts, int timeout_ms)
{
    struct vg_pager_opts o = {.smtp_url = smtp_url,
                              .mail_from = "vigil@dc1.example",
                              .max_attempts = max_attempts,
                              .timeout_ms = timeout_ms,
                              .backoff_ms = 20,
                              .max_inflight = 8};
    vg_pager_t *p = NULL;
    char err[256] = "";
    if (vg_pager_new(base, &o, &p, err, sizeof err))
        fail_msg("vg_pager_new: %s", err);
    return p;
}

static struct vg_page a_page(void)
{
    return (struct vg_page){.key = "inc-17/alice/1",
                            .event = VG_PAGE_TRIGGER,
                            .incident = "inc-17",
                            .dedup = "dc1/hall-a/inlet-hot",
                            .summary = "dc1 hall-a inlet 31.2 C above 27 C",
                            .severity = "critical",
                            .site = "dc1",
                            .zone = "hall-a",
                            .ack_url = "https://vigil.example/ack/inc-17?t=signed",
                            .recipient = "alice",
                            .time_ms = 1767225600123LL};
}

/* Sends page and runs the loop until its outcome arrives. */
static struct outcome deliver(vg_pager_t *p, const struct vg_page *page, int max_ms)
{
    struct outcome o = {0};
    char err[256] = "";
    in_send = 1;
    int rc = vg_pager_send(p, page, on_done, &o, err, sizeof err);
    in_send = 0;
    if (rc)
        fail_msg("vg_pager_send: %s", err);
    assert_int_equal(o.calls, 0);
    run_until(&o.calls, 1, max_ms);
    assert_int_equal(o.calls, 1);
    assert_false(o.from_inside_send);
    return o;
}

static struct vg_page webhook(const struct peer *peer, enum vg_page_format format, char *url,
                              size_t cap)
{
    snprintf(url, cap, "http://127.0.0.1:%d/hook", peer->port);
    struct vg_page pg = a_page();
    pg.channel = VG_PAGE_WEBHOOK;
    pg.url = url;
    pg.format = format;
    return pg;
}

static const char *str_at(const json_t *v, const char *path)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *save, *part = strtok_r(copy, ".", &save); part && v;
         part = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(part)) : json_object_get(v, part);
    if (!json_is_string(v))
        fail_msg("no string at %s", path);
    return json_string_value(v);
}

/* The request's body, parsed (it must be JSON). */
static json_t *body_of(const json_t *req)
{
    assert_true(json_is_true(json_object_get(req, "utf8")));
    json_t *body = json_loads(str_at(req, "body"), 0, NULL);
    assert_non_null(body);
    return body;
}

/* ---- webhooks ----------------------------------------------------------- */

static void test_generic_body_arrives_with_every_field_and_the_key_header(void **state)
{
    struct peer rx = http_peer("", "0");
    vg_pager_t *p = pager(NULL, 3, 5000);
    char url[64];
    struct vg_page pg = webhook(&rx, VG_PAGE_GENERIC, url, sizeof url);
    json_t *labels = json_pack("{s:s, s:s}", "rack", "r12", "sensor", "t1");
    pg.labels = labels;
    struct outcome o = deliver(p, &pg, 5000);
    assert_true(o.res.ok);
    assert_false(o.res.permanent);
    assert_int_equal(o.res.attempts, 1);
    assert_int_equal(o.res.status, 202);
    assert_string_equal(o.res.detail, "HTTP 202");
    json_t *req = request(&rx, 0);
    assert_non_null(req);
    assert_string_equal(str_at(req, "method"), "POST");
    assert_string_equal(str_at(req, "path"), "/hook");
    assert_string_equal(str_at(req, "headers.Idempotency-Key"), "inc-17/alice/1");
    assert_string_equal(str_at(req, "headers.Content-Type"), "application/json");
    assert_memory_equal(str_at(req, "headers.User-Agent"), "vigil/", 6);
    json_t *body = body_of(req);
    assert_string_equal(str_at(body, "event"), "trigger");
    assert_string_equal(str_at(body, "incident"), "inc-17");
    assert_string_equal(str_at(body, "dedup_key"), "dc1/hall-a/inlet-hot");
    assert_string_equal(str_at(body, "summary"), "dc1 hall-a inlet 31.2 C above 27 C");
    assert_string_equal(str_at(body, "severity"), "critical");
    assert_string_equal(str_at(body, "site"), "dc1");
    assert_string_equal(str_at(body, "zone"), "hall-a");
    assert_string_equal(str_at(body, "labels.rack"), "r12");
    assert_string_equal(str_at(body, "labels.sensor"), "t1");
    assert_string_equal(str_at(body, "ack_url"), "https://vigil.example/ack/inc-17?t=signed");
    assert_string_equal(str_at(body, "time"), "2026-01-01T00:00:00.123Z");
    assert_string_equal(str_at(body, "recipient"), "alice");
    assert_string_equal(str_at(body, "key"), "inc-17/alice/1");
    json_decref(body), json_decref(req), json_decref(labels);
    vg_pager_free(p);
    peer_stop(&rx);
}

static void test_pagerduty_body_has_the_events_v2_fields(void **state)
{
    struct peer rx = http_peer("", "0");
    vg_pager_t *p = pager(NULL, 3, 5000);
    char url[64];
    struct vg_page pg = webhook(&rx, VG_PAGE_PAGERDUTY, url, sizeof url);
    json_t *labels = json_pack("{s:s}", "rack", "r12");
    pg.labels = labels;
    pg.routing_key = "R0UTINGKEY0123456789";
    pg.severity = "warning";
    assert_true(deliver(p, &pg, 5000).res.ok);
    pg.event = VG_PAGE_RESOLVE;
    pg.key = "inc-17/alice/2";
    assert_true(deliver(p, &pg, 5000).res.ok);

    json_t *req = request(&rx, 0), *body = body_of(req);
    assert_string_equal(str_at(req, "headers.Idempotency-Key"), "inc-17/alice/1");
    assert_string_equal(str_at(body, "routing_key"), "R0UTINGKEY0123456789");
    assert_string_equal(str_at(body, "event_action"), "trigger");
    assert_string_equal(str_at(body, "dedup_key"), "dc1/hall-a/inlet-hot");
    assert_string_equal(str_at(body, "payload.summary"), "dc1 hall-a inlet 31.2 C above 27 C");
    assert_string_equal(str_at(body, "payload.source"), "dc1");
    assert_string_equal(str_at(body, "payload.severity"), "warning");
    assert_string_equal(str_at(body, "payload.timestamp"), "2026-01-01T00:00:00.123Z");
    assert_string_equal(str_at(body, "payload.component"), "hall-a");
    assert_string_equal(str_at(body, "payload.custom_details.rack"), "r12");
    assert_string_equal(str_at(body, "links.0.href"),
                        "https://vigil.example/ack/inc-17?t=signed");
    json_decref(body), json_decref(req);

    req = request(&rx, 1), body = body_of(req);
    assert_string_equal(str_at(req, "headers.Idempotency-Key"), "inc-17/alice/2");
    assert_string_equal(str_at(body, "event_action"), "resolve");
    assert_string_equal(str_at(body, "dedup_key"), "dc1/hall-a/inlet-hot");
    json_decref(body), json_decref(req), json_decref(labels);
    vg_pager_free(p);
    peer_stop(&rx);
}

static void test_slack_body_has_text_blocks_and_the_ack_link(void **state)
{
    struct peer rx = http_peer("", "0");
    vg_pager_t *p = pager(NULL, 3, 5000);
    char url[64];
    struct vg_page pg = webhook(&rx, VG_PAGE_SLACK, url, sizeof url);
    pg.summary = "inlet <hot> & rising";
    assert_true(deliver(p, &pg, 5000).res.ok);
    json_t *req = request(&rx, 0), *body = body_of(req);
    assert_string_equal(str_at(req, "headers.Idempotency-Key"), "inc-17/alice/1");
    const char *text = str_at(body, "text");
    assert_has(text, "CRITICAL inc-17: inlet &lt;hot&gt; &amp; rising");
    assert_has(text, "<https://vigil.example/ack/inc-17?t=signed|Acknowledge>");
    assert_string_equal(str_at(body, "blocks.0.type"), "section");
    assert_string_equal(str_at(body, "blocks.0.text.type"), "mrkdwn");
    assert_has(str_at(body, "blocks.0.text.text"), "dc1 / hall-a");
    assert_string_equal(str_at(body, "blocks.1.text.text"),
                        "<https://vigil.example/ack/inc-17?t=signed|Acknowledge>");
    json_decref(body), json_decref(req);
    vg_pager_free(p);
    peer_stop(&rx);
}

static void test_503_and_429_are_retried_with_the_same_key_then_ok(void **state)
{
    struct peer rx = http_peer("503,429", "0");
    vg_pager_t *p = pager(NULL, 5, 5000);
    char url[64];
    struct vg_page pg = webhook(&rx, VG_PAGE_GENERIC, url, sizeof url);
    struct outcome o = deliver(p, &pg, 10000);
    assert_true(o.res.ok);
    assert_int_equal(o.res.attempts, 3);
    assert_int_equal(o.res.status, 202);
    assert_int_equal(n_requests(&rx), 3);
    for (int i = 0; i < 3; i++) {
        json_t *req = request(&rx, i);
        assert_string_equal(str_at(req, "headers.Idempotency-Key"), "inc-17/alice/1");
        json_decref(req);
    }
    vg_pager_free(p);
    peer_stop(&rx);
}

static void test_503_then_202_reports_ok_after_two_attempts(void **state)
{
    struct peer rx = http_peer("503", "0");
    vg_pager_t *p = pager(NULL, 5, 5000);
    char url[64];
    struct vg_page pg = webhook(&rx, VG_PAGE_GENERIC, url, sizeof url);
    struct outcome o = deliver(p, &pg, 10000);
    assert_true(o.res.ok);
    assert_int_equal(o.res.attempts, 2);
    assert_string_equal(o.res.detail, "HTTP 202");
    vg_pager_free(p);
    peer_stop(&rx);
}

static void test_400_is_permanent_after_one_attempt_and_counted(void **state)
{
    struct peer rx = http_peer("400", "0");
    vg_pager_t *p = pager(NULL, 5, 5000);
    char url[64];
    struct vg_page pg = webhook(&rx, VG_PAGE_GENERIC, url, sizeof url);
    struct outcome o = deliver(p, &pg, 5000);
    assert_false(o.res.ok);
    assert_true(o.res.permanent);
    assert_int_equal(o.res.attempts, 1);
    assert_int_equal(o.res.status, 400);
    int never = 0;
    run_until(&never, 1, 300); /* no second attempt comes later either */
    assert_int_equal(n_requests(&rx), 1);
    vg_buf_t m = VG_BUF_INIT;
    vg_pager_metrics(p, &m);
    const char *text = (const char *)m.data;
    assert_has(text, "# TYPE vigil_pages_total counter\n");
    assert_has(text, "vigil_pages_total{channel=\"webhook\",outcome=\"permanent\"} 1\n");
    assert_has(text, "vigil_pages_total{channel=\"webhook\",outcome=\"ok\"} 0\n");
    assert_has(text, "vigil_pages_inflight 0\n");
    assert_has(text, "vigil_pages_queued 0\n");
    assert_has(text, "vigil_page_attempts_total 1\n");
    vg_buf_release(&m);
    vg_pager_free(p);
    peer_stop(&rx);
}

static void test_connection_refused_is_retried_up_to_max_attempts(void **state)
{
    vg_pager_t *p = pager(NULL, 3, 5000);
    struct peer nobody = {.port = free_port()};
    char url[64];
    struct vg_page pg = webhook(&nobody, VG_PAGE_GENERIC, url, sizeof url);
    struct outcome o = deliver(p, &pg, 10000);
    assert_false(o.res.ok);
    assert_false(o.res.permanent);
    assert_int_equal(o.res.attempts, 3);
    assert_int_equal(o.res.status, 0);
    assert_has(o.res.detail, "Connection refused");
    vg_buf_t m = VG_BUF_INIT;
    vg_pager_metrics(p, &m);
    assert_has((char *)m.data, "vigil_pages_total{channel=\"webhook\",outcome=\"failed\"} 1\n");
    assert_has((char *)m.data, "vigil_page_attempts_total 3\n");
    vg_buf_release(&m);
    vg_pager_free(p);
}

/* Routing keys and a URL's userinfo, path and query never reach the log. */
static void test_secrets_never_reach_the_log(void **state)
{
    struct peer rx = http_peer("503,400", "0");
    vg_pager_t *p = pager(NULL, 3, 5000);
    char url[160], log[256];
    struct vg_page pg = webhook(&rx, VG_PAGE_PAGERDUTY, url, sizeof url);
    snprintf(url, sizeof url, "http://hook:s3cretpw@127.0.0.1:%d/services/XXSECRET?token=qu3ry",
             rx.port);
    pg.routing_key = "R0UTINGSECRET";
    new_path(log, sizeof log, "stderr");
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(fd, 2);
    vg_say_set_level(VG_SAY_DEBUG);
    struct outcome o = deliver(p, &pg, 5000);
    vg_say_set_level(VG_SAY_INFO);
    fflush(stderr);
    dup2(saved, 2);
    close(saved), close(fd);
    assert_true(o.res.permanent);
    assert_int_equal(o.res.attempts, 2);
    assert_has(o.res.detail, "HTTP 400");
    char *text = slurp(log);
    assert_has(text, "http://127.0.0.1:"); /* the failure was logged */
    assert_has(text, "retrying");
    static const char *const secrets[] = {"s3cretpw", "XXSECRET", "qu3ry", "R0UTING"};
    for (size_t i = 0; i < VG_ARRAY_LEN(secrets); i++)
        if (strstr(text, secrets[i]))
            fail_msg("the log holds '%s': %s", secrets[i], text);
    free(text);
    json_t *req = request(&rx, 0);
    assert_string_equal(str_at(req, "path"), "/services/XXSECRET?token=qu3ry");
    json_decref(req);
    vg_pager_free(p);
    peer_stop(&rx);
}

/* ---- email -------------------------------------------------------------- */

static struct vg_page email(const char *to)
{
    struct vg_page pg = a_page();
    pg.channel = VG_PAGE_EMAIL;
    pg.to = to;
    pg.details = "inlet t1 read 31.2 C at 00:00\nthe limit is 27 C";
    return pg;
}

static vg_pager_t *mail_pager(const struct peer *relay, int max_attempts)
{
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", relay->port);
    return pager(url, max_attempts, 5000);
}

/* The n-th saved message (1-based), and its envelope. */
static char *mail(const struct peer *relay, int n, json_t **envelope)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%d.json", relay->path, n);
    char *env = slurp(path);
    assert_non_null(env);
    *envelope = json_loads(env, 0, NULL);
    free(env);
    snprintf(path, sizeof path, "%s/%d.eml", relay->path, n);
    char *msg = slurp(path);
    assert_non_null(msg);
    return msg;
}

static void test_email_arrives_with_subject_to_and_ack_link(void **state)
{
    struct peer relay = smtp_peer("");
    vg_pager_t *p = mail_pager(&relay, 3);
    struct vg_page pg = email("alice@dc1.example");
    struct outcome o = deliver(p, &pg, 10000);
    assert_true(o.res.ok);
    assert_int_equal(o.res.attempts, 1);
    assert_int_equal(o.res.status, 250);
    json_t *envelope;
    char *msg = mail(&relay, 1, &envelope);
    assert_string_equal(str_at(envelope, "mail_from"), "vigil@dc1.example");
    assert_string_equal(str_at(envelope, "rcpt_tos.0"), "alice@dc1.example");
    assert_int_equal(json_array_size(json_object_get(envelope, "rcpt_tos")), 1);
    assert_memory_equal(msg, "From: vigil <vigil@dc1.example>\r\nTo: <alice@dc1.example>\r\n",
                        58);
    assert_has(msg,
               "\r\nSubject: [vigil] CRITICAL inc-17: dc1 hall-a inlet 31.2 C above 27 C\r\n");
    assert_has(msg, "\r\nDate: ");
    assert_has(msg, "\r\nMessage-ID: <inc-17=2Falice=2F1@dc1.example>\r\n");
    assert_has(msg, "\r\n\r\nCRITICAL inc-17: dc1 hall-a inlet");
    assert_has(msg, "\r\nthe limit is 27 C\r\n");
    assert_has(msg, "\r\nAcknowledge: https://vigil.example/ack/inc-17?t=signed\r\n");
    free(msg);
    json_decref(envelope);
    vg_pager_free(p);
    peer_stop(&relay);
}

static void test_summary_cannot_inject_a_mail_header(void **state)
{
    struct peer relay = smtp_peer("");
    vg_pager_t *p = mail_pager(&relay, 3);
    struct vg_page pg = email("alice@dc1.example");
    pg.summary = "disk hot\r\nBcc: mallory@evil.example\r\n\r\nforged body";
    pg.incident = "inc-17\nX-Evil: 1";
    assert_true(deliver(p, &pg, 10000).res.ok);
    json_t *envelope;
    char *msg = mail(&relay, 1, &envelope);
    assert_int_equal(json_array_size(json_object_get(envelope, "rcpt_tos")), 1);
    char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    *end = '\0'; /* the header section */
    assert_null(strstr(msg, "\nBcc:"));
    assert_null(strstr(msg, "\nX-Evil:"));
    assert_null(strstr(msg, "\n\n"));
    /* the control bytes are shown, as everywhere in vigil, not obeyed */
    assert_has(msg,
               "\r\nSubject: [vigil] CRITICAL inc-17\\x0aX-Evil: 1: disk hot\\x0d\\x0aBcc: "
               "mallory@evil.example\\x0d\\x0a\\x0d\\x0aforged body\r\n");
    free(msg);
    json_decref(envelope);
    /* an address that is not one is refused before anything is sent */
    pg = email("alice@dc1.example\r\nBcc: mallory@evil.example");
    char err[256] = "";
    assert_int_equal(vg_pager_send(p, &pg, on_done, NULL, err, sizeof err), -EINVAL);
    assert_has(err, "is not one");
    vg_pager_free(p);
    peer_stop(&relay);
}

static void test_smtp_4xx_is_retried_and_5xx_is_final(void **state)
{
    struct peer relay = smtp_peer("451,550");
    vg_pager_t *p = mail_pager(&relay, 5);
    struct vg_page pg = email("alice@dc1.example");
    struct outcome o = deliver(p, &pg, 10000);
    assert_false(o.res.ok);
    assert_true(o.res.permanent);
    assert_int_equal(o.res.attempts, 2);
    assert_int_equal(o.res.status, 550);
    o = deliver(p, &pg, 10000); /* the relay now accepts */
    assert_true(o.res.ok);
    vg_pager_free(p);
    peer_stop(&relay);
}

/* ---- exec --------------------------------------------------------------- */

static struct vg_page exec_page(const char *const *argv)
{
    struct vg_page pg = a_page();
    pg.channel = VG_PAGE_EXEC;
    pg.argv = argv;
    return pg;
}

static void test_exec_gets_the_message_on_stdin_and_vigil_variables(void **state)
{
    char out[256], env_path[300];
    new_path(out, sizeof out, "exec");
    snprintf(env_path, sizeof env_path, "%s.env", out);
    const char *const argv[] = {"sh", "-c", "cat > \"$0\"; env > \"$0.env\"", out, NULL};
    vg_pager_t *p = pager(NULL, 3, 5000);
    struct vg_page pg = exec_page(argv);
    struct outcome o = deliver(p, &pg, 5000);
    assert_true(o.res.ok);
    assert_int_equal(o.res.status, 0);
    assert_string_equal(o.res.detail, "exit status 0");
    char *in = slurp(out), *env = slurp(env_path);
    assert_memory_equal(in, "CRITICAL inc-17: dc1 hall-a inlet 31.2 C above 27 C\n", 52);
    assert_has(in, "\nAcknowledge: https://vigil.example/ack/inc-17?t=signed\n");
    assert_has(env, "VIGIL_INCIDENT=inc-17\n");
    assert_has(env, "VIGIL_SEVERITY=critical\n");
    assert_has(env, "VIGIL_SUMMARY=dc1 hall-a inlet 31.2 C above 27 C\n");
    assert_has(env, "VIGIL_ACK_URL=https://vigil.example/ack/inc-17?t=signed\n");
    assert_has(env, "VIGIL_EVENT=trigger\n");
    assert_has(env, "VIGIL_KEY=inc-17/alice/1\n");
    free(in), free(env);
    vg_pager_free(p);
}

static void test_exec_status_64_to_78_is_permanent_others_retried(void **state)
{
    vg_pager_t *p = pager(NULL, 3, 5000);
    const char *const usage[] = {"sh", "-c", "exit 65", NULL};
    struct vg_page pg = exec_page(usage);
    struct outcome o = deliver(p, &pg, 5000);
    assert_false(o.res.ok);
    assert_true(o.res.permanent);
    assert_int_equal(o.res.attempts, 1);
    assert_int_equal(o.res.status, 65);
    assert_string_equal(o.res.detail, "exit status 65");
    const char *const flaky[] = {"sh", "-c", "exit 1", NULL};
    pg = exec_page(flaky);
    o = deliver(p, &pg, 5000);
    assert_false(o.res.permanent);
    assert_int_equal(o.res.attempts, 3);
    assert_int_equal(o.res.status, 1);
    const char *const missing[] = {"/nonexistent/vigil-sms", NULL};
    pg = exec_page(missing);
    o = deliver(p, &pg, 5000);
    assert_true(o.res.permanent);
    assert_int_equal(o.res.attempts, 1);
    assert_has(o.res.detail, "cannot run '/nonexistent/vigil-sms'");
    vg_pager_free(p);
}

static pid_t pid_in(const char *path)
{
    char *text = NULL;
    for (int i = 0; i < 200 && !(text = slurp(path)); i++)
        usleep(10000);
    assert_non_null(text);
    pid_t pid = (pid_t)atoi(text);
    free(text);
    return pid;
}

/* gone, or a zombie its new parent has not reaped yet */
static int process_gone(pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static void test_exec_past_its_deadline_is_killed_with_its_children(void **state)
{
    char out[256], sleeper[300];
    new_path(out, sizeof out, "deadline");
    snprintf(sleeper, sizeof sleeper, "%s.sleep", out);
    const char *const argv[] = {
        "sh", "-c",
        "sleep 30 & echo $! > \"$0.sleep\"; echo $$ > \"$0\"; wait; touch \"$0.late\"", out,
        NULL};
    vg_pager_t *p = pager(NULL, 1, 300);
    struct vg_page pg = exec_page(argv);
    uint64_t start = vg_mono_ms();
    struct outcome o = deliver(p, &pg, 5000);
    assert_true(vg_mono_ms() - start < 3000);
    assert_false(o.res.ok);
    assert_false(o.res.permanent);
    assert_int_equal(o.res.attempts, 1);
    assert_string_equal(o.res.detail, "killed after the 300 ms deadline");
    pid_t sh = pid_in(out), sleep_pid = pid_in(sleeper);
    assert_int_equal(kill(sh, 0), -1); /* killed and reaped */
    for (int i = 0; i < 100 && !process_gone(sleep_pid); i++)
        usleep(10000);
    assert_true(process_gone(sleep_pid));
    char late[320];
    snprintf(late, sizeof late, "%s.late", out);
    assert_int_equal(access(late, F_OK), -1);
    vg_pager_free(p);
}

/* ---- the queue ---------------------------------------------------------- */

static void test_max_inflight_runs_pages_one_after_another_in_order(void **state)
{
    struct vg_pager_opts opts = {.max_attempts = 1, .timeout_ms = 5000, .max_inflight = 1};
    vg_pager_t *p = NULL;
    assert_int_equal(vg_pager_new(base, &opts, &p, NULL, 0), 0);
    char out[256];
    new_path(out, sizeof out, "order");
    const char *script = "echo start $1 >> \"$0\"; sleep 0.1; echo end $1 >> \"$0\"";
    const char *const argv[3][6] = {{"sh", "-c", script, out, "1"},
                                    {"sh", "-c", script, out, "2"},
                                    {"sh", "-c", script, out, "3"}};
    struct outcome o[3] = {0};
    for (int i = 0; i < 3; i++) {
        struct vg_page pg = exec_page(argv[i]);
        assert_int_equal(vg_pager_send(p, &pg, on_done, &o[i], NULL, 0), 0);
    }
    vg_buf_t m = VG_BUF_INIT;
    vg_pager_metrics(p, &m);
    assert_has((char *)m.data, "vigil_pages_queued 3\n");
    vg_buf_release(&m);
    run_until(&o[2].calls, 1, 5000);
    for (int i = 0; i < 3; i++)
        assert_true(o[i].calls == 1 && o[i].res.ok);
    char *text = slurp(out);
    assert_string_equal(text, "start 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\n");
    free(text);
    vg_pager_free(p);
}

static void test_queue_bound_refuses_with_eagain_and_free_calls_nobody_back(void **state)
{
    vg_pager_t *p = pager(NULL, 3, 5000);
    struct peer nobody = {.port = free_port()};
    char url[64], err[256] = "";
    struct vg_page pg = webhook(&nobody, VG_PAGE_GENERIC, url, sizeof url);
    struct outcome o = {0};
    for (int i = 0; i < 10000; i++)
        assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), 0);
    assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), -EAGAIN);
    assert_has(err, "10000 pages already wait");
    vg_buf_t m = VG_BUF_INIT;
    vg_pager_metrics(p, &m);
    assert_has((char *)m.data, "vigil_pages_queued 10000\n");
    assert_has((char *)m.data,
               "vigil_pages_total{channel=\"webhook\",outcome=\"refused\"} 1\n");
    vg_buf_release(&m);
    vg_pager_free(p);
    assert_int_equal(o.calls, 0);
}

static void test_free_cancels_running_children_and_transfers(void **state)
{
    struct peer rx = http_peer("", "5");
    vg_pager_t *p = pager(NULL, 3, 10000);
    char url[64], out[256];
    struct vg_page hook = webhook(&rx, VG_PAGE_GENERIC, url, sizeof url);
    new_path(out, sizeof out, "cancel");
    const char *const argv[] = {"sh", "-c", "echo $$ > \"$0\"; exec sleep 30", out, NULL};
    struct vg_page run = exec_page(argv);
    struct outcome o = {0};
    assert_int_equal(vg_pager_send(p, &hook, on_done, &o, NULL, 0), 0);
    assert_int_equal(vg_pager_send(p, &run, on_done, &o, NULL, 0), 0);
    for (int i = 0; i < 250 && n_requests(&rx) < 1; i++)
        run_until(&o.calls, 1, 20);
    assert_int_equal(n_requests(&rx), 1); /* the transfer is on the wire */
    pid_t child = pid_in(out);
    assert_int_equal(kill(child, 0), 0);
    vg_pager_free(p);
    assert_int_equal(o.calls, 0);
    assert_int_equal(kill(child, 0), -1); /* killed and reaped */
    peer_stop(&rx);
}

struct freeing {
    vg_pager_t *pager;
    int calls;
};

static void free_in_done(void *arg, const struct vg_page_result *res)
{
    struct freeing *f = arg;
    f->calls++;
    vg_pager_free(f->pager);
}

/* The incidents service may stop the pager from an outcome's callback. */
static void test_done_may_free_the_pager_with_other_pages_running(void **state)
{
    struct freeing f = {pager(NULL, 3, 5000), 0};
    const char *const quick[] = {"sh", "-c", "exit 0", NULL};
    const char *const slow[] = {"sh", "-c", "sleep 5", NULL};
    struct vg_page fast = exec_page(quick), late = exec_page(slow);
    assert_int_equal(vg_pager_send(f.pager, &late, free_in_done, &f, NULL, 0), 0);
    assert_int_equal(vg_pager_send(f.pager, &fast, free_in_done, &f, NULL, 0), 0);
    run_until(&f.calls, 1, 5000);
    assert_int_equal(f.calls, 1);
    int never = 0;
    run_until(&never, 1, 200);
    assert_int_equal(f.calls, 1);
}

static void test_pages_that_cannot_be_sent_are_refused_at_once(void **state)
{
    vg_pager_t *p = pager(NULL, 3, 5000);
    struct outcome o = {0};
    char err[256];
    struct vg_page pg = a_page();
    pg.channel = VG_PAGE_WEBHOOK;
    pg.url = "ftp://127.0.0.1/x";
    assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), -EINVAL);
    assert_has(err, "http:// or https://");
    pg.url = "http://127.0.0.1:1/x";
    pg.format = VG_PAGE_PAGERDUTY;
    assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), -EINVAL);
    assert_has(err, "routing key");
    pg = email("alice@dc1.example");
    assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), -EINVAL);
    assert_has(err, "without an SMTP relay");
    const char *const empty[] = {NULL};
    pg = exec_page(empty);
    assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), -EINVAL);
    pg = a_page();
    pg.key = NULL;
    assert_int_equal(vg_pager_send(p, &pg, on_done, &o, err, sizeof err), -EINVAL);
    run_until(&o.calls, 1, 100);
    assert_int_equal(o.calls, 0);
    vg_pager_free(p);
}

/* ---- bodies ------------------------------------------------------------- */

static void test_invalid_utf8_and_controls_still_give_valid_bodies(void **state)
{
    json_t *labels = json_object();
    json_object_set_new_nocheck(labels, "ra\xffk",
                                json_string_nocheck("r\xfe"
                                                    "12"));
    struct vg_page pg = a_page();
    pg.summary = "inlet \xff\xfe hot \xc3\x28 \x1b[31m\"quoted\"\\";
    pg.site = "dc\xed\xa0\x80";
    pg.details = "line\n\x01\xf4\x90\x80\x80";
    pg.recipient = "\xc0\xaf";
    pg.labels = labels;
    for (int format = VG_PAGE_GENERIC; format <= VG_PAGE_SLACK; format++) {
        vg_buf_t b = VG_BUF_INIT;
        pg.format = (enum vg_page_format)format;
        pg.routing_key = "rk\xff";
        vg_page_body(&pg, &b);
        json_error_t jerr;
        json_t *body = json_loadb((const char *)b.data, b.len, 0, &jerr);
        if (!body)
            fail_msg("format %d: %s: %s", format, jerr.text, (char *)b.data);
        assert_has((char *)b.data, "inlet \\\\xff\\\\xfe hot \\\\xc3(");
        json_decref(body);
        vg_buf_release(&b);
    }
    pg.channel = VG_PAGE_EXEC;
    vg_buf_t text = VG_BUF_INIT;
    vg_page_body(&pg, &text);
    assert_int_equal(vg_utf8_check((char *)text.data, text.len), text.len);
    assert_has((char *)text.data, "Labels:   ra\\xffk=r\\xfe12\n");
    vg_buf_release(&text);
    json_decref(labels);
}

static void test_pagerduty_maps_unknown_severities_and_notices(void **state)
{
    struct vg_page pg = a_page();
    pg.format = VG_PAGE_PAGERDUTY;
    pg.routing_key = "rk";
    pg.severity = "page-me";
    pg.site = NULL;
    pg.event = VG_PAGE_NOTICE;
    pg.dedup = NULL;
    vg_buf_t b = VG_BUF_INIT;
    vg_page_body(&pg, &b);
    json_t *body = json_loads((char *)b.data, 0, NULL);
    assert_string_equal(str_at(body, "event_action"), "trigger");
    assert_string_equal(str_at(body, "dedup_key"), "inc-17/alice/1");
    assert_string_equal(str_at(body, "payload.severity"), "error");
    assert_string_equal(str_at(body, "payload.source"), "vigil");
    json_decref(body);
    vg_buf_release(&b);
}

static const struct CMUnitTest page_tests[] = {
    cmocka_unit_test(test_generic_body_arrives_with_every_field_and_the_key_header),
    cmocka_unit_test(test_pagerduty_body_has_the_events_v2_fields),
    cmocka_unit_test(test_slack_body_has_text_blocks_and_the_ack_link),
    cmocka_unit_test(test_503_and_429_are_retried_with_the_same_key_then_ok),
    cmocka_unit_test(test_503_then_202_reports_ok_after_two_attempts),
    cmocka_unit_test(test_400_is_permanent_after_one_attempt_and_counted),
    cmocka_unit_test(test_connection_refused_is_retried_up_to_max_attempts),
    cmocka_unit_test(test_secrets_never_reach_the_log),
    cmocka_unit_test(test_email_arrives_with_subject_to_and_ack_link),
    cmocka_unit_test(test_summary_cannot_inject_a_mail_header),
    cmocka_unit_test(test_smtp_4xx_is_retried_and_5xx_is_final),
    cmocka_unit_test(test_exec_gets_the_message_on_stdin_and_vigil_variables),
    cmocka_unit_test(test_exec_status_64_to_78_is_permanent_others_retried),
    cmocka_unit_test(test_exec_past_its_deadline_is_killed_with_its_children),
    cmocka_unit_test(test_max_inflight_runs_pages_one_after_another_in_order),
    cmocka_unit_test(test_queue_bound_refuses_with_eagain_and_free_calls_nobody_back),
    cmocka_unit_test(test_free_cancels_running_children_and_transfers),
    cmocka_unit_test(test_done_may_free_the_pager_with_other_pages_running),
    cmocka_unit_test(test_pages_that_cannot_be_sent_are_refused_at_once),
    cmocka_unit_test(test_invalid_utf8_and_controls_still_give_valid_bodies),
    cmocka_unit_test(test_pagerduty_maps_unknown_severities_and_notices),
};

static int setup(void **state)
{
    snprintf(tmp, sizeof tmp, "/tmp/vigil-page.XXXXXX");
    assert_non_null(mkdtemp(tmp));
    base = event_base_new();
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < n_peers && i < 64; i++)
        if (kill(peers[i], SIGKILL) == 0)
            waitpid(peers[i], NULL, 0);
    event_base_free(base);
    char *argv[] = {"rm", "-rf", tmp, NULL};
    waitpid(spawn_argv(argv, -1), NULL, 0);
    return 0;
}

int main(void)
{
    return cmocka_run_group_tests(page_tests, setup, teardown);
}

/*
 * fuzz_http.c - the REST API's router and handlers, driven in process
 * through a real loopback connection to a real member (log, state and
 * every service of vigild in a temporary directory, on tmpfs when there is one).
 *
 * Each input is the raw bytes of a request (request line, headers, body),
 * sent as they are. "@A@" and "@V@" in an input become the admin's and a
 * viewer's tokens, so the fuzzer reaches past authentication. Whatever the
 * bytes, the answer must be an HTTP response whose 4xx/5xx body is a JSON
 * object with an "error" string, and never a 5xx other than 503 (refused)
 * or 507 (disk full): anything else aborts, as a crash would.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/server.h"
#include "core/say.h"
#include "vigild/vigild.h"
#include "member/member.h"

static struct event_base *base;
static vg_server_t *server;
static uint16_t port;
static char admin_token[128], viewer_token[128];

/* Sends bytes, pumps the loop until a whole answer (or a close), returns
 * the answer's bytes in out (at most cap). */
static size_t exchange(const uint8_t *req, size_t len, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    connect(fd, (struct sockaddr *)&sa, sizeof sa);
    size_t sent = 0, got = 0;
    uint64_t deadline = vg_mono_ms() + 300;
    while (vg_mono_ms() < deadline) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (sent < len) {
            ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            if (sent == len) /* an incomplete request then ends at once */
                shutdown(fd, SHUT_WR);
        }
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n == 0)
            break;
        if (n > 0) {
            got += (size_t)n;
            out[got] = '\0';
            const char *end = strstr(out, "\r\n\r\n");
            const char *cl = strcasestr(out, "Content-Length: ");
            if (end && cl && cl < end &&
                got >= (size_t)(end + 4 - out) + strtoul(cl + 16, 0, 10))
                break;
            if (end && !(cl && cl < end)) /* a stream (watch): its head is the answer */
                break;
            if (got == cap - 1)
                break;
        }
    }
    close(fd);
    for (int i = 0; i < 4; i++) /* let the server see the close */
        event_base_loop(base, EVLOOP_NONBLOCK);
    out[got] = '\0';
    return got;
}

static void check_answer(const char *resp, size_t len)
{
    if (len == 0)
        return; /* no answer: the request never completed (e.g. a partial body) */
    int code = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
        abort(); /* not an HTTP response */
    const char *body = strstr(resp, "\r\n\r\n");
    if (code >= 500 && code != 503 && code != 507)
        abort();
    const char *type = strcasestr(resp, "\r\nContent-Type: ");
    if (code >= 400 && body && type && type < body && !strncmp(type + 16, "text/html", 9)) {
        /* the acknowledge links' pages (/ack/...) answer people in HTML */
        if (strncmp(body + 4, "<!doctype html>", 15))
            abort();
    } else if (code >= 400 && body) {
        json_error_t jerr;
        json_t *doc = json_loads(body + 4, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!doc || !json_is_string(json_object_get(doc, "error")))
            abort();
        json_decref(doc);
    }
}

static void make_viewer_token(void)
{
    char req[512], resp[8192];
    int n = snprintf(req, sizeof req,
                     "POST /api/v1/tokens HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: 17\r\n\r\n{\"role\":\"viewer\"}",
                     admin_token);
    exchange((const uint8_t *)req, (size_t)n, resp, sizeof resp);
    const char *body = strstr(resp, "\r\n\r\n");
    json_t *doc = body ? json_loads(body + 4, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(doc, "token"));
    if (!tok)
        abort();
    snprintf(viewer_token, sizeof viewer_token, "%s", tok);
    json_decref(doc);
}

static void read_admin_token(const char *path)
{
    char text[512] = "";
    FILE *f = fopen(path, "r");
    if (!f || !fgets(text, sizeof text, f))
        abort();
    fclose(f);
    json_t *doc = json_loads(text, 0, NULL);
    const char *tok = json_string_value(json_object_get(doc, "admin_token"));
    if (!tok)
        abort();
    snprintf(admin_token, sizeof admin_token, "%s", tok);
    json_decref(doc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    vg_say_set_level(VG_SAY_ERROR);
    char dir[] = "/dev/shm/vigil-fuzz-http.XXXXXX", fallback[] = "/tmp/vigil-fuzz-http.XXXXXX";
    char *root = mkdtemp(dir);
    if (!root)
        root = mkdtemp(fallback);
    char data[256], out[256];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(out, sizeof out, "%s/init.json", root);
    /* vigild init, its JSON answer captured */
    int saved = dup(1), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fflush(stdout);
    dup2(fd, 1);
    char *init_argv[] = {"init", "--data", data, "-o", "json", NULL};
    int rc = vg_cmd_init(5, init_argv);
    fflush(stdout);
    dup2(saved, 1);
    close(fd);
    close(saved);
    if (rc)
        abort();
    read_admin_token(out);

    evthread_use_pthreads();
    base = event_base_new();
    event_base_priority_init(base, VG_MEMBER_PRIORITIES);
    char err[1024];
    vg_member_t *member = NULL;
    vg_services_t *services = NULL;
    struct vg_member_opts mo = {.data_dir = data, .snapshot_every = UINT64_MAX / 2};
    struct vg_server_opts so = {.listen = "127.0.0.1:0", .request_deadline_s = 5};
    if (vg_member_open(&mo, base, &member, err, sizeof err))
        abort();
    struct vg_service_env env = {.base = base, .member = member, .no_collect = 1};
    if (vg_services_start(&env, &services, err, sizeof err))
        abort();
    so.services = vg_services_running(services, &so.n_services);
    if (vg_server_start(base, member, &so, &server, err, sizeof err))
        abort();
    port = vg_server_port(server);
    make_viewer_token();
    return 0;
}

/* The input with @A@ and @V@ replaced by the tokens. */
static uint8_t *with_tokens(const uint8_t *data, size_t size, size_t *len)
{
    uint8_t *out = vg_malloc(size * 40 + 1);
    size_t o = 0;
    for (size_t i = 0; i < size;) {
        if (i + 3 <= size && data[i] == '@' && data[i + 2] == '@' &&
            (data[i + 1] == 'A' || data[i + 1] == 'V')) {
            const char *tok = data[i + 1] == 'A' ? admin_token : viewer_token;
            size_t n = strlen(tok);
            memcpy(out + o, tok, n);
            o += n;
            i += 3;
        } else {
            out[o++] = data[i++];
        }
    }
    *len = o;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    size_t len;
    uint8_t *req = with_tokens(data, size, &len);
    static char resp[1 << 20];
    size_t got = exchange(req, len, resp, sizeof resp);
    check_answer(resp, got);
    free(req);
    return 0;
}

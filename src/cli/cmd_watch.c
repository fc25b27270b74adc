/*
 * cmd_watch.c - `vigil watch [KIND] [--from REV]`: print every change to the
 * objects as it commits, from the server-sent-event stream of
 * GET /api/v1/watch (docs/api.md, "Watch").
 *
 * The stream is parsed incrementally as bytes arrive (lines may be split
 * across reads; CR, LF and CRLF all end a line). When the connection drops,
 * the watch resumes from the last revision it printed, so no change is lost
 * or printed twice; it gives up after a few attempts in a row that get no
 * answer. The revision to resume from is always known: without --from it is
 * taken from GET /api/v1/status before the first connection.
 */
#include "cli/cli.h"

#include <unistd.h>

#include "core/yamljson.h"

enum { OPT_FROM = 256, OPT_LIMIT };

#define IDLE_TIMEOUT_S 45          /* the server sends a keepalive every 15 s */
#define MAX_LINE       (16u << 20) /* longer event lines end the watch */
#define MAX_RETRIES    5
#define MAX_BACKOFF_S  8

static const struct vg_opt watch_opts[] = {
    {OPT_FROM, "from", "REV",
     "start after revision REV: changes since then are printed first (0: all that the "
     "server still holds)"},
    {OPT_LIMIT, "limit", "N", "exit 0 after N changes"},
    {0, NULL, NULL, NULL},
};

struct watch_args {
    int has_from;
    unsigned long long from;
    unsigned long long limit; /* 0: no limit */
};

/* The stream's parser state and what has been printed. */
struct watch {
    struct vg_cli *cli;
    vg_buf_t line;
    vg_buf_t data;
    int after_cr;
    unsigned long long last_rev; /* resume point */
    unsigned long long n_printed;
    unsigned long long limit;
    int got_bytes; /* this connection answered */
    int failed;    /* an exit code when the stream must end badly */
};

static int on_watch_opt(void *ctx, int id, const char *arg)
{
    struct watch_args *a = ctx;
    if (id == OPT_FROM) {
        a->has_from = 1;
        return vg_cli_parse_uint("--from", arg, &a->from);
    }
    int rc = vg_cli_parse_uint("--limit", arg, &a->limit);
    if (rc == 0 && a->limit == 0)
        return vg_cli_usage(&vg_cmd_watch, "--limit must be at least 1");
    return rc;
}

/* ---- printing one change ------------------------------------------------ */

static int print_change(struct watch *w, const json_t *change)
{
    const json_t *obj = json_object_get(change, "object");
    char ref[160];

    switch (w->cli->output) {
    case VG_OUT_JSON:
        if (json_dumpf(change, stdout, JSON_COMPACT) != 0)
            return VG_EXIT_ERROR;
        fputc('\n', stdout);
        break;
    case VG_OUT_YAML: {
        vg_buf_t out = VG_BUF_INIT;
        char err[256];
        int rc = vg_yamljson_emit(change, 1, &out, err, sizeof err);
        if (rc == 0)
            fwrite(out.data, 1, out.len, stdout);
        vg_buf_release(&out);
        if (rc < 0)
            return vg_cli_fail(VG_EXIT_ERROR, "%s", err);
        break;
    }
    case VG_OUT_TABLE:
    case VG_OUT_WIDE:
        vg_cli_object_ref(obj, NULL, NULL, ref, sizeof ref);
        printf("%lld %s %s\n",
               (long long)json_integer_value(json_object_get(change, "revision")),
               vg_cli_str(change, "type", "?"), ref);
        break;
    }
    fflush(stdout);
    return VG_EXIT_OK;
}

/* An event is complete: print it, remember its revision. */
static int dispatch(struct watch *w)
{
    json_t *change = NULL;
    int rc = VG_EXIT_OK;

    if (w->data.len == 0)
        goto out; /* an event with no data carries nothing */
    change = json_loadb((const char *)w->data.data, w->data.len - 1, 0, NULL);
    json_int_t rev = json_integer_value(json_object_get(change, "revision"));
    if (!json_is_object(change) || rev <= 0) {
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server sent a malformed change event");
        goto out;
    }
    if ((unsigned long long)rev <= w->last_rev)
        goto out; /* already printed before a reconnect */
    if ((rc = print_change(w, change)) != 0)
        goto out;
    w->last_rev = (unsigned long long)rev;
    w->n_printed++;
out:
    json_decref(change);
    vg_buf_reset(&w->data);
    return rc;
}

/* One line of the stream (without its end); see the SSE format. */
static int take_line(struct watch *w)
{
    const char *line = (const char *)w->line.data;
    if (w->line.len == 0)
        return dispatch(w);
    if (line[0] == ':')
        return VG_EXIT_OK; /* a comment: the keepalive */
    const char *colon = memchr(line, ':', w->line.len);
    size_t name_len = colon ? (size_t)(colon - line) : w->line.len;
    const char *value = colon ? colon + 1 : line + w->line.len;
    if (*value == ' ')
        value++;
    size_t value_len = w->line.len - (size_t)(value - line);
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        vg_buf_add(&w->data, value, value_len);
        vg_buf_adds(&w->data, "\n");
    } /* event, id, retry: the data carries the type and revision that count */
    return VG_EXIT_OK;
}

static int on_bytes(void *ctx, const char *bytes, size_t len)
{
    struct watch *w = ctx;
    w->got_bytes = 1;
    for (size_t i = 0; i < len; i++) {
        char c = bytes[i];
        int ends_line = c == '\r' || (c == '\n' && !w->after_cr);
        w->after_cr = c == '\r';
        if (c == '\n' && !ends_line)
            continue; /* the LF of a CRLF */
        if (!ends_line) {
            if (w->line.len >= MAX_LINE) {
                w->failed = vg_cli_fail(VG_EXIT_ERROR, "an event line is longer than %u bytes",
                                        MAX_LINE);
                return -1;
            }
            vg_buf_add(&w->line, &c, 1);
            continue;
        }
        int rc = take_line(w);
        vg_buf_reset(&w->line);
        if (rc) {
            w->failed = rc;
            return -1;
        }
        if (w->limit && w->n_printed >= w->limit)
            return -1; /* done: ends the stream */
    }
    return 0;
}

/* ---- the connection loop ------------------------------------------------ */

/* The revision the server is at, so that a watch without --from can resume
 * exactly after a reconnect. */
static int current_revision(struct vg_cli *cli, unsigned long long *rev)
{
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_call(cli, "cannot read the server's revision", "GET", "/api/v1/status",
                         NULL, NULL, &resp);
    json_t *index = json_object_get(resp.json, "commit_index");
    if (rc == 0 && !json_is_integer(index))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's status has no commit_index");
    if (rc == 0)
        *rev = (unsigned long long)json_integer_value(index);
    vg_resp_release(&resp);
    return rc;
}

/* What one connection came to, besides an exit code. */
enum { STREAM_ENDED = -2, STREAM_NO_ANSWER = -3 };

/* One connection. Returns 0 when the limit was reached, an exit code when the
 * watch must end (message printed), STREAM_ENDED when the server closed the
 * stream or it broke after data came, STREAM_NO_ANSWER when the request got
 * no answer at all (err says why). */
static int stream_once(struct watch *w, vg_client_t *client, const char *kind, char *err,
                       size_t errlen)
{
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_t path = VG_BUF_INIT;
    int rc;

    vg_buf_printf(&path, "/api/v1/watch?from=%llu", w->last_rev);
    if (kind) {
        vg_buf_adds(&path, "&kind=");
        vg_client_escape(&path, kind);
    }
    w->got_bytes = 0;
    w->after_cr = 0;
    vg_buf_reset(&w->line);
    vg_buf_reset(&w->data);
    rc = vg_client_stream(client, (const char *)path.data, IDLE_TIMEOUT_S, on_bytes, w, &resp,
                          err, errlen);
    if (w->failed)
        rc = w->failed;
    else if (w->limit && w->n_printed >= w->limit)
        rc = VG_EXIT_OK;
    else if (rc < 0)
        rc = w->got_bytes ? STREAM_ENDED : STREAM_NO_ANSWER;
    else if (resp.status == 200)
        rc = STREAM_ENDED;
    else
        rc = vg_cli_fail_resp(w->cli, "cannot watch", &resp);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

static int watch_loop(struct watch *w, const char *kind)
{
    vg_client_t *client;
    char err[2048];
    int attempts = 0; /* reconnections in a row that got nothing */
    int rc = vg_cli_client(w->cli, &client);

    if (rc)
        return rc;
    for (int n_connections = 0;; n_connections++) {
        rc = stream_once(w, client, kind, err, sizeof err);
        if (rc != STREAM_ENDED && rc != STREAM_NO_ANSWER)
            return rc;
        attempts = w->got_bytes ? 0 : attempts + 1;
        if (rc == STREAM_NO_ANSWER && (n_connections == 0 || attempts > MAX_RETRIES))
            return vg_cli_fail(VG_EXIT_UNREACHABLE, "%s", err);
        if (attempts > MAX_RETRIES)
            return vg_cli_fail(VG_EXIT_ERROR, "the watch stream keeps ending without data");
        unsigned delay = 1u << (attempts < 3 ? attempts : 3);
        if (delay > MAX_BACKOFF_S)
            delay = MAX_BACKOFF_S;
        fprintf(stderr, "vigil: watch stream ended; resuming after revision %llu in %us\n",
                w->last_rev, delay);
        sleep(delay);
    }
}

static int run_watch(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct watch_args args = {0};
    struct watch w = {.cli = cli};
    char kind[64];
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_watch_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first > 1)
        return vg_cli_usage(cmd, "too many arguments");
    if (first < argc && (rc = vg_cli_kind(cli, argv[first], kind, sizeof kind)) != 0)
        return rc;
    if (!args.has_from && (rc = current_revision(cli, &args.from)) != 0)
        return rc;
    w.last_rev = args.from;
    w.limit = args.limit;
    rc = watch_loop(&w, first < argc ? kind : NULL);
    vg_buf_release(&w.line);
    vg_buf_release(&w.data);
    return rc;
}

const struct vg_cmd vg_cmd_watch = {
    .name = "watch",
    .run = run_watch,
    .usage = "[KIND] [--from REV] [--limit N] [-o json|yaml]",
    .summary = "print changes to objects as they happen",
    .help = "Prints one line per change, 'REVISION put|delete KIND/NAME', as changes commit; "
            "with KIND, only changes to that kind. --from REV first prints the changes after "
            "revision REV (the 'revision' of 'vigil get KIND -o json' gives a consistent "
            "starting point). -o json prints each change as one line of JSON "
            "({\"type\", \"revision\", \"object\"}), -o yaml as one document. If the "
            "connection drops, the watch resumes where it stopped. Exits 3 if REV is older "
            "than the server keeps (list again and watch from the list's revision).",
    .opts = watch_opts,
};

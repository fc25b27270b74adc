/*
 * cmd_push.c - `vigil push`: sends readings in InfluxDB line protocol from a
 * file or standard input to POST /api/v1/write, in batches.
 *
 * Input of any size is streamed: at most PUSH_BATCH_LINES lines (and
 * PUSH_BATCH_BYTES, under the server's 1 MiB body limit) are held at once,
 * split at line boundaries, sent, and forgotten. The server takes a batch
 * whole or not at all (a malformed line rejects the batch, "nothing was
 * stored"), so on such an error the batches before it are stored and the
 * lines from that batch on are not: the message says which, and names the
 * bad line by its number in the input, not in the batch.
 *
 * Batches go through the shared client as text (vg_cli_send_text), so they
 * follow its rules: no redirects, the token only in the Authorization
 * header and wiped, and a write moves on to the next server only when the
 * previous one never saw it or refused it as a mirror.
 */
#include "cli/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include "cli/cluster_view.h"

enum { OPT_PRECISION = 256 };

#define PUSH_BATCH_LINES 5000
#define PUSH_BATCH_BYTES (1000u * 1000u)
#define PROGRESS_WIDTH   30

struct push_args {
    const char *file; /* NULL or "-": standard input */
    const char *precision;
};

/* The state of one run: where the input is, what was sent, the totals. */
struct push {
    struct vg_cli *cli;
    const char *input_name; /* for messages: the file, or "stdin" */
    const char *path;       /* /api/v1/write[?precision=...] */
    vg_buf_t batch;
    size_t batch_lines;
    unsigned long long batch_first_line; /* number of the batch's first line in the input */
    unsigned long long next_line;        /* number of the next line read */
    unsigned long long sent_bytes, total_bytes; /* total 0: not known (a pipe) */
    unsigned long long accepted, rejected;
    size_t n_batches;
    json_t *errors; /* the servers' per-reading errors, lines renumbered */
    int progress;   /* a progress bar is shown on stderr */
    const char *precision; /* the unit given, "ns" when none */
    int time_checked;      /* the first timestamp was compared with the clock */
};

/* Units per second of each --precision. */
static const struct {
    const char *name;
    double per_s;
} units[] = {{"s", 1}, {"ms", 1e3}, {"us", 1e6}, {"ns", 1e9}};

/* The first timestamp of the input, read in the unit given, lands more
 * than a factor 1,000 away from now: almost surely the wrong unit (seconds
 * sent as nanoseconds land in 1970). Says so once, with the unit that fits;
 * the server stores what it is sent. */
static void check_time_unit(struct push *p, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    size_t start = len;
    while (start && line[start - 1] >= '0' && line[start - 1] <= '9')
        start--;
    if (start == len || !start || (line[start - 1] != ' ' && line[start - 1] != '\t') ||
        line[0] == '#')
        return; /* no timestamp on this line */
    p->time_checked = 1;
    double ts = strtod(line + start, NULL), now = (double)time(NULL), per_s = 1e9;
    for (size_t i = 0; i < VG_ARRAY_LEN(units); i++)
        if (!strcmp(units[i].name, p->precision))
            per_s = units[i].per_s;
    double ratio = ts / (now * per_s);
    if (ratio > 1e-3 && ratio < 1e3)
        return;
    const char *fits = NULL;
    for (size_t i = 0; i < VG_ARRAY_LEN(units); i++) {
        double r = ts / (now * units[i].per_s);
        if (r > 0.5 && r < 2)
            fits = units[i].name;
    }
    fprintf(stderr,
            "vigil: %s: line %llu: timestamp %.*s read as %s is %s now by a factor of more than "
            "1,000%s%s%s\n",
            p->input_name, p->next_line, (int)(len - start), line + start, p->precision,
            ratio < 1 ? "before" : "after", fits ? "; it looks like " : "",
            fits ? fits : "", fits ? ": give --precision to say so" : "");
}

static const struct vg_opt push_opts[] = {
    {'f', "file", "FILE", "read line protocol from FILE, or '-' for standard input (default)"},
    {OPT_PRECISION, "precision", "UNIT", "unit of the timestamps: ns (default), us, ms or s"},
    {0, NULL, NULL, NULL},
};

static int on_push_opt(void *ctx, int id, const char *arg)
{
    struct push_args *a = ctx;
    if (id == 'f') {
        a->file = arg;
        return VG_EXIT_OK;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(units); i++)
        if (strcmp(arg, units[i].name) == 0) {
            a->precision = arg;
            return VG_EXIT_OK;
        }
    return vg_cli_usage(NULL, "unknown precision '%s' (ns, us, ms or s)", arg);
}

/* ---- messages ---------------------------------------------------------- */

/*
 * Appends text (from the server: control characters as '?'), with a leading
 * "line N: " renumbered from the batch to the input, whose first line in the
 * batch is number first.
 */
static void add_renumbered(vg_buf_t *out, const char *text, unsigned long long first)
{
    unsigned long long line;
    int used = 0;
    if (sscanf(text, "line %llu: %n", &line, &used) == 1 && used > 0 && line > 0) {
        vg_buf_printf(out, "line %llu: ", line + first - 1);
        text += used;
    }
    for (const char *p = text; *p; p++)
        vg_buf_add(out, (unsigned char)*p < 0x20 || *p == 0x7f ? "?" : p, 1);
}

static void clear_progress(struct push *p)
{
    if (p->progress)
        fputs("\r\033[K", stderr);
}

static void show_progress(struct push *p)
{
    if (!p->progress)
        return;
    vg_buf_t bar = VG_BUF_INIT;
    if (p->total_bytes)
        vg_cluster_view_progress(&bar, (long long)p->sent_bytes, (long long)p->total_bytes,
                                 VG_PROGRESS_BYTES, PROGRESS_WIDTH);
    vg_buf_printf(&bar, "%s%llu lines sent", bar.len ? "  " : "", p->next_line - 1);
    fprintf(stderr, "\r\033[K%s", (const char *)bar.data);
    fflush(stderr);
    vg_buf_release(&bar);
}

/* What is stored after a batch failed: the lines before it. */
static void tell_stored(const struct push *p)
{
    if (p->batch_first_line > 1)
        fprintf(stderr,
                "vigil: lines 1-%llu of %s were sent (accepted %llu, rejected %llu); nothing "
                "from line %llu on was stored\n",
                p->batch_first_line - 1, p->input_name, p->accepted, p->rejected,
                p->batch_first_line);
    else
        fprintf(stderr, "vigil: nothing was stored\n");
}

/* A batch refused as a whole: the server's reason, naming the input's line. */
static int batch_refused(struct push *p, const struct vg_resp *resp)
{
    const char *error = vg_cli_str(resp->json, "error", NULL);
    clear_progress(p);
    if (!error || (resp->status != 400 && resp->status != 413)) {
        vg_buf_t what = VG_BUF_INIT;
        vg_buf_printf(&what, "cannot push lines %llu-%llu of %s", p->batch_first_line,
                      p->next_line - 1, p->input_name);
        int rc = vg_cli_fail_resp(p->cli, (const char *)what.data, resp);
        vg_buf_release(&what);
        tell_stored(p);
        return rc;
    }
    vg_buf_t msg = VG_BUF_INIT;
    add_renumbered(&msg, error, p->batch_first_line);
    fprintf(stderr, "vigil: %s: %s\n", p->input_name, (const char *)msg.data);
    vg_buf_release(&msg);
    tell_stored(p);
    return vg_cli_exit_for_status(resp->status);
}

/* Adds up a 200 answer and keeps its errors, renumbered. */
static int batch_taken(struct push *p, const struct vg_resp *resp)
{
    const json_t *accepted = json_object_get(resp->json, "accepted");
    const json_t *rejected = json_object_get(resp->json, "rejected");
    size_t i;
    json_t *error;

    if (!json_is_integer(accepted) || !json_is_integer(rejected)) {
        clear_progress(p);
        tell_stored(p);
        return vg_cli_fail(VG_EXIT_ERROR, "the server's answer to lines %llu-%llu is malformed",
                           p->batch_first_line, p->next_line - 1);
    }
    p->accepted += (unsigned long long)json_integer_value(accepted);
    p->rejected += (unsigned long long)json_integer_value(rejected);
    json_array_foreach(json_object_get(resp->json, "errors"), i, error)
    {
        vg_buf_t msg = VG_BUF_INIT;
        add_renumbered(&msg, json_is_string(error) ? json_string_value(error) : "?",
                       p->batch_first_line);
        json_array_append_new(p->errors, json_string((const char *)msg.data));
        vg_buf_release(&msg);
    }
    return VG_EXIT_OK;
}

/* ---- batches ----------------------------------------------------------- */

static int send_batch(struct push *p)
{
    if (p->batch.len == 0)
        return VG_EXIT_OK;
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_send_text(p->cli, "POST", p->path, "text/plain; charset=utf-8",
                              (const char *)p->batch.data, p->batch.len, &resp);
    if (rc == 0 && (resp.status < 200 || resp.status >= 300))
        rc = batch_refused(p, &resp);
    else if (rc == 0)
        rc = batch_taken(p, &resp);
    else
        tell_stored(p);
    vg_resp_release(&resp);
    if (rc)
        return rc;
    p->n_batches++;
    p->sent_bytes += p->batch.len;
    vg_buf_reset(&p->batch);
    p->batch_lines = 0;
    p->batch_first_line = p->next_line;
    show_progress(p);
    return VG_EXIT_OK;
}

/* Reads in, sending each batch when full; 0 or an exit code (printed). */
static int push_stream(struct push *p, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = VG_EXIT_OK;

    while (rc == 0 && (len = getline(&line, &cap, in)) > 0) {
        if (p->batch_lines == PUSH_BATCH_LINES ||
            (p->batch_lines && p->batch.len + (size_t)len > PUSH_BATCH_BYTES)) {
            p->progress = p->progress || isatty(STDERR_FILENO);
            rc = send_batch(p);
        }
        if (!p->time_checked)
            check_time_unit(p, line, (size_t)len);
        vg_buf_add(&p->batch, line, (size_t)len);
        p->batch_lines++;
        p->next_line++;
    }
    if (rc == 0 && ferror(in))
        rc = vg_cli_fail(VG_EXIT_ERROR, "cannot read '%s': %s", p->input_name, strerror(errno));
    if (rc == 0)
        rc = send_batch(p);
    clear_progress(p);
    free(line);
    return rc;
}

static int print_totals(const struct push *p)
{
    size_t i;
    json_t *error;

    json_array_foreach(p->errors, i, error)
    {
        fprintf(stderr, "vigil: %s: %s\n", p->input_name, json_string_value(error));
    }
    if (p->cli->output == VG_OUT_JSON || p->cli->output == VG_OUT_YAML) {
        json_t *answer =
            json_pack("{s:I,s:I,s:O,s:I,s:I}", "accepted", (json_int_t)p->accepted, "rejected",
                      (json_int_t)p->rejected, "errors", p->errors, "lines",
                      (json_int_t)(p->next_line - 1), "batches", (json_int_t)p->n_batches);
        int rc = vg_cli_print_value(p->cli, answer);
        json_decref(answer);
        return rc ? rc : p->rejected ? VG_EXIT_INVALID : VG_EXIT_OK;
    }
    printf("accepted %llu, rejected %llu (%llu lines in %zu batch%s)\n", p->accepted,
           p->rejected, p->next_line - 1, p->n_batches, p->n_batches == 1 ? "" : "es");
    /* a script must see that readings were lost */
    return p->rejected ? VG_EXIT_INVALID : VG_EXIT_OK;
}

static int run_push(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct push_args args = {0};
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_push_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "give the input with -f FILE (or no -f for standard input)");

    int use_stdin = !args.file || strcmp(args.file, "-") == 0;
    FILE *in = use_stdin ? stdin : fopen(args.file, "r");
    if (!in)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot open '%s': %s", args.file, strerror(errno));
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_adds(&path, "/api/v1/write");
    if (args.precision)
        vg_buf_printf(&path, "?precision=%s", args.precision);
    struct push p = {.cli = cli,
                     .input_name = use_stdin ? "stdin" : args.file,
                     .path = (const char *)path.data,
                     .batch_first_line = 1,
                     .next_line = 1,
                     .precision = args.precision ? args.precision : "ns",
                     .errors = json_array()};
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        p.total_bytes = (unsigned long long)st.st_size;

    rc = push_stream(&p, in);
    if (rc == 0)
        rc = print_totals(&p);
    if (!use_stdin)
        fclose(in);
    json_decref(p.errors);
    vg_buf_release(&p.batch);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_push = {
    .name = "push",
    .run = run_push,
    .usage = "[-f FILE|-] [--precision ns|us|ms|s] [options]",
    .summary = "send readings in InfluxDB line protocol",
    .help = "Sends readings in InfluxDB line protocol (one reading per numeric field; see "
            "vigil(1)) from FILE or standard input to the server, in batches of at most 5000 "
            "lines split at line boundaries, and prints the totals: 'accepted N, rejected M "
            "(L lines in B batches)'. Readings the server refused (an undeclared sensor, a "
            "value out of range) are counted as rejected, with the server's reasons on stderr, "
            "and vigil exits 7 after the totals. --precision gives the unit of the timestamps "
            "(default ns); lines without one take the server's time. When the first timestamp "
            "is more than a factor 1,000 away from now in that unit, vigil says which unit "
            "fits. A malformed line makes the server refuse its whole "
            "batch: vigil stops, names the line by its number in FILE, says which lines "
            "were stored before it, and exits 7. At a terminal, a progress bar on stderr "
            "shows input larger than one batch. -o json prints {\"accepted\", \"rejected\", "
            "\"errors\", \"lines\", \"batches\"}, the servers' answers added up.",
    .opts = push_opts,
};

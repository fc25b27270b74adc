/*
 * cmd_series.c - `vigil series SENSOR`: a sensor's readings over a time
 * range (GET /api/v1/series), drawn as a sparkline for a person, or the
 * server's answer as it is with -o json or yaml.
 *
 * --from, --to and --step are handed to the server as typed: it owns their
 * syntax (ms since the epoch, now, -30m, -1h, -7d; raw, 10s, 1m, 1h or ms)
 * and names the field at fault when one is wrong (exit 7).
 */
#include "cli/cli.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/sparkline.h"

enum { OPT_FROM = 256, OPT_TO, OPT_STEP };

#define SERIES_PATH     "/api/v1/series"
#define PIPE_WIDTH      60 /* the sparkline's width when stdout is not a terminal */
#define MAX_SPARK_WIDTH 1000

struct series_args {
    const char *from, *to, *step;
};

static const struct vg_opt series_opts[] = {
    {OPT_FROM, "from", "TIME",
     "start of the range: ms since the epoch, now, or relative like -30m, -1h, -7d "
     "(default -1h)"},
    {OPT_TO, "to", "TIME", "end of the range, in the same forms (default now)"},
    {OPT_STEP, "step", "STEP",
     "raw readings, or buckets of 10s, 1m, 1h or a number of ms (default: raw for up to 6 "
     "hours, else about 500 buckets)"},
    {0, NULL, NULL, NULL},
};

static int on_series_opt(void *ctx, int id, const char *arg)
{
    struct series_args *a = ctx;
    if (id == OPT_FROM)
        a->from = arg;
    else if (id == OPT_TO)
        a->to = arg;
    else
        a->step = arg;
    return VG_EXIT_OK;
}

/* The terminal's width, or PIPE_WIDTH when stdout is not a terminal. */
static size_t spark_width(void)
{
    struct winsize ws;
    if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
        return PIPE_WIDTH;
    return ws.ws_col > MAX_SPARK_WIDTH ? MAX_SPARK_WIDTH : ws.ws_col;
}

static void add_query(vg_buf_t *path, const char *key, const char *value)
{
    if (!value)
        return;
    vg_buf_printf(path, "&%s=", key);
    vg_client_escape(path, value);
}

static void add_number_cell(vg_buf_t *cell, const json_t *v)
{
    vg_buf_reset(cell);
    if (json_is_integer(v))
        vg_buf_printf(cell, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        vg_buf_printf(cell, "%.6g", json_number_value(v));
    else
        vg_buf_adds(cell, "-");
}

/* -o wide: the rows under the sparkline, times in UTC. */
static void print_rows(const json_t *answer)
{
    static const char *const raw_headers[] = {"TIME", "VALUE"};
    static const char *const bucket_headers[] = {"TIME", "MIN", "MAX", "AVG", "COUNT"};
    const char *columns = vg_cli_str(answer, "columns", "time,value");
    int aggregated = strcmp(columns, "time,value") != 0;
    size_t n_cols = aggregated ? 5 : 2;
    struct vg_table *t = vg_table_new(n_cols, aggregated ? bucket_headers : raw_headers);
    vg_buf_t cells[5] = {VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT};
    size_t i;
    json_t *point;

    json_array_foreach(json_object_get(answer, "points"), i, point)
    {
        char at[32];
        const char *row[5];
        vg_sparkline_time((int64_t)json_number_value(json_array_get(point, 0)), at, sizeof at);
        row[0] = at;
        for (size_t c = 1; c < n_cols; c++) {
            add_number_cell(&cells[c], json_array_get(point, c));
            row[c] = (const char *)cells[c].data;
        }
        vg_table_add(t, row);
    }
    fputc('\n', stdout);
    vg_table_print(t, stdout);
    vg_table_free(t);
    for (size_t c = 0; c < 5; c++)
        vg_buf_release(&cells[c]);
}

static int print_series(const struct vg_cli *cli, const json_t *answer)
{
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, answer);
    if (!json_is_array(json_object_get(answer, "points")))
        return vg_cli_fail(VG_EXIT_ERROR, "the server's series has no list of points");
    vg_buf_t text = VG_BUF_INIT;
    vg_sparkline_series(&text, answer, spark_width());
    fwrite(text.data, 1, text.len, stdout);
    vg_buf_release(&text);
    if (cli->output == VG_OUT_WIDE)
        print_rows(answer);
    return VG_EXIT_OK;
}

static int run_series(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct series_args args = {0};
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_series_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 1)
        return vg_cli_usage(cmd, "give one SENSOR (see 'vigil sensors')");

    vg_buf_t path = VG_BUF_INIT;
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_adds(&path, SERIES_PATH "?sensor=");
    vg_client_escape(&path, argv[first]);
    add_query(&path, "from", args.from);
    add_query(&path, "to", args.to);
    add_query(&path, "step", args.step);
    rc = vg_cli_call(cli, "cannot read the series", "GET", (const char *)path.data, NULL, NULL,
                     &resp);
    if (rc == 0 && !json_is_object(resp.json))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's answer is not a JSON object");
    if (rc == 0)
        rc = print_series(cli, resp.json);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_series = {
    .name = "series",
    .run = run_series,
    .usage = "SENSOR [--from TIME] [--to TIME] [--step STEP] [options]",
    .summary = "show a sensor's readings over time, as a sparkline",
    .help = "Shows the readings of SENSOR from --from to --to (default: the last hour). The "
            "table format prints a header line (sensor, range in UTC, step, number of points "
            "or buckets), a sparkline of the values (the bucket averages when the series is "
            "aggregated) as wide as the terminal, or 60 characters when the output is not a "
            "terminal, with time without readings left blank, then the min, max, avg and last "
            "values and the count of readings. -o wide also prints the rows: TIME and VALUE, "
            "or TIME, MIN, MAX, AVG and COUNT per bucket. -o json prints the server's answer "
            "({\"sensor\", \"from\", \"to\", \"step\", \"columns\", \"points\"}, times in ms). "
            "An undeclared SENSOR exits 3; a TIME or STEP the server cannot read exits 7.",
    .opts = series_opts,
};

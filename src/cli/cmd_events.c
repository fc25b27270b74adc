/*
 * cmd_events.c - `vigil events`: the cluster's history of failovers,
 * switchovers, degrades, restores and witness reachability
 * (GET /api/v1/events). Events are log records, so every member lists the
 * same ones; the newest come last, like a log.
 *
 * --severity is applied here, not by the server (the API has no such
 * filter), so with it the server is asked for all it holds and --limit
 * counts the events kept.
 */
#include "cli/cli.h"

#include <unistd.h>

#include "cli/cluster_view.h"

enum { OPT_LIMIT = 256, OPT_SEVERITY };

#define EVENTS_PATH "/api/v1/events"

struct events_args {
    unsigned long long limit; /* 0: the server's default */
    int min_severity;         /* -1: every event */
};

static const struct vg_opt events_opts[] = {
    {OPT_LIMIT, "limit", "N", "show the newest N events"},
    {OPT_SEVERITY, "severity", "LEVEL",
     "only events of LEVEL or worse: info, warning or critical"},
    {0, NULL, NULL, NULL},
};

static int on_events_opt(void *ctx, int id, const char *arg)
{
    struct events_args *a = ctx;
    if (id == OPT_SEVERITY) {
        a->min_severity = vg_cluster_view_severity(arg);
        if (a->min_severity < 0)
            return vg_cli_usage(NULL, "unknown severity '%s' (info, warning or critical)", arg);
        return VG_EXIT_OK;
    }
    int rc = vg_cli_parse_uint("--limit", arg, &a->limit);
    if (rc == 0 && a->limit == 0)
        return vg_cli_usage(NULL, "--limit must be at least 1");
    return rc;
}

/* Colour only for a person at a terminal that wants it (no-color.org). */
static int want_colour(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

static int print_events(const struct vg_cli *cli, const json_t *answer, const json_t *items,
                        int filtered)
{
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML) {
        if (!filtered)
            return vg_cli_print_value(cli, answer);
        json_t *kept = json_pack("{s:O}", "items", items);
        int rc = vg_cli_print_value(cli, kept);
        json_decref(kept);
        return rc;
    }
    if (json_array_size(items) == 0) {
        fprintf(stderr, "vigil: no events%s\n", filtered ? " of that severity" : "");
        return VG_EXIT_OK;
    }
    vg_buf_t text = VG_BUF_INIT;
    vg_cluster_view_events(&text, items, cli->output == VG_OUT_WIDE, want_colour());
    fwrite(text.data, 1, text.len, stdout);
    vg_buf_release(&text);
    return VG_EXIT_OK;
}

static int run_events(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct events_args args = {.min_severity = -1};
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_t path = VG_BUF_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_events_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "events takes no arguments");

    int filtered = args.min_severity >= 0;
    vg_buf_adds(&path, EVENTS_PATH);
    if (args.limit && !filtered)
        vg_buf_printf(&path, "?limit=%llu", args.limit);
    rc = vg_cli_call(cli, "cannot list the events", "GET", (const char *)path.data, NULL, NULL,
                     &resp);
    const json_t *items = json_object_get(resp.json, "items");
    if (rc == 0 && !json_is_array(items))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's list of events is malformed");
    if (rc == 0) {
        json_t *kept = vg_cluster_view_filter_events(items, args.min_severity, args.limit);
        rc = print_events(cli, resp.json, kept, filtered);
        json_decref(kept);
    }
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_events = {
    .name = "events",
    .run = run_events,
    .usage = "[--limit N] [--severity LEVEL] [options]",
    .summary = "show the cluster's events: failovers, switchovers, degrades",
    .help = "Shows the cluster's events, oldest first: failovers, switchovers, degrades and "
            "restores of the sync set, the witness becoming unreachable or reachable again, "
            "forced failovers and the first start. Columns TIME (UTC), SEVERITY (info, "
            "warning, critical; in colour at a terminal unless NO_COLOR is set), KIND, "
            "MEMBER, EPOCH and MESSAGE; -o wide adds the log INDEX. Events are records of "
            "the replicated log, so every member lists the same ones. --severity warning "
            "shows warnings and critical events; --limit N the newest N of those shown. "
            "-o json prints the server's answer ({\"items\": [...]}, only the events kept "
            "when --severity is given).",
    .opts = events_opts,
};

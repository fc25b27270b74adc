/*
 * cmd_oncall.c - `vigil oncall now` and `vigil oncall show`: who is on call
 * (GET /api/v1/oncall) and the shifts of a schedule over a range
 * (GET /api/v1/oncall/shifts) as a table a person reads at a glance.
 */
#include "cli/cli.h"

#include <curl/curl.h>
#include <time.h>

enum { OPT_SCHEDULE = 256, OPT_FROM, OPT_TO, OPT_AT };

struct oncall_args {
    const char *schedule, *from, *to, *at;
};

static const struct vg_opt now_opts[] = {
    {OPT_SCHEDULE, "schedule", "NAME", "only this schedule"},
    {OPT_AT, "at", "TIME", "who is on call at TIME instead of now (UTC, see 'oncall show')"},
    {0, NULL, NULL, NULL},
};

static const struct vg_opt show_opts[] = {
    {OPT_SCHEDULE, "schedule", "NAME", "only this schedule"},
    {OPT_FROM, "from", "TIME", "from TIME (default now)"},
    {OPT_TO, "to", "TIME", "until TIME (default 7 days after --from)"},
    {0, NULL, NULL, NULL},
};

static int on_opt(void *ctx, int id, const char *arg)
{
    struct oncall_args *a = ctx;
    if (id == OPT_SCHEDULE)
        a->schedule = arg;
    else if (id == OPT_FROM)
        a->from = arg;
    else if (id == OPT_TO)
        a->to = arg;
    else
        a->at = arg;
    return 0;
}

/* "2026-12-24", "2026-12-24T18:00", "2026-12-24T18:00:00Z" (UTC) or "+3d",
 * "+12h" from now, into ms since the epoch; -1 if unreadable. */
static long long parse_time(const char *s)
{
    char unit = 0, rest = 0;
    long long n;
    if (s[0] == '+' && sscanf(s + 1, "%lld%c%c", &n, &unit, &rest) == 2 && n >= 0 &&
        n < 100000 && (unit == 'd' || unit == 'h'))
        return ((long long)time(NULL) + n * (unit == 'd' ? 86400 : 3600)) * 1000;
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (end && *end == 'T')
        end = strptime(end + 1, "%H:%M", &tm);
    if (end && *end == ':')
        end = strptime(end + 1, "%S", &tm);
    if (end && *end == 'Z')
        end++;
    if (!end || *end)
        return -1;
    return (long long)timegm(&tm) * 1000;
}

static void utc(long long ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%a %Y-%m-%d %H:%M", &tm);
}

static int run_now(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct oncall_args a = {0};
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "oncall now takes no arguments");
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_adds(&path, "/api/v1/oncall");
    char sep = '?';
    if (a.schedule) {
        char *esc = curl_easy_escape(NULL, a.schedule, 0);
        vg_buf_printf(&path, "?schedule=%s", esc ? esc : "");
        curl_free(esc);
        sep = '&';
    }
    if (a.at) {
        long long at = parse_time(a.at);
        if (at < 0) {
            vg_buf_release(&path);
            return vg_cli_usage(cmd, "--at: '%s' is not a time (2026-12-24T18:00 or +2d)", a.at);
        }
        vg_buf_printf(&path, "%cat=%lld", sep, at);
    }
    struct vg_resp resp = VG_RESP_INIT;
    rc = vg_cli_call(cli, "cannot ask who is on call", "GET", (const char *)path.data, NULL,
                     NULL, &resp);
    vg_buf_release(&path);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0) {
        const json_t *items = json_object_get(resp.json, "items");
        static const char *const head[] = {"SCHEDULE", "ON CALL", "LAYER", "UNTIL (UTC)"};
        struct vg_table *t = vg_table_new(4, head);
        size_t i;
        json_t *s;
        json_array_foreach(items, i, s)
        {
            char until[40];
            utc(json_integer_value(json_object_get(s, "end")), until, sizeof until);
            const char *cells[] = {vg_cli_str(s, "schedule", "?"),
                                   vg_cli_str(s, "person", "(nobody)"),
                                   vg_cli_str(s, "layer", "-"), until};
            vg_table_add(t, cells);
        }
        if (json_array_size(items))
            vg_table_print(t, stdout);
        else
            fprintf(stderr, "vigil: no schedules\n");
        vg_table_free(t);
    }
    vg_resp_release(&resp);
    return rc;
}

static int show_one(struct vg_cli *cli, const char *schedule, long long from, long long to,
                    struct vg_table *t, json_t *all)
{
    char path[512];
    char *esc = curl_easy_escape(NULL, schedule, 0);
    snprintf(path, sizeof path, "/api/v1/oncall/shifts?schedule=%s&from=%lld&to=%lld",
             esc ? esc : "", from, to);
    curl_free(esc);
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_call(cli, "cannot read the schedule", "GET", path, NULL, NULL, &resp);
    size_t i;
    json_t *s;
    json_array_foreach(rc ? NULL : json_object_get(resp.json, "items"), i, s)
    {
        char start[40], end[40];
        utc(json_integer_value(json_object_get(s, "start")), start, sizeof start);
        utc(json_integer_value(json_object_get(s, "end")), end, sizeof end);
        const char *cells[] = {schedule, start, end, vg_cli_str(s, "person", "(nobody)"),
                               vg_cli_str(s, "layer", "-")};
        vg_table_add(t, cells);
        json_array_append(all, s);
    }
    vg_resp_release(&resp);
    return rc;
}

static int run_show(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct oncall_args a = {0};
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "oncall show takes no arguments");
    long long from = a.from ? parse_time(a.from) : (long long)time(NULL) * 1000;
    long long to = a.to ? parse_time(a.to) : from + 7 * 86400000LL;
    if (from < 0 || to < 0)
        return vg_cli_usage(cmd, "'%s' is not a time (2026-12-24, 2026-12-24T18:00 or +2d)",
                            from < 0 ? a.from : a.to);
    json_t *names = json_array();
    if (a.schedule)
        json_array_append_new(names, json_string(a.schedule));
    else {
        struct vg_resp resp = VG_RESP_INIT;
        rc = vg_cli_call(cli, "cannot list the schedules", "GET", "/api/v1/objects/Schedule",
                         NULL, NULL, &resp);
        size_t i;
        json_t *o;
        json_array_foreach(rc ? NULL : json_object_get(resp.json, "items"), i, o)
            json_array_append(names, json_object_get(o, "name"));
        vg_resp_release(&resp);
    }
    static const char *const head[] = {"SCHEDULE", "FROM (UTC)", "TO (UTC)", "ON CALL",
                                       "LAYER"};
    struct vg_table *t = vg_table_new(5, head);
    json_t *all = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        if (rc == 0)
            rc = show_one(cli, json_string_value(n), from, to, t, all);
    }
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)) {
        json_t *answer = json_pack("{s:O}", "items", all);
        rc = vg_cli_print_value(cli, answer);
        json_decref(answer);
    } else if (rc == 0 && json_array_size(all))
        vg_table_print(t, stdout);
    else if (rc == 0)
        fprintf(stderr, "vigil: no schedules\n");
    vg_table_free(t);
    json_decref(all);
    json_decref(names);
    return rc;
}

static const struct vg_cmd cmd_now = {
    .name = "now",
    .run = run_now,
    .usage = "[--schedule NAME] [--at TIME] [options]",
    .summary = "who is on call now, and until when",
    .help = "Shows, for every schedule (or one), who is on call now and until when: the "
            "person of the layer in force, or of an override.",
    .opts = now_opts,
    .parent = "oncall",
};

static const struct vg_cmd cmd_show = {
    .name = "show",
    .run = run_show,
    .usage = "[--schedule NAME] [--from TIME] [--to TIME] [options]",
    .summary = "the shifts of the coming days",
    .help = "Shows the shifts of every schedule (or one) from --from to --to (default: the "
            "next 7 days), in UTC. TIME is 2026-12-24, 2026-12-24T18:00 (UTC) or relative "
            "to now: +3d, +12h. Gaps with nobody on call show as (nobody).",
    .opts = show_opts,
    .parent = "oncall",
};

static const struct vg_cmd *const oncall_cmds[] = {&cmd_now, &cmd_show, NULL};

const struct vg_cmd vg_cmd_oncall = {
    .name = "oncall",
    .usage = "now|show [options]",
    .summary = "who is on call: now, and the coming shifts",
    .help = "Reads the on-call schedules (Schedule objects, docs/oncall.md). Each schedule "
            "is also a calendar to subscribe to: GET /api/v1/schedules/NAME/calendar.ics.",
    .subcmds = oncall_cmds,
};

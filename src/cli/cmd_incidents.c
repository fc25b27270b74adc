/*
 * cmd_incidents.c - `vigil incidents`, `vigil incident ID`, `vigil ack ID`,
 * `vigil resolve ID`, `vigil note ID TEXT`: the incidents service's API
 * (docs/api.md, "Incidents") for the person on call.
 */
#include "cli/cli.h"

#include <curl/curl.h>
#include <time.h>

enum { OPT_OPEN = 256, OPT_SITE, OPT_LIMIT, OPT_ALL, OPT_REASON };

/* "2026-12-07 14:03:11" (UTC) from ms since the epoch; "-" for none. */
static void when(const json_t *ms, char *out, size_t outlen)
{
    if (!json_is_integer(ms) || json_integer_value(ms) <= 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t t = (time_t)(json_integer_value(ms) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

/* "5m" since ms, as seen now. */
static void since(const json_t *ms, char *out, size_t outlen)
{
    long long s = (long long)time(NULL) - (long long)(json_integer_value(ms) / 1000);
    if (!json_is_integer(ms))
        snprintf(out, outlen, "-");
    else if (s < 120)
        snprintf(out, outlen, "%llds", s < 0 ? 0 : s);
    else if (s < 7200)
        snprintf(out, outlen, "%lldm", s / 60);
    else if (s < 172800)
        snprintf(out, outlen, "%lldh", s / 3600);
    else
        snprintf(out, outlen, "%lldd", s / 86400);
}

/* ---- vigil incidents ---- */

struct list_args {
    int open, all;
    const char *site;
    unsigned long long limit;
};

static const struct vg_opt list_opts[] = {
    {OPT_OPEN, "open", NULL, "only incidents not resolved (the default)"},
    {OPT_ALL, "all", NULL, "resolved incidents too"},
    {OPT_SITE, "site", "SITE", "only incidents at SITE"},
    {OPT_LIMIT, "limit", "N", "at most N incidents, newest first (default 100)"},
    {0, NULL, NULL, NULL},
};

static int on_list_opt(void *ctx, int id, const char *arg)
{
    struct list_args *a = ctx;
    switch (id) {
    case OPT_OPEN: a->open = 1; return 0;
    case OPT_ALL: a->all = 1; return 0;
    case OPT_SITE: a->site = arg; return 0;
    default: return vg_cli_parse_uint("--limit", arg, &a->limit);
    }
}

static int print_list(const struct vg_cli *cli, const json_t *answer)
{
    const json_t *items = json_object_get(answer, "items");
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, answer);
    if (!json_array_size(items)) {
        fprintf(stderr, "vigil: no incidents\n");
        return VG_EXIT_OK;
    }
    int wide = cli->output == VG_OUT_WIDE;
    static const char *const head[] = {"ID",   "SEVERITY", "STATUS", "AGE", "SITE",
                                       "WHO",  "SUMMARY",  "KEY",    "POLICY"};
    struct vg_table *t = vg_table_new(wide ? 9 : 7, head);
    size_t i;
    json_t *inc;
    json_array_foreach(items, i, inc)
    {
        char id[24], age[32];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(inc, "id")));
        since(json_object_get(inc, "opened"), age, sizeof age);
        const char *cells[] = {id,
                               vg_cli_str(inc, "severity", "-"),
                               vg_cli_str(inc, "status", "-"),
                               age,
                               vg_cli_str(inc, "site", "-"),
                               vg_cli_str(inc, "acked_by", "-"),
                               vg_cli_str(inc, "summary", ""),
                               vg_cli_str(inc, "key", ""),
                               vg_cli_str(inc, "policy", "-")};
        vg_table_add(t, cells);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
    return VG_EXIT_OK;
}

static int run_incidents(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct list_args a = {0};
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, on_list_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "incidents takes no arguments");
    if (a.open && a.all)
        return vg_cli_usage(cmd, "give --open or --all, not both");
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "/api/v1/incidents?status=%s", a.all ? "all" : "open");
    if (a.limit)
        vg_buf_printf(&path, "&limit=%llu", a.limit);
    if (a.site) {
        char *esc = curl_easy_escape(NULL, a.site, 0);
        vg_buf_printf(&path, "&site=%s", esc ? esc : "");
        curl_free(esc);
    }
    struct vg_resp resp = VG_RESP_INIT;
    rc = vg_cli_call(cli, "cannot list the incidents", "GET", (const char *)path.data, NULL,
                     NULL, &resp);
    if (rc == 0)
        rc = print_list(cli, resp.json);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_incidents = {
    .name = "incidents",
    .run = run_incidents,
    .usage = "[--open | --all] [--site SITE] [--limit N] [options]",
    .summary = "list incidents: what is wrong now, who acknowledged it",
    .help = "Lists incidents, newest first: by default those not resolved. Columns ID, "
            "SEVERITY, STATUS (triggered: nobody has acknowledged it and escalation goes on; "
            "acknowledged; resolved), AGE, SITE, WHO acknowledged it and SUMMARY; -o wide "
            "adds the dedup KEY (one condition is one incident) and the escalation POLICY. "
            "'vigil incident ID' shows one with its timeline.",
    .opts = list_opts,
};

/* ---- vigil incident ID ---- */

static int get_incident(struct vg_cli *cli, const char *id, struct vg_resp *resp)
{
    char path[128];
    char *esc = curl_easy_escape(NULL, id, 0);
    snprintf(path, sizeof path, "/api/v1/incidents/%s", esc ? esc : "");
    curl_free(esc);
    return vg_cli_call(cli, "cannot read the incident", "GET", path, NULL, NULL, resp);
}

static void timeline_line(const json_t *e, vg_buf_t *out)
{
    char t[32];
    when(json_object_get(e, "time"), t, sizeof t);
    const char *what = vg_cli_str(e, "what", "?");
    vg_buf_printf(out, "  %s  %-13s", t, what);
    if (!strcmp(what, "notified") || !strcmp(what, "not notified"))
        vg_buf_printf(out, " %s by %s (%s, %s): %s", vg_cli_str(e, "target", "?"),
                      vg_cli_str(e, "method", "?"), vg_cli_str(e, "channel", "?"),
                      vg_cli_str(e, "event", "?"), vg_cli_str(e, "detail", ""));
    else if (!strcmp(what, "escalated")) {
        vg_buf_t who = VG_BUF_INIT;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(e, "notify"), i, v)
            vg_buf_printf(&who, "%s%s", who.len ? ", " : "", json_string_value(v));
        vg_buf_printf(out, " step %lld, round %lld: %s",
                      (long long)json_integer_value(json_object_get(e, "step")) + 1,
                      (long long)json_integer_value(json_object_get(e, "round")) + 1,
                      who.len ? (const char *)who.data : "nobody reachable");
        vg_buf_release(&who);
    } else {
        const char *detail = vg_cli_str(e, "text", NULL);
        if (!detail)
            detail = vg_cli_str(e, "reason", NULL);
        if (!detail)
            detail = vg_cli_str(e, "summary", NULL);
        if (!detail)
            detail = vg_cli_str(e, "detail", "");
        const char *by = vg_cli_str(e, "by", NULL);
        vg_buf_printf(out, "%s%s%s%s", by ? " by " : "", by ? by : "", *detail ? ": " : "",
                      detail);
    }
    vg_buf_adds(out, "\n");
}

static int print_incident(const struct vg_cli *cli, const json_t *inc)
{
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, inc);
    char opened[32];
    when(json_object_get(inc, "opened"), opened, sizeof opened);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "Incident %lld  %s  %s\n", (long long)json_integer_value(json_object_get(inc, "id")),
                  vg_cli_str(inc, "severity", "?"), vg_cli_str(inc, "status", "?"));
    vg_buf_printf(&b, "Summary:  %s\n", vg_cli_str(inc, "summary", ""));
    vg_buf_printf(&b, "Key:      %s\n", vg_cli_str(inc, "key", ""));
    vg_buf_printf(&b, "Site:     %s%s%s\n", vg_cli_str(inc, "site", "-"),
                  json_object_get(inc, "zone") ? ", zone " : "", vg_cli_str(inc, "zone", ""));
    vg_buf_printf(&b, "Opened:   %s UTC\n", opened);
    vg_buf_printf(&b, "Policy:   %s\n", vg_cli_str(inc, "policy", "- (nobody is paged)"));
    vg_buf_adds(&b, "Timeline (UTC):\n");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(inc, "timeline"), i, e) timeline_line(e, &b);
    fwrite(b.data, 1, b.len, stdout);
    vg_buf_release(&b);
    return VG_EXIT_OK;
}

static int one_id(const struct vg_cmd *cmd, int argc, char **argv, int first, int more)
{
    if (first >= argc)
        return vg_cli_usage(cmd, "give the incident's ID (see 'vigil incidents')");
    if (!more && first + 1 < argc)
        return vg_cli_usage(cmd, "give one incident ID");
    const char *s = argv[first];
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return vg_cli_usage(cmd, "incident IDs are numbers: '%s' is not", s);
    return VG_CLI_PROCEED;
}

static int run_incident(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED || (rc = one_id(cmd, argc, argv, first, 0)) != VG_CLI_PROCEED)
        return rc;
    struct vg_resp resp = VG_RESP_INIT;
    rc = get_incident(cli, argv[first], &resp);
    if (rc == 0)
        rc = print_incident(cli, resp.json);
    vg_resp_release(&resp);
    return rc;
}

const struct vg_cmd vg_cmd_incident = {
    .name = "incident",
    .run = run_incident,
    .usage = "ID [options]",
    .summary = "show one incident and its timeline",
    .help = "Shows an incident and its timeline: when it triggered, each escalation step, "
            "each notification (to whom, by which contact method, and whether it was "
            "delivered), who acknowledged it, notes, and how it resolved.",
};

/* ---- vigil ack / resolve / note ---- */

static const struct vg_opt resolve_opts[] = {
    {OPT_REASON, "reason", "TEXT", "why it is resolved (shown on the timeline)"},
    {0, NULL, NULL, NULL},
};

static int on_reason(void *ctx, int id, const char *arg)
{
    (void)id;
    *(const char **)ctx = arg;
    return 0;
}

static int post_change(struct vg_cli *cli, const char *id, const char *action, json_t *body,
                       const char *what)
{
    char path[128];
    char *esc = curl_easy_escape(NULL, id, 0);
    snprintf(path, sizeof path, "/api/v1/incidents/%s/%s", esc ? esc : "", action);
    curl_free(esc);
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_call(cli, what, "POST", path, body, NULL, &resp);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        printf("incident %s: %s\n", id, vg_cli_str(resp.json, "status", "?"));
    vg_resp_release(&resp);
    return rc;
}

static int run_ack(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED || (rc = one_id(cmd, argc, argv, first, 0)) != VG_CLI_PROCEED)
        return rc;
    return post_change(cli, argv[first], "ack", NULL, "cannot acknowledge the incident");
}

static int run_resolve(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    const char *reason = NULL;
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, on_reason, &reason, &first);
    if (rc != VG_CLI_PROCEED || (rc = one_id(cmd, argc, argv, first, 0)) != VG_CLI_PROCEED)
        return rc;
    json_t *body = reason ? json_pack("{s:s}", "reason", reason) : NULL;
    if (reason && !body)
        return vg_cli_usage(cmd, "--reason must be UTF-8 text");
    rc = post_change(cli, argv[first], "resolve", body, "cannot resolve the incident");
    json_decref(body);
    return rc;
}

static int run_note(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED || (rc = one_id(cmd, argc, argv, first, 1)) != VG_CLI_PROCEED)
        return rc;
    if (first + 1 >= argc)
        return vg_cli_usage(cmd, "give the note's text after the ID");
    vg_buf_t text = VG_BUF_INIT;
    for (int i = first + 1; i < argc; i++)
        vg_buf_printf(&text, "%s%s", i > first + 1 ? " " : "", argv[i]);
    json_t *body = json_pack("{s:s%}", "text", (const char *)text.data, text.len);
    vg_buf_release(&text);
    if (!body)
        return vg_cli_usage(cmd, "the note must be UTF-8 text");
    rc = post_change(cli, argv[first], "notes", body, "cannot add the note");
    json_decref(body);
    return rc;
}

const struct vg_cmd vg_cmd_ack = {
    .name = "ack",
    .run = run_ack,
    .usage = "ID [options]",
    .summary = "acknowledge an incident: you are on it, escalation stops",
    .help = "Acknowledges an incident: escalation stops and the timeline records who. Pages "
            "not yet sent are not sent. A page's acknowledge link does the same from a "
            "phone.",
};

const struct vg_cmd vg_cmd_resolve = {
    .name = "resolve",
    .run = run_resolve,
    .usage = "ID [--reason TEXT] [options]",
    .summary = "resolve an incident by hand",
    .help = "Resolves an incident: everyone who was paged about it is told. Incidents of "
            "rules and cluster events resolve by themselves when the condition clears; "
            "this is for the others, or to close one for good.",
    .opts = resolve_opts,
};

const struct vg_cmd vg_cmd_note = {
    .name = "note",
    .run = run_note,
    .usage = "ID TEXT... [options]",
    .summary = "add a note to an incident's timeline",
    .help = "Adds a note (up to 2000 characters) to an incident's timeline, signed with the "
            "token's name.",
};

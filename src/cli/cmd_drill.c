/*
 * cmd_drill.c - `vigil drill run|report|list`: DR drills (docs/protect.md,
 * "Drills"). run asks the acting primary to start one and follows its
 * report, which both sites hold, until it ends; the servers carry the
 * drill through the switchover(s) themselves, so losing this client
 * mid-drill changes nothing (`vigil drill report ID` shows how it ended).
 */
#include "cli/cli.h"

#include <time.h>

#include "core/timefmt.h"
#include "protect/drill.h"

enum { OPT_REASON = 256, OPT_SWITCH_BACK, OPT_NO_WAIT };

#define DRILL_WAIT_MS 600000 /* longer than any step's deadline on the server */

static const struct vg_opt run_opts[] = {
    {OPT_REASON, "reason", "TEXT", "why, kept in the report and the events"},
    {OPT_SWITCH_BACK, "switch-back", NULL, "switch back to the first primary and measure it"},
    {OPT_NO_WAIT, "no-wait", NULL, "print the drill's id once started, without following it"},
    {0, NULL, NULL, NULL},
};

struct run_args {
    const char *reason;
    int switch_back, no_wait;
};

static int on_run_opt(void *ctx, int id, const char *arg)
{
    struct run_args *a = ctx;
    if (id == OPT_REASON)
        a->reason = arg;
    else if (id == OPT_SWITCH_BACK)
        a->switch_back = 1;
    else
        a->no_wait = 1;
    return VG_EXIT_OK;
}

static int print_report(struct vg_cli *cli, const json_t *drill)
{
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, drill);
    vg_buf_t md = VG_BUF_INIT;
    vg_drill_markdown(drill, &md);
    fwrite(md.data, 1, md.len, stdout);
    vg_buf_release(&md);
    return VG_EXIT_OK;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls the report until it is no longer running: 0 with *drill (new ref). */
static int follow(struct vg_cli *cli, const char *id, json_t **drill)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/drills/%s", id);
    for (long waited = 0; waited < DRILL_WAIT_MS; waited += 300) {
        struct vg_resp resp = VG_RESP_INIT;
        /* a member may not answer while the role moves: ask again */
        if (!vg_cli_send(cli, "GET", path, NULL, NULL, &resp) && resp.status == 200 &&
            strcmp(vg_cli_str(resp.json, "state", "running"), "running")) {
            *drill = json_incref(resp.json);
            vg_resp_release(&resp);
            return 0;
        }
        vg_resp_release(&resp);
        sleep_ms(300);
    }
    fprintf(stderr,
            "vigil: drill %s is still running after %d s; see 'vigil drill report %s'\n", id,
            DRILL_WAIT_MS / 1000, id);
    return VG_EXIT_ERROR;
}

static int run_run(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct run_args a = {0};
    int first;
    struct vg_resp resp = VG_RESP_INIT;
    json_t *drill = NULL;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_run_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    json_t *body = json_pack("{s:b}", "switch_back", a.switch_back);
    if (a.reason)
        json_object_set_new(body, "reason", json_string(a.reason));
    rc =
        vg_cli_call(cli, "cannot start the drill", "POST", "/api/v1/drills", body, NULL, &resp);
    json_decref(body);
    if (rc)
        goto out;
    const char *id = vg_cli_str(resp.json, "id", "?");
    if (a.no_wait) {
        printf("%s\n", id);
        goto out;
    }
    fprintf(stderr, "drill %s started: switchover to %s%s\n", id,
            vg_cli_str(json_array_get(json_object_get(resp.json, "steps"), 0), "to", "?"),
            a.switch_back ? ", then back" : "");
    rc = follow(cli, id, &drill);
    if (!rc) {
        rc = print_report(cli, drill);
        if (!rc && strcmp(vg_cli_str(drill, "state", ""), "passed"))
            rc = VG_EXIT_ERROR;
    }
out:
    json_decref(drill);
    vg_resp_release(&resp);
    return rc;
}

static int run_report(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first;
    char path[300];
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first + 1 != argc)
        return vg_cli_usage(cmd, "name one drill: vigil drill report ID");
    if (strlen(argv[first]) > 64 || strspn(argv[first], "0123456789-") != strlen(argv[first]))
        return vg_cli_usage(cmd, "'%s' is not a drill id", argv[first]);
    snprintf(path, sizeof path, "/api/v1/drills/%s", argv[first]);
    rc = vg_cli_call(cli, "cannot read the drill", "GET", path, NULL, NULL, &resp);
    if (!rc)
        rc = print_report(cli, resp.json);
    vg_resp_release(&resp);
    return rc;
}

static void ms_field(const json_t *o, const char *k, char *out, size_t outlen)
{
    char at[32];
    if (!json_is_integer(json_object_get(o, k))) {
        snprintf(out, outlen, "-");
        return;
    }
    vg_time_format_utc((int64_t)json_integer_value(json_object_get(o, k)), at);
    snprintf(out, outlen, "%s", at);
}

static int run_list(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first;
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    rc = vg_cli_call(cli, "cannot list the drills", "GET", "/api/v1/drills", NULL, NULL, &resp);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0) {
        size_t i;
        const json_t *d;
        printf("%-20s %-8s %-24s %-5s %-5s %s\n", "ID", "RESULT", "STARTED", "BACK", "LOST",
               "REASON");
        json_array_foreach(json_object_get(resp.json, "drills"), i, d)
        {
            char started[32];
            const json_t *loss = json_object_get(d, "data_loss");
            ms_field(d, "started", started, sizeof started);
            printf("%-20s %-8s %-24s %-5s %-5lld %s\n", vg_cli_str(d, "id", "?"),
                   vg_cli_str(d, "state", "?"), started,
                   json_is_true(json_object_get(d, "switch_back")) ? "yes" : "no",
                   (long long)json_integer_value(json_object_get(loss, "markers_lost")),
                   vg_cli_str(d, "reason", ""));
        }
    }
    vg_resp_release(&resp);
    return rc;
}

static const struct vg_cmd cmd_run = {
    .name = "run",
    .run = run_run,
    .usage = "[--switch-back] [--reason TEXT] [options]",
    .summary = "rehearse a site loss: a planned switchover, measured",
    .help = "Asks the acting primary to run a DR drill: refused (exit 4, with the reason) "
            "while either site has a critical condition, the mirror is not in sync or "
            "automatic switchover is frozen. Otherwise a marker is written, the primary role "
            "moves to the other site by a planned switchover with the Services, the marker "
            "is checked there, and with --switch-back the role moves back the same way. "
            "Waits for the end and prints the report (Markdown; -o json for the record); "
            "exits 1 when the drill failed. Needs an operator or admin token.",
    .opts = run_opts,
    .parent = "drill",
};

static const struct vg_cmd cmd_report = {
    .name = "report",
    .run = run_report,
    .usage = "ID [options]",
    .summary = "print a drill's report",
    .help = "Prints a drill's report as Markdown: the result and why, who and why, the "
            "steps with their durations, the recovery time of each service and the data "
            "loss. -o json prints the stored record. Any token may read it, on either site.",
    .parent = "drill",
};

static const struct vg_cmd cmd_list = {
    .name = "list",
    .run = run_list,
    .usage = "[options]",
    .summary = "list the drills, newest first",
    .help = "Lists the stored drills (the newest 50) with their result, start, whether they "
            "switched back, the markers lost and the reason.",
    .parent = "drill",
};

static const struct vg_cmd *const drill_cmds[] = {&cmd_run, &cmd_report, &cmd_list, NULL};

const struct vg_cmd vg_cmd_drill = {
    .name = "drill",
    .usage = "run|report|list [arguments]",
    .summary = "DR drills: rehearse the move to the other site and keep the report",
    .help = "A drill performs a planned switchover with the company's Services, measures "
            "how long vigil and each service took to recover at the other site and whether "
            "data written before was lost, optionally switches back, and stores the report on "
            "both sites (docs/protect.md, Drills). A FailoverPolicy's drill_every_days opens "
            "an incident when the last passed drill is older.",
    .subcmds = drill_cmds,
};

/*
 * cmd_protect.c - `vigil protect status|freeze|unfreeze`: the facility-
 * driven switchover (docs/protect.md). status shows what the acting
 * primary would decide now and what it decided; freeze stops automatic
 * switchovers until unfreeze (a record: both sites hold it).
 */
#include "cli/cli.h"

enum { OPT_REASON = 256 };

static const struct vg_opt reason_opts[] = {
    {OPT_REASON, "reason", "TEXT", "why, kept in the event log (required for freeze)"},
    {0, NULL, NULL, NULL},
};

static int on_reason(void *ctx, int id, const char *arg)
{
    (void)id;
    *(const char **)ctx = arg;
    return VG_EXIT_OK;
}

/* "12 s ago" for a time in ms, or "-". */
static void ago(const json_t *ms, char *out, size_t outlen)
{
    if (!json_is_integer(ms)) {
        snprintf(out, outlen, "-");
        return;
    }
    long long now = (long long)time(NULL) * 1000;
    long long d = (now - (long long)json_integer_value(ms)) / 1000;
    snprintf(out, outlen, d >= 0 ? "%lld s ago" : "in %lld s", d >= 0 ? d : -d);
}

static void line(const char *key, const char *value)
{
    printf("%-16s %s\n", key, value && *value ? value : "-");
}

static void print_status(const json_t *s)
{
    char when[48];
    vg_buf_t b = VG_BUF_INIT;
    line("member:", vg_cli_str(s, "member", "standalone"));
    line("site:", vg_cli_str(s, "site", NULL));
    line("policy:", vg_cli_str(s, "policy", "none (no automatic switchover)"));
    line("state:", vg_cli_str(s, "state", "?"));
    line("reason:", vg_cli_str(s, "reason", NULL));
    line("mirror:", vg_cli_str(s, "mirror", NULL));
    line("mirror site:", vg_cli_str(s, "mirror_site", "unknown"));
    line("mirror in sync:", json_is_true(json_object_get(s, "mirror_in_sync")) ? "yes" : "no");
    ago(json_object_get(s, "cooldown_until"), when, sizeof when);
    line("cooldown until:", json_is_integer(json_object_get(s, "cooldown_until")) ? when : "-");
    const json_t *frozen = json_object_get(s, "frozen");
    if (json_is_object(frozen)) {
        ago(json_object_get(frozen, "time"), when, sizeof when);
        vg_buf_printf(&b, "yes, by %s %s: %s", vg_cli_str(frozen, "by", "?"), when,
                      vg_cli_str(frozen, "reason", ""));
        line("frozen:", (const char *)b.data);
    } else {
        line("frozen:", "no");
    }
    const json_t *last = json_object_get(s, "last_decision");
    if (json_is_object(last)) {
        ago(json_object_get(last, "time"), when, sizeof when);
        vg_buf_reset(&b);
        vg_buf_printf(&b, "%s %s: %s", vg_cli_str(last, "decision", "?"), when,
                      vg_cli_str(last, "reason", ""));
        line("last decision:", (const char *)b.data);
    }
    vg_buf_release(&b);
}

static int run_status(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first;
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    rc = vg_cli_call(cli, "cannot read the protect status", "GET", "/api/v1/protect", NULL,
                     NULL, &resp);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        print_status(resp.json);
    vg_resp_release(&resp);
    return rc;
}

static int change(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv,
                  int freeze)
{
    const char *reason = NULL;
    int first;
    struct vg_resp resp = VG_RESP_INIT;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_reason, &reason, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    if (freeze && (!reason || !*reason))
        return vg_cli_usage(cmd, "say why with --reason TEXT");
    json_t *body = json_object();
    if (reason)
        json_object_set_new(body, "reason", json_string(reason));
    rc = vg_cli_call(cli, freeze ? "cannot freeze" : "cannot unfreeze", "POST",
                     freeze ? "/api/v1/protect/freeze" : "/api/v1/protect/unfreeze", body, NULL,
                     &resp);
    json_decref(body);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        printf(freeze ? "automatic switchover frozen\n" : "automatic switchover unfrozen\n");
    vg_resp_release(&resp);
    return rc;
}

static int run_freeze(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    return change(cli, cmd, argc, argv, 1);
}

static int run_unfreeze(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    return change(cli, cmd, argc, argv, 0);
}

static const struct vg_cmd cmd_status = {
    .name = "status",
    .run = run_status,
    .usage = "[options]",
    .summary = "show what the facility-driven switchover would decide now",
    .help = "Shows the FailoverPolicy in force, the state of the decision as the member "
            "asked sees it (off, calm, holding, switchover, declined, or standby on a member "
            "that is not the acting primary) and why, the mirror and whether it is in sync, "
            "the cooldown, the freeze and the last recorded decision. -o json prints the "
            "server's answer, with the newest decisions. Any token may read it.",
    .parent = "protect",
};

static const struct vg_cmd cmd_freeze = {
    .name = "freeze",
    .run = run_freeze,
    .usage = "--reason TEXT [options]",
    .summary = "stop automatic switchovers until unfrozen",
    .help = "Stops the protect service from starting a switchover, whatever happens at the "
            "primary's site, until 'vigil protect unfreeze'; decisions are still made and "
            "recorded as declined ('frozen'). The freeze is a record: both sites and a new "
            "primary keep it. Needs an operator or admin token, and the primary.",
    .opts = reason_opts,
    .parent = "protect",
};

static const struct vg_cmd cmd_unfreeze = {
    .name = "unfreeze",
    .run = run_unfreeze,
    .usage = "[--reason TEXT] [options]",
    .summary = "let the protect service switch over again",
    .help = "Ends a freeze. A condition that still holds is acted on at once if the other "
            "guard rails allow it. Needs an operator or admin token, and the primary.",
    .opts = reason_opts,
    .parent = "protect",
};

static const struct vg_cmd *const protect_cmds[] = {&cmd_status, &cmd_freeze, &cmd_unfreeze,
                                                    NULL};

const struct vg_cmd vg_cmd_protect = {
    .name = "protect",
    .usage = "status|freeze|unfreeze [arguments]",
    .summary = "the facility-driven switchover: its state and the operator's freeze",
    .help = "vigil moves the primary role to the other site by a planned switchover when a "
            "FailoverPolicy's condition (fire, water, power, UPS, heat) holds at the "
            "primary's site for its hold time, the mirror is in sync and its own site is "
            "well (docs/protect.md). These commands show that decision and freeze it.",
    .subcmds = protect_cmds,
};

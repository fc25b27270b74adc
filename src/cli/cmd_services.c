/*
 * cmd_services.c - `vigil services [NAME]`: the company services vigil
 * moves with the primary role (GET /api/v1/services), one row per service
 * and site: the server's role there and its health as the answering member
 * saw them, and the last step taken there with its result and duration.
 */
#include "cli/cli.h"

static const char *text_of(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

static void add_rows(struct vg_table *t, const json_t *svc, int wide)
{
    size_t i;
    const json_t *site;
    char order[24], took[32], step[64];
    snprintf(order, sizeof order, "%lld",
             (long long)json_integer_value(json_object_get(svc, "order")));
    json_array_foreach(json_object_get(svc, "sites"), i, site)
    {
        const json_t *last = json_object_get(site, "last_step");
        snprintf(step, sizeof step, "%s",
                 json_is_object(last) ? text_of(last, "step", "-") : "-");
        if (json_is_object(last))
            snprintf(took, sizeof took, "%lld ms",
                     (long long)json_integer_value(json_object_get(last, "duration_ms")));
        else
            snprintf(took, sizeof took, "-");
        const char *cells[] = {
            i == 0 ? text_of(svc, "name", "?") : "",
            i == 0 ? text_of(svc, "agent", "?") : "",
            i == 0 ? order : "",
            text_of(site, "site", "?"),
            text_of(site, "role", "unknown"),
            text_of(site, "health", "unknown"),
            step,
            json_is_object(last) ? text_of(last, "result", "-") : "-",
            took,
            json_is_object(last) ? text_of(last, "time", "-") : "-",
            json_is_object(last) ? text_of(last, "message", "") : "",
        };
        (void)wide;
        vg_table_add(t, cells);
    }
}

static int print_services(const struct vg_cli *cli, const json_t *answer, const char *only)
{
    const json_t *items = json_object_get(answer, "items");
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, answer);
    int wide = cli->output == VG_OUT_WIDE;
    static const char *const headers[] = {"SERVICE", "AGENT",  "ORDER",     "SITE",
                                          "ROLE",    "HEALTH", "LAST-STEP", "RESULT",
                                          "TOOK",    "WHEN",   "MESSAGE"};
    struct vg_table *t = vg_table_new(wide ? 11 : 9, headers);
    size_t i, shown = 0;
    const json_t *svc;
    json_array_foreach(items, i, svc)
    {
        if (only && strcmp(text_of(svc, "name", ""), only))
            continue;
        add_rows(t, svc, wide);
        shown++;
    }
    if (shown)
        vg_table_print(t, stdout);
    vg_table_free(t);
    if (!shown)
        return only ? vg_cli_fail(VG_EXIT_NOT_FOUND, "no service '%s'", only)
                    : (fprintf(stderr, "vigil: no Service is declared\n"), VG_EXIT_OK);
    const json_t *move = json_object_get(answer, "last_move");
    if (json_is_object(move))
        fprintf(stderr, "last move: to %s (%s, epoch %lld) at %s\n", text_of(move, "site", "?"),
                text_of(move, "reason", "?"),
                (long long)json_integer_value(json_object_get(move, "epoch")),
                text_of(move, "time", "?"));
    return VG_EXIT_OK;
}

static int run_services(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct vg_resp resp = VG_RESP_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first > 1)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first + 1]);
    const char *only = first < argc ? argv[first] : NULL;
    rc = vg_cli_call(cli, "cannot read the services", "GET", "/api/v1/services", NULL, NULL,
                     &resp);
    if (rc == 0 && !json_is_array(json_object_get(resp.json, "items")))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's list of services is malformed");
    if (rc == 0)
        rc = print_services(cli, resp.json, only);
    vg_resp_release(&resp);
    return rc;
}

const struct vg_cmd vg_cmd_services = {
    .name = "services",
    .run = run_services,
    .usage = "[NAME]",
    .summary = "company services moved with the primary role: role, health, last step per site",
    .help = "Lists each Service (docs/services.md) in move order, one row per site: the role "
            "of its server there (primary, standby, fenced, unreachable) and its health check "
            "as the answering member last saw them, and the last step an agent took there "
            "(promote, fence, write_check, before, after, health) with its result and how "
            "long it took. -o wide adds when and the step's message; -o json gives the whole "
            "answer, hook output included. The last move is summed up on stderr.",
};

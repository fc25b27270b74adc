/*
 * cmd_status.c - `vigil status`: what the member says about itself
 * (GET /api/v1/status): role, epoch, commit and durable index, objects, log
 * statistics, uptime. The table form flattens nested objects to dotted keys
 * so that it stays readable whatever fields the server adds.
 */
#include "cli/cli.h"

/* Adds "prefix.key" rows for every scalar under v. */
static void flatten(struct vg_table *t, const char *prefix, const json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)v, key, member)
        {
            vg_buf_t name = VG_BUF_INIT;
            vg_buf_printf(&name, "%s%s%s", prefix, *prefix ? "." : "", key);
            flatten(t, (const char *)name.data, member);
            vg_buf_release(&name);
        }
        return;
    }
    vg_buf_t cell = VG_BUF_INIT, value = VG_BUF_INIT;
    vg_buf_printf(&cell, "%s:", prefix);
    vg_cli_scalar(v, &value);
    const char *row[] = {(const char *)cell.data, (const char *)value.data};
    vg_table_add(t, row);
    vg_buf_release(&cell);
    vg_buf_release(&value);
}

static int run_status(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct vg_resp resp = VG_RESP_INIT;
    vg_client_t *client;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "status takes no arguments");
    if ((rc = vg_cli_client(cli, &client)) != 0)
        return rc;
    rc = vg_cli_call(cli, "cannot read the status", "GET", "/api/v1/status", NULL, NULL, &resp);
    if (rc == 0 && !json_is_object(resp.json))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's status is not a JSON object");
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)) {
        rc = vg_cli_print_value(cli, resp.json);
    } else if (rc == 0) {
        /* the first row is the server that answered, then the status */
        const char *const first_row[] = {"server:", vg_client_server(client)};
        struct vg_table *t = vg_table_new(2, first_row);
        flatten(t, "", resp.json);
        vg_table_print(t, stdout);
        vg_table_free(t);
    }
    vg_resp_release(&resp);
    return rc;
}

const struct vg_cmd vg_cmd_status = {
    .name = "status",
    .run = run_status,
    .usage = "[options]",
    .summary = "show the state of the server",
    .help = "Shows what the server answering at --server says about itself: version, role "
            "(standalone, primary or mirror), epoch, commit and durable index, number of "
            "objects, log statistics and uptime. -o json prints the server's answer as is.",
};

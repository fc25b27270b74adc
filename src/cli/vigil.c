/*
 * vigil.c - entry point of the `vigil` command line: the table of commands,
 * the options that may precede the command name, and help.
 *
 * The CLI is a thin client of the REST API (docs/api.md): every command is
 * one or a few HTTP requests, so it holds no state between runs and can be
 * pointed at any member with --server. Adding a command is adding a file
 * that defines a struct vg_cmd and one row in the table below.
 */
#include "cli/cli.h"

#include <curl/curl.h>
#include <sodium.h>

enum { OPT_VERSION = 300 };

#define DEFAULT_TIMEOUT_S 30
#define HELP_WIDTH        79
#define OPT_COLUMN        28

static int run_help(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv);
static int run_version(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv);

static const struct vg_cmd cmd_help = {
    .name = "help",
    .run = run_help,
    .flags = VG_CMD_OFFLINE,
    .usage = "[COMMAND [SUBCOMMAND]]",
    .summary = "show help for vigil or one of its commands",
    .help = "Without a command, lists the commands, the common options, the environment "
            "and the exit codes. 'vigil COMMAND --help' shows the same as 'vigil help "
            "COMMAND'.",
};

static const struct vg_cmd cmd_version = {
    .name = "version",
    .run = run_version,
    .flags = VG_CMD_OFFLINE,
    .usage = "",
    .summary = "print the version of this client",
    .help = "Prints the version of the vigil client (use 'vigil status' for the server's).",
};

/* The command table: name, handler and flags live in each row. */
static const struct vg_cmd *const commands[] = {
    &vg_cmd_apply,    &vg_cmd_explain, &vg_cmd_get,     &vg_cmd_delete,  &vg_cmd_watch,    &vg_cmd_token,
    &vg_cmd_pki,      &vg_cmd_status,  &vg_cmd_cluster, &vg_cmd_events,   &vg_cmd_switchover,
    &vg_cmd_failover, &vg_cmd_sensors, &vg_cmd_series,  &vg_cmd_facility, &vg_cmd_alerts,
    &vg_cmd_push,     &vg_cmd_sim,     &vg_cmd_incidents, &vg_cmd_incident, &vg_cmd_ack,
    &vg_cmd_resolve,  &vg_cmd_note,    &vg_cmd_oncall,  &vg_cmd_training, &vg_cmd_protect,
    &vg_cmd_services, &vg_cmd_drill,   &vg_cmd_demo,    &vg_cmd_passwd,  &cmd_help,
    &cmd_version,
    NULL,
};

static const struct vg_opt global_opts[] = {
    {OPT_VERSION, "version", NULL, "print the version and exit"},
    {0, NULL, NULL, NULL},
};

static const char exit_codes[] =
    "exit codes:\n"
    "  0  success\n"
    "  1  error (I/O, server error, anything not listed below)\n"
    "  2  usage: the command line is wrong\n"
    "  3  not found (404), or a watch revision that is too old (410)\n"
    "  4  conflict: the object changed meanwhile (If-Match, 409)\n"
    "  5  unauthorized or forbidden: missing, wrong or revoked token, or a role\n"
    "     that may not do this (401, 403)\n"
    "  6  no server answered (refused, unknown host, timeout, TLS failure) or the\n"
    "     server is unavailable (503)\n"
    "  7  invalid input: a manifest or value rejected by vigil or the server\n"
    "     (400, 413, 422), with the field at fault named\n";

static const char environment[] = "environment:\n"
                                  "  VIGIL_SERVER    server URL(s), like --server\n"
                                  "  VIGIL_TOKEN     API token, like --token\n"
                                  "  VIGIL_CACERT    CA bundle, like --cacert\n"
                                  "  VIGIL_DEMO_DIR  the running demo, for 'vigil demo'\n";

/* ---- help -------------------------------------------------------------- */

/* Prints text word-wrapped, the first line from column col, the others
 * indented by indent. */
static void print_wrapped(FILE *out, const char *text, int col, int indent)
{
    while (*text) {
        const char *word = text;
        while (*text && *text != ' ')
            text++;
        int len = (int)(text - word);
        if (col > indent && col + 1 + len > HELP_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(word, 1, (size_t)len, out);
        col += len;
        while (*text == ' ')
            text++;
    }
    fputc('\n', out);
}

static void print_opts(FILE *out, const char *title, const struct vg_opt *opts)
{
    if (!opts || !opts[0].name)
        return;
    fprintf(out, "\n%s:\n", title);
    for (size_t i = 0; opts[i].name; i++) {
        char left[64];
        if (opts[i].id < 256)
            snprintf(left, sizeof left, "  -%c, --%s%s%s", opts[i].id, opts[i].name,
                     opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        else
            snprintf(left, sizeof left, "      --%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                     opts[i].arg ? opts[i].arg : "");
        int len = (int)strlen(left);
        fputs(left, out);
        if (len + 2 > OPT_COLUMN) {
            fprintf(out, "\n%*s", OPT_COLUMN, "");
            len = OPT_COLUMN;
        }
        fprintf(out, "%*s", OPT_COLUMN - len, "");
        print_wrapped(out, opts[i].help, OPT_COLUMN, OPT_COLUMN);
    }
}

static void print_cmd_list(FILE *out, const struct vg_cmd *const *list)
{
    for (size_t i = 0; list[i]; i++)
        fprintf(out, "  %-11s %s\n", list[i]->name, list[i]->summary);
}

static void print_overview(FILE *out)
{
    fprintf(out, "usage: vigil [options] COMMAND [arguments]\n\n");
    print_wrapped(out,
                  "vigil manages a vigild server through its REST API: objects declared in "
                  "YAML manifests, their changes as they happen, API tokens, the "
                  "server's status, the two-member cluster it belongs to, and the "
                  "facility it watches: sensors and their readings, devices, alerts.",
                  0, 0);
    fprintf(out, "\ncommands:\n");
    print_cmd_list(out, commands);
    print_opts(out, "options (accepted by every command, before or after it)",
               vg_cli_common_opts);
    print_opts(out, "options before the command", global_opts);
    fprintf(out, "\n%s\n%s\nSee 'vigil help COMMAND' and vigil(1).\n", environment, exit_codes);
}

void vg_cli_help(const struct vg_cmd *cmd, FILE *out)
{
    if (!cmd) {
        print_overview(out);
        return;
    }
    if (cmd->parent)
        fprintf(out, "usage: vigil %s %s %s\n\n", cmd->parent, cmd->name, cmd->usage);
    else
        fprintf(out, "usage: vigil %s %s\n\n", cmd->name, cmd->usage);
    print_wrapped(out, cmd->help, 0, 0);
    if (cmd->subcmds) {
        fprintf(out, "\ncommands:\n");
        print_cmd_list(out, cmd->subcmds);
        fprintf(out, "\nTry 'vigil help %s COMMAND'.\n", cmd->name);
        return;
    }
    print_opts(out, "options", cmd->opts);
    fputc('\n', out);
    if (!(cmd->flags & VG_CMD_OFFLINE))
        print_wrapped(out,
                      "Common options: -o FORMAT, -s URL[,URL...], --token TOKEN, --token-file "
                      "FILE, --cacert FILE, --timeout SECONDS (see 'vigil help').",
                      0, 0);
    print_wrapped(out,
                  "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 "
                  "unauthorized or forbidden, 6 unreachable, 7 invalid input.",
                  0, 0);
}

static const struct vg_cmd *find_cmd(const struct vg_cmd *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i]->name, name) == 0)
            return list[i];
    return NULL;
}

const struct vg_cmd *vg_cli_find_command(const char *name)
{
    return find_cmd(commands, name);
}

static int run_help(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first > 2)
        return vg_cli_usage(cmd, "too many arguments");
    if (first == argc) {
        print_overview(stdout);
        return VG_EXIT_OK;
    }
    const struct vg_cmd *target = find_cmd(commands, argv[first]);
    if (!target)
        return vg_cli_usage(cmd, "'%s' is not a vigil command", argv[first]);
    if (argc - first == 2) {
        const struct vg_cmd *sub = find_cmd(target->subcmds, argv[first + 1]);
        if (!sub)
            return vg_cli_usage(cmd, "'%s' is not a command of 'vigil %s'", argv[first + 1],
                                target->name);
        target = sub;
    }
    vg_cli_help(target, stdout);
    return VG_EXIT_OK;
}

static int run_version(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first != argc)
        return vg_cli_usage(cmd, "version takes no arguments");
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML) {
        json_t *v = json_pack("{s:s}", "version", VG_VERSION);
        rc = vg_cli_print_value(cli, v);
        json_decref(v);
        return rc;
    }
    printf("vigil %s\n", VG_VERSION);
    return VG_EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------- */

static int run_group(struct vg_cli *cli, const struct vg_cmd *group, int argc, char **argv)
{
    if (argc < 2)
        return vg_cli_usage(group, "'vigil %s' needs a command", group->name);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        vg_cli_help(group, stdout);
        return VG_EXIT_OK;
    }
    const struct vg_cmd *sub = find_cmd(group->subcmds, argv[1]);
    if (!sub)
        return vg_cli_usage(group, "'%s' is not a command of 'vigil %s'", argv[1], group->name);
    return sub->run(cli, sub, argc - 1, argv + 1);
}

static int on_global_opt(void *ctx, int id, const char *arg)
{
    *(int *)ctx = 1; /* the only global-only option is --version */
    return VG_EXIT_OK;
}

static int run(struct vg_cli *cli, int argc, char **argv)
{
    int want_version = 0, first;
    int rc = vg_cli_parse_opts(cli, NULL, global_opts, 1, argc, argv, on_global_opt,
                               &want_version, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (want_version) {
        printf("vigil %s\n", VG_VERSION);
        return VG_EXIT_OK;
    }
    if (first >= argc) {
        print_overview(stderr);
        return VG_EXIT_USAGE;
    }
    const struct vg_cmd *cmd = find_cmd(commands, argv[first]);
    if (!cmd)
        return vg_cli_usage(NULL, "'%s' is not a vigil command", argv[first]);
    if (cmd->subcmds)
        return run_group(cli, cmd, argc - first, argv + first);
    return cmd->run(cli, cmd, argc - first, argv + first);
}

static void cli_release(struct vg_cli *cli)
{
    vg_client_free(cli->client);
    json_decref(cli->kinds);
    if (cli->token_buf) {
        sodium_memzero(cli->token_buf, strlen(cli->token_buf));
        free(cli->token_buf);
    }
}

int main(int argc, char **argv)
{
    struct vg_cli cli = {
        .servers = getenv("VIGIL_SERVER"),
        .token = getenv("VIGIL_TOKEN"),
        .cacert = getenv("VIGIL_CACERT"),
        .timeout_s = DEFAULT_TIMEOUT_S,
        .output = VG_OUT_TABLE,
    };
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot initialise libcurl");
    int rc = run(&cli, argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = vg_cli_fail(VG_EXIT_ERROR, "cannot write the output: %s", strerror(errno));
    cli_release(&cli);
    curl_global_cleanup();
    return rc;
}

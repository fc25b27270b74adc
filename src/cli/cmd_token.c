/*
 * cmd_token.c - `vigil token create|list|revoke`: API tokens (admin only).
 *
 * A new token's secret is shown exactly once, by `token create`; the server
 * keeps only its hash. In the default output the token is the only thing on
 * stdout, so `TOKEN=$(vigil token create --role viewer)` captures it, and
 * the reminder to store it goes to stderr. The copies of the secret this
 * process received are wiped once printed.
 */
#include "cli/cli.h"

#include <sodium.h>

enum { OPT_ROLE = 256, OPT_NAME };

struct create_args {
    const char *role;
    const char *name;
};

static const struct vg_opt create_opts[] = {
    {OPT_ROLE, "role", "ROLE",
     "admin, operator (read and write objects), viewer (read), auditor or "
     "external-reviewer (required)"},
    {OPT_NAME, "name", "NAME", "a name to recognise the token by in 'vigil token list'"},
    {0, NULL, NULL, NULL},
};

static int on_create_opt(void *ctx, int id, const char *arg)
{
    struct create_args *a = ctx;
    if (id == OPT_ROLE)
        a->role = arg;
    else
        a->name = arg;
    return VG_EXIT_OK;
}

/* Overwrites the secret in the answer's raw bytes and in its parsed form. */
static void wipe_secret(struct vg_resp *resp)
{
    json_t *token = json_object_get(resp->json, "token");
    if (json_is_string(token))
        sodium_memzero((char *)json_string_value(token), json_string_length(token));
    if (resp->body.data)
        sodium_memzero(resp->body.data, resp->body.len);
}

static int run_create(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct create_args args = {0};
    struct vg_resp resp = VG_RESP_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_create_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    if (!args.role)
        return vg_cli_usage(cmd, "give the token's role with --role");

    json_t *body = json_pack("{s:s}", "role", args.role);
    if (args.name)
        json_object_set_new(body, "name", json_string(args.name));
    rc = vg_cli_call(cli, "cannot create the token", "POST", "/api/v1/tokens", body, NULL,
                     &resp);
    json_decref(body);
    const char *token = vg_cli_str(resp.json, "token", NULL);
    if (rc == 0 && !token)
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's answer has no token");
    if (rc == 0) {
        if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
            rc = vg_cli_print_value(cli, resp.json);
        else
            printf("%s\n", token);
        fflush(stdout);
        fprintf(stderr,
                "vigil: created token %s (name %s, role %s). It is shown only this once: "
                "store it now.\n",
                vg_cli_str(resp.json, "id", "?"), vg_cli_str(resp.json, "name", "?"),
                vg_cli_str(resp.json, "role", "?"));
    }
    wipe_secret(&resp);
    vg_resp_release(&resp);
    return rc;
}

static void print_tokens(const json_t *items)
{
    static const char *const headers[] = {"ID", "NAME", "ROLE", "CREATED", "REVOKED"};
    struct vg_table *t = vg_table_new(5, headers);
    size_t i;
    json_t *tok;

    json_array_foreach(items, i, tok)
    {
        const char *cells[] = {vg_cli_str(tok, "id", "?"), vg_cli_str(tok, "name", ""),
                               vg_cli_str(tok, "role", "?"), vg_cli_str(tok, "created", "-"),
                               json_is_true(json_object_get(tok, "revoked")) ? "yes" : "no"};
        vg_table_add(t, cells);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
}

static int run_list(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct vg_resp resp = VG_RESP_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    rc = vg_cli_call(cli, "cannot list the tokens", "GET", "/api/v1/tokens", NULL, NULL, &resp);
    const json_t *items = json_object_get(resp.json, "items");
    if (rc == 0 && !json_is_array(items))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's list of tokens is malformed");
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        print_tokens(items);
    vg_resp_release(&resp);
    return rc;
}

static int run_revoke(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_t path = VG_BUF_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 1)
        return vg_cli_usage(cmd, "give the ID of the token to revoke (see 'vigil token list')");
    const char *id = argv[first];
    vg_buf_adds(&path, "/api/v1/tokens/");
    vg_client_escape(&path, id);
    rc = vg_cli_call(cli, "cannot revoke the token", "DELETE", (const char *)path.data, NULL,
                     NULL, &resp);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        printf("token %s revoked\n", id);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

static const struct vg_cmd cmd_create = {
    .name = "create",
    .run = run_create,
    .usage = "--role ROLE [--name NAME] [options]",
    .summary = "create an API token and print it (once)",
    .help = "Creates an API token with ROLE and prints it on stdout. The token is shown "
            "only this once (the server keeps only its hash): store it now, for example in "
            "a file of mode 0600 for --token-file. -o json prints {\"id\", \"name\", "
            "\"role\", \"token\"}. Needs an admin token.",
    .opts = create_opts,
    .parent = "token",
};

static const struct vg_cmd cmd_list = {
    .name = "list",
    .run = run_list,
    .usage = "[options]",
    .summary = "list API tokens (never their secrets)",
    .help = "Lists the API tokens: ID, NAME, ROLE, CREATED and whether they are REVOKED. "
            "The secrets are not shown; the server does not have them. Needs an admin "
            "token.",
    .parent = "token",
};

static const struct vg_cmd cmd_revoke = {
    .name = "revoke",
    .run = run_revoke,
    .usage = "ID [options]",
    .summary = "revoke an API token",
    .help = "Revokes the token with ID (the ID column of 'vigil token list'); requests "
            "with it are refused from then on. Needs an admin token. Exits 3 if there is no "
            "such token.",
    .parent = "token",
};

static const struct vg_cmd *const token_cmds[] = {&cmd_create, &cmd_list, &cmd_revoke, NULL};

const struct vg_cmd vg_cmd_token = {
    .name = "token",
    .usage = "create|list|revoke [arguments]",
    .summary = "create, list and revoke API tokens",
    .help = "Manages the API tokens that 'vigil --token' and the API's Authorization: "
            "Bearer header take. Only admin tokens may do this.",
    .subcmds = token_cmds,
};

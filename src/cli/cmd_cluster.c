/*
 * cmd_cluster.c - `vigil cluster status|switchover|failover`, with
 * `vigil switchover` and `vigil failover` as short forms: the two-member
 * cluster as an operator sees and steers it (docs/api.md, "Cluster").
 *
 * status asks every server of the list, not the first that answers: the
 * point of a cluster status is to see both sites, and above all the one
 * that is down. switchover goes wherever the client's rule sends writes (a
 * mirror refuses it with a 503 naming the primary, and the next server is
 * tried). failover goes to the first server only and to no other, since it
 * makes whichever member receives it primary.
 */
#include "cli/cli.h"

#include "cli/cluster_view.h"
#include "core/names.h"

enum { OPT_TO = 256, OPT_REASON, OPT_FORCE, OPT_ACCEPT_LOSS };

#define CLUSTER_PATH "/api/v1/cluster"

/* ---- status ------------------------------------------------------------ */

/* What one server said about the cluster. */
struct member_view {
    json_t *json; /* its answer when it gave one (2xx, an object), else NULL */
    int rc;       /* else the exit code of the failure */
    int reached;  /* it answered HTTP at all */
    vg_buf_t why; /* else what went wrong */
};

static void fetch_view(vg_client_t *client, size_t server, struct member_view *v)
{
    struct vg_resp resp = VG_RESP_INIT;
    char err[2048];

    if (vg_client_request_at(client, server, "GET", CLUSTER_PATH, NULL, NULL, &resp, err,
                             sizeof err) < 0) {
        v->rc = VG_EXIT_UNREACHABLE;
        vg_buf_adds(&v->why, err);
        return;
    }
    v->reached = 1;
    if (resp.status < 200 || resp.status >= 300) {
        v->rc = vg_cli_exit_for_status(resp.status);
        vg_cli_describe_answer(&resp, &v->why);
    } else if (!json_is_object(resp.json)) {
        v->rc = VG_EXIT_ERROR;
        vg_buf_adds(&v->why, "the server's cluster status is not a JSON object");
    } else {
        v->json = json_incref(resp.json);
    }
    vg_resp_release(&resp);
}

/* 0 when one server gave its view; else the first failure that is not
 * "unreachable" (it says more), else 6. */
static int status_exit(const struct member_view *views, size_t n)
{
    int rc = VG_EXIT_UNREACHABLE;
    for (size_t i = 0; i < n; i++) {
        if (views[i].json)
            return VG_EXIT_OK;
        if (views[i].rc != VG_EXIT_UNREACHABLE && rc == VG_EXIT_UNREACHABLE)
            rc = views[i].rc;
    }
    return rc;
}

/* -o json|yaml: one server's answer as it is; several as an array of
 * {"server", "cluster"} or {"server", "error"}. */
static int print_views_value(const struct vg_cli *cli, vg_client_t *client,
                             const struct member_view *views, size_t n)
{
    if (n == 1)
        return vg_cli_print_value(cli, views[0].json);
    json_t *all = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *server = vg_client_server_at(client, i);
        json_array_append_new(
            all, views[i].json
                     ? json_pack("{s:s,s:O}", "server", server, "cluster", views[i].json)
                     : json_pack("{s:s,s:s}", "server", server, "error", views[i].why.data));
    }
    int rc = vg_cli_print_value(cli, all);
    json_decref(all);
    return rc;
}

static void print_views_text(vg_client_t *client, const struct member_view *views, size_t n)
{
    vg_buf_t text = VG_BUF_INIT;
    const json_t **answered = vg_calloc(n, sizeof *answered);
    time_t now = time(NULL);

    for (size_t i = 0; i < n; i++) {
        const char *server = vg_client_server_at(client, i);
        vg_buf_adds(&text, i ? "\n" : "");
        if (views[i].json)
            vg_cluster_view_status(&text, server, views[i].json, now);
        else
            vg_cluster_view_failed(&text, server, views[i].reached ? "ERROR" : "UNREACHABLE",
                                   (const char *)views[i].why.data);
        answered[i] = views[i].json;
    }
    vg_buf_t warnings = VG_BUF_INIT;
    vg_cluster_view_compare(&warnings, answered, n);
    if (warnings.len)
        vg_buf_printf(&text, "\n%s", (const char *)warnings.data);
    fwrite(text.data, 1, text.len, stdout);
    vg_buf_release(&warnings);
    vg_buf_release(&text);
    free(answered);
}

static int run_status(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    vg_client_t *client;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "cluster status takes no arguments");
    if ((rc = vg_cli_client(cli, &client)) != 0)
        return rc;

    size_t n = vg_client_n_servers(client);
    struct member_view *views = vg_calloc(n, sizeof *views);
    for (size_t i = 0; i < n; i++)
        fetch_view(client, i, &views[i]);
    rc = status_exit(views, n);
    if (n == 1 && rc != 0) /* like every other command with one server */
        vg_cli_fail(0, "cannot read the cluster status: %s", (const char *)views[0].why.data);
    else if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        rc = print_views_value(cli, client, views, n) ? VG_EXIT_ERROR : rc;
    else
        print_views_text(client, views, n);
    if (rc && n > 1)
        vg_cli_fail(0, "none of the %zu servers gave its view of the cluster", n);
    for (size_t i = 0; i < n; i++) {
        json_decref(views[i].json);
        vg_buf_release(&views[i].why);
    }
    free(views);
    return rc;
}

/* ---- changes ----------------------------------------------------------- */

/*
 * POSTs body (taken over) to path, to any server by the client's rule or to
 * the first server only, and checks the answer is a JSON object. Prints it
 * for -o json|yaml; otherwise sets *as_text for the caller to print its
 * line from resp. The exit code.
 */
static int post_change(struct vg_cli *cli, int first_only, const char *what, const char *path,
                       json_t *body, struct vg_resp *resp, int *as_text)
{
    int rc = first_only ? vg_cli_call_at(cli, 0, what, "POST", path, body, resp)
                        : vg_cli_call(cli, what, "POST", path, body, NULL, resp);
    json_decref(body);
    *as_text = 0;
    if (rc == 0 && !json_is_object(resp->json))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's answer is not a JSON object");
    else if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp->json);
    else if (rc == 0)
        *as_text = 1;
    return rc;
}

/* ---- switchover -------------------------------------------------------- */

struct switchover_args {
    const char *to;
    const char *reason;
};

static const struct vg_opt switchover_opts[] = {
    {OPT_TO, "to", "MEMBER", "the member to make primary (default: the other one)"},
    {OPT_REASON, "reason", "TEXT", "why, kept with the change in the cluster's history"},
    {0, NULL, NULL, NULL},
};

static int on_switchover_opt(void *ctx, int id, const char *arg)
{
    struct switchover_args *a = ctx;
    char err[256];
    if (id == OPT_TO && vg_name_check(arg, err, sizeof err) < 0)
        return vg_cli_fail(VG_EXIT_INVALID, "--to: %s", err);
    if (id == OPT_REASON && !*arg)
        return vg_cli_usage(NULL, "--reason must not be empty");
    if (id == OPT_TO)
        a->to = arg;
    else
        a->reason = arg;
    return VG_EXIT_OK;
}

static int run_switchover(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct switchover_args args = {0};
    struct vg_resp resp = VG_RESP_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_switchover_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s' (the target goes with --to)",
                            argv[first]);

    json_t *body = json_object();
    if (args.to)
        json_object_set_new(body, "to", json_string(args.to));
    if (args.reason)
        json_object_set_new(body, "reason", json_string(args.reason));
    int as_text;
    rc = post_change(cli, 0, "switchover failed", CLUSTER_PATH "/switchover", body, &resp,
                     &as_text);
    if (as_text)
        printf("switchover done: %s is primary at epoch %" JSON_INTEGER_FORMAT
               " (%" JSON_INTEGER_FORMAT " ms)\n",
               vg_cli_str(resp.json, "primary", "?"),
               json_integer_value(json_object_get(resp.json, "epoch")),
               json_integer_value(json_object_get(resp.json, "took_ms")));
    vg_resp_release(&resp);
    return rc;
}

/* ---- failover ---------------------------------------------------------- */

struct failover_args {
    int force;
    int accept_loss;
    const char *reason;
};

static const struct vg_opt failover_opts[] = {
    {OPT_FORCE, "force", NULL, "required: promote without the current primary's agreement"},
    {OPT_ACCEPT_LOSS, "accept-data-loss", NULL,
     "required: accept that acknowledged writes this member lacks are lost"},
    {OPT_REASON, "reason", "TEXT", "required: why, kept in the cluster's history"},
    {0, NULL, NULL, NULL},
};

static int on_failover_opt(void *ctx, int id, const char *arg)
{
    struct failover_args *a = ctx;
    if (id == OPT_FORCE)
        a->force = 1;
    else if (id == OPT_ACCEPT_LOSS)
        a->accept_loss = 1;
    else
        a->reason = arg;
    return VG_EXIT_OK;
}

/* Explains what a forced failover costs; nothing has been sent. */
static int refuse_failover(const struct vg_cmd *cmd, const struct failover_args *a)
{
    vg_cli_fail(0, "refusing to force a failover without %s",
                !a->force && !a->accept_loss ? "--force and --accept-data-loss"
                : !a->force                  ? "--force"
                                             : "--accept-data-loss");
    fputs("A forced failover makes the member it is sent to (the first --server) primary\n"
          "without the current primary's agreement. Every write the current primary\n"
          "acknowledged that this member has not received is lost for good: all writes\n"
          "since it left the sync set (while the cluster ran degraded), and any still in\n"
          "flight. Use it only when the primary is gone and will not come back soon;\n"
          "check the member's sync set and lag with 'vigil cluster status' first.\n"
          "Nothing was sent.\n",
          stderr);
    return vg_cli_usage(cmd, "give both --force and --accept-data-loss, and --reason");
}

static int run_failover(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct failover_args args = {0};
    struct vg_resp resp = VG_RESP_INIT;
    vg_client_t *client;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_failover_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd,
                            "unexpected argument '%s' (the member to promote is the "
                            "first --server)",
                            argv[first]);
    if (!args.force || !args.accept_loss)
        return refuse_failover(cmd, &args);
    if (!args.reason || !*args.reason)
        return vg_cli_usage(cmd, "say why with --reason: it is kept in the cluster's history");
    if ((rc = vg_cli_client(cli, &client)) != 0)
        return rc;
    if (vg_client_n_servers(client) > 1)
        fprintf(stderr,
                "vigil: sending the failover to %s only, the first server of the list: "
                "that member is the one made primary\n",
                vg_client_server_at(client, 0));

    json_t *body =
        json_pack("{s:b,s:b,s:s}", "force", 1, "accept_data_loss", 1, "reason", args.reason);
    int as_text;
    rc = post_change(cli, 1, "forced failover failed", CLUSTER_PATH "/failover", body, &resp,
                     &as_text);
    if (as_text)
        printf("failover forced: %s is primary at epoch %" JSON_INTEGER_FORMAT "\n",
               vg_cli_str(resp.json, "primary", "?"),
               json_integer_value(json_object_get(resp.json, "epoch")));
    vg_resp_release(&resp);
    return rc;
}

/* ---- the command table's rows ------------------------------------------ */

static const char status_help[] =
    "Shows each member's view of the cluster: its role, the epoch, the primary, the sync "
    "set, whether it hears the witness and its peer, the members' last, durable and commit "
    "indexes and the mirror's lag, the catch-up of a mirror being brought up to date, a "
    "pending witness request, the last configuration change and how many failovers, "
    "switchovers and degrades there were. Every server of --server is asked, not only the "
    "first: one that does not answer is shown as UNREACHABLE, and a warning says when the "
    "members disagree. Exits 0 when at least one server answered. -o json prints the "
    "server's answer as is; with several servers, an array of {\"server\", \"cluster\"} "
    "or {\"server\", \"error\"}.";

static const char switchover_help[] =
    "Makes the other member (or --to MEMBER) primary, in a planned way: the primary waits "
    "until the target has every record, then hands over; no acknowledged write is lost. "
    "Goes to the primary: a mirror in the --server list refuses it without acting and the "
    "next server is asked. Prints 'switchover done: MEMBER is primary at epoch N (T ms)'; "
    "-o json prints the server's answer. Exits 4 when the target is not in the sync set or "
    "does not catch up within 5 s, 6 when no primary answered. Needs an admin or operator "
    "token.";

static const char failover_help[] =
    "Forces the member at the first --server to become primary without the current "
    "primary's agreement, for when the primary is lost and the witness will not promote "
    "the mirror by itself. Acknowledged writes that this member has not received are lost: "
    "that is why both --force and --accept-data-loss are required, with --reason; without "
    "them nothing is sent (exit 2). The request goes to the first server only, never to "
    "another of the list, even when that one does not answer: sent elsewhere, it would "
    "promote the wrong member. Prints 'failover forced: MEMBER is primary at epoch N'. "
    "Needs an admin token.";

/* `vigil cluster X` and its short form `vigil X` differ only in the parent
 * and the summary. */
#define SWITCHOVER_CMD(parent_, summary_)                                                      \
    {                                                                                          \
        .name = "switchover", .run = run_switchover,                                           \
        .usage = "[--to MEMBER] [--reason TEXT] [options]", .summary = summary_,               \
        .help = switchover_help, .opts = switchover_opts, .parent = parent_,                   \
    }
#define FAILOVER_CMD(parent_, summary_)                                                        \
    {                                                                                          \
        .name = "failover", .run = run_failover,                                               \
        .usage = "--force --accept-data-loss --reason TEXT [options]", .summary = summary_,    \
        .help = failover_help, .opts = failover_opts, .parent = parent_,                       \
    }

static const struct vg_cmd cmd_status = {
    .name = "status",
    .run = run_status,
    .usage = "[options]",
    .summary = "show every member's view of the cluster",
    .help = status_help,
    .parent = "cluster",
};

static const struct vg_cmd cmd_switchover =
    SWITCHOVER_CMD("cluster", "hand the primary role to the other member");
static const struct vg_cmd cmd_failover =
    FAILOVER_CMD("cluster", "force a member to become primary (may lose writes)");

extern const struct vg_cmd vg_cmd_cluster_init;

static const struct vg_cmd *const cluster_cmds[] = {&cmd_status, &cmd_switchover, &cmd_failover,
                                                    &vg_cmd_cluster_init, NULL};

const struct vg_cmd vg_cmd_cluster = {
    .name = "cluster",
    .usage = "status|switchover|failover|init [arguments]",
    .summary = "show and steer the two-member cluster",
    .help = "Shows which member is primary and how far the mirror is behind, and moves the "
            "primary role: planned (switchover) or forced (failover); init writes a trial "
            "cluster for this machine. See also 'vigil events'.",
    .subcmds = cluster_cmds,
};

const struct vg_cmd vg_cmd_switchover =
    SWITCHOVER_CMD(NULL, "hand the primary role to the other member (cluster switchover)");
const struct vg_cmd vg_cmd_failover =
    FAILOVER_CMD(NULL, "force a member to become primary (cluster failover)");

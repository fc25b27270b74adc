/*
 * cmd_get.c - `vigil get KIND [NAME]` and `vigil delete KIND NAME`: reading
 * and removing objects.
 *
 * Kinds are typed loosely (site, sites, Site) and mapped to the server's
 * spelling with GET /api/v1/kinds. `get -o yaml` prints objects as manifests
 * that `vigil apply` accepts back (status, revision and times included: the
 * server ignores them on input).
 */
#include "cli/cli.h"

enum { OPT_IF_MATCH = 256 };

static const struct vg_opt get_opts[] = {
    {'l', "selector", "SELECTOR",
     "only objects whose labels match, like env=prod,tier!=db (k=v, k!=v, comma-separated)"},
    {0, NULL, NULL, NULL},
};

static const struct vg_opt delete_opts[] = {
    {OPT_IF_MATCH, "if-match", "REV",
     "delete only if the object is still at revision REV (else exit 4)"},
    {0, NULL, NULL, NULL},
};

static void object_path(vg_buf_t *path, const char *kind, const char *name)
{
    vg_buf_adds(path, "/api/v1/objects/");
    vg_client_escape(path, kind);
    if (name) {
        vg_buf_adds(path, "/");
        vg_client_escape(path, name);
    }
}

/* ---- get --------------------------------------------------------------- */

static int on_get_opt(void *ctx, int id, const char *arg)
{
    *(const char **)ctx = arg; /* -l */
    return VG_EXIT_OK;
}

static void add_row(struct vg_table *t, const json_t *obj, int wide)
{
    vg_buf_t labels = VG_BUF_INIT, revision = VG_BUF_INIT;
    char age[32];
    const char *name = vg_cli_str(obj, "name", "?");

    vg_cli_labels(json_object_get(obj, "labels"), &labels);
    vg_cli_scalar(json_object_get(obj, "revision"), &revision);
    if (wide) {
        const char *cells[] = {name,
                               (char *)revision.data,
                               vg_cli_str(obj, "created", "-"),
                               vg_cli_str(obj, "updated", "-"),
                               (char *)labels.data,
                               vg_cli_str(obj, "description", "")};
        vg_table_add(t, cells);
    } else {
        vg_cli_age(vg_cli_str(obj, "updated", NULL), age, sizeof age);
        const char *cells[] = {name, (char *)revision.data, age, (char *)labels.data};
        vg_table_add(t, cells);
    }
    vg_buf_release(&labels);
    vg_buf_release(&revision);
}

static int print_table(const struct vg_cli *cli, const json_t *items)
{
    static const char *const headers[] = {"NAME", "REVISION", "UPDATED", "LABELS"};
    static const char *const wide_headers[] = {"NAME",    "REVISION", "CREATED",
                                               "UPDATED", "LABELS",   "DESCRIPTION"};
    int wide = cli->output == VG_OUT_WIDE;
    struct vg_table *t = wide ? vg_table_new(6, wide_headers) : vg_table_new(4, headers);
    size_t i;
    json_t *obj;

    json_array_foreach(items, i, obj)
    {
        add_row(t, obj, wide);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
    return VG_EXIT_OK;
}

static int print_objects(const struct vg_cli *cli, const json_t *answer, int single,
                         const char *kind, const char *selector)
{
    const json_t *items = single ? NULL : json_object_get(answer, "items");

    if (!single && !json_is_array(items))
        return vg_cli_fail(VG_EXIT_ERROR, "the server's list of %s objects is malformed", kind);
    switch (cli->output) {
    case VG_OUT_JSON:
        return vg_cli_print_json(answer);
    case VG_OUT_YAML:
        return single ? vg_cli_print_yaml(answer, 0) : vg_cli_print_yaml(items, 1);
    case VG_OUT_TABLE:
    case VG_OUT_WIDE:
        break;
    }
    if (single) {
        json_t *one = json_pack("[O]", answer);
        int rc = print_table(cli, one);
        json_decref(one);
        return rc;
    }
    if (json_array_size(items) == 0) {
        if (selector)
            fprintf(stderr, "vigil: no %s objects match '%s'\n", kind, selector);
        else
            fprintf(stderr, "vigil: no %s objects\n", kind);
        return VG_EXIT_OK;
    }
    return print_table(cli, items);
}

static int run_get(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    const char *selector = NULL;
    char kind[64];
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_get_opt, &selector, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    int n_operands = argc - first;
    if (n_operands < 1)
        return vg_cli_usage(cmd, "which kind? (vigil get site)");
    if (n_operands > 2)
        return vg_cli_usage(cmd, "too many arguments");
    const char *name = n_operands == 2 ? argv[first + 1] : NULL;
    if (name && selector)
        return vg_cli_usage(cmd, "give a NAME or a -l selector, not both");
    if ((rc = vg_cli_kind(cli, argv[first], kind, sizeof kind)) != 0)
        return rc;

    vg_buf_t path = VG_BUF_INIT;
    struct vg_resp resp = VG_RESP_INIT;
    object_path(&path, kind, name);
    if (selector) {
        vg_buf_adds(&path, "?selector=");
        vg_client_escape(&path, selector);
    }
    rc = vg_cli_call(cli, NULL, "GET", (const char *)path.data, NULL, NULL, &resp);
    if (rc == 0 && !json_is_object(resp.json))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's answer is not a JSON object");
    if (rc == 0)
        rc = print_objects(cli, resp.json, name != NULL, kind, selector);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_get = {
    .name = "get",
    .run = run_get,
    .usage = "KIND [NAME] [-l SELECTOR] [-o table|wide|json|yaml]",
    .summary = "show objects of a kind, or one object",
    .help = "Shows the objects of KIND (site, sites and Site all mean Site), or the one "
            "called NAME. The table has the columns NAME, REVISION (log index of the last "
            "change), UPDATED (how long ago) and LABELS; -o wide adds the creation and "
            "update times and the description. -o json prints the server's answer: one "
            "object, or {\"kind\", \"items\", \"revision\"} for a list, whose revision is the "
            "one to give 'vigil watch --from'. -o yaml prints manifests 'vigil apply' takes "
            "back. An empty list prints nothing on stdout and exits 0; a missing NAME exits "
            "3.",
    .opts = get_opts,
};

/* ---- delete ------------------------------------------------------------ */

static int on_delete_opt(void *ctx, int id, const char *arg)
{
    unsigned long long rev;
    int rc = vg_cli_parse_uint("--if-match", arg, &rev);
    if (rc == 0)
        *(const char **)ctx = arg;
    return rc;
}

static int run_delete(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    const char *if_match = NULL;
    char kind[64], ref[160];
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_delete_opt, &if_match, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 2)
        return vg_cli_usage(cmd, "give the KIND and the NAME of the object to delete");
    const char *name = argv[first + 1];
    if ((rc = vg_cli_kind(cli, argv[first], kind, sizeof kind)) != 0)
        return rc;

    vg_buf_t path = VG_BUF_INIT;
    struct vg_resp resp = VG_RESP_INIT;
    object_path(&path, kind, name);
    vg_cli_object_ref(NULL, kind, name, ref, sizeof ref);
    rc = vg_cli_call(cli, NULL, "DELETE", (const char *)path.data, NULL, if_match, &resp);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        printf("%s deleted\n", ref);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_delete = {
    .name = "delete",
    .run = run_delete,
    .usage = "KIND NAME [--if-match REV] [options]",
    .summary = "delete an object",
    .help = "Deletes the object NAME of KIND and prints 'KIND/NAME deleted'; with -o json "
            "or yaml, the deleted object (its revision is the deletion's). Exits 3 if there "
            "is no such object.",
    .opts = delete_opts,
};

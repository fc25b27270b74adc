/*
 * cmd_explain.c - `vigil explain [KIND [FIELD]]`: what a manifest may hold,
 * from the schemas the server itself validates with (GET /api/v1/kinds),
 * so the answer is never out of date with the server it talks to.
 */
#include "cli/cli.h"

/* "string (max 64)", "integer 0..1440", "one of: a, b, c", "list (max 16)" */
static void field_type(const json_t *f, vg_buf_t *out)
{
    const char *type = vg_cli_str(f, "type", "?");
    const json_t *values = json_object_get(f, "enum");
    if (json_array_size(values)) {
        vg_buf_adds(out, "one of: ");
        size_t i;
        json_t *v;
        json_array_foreach(values, i, v)
            vg_buf_printf(out, "%s%s", i ? ", " : "", json_string_value(v));
        return;
    }
    vg_buf_adds(out, type);
    const json_t *min = json_object_get(f, "min"), *max = json_object_get(f, "max");
    if (json_is_number(min) && json_is_number(max))
        vg_buf_printf(out, " %g..%g", json_number_value(min), json_number_value(max));
    else if (json_is_number(max))
        vg_buf_printf(out, " (max %g)", json_number_value(max));
}

static void print_field(const json_t *f, vg_buf_t *out)
{
    vg_buf_t type = VG_BUF_INIT;
    field_type(f, &type);
    vg_buf_printf(out, "  %-22s %-9s %s\n", vg_cli_str(f, "name", "?"),
                  json_is_true(json_object_get(f, "required")) ? "required" : "",
                  (const char *)type.data);
    const char *help = vg_cli_str(f, "help", "");
    if (*help)
        vg_buf_printf(out, "  %-22s %-9s   %s\n", "", "", help);
    vg_buf_release(&type);
}

static const json_t *kind_named(const json_t *kinds, const char *name)
{
    size_t i;
    json_t *k;
    json_array_foreach(kinds, i, k)
    {
        if (!strcmp(vg_cli_str(k, "kind", ""), name))
            return k;
    }
    return NULL;
}

static int explain_kind(const struct vg_cli *cli, const json_t *k, const char *field)
{
    const json_t *fields = json_object_get(k, "fields");
    if (field) {
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f)
        {
            if (strcmp(vg_cli_str(f, "name", ""), field))
                continue;
            if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
                return vg_cli_print_value(cli, f);
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_printf(&b, "%s.spec.%s\n", vg_cli_str(k, "kind", "?"), field);
            print_field(f, &b);
            fwrite(b.data, 1, b.len, stdout);
            vg_buf_release(&b);
            return VG_EXIT_OK;
        }
        vg_buf_t names = VG_BUF_INIT;
        json_array_foreach(fields, i, f)
            vg_buf_printf(&names, "%s%s", i ? ", " : "", vg_cli_str(f, "name", "?"));
        int rc = vg_cli_fail(VG_EXIT_NOT_FOUND, "%s has no field '%s' (its fields: %s)",
                             vg_cli_str(k, "kind", "?"), field, (const char *)names.data);
        vg_buf_release(&names);
        return rc;
    }
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, k);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s: %s\n\nmanifest: kind, name, labels, description, spec\nspec:\n",
                  vg_cli_str(k, "kind", "?"), vg_cli_str(k, "help", ""));
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) print_field(f, &b);
    fwrite(b.data, 1, b.len, stdout);
    vg_buf_release(&b);
    return VG_EXIT_OK;
}

static int run_explain(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first > 2)
        return vg_cli_usage(cmd, "give a kind and at most one field");
    const json_t *kinds;
    if ((rc = vg_cli_kinds(cli, &kinds)) != 0)
        return rc;
    if (first == argc) {
        if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
            return vg_cli_print_value(cli, kinds);
        size_t i;
        json_t *k;
        json_array_foreach(kinds, i, k)
            printf("%-18s %s\n", vg_cli_str(k, "kind", "?"), vg_cli_str(k, "help", ""));
        return VG_EXIT_OK;
    }
    char kind[64];
    if ((rc = vg_cli_kind(cli, argv[first], kind, sizeof kind)) != 0)
        return rc;
    return explain_kind(cli, kind_named(kinds, kind), first + 1 < argc ? argv[first + 1] : NULL);
}

const struct vg_cmd vg_cmd_explain = {
    .name = "explain",
    .run = run_explain,
    .usage = "[KIND [FIELD]] [options]",
    .summary = "what a manifest of a kind may hold, field by field",
    .help = "Without a kind, lists the kinds the server knows. With one (Sensor, sensors, "
            "escalationpolicy...), shows its spec's fields: whether each is required, its type "
            "and bounds, and what it means; with a field, that field only. Read from the "
            "server's own schemas (GET /api/v1/kinds), the ones it validates manifests with.",
};

/*
 * output.c - how the CLI prints results: JSON and YAML. Everything here
 * writes to stdout (results) and reports its own failures on stderr; the
 * text of tables and cells is made by format.c.
 */
#include "cli/cli.h"

#include <ctype.h>

#include "core/yamljson.h"

int vg_cli_print_json(const json_t *v)
{
    if (!v)
        return vg_cli_fail(VG_EXIT_ERROR, "the server's answer is not JSON");
    if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) != 0)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot write JSON");
    fputc('\n', stdout);
    return VG_EXIT_OK;
}

int vg_cli_print_yaml(const json_t *v, int many_docs)
{
    vg_buf_t out = VG_BUF_INIT;
    char err[256];
    if (!v)
        return vg_cli_fail(VG_EXIT_ERROR, "the server's answer is not JSON");
    int rc = many_docs ? vg_yamljson_emit_docs(v, &out, err, sizeof err)
                       : vg_yamljson_emit(v, 0, &out, err, sizeof err);
    if (rc < 0)
        rc = vg_cli_fail(VG_EXIT_ERROR, "%s", err);
    else if (out.len)
        fwrite(out.data, 1, out.len, stdout);
    vg_buf_release(&out);
    return rc;
}

int vg_cli_print_value(const struct vg_cli *cli, const json_t *v)
{
    if (cli->output == VG_OUT_YAML)
        return vg_cli_print_yaml(v, 0);
    return vg_cli_print_json(v);
}

void vg_cli_object_ref(const json_t *obj, const char *kind, const char *name, char *out,
                       size_t outlen)
{
    if (!kind)
        kind = vg_cli_str(obj, "kind", "?");
    if (!name)
        name = vg_cli_str(obj, "name", "?");
    size_t n = 0;
    for (; kind[n] && n + 1 < outlen; n++)
        out[n] = (char)tolower((unsigned char)kind[n]);
    snprintf(out + n, outlen - n, "/%s", name);
}

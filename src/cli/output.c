/*
 * output.c - how the CLI shows results: JSON, YAML, aligned tables, ages and
 * label lists. Everything here writes to stdout (results) and reports its
 * own failures on stderr.
 */
#include "cli/cli.h"

#include <ctype.h>
#include <time.h>

#include "core/yamljson.h"

struct vg_table {
    size_t n_cols;
    size_t n_rows; /* including the header row */
    char **cells;  /* n_rows * n_cols, row-major */
};

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

const char *vg_cli_str(const json_t *obj, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : fallback;
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

/* ---- tables ------------------------------------------------------------ */

struct vg_table *vg_table_new(size_t n_cols, const char *const *headers)
{
    struct vg_table *t = vg_calloc(1, sizeof *t);
    t->n_cols = n_cols;
    vg_table_add(t, headers);
    return t;
}

/* A copy of a cell with control characters (a description may hold terminal
 * escapes or newlines) shown as '?', so one row stays one line. */
static char *clean_cell(const char *text)
{
    char *copy = vg_strdup(text ? text : "");
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return copy;
}

void vg_table_add(struct vg_table *t, const char *const *cells)
{
    t->cells = vg_realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof *t->cells);
    for (size_t c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows * t->n_cols + c] = clean_cell(cells[c]);
    t->n_rows++;
}

void vg_table_print(const struct vg_table *t, FILE *out)
{
    size_t *width = vg_calloc(t->n_cols, sizeof *width);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > width[i % t->n_cols])
            width[i % t->n_cols] = len;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        char *const *row = t->cells + r * t->n_cols;
        size_t n = t->n_cols;
        while (n > 1 && row[n - 1][0] == 0)
            n--; /* no trailing padding for empty last cells */
        for (size_t c = 0; c < n; c++) {
            if (c + 1 == n)
                fprintf(out, "%s\n", row[c]);
            else
                fprintf(out, "%-*s   ", (int)width[c], row[c]);
        }
    }
    free(width);
}

void vg_table_free(struct vg_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

/* ---- cells ------------------------------------------------------------- */

void vg_cli_age(const char *rfc3339, char *out, size_t outlen)
{
    struct tm tm = {0};
    char zone = 0;
    snprintf(out, outlen, "-");
    if (!rfc3339 || sscanf(rfc3339, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return;
    const char *rest = rfc3339 + 19;
    if (*rest == '.')
        rest += 1 + strspn(rest + 1, "0123456789");
    zone = *rest;
    if (zone != 'Z' && zone != 'z')
        return; /* the API gives UTC; anything else is not worth guessing */
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t then = timegm(&tm);
    long long age = (long long)difftime(time(NULL), then);
    if (age < 0)
        age = 0;
    if (age < 120)
        snprintf(out, outlen, "%llds", age);
    else if (age < 120 * 60)
        snprintf(out, outlen, "%lldm", age / 60);
    else if (age < 48 * 3600)
        snprintf(out, outlen, "%lldh", age / 3600);
    else
        snprintf(out, outlen, "%lldd", age / 86400);
}

void vg_cli_scalar(const json_t *v, vg_buf_t *out)
{
    if (json_is_string(v)) {
        vg_buf_adds(out, json_string_value(v));
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    vg_buf_adds(out, text ? text : "?");
    free(text);
}

void vg_cli_labels(const json_t *labels, vg_buf_t *out)
{
    const char *key;
    json_t *value;
    size_t start = out->len;

    json_object_foreach((json_t *)labels, key, value)
    {
        vg_buf_printf(out, "%s%s=", out->len > start ? "," : "", key);
        vg_cli_scalar(value, out);
    }
    if (out->len == start)
        vg_buf_adds(out, "<none>");
}

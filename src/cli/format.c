/*
 * format.c - the text of the CLI's results: aligned tables, ages, label
 * lists and scalars. Pure: everything is appended to a buffer or returned,
 * nothing is printed except by vg_table_print, so the unit tests can check
 * exactly what a person would see.
 *
 * Cells come from the server and are untrusted: control characters (a
 * description may hold terminal escapes or newlines) are shown as '?', so
 * one row stays one line and nothing from the server drives the terminal.
 */
#include "cli/cli.h"

#include <time.h>

struct vg_table {
    size_t n_cols;
    size_t n_rows; /* including the header row */
    char **cells;  /* n_rows * n_cols, row-major */
    vg_table_colour_fn colour;
};

/* ---- tables ------------------------------------------------------------ */

struct vg_table *vg_table_new(size_t n_cols, const char *const *headers)
{
    struct vg_table *t = vg_calloc(1, sizeof *t);
    t->n_cols = n_cols;
    vg_table_add(t, headers);
    return t;
}

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

void vg_table_set_colour(struct vg_table *t, vg_table_colour_fn colour)
{
    t->colour = colour;
}

/* One cell, coloured when the hook says so (never the header row), padded
 * to width with spaces outside the colour. */
static void format_cell(const struct vg_table *t, size_t row, size_t col, size_t width,
                        vg_buf_t *out)
{
    const char *cell = t->cells[row * t->n_cols + col];
    const char *sgr = row > 0 && t->colour ? t->colour(col, cell) : NULL;
    if (sgr)
        vg_buf_printf(out, "\033[%sm%s\033[0m", sgr, cell);
    else
        vg_buf_adds(out, cell);
    for (size_t pad = strlen(cell); pad < width; pad++)
        vg_buf_add(out, " ", 1);
}

void vg_table_format(const struct vg_table *t, vg_buf_t *out)
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
            format_cell(t, r, c, c + 1 == n ? 0 : width[c], out);
            vg_buf_adds(out, c + 1 == n ? "\n" : "   ");
        }
    }
    free(width);
}

void vg_table_print(const struct vg_table *t, FILE *out)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_table_format(t, &text);
    if (text.len)
        fwrite(text.data, 1, text.len, out);
    vg_buf_release(&text);
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

const char *vg_cli_str(const json_t *obj, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : fallback;
}

void vg_cli_age_at(const char *rfc3339, time_t now, char *out, size_t outlen)
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
    long long age = (long long)difftime(now, then);
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

void vg_cli_age(const char *rfc3339, char *out, size_t outlen)
{
    vg_cli_age_at(rfc3339, time(NULL), out, outlen);
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

/*
 * training_csv.c - `vigil training import`'s reading of a CSV export
 * (training_csv.h). Runs in the CLI on a file a person gives, possibly a
 * spreadsheet's export with typos or binary junk: every line is checked
 * and every message built, whatever the bytes, before anything is sent, so
 * a bad file writes nothing. Each manifest also passes the same schema
 * check the server applies (schema.c), so what is accepted here is not
 * refused halfway through the import.
 */
#include "training/training_csv.h"

#include <ctype.h>
#include <stdarg.h>
#include <strings.h>

#include "core/names.h"
#include "core/text.h"
#include "core/utf8.h"
#include "schema/schema.h"
#include "training/caldate.h"

#define MAX_FIELDS 16
#define SHOW_MAX   96 /* bytes of a shown value */

enum col { COL_PERSON, COL_COURSE, COL_DATE, COL_EVIDENCE, N_COLS };
static const char *const col_names[N_COLS] = {"person", "course", "completed_on", "evidence"};

struct field {
    const char *text; /* into the line's scratch buffer; may hold NUL bytes */
    size_t len;
};

struct parser {
    json_t *manifests, *errors;
    json_t *seen;         /* object name -> line it came from */
    size_t n_bad;         /* bad lines, shown or not */
    int field_of[N_COLS]; /* which field of a line holds each column; -1: none */
    size_t n_cols;        /* fields the header names */
    unsigned line;
};

static void add_error(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_error(struct parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vg_text_clean_inplace(msg, sizeof msg, 0); /* shown values are already clean */
    if (p->n_bad++ < VG_TRAINING_CSV_MAX_ERRORS)
        json_array_append_new(p->errors, json_string(msg));
}

static const char *show(char out[SHOW_MAX], const struct field *f)
{
    vg_text_clean(out, SHOW_MAX, f->text, f->len, 0);
    return out;
}

/* A quoted field starting after its opening quote; *pos ends after the
 * closing one. */
static int read_quoted(const char *line, size_t len, size_t *pos, char *out, size_t *out_len)
{
    size_t i = *pos, n = 0;
    for (; i < len; i++) {
        if (line[i] != '"') {
            out[n++] = line[i];
        } else if (i + 1 < len && line[i + 1] == '"') {
            out[n++] = '"';
            i++;
        } else {
            *pos = i + 1;
            *out_len = n;
            return 0;
        }
    }
    return -EINVAL;
}

static size_t skip_blanks(const char *line, size_t len, size_t pos)
{
    while (pos < len && (line[pos] == ' ' || line[pos] == '\t'))
        pos++;
    return pos;
}

/* Splits one line into fields, unquoted into scratch (len bytes or more). */
static int split_fields(struct parser *p, const char *line, size_t len, char *scratch,
                        struct field *fields, size_t *n_fields)
{
    size_t pos = 0, used = 0, n = 0;
    for (;;) {
        if (n == MAX_FIELDS) {
            add_error(p, "line %u: more than %d columns", p->line, MAX_FIELDS);
            return -EINVAL;
        }
        pos = skip_blanks(line, len, pos);
        fields[n].text = scratch + used;
        if (pos < len && line[pos] == '"') {
            pos++;
            if (read_quoted(line, len, &pos, scratch + used, &fields[n].len)) {
                add_error(p, "line %u: a quote opened in column %zu is not closed", p->line,
                          n + 1);
                return -EINVAL;
            }
            pos = skip_blanks(line, len, pos);
            if (pos < len && line[pos] != ',') {
                add_error(p, "line %u: text after the closing quote of column %zu", p->line,
                          n + 1);
                return -EINVAL;
            }
        } else {
            size_t start = pos, end;
            while (pos < len && line[pos] != ',')
                pos++;
            for (end = pos; end > start && (line[end - 1] == ' ' || line[end - 1] == '\t');)
                end--;
            memcpy(scratch + used, line + start, end - start);
            fields[n].len = end - start;
        }
        used += fields[n++].len;
        if (pos >= len)
            break;
        pos++; /* the comma */
    }
    *n_fields = n;
    return 0;
}

static int header_column(const struct field *f)
{
    for (int c = 0; c < N_COLS; c++)
        if (f->len == strlen(col_names[c]) && strncasecmp(f->text, col_names[c], f->len) == 0)
            return c;
    return -1;
}

static int read_header(struct parser *p, const struct field *fields, size_t n_fields)
{
    char shown[SHOW_MAX];
    for (int c = 0; c < N_COLS; c++)
        p->field_of[c] = -1;
    for (size_t i = 0; i < n_fields; i++) {
        int c = header_column(&fields[i]);
        if (c < 0 || p->field_of[c] >= 0) {
            add_error(p,
                      "line %u: %s column '%s' (the header names person, course, "
                      "completed_on and optionally evidence)",
                      p->line, c < 0 ? "unknown" : "a second", show(shown, &fields[i]));
            return -EINVAL;
        }
        p->field_of[c] = (int)i;
    }
    for (int c = 0; c < COL_EVIDENCE; c++)
        if (p->field_of[c] < 0) {
            add_error(p,
                      "line %u: no %s column (the header names person, course, "
                      "completed_on and optionally evidence)",
                      p->line, col_names[c]);
            return -EINVAL;
        }
    p->n_cols = n_fields;
    return 0;
}

static int check_name_col(struct parser *p, const struct field *f, enum col c)
{
    char shown[SHOW_MAX], why[256], name[VG_NAME_MAX + 2];
    if (f->len == 0) {
        add_error(p, "line %u, %s: empty", p->line, col_names[c]);
        return -EINVAL;
    }
    int bad = f->len > VG_NAME_MAX || memchr(f->text, '\0', f->len) != NULL;
    if (bad)
        snprintf(why, sizeof why, "at most %d of a-z 0-9 . - _", VG_NAME_MAX);
    else {
        memcpy(name, f->text, f->len);
        name[f->len] = '\0';
        bad = vg_name_check(name, why, sizeof why) != 0;
    }
    const char *reason = strncmp(why, "invalid name: ", 14) == 0 ? why + 14 : why;
    if (bad)
        add_error(p, "line %u, %s: '%s' is not a valid name: %s", p->line, col_names[c],
                  show(shown, f), reason);
    return bad ? -EINVAL : 0;
}

static int check_date_col(struct parser *p, const struct field *f)
{
    char shown[SHOW_MAX], why[128];
    int32_t day;
    if (vg_caldate_parse(f->text, f->len, &day, why, sizeof why) == 0)
        return 0;
    add_error(p, "line %u, completed_on: '%s' is not a date (%s)", p->line, show(shown, f),
              why);
    return -EINVAL;
}

static int check_evidence_col(struct parser *p, const struct field *f)
{
    if (vg_utf8_check(f->text, f->len) == f->len && !memchr(f->text, '\0', f->len))
        return 0;
    add_error(p, "line %u, evidence: holds a NUL byte or is not valid UTF-8", p->line);
    return -EINVAL;
}

/* The manifest of a checked line (person, course and date are ASCII). */
static json_t *line_manifest(const struct field *v[N_COLS], char name[VG_NAME_MAX + 1])
{
    char person[VG_NAME_MAX + 1], course[VG_NAME_MAX + 1], date[VG_CALDATE_LEN + 1];
    snprintf(person, sizeof person, "%.*s", (int)v[COL_PERSON]->len, v[COL_PERSON]->text);
    snprintf(course, sizeof course, "%.*s", (int)v[COL_COURSE]->len, v[COL_COURSE]->text);
    snprintf(date, sizeof date, "%.*s", (int)v[COL_DATE]->len, v[COL_DATE]->text);
    vg_training_completion_name(person, course, date, name, VG_NAME_MAX + 1);
    json_t *spec =
        json_pack("{s:s, s:s, s:s}", "person", person, "course", course, "completed_on", date);
    if (v[COL_EVIDENCE] && v[COL_EVIDENCE]->len)
        json_object_set_new(spec, "evidence",
                            json_stringn(v[COL_EVIDENCE]->text, v[COL_EVIDENCE]->len));
    return json_pack("{s:s, s:s, s:o}", "kind", "Completion", "name", name, "spec", spec);
}

/* The server's own check of the manifest; a failure names the column. */
static json_t *validate(struct parser *p, const json_t *manifest)
{
    char err[512], field[128];
    json_t *norm = NULL;
    if (vg_schema_validate(manifest, "Completion", NULL, &norm, err, sizeof err, field,
                           sizeof field) == 0)
        return norm;
    size_t plen = strlen(field);
    const char *msg = strncmp(err, field, plen) == 0 && strncmp(err + plen, ": ", 2) == 0
                          ? err + plen + 2
                          : err;
    const char *col = strncmp(field, "spec.", 5) == 0 ? field + 5 : field;
    add_error(p, "line %u, %s: %s", p->line, *col ? col : "?", msg);
    return NULL;
}

static void read_row(struct parser *p, const struct field *fields, size_t n_fields)
{
    const struct field *v[N_COLS] = {0};
    if (n_fields != p->n_cols) {
        add_error(p, "line %u: %zu columns, the header names %zu", p->line, n_fields,
                  p->n_cols);
        return;
    }
    for (int c = 0; c < N_COLS; c++)
        v[c] = p->field_of[c] >= 0 ? &fields[p->field_of[c]] : NULL;
    int bad = check_name_col(p, v[COL_PERSON], COL_PERSON);
    bad |= check_name_col(p, v[COL_COURSE], COL_COURSE);
    bad |= check_date_col(p, v[COL_DATE]);
    if (v[COL_EVIDENCE])
        bad |= check_evidence_col(p, v[COL_EVIDENCE]);
    if (bad)
        return;
    char name[VG_NAME_MAX + 1];
    json_t *manifest = line_manifest(v, name);
    json_t *norm = validate(p, manifest);
    json_decref(manifest);
    const json_t *seen = json_object_get(p->seen, name);
    if (norm && seen)
        add_error(p, "line %u: the same completion as line %" JSON_INTEGER_FORMAT, p->line,
                  json_integer_value(seen));
    else if (norm)
        json_object_set_new(p->seen, name, json_integer(p->line));
    if (norm && !seen)
        json_array_append(p->manifests, norm);
    json_decref(norm);
}

static int is_blank(const char *line, size_t len)
{
    return skip_blanks(line, len, 0) == len;
}

/* One physical line (without its end of line). A bad data line is noted
 * and reading goes on; a bad header or too many lines stop it (< 0). */
static int read_line(struct parser *p, const char *line, size_t len, int *header_done)
{
    struct field fields[MAX_FIELDS];
    size_t n_fields = 0;
    if (is_blank(line, len))
        return 0;
    char *scratch = vg_malloc(len + 1);
    int rc = split_fields(p, line, len, scratch, fields, &n_fields);
    if (!*header_done) {
        *header_done = 1;
        if (rc == 0)
            rc = read_header(p, fields, n_fields);
    } else if (rc) {
        rc = 0;
    } else if (json_array_size(p->manifests) + p->n_bad >= VG_TRAINING_CSV_MAX_ROWS) {
        add_error(p, "line %u: more than %d completions; split the file", p->line,
                  VG_TRAINING_CSV_MAX_ROWS);
        rc = -E2BIG;
    } else {
        read_row(p, fields, n_fields);
    }
    free(scratch);
    return rc;
}

static void read_lines(struct parser *p, const char *text, size_t len)
{
    int header_done = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) { /* a byte order mark */
        text += 3;
        len -= 3;
    }
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, line_len = end - pos;
        p->line++;
        if (line_len && text[pos + line_len - 1] == '\r')
            line_len--;
        if (read_line(p, text + pos, line_len, &header_done))
            return;
        pos = end + 1;
    }
    if (!header_done)
        add_error(p, "the file is empty: expected a header line "
                     "(person,course,completed_on[,evidence])");
    else if (!p->n_bad && json_array_size(p->manifests) == 0)
        add_error(p, "no completions after the header");
}

int vg_training_csv_parse(const char *text, size_t len, json_t **manifests, json_t **errors)
{
    struct parser p = {
        .manifests = json_array(), .errors = json_array(), .seen = json_object()};
    read_lines(&p, text, len);
    json_decref(p.seen);
    if (p.n_bad > VG_TRAINING_CSV_MAX_ERRORS) {
        char more[96];
        snprintf(more, sizeof more, "... and %zu more bad lines",
                 p.n_bad - VG_TRAINING_CSV_MAX_ERRORS);
        json_array_append_new(p.errors, json_string(more));
    }
    if (p.n_bad) {
        json_decref(p.manifests);
        *manifests = NULL;
        *errors = p.errors;
        return -EINVAL;
    }
    json_decref(p.errors);
    *manifests = p.manifests;
    *errors = NULL;
    return 0;
}

/* FNV-1a, 64 bits: a stable short digest for names, not a security hash. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

void vg_training_completion_name(const char *person, const char *course, const char *date,
                                 char *out, size_t outlen)
{
    char full[3 * VG_NAME_MAX + 8];
    size_t n = (size_t)snprintf(full, sizeof full, "%s--%s--%s", person, course, date);
    if (n <= VG_NAME_MAX) {
        snprintf(out, outlen, "%s", full);
        return;
    }
    size_t keep = VG_NAME_MAX - 17; /* "-" and 16 hex digits */
    while (keep > 1 && !isalnum((unsigned char)full[keep - 1]))
        keep--; /* a name's part before "-" ends with a letter or digit */
    snprintf(out, outlen, "%.*s-%016llx", (int)keep, full, (unsigned long long)fnv1a(full));
}

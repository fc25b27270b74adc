/*
 * schema.c - the registry of object kinds and the one validator every
 * manifest passes through before it becomes a record in the log.
 *
 * Input is a client's JSON body (at most 1 MiB, possibly hostile), so this
 * file must never crash, never modify the manifest and never accept a field
 * it does not know: what is stored is exactly what the kind's table allows.
 * Failures name the dotted path of the field at fault ("spec.tier",
 * "labels.env", "spec.contacts[2]") in the field buffer and start the
 * message with it. Bytes from the input are echoed only through show(),
 * which escapes everything outside printable ASCII, so messages stay pure
 * ASCII and remain valid UTF-8 for JSON error bodies even when truncated.
 *
 * Rules beyond schema.h: a JSON null counts as an absent field (YAML turns
 * "labels:" with nothing after it into null); required string fields must
 * not be empty; strings must not contain control characters (C0, DEL, C1),
 * except that the free-text description may hold newlines and tabs; a
 * STRING field's max (or 1024 if none) bounds its length in characters,
 * a STRING_LIST field's max (or 256) bounds its number of items (each item
 * is held to the 1024-character default). Every string and key must be
 * valid UTF-8 (jansson's parser guarantees it, trees built in code may not).
 *
 * Free-form fields (VG_F_OBJECT: spec.options, spec.source, ...; VG_F_LIST:
 * lists of objects such as spec.steps, whose elements the kind's check hook
 * checks with vg_schema_check_fields) are kept as given, within schema.h's VG_SCHEMA_FREE_*
 * limits on depth, members, key and string length and size; keys must not hold NUL (jansson
 * cuts a key at its first NUL when it is written out) or control characters. The whole
 * normalized object is held to VG_SCHEMA_OBJECT_BYTES. These limits are what makes "accepted"
 * mean "can be logged, replayed and snapshotted".
 *
 * A kind's check hook runs last, on the normalized spec, and writes the
 * full dotted path ("spec.area_m2") into field and a message starting
 * with that path into err.
 */
#include "schema/schema.h"

#include "core/jsonout.h"
#include "core/names.h"
#include "core/text.h"
#include "core/utf8.h"

#define DESCRIPTION_MAX 1024                 /* characters */
#define STRING_MAX      VG_SCHEMA_STRING_MAX /* characters, when a field sets no max */
#define LABELS_MAX      64
#define SHOW_BYTES      64 /* input bytes echoed in a message before "..." */
#define SHOW_BUF        (SHOW_BYTES * 4 + 4)
#define PATH_BUF        (SHOW_BUF + 32)
#define LIST_BUF        512

/* Every kind is one file defining one row; adding a kind adds a line here. */
extern const struct vg_kind vg_kind_site;
extern const struct vg_kind vg_kind_zone;
extern const struct vg_kind vg_kind_device;
extern const struct vg_kind vg_kind_sensor;
extern const struct vg_kind vg_kind_rule;
extern const struct vg_kind vg_kind_person;
extern const struct vg_kind vg_kind_team;
extern const struct vg_kind vg_kind_schedule;
extern const struct vg_kind vg_kind_escalation_policy;
extern const struct vg_kind vg_kind_contact;
extern const struct vg_kind vg_kind_silence;
extern const struct vg_kind vg_kind_maintenance;
extern const struct vg_kind vg_kind_course;
extern const struct vg_kind vg_kind_completion;
extern const struct vg_kind vg_kind_failover_policy;
extern const struct vg_kind vg_kind_service;

static const struct vg_kind *const kinds[] = {
    &vg_kind_site,
    &vg_kind_zone,
    &vg_kind_device,
    &vg_kind_sensor,
    &vg_kind_rule,
    &vg_kind_person,
    &vg_kind_team,
    &vg_kind_schedule,
    &vg_kind_escalation_policy,
    &vg_kind_contact,
    &vg_kind_silence,
    &vg_kind_maintenance,
    &vg_kind_course,
    &vg_kind_completion,
    &vg_kind_failover_policy,
    &vg_kind_service,
    NULL,
};

static const char *const top_fields[] = {"kind", "name", "labels", "description", "spec", NULL};
static const char *const server_fields[] = {"status", "revision", "created", "updated", NULL};

const struct vg_kind *vg_schema_kind(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const struct vg_kind *const *vg_schema_kinds(void)
{
    return kinds;
}

/* Copies len bytes of s into buf as printable ASCII: other bytes become
 * \xNN and input beyond SHOW_BYTES becomes "...". Returns buf. */
static const char *show(char buf[SHOW_BUF], const char *s, size_t len)
{
    size_t out = 0;
    for (size_t i = 0; i < len && i < SHOW_BYTES; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            buf[out++] = (char)c;
        else
            out += (size_t)snprintf(buf + out, SHOW_BUF - out, "\\x%02x", c);
    }
    if (len > SHOW_BYTES)
        out += (size_t)snprintf(buf + out, SHOW_BUF - out, "...");
    buf[out] = '\0';
    return buf;
}

static const char *show_str(char buf[SHOW_BUF], const char *s)
{
    return show(buf, s, strlen(s));
}

int vg_report_fail(const struct vg_report *r, const char *path, const char *fmt, ...)
{
    char msg[LIST_BUF + PATH_BUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->field && r->fieldlen)
        snprintf(r->field, r->fieldlen, "%s", path);
    if (!*path)
        return vg_err(r->err, r->errlen, -EINVAL, "%s", msg);
    return vg_err(r->err, r->errlen, -EINVAL, "%s: %s", path, msg);
}

static void child_path(char out[PATH_BUF], const char *parent, const char *key)
{
    char shown[SHOW_BUF];
    snprintf(out, PATH_BUF, "%s%s%s", parent, *parent ? "." : "", show_str(shown, key));
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static const char *field_type_name(enum vg_ftype type)
{
    static const char *const names[] = {
        [VG_F_STRING] = "string",
        [VG_F_INT] = "integer",
        [VG_F_NUMBER] = "number",
        [VG_F_BOOL] = "boolean",
        [VG_F_ENUM] = "enum",
        [VG_F_NAME] = "name",
        [VG_F_STRING_LIST] = "string-list",
        [VG_F_OBJECT] = "object",
        [VG_F_LIST] = "list",
    };
    if ((size_t)type >= VG_ARRAY_LEN(names) || !names[type])
        VG_BUG("field type %d has no name", (int)type);
    return names[type];
}

/* NULL when key is absent or null: both mean "not given". */
static const json_t *get_given(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* jansson allows NUL inside keys set through json_object_setn; such a key
 * would pass every check on its first part, so it is refused outright. */
static int key_has_nul(const char *key)
{
    return strlen(key) != json_object_iter_key_len(json_object_key_to_iter(key));
}

static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static void join(char out[LIST_BUF], const char *const *list)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; list[i] && used < LIST_BUF; i++)
        used += (size_t)snprintf(out + used, LIST_BUF - used, "%s%s", i ? ", " : "", list[i]);
}

static void join_kinds(char out[LIST_BUF])
{
    const char *names[VG_ARRAY_LEN(kinds)];
    size_t n = 0;
    for (; kinds[n]; n++)
        names[n] = kinds[n]->name;
    names[n] = NULL;
    join(out, names);
}

static void join_fields(char out[LIST_BUF], const struct vg_field *fields)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; fields[i].name && used < LIST_BUF; i++)
        used += (size_t)snprintf(out + used, LIST_BUF - used, "%s%s", i ? ", " : "",
                                 fields[i].name);
}

/* C0, DEL and C1 (U+0080..U+009F, encoded C2 80..C2 9F) controls. */
static int is_control_at(const unsigned char *p, size_t left, int allow_newlines)
{
    if (allow_newlines && (*p == '\n' || *p == '\t'))
        return 0;
    return vg_utf8_is_control(p, left);
}

/* Rejects invalid UTF-8, control characters (including NUL) and more than
 * max_chars characters. */
static int check_text(const json_t *v, const char *path, int allow_newlines, size_t max_chars,
                      const struct vg_report *r)
{
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t len = json_string_length(v);
    size_t n_chars = 0, bad = vg_utf8_check((const char *)s, len);
    if (bad < len)
        return vg_report_fail(r, path, "not valid UTF-8 at byte %zu", bad);
    for (size_t i = 0; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            n_chars++;
        if (is_control_at(s + i, len - i, allow_newlines))
            return vg_report_fail(r, path, "control character at position %zu is not allowed",
                                  n_chars);
    }
    if (n_chars > max_chars)
        return vg_report_fail(r, path, "%zu characters long, at most %zu allowed", n_chars,
                              max_chars);
    return 0;
}

static int expect_string(const json_t *v, const char *path, const struct vg_report *r)
{
    if (!json_is_string(v))
        return vg_report_fail(r, path, "expected string, got %s", json_type_name(v));
    return 0;
}

/* ---- spec field checkers, one per vg_ftype ---- */

typedef int (*field_checker)(const struct vg_field *f, const json_t *v, const char *path,
                             const struct vg_report *r);

static int check_string(const struct vg_field *f, const json_t *v, const char *path,
                        const struct vg_report *r)
{
    int rc = expect_string(v, path, r);
    if (rc)
        return rc;
    if (f->required && json_string_length(v) == 0)
        return vg_report_fail(r, path, "must not be empty");
    return check_text(v, path, 0, f->max > 0 ? (size_t)f->max : STRING_MAX, r);
}

static int has_range(const struct vg_field *f)
{
    return f->min < f->max;
}

static int check_int(const struct vg_field *f, const json_t *v, const char *path,
                     const struct vg_report *r)
{
    if (!json_is_integer(v))
        return vg_report_fail(r, path, "expected integer, got %s", json_type_name(v));
    json_int_t n = json_integer_value(v);
    if (has_range(f) && ((double)n < f->min || (double)n > f->max))
        return vg_report_fail(r, path, "%" JSON_INTEGER_FORMAT " is out of range %.15g..%.15g",
                              n, f->min, f->max);
    return 0;
}

static int check_number(const struct vg_field *f, const json_t *v, const char *path,
                        const struct vg_report *r)
{
    if (!json_is_number(v))
        return vg_report_fail(r, path, "expected number, got %s", json_type_name(v));
    double x = json_number_value(v);
    if (has_range(f) && (x < f->min || x > f->max))
        return vg_report_fail(r, path, "%.15g is out of range %.15g..%.15g", x, f->min, f->max);
    return 0;
}

static int check_bool(const struct vg_field *f, const json_t *v, const char *path,
                      const struct vg_report *r)
{
    if (!json_is_boolean(v))
        return vg_report_fail(r, path, "expected boolean, got %s", json_type_name(v));
    return 0;
}

static int check_enum(const struct vg_field *f, const json_t *v, const char *path,
                      const struct vg_report *r)
{
    int rc = expect_string(v, path, r);
    if (rc)
        return rc;
    const char *s = json_string_value(v);
    if (!f->enum_values)
        VG_BUG("enum field '%s' has no values", f->name);
    if (strlen(s) == json_string_length(v) && in_list(s, f->enum_values))
        return 0;
    char shown[SHOW_BUF], allowed[LIST_BUF];
    join(allowed, f->enum_values);
    return vg_report_fail(r, path, "'%s' is not one of %s",
                          show(shown, s, json_string_length(v)), allowed);
}

static int check_name_ref(const struct vg_field *f, const json_t *v, const char *path,
                          const struct vg_report *r)
{
    char why[256];
    int rc = expect_string(v, path, r);
    if (!rc)
        rc = check_text(v, path, 0, STRING_MAX, r);
    if (rc)
        return rc;
    if (vg_name_check(json_string_value(v), why, sizeof why))
        return vg_report_fail(r, path, "%s", why);
    return 0;
}

static int check_string_list(const struct vg_field *f, const json_t *v, const char *path,
                             const struct vg_report *r)
{
    if (!json_is_array(v))
        return vg_report_fail(r, path, "expected array of strings, got %s", json_type_name(v));
    size_t n_items = json_array_size(v);
    double max_items = f->max > 0 ? f->max : VG_SCHEMA_LIST_MAX;
    if ((double)n_items > max_items)
        return vg_report_fail(r, path, "%zu items, at most %.15g allowed", n_items, max_items);
    for (size_t i = 0; i < n_items; i++) {
        char item_path[PATH_BUF];
        const json_t *item = json_array_get(v, i);
        snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
        int rc = expect_string(item, item_path, r);
        if (!rc)
            rc = check_text(item, item_path, 0, STRING_MAX, r);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- free-form values (VG_F_OBJECT) ---- */

/* A key of a free-form object at path (the key's own path, already built). */
static int check_free_key(const char *key, const char *path, const struct vg_report *r)
{
    size_t len = strlen(key), n_chars = 0;
    if (key_has_nul(key))
        return vg_report_fail(r, path, "key must not contain NUL");
    size_t bad = vg_utf8_check(key, len);
    if (bad < len)
        return vg_report_fail(r, path, "key is not valid UTF-8 at byte %zu", bad);
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)key[i] & 0xc0) != 0x80)
            n_chars++;
        if (vg_utf8_is_control((const unsigned char *)key + i, len - i))
            return vg_report_fail(
                r, path, "control character in key at position %zu is not allowed", n_chars);
    }
    if (n_chars > VG_SCHEMA_FREE_KEY_MAX)
        return vg_report_fail(r, path, "key is %zu characters long, at most %d allowed",
                              n_chars, VG_SCHEMA_FREE_KEY_MAX);
    return 0;
}

static int check_free(const json_t *v, const char *path, int depth, const struct vg_report *r);

static int check_free_object(const json_t *v, const char *path, int depth,
                             const struct vg_report *r)
{
    const char *key;
    const json_t *item;
    char item_path[PATH_BUF];
    if (json_object_size(v) > VG_SCHEMA_FREE_MEMBERS)
        return vg_report_fail(r, path, "%zu keys, at most %d allowed", json_object_size(v),
                              VG_SCHEMA_FREE_MEMBERS);
    json_object_foreach((json_t *)v, key, item)
    {
        child_path(item_path, path, key);
        int rc = check_free_key(key, item_path, r);
        if (!rc)
            rc = check_free(item, item_path, depth + 1, r);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_free_array(const json_t *v, const char *path, int depth,
                            const struct vg_report *r)
{
    char item_path[PATH_BUF];
    if (json_array_size(v) > VG_SCHEMA_FREE_MEMBERS)
        return vg_report_fail(r, path, "%zu elements, at most %d allowed", json_array_size(v),
                              VG_SCHEMA_FREE_MEMBERS);
    for (size_t i = 0; i < json_array_size(v); i++) {
        snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
        int rc = check_free(json_array_get(v, i), item_path, depth + 1, r);
        if (rc)
            return rc;
    }
    return 0;
}

/* depth is the level of v: 1 for the field itself. Scalars other than
 * strings need no check: any integer or finite real jansson holds is
 * written and read back exactly (jsonout.c writes 17 significant digits). */
static int check_free(const json_t *v, const char *path, int depth, const struct vg_report *r)
{
    int container = json_is_object(v) || json_is_array(v);
    if (container && depth > VG_SCHEMA_FREE_DEPTH)
        return vg_report_fail(r, path, "nesting deeper than %d levels", VG_SCHEMA_FREE_DEPTH);
    if (json_is_object(v))
        return check_free_object(v, path, depth, r);
    if (json_is_array(v))
        return check_free_array(v, path, depth, r);
    if (json_is_string(v))
        return check_text(v, path, 0, STRING_MAX, r);
    return 0;
}

/* Size as compact JSON, counted once the depth is known to be bounded. */
static size_t json_bytes(const json_t *v)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(v, &text);
    size_t n = text.len;
    vg_buf_release(&text);
    return n;
}

static int check_object(const struct vg_field *f, const json_t *v, const char *path,
                        const struct vg_report *r)
{
    if (!json_is_object(v))
        return vg_report_fail(r, path, "expected object, got %s", json_type_name(v));
    int rc = check_free(v, path, 1, r);
    if (rc)
        return rc;
    size_t n_bytes = json_bytes(v);
    if (n_bytes > VG_SCHEMA_FREE_BYTES)
        return vg_report_fail(r, path, "%zu bytes as JSON, at most %u allowed", n_bytes,
                              VG_SCHEMA_FREE_BYTES);
    return 0;
}

/* A list of values whose shape the kind's check hook knows: here only the
 * free-form limits, and the field's own bound on items. */
static int check_list(const struct vg_field *f, const json_t *v, const char *path,
                      const struct vg_report *r)
{
    if (!json_is_array(v))
        return vg_report_fail(r, path, "expected a list, got %s", json_type_name(v));
    if (f->max > 0 && (double)json_array_size(v) > f->max)
        return vg_report_fail(r, path, "%zu items, at most %.15g allowed", json_array_size(v),
                              f->max);
    int rc = check_free(v, path, 1, r);
    if (rc)
        return rc;
    size_t n_bytes = json_bytes(v);
    if (n_bytes > VG_SCHEMA_FREE_BYTES)
        return vg_report_fail(r, path, "%zu bytes as JSON, at most %u allowed", n_bytes,
                              VG_SCHEMA_FREE_BYTES);
    return 0;
}

static field_checker checker_for(enum vg_ftype type)
{
    static const field_checker checkers[] = {
        [VG_F_STRING] = check_string,
        [VG_F_INT] = check_int,
        [VG_F_NUMBER] = check_number,
        [VG_F_BOOL] = check_bool,
        [VG_F_ENUM] = check_enum,
        [VG_F_NAME] = check_name_ref,
        [VG_F_STRING_LIST] = check_string_list,
        [VG_F_OBJECT] = check_object,
        [VG_F_LIST] = check_list,
    };
    if ((size_t)type >= VG_ARRAY_LEN(checkers) || !checkers[type])
        VG_BUG("field type %d has no checker", (int)type);
    return checkers[type];
}

/* ---- the manifest, top to bottom ---- */

static int check_top_fields(const json_t *manifest, const struct vg_report *r)
{
    const char *key;
    const json_t *value;
    char path[PATH_BUF], allowed[LIST_BUF];

    /* json_object_foreach wants a non-const object; it only reads it */
    json_object_foreach((json_t *)manifest, key, value)
    {
        if (!key_has_nul(key) && (in_list(key, top_fields) || in_list(key, server_fields)))
            continue;
        child_path(path, "", key);
        join(allowed, top_fields);
        return vg_report_fail(r, path, "unknown field (allowed: %s)", allowed);
    }
    return 0;
}

/* The body's string at key, or NULL if not given; -EINVAL if not clean text. */
static int body_string(const json_t *manifest, const char *key, const char **out,
                       const struct vg_report *r)
{
    const json_t *v = get_given(manifest, key);
    int rc = 0;
    *out = NULL;
    if (!v)
        return 0;
    rc = expect_string(v, key, r);
    if (!rc)
        rc = check_text(v, key, 0, STRING_MAX, r);
    if (!rc)
        *out = json_string_value(v);
    return rc;
}

static int resolve_kind(const json_t *manifest, const char *path_kind,
                        const struct vg_kind **kind, const struct vg_report *r)
{
    const char *body_kind;
    char shown[SHOW_BUF], shown_path[SHOW_BUF], known[LIST_BUF];
    int rc = body_string(manifest, "kind", &body_kind, r);
    if (rc)
        return rc;
    if (body_kind && path_kind && strcmp(body_kind, path_kind) != 0)
        return vg_report_fail(r, "kind", "'%s' does not match '%s' in the path",
                              show_str(shown, body_kind), show_str(shown_path, path_kind));
    const char *kind_name = body_kind ? body_kind : path_kind;
    if (!kind_name)
        return vg_report_fail(r, "kind", "required field is missing");
    *kind = vg_schema_kind(kind_name);
    if (*kind)
        return 0;
    join_kinds(known);
    return vg_report_fail(r, "kind", "unknown kind '%s' (known kinds: %s)",
                          show_str(shown, kind_name), known);
}

static int resolve_name(const json_t *manifest, const char *path_name, const char **name,
                        const struct vg_report *r)
{
    const char *body_name;
    char why[256];
    int rc = body_string(manifest, "name", &body_name, r);
    if (rc)
        return rc;
    if (body_name && vg_name_check(body_name, why, sizeof why))
        return vg_report_fail(r, "name", "%s", why);
    if (path_name && vg_name_check(path_name, why, sizeof why))
        return vg_report_fail(r, "name", "%s (from the path)", why);
    /* both are valid names now, so quoting them is safe */
    if (body_name && path_name && strcmp(body_name, path_name) != 0)
        return vg_report_fail(r, "name", "'%s' does not match '%s' in the path", body_name,
                              path_name);
    *name = body_name ? body_name : path_name;
    if (!*name)
        return vg_report_fail(r, "name", "required field is missing");
    return 0;
}

static int check_label(const char *key, const json_t *value, const struct vg_report *r)
{
    char path[PATH_BUF], why[256];
    child_path(path, "labels", key);
    if (key_has_nul(key))
        return vg_report_fail(r, path, "label key must not contain NUL");
    if (vg_label_key_check(key, why, sizeof why))
        return vg_report_fail(r, path, "%s", why);
    int rc = expect_string(value, path, r);
    if (!rc)
        rc = check_text(value, path, 0, STRING_MAX, r);
    if (rc)
        return rc;
    if (vg_label_value_check(json_string_value(value), why, sizeof why))
        return vg_report_fail(r, path, "%s", why);
    return 0;
}

static int normalize_labels(const json_t *manifest, json_t *out, const struct vg_report *r)
{
    const json_t *labels = get_given(manifest, "labels");
    json_t *out_labels = json_object();
    const char *key;
    const json_t *value;
    int rc = 0;

    json_object_set_new(out, "labels", out_labels);
    if (!labels)
        return 0;
    if (!json_is_object(labels))
        return vg_report_fail(r, "labels", "expected object, got %s", json_type_name(labels));
    if (json_object_size(labels) > LABELS_MAX)
        return vg_report_fail(r, "labels", "%zu labels, at most %d allowed",
                              json_object_size(labels), LABELS_MAX);
    json_object_foreach((json_t *)labels, key, value)
    {
        rc = check_label(key, value, r);
        if (rc)
            return rc;
        json_object_set_new(out_labels, key, json_string(json_string_value(value)));
    }
    return 0;
}

static int normalize_description(const json_t *manifest, json_t *out, const struct vg_report *r)
{
    const json_t *description = get_given(manifest, "description");
    int rc = 0;
    if (!description) {
        json_object_set_new(out, "description", json_string(""));
        return 0;
    }
    rc = expect_string(description, "description", r);
    if (!rc)
        rc = check_text(description, "description", 1, DESCRIPTION_MAX, r);
    if (rc)
        return rc;
    json_object_set_new(out, "description", vg_json_copy(description));
    return 0;
}

static const struct vg_field *find_field(const struct vg_field *fields, const char *name)
{
    for (const struct vg_field *f = fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static int reject_unknown_spec_fields(const struct vg_kind *kind, const json_t *spec,
                                      const struct vg_report *r)
{
    const char *key;
    const json_t *value;
    char path[PATH_BUF], known[LIST_BUF];

    json_object_foreach((json_t *)spec, key, value)
    {
        if (!key_has_nul(key) && find_field(kind->fields, key))
            continue;
        child_path(path, "spec", key);
        join_fields(known, kind->fields);
        return vg_report_fail(r, path, "unknown field for kind %s (known fields: %s)",
                              kind->name, known);
    }
    return 0;
}

/* Copies the known fields of spec into out_spec in table order. */
static int copy_spec_fields(const struct vg_kind *kind, const json_t *spec, json_t *out_spec,
                            const struct vg_report *r)
{
    char path[PATH_BUF];
    for (const struct vg_field *f = kind->fields; f->name; f++) {
        const json_t *v = get_given(spec, f->name);
        child_path(path, "spec", f->name);
        if (!v) {
            if (f->required)
                return vg_report_fail(r, path, "required field is missing");
            continue;
        }
        int rc = checker_for(f->type)(f, v, path, r);
        if (rc)
            return rc;
        json_object_set_new(out_spec, f->name, vg_json_copy(v));
    }
    return 0;
}

static int normalize_spec(const struct vg_kind *kind, const json_t *manifest, json_t *out,
                          const struct vg_report *r)
{
    const json_t *spec = get_given(manifest, "spec");
    json_t *out_spec = json_object();
    int rc = 0;

    json_object_set_new(out, "spec", out_spec);
    if (!spec)
        return vg_report_fail(r, "spec", "required field is missing");
    if (!json_is_object(spec))
        return vg_report_fail(r, "spec", "expected object, got %s", json_type_name(spec));
    rc = reject_unknown_spec_fields(kind, spec, r);
    if (!rc)
        rc = copy_spec_fields(kind, spec, out_spec, r);
    if (!rc && kind->check) {
        /* {"secret": true} stands for a value only the server holds */
        json_t *standins = vg_schema_secret_standins(kind, out_spec);
        rc = kind->check(standins ? standins : out_spec, r->err, r->errlen, r->field,
                         r->fieldlen);
        json_decref(standins);
    }
    return rc ? -EINVAL : 0;
}

/* ---- for kinds' check hooks ---- */

void vg_schema_path(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int vg_schema_fail(char *err, size_t errlen, char *field, size_t fieldlen, const char *path,
                   const char *fmt, ...)
{
    char msg[LIST_BUF + PATH_BUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct vg_report r = {err, errlen, field, fieldlen};
    return vg_report_fail(&r, path, "%s", msg);
}

int vg_schema_check_fields(const struct vg_field *fields, const json_t *obj, const char *path,
                           char *err, size_t errlen, char *field, size_t fieldlen)
{
    struct vg_report r = {err, err ? errlen : 0, field, field ? fieldlen : 0};
    const char *key;
    const json_t *value;
    char sub[PATH_BUF], known[LIST_BUF];
    if (!json_is_object(obj))
        return vg_report_fail(&r, path, "expected object, got %s", json_type_name(obj));
    json_object_foreach((json_t *)obj, key, value)
    {
        if (!key_has_nul(key) && find_field(fields, key))
            continue;
        child_path(sub, path, key);
        join_fields(known, fields);
        return vg_report_fail(&r, sub, "unknown field (known fields: %s)", known);
    }
    for (const struct vg_field *f = fields; f->name; f++) {
        const json_t *v = get_given(obj, f->name);
        child_path(sub, path, f->name);
        if (!v && f->required)
            return vg_report_fail(&r, sub, "required field is missing");
        int rc = v ? checker_for(f->type)(f, v, sub, &r) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* The whole object, once every part of it is within its own limits. */
static int check_object_size(const json_t *normalized, const struct vg_report *r)
{
    size_t n_bytes = json_bytes(normalized);
    if (n_bytes <= VG_SCHEMA_OBJECT_BYTES)
        return 0;
    return vg_report_fail(r, "", "the object is %zu bytes as JSON, at most %u allowed", n_bytes,
                          VG_SCHEMA_OBJECT_BYTES);
}

static int validate(const json_t *manifest, const char *path_kind, const char *path_name,
                    json_t **normalized, char *err, size_t errlen, char *field, size_t fieldlen)
{
    struct vg_report r = {err, err ? errlen : 0, field, field ? fieldlen : 0};
    const struct vg_kind *kind = NULL;
    const char *name = NULL;
    json_t *out = NULL;
    int rc = 0;

    if (normalized)
        *normalized = NULL;
    if (r.errlen)
        err[0] = '\0';
    if (r.fieldlen)
        field[0] = '\0';
    if (!json_is_object(manifest))
        return vg_report_fail(&r, "", "manifest must be a JSON object, got %s",
                              manifest ? json_type_name(manifest) : "nothing");
    rc = check_top_fields(manifest, &r);
    if (!rc)
        rc = resolve_kind(manifest, path_kind, &kind, &r);
    if (!rc)
        rc = resolve_name(manifest, path_name, &name, &r);
    if (rc)
        return rc;

    out = json_pack("{s:s, s:s}", "kind", kind->name, "name", name);
    if (!out)
        VG_BUG("cannot build the normalized manifest of '%s'", name);
    rc = normalize_labels(manifest, out, &r);
    if (!rc)
        rc = normalize_description(manifest, out, &r);
    if (!rc)
        rc = normalize_spec(kind, manifest, out, &r);
    if (!rc)
        rc = check_object_size(out, &r);
    if (rc)
        goto fail;
    if (normalized)
        *normalized = out;
    else
        json_decref(out);
    return 0;
fail:
    json_decref(out);
    return rc;
}

int vg_schema_validate(const json_t *manifest, const char *path_kind, const char *path_name,
                       json_t **normalized, char *err, size_t errlen, char *field,
                       size_t fieldlen)
{
    int rc = validate(manifest, path_kind, path_name, normalized, err, errlen, field, fieldlen);
    /* paths and messages quote keys cut to a length: whatever a cut left
     * half of a character is shown escaped, never sent as broken UTF-8 */
    if (rc && err && errlen)
        vg_text_clean_inplace(err, errlen, 0);
    if (rc && field && fieldlen)
        vg_text_clean_inplace(field, fieldlen, 0);
    return rc;
}

/* ---- describe ---- */

static void describe_bounds(const struct vg_field *f, json_t *out)
{
    switch (f->type) {
    case VG_F_INT:
        if (has_range(f)) {
            json_object_set_new(out, "min", json_integer((json_int_t)f->min));
            json_object_set_new(out, "max", json_integer((json_int_t)f->max));
        }
        break;
    case VG_F_NUMBER:
        if (has_range(f)) {
            json_object_set_new(out, "min", json_real(f->min));
            json_object_set_new(out, "max", json_real(f->max));
        }
        break;
    case VG_F_STRING:
    case VG_F_STRING_LIST:
    case VG_F_LIST:
        if (f->max > 0)
            json_object_set_new(out, "max", json_integer((json_int_t)f->max));
        break;
    default:
        break;
    }
}

static json_t *describe_field(const struct vg_field *f)
{
    json_t *out = json_pack("{s:s, s:s, s:b}", "name", f->name, "type",
                            field_type_name(f->type), "required", f->required);
    if (!out)
        VG_BUG("cannot describe field '%s'", f->name);
    if (f->type == VG_F_ENUM) {
        json_t *values = json_array();
        for (size_t i = 0; f->enum_values && f->enum_values[i]; i++)
            json_array_append_new(values, json_string(f->enum_values[i]));
        json_object_set_new(out, "enum", values);
    }
    describe_bounds(f, out);
    json_object_set_new(out, "help", json_string(f->help ? f->help : ""));
    return out;
}

json_t *vg_schema_describe(const struct vg_kind *kind)
{
    json_t *fields = json_array();
    for (const struct vg_field *f = kind->fields; f->name; f++)
        json_array_append_new(fields, describe_field(f));
    json_t *out = json_pack("{s:s, s:s, s:o}", "kind", kind->name, "help",
                            kind->help ? kind->help : "", "fields", fields);
    if (!out)
        VG_BUG("cannot describe kind '%s'", kind->name);
    return out;
}

/*
 * yamljson.c - YAML (libyaml event API) to JSON (jansson) and back.
 *
 * The parser pulls events and builds values by recursive descent; recursion
 * depth is bounded by VG_YAMLJSON_MAX_DEPTH, checked before descending, so a
 * hostile file of ten thousand '[' costs one error message, not the stack.
 * Every error carries the line and column of the event at fault. The typing
 * rules for plain scalars are in yamljson.h; classify_plain() is the single
 * place that implements them, used by the parser to type values and by the
 * emitter to decide which strings must be quoted to read back as strings.
 */
#include "core/yamljson.h"

#include <math.h>
#include <yaml.h>

/* What a plain scalar means under the rules of yamljson.h. */
enum plain_type {
    PLAIN_STRING,
    PLAIN_NULL,
    PLAIN_TRUE,
    PLAIN_FALSE,
    PLAIN_INT, /* decimal, maybe signed */
    PLAIN_HEX, /* 0x... */
    PLAIN_OCT, /* 0o... */
    PLAIN_FLOAT,
    PLAIN_NONFINITE,  /* .inf .nan: valid YAML, not representable in JSON */
    PLAIN_ZERO_PADDED /* 0755: a string, but one a YAML 1.1 reader calls octal */
};

struct parse_ctx {
    yaml_parser_t parser;
    const char *text;
    size_t len;
    const char *source;
    char *err;
    size_t errlen;
};

/* ---- classification of plain scalars ---------------------------------- */

static int is_one_of(const char *s, size_t n, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strlen(words[i]) == n && memcmp(s, words[i], n) == 0)
            return 1;
    return 0;
}

static size_t count_digits(const char *s, size_t n, int base)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        int ok = base == 16 ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                               (c >= 'A' && c <= 'F'))
                            : (c >= '0' && c < '0' + base);
        if (!ok)
            break;
        i++;
    }
    return i;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? with a '.' or an exponent */
static int is_float(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    size_t int_digits = count_digits(s + i, n - i, 10);
    size_t frac_digits = 0;
    int has_dot = 0, has_exp = 0;

    i += int_digits;
    if (i < n && s[i] == '.') {
        has_dot = 1;
        i++;
        frac_digits = count_digits(s + i, n - i, 10);
        i += frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        has_exp = 1;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp_digits = count_digits(s + i, n - i, 10);
        if (exp_digits == 0)
            return 0;
        i += exp_digits;
    }
    return i == n && (has_dot || has_exp);
}

static enum plain_type classify_int(const char *s, size_t n)
{
    if (n > 2 && s[0] == '0' && s[1] == 'x' && count_digits(s + 2, n - 2, 16) == n - 2)
        return PLAIN_HEX;
    if (n > 2 && s[0] == '0' && s[1] == 'o' && count_digits(s + 2, n - 2, 8) == n - 2)
        return PLAIN_OCT;
    size_t sign = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (n > sign && count_digits(s + sign, n - sign, 10) == n - sign) {
        if (n - sign > 1 && s[sign] == '0')
            return PLAIN_ZERO_PADDED;
        return PLAIN_INT;
    }
    return PLAIN_STRING;
}

static enum plain_type classify_plain(const char *s, size_t n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const nonfinite[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                            "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                            ".NaN",  ".NAN",  NULL};
    if (n == 0 || is_one_of(s, n, nulls))
        return PLAIN_NULL;
    if (is_one_of(s, n, trues))
        return PLAIN_TRUE;
    if (is_one_of(s, n, falses))
        return PLAIN_FALSE;
    if (is_one_of(s, n, nonfinite))
        return PLAIN_NONFINITE;
    enum plain_type t = classify_int(s, n);
    if (t != PLAIN_STRING)
        return t;
    return is_float(s, n) ? PLAIN_FLOAT : PLAIN_STRING;
}

/* ---- errors ------------------------------------------------------------ */

static int vfail(struct parse_ctx *p, size_t line, size_t column, const char *fmt, va_list ap)
{
    if (!p->err || !p->errlen)
        return -EINVAL;
    int n = 0;
    if (p->source)
        n = snprintf(p->err, p->errlen, "%s: ", p->source);
    if (n >= 0 && (size_t)n < p->errlen)
        n +=
            snprintf(p->err + n, p->errlen - (size_t)n, "line %zu, column %zu: ", line, column);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    return -EINVAL;
}

/* Formats an error at a libyaml mark (0-based) as 1-based line and column. */
static int fail_at(struct parse_ctx *p, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parse_ctx *p, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(p, mark.line + 1, mark.column + 1, fmt, ap);
    va_end(ap);
    return rc;
}

/* Reader errors (bad encoding) only know a byte offset; count lines up to it. */
static yaml_mark_t mark_of_offset(const struct parse_ctx *p, size_t offset)
{
    yaml_mark_t mark = {0, 0, 0};
    for (size_t i = 0; i < offset && i < p->len; i++) {
        if (p->text[i] == '\n') {
            mark.line++;
            mark.column = 0;
        } else {
            mark.column++;
        }
    }
    return mark;
}

static int parser_error(struct parse_ctx *p)
{
    yaml_parser_t *yp = &p->parser;
    const char *problem = yp->problem ? yp->problem : "cannot parse YAML";

    switch (yp->error) {
    case YAML_MEMORY_ERROR:
        fprintf(stderr, "vigil: out of memory parsing YAML\n");
        abort();
    case YAML_READER_ERROR:
        return fail_at(p, mark_of_offset(p, yp->problem_offset), "%s", problem);
    default:
        break;
    }
    if (yp->context)
        return fail_at(p, yp->problem_mark, "%s (%s at line %zu, column %zu)", problem,
                       yp->context, yp->context_mark.line + 1, yp->context_mark.column + 1);
    return fail_at(p, yp->problem_mark, "%s", problem);
}

static int next_event(struct parse_ctx *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&p->parser, ev))
        return parser_error(p);
    return 0;
}

/* Quotes at most 40 bytes of a scalar for a message. */
#define SHOW_LEN(n) ((int)((n) > 40 ? 40 : (n)))

/* ---- scalars ----------------------------------------------------------- */

static int make_string(struct parse_ctx *p, const yaml_event_t *ev, json_t **out)
{
    *out = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!*out)
        return fail_at(p, ev->start_mark, "string is not valid UTF-8");
    return 0;
}

static int make_int(struct parse_ctx *p, const yaml_event_t *ev, enum plain_type t,
                    json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    json_int_t value;
    errno = 0;
    if (t == PLAIN_HEX || t == PLAIN_OCT) {
        unsigned long long u = strtoull(s + 2, NULL, t == PLAIN_HEX ? 16 : 8);
        if (errno == ERANGE || u > (unsigned long long)INT64_MAX)
            errno = ERANGE;
        value = (json_int_t)u;
    } else {
        value = strtoll(s, NULL, 10);
    }
    if (errno == ERANGE)
        return fail_at(p, ev->start_mark, "integer '%.*s' is out of range (64-bit)",
                       SHOW_LEN(ev->data.scalar.length), s);
    *out = json_integer(value);
    return 0;
}

static int make_float(struct parse_ctx *p, const yaml_event_t *ev, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    double value = strtod(s, NULL);
    if (!isfinite(value))
        return fail_at(p, ev->start_mark, "number '%.*s' is out of range",
                       SHOW_LEN(ev->data.scalar.length), s);
    *out = json_real(value);
    return 0;
}

/* Builds the JSON value a plain scalar of type t stands for. */
static int make_typed(struct parse_ctx *p, const yaml_event_t *ev, enum plain_type t,
                      json_t **out)
{
    switch (t) {
    case PLAIN_NULL:
        *out = json_null();
        return 0;
    case PLAIN_TRUE:
        *out = json_true();
        return 0;
    case PLAIN_FALSE:
        *out = json_false();
        return 0;
    case PLAIN_INT:
    case PLAIN_HEX:
    case PLAIN_OCT:
        return make_int(p, ev, t, out);
    case PLAIN_FLOAT:
        return make_float(p, ev, out);
    case PLAIN_NONFINITE:
        return fail_at(p, ev->start_mark, "'%.*s' cannot be represented in JSON",
                       SHOW_LEN(ev->data.scalar.length), ev->data.scalar.value);
    case PLAIN_STRING:
    case PLAIN_ZERO_PADDED:
        break;
    }
    return make_string(p, ev, out);
}

/* A scalar with an explicit tag: the tag decides, and the text must fit it. */
static int make_tagged(struct parse_ctx *p, const yaml_event_t *ev, json_t **out)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    enum plain_type t = classify_plain(s, n);
    int fits;

    if (strcmp(tag, "!") == 0 || strcmp(tag, YAML_STR_TAG) == 0)
        return make_string(p, ev, out);
    if (strcmp(tag, YAML_NULL_TAG) == 0)
        fits = t == PLAIN_NULL;
    else if (strcmp(tag, YAML_BOOL_TAG) == 0)
        fits = t == PLAIN_TRUE || t == PLAIN_FALSE;
    else if (strcmp(tag, YAML_INT_TAG) == 0)
        fits = t == PLAIN_INT || t == PLAIN_HEX || t == PLAIN_OCT;
    else if (strcmp(tag, YAML_FLOAT_TAG) == 0)
        fits = t == PLAIN_FLOAT || t == PLAIN_INT;
    else
        return fail_at(p, ev->start_mark, "unsupported tag '%s'", tag);
    if (!fits)
        return fail_at(p, ev->start_mark, "'%.*s' is not a valid %s", SHOW_LEN(n), s, tag);
    if (strcmp(tag, YAML_FLOAT_TAG) == 0 && t == PLAIN_INT)
        return make_float(p, ev, out);
    return make_typed(p, ev, t, out);
}

static int parse_scalar(struct parse_ctx *p, const yaml_event_t *ev, json_t **out)
{
    if (ev->data.scalar.tag)
        return make_tagged(p, ev, out);
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return make_string(p, ev, out);
    return make_typed(
        p, ev, classify_plain((const char *)ev->data.scalar.value, ev->data.scalar.length),
        out);
}

/* ---- collections ------------------------------------------------------- */

static int parse_node(struct parse_ctx *p, yaml_event_t *ev, int depth, json_t **out);

static int parse_sequence(struct parse_ctx *p, int depth, json_t **out)
{
    json_t *array = json_array();
    yaml_event_t ev;
    int rc;

    for (;;) {
        if ((rc = next_event(p, &ev)) < 0)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        json_t *item = NULL;
        if ((rc = parse_node(p, &ev, depth, &item)) < 0)
            goto fail;
        json_array_append_new(array, item);
    }
    *out = array;
    return 0;
fail:
    json_decref(array);
    return rc;
}

/* Checks a mapping key event; keys are plain text, whatever they look like. */
static int check_key(struct parse_ctx *p, const yaml_event_t *key, json_t *object)
{
    if (key->type == YAML_ALIAS_EVENT)
        return fail_at(p, key->start_mark, "aliases (*%s) are not supported",
                       key->data.alias.anchor);
    if (key->type != YAML_SCALAR_EVENT)
        return fail_at(p, key->start_mark, "mapping keys must be plain strings, not %s",
                       key->type == YAML_MAPPING_START_EVENT ? "mappings" : "sequences");
    const char *tag = (const char *)key->data.scalar.tag;
    const char *s = (const char *)key->data.scalar.value;
    size_t n = key->data.scalar.length;
    if (key->data.scalar.anchor)
        return fail_at(p, key->start_mark, "anchors (&%s) are not supported",
                       key->data.scalar.anchor);
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0)
        return fail_at(p, key->start_mark, "unsupported tag '%s' on a mapping key", tag);
    if (memchr(s, 0, n)) /* C code downstream reads keys as C strings */
        return fail_at(p, key->start_mark, "mapping key contains a NUL character");
    if (json_object_getn(object, s, n))
        return fail_at(p, key->start_mark, "duplicate key '%.*s'", SHOW_LEN(n), s);
    return 0;
}

static int parse_mapping(struct parse_ctx *p, int depth, json_t **out)
{
    json_t *object = json_object();
    yaml_event_t key, value_ev;
    int rc;

    for (;;) {
        if ((rc = next_event(p, &key)) < 0)
            goto fail;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            break;
        }
        if ((rc = check_key(p, &key, object)) < 0 || (rc = next_event(p, &value_ev)) < 0) {
            yaml_event_delete(&key);
            goto fail;
        }
        json_t *value = NULL;
        rc = parse_node(p, &value_ev, depth, &value);
        if (rc == 0 && json_object_setn_new(object, (const char *)key.data.scalar.value,
                                            key.data.scalar.length, value) < 0)
            rc = fail_at(p, key.start_mark, "mapping key is not valid UTF-8");
        yaml_event_delete(&key);
        if (rc < 0)
            goto fail;
    }
    *out = object;
    return 0;
fail:
    json_decref(object);
    return rc;
}

/* Rejects what a collection start may carry that JSON cannot express. */
static int check_collection(struct parse_ctx *p, const yaml_event_t *ev, int depth)
{
    int is_seq = ev->type == YAML_SEQUENCE_START_EVENT;
    const yaml_char_t *anchor =
        is_seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
    const char *tag =
        (const char *)(is_seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
    const char *want_tag = is_seq ? YAML_SEQ_TAG : YAML_MAP_TAG;

    if (anchor)
        return fail_at(p, ev->start_mark, "anchors (&%s) are not supported", anchor);
    if (tag && strcmp(tag, want_tag) != 0)
        return fail_at(p, ev->start_mark, "unsupported tag '%s'", tag);
    if (depth >= VG_YAMLJSON_MAX_DEPTH)
        return fail_at(p, ev->start_mark, "nested deeper than %d levels",
                       VG_YAMLJSON_MAX_DEPTH);
    return 0;
}

/* Builds the value that starts with *ev; consumes (deletes) *ev. depth counts
 * the collections around this node. */
static int parse_node(struct parse_ctx *p, yaml_event_t *ev, int depth, json_t **out)
{
    int rc;

    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            rc = fail_at(p, ev->start_mark, "anchors (&%s) are not supported",
                         ev->data.scalar.anchor);
        else
            rc = parse_scalar(p, ev, out);
        break;
    case YAML_ALIAS_EVENT:
        rc = fail_at(p, ev->start_mark, "aliases (*%s) are not supported",
                     ev->data.alias.anchor);
        break;
    case YAML_SEQUENCE_START_EVENT:
        rc = check_collection(p, ev, depth);
        if (rc == 0)
            rc = parse_sequence(p, depth + 1, out);
        break;
    case YAML_MAPPING_START_EVENT:
        rc = check_collection(p, ev, depth);
        if (rc == 0)
            rc = parse_mapping(p, depth + 1, out);
        break;
    default:
        VG_BUG("unexpected YAML event %d inside a document", (int)ev->type);
    }
    yaml_event_delete(ev);
    return rc;
}

/* ---- documents --------------------------------------------------------- */

/* Reads one document after its DOCUMENT-START event, up to DOCUMENT-END. */
static int parse_document(struct parse_ctx *p, json_t **out)
{
    yaml_event_t ev;
    int rc;

    if ((rc = next_event(p, &ev)) < 0)
        return rc;
    if ((rc = parse_node(p, &ev, 0, out)) < 0)
        return rc;
    if ((rc = next_event(p, &ev)) < 0)
        goto fail;
    if (ev.type != YAML_DOCUMENT_END_EVENT)
        VG_BUG("libyaml gave event %d after a document's root", (int)ev.type);
    yaml_event_delete(&ev);
    return 0;
fail:
    json_decref(*out);
    *out = NULL;
    return rc;
}

static int parse_stream(struct parse_ctx *p, json_t *docs)
{
    yaml_event_t ev;
    int rc;

    for (;;) {
        if ((rc = next_event(p, &ev)) < 0)
            return rc;
        yaml_event_type_t type = ev.type;
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            return 0;
        if (type != YAML_DOCUMENT_START_EVENT)
            continue; /* STREAM-START */
        json_t *doc = NULL;
        if ((rc = parse_document(p, &doc)) < 0)
            return rc;
        json_array_append_new(docs, doc);
    }
}

int vg_yamljson_parse(const char *text, size_t len, const char *source, json_t **docs,
                      char *err, size_t errlen)
{
    struct parse_ctx p = {.source = source, .err = err, .errlen = errlen};
    json_t *array = json_array();
    int rc;

    *docs = NULL;
    if (!text || !len) /* libyaml asserts on NULL; an empty buffer may have no data */
        text = "", len = 0;
    p.text = text;
    p.len = len;
    if (!yaml_parser_initialize(&p.parser))
        VG_BUG("libyaml cannot initialize a parser");
    yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
    rc = parse_stream(&p, array);
    yaml_parser_delete(&p.parser);
    if (rc < 0) {
        json_decref(array);
        return rc;
    }
    *docs = array;
    return 0;
}

/* ---- emitter ----------------------------------------------------------- */

struct emit_ctx {
    yaml_emitter_t emitter;
    char *err;
    size_t errlen;
};

static int write_to_buf(void *data, unsigned char *bytes, size_t size)
{
    vg_buf_add(data, bytes, size);
    return 1;
}

/* Hands ev to libyaml, which owns it from here on, even on failure. */
static int emit_event(struct emit_ctx *e, yaml_event_t *ev)
{
    if (!yaml_emitter_emit(&e->emitter, ev))
        return vg_err(e->err, e->errlen, -EINVAL, "cannot write YAML: %s",
                      e->emitter.problem ? e->emitter.problem : "unknown libyaml error");
    return 0;
}

static int emit_scalar(struct emit_ctx *e, const char *s, size_t n, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style))
        return vg_err(e->err, e->errlen, -EINVAL, "cannot write YAML: string is not UTF-8");
    return emit_event(e, &ev);
}

/* YAML 1.1 readers turn these into booleans; quote them for their sake. */
static int is_yaml11_bool(const char *s, size_t n)
{
    static const char *const words[] = {"y",  "Y",   "yes", "Yes", "YES", "n",
                                        "N",  "no",  "No",  "NO",  "on",  "On",
                                        "ON", "off", "Off", "OFF", NULL};
    return is_one_of(s, n, words);
}

static int emit_string(struct emit_ctx *e, const char *s, size_t n)
{
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

    if (memchr(s, '\n', n))
        style = YAML_LITERAL_SCALAR_STYLE; /* libyaml falls back to quotes if it must */
    else if (classify_plain(s, n) != PLAIN_STRING || is_yaml11_bool(s, n))
        style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
    return emit_scalar(e, s, n, style);
}

/* Shortest text that reads back as the same double, always looking like a float. */
static void format_real(double value, char *text, size_t size)
{
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, size, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    if (!strpbrk(text, ".e"))
        snprintf(text + strlen(text), size - strlen(text), ".0");
}

static int emit_value(struct emit_ctx *e, const json_t *value, int depth);

static int emit_object(struct emit_ctx *e, const json_t *object, int depth)
{
    yaml_event_t ev;
    const char *key;
    size_t key_len;
    json_t *member;
    int rc;

    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE);
    if ((rc = emit_event(e, &ev)) < 0)
        return rc;
    json_object_keylen_foreach((json_t *)object, key, key_len, member)
    {
        if (memchr(key, 0, key_len))
            return vg_err(e->err, e->errlen, -EINVAL, "mapping key contains a NUL character");
        if ((rc = emit_string(e, key, key_len)) < 0 || (rc = emit_value(e, member, depth)) < 0)
            return rc;
    }
    yaml_mapping_end_event_initialize(&ev);
    return emit_event(e, &ev);
}

static int emit_array(struct emit_ctx *e, const json_t *array, int depth)
{
    yaml_event_t ev;
    size_t i;
    json_t *item;
    int rc;

    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE);
    if ((rc = emit_event(e, &ev)) < 0)
        return rc;
    json_array_foreach(array, i, item)
    {
        if ((rc = emit_value(e, item, depth)) < 0)
            return rc;
    }
    yaml_sequence_end_event_initialize(&ev);
    return emit_event(e, &ev);
}

/* depth counts the collections around value, as in the parser. */
static int emit_value(struct emit_ctx *e, const json_t *value, int depth)
{
    char text[64];

    switch (json_typeof(value)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth >= VG_YAMLJSON_MAX_DEPTH)
            return vg_err(e->err, e->errlen, -EINVAL, "value nested deeper than %d levels",
                          VG_YAMLJSON_MAX_DEPTH);
        return json_is_object(value) ? emit_object(e, value, depth + 1)
                                     : emit_array(e, value, depth + 1);
    case JSON_STRING:
        return emit_string(e, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        break;
    case JSON_REAL:
        format_real(json_real_value(value), text, sizeof(text));
        break;
    case JSON_TRUE:
        return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
        return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
    }
    return emit_scalar(e, text, strlen(text), YAML_PLAIN_SCALAR_STYLE);
}

static int emit_document(struct emit_ctx *e, const json_t *value, int explicit_start)
{
    yaml_event_t ev;
    int rc;

    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, !explicit_start);
    if ((rc = emit_event(e, &ev)) < 0 || (rc = emit_value(e, value, 0)) < 0)
        return rc;
    yaml_document_end_event_initialize(&ev, 1);
    return emit_event(e, &ev);
}

/* Runs a whole stream; docs is an array when many, else the one document. */
static int emit_stream(const json_t *value, int many, int explicit_start, vg_buf_t *out,
                       char *err, size_t errlen)
{
    struct emit_ctx e = {.err = err, .errlen = errlen};
    yaml_event_t ev;
    int rc;

    if (!yaml_emitter_initialize(&e.emitter))
        VG_BUG("libyaml cannot initialize an emitter");
    yaml_emitter_set_output(&e.emitter, write_to_buf, out);
    yaml_emitter_set_unicode(&e.emitter, 1);
    yaml_emitter_set_width(&e.emitter, -1); /* never fold long strings */
    yaml_emitter_set_indent(&e.emitter, 2);

    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if ((rc = emit_event(&e, &ev)) < 0)
        goto out;
    if (many) {
        size_t i;
        json_t *doc;
        json_array_foreach(value, i, doc)
        {
            if ((rc = emit_document(&e, doc, 1)) < 0)
                goto out;
        }
    } else if ((rc = emit_document(&e, value, explicit_start)) < 0) {
        goto out;
    }
    yaml_stream_end_event_initialize(&ev);
    if ((rc = emit_event(&e, &ev)) < 0)
        goto out;
    if (!yaml_emitter_flush(&e.emitter))
        rc = vg_err(err, errlen, -EINVAL, "cannot write YAML: flush failed");
out:
    yaml_emitter_delete(&e.emitter);
    return rc;
}

int vg_yamljson_emit(const json_t *value, int explicit_start, vg_buf_t *out, char *err,
                     size_t errlen)
{
    return emit_stream(value, 0, explicit_start, out, err, errlen);
}

int vg_yamljson_emit_docs(const json_t *docs, vg_buf_t *out, char *err, size_t errlen)
{
    if (!json_is_array(docs))
        return vg_err(err, errlen, -EINVAL, "documents must be a JSON array");
    return emit_stream(docs, 1, 1, out, err, errlen);
}

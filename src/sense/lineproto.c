/*
 * lineproto.c - a hand-written scanner for InfluxDB line protocol (see
 * lineproto.h for the accepted syntax and the sensor-name mapping).
 *
 * Workload: batches of thousands of short lines like
 * `dc1-hall-a-t17 value=22.4 1764770000000` arriving over HTTP, parsed
 * twice as fast as the rest of the write path can store them. So: one
 * forward pass per line with a byte-class table, no allocation per line
 * (a line's fields wait in a small inline array until its timestamp is
 * known), names handed out as pointers into the input unless they were
 * escaped or composed, and decimals converted without strtod when that is
 * exact. It must never read past buf+len (the body is not NUL-terminated),
 * never trust a length, and never echo raw input bytes into an error.
 */
#include "sense/lineproto.h"

#include <math.h>

#include "core/utf8.h"
#include "core/vg.h"

/* ---- byte classes -------------------------------------------------------- */

/* C_ODD marks bytes a plain ASCII name never holds (controls, DEL, bytes of
 * multi-byte UTF-8): the scanner notes them so that only such names pay for
 * a full check (vg_lp_name_check). */
enum { C_STOP = 1, C_DIGIT = 2, C_SPACE = 4, C_END = 8, C_ODD = 16 };

#define ODD8(b)                                                                                \
    [b] = C_ODD, [b + 1] = C_ODD, [b + 2] = C_ODD, [b + 3] = C_ODD, [b + 4] = C_ODD,           \
    [b + 5] = C_ODD, [b + 6] = C_ODD, [b + 7] = C_ODD
#define ODD64(b)                                                                               \
    ODD8(b), ODD8(b + 8), ODD8(b + 16), ODD8(b + 24), ODD8(b + 32), ODD8(b + 40),              \
        ODD8(b + 48), ODD8(b + 56)

/* C_STOP ends a name (measurement, tag key/value, field key). */
static const uint8_t cls[256] = {
    /* C_ODD: the controls but \t \n \r, DEL, and every byte >= 0x80 */
    ODD8(0x00),
    [0x08] = C_ODD,
    [0x0b] = C_ODD,
    [0x0c] = C_ODD,
    [0x0e] = C_ODD,
    [0x0f] = C_ODD,
    ODD8(0x10),
    ODD8(0x18),
    [0x7f] = C_ODD,
    ODD64(0x80),
    ODD64(0xc0),
    [' '] = C_STOP | C_SPACE | C_END,
    ['\t'] = C_STOP | C_SPACE | C_END,
    [','] = C_STOP | C_END,
    ['='] = C_STOP,
    ['\\'] = C_STOP,
    ['\n'] = C_STOP | C_END,
    ['\r'] = C_STOP | C_END,
    ['0'] = C_DIGIT,
    ['1'] = C_DIGIT,
    ['2'] = C_DIGIT,
    ['3'] = C_DIGIT,
    ['4'] = C_DIGIT,
    ['5'] = C_DIGIT,
    ['6'] = C_DIGIT,
    ['7'] = C_DIGIT,
    ['8'] = C_DIGIT,
    ['9'] = C_DIGIT,
};

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

static int escapable(char c)
{
    return c == ',' || c == '=' || c == ' ' || c == '\\';
}

/* ---- numbers ------------------------------------------------------------- */

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* strtod on a NUL-terminated copy: the slow, always-correct path. */
static double slow_double(const char *start, const char *stop)
{
    size_t n = (size_t)(stop - start);
    char small[128];
    char *copy = n < sizeof small ? small : vg_malloc(n + 1);
    memcpy(copy, start, n);
    copy[n] = '\0';
    double v = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    return v;
}

const char *vg_lp_number(const char *p, const char *end, double *out)
{
    const char *start = p;
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    uint64_t mant = 0;
    int n_sig = 0, exp10 = 0, inexact = 0, n_digits = 0;
    for (; p < end && IS(*p, C_DIGIT); p++, n_digits++) {
        if (n_sig < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            n_sig += mant != 0;
        } else {
            exp10++;
            inexact |= *p != '0';
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && IS(*p, C_DIGIT); p++, n_digits++) {
            if (n_sig < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                n_sig += mant != 0;
                exp10--;
            } else {
                inexact |= *p != '0';
            }
        }
    }
    if (n_digits == 0)
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        const char *e = p + 1;
        int eneg = 0;
        if (e < end && (*e == '-' || *e == '+'))
            eneg = *e++ == '-';
        if (e < end && IS(*e, C_DIGIT)) {
            int ev = 0;
            for (; e < end && IS(*e, C_DIGIT); e++)
                if (ev < 100000)
                    ev = ev * 10 + (*e - '0');
            exp10 += eneg ? -ev : ev;
            p = e;
        } else {
            return NULL; /* "1e" or "1e+": not a number */
        }
    }
    /* Clinger: mant and 10^|exp10| are exact doubles, so one correctly
     * rounded multiplication or division gives the correctly rounded result. */
    double v;
    if (!inexact && mant <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22)
        v = exp10 < 0 ? (double)mant / pow10_exact[-exp10] : (double)mant * pow10_exact[exp10];
    else if (!inexact && mant == 0)
        v = 0;
    else {
        *out = slow_double(start, p); /* strtod sees the sign itself */
        return p;
    }
    *out = neg ? -v : v;
    return p;
}

/* Decimal digits into an integer no larger than max; NULL on overflow or
 * no digits. */
static const char *scan_uint(const char *p, const char *end, uint64_t max, uint64_t *out)
{
    const char *start = p;
    uint64_t v = 0;
    for (; p < end && IS(*p, C_DIGIT); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (max - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    if (p == start)
        return NULL;
    *out = v;
    return p;
}

/* ---- messages ------------------------------------------------------------ */

void vg_lp_show(char *out, size_t outlen, const char *s, size_t len, size_t max)
{
    size_t o = 0, i = 0;
    if (outlen < 4) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    for (; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        char one[5];
        int printable = c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\';
        size_t w =
            printable ? (one[0] = (char)c, 1) : (snprintf(one, sizeof one, "\\x%02x", c), 4);
        if (o + w + 4 > outlen) /* room for "..." and the NUL */
            break;
        memcpy(out + o, one, w);
        o += w;
    }
    if (i < len)
        memcpy(out + o, "...", 4);
    else
        out[o] = '\0';
}

/* ---- the name arena and the batch ---------------------------------------- */

struct vg_lp_chunk {
    struct vg_lp_chunk *next;
    size_t used, cap;
    char data[];
};

static char *arena_alloc(struct vg_lp_batch *b, size_t n)
{
    struct vg_lp_chunk *c = b->names;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = vg_malloc(sizeof *c + cap);
        c->next = b->names;
        c->used = 0;
        c->cap = cap;
        b->names = c;
    }
    char *p = c->data + c->used;
    c->used += n;
    return p;
}

void vg_lp_batch_init(struct vg_lp_batch *b)
{
    memset(b, 0, sizeof *b);
}

void vg_lp_batch_reset(struct vg_lp_batch *b)
{
    b->n_readings = 0;
    if (!b->names)
        return;
    struct vg_lp_chunk *c = b->names->next;
    while (c) {
        struct vg_lp_chunk *next = c->next;
        free(c);
        c = next;
    }
    b->names->next = NULL;
    b->names->used = 0;
}

void vg_lp_batch_release(struct vg_lp_batch *b)
{
    vg_lp_batch_reset(b);
    free(b->names);
    free(b->readings);
    vg_lp_batch_init(b);
}

static inline struct vg_lp_reading *batch_slot(struct vg_lp_batch *b)
{
    if (b->n_readings == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->readings = vg_realloc(b->readings, b->cap * sizeof *b->readings);
    }
    return &b->readings[b->n_readings++];
}

void vg_lp_batch_add(struct vg_lp_batch *b, const struct vg_lp_reading *r, int copy)
{
    struct vg_lp_reading *slot = batch_slot(b);
    *slot = *r;
    if (copy && r->sensor_len) {
        char *name = arena_alloc(b, r->sensor_len);
        memcpy(name, r->sensor, r->sensor_len);
        slot->sensor = name;
    }
}

/* ---- names that refuse their reading ------------------------------------- */

const char *vg_lp_reject_reason(enum vg_lp_reject reject)
{
    switch (reject) {
    case VG_LP_NAME_NUL:
        return "contains a NUL byte";
    case VG_LP_NAME_CONTROL:
        return "contains a control character";
    case VG_LP_NAME_UTF8:
        return "is not valid UTF-8";
    default:
        return "";
    }
}

enum vg_lp_reject vg_lp_name_check(const char *name, size_t len)
{
    if (memchr(name, '\0', len))
        return VG_LP_NAME_NUL;
    for (size_t i = 0; i < len; i++)
        if (vg_utf8_is_control((const unsigned char *)name + i, len - i))
            return VG_LP_NAME_CONTROL;
    return vg_utf8_check(name, len) == len ? VG_LP_OK : VG_LP_NAME_UTF8;
}

/* ---- the scanner --------------------------------------------------------- */

/* A name as it appears in the input: raw bytes, whether it holds escapes
 * or C_ODD bytes, and its length once unescaped. */
struct lp_name {
    const char *raw;
    size_t raw_len, len;
    int esc, odd;
};

struct lp_field {
    struct lp_name key;
    double value;
};

struct lp_state {
    const char *end, *line;
    size_t line_no;
    enum vg_lp_precision precision;
    int64_t default_time_ms;
    vg_lp_fn fn;
    void *ctx;
    struct vg_lp_batch *batch;
    struct vg_lp_error *error;
    struct lp_field *fields;
    size_t n_fields, cap_fields;
    struct lp_field inline_fields[16];
};

static int lp_fail(struct lp_state *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lp_fail(struct lp_state *s, const char *at, const char *fmt, ...)
{
    if (!s->error)
        return -EINVAL;
    s->error->line = s->line_no;
    s->error->column = (size_t)(at - s->line) + 1;
    int n = snprintf(s->error->reason, sizeof s->error->reason, "line %zu: ", s->line_no);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error->reason + n, sizeof s->error->reason - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Scans a name up to the first unescaped stop byte. */
static const char *scan_name(const char *p, const char *end, struct lp_name *n)
{
    n->raw = p;
    n->esc = 0;
    n->odd = 0;
    size_t n_esc = 0;
    for (;;) {
        while (p < end && !IS(*p, C_STOP | C_ODD))
            p++;
        if (p < end && IS(*p, C_ODD)) {
            n->odd = 1;
            p++;
            continue;
        }
        if (p < end && *p == '\\') {
            if (p + 1 < end && escapable(p[1])) {
                n_esc++;
                p += 2;
            } else {
                p++;
            }
            continue;
        }
        break;
    }
    n->raw_len = (size_t)(p - n->raw);
    n->len = n->raw_len - n_esc;
    n->esc = n_esc != 0;
    return p;
}

static char *unescape(char *out, const struct lp_name *n)
{
    if (!n->esc) {
        memcpy(out, n->raw, n->raw_len);
        return out + n->raw_len;
    }
    for (size_t i = 0; i < n->raw_len; i++) {
        if (n->raw[i] == '\\' && i + 1 < n->raw_len && escapable(n->raw[i + 1]))
            i++;
        *out++ = n->raw[i];
    }
    return out;
}

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* End of the value token, for messages. */
static size_t token_len(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && !IS(*q, C_END))
        q++;
    return (size_t)(q - p);
}

static int fail_value(struct lp_state *s, const char *v, const char *why)
{
    char shown[48];
    vg_lp_show(shown, sizeof shown, v, token_len(v, s->end), 32);
    return lp_fail(s, v, "field value '%s' %s", shown, why);
}

static int is_word(const char *p, const char *end, const char *w, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 && (p + n == end || IS(p[n], C_END));
}

/* t T true True TRUE / f F false False FALSE; *len 0 if not a boolean. */
static size_t scan_bool(const char *p, const char *end, double *out)
{
    static const struct {
        const char *w;
        size_t n;
        double v;
    } words[] = {
        {"true", 4, 1},  {"True", 4, 1},  {"TRUE", 4, 1},  {"t", 1, 1}, {"T", 1, 1},
        {"false", 5, 0}, {"False", 5, 0}, {"FALSE", 5, 0}, {"f", 1, 0}, {"F", 1, 0},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(words); i++)
        if (is_word(p, end, words[i].w, words[i].n)) {
            *out = words[i].v;
            return words[i].n;
        }
    return 0;
}

/* An integer field: [-]digits followed by i, or digits followed by u. */
static const char *scan_int_field(struct lp_state *s, const char *v, double *out)
{
    const char *p = v;
    int neg = *p == '-';
    if (neg || *p == '+')
        p++;
    uint64_t mag;
    const char *q = scan_uint(p, s->end, neg ? (uint64_t)INT64_MAX + 1 : UINT64_MAX, &mag);
    if (!q || q >= s->end || (*q != 'i' && *q != 'u'))
        return NULL;
    if (*q == 'i' && !neg && mag > (uint64_t)INT64_MAX)
        return NULL;
    if (*q == 'u' && neg)
        return NULL;
    *out = neg ? -(double)mag : (double)mag;
    return q + 1;
}

static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* One field value at v; returns the byte after it, or NULL with error set. */
static const char *scan_value(struct lp_state *s, const struct lp_name *key, const char *v,
                              double *out, int *rc)
{
    const char *end = s->end, *p;
    *rc = 0;
    if (v >= end || IS(*v, C_END)) {
        char shown[48];
        vg_lp_show(shown, sizeof shown, key->raw, key->raw_len, 32);
        *rc = lp_fail(s, v, "field '%s' has no value", shown);
        return NULL;
    }
    if (*v == '"') {
        char shown[48];
        vg_lp_show(shown, sizeof shown, key->raw, key->raw_len, 32);
        *rc = skip_string(v, end)
                  ? lp_fail(s, v, "field '%s' is a string; vigil readings are numbers", shown)
                  : lp_fail(s, v, "field '%s' has an unterminated string", shown);
        return NULL;
    }
    if (*v == 't' || *v == 'T' || *v == 'f' || *v == 'F') {
        size_t n = scan_bool(v, end, out);
        if (!n)
            *rc = fail_value(s, v, "is not a number");
        return n ? v + n : NULL;
    }
    p = vg_lp_number(v, end, out);
    if (p && p < end && (*p == 'i' || *p == 'u')) {
        p = scan_int_field(s, v, out);
        if (!p || (p < end && !IS(*p, C_END))) {
            *rc = fail_value(s, v, "is not a valid integer (64 bits, suffix i or u)");
            return NULL;
        }
        return p;
    }
    if (!p || (p < end && !IS(*p, C_END))) {
        *rc = fail_value(s, v, "is not a number");
        return NULL;
    }
    if (!isfinite(*out)) {
        *rc = fail_value(s, v, "is not a finite number");
        return NULL;
    }
    return p;
}

static struct lp_field *field_slot(struct lp_state *s)
{
    if (s->n_fields == s->cap_fields) {
        size_t cap = s->cap_fields * 2;
        if (s->fields == s->inline_fields) {
            s->fields = vg_malloc(cap * sizeof *s->fields);
            memcpy(s->fields, s->inline_fields, sizeof s->inline_fields);
        } else {
            s->fields = vg_realloc(s->fields, cap * sizeof *s->fields);
        }
        s->cap_fields = cap;
    }
    return &s->fields[s->n_fields++];
}

/* The sensor name of a field, checked for length now so that a line is
 * refused before any of its readings is handed out. */
static int is_value_field(const struct lp_name *key)
{
    return !key->esc && key->raw_len == 5 && memcmp(key->raw, "value", 5) == 0;
}

static int check_name_len(struct lp_state *s, const struct lp_name *base,
                          const struct lp_name *key)
{
    size_t len = is_value_field(key) ? base->len : base->len + 1 + key->len;
    if (len <= VG_LP_NAME_MAX)
        return 0;
    char shown[48];
    vg_lp_show(shown, sizeof shown, key->raw, key->raw_len, 32);
    return lp_fail(s, key->raw, "sensor name of field '%s' is longer than %d characters", shown,
                   VG_LP_NAME_MAX);
}

static int scan_fields(struct lp_state *s, const char *p, const struct lp_name *base,
                       const char **endp)
{
    const char *end = s->end;
    s->n_fields = 0;
    for (;;) {
        struct lp_field *f = field_slot(s);
        const char *k = p;
        p = scan_name(p, end, &f->key);
        if (p >= end || *p != '=') {
            char shown[48];
            vg_lp_show(shown, sizeof shown, k, token_len(k, end), 32);
            return f->key.raw_len == 0 && (p >= end || IS(*p, C_END))
                       ? lp_fail(s, k, "missing field set")
                       : lp_fail(s, k, "field '%s' has no '=value'", shown);
        }
        if (f->key.raw_len == 0)
            return lp_fail(s, k, "field with an empty name");
        int rc = check_name_len(s, base, &f->key);
        if (rc)
            return rc;
        p = scan_value(s, &f->key, p + 1, &f->value, &rc);
        if (!p)
            return rc;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        *endp = p;
        return 0;
    }
}

static int fail_time(struct lp_state *s, const char *t, const char *why)
{
    char shown[48];
    vg_lp_show(shown, sizeof shown, t, token_len(t, s->end), 32);
    return lp_fail(s, t, "timestamp '%s' %s", shown, why);
}

static int scan_time(struct lp_state *s, const char *p, const char **endp, int64_t *time_ms)
{
    const char *end = s->end;
    if (p >= end || *p == '\n' || *p == '\r') {
        *time_ms = s->default_time_ms;
        *endp = p;
        return 0;
    }
    const char *t = p;
    int neg = *p == '-';
    uint64_t v;
    const char *q = scan_uint(p + neg, end, INT64_MAX, &v);
    if (!q && p + neg < end && IS(p[neg], C_DIGIT))
        return fail_time(s, t, "is out of range");
    if (!q || (q < end && !IS(*q, C_END)))
        return fail_time(s, t, "is not an integer");
    static const uint64_t div[] = {1000000, 1000, 1, 1};
    uint64_t ms = s->precision == VG_LP_S ? v * 1000 : v / div[s->precision];
    if (neg || (s->precision == VG_LP_S && v > (uint64_t)VG_LP_MAX_TIME_MS / 1000) ||
        ms > (uint64_t)VG_LP_MAX_TIME_MS)
        return fail_time(s, t, "is out of range");
    *time_ms = (int64_t)ms;
    *endp = q;
    return 0;
}

/* Hands the line's readings out. */
static int emit(struct lp_state *s, const struct lp_name *base, int64_t time_ms)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct lp_field *f = &s->fields[i];
        const char *name = base->raw;
        size_t len = base->len;
        int plain = is_value_field(&f->key);
        char scratch[2 * VG_LP_NAME_MAX + 2];
        if (!plain || base->esc) {
            char *out =
                s->batch ? arena_alloc(s->batch, plain ? len : len + 1 + f->key.len) : scratch;
            char *q = unescape(out, base);
            if (!plain) {
                *q++ = '.';
                q = unescape(q, &f->key);
            }
            name = out;
            len = (size_t)(q - out);
        }
        uint8_t reject = base->odd || (!plain && f->key.odd)
                             ? (uint8_t)vg_lp_name_check(name, len)
                             : (uint8_t)VG_LP_OK;
        uint32_t where = s->line_no > UINT32_MAX ? UINT32_MAX : (uint32_t)s->line_no;
        if (s->batch) {
            struct vg_lp_reading *r = batch_slot(s->batch);
            *r = (struct vg_lp_reading){name, len, time_ms, f->value, where, reject};
        } else if (s->fn) {
            struct vg_lp_reading r = {name, len, time_ms, f->value, where, reject};
            int rc = s->fn(s->ctx, &r);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The tag set after the measurement; remembers a sensor= tag. */
static const char *scan_tags(struct lp_state *s, const char *p, struct lp_name *base, int *rc)
{
    const char *end = s->end;
    while (p < end && *p == ',') {
        struct lp_name key, val;
        const char *k = p + 1;
        p = scan_name(k, end, &key);
        if (p >= end || *p != '=' || key.raw_len == 0) {
            char shown[48];
            vg_lp_show(shown, sizeof shown, k, token_len(k, end), 32);
            *rc = lp_fail(s, k, "tag '%s' has no '=value'", shown);
            return NULL;
        }
        const char *v = p + 1;
        p = scan_name(v, end, &val);
        if (val.raw_len == 0) {
            char shown[48];
            vg_lp_show(shown, sizeof shown, key.raw, key.raw_len, 32);
            *rc = lp_fail(s, v, "tag '%s' has an empty value", shown);
            return NULL;
        }
        if (!key.esc && key.raw_len == 6 && memcmp(key.raw, "sensor", 6) == 0) {
            if (val.len > VG_LP_NAME_MAX) {
                *rc = lp_fail(s, v, "tag sensor is longer than %d characters", VG_LP_NAME_MAX);
                return NULL;
            }
            *base = val;
        }
    }
    return p;
}

static int parse_line(struct lp_state *s, const char *p, const char **next)
{
    const char *end = s->end;
    struct lp_name base;
    int rc = 0;
    p = scan_name(p, end, &base);
    if (base.raw_len == 0)
        return lp_fail(s, p, "missing measurement");
    if (base.len > VG_LP_NAME_MAX)
        return lp_fail(s, base.raw, "measurement is longer than %d characters", VG_LP_NAME_MAX);
    p = scan_tags(s, p, &base, &rc);
    if (!p)
        return rc;
    if (p >= end || (*p != ' ' && *p != '\t')) {
        if (p >= end || *p == '\n' || *p == '\r')
            return lp_fail(s, p, "missing field set");
        char shown[16];
        vg_lp_show(shown, sizeof shown, p, 1, 1);
        return lp_fail(s, p, "unexpected '%s' after the measurement", shown);
    }
    p = skip_spaces(p, end);
    if ((rc = scan_fields(s, p, &base, &p)))
        return rc;
    p = skip_spaces(p, end);
    int64_t time_ms = 0;
    if ((rc = scan_time(s, p, &p, &time_ms)))
        return rc;
    p = skip_spaces(p, end);
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p != '\n')
        return lp_fail(s, p, "unexpected text after the timestamp");
    *next = p;
    return emit(s, &base, time_ms);
}

static int parse_all(struct lp_state *s, const char *buf, size_t len)
{
    const char *p = buf;
    s->end = buf + len;
    s->fields = s->inline_fields;
    s->cap_fields = VG_ARRAY_LEN(s->inline_fields);
    s->line_no = 0;
    int rc = 0;
    while (p < s->end) {
        s->line = p;
        s->line_no++;
        p = skip_spaces(p, s->end);
        if (p < s->end && *p == '#') {
            const char *nl = memchr(p, '\n', (size_t)(s->end - p));
            p = nl ? nl : s->end;
        } else if (p < s->end && *p == '\r' && (p + 1 == s->end || p[1] == '\n')) {
            p++;
        } else if (p < s->end && *p != '\n') {
            if ((rc = parse_line(s, p, &p)))
                break;
        }
        if (p < s->end)
            p++; /* the '\n' */
    }
    if (s->fields != s->inline_fields)
        free(s->fields);
    return rc;
}

int vg_lp_parse(const char *buf, size_t len, enum vg_lp_precision precision,
                int64_t default_time_ms, vg_lp_fn fn, void *ctx, struct vg_lp_error *error)
{
    struct lp_state s = {.precision = precision,
                         .default_time_ms = default_time_ms,
                         .fn = fn,
                         .ctx = ctx,
                         .error = error};
    return parse_all(&s, buf, len);
}

int vg_lp_parse_batch(const char *buf, size_t len, enum vg_lp_precision precision,
                      int64_t default_time_ms, struct vg_lp_batch *b, struct vg_lp_error *error)
{
    struct lp_state s = {
        .precision = precision, .default_time_ms = default_time_ms, .batch = b, .error = error};
    return parse_all(&s, buf, len);
}

int vg_lp_precision_parse(const char *s, enum vg_lp_precision *out)
{
    static const char *const names[] = {"ns", "us", "ms", "s"};
    if (!s || !*s) {
        *out = VG_LP_NS;
        return 0;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum vg_lp_precision)i;
            return 0;
        }
    return -EINVAL;
}

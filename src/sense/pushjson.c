/*
 * pushjson.c - scanner for the JSON batch body of POST /api/v1/readings
 * (format in pushjson.h).
 *
 * The body has one fixed shape, so instead of building a jansson tree (an
 * allocation per value) this walks the bytes once: object, "readings",
 * array of flat objects. Strings are validated as JSON (escapes, no raw
 * control characters) and only unescaped when they hold escapes. Input is
 * not NUL-terminated and comes from the network: every read is bounded by
 * end, nothing recurses, and no raw byte reaches an error message.
 */
#include "sense/pushjson.h"

#include <math.h>

struct pj_state {
    const char *buf, *p, *end;
    long index; /* readings[index], -1 outside the array */
    char *err;
    size_t errlen;
};

struct pj_reading {
    const char *sensor; /* raw, between the quotes */
    size_t sensor_raw_len;
    int sensor_esc;
    int64_t time_ms;
    double value;
    unsigned seen; /* bits: 1 sensor, 2 time, 4 value */
};

static int pj_fail(struct pj_state *s, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "readings[3].value: " + message */
static int pj_fail(struct pj_state *s, const char *field, const char *fmt, ...)
{
    if (!s->err || !s->errlen)
        return -EINVAL;
    int n = s->index < 0 ? snprintf(s->err, s->errlen, "%s: ", field ? field : "body")
                         : snprintf(s->err, s->errlen, "readings[%ld]%s%s: ", s->index,
                                    field ? "." : "", field ? field : "");
    if (n < 0 || (size_t)n >= s->errlen)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int pj_syntax(struct pj_state *s, const char *expected)
{
    char shown[24];
    if (s->p >= s->end)
        return pj_fail(s, NULL, "invalid JSON at byte %zu: expected %s, found the end",
                       (size_t)(s->p - s->buf), expected);
    vg_lp_show(shown, sizeof shown, s->p, 1, 1);
    return pj_fail(s, NULL, "invalid JSON at byte %zu: expected %s, found '%s'",
                   (size_t)(s->p - s->buf), expected, shown);
}

static void ws(struct pj_state *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Skips white space and takes ch if it is next. */
static int take(struct pj_state *s, char ch)
{
    ws(s);
    if (s->p < s->end && *s->p == ch) {
        s->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

/* A JSON string at s->p (after white space): its raw bytes between the
 * quotes, validated; *esc when it holds escapes. */
static int scan_string(struct pj_state *s, const char **raw, size_t *raw_len, int *esc)
{
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return pj_syntax(s, "a string");
    const char *p = ++s->p;
    *esc = 0;
    for (; p < s->end && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) {
            s->p = p;
            return pj_syntax(s, "no control character in a string");
        }
        if (*p != '\\')
            continue;
        *esc = 1;
        if (++p >= s->end)
            break;
        unsigned u;
        if (*p == 'u' && hex4(p + 1, s->end, &u) == 0)
            p += 4;
        else if (!*p || !strchr("\"\\/bfnrt", *p)) {
            s->p = p;
            return pj_syntax(s, "a valid escape");
        }
    }
    if (p >= s->end) {
        s->p = p;
        return pj_syntax(s, "the end of the string");
    }
    *raw = s->p;
    *raw_len = (size_t)(p - s->p);
    s->p = p + 1;
    return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescapes an already validated string into out (cap bytes); the length,
 * or SIZE_MAX if it does not fit. A \uD800-\uDFFF escape that is not half
 * of a pair sets *lone: it stands for no character, and its three bytes
 * (as written here) are not UTF-8. */
static size_t unescape(const char *raw, size_t len, char *out, size_t cap, int *lone)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char tmp[4];
        size_t n = 1;
        tmp[0] = raw[i];
        if (raw[i] == '\\') {
            char c = raw[++i];
            unsigned cp, lo;
            if (c == 'u') {
                hex4(raw + i + 1, raw + len, &cp);
                i += 4;
                if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < len && raw[i + 1] == '\\' &&
                    raw[i + 2] == 'u' && hex4(raw + i + 3, raw + len, &lo) == 0 &&
                    lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
                if (cp >= 0xd800 && cp < 0xe000)
                    *lone = 1;
                n = put_utf8(tmp, cp);
            } else {
                tmp[0] = to[strchr(from, c) - from];
            }
        }
        if (o + n > cap)
            return SIZE_MAX;
        memcpy(out + o, tmp, n);
        o += n;
    }
    return o;
}

static int at_delimiter(struct pj_state *s, const char *p)
{
    return p >= s->end || (*p && strchr(" \t\r\n,}]", *p));
}

static int scan_value(struct pj_state *s, struct pj_reading *r)
{
    ws(s);
    const char *p = s->p, *q;
    if (s->end - p >= 4 && memcmp(p, "true", 4) == 0 && at_delimiter(s, p + 4)) {
        r->value = 1;
        q = p + 4;
    } else if (s->end - p >= 5 && memcmp(p, "false", 5) == 0 && at_delimiter(s, p + 5)) {
        r->value = 0;
        q = p + 5;
    } else {
        q = p < s->end && (*p == '-' || (*p >= '0' && *p <= '9'))
                ? vg_lp_number(p, s->end, &r->value)
                : NULL;
        if (!q || !at_delimiter(s, q))
            return pj_fail(s, "value", "expected a number");
        if (!isfinite(r->value))
            return pj_fail(s, "value", "not a finite number");
    }
    s->p = q;
    return 0;
}

static int scan_time(struct pj_state *s, struct pj_reading *r, int64_t default_time_ms)
{
    ws(s);
    const char *p = s->p;
    if (s->end - p >= 4 && memcmp(p, "null", 4) == 0 && at_delimiter(s, p + 4)) {
        r->time_ms = default_time_ms;
        s->p = p + 4;
        return 0;
    }
    if (p < s->end && *p == '"') {
        const char *raw;
        size_t len;
        int esc;
        int rc = scan_string(s, &raw, &len, &esc);
        if (rc)
            return rc;
        if (esc || vg_pj_time_parse(raw, len, &r->time_ms)) {
            char shown[48];
            vg_lp_show(shown, sizeof shown, raw, len, 32);
            return pj_fail(s, "time", "'%s' is not an RFC 3339 time after 1970", shown);
        }
        return 0;
    }
    int64_t t = 0;
    const char *q = p;
    for (; q < s->end && *q >= '0' && *q <= '9' && t <= VG_LP_MAX_TIME_MS; q++)
        t = t * 10 + (*q - '0');
    if (q < s->end && *q >= '0' && *q <= '9')
        return pj_fail(s, "time", "out of range (ms since 1970, up to year 9999)");
    if (q == p || !at_delimiter(s, q))
        return p < s->end && *p == '-'
                   ? pj_fail(s, "time", "out of range (ms since 1970, up to year 9999)")
                   : pj_fail(s, "time",
                             "expected integer ms since 1970 or an RFC 3339 "
                             "string");
    if (t > VG_LP_MAX_TIME_MS)
        return pj_fail(s, "time", "out of range (ms since 1970, up to year 9999)");
    r->time_ms = t;
    s->p = q;
    return 0;
}

static int scan_member(struct pj_state *s, struct pj_reading *r, int64_t default_time_ms)
{
    const char *key;
    size_t key_len;
    int esc, rc;
    if ((rc = scan_string(s, &key, &key_len, &esc)))
        return rc;
    if (!take(s, ':'))
        return pj_syntax(s, "':'");
    static const char *const names[] = {"sensor", "time", "value"};
    unsigned bit = 0;
    for (unsigned i = 0; i < 3; i++)
        if (!esc && key_len == strlen(names[i]) && memcmp(key, names[i], key_len) == 0)
            bit = 1u << i;
    if (!bit) {
        char shown[48];
        vg_lp_show(shown, sizeof shown, key, key_len, 32);
        return pj_fail(s, NULL, "unknown field '%s' (sensor, time, value)", shown);
    }
    if (r->seen & bit)
        return pj_fail(s, names[__builtin_ctz(bit)], "given twice");
    r->seen |= bit;
    if (bit == 2)
        return scan_time(s, r, default_time_ms);
    if (bit == 4)
        return scan_value(s, r);
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return pj_fail(s, "sensor", "expected a string");
    return scan_string(s, &r->sensor, &r->sensor_raw_len, &r->sensor_esc);
}

struct pj_out {
    vg_lp_fn fn;
    void *ctx;
    struct vg_lp_batch *batch;
};

/* Hands one reading out. A sensor name with a NUL, another control
 * character (both only through escapes: raw ones are invalid JSON), invalid
 * UTF-8 or a lone surrogate refuses this reading alone (lineproto.h). */
static int emit(struct pj_state *s, const struct pj_reading *r, const struct pj_out *out)
{
    char name[VG_LP_NAME_MAX];
    const char *sensor = r->sensor;
    size_t len = r->sensor_raw_len;
    int lone = 0;
    if (r->sensor_esc) {
        len = unescape(r->sensor, r->sensor_raw_len, name, sizeof name, &lone);
        sensor = name;
    }
    if (len == 0)
        return pj_fail(s, "sensor", "must not be empty");
    if (len > VG_LP_NAME_MAX)
        return pj_fail(s, "sensor", "longer than %d characters", VG_LP_NAME_MAX);
    struct vg_lp_reading reading = {
        sensor,
        len,
        r->time_ms,
        r->value,
        (uint32_t)s->index,
        (uint8_t)(lone ? VG_LP_NAME_UTF8 : vg_lp_name_check(sensor, len))};
    if (out->batch) {
        vg_lp_batch_add(out->batch, &reading, r->sensor_esc);
        return 0;
    }
    return out->fn ? out->fn(out->ctx, &reading) : 0;
}

static int scan_reading(struct pj_state *s, int64_t default_time_ms, const struct pj_out *out)
{
    struct pj_reading r = {.time_ms = default_time_ms};
    int rc;
    if (!take(s, '{'))
        return pj_fail(s, NULL, "expected an object {sensor, time, value}");
    if (!take(s, '}')) {
        do {
            if ((rc = scan_member(s, &r, default_time_ms)))
                return rc;
        } while (take(s, ','));
        if (!take(s, '}'))
            return pj_syntax(s, "',' or '}'");
    }
    if (!(r.seen & 1))
        return pj_fail(s, "sensor", "required");
    if (!(r.seen & 4))
        return pj_fail(s, "value", "required");
    return emit(s, &r, out);
}

static int scan_readings(struct pj_state *s, int64_t default_time_ms, const struct pj_out *out)
{
    int rc;
    if (!take(s, '['))
        return pj_fail(s, "readings", "expected an array");
    if (take(s, ']'))
        return 0;
    s->index = 0;
    do {
        if ((rc = scan_reading(s, default_time_ms, out)))
            return rc;
        s->index++;
    } while (take(s, ','));
    s->index = -1;
    return take(s, ']') ? 0 : pj_syntax(s, "',' or ']'");
}

static int parse_body(const char *buf, size_t len, int64_t default_time_ms,
                      const struct pj_out *out, char *err, size_t errlen)
{
    struct pj_state s = {buf, buf, buf + len, -1, err, errlen};
    int rc, seen = 0;
    if (!take(&s, '{'))
        return pj_syntax(&s, "'{'");
    if (!take(&s, '}')) {
        do {
            const char *key;
            size_t key_len;
            int esc;
            if ((rc = scan_string(&s, &key, &key_len, &esc)))
                return rc;
            if (!take(&s, ':'))
                return pj_syntax(&s, "':'");
            if (esc || key_len != 8 || memcmp(key, "readings", 8) != 0) {
                char shown[48];
                vg_lp_show(shown, sizeof shown, key, key_len, 32);
                return pj_fail(&s, NULL, "unknown field '%s' (readings)", shown);
            }
            if (seen++)
                return pj_fail(&s, "readings", "given twice");
            if ((rc = scan_readings(&s, default_time_ms, out)))
                return rc;
        } while (take(&s, ','));
        if (!take(&s, '}'))
            return pj_syntax(&s, "',' or '}'");
    }
    ws(&s);
    if (s.p < s.end)
        return pj_syntax(&s, "nothing after the object");
    return seen ? 0 : pj_fail(&s, "readings", "required");
}

int vg_pj_parse(const char *buf, size_t len, int64_t default_time_ms, vg_lp_fn fn, void *ctx,
                char *err, size_t errlen)
{
    struct pj_out out = {fn, ctx, NULL};
    return parse_body(buf, len, default_time_ms, &out, err, errlen);
}

int vg_pj_parse_batch(const char *buf, size_t len, int64_t default_time_ms,
                      struct vg_lp_batch *b, char *err, size_t errlen)
{
    struct pj_out out = {NULL, NULL, b};
    return parse_body(buf, len, default_time_ms, &out, err, errlen);
}

/* ---- RFC 3339 ------------------------------------------------------------ */

static int digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

int vg_pj_time_parse(const char *s, size_t len, int64_t *time_ms)
{
    int y, mo, d, h, mi, sec, ms = 0;
    if (len < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || !s[10] || !strchr("Tt ", s[10]) || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    size_t i = 19;
    if (s[i] == '.') {
        size_t n = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
            if (n < 3)
                ms = ms * 10 + (s[i] - '0');
        if (n == 0)
            return -EINVAL;
        for (; n < 3; n++)
            ms *= 10;
    }
    int offset_min = 0, oh, om;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && !digits(s + i + 1, 2, &oh) &&
               s[i + 3] == ':' && !digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
        offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else {
        return -EINVAL;
    }
    if (i != len)
        return -EINVAL;
    int64_t t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - offset_min) * 60 + sec;
    t = t * 1000 + ms;
    if (t < 0 || t > VG_LP_MAX_TIME_MS)
        return -EINVAL;
    *time_ms = t;
    return 0;
}

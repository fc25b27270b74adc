/*
 * jsonout.c - a direct, allocation-light JSON writer for jansson trees.
 */
#include "core/jsonout.h"

#define MAX_DEPTH 2048

void vg_json_dump_string(const char *s, size_t len, vg_buf_t *out)
{
    static const char hex[] = "0123456789abcdef";
    vg_buf_grow(out, len + 2);
    out->data[out->len++] = '"';
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        vg_buf_add(out, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        vg_buf_add(out, esc, n);
    }
    vg_buf_add(out, s + run, len - run);
    vg_buf_add(out, "\"", 1);
}

static void dump_integer(json_int_t v, vg_buf_t *out)
{
    char digits[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[n++] = '-';
    vg_buf_grow(out, n);
    while (n)
        out->data[out->len++] = (uint8_t)digits[--n];
    out->data[out->len] = 0;
}

/* The shortest form that reads back as the same double: 21.6, not
 * 21.600000000000001 (17 digits always round-trip, 15 mostly do). */
static void dump_real(double v, vg_buf_t *out)
{
    char num[40];
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(num, sizeof num, "%.*g", digits, v);
        if (digits == 17 || strtod(num, NULL) == v)
            break;
    }
    vg_buf_add(out, num, (size_t)n);
    if (!strpbrk(num, ".eE")) /* keep it a real when read back */
        vg_buf_add(out, ".0", 2);
}

static void dump(const json_t *v, vg_buf_t *out, int depth)
{
    if (depth > MAX_DEPTH)
        VG_BUG("JSON value nested deeper than %d (a cycle?)", MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        int first = 1;
        vg_buf_add(out, "{", 1);
        json_object_foreach((json_t *)v, key, item)
        {
            if (!first)
                vg_buf_add(out, ",", 1);
            first = 0;
            vg_json_dump_string(key, strlen(key), out);
            vg_buf_add(out, ":", 1);
            dump(item, out, depth + 1);
        }
        vg_buf_add(out, "}", 1);
        break;
    }
    case JSON_ARRAY:
        vg_buf_add(out, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                vg_buf_add(out, ",", 1);
            dump(json_array_get(v, i), out, depth + 1);
        }
        vg_buf_add(out, "]", 1);
        break;
    case JSON_STRING:
        vg_json_dump_string(json_string_value(v), json_string_length(v), out);
        break;
    case JSON_INTEGER:
        dump_integer(json_integer_value(v), out);
        break;
    case JSON_REAL:
        dump_real(json_real_value(v), out);
        break;
    case JSON_TRUE:
        vg_buf_add(out, "true", 4);
        break;
    case JSON_FALSE:
        vg_buf_add(out, "false", 5);
        break;
    case JSON_NULL:
        vg_buf_add(out, "null", 4);
        break;
    }
}

static json_t *copy(const json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        VG_BUG("JSON value nested deeper than %d (a cycle?)", MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *out = json_object();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
            json_object_set_new_nocheck(out, key, copy(item, depth + 1));
        return out;
    }
    case JSON_ARRAY: {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, copy(json_array_get(v, i), depth + 1));
        return out;
    }
    case JSON_STRING:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json_integer(json_integer_value(v));
    case JSON_REAL:
        return json_real(json_real_value(v));
    default:
        return json_incref((json_t *)v); /* true, false, null are singletons */
    }
}

json_t *vg_json_copy(const json_t *value)
{
    return copy(value, 0);
}

void vg_json_dump(const json_t *value, vg_buf_t *out)
{
    dump(value, out, 0);
}

/*
 * utf8.c - strict UTF-8 validation (see utf8.h). Table-free and branchy:
 * callers run it on names and manifest strings, not on bulk data.
 */
#include "core/utf8.h"

static int is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t vg_utf8_seq(const unsigned char *s, size_t left)
{
    if (!left)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4) /* continuation, overlong 2-byte lead, or past U+10FFFF */
        return 0;
    size_t n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_cont(s[i]))
            return 0;
    /* the second byte's range rules out overlongs, surrogates and > U+10FFFF */
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
        (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

size_t vg_utf8_check(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = vg_utf8_seq(u + i, len - i);
        if (!n)
            return i;
        i += n;
    }
    return len;
}

int vg_utf8_is_control(const unsigned char *s, size_t left)
{
    if (!left)
        return 0;
    if (s[0] < 0x20 || s[0] == 0x7f)
        return 1;
    return s[0] == 0xc2 && left > 1 && s[1] >= 0x80 && s[1] <= 0x9f;
}

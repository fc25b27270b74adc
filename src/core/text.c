/*
 * text.c - UTF-8 validation and the cleaning of echoed outside bytes.
 *
 * Works on short texts (messages, names, log lines): one pass, no
 * allocation. Never reads past len and never writes past cap.
 */
#include "core/text.h"

#include "core/utf8.h"

int vg_text_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

static int shown_as_is(unsigned char c, unsigned flags)
{
    if (c >= 0x20 && c != 0x7f)
        return 1;
    return (flags & VG_TEXT_KEEP_NEWLINES) && (c == '\n' || c == '\t');
}

size_t vg_text_clean(char *out, size_t cap, const char *src, size_t len, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    static const char more[] = "...";
    if (cap == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, room = cap - 1; /* bytes available before the NUL */
    for (size_t i = 0; i < len;) {
        size_t n = vg_utf8_seq(s + i, len - i);
        char piece[4];
        size_t plen;
        if (n == 1 && !shown_as_is(s[i], flags)) {
            n = 0; /* a control byte: shown as \xNN like an invalid one */
        }
        if (n) {
            memcpy(piece, s + i, n);
            plen = n;
        } else {
            piece[0] = '\\', piece[1] = 'x', piece[2] = hex[s[i] >> 4],
            piece[3] = hex[s[i] & 15];
            plen = 4;
            n = 1;
        }
        /* keep room for "..." unless this piece ends the text */
        size_t need = plen + (i + n < len ? sizeof more - 1 : 0);
        if (o + need > room) {
            if (o + sizeof more - 1 <= room) {
                memcpy(out + o, more, sizeof more - 1);
                o += sizeof more - 1;
            }
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    out[o] = '\0';
    return o;
}

void vg_text_clean_inplace(char *buf, size_t cap, unsigned flags)
{
    size_t len = strnlen(buf, cap);
    char *copy = vg_malloc(len + 1);
    memcpy(copy, buf, len);
    vg_text_clean(buf, cap, copy, len, flags);
    free(copy);
}

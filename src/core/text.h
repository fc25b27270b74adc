/*
 * text.h - make outside bytes safe to show: valid UTF-8, cut on a character
 * boundary, control bytes visible.
 *
 * Every message that echoes what a client, a device or a file sent goes
 * through here before it reaches JSON or the log, so building a reply or a
 * log line can never fail and never lets a client forge a line of its own.
 */
#ifndef VG_TEXT_H
#define VG_TEXT_H

#include "core/vg.h"

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int vg_utf8_valid(const char *s, size_t len);

/* Length of the valid UTF-8 sequence starting at s (at most avail bytes
 * read), or 0 if the bytes there are not one. */
size_t vg_utf8_seq_len(const unsigned char *s, size_t avail);

/* 1 if any byte is a C0 control (0x00-0x1f) or DEL. */
int vg_text_has_control(const char *s, size_t len);

enum {
    VG_TEXT_KEEP_NEWLINES = 1, /* leave \n and \t as they are (multi-line text) */
};

/* Copies src[0..len) into out (cap bytes, always NUL-terminated when
 * cap > 0): each byte that is not part of valid UTF-8 becomes "\xNN",
 * each control byte becomes "\xNN" (or stays, see flags), and the copy is
 * cut on a character boundary with "..." when it does not fit. Returns the
 * length written. */
size_t vg_text_clean(char *out, size_t cap, const char *src, size_t len, unsigned flags);

/* vg_text_clean of a C string in place (buf has cap bytes). */
void vg_text_clean_inplace(char *buf, size_t cap, unsigned flags);

#endif

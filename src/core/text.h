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

/* UTF-8 validity itself is core/utf8.h's rule. */

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

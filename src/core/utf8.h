/*
 * utf8.h - strict UTF-8 checks for bytes that came from outside.
 *
 * jansson refuses invalid UTF-8 and lone surrogates when it parses text,
 * but not every string reaches vigil through its parser (json_stringn_nocheck,
 * hand-written scanners of pushed readings). What is stored or filed by name
 * must be text that any JSON writer and reader will carry unchanged, so the
 * same rule is applied everywhere: RFC 3629 UTF-8, no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#ifndef VG_UTF8_H
#define VG_UTF8_H

#include "core/vg.h"

/* Length of the valid UTF-8 sequence starting at s[0] (1-4), or 0 if the
 * bytes at s (at most left of them) are not one. */
size_t vg_utf8_seq(const unsigned char *s, size_t left);

/* Byte offset of the first byte that does not start a valid sequence, or
 * len if all of s[0..len) is valid UTF-8. */
size_t vg_utf8_check(const char *s, size_t len);

/* Whether the character at s (at most left bytes) is a control character:
 * C0 (U+0000..U+001F, NUL included), DEL or C1 (U+0080..U+009F). */
int vg_utf8_is_control(const unsigned char *s, size_t left);

#endif

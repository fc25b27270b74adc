/*
 * buf.h - a growable, length-carrying byte buffer (git's strbuf, Redis's sds).
 *
 * Invariant: data[len] == '\0' whenever data != NULL, so text can be used as
 * a C string; binary content may contain NULs. vg_buf_init gives an empty
 * buffer that owns nothing; vg_buf_release frees and resets it.
 */
#ifndef VG_BUF_H
#define VG_BUF_H

#include "vg.h"

typedef struct vg_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} vg_buf_t;

#define VG_BUF_INIT {NULL, 0, 0}

void vg_buf_init(vg_buf_t *b);
void vg_buf_release(vg_buf_t *b);
void vg_buf_reset(vg_buf_t *b); /* len = 0, keeps capacity */
void vg_buf_grow(vg_buf_t *b, size_t extra);
void vg_buf_add(vg_buf_t *b, const void *p, size_t n);
void vg_buf_adds(vg_buf_t *b, const char *s);
void vg_buf_printf(vg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_buf_vprintf(vg_buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
uint8_t *vg_buf_detach(vg_buf_t *b, size_t *len);

#endif

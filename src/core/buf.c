/*
 * buf.c - growable byte buffer. Grows geometrically; never shrinks on its own.
 */
#include "buf.h"

void vg_buf_init(vg_buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void vg_buf_release(vg_buf_t *b)
{
    free(b->data);
    vg_buf_init(b);
}

void vg_buf_reset(vg_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void vg_buf_grow(vg_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = vg_realloc(b->data, cap);
    b->cap = cap;
}

void vg_buf_add(vg_buf_t *b, const void *p, size_t n)
{
    vg_buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void vg_buf_adds(vg_buf_t *b, const char *s)
{
    vg_buf_add(b, s, strlen(s));
}

void vg_buf_vprintf(vg_buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0) {
        vg_buf_grow(b, (size_t)n);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void vg_buf_printf(vg_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

uint8_t *vg_buf_detach(vg_buf_t *b, size_t *len)
{
    uint8_t *p = b->data ? b->data : vg_calloc(1, 1);
    if (len)
        *len = b->len;
    vg_buf_init(b);
    return p;
}

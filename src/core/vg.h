/*
 * vg.h - the few things every vigil source file shares: error conventions,
 * the VG_BUG invariant check, little-endian helpers and banned.h.
 *
 * Errors: functions return 0 on success or a negative errno-style code
 * (-EINVAL, -EIO, ...). Text for a person goes into an (err, errlen) buffer
 * the caller passes, lowercase, subject quoted, no final full stop.
 */
#ifndef VG_H
#define VG_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VG_VERSION "0.1.0"

/* vigil-specific error codes, beyond errno's range */
#define VG_ECONFLICT 1001 /* If-Match revision did not match */
#define VG_ECORRUPT 1002  /* stored data failed authentication mid-log */

#define VG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A broken invariant: a bug in vigil, never bad input. */
#define VG_BUG(...) vg_bug(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void vg_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats into err (if non-NULL) and returns code; for `return vg_err(...)`. */
int vg_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Allocation that aborts on out-of-memory (the one case we do not recover). */
void *vg_malloc(size_t n);
void *vg_calloc(size_t n, size_t size);
void *vg_realloc(void *p, size_t n);
char *vg_strdup(const char *s);

static inline void vg_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void vg_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vg_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t vg_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t vg_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t vg_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Monotonic and wall clocks in milliseconds / microseconds. */
uint64_t vg_mono_ms(void);
uint64_t vg_mono_us(void);
uint64_t vg_wall_ms(void);

#include "banned.h"

#endif

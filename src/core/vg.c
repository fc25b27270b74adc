/*
 * vg.c - error formatting, out-of-memory policy and clocks shared by all
 * modules. Allocation failure aborts: vigil cannot do anything useful
 * without memory, and pretending otherwise spreads untested paths everywhere.
 */
#include "vg.h"

#include "core/text.h"

#include <time.h>

void vg_bug(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vigil: BUG at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int vg_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        /* messages quote names, keys and values from outside: made valid
         * UTF-8 with control bytes visible and cut on a character boundary
         * (core/text.h), so every reply and log line built from one can be */
        char raw[2048];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        size_t len = n < 0 ? 0 : (size_t)n >= sizeof raw ? sizeof raw - 1 : (size_t)n;
        vg_text_clean(err, errlen, raw, len, 0);
    }
    return code;
}

static void *oom(size_t n)
{
    fprintf(stderr, "vigil: out of memory allocating %zu bytes\n", n);
    abort();
}

void *vg_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *vg_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *vg_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *vg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = vg_malloc(n);
    memcpy(p, s, n);
    return p;
}

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t vg_mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

uint64_t vg_mono_ms(void)
{
    return clock_us(CLOCK_MONOTONIC) / 1000u;
}

uint64_t vg_wall_ms(void)
{
    return clock_us(CLOCK_REALTIME) / 1000u;
}

/*
 * fwd.c - forward batches (encode, strict decode).
 */
#include "sense/fwd.h"

#include <math.h>

#include "core/names.h"

static void put_name(vg_buf_t *b, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    uint8_t len = (uint8_t)n;
    vg_buf_add(b, &len, 1);
    vg_buf_add(b, s, n);
}

static void put_i64(vg_buf_t *b, int64_t v)
{
    uint8_t p[8];
    vg_put_u64(p, (uint64_t)v);
    vg_buf_add(b, p, 8);
}

void vg_fwd_add_reading(vg_buf_t *batch, const char *sensor, int64_t time_ms, double value)
{
    uint8_t kind = 1;
    vg_buf_add(batch, &kind, 1);
    put_name(batch, sensor, 63);
    put_i64(batch, time_ms);
    uint64_t bits;
    memcpy(&bits, &value, 8);
    put_i64(batch, (int64_t)bits);
}

void vg_fwd_add_device(vg_buf_t *batch, const char *device, int64_t time_ms, int up,
                       const char *error)
{
    uint8_t kind = 2, u = up ? 1 : 0;
    vg_buf_add(batch, &kind, 1);
    put_name(batch, device, 63);
    put_i64(batch, time_ms);
    vg_buf_add(batch, &u, 1);
    put_name(batch, error ? error : "", 255);
}

struct cur {
    const uint8_t *p;
    size_t left;
};

static int take(struct cur *c, void *out, size_t n)
{
    if (c->left < n)
        return -1;
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return 0;
}

static int take_text(struct cur *c, char *out, size_t cap)
{
    uint8_t n;
    if (take(c, &n, 1) || n >= cap || take(c, out, n))
        return -1;
    out[n] = '\0';
    return memchr(out, '\0', n) ? -1 : 0;
}

static int take_i64(struct cur *c, int64_t *v)
{
    uint8_t b[8];
    if (take(c, b, 8))
        return -1;
    *v = (int64_t)vg_get_u64(b);
    return 0;
}

/* One entry at c; 0, or -1 with why set. */
static int decode_one(struct cur *c, struct vg_fwd_entry *e, const char **why)
{
    uint8_t kind;
    memset(e, 0, sizeof e->name);
    if (take(c, &kind, 1) || (kind != 1 && kind != 2))
        return *why = "unknown entry kind", -1;
    e->kind = kind;
    char nerr[128];
    if (take_text(c, e->name, sizeof e->name) || vg_name_check(e->name, nerr, sizeof nerr))
        return *why = "bad name", -1;
    if (take_i64(c, &e->time_ms) || e->time_ms < 0)
        return *why = "bad time", -1;
    if (kind == 1) {
        int64_t bits;
        if (take_i64(c, &bits))
            return *why = "truncated value", -1;
        memcpy(&e->value, &bits, 8);
        if (!isfinite(e->value))
            return *why = "value is not finite", -1;
        return 0;
    }
    uint8_t up;
    if (take(c, &up, 1) || up > 1)
        return *why = "bad device state", -1;
    e->up = up;
    if (take_text(c, e->error, sizeof e->error))
        return *why = "bad device error text", -1;
    return 0;
}

int vg_fwd_decode(const uint8_t *p, size_t len,
                  void (*fn)(void *ctx, const struct vg_fwd_entry *e), void *ctx, char *err,
                  size_t errlen)
{
    struct vg_fwd_entry e;
    for (int pass = 0; pass < 2; pass++) {
        struct cur c = {p, len};
        while (c.left) {
            size_t at = len - c.left;
            const char *why = NULL;
            if (decode_one(&c, &e, &why))
                return vg_err(err, errlen, -EINVAL, "readings batch: entry at byte %zu: %s",
                              at, why);
            if (pass == 1)
                fn(ctx, &e);
        }
    }
    return 0;
}

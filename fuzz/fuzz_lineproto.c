/*
 * fuzz_lineproto.c - libFuzzer target for vg_lp_parse, which every body of
 * POST /api/v1/write goes through straight from the network.
 *
 * The input is the body, not NUL-terminated (copied to an exact-size heap
 * buffer so ASan sees any read past its end), parsed at every precision.
 * Besides "no crash, no leak", it traps when the parser breaks
 * lineproto.h's promises: the callback and batch passes agree, every name
 * is 1-63 bytes, every value finite and every time within 0..year 9999,
 * and an error has a line within the input and a "line N: " reason.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "sense/lineproto.h"

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

struct seen {
    const struct vg_lp_batch *batch;
    size_t n;
};

static int check_reading(void *ctx, const struct vg_lp_reading *got)
{
    struct seen *s = ctx;
    require(got->sensor_len >= 1 && got->sensor_len <= VG_LP_NAME_MAX);
    require(isfinite(got->value));
    require(got->time_ms == 7 || (got->time_ms >= 0 && got->time_ms <= VG_LP_MAX_TIME_MS));
    /* a name is refused exactly when it is not clean text */
    require(got->reject == vg_lp_name_check(got->sensor, got->sensor_len));
    require(got->where >= 1);
    require(s->n < s->batch->n_readings);
    const struct vg_lp_reading *r = &s->batch->readings[s->n++];
    require(r->sensor_len == got->sensor_len &&
            memcmp(r->sensor, got->sensor, got->sensor_len) == 0);
    require(r->time_ms == got->time_ms && (r->value == got->value || (r->value != r->value)));
    require(r->where == got->where && r->reject == got->reject);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    for (int prec = VG_LP_NS; prec <= VG_LP_S; prec++) {
        struct vg_lp_batch b;
        struct vg_lp_error e1, e2;
        vg_lp_batch_init(&b);
        int rc1 = vg_lp_parse_batch(body, size, (enum vg_lp_precision)prec, 7, &b, &e1);
        struct seen s = {&b, 0};
        int rc2 =
            vg_lp_parse(body, size, (enum vg_lp_precision)prec, 7, check_reading, &s, &e2);
        require(rc1 == rc2 && s.n == b.n_readings);
        require(rc1 == 0 || rc1 == -EINVAL);
        if (rc1) {
            require(e1.line >= 1 && e1.line <= size + 1 && e1.line == e2.line);
            require(strncmp(e1.reason, "line ", 5) == 0 && strcmp(e1.reason, e2.reason) == 0);
            for (const char *c = e1.reason; *c; c++)
                require(*c >= 0x20 && *c < 0x7f);
        }
        vg_lp_batch_release(&b);
    }
    free(body);
    return 0;
}

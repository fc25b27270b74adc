/*
 * fuzz_pushjson.c - libFuzzer target for vg_pj_parse, which every body of
 * POST /api/v1/readings goes through straight from the network.
 *
 * The body is copied to an exact-size heap buffer (not NUL-terminated) so
 * ASan catches reads past it. Traps when pushjson.h's promises break: the
 * callback and batch passes agree, names are 1-63 bytes, values finite,
 * times 0..year 9999 (or the default), and error messages are printable
 * ASCII that start with "body", "readings" or "readings[N]".
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "sense/pushjson.h"

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static int check_reading(void *ctx, const struct vg_lp_reading *r)
{
    require(r->sensor_len >= 1 && r->sensor_len <= VG_LP_NAME_MAX);
    require(isfinite(r->value));
    require(r->time_ms == 7 || (r->time_ms >= 0 && r->time_ms <= VG_LP_MAX_TIME_MS));
    /* a clean name is never refused; a refused one is never clean */
    require((r->reject == VG_LP_OK) == (vg_lp_name_check(r->sensor, r->sensor_len) == VG_LP_OK));
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    struct vg_lp_batch b;
    vg_lp_batch_init(&b);
    char err1[256] = "", err2[256] = "";
    size_t n = 0;
    int rc1 = vg_pj_parse_batch(body, size, 7, &b, err1, sizeof err1);
    int rc2 = vg_pj_parse(body, size, 7, check_reading, &n, err2, sizeof err2);
    require(rc1 == rc2 && n == b.n_readings && strcmp(err1, err2) == 0);
    require(rc1 == 0 || rc1 == -EINVAL);
    if (rc1) {
        require(strncmp(err1, "body", 4) == 0 || strncmp(err1, "readings", 8) == 0);
        for (const char *c = err1; *c; c++)
            require(*c >= 0x20 && *c < 0x7f);
    }
    for (size_t i = 0; i < b.n_readings; i++)
        require(b.readings[i].sensor_len >= 1 && isfinite(b.readings[i].value));
    int64_t t;
    if (vg_pj_time_parse(body, size, &t) == 0)
        require(t >= 0 && t <= VG_LP_MAX_TIME_MS);
    vg_lp_batch_release(&b);
    free(body);
    return 0;
}

/*
 * fuzz_fwd.c - arbitrary bytes as a forward batch from the mirror: the
 * decoder must never read out of bounds, and a batch it accepts must
 * encode back to the same bytes (so nothing in it was skipped).
 */
#include <math.h>

#include "sense/fwd.h"

static void reencode(void *ctx, const struct vg_fwd_entry *e)
{
    vg_buf_t *again = ctx;
    if (e->kind == 1)
        vg_fwd_add_reading(again, e->name, e->time_ms, e->value);
    else
        vg_fwd_add_device(again, e->name, e->time_ms, e->up, e->error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_buf_t again = VG_BUF_INIT;
    char err[256];
    if (vg_fwd_decode(data, size, reencode, &again, err, sizeof err) == 0 &&
        (again.len != size || (size && memcmp(again.data, data, size) != 0)))
        VG_BUG("forward batch did not re-encode to its own bytes");
    vg_buf_release(&again);
    return 0;
}

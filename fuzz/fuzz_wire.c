/*
 * fuzz_wire.c - arbitrary bytes as a stream of member-link messages: the
 * decoder must never read out of bounds, and whatever it accepts must
 * encode back to the same bytes.
 */
#include "cluster/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        vg_wire_msg_t msg;
        size_t used = 0;
        char err[256];
        if (vg_wire_decode(data + at, size - at, &msg, &used, err, sizeof err) != 0)
            break;
        vg_buf_t again = VG_BUF_INIT;
        vg_wire_encode(&msg, &again);
        if (again.len != used || memcmp(again.data, data + at, used) != 0)
            VG_BUG("wire message did not re-encode to its own bytes");
        vg_buf_release(&again);
        at += used;
    }
    return 0;
}

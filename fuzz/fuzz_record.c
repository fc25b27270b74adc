/*
 * fuzz_record.c - libFuzzer target for vg_record_decode, which every byte
 * read back from a log segment (and, later, from a mirror stream) passes
 * through before anything trusts it.
 *
 * The input is read as a stream of frames, the way log recovery walks a
 * segment: after a frame opens, decoding goes on right after it; after a
 * malformed or unauthentic one, one byte further (as the log's search for
 * valid frames after a bad tail does); "runs past the end" stops the walk.
 * The keyring is the fixed fixture key (tests/fixtures/log/keyring), so the
 * seed corpus fuzz/corpus/fuzz_record/ holds frames that really open and the
 * fuzzer gets past the AEAD. Besides "no crash, no leak", it traps when a
 * decoded record breaks record.h's promises: the frame length accounts for
 * the payload exactly, and the record encodes and decodes back to itself.
 */
#include <stddef.h>
#include <stdint.h>

#include "store/record.h"

static const uint8_t fixture_key[VG_KEY_BYTES] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_reencodes(const vg_keyring_t *kr, const vg_record_t *rec)
{
    vg_buf_t frame = VG_BUF_INIT;
    vg_record_t again;
    size_t used;
    require(vg_record_encode(kr, rec, &frame) == 0);
    require(vg_record_decode(kr, frame.data, frame.len, &again, &used, NULL, 0) == 0);
    require(
        used == frame.len && again.epoch == rec->epoch && again.index == rec->index &&
        again.type == rec->type && again.key_id == rec->key_id &&
        again.payload_len == rec->payload_len &&
        (rec->payload_len == 0 || memcmp(again.payload, rec->payload, rec->payload_len) == 0));
    vg_record_release(&again);
    vg_buf_release(&frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_keyring_t *kr;
    if (!kr)
        kr = vg_keyring_new_from_bytes(fixture_key, 1);
    size_t off = 0;
    while (off < size) {
        vg_record_t rec;
        size_t used = 0;
        char err[256];
        int rc = vg_record_decode(kr, data + off, size - off, &rec, &used, err, sizeof err);
        if (rc == -EAGAIN)
            break;
        if (rc != 0) {
            require(used == 0 && rec.payload == NULL && err[0] != '\0');
            off++;
            continue;
        }
        require(used > 0 && used <= size - off);
        require(used == VG_RECORD_FRAME_OVERHEAD + rec.payload_len);
        check_reencodes(kr, &rec);
        vg_record_release(&rec);
        off += used;
    }
    return 0;
}

/*
 * tsdb_codec.h - the compressed chunk format of the time-series store.
 *
 * A chunk is a run of rows (int64 time_ms, 1..4 double columns) of one
 * series in one tier: raw points have one column (the value), rollup rows
 * four (min, max, sum, count). Rows are encoded as they arrive (streaming),
 * so an open chunk costs its compressed size in memory, not 16 bytes a
 * point.
 *
 * Times: delta-of-delta, zigzag, in variable-bit buckets; a regular
 * interval costs one bit a row. Values, per column and chunk: if every
 * value is v == m / 10^k exactly (bit for bit) for an integer m and some
 * k <= 6, the column stores m as zigzag deltas in variable-bit buckets (a
 * repeated value costs one bit); otherwise it falls back to Gorilla XOR of
 * the IEEE bits. The smallest such k is chosen; a value that needs a larger
 * k (or XOR) re-encodes the chunk's rows once, so decoding always returns
 * exactly the doubles that were added.
 *
 * Serialized (plaintext, sealed by the caller):
 *   u8 version(1) | u8 n_cols | n_cols x u8 mode (0..6 = k, 255 = XOR) |
 *   varint n_rows | varint zigzag(t_first) | varint n_bits | bit stream
 *
 * The decoder is fed bytes from disk after authentication, but must still
 * treat them as hostile: it never reads out of bounds, never allocates
 * from a length it read, and does work linear in the input (the fuzzer
 * fuzz/fuzz_tsdb_chunk.c holds it to that).
 */
#ifndef VG_TSDB_CODEC_H
#define VG_TSDB_CODEC_H

#include "core/buf.h"
#include "core/vg.h"

#define VG_TSDB_MAX_COLS      4
#define VG_TSDB_MODE_XOR      255
#define VG_TSDB_MAX_DECIMALS  6
#define VG_TSDB_CHUNK_VERSION 1

/* Variable-bit buckets: bucket i is written as i one-bits and a zero (the
 * last bucket: all ones, no zero), then bits[i] bits of (zz - base of i). */
#define VG_TSDB_N_BUCKETS 6
static const uint8_t vg_tsdb_time_buckets[VG_TSDB_N_BUCKETS] = {0, 7, 12, 20, 32, 64};
static const uint8_t vg_tsdb_value_buckets[VG_TSDB_N_BUCKETS] = {0, 2, 6, 13, 32, 64};
static const double vg_tsdb_pow10[VG_TSDB_MAX_DECIMALS + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};

static inline uint64_t vg_tsdb_zigzag(uint64_t x)
{
    return (x << 1) ^ (0 - (x >> 63));
}

static inline uint64_t vg_tsdb_unzigzag(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

struct vg_tsdb_col {
    uint64_t prev;       /* previous m (decimal mode) or IEEE bits (XOR mode) */
    uint8_t lead, trail; /* XOR mode: the current meaningful-bits window */
};

/* An open chunk being encoded. Owned by one series (or the pending list);
 * freed with vg_tsdb_enc_free. */
typedef struct vg_tsdb_enc {
    int64_t window; /* start of the aligned time window its rows belong to */
    int64_t t_first, t_prev;
    uint64_t d_prev; /* previous time delta (wrapping arithmetic) */
    uint32_t n_rows;
    uint32_t n_bits, cap; /* bits used in `bits`; bytes allocated */
    uint8_t n_cols;
    uint8_t mode[VG_TSDB_MAX_COLS];
    uint8_t *bits;
    struct vg_tsdb_col col[]; /* n_cols of them */
} vg_tsdb_enc_t;

/* A new empty chunk of n_cols (1..VG_TSDB_MAX_COLS) columns. */
vg_tsdb_enc_t *vg_tsdb_enc_new(int n_cols, int64_t window);
void vg_tsdb_enc_free(vg_tsdb_enc_t *e); /* NULL is fine */

/* Appends a row; v holds n_cols values, any bits (the store itself only
 * adds finite ones). Times should increase but any int64 encodes. */
void vg_tsdb_enc_add(vg_tsdb_enc_t *e, int64_t t, const double *v);

/* Appends the serialized chunk to out. */
void vg_tsdb_enc_serialize(const vg_tsdb_enc_t *e, vg_buf_t *out);

/* Bytes of heap the chunk holds (for memory accounting). */
size_t vg_tsdb_enc_heap_bytes(const vg_tsdb_enc_t *e);

struct vg_tsdb_chunk_info {
    uint8_t n_cols;
    uint8_t mode[VG_TSDB_MAX_COLS];
    uint32_t n_rows;
};

/* Called once per row; v has info->n_cols entries and is valid only during
 * the call. A non-zero return stops decoding and is returned. */
typedef int (*vg_tsdb_row_fn)(void *ctx, int64_t t, const double *v);

/* Decodes a serialized chunk, calling fn for each row in order. info (may
 * be NULL) is filled before the first row. Returns 0, fn's non-zero value,
 * or -EBADMSG with a reason in err for malformed input (rows already
 * delivered stay delivered). */
int vg_tsdb_chunk_decode(const uint8_t *p, size_t len, struct vg_tsdb_chunk_info *info,
                         vg_tsdb_row_fn fn, void *ctx, char *err, size_t errlen);

/* The state of an open chunk, verbatim, for the checkpoint file. load
 * reads one saved chunk from p[0..len), checks it as hostile input (it must
 * decode), sets *used to the bytes it took and returns 0 or -EBADMSG. */
void vg_tsdb_enc_save(const vg_tsdb_enc_t *e, vg_buf_t *out);
int vg_tsdb_enc_load(const uint8_t *p, size_t len, size_t *used, vg_tsdb_enc_t **out);

/* LEB128 varints shared with the file formats. get returns bytes used, 0
 * if the input ends or the varint is longer than 10 bytes. */
void vg_tsdb_put_varint(vg_buf_t *b, uint64_t v);
size_t vg_tsdb_get_varint(const uint8_t *p, size_t len, uint64_t *v);

#endif

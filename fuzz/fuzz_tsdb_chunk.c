/*
 * fuzz_tsdb_chunk.c - libFuzzer target for vg_tsdb_chunk_decode, the
 * unsealed chunk decoder every chunk read back from disk passes through
 * (and vg_tsdb_enc_load, which restores open chunks from a checkpoint).
 *
 * Besides "no crash, no over-read, no leak", it traps when a chunk that
 * decodes breaks tsdb_codec.h's promises: it delivers exactly the rows its
 * header claims, and those rows, encoded again, decode to the same times
 * and the same doubles bit for bit. The seed corpus
 * fuzz/corpus/fuzz_tsdb_chunk/ holds real chunks (a temperature, a
 * constant, XOR-coded values, a four-column rollup).
 */
#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb_codec.h"

#define MAX_ROWS 4096

struct rows {
    int64_t t[MAX_ROWS];
    double v[MAX_ROWS][VG_TSDB_MAX_COLS];
    uint32_t n;
    int n_cols;
};

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static int collect(void *ctx, int64_t t, const double *v)
{
    struct rows *r = ctx;
    if (r->n == MAX_ROWS)
        return 1; /* enough to check; stop */
    r->t[r->n] = t;
    memcpy(r->v[r->n], v, (size_t)r->n_cols * sizeof *v);
    r->n++;
    return 0;
}

static int info_cols(void *ctx, int64_t t, const double *v)
{
    return 2; /* only the header was wanted */
}

static void check_reencodes(const struct rows *in)
{
    static struct rows again;
    vg_buf_t chunk = VG_BUF_INIT;
    vg_tsdb_enc_t *e = vg_tsdb_enc_new(in->n_cols, 0);
    for (uint32_t i = 0; i < in->n; i++)
        vg_tsdb_enc_add(e, in->t[i], in->v[i]);
    vg_tsdb_enc_serialize(e, &chunk);
    again.n = 0;
    again.n_cols = in->n_cols;
    require(vg_tsdb_chunk_decode(chunk.data, chunk.len, NULL, collect, &again, NULL, 0) == 0);
    require(again.n == in->n);
    require(memcmp(again.t, in->t, in->n * sizeof in->t[0]) == 0);
    for (uint32_t i = 0; i < in->n; i++)
        require(memcmp(again.v[i], in->v[i], (size_t)in->n_cols * sizeof(double)) == 0);
    vg_tsdb_enc_free(e);
    vg_buf_release(&chunk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rows rows;
    struct vg_tsdb_chunk_info info;
    char err[256];
    size_t used;
    vg_tsdb_enc_t *loaded = NULL;
    if (vg_tsdb_enc_load(data, size, &used, &loaded) == 0) {
        require(used <= size && loaded->n_cols >= 1 && loaded->n_cols <= VG_TSDB_MAX_COLS);
        vg_tsdb_enc_free(loaded);
    }
    int rc = vg_tsdb_chunk_decode(data, size, &info, info_cols, NULL, err, sizeof err);
    if (rc == -EBADMSG) {
        require(err[0] != '\0');
        return 0;
    }
    rows.n = 0;
    rows.n_cols = info.n_cols;
    rc = vg_tsdb_chunk_decode(data, size, &info, collect, &rows, err, sizeof err);
    if (rc == -EBADMSG)
        return 0; /* a bad row after good ones */
    require(rc == 0 || rc == 1);
    require(rc == 1 || rows.n == info.n_rows);
    check_reencodes(&rows);
    return 0;
}

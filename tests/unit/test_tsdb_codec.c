/*
 * test_tsdb_codec.c - the chunk format: what is encoded decodes to the same
 * times and the same doubles bit for bit, sensor data packs into a few
 * bits a reading, and malformed chunks are refused, never over-read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsdb/tsdb_codec.h"
#include "tsdb_gen.h"

#include <math.h>

#define N_ROWS 720 /* two hours every 10 s */

struct rows {
    int64_t t[4096];
    double v[4096][VG_TSDB_MAX_COLS];
    uint32_t n;
};

static int collect(void *ctx, int64_t t, const double *v)
{
    struct rows *r = ctx;
    if (r->n >= VG_ARRAY_LEN(r->t))
        return -ERANGE;
    r->t[r->n] = t;
    memcpy(r->v[r->n], v, sizeof r->v[0]);
    r->n++;
    return 0;
}

/* Encodes rows[0..n) of n_cols columns, decodes, checks every bit; returns
 * the serialized size. */
static size_t roundtrip(const struct rows *in, int n_cols)
{
    static struct rows out;
    char err[256];
    vg_buf_t chunk = VG_BUF_INIT;
    vg_tsdb_enc_t *e = vg_tsdb_enc_new(n_cols, 0);
    for (uint32_t i = 0; i < in->n; i++)
        vg_tsdb_enc_add(e, in->t[i], in->v[i]);
    vg_tsdb_enc_serialize(e, &chunk);
    memset(&out, 0, sizeof out);
    struct vg_tsdb_chunk_info info;
    int rc = vg_tsdb_chunk_decode(chunk.data, chunk.len, &info, collect, &out, err, sizeof err);
    if (rc != 0)
        fail_msg("decode: %d: %s", rc, err);
    assert_int_equal(info.n_rows, in->n);
    assert_int_equal(out.n, in->n);
    for (uint32_t i = 0; i < in->n; i++) {
        assert_int_equal(out.t[i], in->t[i]);
        if (memcmp(out.v[i], in->v[i], (size_t)n_cols * sizeof(double)) != 0)
            fail_msg("row %u: %.17g decoded as %.17g", i, in->v[i][0], out.v[i][0]);
    }
    size_t len = chunk.len;
    vg_tsdb_enc_free(e);
    vg_buf_release(&chunk);
    return len;
}

static void test_codec_roundtrips_realistic_temperature(void **state)
{
    static struct rows in;
    struct gen g;
    gen_init(&g, 0, 1700000000000);
    assert_int_equal(g.kind, GEN_TEMP);
    for (in.n = 0; in.n < N_ROWS; in.n++)
        in.v[in.n][0] = gen_next(&g, &in.t[in.n]);
    size_t len = roundtrip(&in, 1);
    print_message("temperature: %zu bytes for %u readings (%.3f bytes/reading)\n", len, in.n,
                  (double)len / in.n);
    assert_true(len < N_ROWS * 6 / 10); /* under 0.6 bytes a reading before sealing */
}

static void test_codec_repeated_value_costs_one_bit(void **state)
{
    static struct rows in;
    for (in.n = 0; in.n < N_ROWS; in.n++) {
        in.t[in.n] = 1700000000000 + 10000LL * in.n;
        in.v[in.n][0] = 100;
    }
    size_t len = roundtrip(&in, 1);
    assert_true(len <=
                24 + (2 * N_ROWS + 7) / 8); /* header and first rows, then 2 bits a row */
}

static void test_codec_precision_change_reencodes_exactly(void **state)
{
    static struct rows in;
    static const double values[] = {21, 21.5, 21.25, 21.125, 0.001, 1e-6, 3.14159265358979};
    for (in.n = 0; in.n < 100; in.n++) {
        in.t[in.n] = -5000 + 1000LL * in.n * in.n; /* negative times, irregular steps */
        in.v[in.n][0] = values[in.n * VG_ARRAY_LEN(values) / 100];
    }
    roundtrip(&in, 1);
}

static void test_codec_xor_fallback_roundtrips_arbitrary_doubles(void **state)
{
    static struct rows in;
    struct gen g = {.rng = 12345};
    for (in.n = 0; in.n < 4000;) {
        for (int c = 0; c < VG_TSDB_MAX_COLS; c++) {
            uint64_t bits;
            double v;
            do {
                bits = gen_rand(&g);
                memcpy(&v, &bits, sizeof v);
            } while (!isfinite(v));
            in.v[in.n][c] = c == 3 && in.n % 3 ? in.v[in.n - 1][c] : v;
        }
        in.t[in.n] = (int64_t)gen_rand(&g); /* any int64 times encode too */
        in.n++;
    }
    roundtrip(&in, VG_TSDB_MAX_COLS);
    in.v[7][0] = -0.0; /* not m / 10^k for any m: XOR keeps its sign */
    roundtrip(&in, 1);
}

static int count_rows(void *ctx, int64_t t, const double *v)
{
    (*(uint32_t *)ctx)++;
    return 0;
}

static void test_codec_rejects_truncated_and_damaged_chunks(void **state)
{
    char err[256];
    vg_buf_t chunk = VG_BUF_INIT;
    vg_tsdb_enc_t *e = vg_tsdb_enc_new(1, 0);
    struct gen g;
    gen_init(&g, 3, 0);
    for (int i = 0; i < 200; i++) {
        int64_t t;
        double v = gen_next(&g, &t);
        vg_tsdb_enc_add(e, t, &v);
    }
    vg_tsdb_enc_serialize(e, &chunk);
    for (size_t len = 0; len < chunk.len; len++) {
        uint32_t n = 0;
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, chunk.data, len);
        err[0] = 0;
        assert_int_equal(vg_tsdb_chunk_decode(copy, len, NULL, count_rows, &n, err, sizeof err),
                         -EBADMSG);
        assert_true(err[0] != 0);
        free(copy);
    }
    chunk.data[1] = 9; /* nine columns */
    assert_int_equal(vg_tsdb_chunk_decode(chunk.data, chunk.len, NULL, count_rows,
                                          &(uint32_t){0}, err, sizeof err),
                     -EBADMSG);
    vg_tsdb_enc_free(e);
    vg_buf_release(&chunk);
}

static void test_codec_saved_open_chunk_continues(void **state)
{
    static struct rows in;
    vg_buf_t saved = VG_BUF_INIT, chunk = VG_BUF_INIT;
    vg_tsdb_enc_t *e = vg_tsdb_enc_new(1, 0), *loaded = NULL;
    struct gen g;
    size_t used;
    gen_init(&g, 0, 0);
    for (in.n = 0; in.n < 300; in.n++)
        in.v[in.n][0] = gen_next(&g, &in.t[in.n]);
    for (uint32_t i = 0; i < 150; i++)
        vg_tsdb_enc_add(e, in.t[i], in.v[i]);
    vg_tsdb_enc_save(e, &saved);
    assert_int_equal(vg_tsdb_enc_load(saved.data, saved.len, &used, &loaded), 0);
    assert_int_equal(used, saved.len);
    for (uint32_t i = 150; i < 300; i++)
        vg_tsdb_enc_add(loaded, in.t[i], in.v[i]);
    vg_tsdb_enc_serialize(loaded, &chunk);
    static struct rows out;
    assert_int_equal(vg_tsdb_chunk_decode(chunk.data, chunk.len, NULL, collect, &out, NULL, 0),
                     0);
    assert_int_equal(out.n, 300);
    assert_memory_equal(out.t, in.t, 300 * sizeof in.t[0]);
    for (size_t len = 0; len < saved.len; len++) {
        vg_tsdb_enc_t *none = NULL;
        assert_int_equal(vg_tsdb_enc_load(saved.data, len, &used, &none), -EBADMSG);
        assert_null(none);
    }
    vg_tsdb_enc_free(e);
    vg_tsdb_enc_free(loaded);
    vg_buf_release(&saved);
    vg_buf_release(&chunk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_roundtrips_realistic_temperature),
        cmocka_unit_test(test_codec_repeated_value_costs_one_bit),
        cmocka_unit_test(test_codec_precision_change_reencodes_exactly),
        cmocka_unit_test(test_codec_xor_fallback_roundtrips_arbitrary_doubles),
        cmocka_unit_test(test_codec_rejects_truncated_and_damaged_chunks),
        cmocka_unit_test(test_codec_saved_open_chunk_continues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tsdb_codec.c - streaming chunk encoder and the bounds-checked decoder
 * (format in tsdb_codec.h).
 *
 * Workload: vg_tsdb_enc_add runs for every appended point (and every
 * closed rollup bucket) on the loop thread, so it does a handful of branches
 * and bit shifts and allocates only when its bit buffer grows (by half).
 * Re-encoding on a precision change is O(rows) but happens at most
 * VG_TSDB_MAX_DECIMALS + 1 times per column and chunk.
 *
 * Must never: return a double that differs in any bit from the one added;
 * read outside the decoder's input or trust a count read from it.
 */
#include "tsdb/tsdb_codec.h"

#include <math.h>

/* ---- writing bits ---- */

static void put_bits(vg_tsdb_enc_t *e, uint64_t v, unsigned n)
{
    uint32_t need = (uint32_t)((e->n_bits + n + 7) / 8);
    if (need > e->cap) {
        uint32_t cap = e->cap + e->cap / 2;
        cap = cap < 8 ? 8 : cap;
        e->cap = cap < need ? need : cap;
        e->bits = vg_realloc(e->bits, e->cap);
    }
    while (n > 0) {
        unsigned used = e->n_bits & 7, room = 8 - used, take = n < room ? n : room;
        uint8_t part = (uint8_t)((v >> (n - take)) & ((1u << take) - 1));
        uint8_t *byte = &e->bits[e->n_bits >> 3];
        if (used == 0)
            *byte = 0;
        *byte |= (uint8_t)(part << (room - take));
        e->n_bits += take;
        n -= take;
    }
}

static void put_bucketed(vg_tsdb_enc_t *e, uint64_t zz, const uint8_t *bits)
{
    uint64_t base = 0;
    for (unsigned i = 0; i + 1 < VG_TSDB_N_BUCKETS; i++) {
        uint64_t span = 1ull << bits[i];
        if (zz - base < span) {
            put_bits(e, ((1ull << i) - 1) << 1, i + 1);
            put_bits(e, zz - base, bits[i]);
            return;
        }
        base += span;
    }
    put_bits(e, (1ull << (VG_TSDB_N_BUCKETS - 1)) - 1, VG_TSDB_N_BUCKETS - 1);
    put_bits(e, zz - base, 64);
}

static void put_xor(vg_tsdb_enc_t *e, struct vg_tsdb_col *c, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t x = bits ^ c->prev;
    c->prev = bits;
    if (x == 0) {
        put_bits(e, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    lead = lead > 31 ? 31 : lead;
    unsigned len = 64 - lead - trail, old_len = 64u - c->lead - c->trail;
    if (lead >= c->lead && trail >= c->trail && old_len <= len + 11) {
        put_bits(e, 2, 2); /* '10': same window */
        put_bits(e, x >> c->trail, old_len);
        return;
    }
    put_bits(e, 3, 2); /* '11': new window */
    put_bits(e, lead, 5);
    put_bits(e, len - 1, 6);
    put_bits(e, x >> trail, len);
    c->lead = (uint8_t)lead;
    c->trail = (uint8_t)trail;
}

/* ---- encoding rows ---- */

/* v == m / 10^k exactly, with |m| < 2^53? */
static int fits_decimal(double v, unsigned k, int64_t *m)
{
    double scaled = v * vg_tsdb_pow10[k];
    if (!(scaled > -9007199254740992.0 && scaled < 9007199254740992.0))
        return 0;
    int64_t r = (int64_t)llround(scaled);
    double back = (double)r / vg_tsdb_pow10[k];
    if (memcmp(&back, &v, sizeof v) != 0)
        return 0;
    *m = r;
    return 1;
}

static int fits_mode(double v, uint8_t mode, int64_t *m)
{
    return mode == VG_TSDB_MODE_XOR || fits_decimal(v, mode, m);
}

static void write_row(vg_tsdb_enc_t *e, int64_t t, const double *v, const int64_t *m)
{
    if (e->n_rows == 0) {
        e->t_first = t;
    } else {
        uint64_t d = (uint64_t)t - (uint64_t)e->t_prev;
        put_bucketed(e, vg_tsdb_zigzag(d - e->d_prev), vg_tsdb_time_buckets);
        e->d_prev = d;
    }
    e->t_prev = t;
    for (unsigned c = 0; c < e->n_cols; c++) {
        struct vg_tsdb_col *col = &e->col[c];
        if (e->mode[c] == VG_TSDB_MODE_XOR) {
            put_xor(e, col, v[c]);
        } else {
            put_bucketed(e, vg_tsdb_zigzag((uint64_t)m[c] - col->prev), vg_tsdb_value_buckets);
            col->prev = (uint64_t)m[c];
        }
    }
    e->n_rows++;
}

vg_tsdb_enc_t *vg_tsdb_enc_new(int n_cols, int64_t window)
{
    if (n_cols < 1 || n_cols > VG_TSDB_MAX_COLS)
        VG_BUG("tsdb chunk with %d columns", n_cols);
    vg_tsdb_enc_t *e = vg_calloc(1, sizeof *e + (size_t)n_cols * sizeof e->col[0]);
    e->n_cols = (uint8_t)n_cols;
    e->window = window;
    return e;
}

void vg_tsdb_enc_free(vg_tsdb_enc_t *e)
{
    if (!e)
        return;
    free(e->bits);
    free(e);
}

size_t vg_tsdb_enc_heap_bytes(const vg_tsdb_enc_t *e)
{
    return e ? sizeof *e + e->n_cols * sizeof e->col[0] + e->cap : 0;
}

struct row_set {
    int64_t *t;
    double *v; /* n_cols per row */
    uint32_t n, n_cols;
};

static int collect_row(void *ctx, int64_t t, const double *v)
{
    struct row_set *rows = ctx;
    rows->t[rows->n] = t;
    memcpy(rows->v + (size_t)rows->n * rows->n_cols, v, rows->n_cols * sizeof *v);
    rows->n++;
    return 0;
}

/* The smallest mode >= from that every value of column c in rows and v
 * fits. */
static uint8_t widen_mode(const struct row_set *rows, unsigned c, double v, uint8_t from)
{
    int64_t m;
    for (unsigned k = from; k <= VG_TSDB_MAX_DECIMALS; k++) {
        int ok = fits_decimal(v, k, &m);
        for (uint32_t i = 0; ok && i < rows->n; i++)
            ok = fits_decimal(rows->v[(size_t)i * rows->n_cols + c], k, &m);
        if (ok)
            return (uint8_t)k;
    }
    return VG_TSDB_MODE_XOR;
}

/* A value does not fit its column's mode: widens the modes and writes the
 * chunk again with the new row at the end. */
static void reencode(vg_tsdb_enc_t *e, int64_t t, const double *v)
{
    vg_buf_t old = VG_BUF_INIT;
    struct row_set rows = {vg_malloc(((size_t)e->n_rows + 1) * sizeof(int64_t)),
                           vg_malloc(((size_t)e->n_rows + 1) * e->n_cols * sizeof(double)), 0,
                           e->n_cols};
    vg_tsdb_enc_serialize(e, &old);
    if (vg_tsdb_chunk_decode(old.data, old.len, NULL, collect_row, &rows, NULL, 0) != 0)
        VG_BUG("tsdb chunk does not decode its own encoding");
    int64_t m[VG_TSDB_MAX_COLS];
    for (unsigned c = 0; c < e->n_cols; c++)
        if (!fits_mode(v[c], e->mode[c], &m[c]))
            e->mode[c] = widen_mode(&rows, c, v[c], e->mode[c]);
    collect_row(&rows, t, v);
    e->n_rows = e->n_bits = 0;
    e->d_prev = 0;
    memset(e->col, 0, e->n_cols * sizeof e->col[0]);
    for (uint32_t i = 0; i < rows.n; i++) {
        const double *row = rows.v + (size_t)i * e->n_cols;
        for (unsigned c = 0; c < e->n_cols; c++)
            if (!fits_mode(row[c], e->mode[c], &m[c]))
                VG_BUG("tsdb value does not fit the widened mode");
        write_row(e, rows.t[i], row, m);
    }
    free(rows.t);
    free(rows.v);
    vg_buf_release(&old);
}

void vg_tsdb_enc_add(vg_tsdb_enc_t *e, int64_t t, const double *v)
{
    int64_t m[VG_TSDB_MAX_COLS];
    for (unsigned c = 0; c < e->n_cols; c++) {
        if (!fits_mode(v[c], e->mode[c], &m[c])) {
            reencode(e, t, v);
            return;
        }
    }
    write_row(e, t, v, m);
}

/* ---- serialization ---- */

void vg_tsdb_put_varint(vg_buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    vg_buf_add(b, tmp, n);
}

size_t vg_tsdb_get_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t out = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        out |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = out;
            return i + 1;
        }
    }
    return 0;
}

void vg_tsdb_enc_serialize(const vg_tsdb_enc_t *e, vg_buf_t *out)
{
    uint8_t head[2 + VG_TSDB_MAX_COLS] = {VG_TSDB_CHUNK_VERSION, e->n_cols};
    memcpy(head + 2, e->mode, e->n_cols);
    vg_buf_add(out, head, 2 + (size_t)e->n_cols);
    vg_tsdb_put_varint(out, e->n_rows);
    vg_tsdb_put_varint(out, vg_tsdb_zigzag((uint64_t)e->t_first));
    vg_tsdb_put_varint(out, e->n_bits);
    vg_buf_add(out, e->bits, (e->n_bits + 7) / 8);
}

void vg_tsdb_enc_save(const vg_tsdb_enc_t *e, vg_buf_t *out)
{
    vg_buf_t chunk = VG_BUF_INIT;
    vg_tsdb_enc_serialize(e, &chunk);
    vg_tsdb_put_varint(out, chunk.len);
    vg_buf_add(out, chunk.data, chunk.len);
    vg_buf_release(&chunk);
    vg_tsdb_put_varint(out, vg_tsdb_zigzag((uint64_t)e->window));
    vg_tsdb_put_varint(out, vg_tsdb_zigzag((uint64_t)e->t_prev));
    vg_tsdb_put_varint(out, e->d_prev);
    for (unsigned c = 0; c < e->n_cols; c++) {
        vg_tsdb_put_varint(out, e->col[c].prev);
        uint8_t window[2] = {e->col[c].lead, e->col[c].trail};
        vg_buf_add(out, window, 2);
    }
}

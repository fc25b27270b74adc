/*
 * tsdb_decode.c - the chunk decoder and the loader of saved open chunks
 * (formats in tsdb_codec.h).
 *
 * Input is hostile: every read is bounds-checked against the bit count,
 * the row count is checked against the bits that could hold it before any
 * row is decoded, and nothing is allocated from a length read here except
 * in vg_tsdb_enc_load, whose bit buffer is bounded by its input.
 *
 * Must never: read past len, loop longer than the input allows, or accept
 * a chunk whose bit stream does not end exactly where its header says.
 */
#include "tsdb/tsdb_codec.h"

struct bit_reader {
    const uint8_t *p;
    uint64_t n_bits, pos;
    int short_read;
};

static uint64_t get_bits(struct bit_reader *r, unsigned n)
{
    if (r->n_bits - r->pos < n) {
        r->short_read = 1;
        r->pos = r->n_bits;
        return 0;
    }
    uint64_t v = 0;
    while (n > 0) {
        unsigned used = r->pos & 7, room = 8 - used, take = n < room ? n : room;
        unsigned part = (r->p[r->pos >> 3] >> (room - take)) & ((1u << take) - 1);
        v = (v << take) | part;
        r->pos += take;
        n -= take;
    }
    return v;
}

static uint64_t get_bucketed(struct bit_reader *r, const uint8_t *bits)
{
    unsigned i = 0;
    uint64_t base = 0;
    while (i + 1 < VG_TSDB_N_BUCKETS && get_bits(r, 1) == 1) {
        base += 1ull << bits[i];
        i++;
    }
    return base + get_bits(r, bits[i]);
}

struct col_state {
    uint64_t prev;
    unsigned lead, trail;
};

static int get_xor(struct bit_reader *r, struct col_state *c, double *v)
{
    if (get_bits(r, 1) == 1) {
        unsigned len;
        if (get_bits(r, 1) == 1) {
            c->lead = (unsigned)get_bits(r, 5);
            len = (unsigned)get_bits(r, 6) + 1;
            if (c->lead + len > 64)
                return -1;
            c->trail = 64 - c->lead - len;
        } else {
            len = 64 - c->lead - c->trail;
        }
        c->prev ^= get_bits(r, len) << c->trail;
    }
    memcpy(v, &c->prev, sizeof *v);
    return 0;
}

struct header {
    struct vg_tsdb_chunk_info info;
    uint64_t t_first, n_bits;
    size_t bits_at;
};

static int parse_header(const uint8_t *p, size_t len, struct header *h, char *err,
                        size_t errlen)
{
    uint64_t n_rows, zz_first;
    size_t off = 2, used;
    if (len < 2 || p[0] != VG_TSDB_CHUNK_VERSION)
        return vg_err(err, errlen, -EBADMSG, "tsdb chunk has unknown version");
    h->info.n_cols = p[1];
    if (h->info.n_cols < 1 || h->info.n_cols > VG_TSDB_MAX_COLS || len < off + h->info.n_cols)
        return vg_err(err, errlen, -EBADMSG, "tsdb chunk has %u columns", p[1]);
    for (unsigned c = 0; c < h->info.n_cols; c++) {
        h->info.mode[c] = p[off++];
        if (h->info.mode[c] > VG_TSDB_MAX_DECIMALS && h->info.mode[c] != VG_TSDB_MODE_XOR)
            return vg_err(err, errlen, -EBADMSG, "tsdb chunk column has unknown mode %u",
                          h->info.mode[c]);
    }
    if (!(used = vg_tsdb_get_varint(p + off, len - off, &n_rows)) ||
        !(off += used, used = vg_tsdb_get_varint(p + off, len - off, &zz_first)) ||
        !(off += used, used = vg_tsdb_get_varint(p + off, len - off, &h->n_bits)))
        return vg_err(err, errlen, -EBADMSG, "tsdb chunk header is truncated");
    off += used;
    if (n_rows > UINT32_MAX || h->n_bits > UINT32_MAX ||
        h->n_bits > (uint64_t)(len - off) * 8 || (h->n_bits + 7) / 8 != len - off)
        return vg_err(err, errlen, -EBADMSG, "tsdb chunk length does not match its header");
    /* every row holds at least one bit per column, and all but the first a time bit */
    if (n_rows > 0 && n_rows * h->info.n_cols + (n_rows - 1) > h->n_bits)
        return vg_err(err, errlen, -EBADMSG, "tsdb chunk claims more rows than it holds");
    h->info.n_rows = (uint32_t)n_rows;
    h->t_first = vg_tsdb_unzigzag(zz_first);
    h->bits_at = off;
    return 0;
}

int vg_tsdb_chunk_decode(const uint8_t *p, size_t len, struct vg_tsdb_chunk_info *info,
                         vg_tsdb_row_fn fn, void *ctx, char *err, size_t errlen)
{
    struct header h;
    int rc = parse_header(p, len, &h, err, errlen);
    if (rc < 0)
        return rc;
    if (info)
        *info = h.info;
    struct bit_reader r = {p + h.bits_at, h.n_bits, 0, 0};
    struct col_state cols[VG_TSDB_MAX_COLS] = {{0}};
    uint64_t t = h.t_first, d = 0;
    double v[VG_TSDB_MAX_COLS];
    for (uint32_t i = 0; i < h.info.n_rows; i++) {
        if (i > 0) {
            d += vg_tsdb_unzigzag(get_bucketed(&r, vg_tsdb_time_buckets));
            t += d;
        }
        for (unsigned c = 0; c < h.info.n_cols; c++) {
            if (h.info.mode[c] == VG_TSDB_MODE_XOR) {
                if (get_xor(&r, &cols[c], &v[c]) < 0)
                    return vg_err(err, errlen, -EBADMSG, "tsdb chunk row %u has a bad window",
                                  i);
                continue;
            }
            cols[c].prev += vg_tsdb_unzigzag(get_bucketed(&r, vg_tsdb_value_buckets));
            v[c] = (double)(int64_t)cols[c].prev / vg_tsdb_pow10[h.info.mode[c]];
        }
        if (r.short_read)
            return vg_err(err, errlen, -EBADMSG, "tsdb chunk ends inside row %u", i);
        if ((rc = fn(ctx, (int64_t)t, v)) != 0)
            return rc;
    }
    if (r.pos != r.n_bits)
        return vg_err(err, errlen, -EBADMSG, "tsdb chunk has %llu bits after its last row",
                      (unsigned long long)(r.n_bits - r.pos));
    return 0;
}

static int skip_row(void *ctx, int64_t t, const double *v)
{
    *(int64_t *)ctx = t;
    return 0;
}

static int take_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    size_t n = vg_tsdb_get_varint(p + *off, len - *off, v);
    *off += n;
    return n ? 0 : -EBADMSG;
}

int vg_tsdb_enc_load(const uint8_t *p, size_t len, size_t *used, vg_tsdb_enc_t **out)
{
    struct header h;
    uint64_t chunk_len, window, t_prev, d_prev, prev[VG_TSDB_MAX_COLS];
    int64_t t_last = 0;
    size_t off = 0;
    if (take_varint(p, len, &off, &chunk_len) < 0 || chunk_len > len - off)
        return -EBADMSG;
    const uint8_t *chunk = p + off;
    if (parse_header(chunk, chunk_len, &h, NULL, 0) < 0 ||
        vg_tsdb_chunk_decode(chunk, chunk_len, NULL, skip_row, &t_last, NULL, 0) != 0)
        return -EBADMSG;
    off += chunk_len;
    if (take_varint(p, len, &off, &window) < 0 || take_varint(p, len, &off, &t_prev) < 0 ||
        take_varint(p, len, &off, &d_prev) < 0)
        return -EBADMSG;
    if (h.info.n_rows > 0 && (int64_t)vg_tsdb_unzigzag(t_prev) != t_last)
        return -EBADMSG;
    uint8_t windows[2 * VG_TSDB_MAX_COLS];
    for (unsigned c = 0; c < h.info.n_cols; c++) {
        if (take_varint(p, len, &off, &prev[c]) < 0 || len - off < 2)
            return -EBADMSG;
        windows[2 * c] = p[off];
        windows[2 * c + 1] = p[off + 1];
        off += 2;
        if (windows[2 * c] > 31 || windows[2 * c] + windows[2 * c + 1] > 63)
            return -EBADMSG;
    }
    vg_tsdb_enc_t *e = vg_tsdb_enc_new(h.info.n_cols, (int64_t)vg_tsdb_unzigzag(window));
    memcpy(e->mode, h.info.mode, sizeof e->mode);
    e->t_first = (int64_t)h.t_first;
    e->t_prev = (int64_t)vg_tsdb_unzigzag(t_prev);
    e->d_prev = d_prev;
    e->n_rows = h.info.n_rows;
    e->n_bits = (uint32_t)h.n_bits;
    e->cap = (uint32_t)((h.n_bits + 7) / 8);
    e->bits = e->cap ? vg_malloc(e->cap) : NULL;
    if (e->cap)
        memcpy(e->bits, chunk + h.bits_at, e->cap);
    for (unsigned c = 0; c < h.info.n_cols; c++)
        e->col[c] = (struct vg_tsdb_col){prev[c], windows[2 * c], windows[2 * c + 1]};
    *used = off;
    *out = e;
    return 0;
}

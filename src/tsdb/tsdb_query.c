/*
 * tsdb_query.c - reading a series back: raw points, or buckets of a step
 * merged from the coarsest tier that can answer it.
 *
 * Rows of one series and tier arrive in time order from, in turn: chunk
 * files (by sequence number), chunks closed but not yet written, the open
 * chunk and, for rollup tiers, the bucket still being filled. Consecutive
 * rows in the same output bucket merge (min of mins, max of maxes, sums and
 * counts add), so a step of 5 minutes over the 1m tier, or a rollup bucket
 * split in two by a maintenance pass in its middle, come out right.
 *
 * Must never: report a bucket twice or out of order, or hide a damaged
 * chunk (the query fails with the file and offset).
 */
#include "tsdb/tsdb_int.h"

struct query {
    int64_t from, to, step;
    int tier;
    vg_tsdb_point_fn fn;
    void *ctx;
    int have;
    int64_t bucket;
    double min, max, sum;
    uint64_t count;
};

static void emit(struct query *q)
{
    if (q->have)
        q->fn(q->ctx, q->bucket, q->min, q->max, q->sum / (double)q->count, q->count);
    q->have = 0;
}

static void add_row(struct query *q, int64_t t, double min, double max, double sum,
                    uint64_t count)
{
    if (t < q->from || t >= q->to || count == 0)
        return;
    if (q->step == 0) {
        q->fn(q->ctx, t, min, max, sum / (double)count, count);
        return;
    }
    int64_t bucket = vg_tsdb_floor(t, q->step);
    if (q->have && bucket != q->bucket)
        emit(q);
    if (!q->have) {
        *q = (struct query){q->from, q->to,  q->step, q->tier, q->fn, q->ctx,
                            1,       bucket, min,     max,     sum,   count};
        return;
    }
    q->min = min < q->min ? min : q->min;
    q->max = max > q->max ? max : q->max;
    q->sum += sum;
    q->count += count;
}

static int on_row(void *ctx, int64_t t, const double *v)
{
    struct query *q = ctx;
    if (q->tier == VG_TSDB_RAW)
        add_row(q, t, v[0], v[0], v[0], 1);
    else
        add_row(q, t, v[0], v[1], v[2], (uint64_t)v[3]);
    return 0;
}

/* Decodes an in-memory chunk through on_row. */
static int read_open(struct query *q, const vg_tsdb_enc_t *e, char *err, size_t errlen)
{
    vg_buf_t chunk = VG_BUF_INIT;
    if (!e || e->n_rows == 0 || e->t_prev < q->from || e->t_first >= q->to)
        return 0;
    vg_tsdb_enc_serialize(e, &chunk);
    int rc = vg_tsdb_chunk_decode(chunk.data, chunk.len, NULL, on_row, q, err, errlen);
    vg_buf_release(&chunk);
    if (rc < 0)
        VG_BUG("tsdb open chunk does not decode: %s", err);
    return 0;
}

static int pick_tier(int64_t step_ms)
{
    if (step_ms > 0 && step_ms % vg_tsdb_tier_res(VG_TSDB_1H) == 0)
        return VG_TSDB_1H;
    if (step_ms > 0 && step_ms % vg_tsdb_tier_res(VG_TSDB_1M) == 0)
        return VG_TSDB_1M;
    return VG_TSDB_RAW;
}

int vg_tsdb_query(vg_tsdb_t *db, const char *name, int64_t from_ms, int64_t to_ms,
                  int64_t step_ms, vg_tsdb_point_fn fn, void *ctx, char *err, size_t errlen)
{
    uint32_t id = vg_tsdb_find(db, name);
    if (id == VG_TSDB_NO_SERIES)
        return vg_err(err, errlen, -ENOENT, "unknown series '%s'", name);
    if (step_ms < 0)
        return vg_err(err, errlen, -EINVAL, "negative query step %lld", (long long)step_ms);
    struct query q = {.from = from_ms,
                      .to = to_ms,
                      .step = step_ms,
                      .tier = pick_tier(step_ms),
                      .fn = fn,
                      .ctx = ctx};
    int rc = vg_tsdb_read_files(db, q.tier, id, from_ms, to_ms, on_row, &q, err, errlen);
    if (rc < 0)
        return rc;
    const struct pending_list *l = &db->pending[q.tier];
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].series == id)
            read_open(&q, l->items[i].chunk, err, errlen);
    const struct series *s = &db->series[id];
    read_open(&q, s->open[q.tier], err, errlen);
    if (q.tier != VG_TSDB_RAW) {
        const struct rollup_acc *a = &s->acc[q.tier - 1];
        add_row(&q, a->start, a->min, a->max, a->sum, a->count);
    }
    emit(&q);
    return 0;
}

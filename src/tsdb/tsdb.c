/*
 * tsdb.c - the time-series store (tsdb.h): open and close, the series
 * table, the append path with its incremental rollups, and maintenance.
 *
 * Workload: vg_tsdb_series and vg_tsdb_append run about a million times a
 * second on the loop thread. A lookup is one hash and a short linear probe
 * over a table of ids; an append checks order, stages 21 bytes for the
 * WAL, feeds the raw chunk encoder and updates two rollup buckets (a few
 * compares and adds). Closed chunks wait in a pending list until
 * vg_tsdb_maintain writes them; nothing on this path touches the disk.
 *
 * Must never: accept a point at or before its series' last time (chunks
 * and rollups rely on increasing times); let a series id change; write a
 * chunk file without a checkpoint following before the WAL covering its
 * points goes.
 */
#include "tsdb/tsdb_int.h"

#include "core/names.h"
#include "core/say.h"

#include <fcntl.h>
#include <math.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (24 * 3600 * 1000LL)

static const int64_t default_retention[VG_TSDB_N_TIERS] = {7 * DAY_MS, 90 * DAY_MS,
                                                           5 * 365 * DAY_MS};
static const int64_t default_window[VG_TSDB_N_TIERS] = {2 * 3600 * 1000LL, 2 * 3600 * 1000LL,
                                                        2 * DAY_MS};
static const int64_t tier_res[VG_TSDB_N_TIERS] = {1, 60 * 1000, 3600 * 1000};

int64_t vg_tsdb_tier_res(int tier)
{
    return tier_res[tier];
}

int64_t vg_tsdb_floor(int64_t t, int64_t step)
{
    int64_t r = t % step;
    return r < 0 ? t - r - step : t - r;
}

/* ---- the series table ---- */

static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void slot_insert(vg_tsdb_t *db, uint32_t id)
{
    uint32_t mask = db->n_slots - 1, i = db->series[id].hash & mask;
    while (db->slots[i])
        i = (i + 1) & mask;
    db->slots[i] = id + 1;
}

static void slots_grow(vg_tsdb_t *db)
{
    free(db->slots);
    db->n_slots = db->n_slots ? 2 * db->n_slots : 1024;
    db->slots = vg_calloc(db->n_slots, sizeof *db->slots);
    for (uint32_t id = 0; id < db->n_series; id++)
        slot_insert(db, id);
}

uint32_t vg_tsdb_find(const vg_tsdb_t *db, const char *name)
{
    if (db->n_slots == 0)
        return VG_TSDB_NO_SERIES;
    uint32_t hash = name_hash(name), mask = db->n_slots - 1;
    for (uint32_t i = hash & mask; db->slots[i]; i = (i + 1) & mask) {
        const struct series *s = &db->series[db->slots[i] - 1];
        if (s->hash == hash && strcmp(s->name, name) == 0)
            return db->slots[i] - 1;
    }
    return VG_TSDB_NO_SERIES;
}

uint32_t vg_tsdb_series_add(vg_tsdb_t *db, const char *name)
{
    if (db->n_series == db->cap_series) {
        db->cap_series = db->cap_series ? 2 * db->cap_series : 256;
        db->series = vg_realloc(db->series, db->cap_series * sizeof *db->series);
    }
    uint32_t id = db->n_series++;
    db->series[id] = (struct series){
        .name = vg_strdup(name), .hash = name_hash(name), .last_t = TSDB_NO_TIME};
    if (2 * db->n_series > db->n_slots)
        slots_grow(db); /* inserts id too */
    else
        slot_insert(db, id);
    if (!db->replaying)
        vg_tsdb_wal_stage_series(db, id, name);
    return id;
}

uint32_t vg_tsdb_series(vg_tsdb_t *db, const char *name)
{
    uint32_t id = vg_tsdb_find(db, name);
    if (id != VG_TSDB_NO_SERIES)
        return id;
    if (vg_name_check(name, NULL, 0) < 0 || db->n_series >= VG_TSDB_NO_SERIES - 1)
        return VG_TSDB_NO_SERIES;
    return vg_tsdb_series_add(db, name);
}

/* ---- appending and rolling up ---- */

static void pending_push(vg_tsdb_t *db, int tier, uint32_t id, vg_tsdb_enc_t *chunk)
{
    struct pending_list *l = &db->pending[tier];
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = vg_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = (struct pending){id, chunk};
}

static void tier_add(vg_tsdb_t *db, uint32_t id, int tier, int64_t t, const double *row)
{
    struct series *s = &db->series[id];
    int64_t window = vg_tsdb_floor(t, db->opts.chunk_window_ms[tier]);
    vg_tsdb_enc_t *e = s->open[tier];
    if (e && (e->window != window || e->n_rows >= db->opts.max_chunk_rows)) {
        pending_push(db, tier, id, e);
        e = NULL;
    }
    if (!e)
        e = s->open[tier] = vg_tsdb_enc_new(tier == VG_TSDB_RAW ? 1 : 4, window);
    vg_tsdb_enc_add(e, t, row);
}

/* Closes rollup bucket r (0: 1m, 1: 1h) into its tier. */
static void rollup_emit(vg_tsdb_t *db, uint32_t id, int r)
{
    struct rollup_acc *a = &db->series[id].acc[r];
    double row[4] = {a->min, a->max, a->sum, (double)a->count};
    tier_add(db, id, r + 1, a->start, row);
    a->count = 0;
}

static void rollup_add(vg_tsdb_t *db, uint32_t id, int r, int64_t t, double v)
{
    struct rollup_acc *a = &db->series[id].acc[r];
    int64_t start = vg_tsdb_floor(t, tier_res[r + 1]);
    if (a->count && a->start != start)
        rollup_emit(db, id, r);
    if (a->count == 0) {
        *a = (struct rollup_acc){start, v, v, v, 1};
        return;
    }
    a->min = v < a->min ? v : a->min;
    a->max = v > a->max ? v : a->max;
    a->sum += v;
    a->count++;
}

void vg_tsdb_apply(vg_tsdb_t *db, uint32_t id, int64_t t, double v)
{
    struct series *s = &db->series[id];
    s->last_t = t;
    s->last_v = v;
    tier_add(db, id, VG_TSDB_RAW, t, &v);
    rollup_add(db, id, 0, t, v);
    rollup_add(db, id, 1, t, v);
}

int vg_tsdb_append(vg_tsdb_t *db, uint32_t id, int64_t time_ms, double value)
{
    if (id >= db->n_series)
        return -ENOENT;
    if (time_ms <= db->series[id].last_t) {
        db->points_out_of_order++;
        return -EINVAL;
    }
    if (!isfinite(value)) {
        db->points_not_finite++;
        return -EINVAL;
    }
    vg_tsdb_wal_stage_point(db, id, time_ms, value);
    vg_tsdb_apply(db, id, time_ms, value);
    db->points_appended++;
    if (db->wal.stage.len >= WAL_SUBMIT_BYTES)
        vg_tsdb_wal_submit(db);
    return 0;
}

int vg_tsdb_sync(vg_tsdb_t *db, vg_tsdb_done_fn done, void *ctx)
{
    return vg_tsdb_wal_sync(db, done, ctx);
}

int vg_tsdb_last(const vg_tsdb_t *db, uint32_t id, int64_t *time_ms, double *value)
{
    if (id >= db->n_series || db->series[id].last_t == TSDB_NO_TIME)
        return -ENOENT;
    *time_ms = db->series[id].last_t;
    *value = db->series[id].last_v;
    return 0;
}

/* ---- maintenance ---- */

/* Closes the rollup buckets and chunks of series id whose time is over. */
static void close_stale(vg_tsdb_t *db, uint32_t id, int64_t now_ms)
{
    struct series *s = &db->series[id];
    for (int r = 0; r < 2; r++)
        if (s->acc[r].count && now_ms >= s->acc[r].start + tier_res[r + 1])
            rollup_emit(db, id, r);
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++) {
        vg_tsdb_enc_t *e = s->open[tier];
        if (e && now_ms >= e->window + db->opts.chunk_window_ms[tier]) {
            pending_push(db, tier, id, e);
            s->open[tier] = NULL;
        }
    }
}

/* Flushes pending chunks, writes a checkpoint and lets the WAL before it
 * go, in that order (see tsdb.h on recovery). */
static int checkpoint(vg_tsdb_t *db, char *err, size_t errlen)
{
    uint64_t wal_seq;
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++) {
        int rc = vg_tsdb_flush_tier(db, tier, err, errlen);
        if (rc < 0)
            return rc;
    }
    int rc = vg_tsdb_wal_roll(db, &wal_seq);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot write tsdb wal in '%s': %s", db->dir,
                      strerror(-rc));
    rc = vg_tsdb_ckpt_write(db, wal_seq, err, errlen);
    if (rc < 0)
        return rc;
    vg_tsdb_wal_drop_before(db, wal_seq);
    return 0;
}

int vg_tsdb_maintain(vg_tsdb_t *db, int64_t now_ms, char *err, size_t errlen)
{
    int closed = 0;
    for (uint32_t id = 0; id < db->n_series; id++)
        close_stale(db, id, now_ms);
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++)
        closed |= db->pending[tier].n > 0;
    if (closed || vg_tsdb_wal_segment_bytes(db) >= db->opts.checkpoint_wal_bytes) {
        int rc = checkpoint(db, err, errlen);
        if (rc < 0)
            return rc;
    }
    vg_tsdb_expire(db, now_ms);
    return 0;
}

/* ---- open and close ---- */

static void fill_opts(struct vg_tsdb_opts *o, const struct vg_tsdb_opts *given)
{
    if (given)
        *o = *given;
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++) {
        if (o->retention_ms[tier] <= 0)
            o->retention_ms[tier] = default_retention[tier];
        if (o->chunk_window_ms[tier] <= 0)
            o->chunk_window_ms[tier] = default_window[tier];
    }
    if (o->max_chunk_rows == 0)
        o->max_chunk_rows = 4096;
    if (o->checkpoint_wal_bytes == 0)
        o->checkpoint_wal_bytes = 64u << 20;
}

static void free_db(vg_tsdb_t *db)
{
    for (uint32_t id = 0; id < db->n_series; id++) {
        free(db->series[id].name);
        for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++)
            vg_tsdb_enc_free(db->series[id].open[tier]);
    }
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++) {
        for (size_t i = 0; i < db->pending[tier].n; i++)
            vg_tsdb_enc_free(db->pending[tier].items[i].chunk);
        free(db->pending[tier].items);
    }
    free(db->series);
    free(db->slots);
    free(db->files);
    if (db->dir_fd >= 0)
        close(db->dir_fd);
    pthread_mutex_destroy(&db->wal.mu);
    pthread_mutex_destroy(&db->wal.io_mu);
    pthread_cond_destroy(&db->wal.work_cv);
    free(db->dir);
    free(db);
}

static int lock_dir(vg_tsdb_t *db, char *err, size_t errlen)
{
    if (mkdir(db->dir, 0700) < 0 && errno != EEXIST)
        return vg_err(err, errlen, -errno, "cannot create tsdb directory '%s': %s", db->dir,
                      strerror(errno));
    db->dir_fd = open(db->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (db->dir_fd < 0)
        return vg_err(err, errlen, -errno, "cannot open tsdb directory '%s': %s", db->dir,
                      strerror(errno));
    if (flock(db->dir_fd, LOCK_EX | LOCK_NB) < 0)
        return vg_err(err, errlen, -EBUSY, "tsdb directory '%s' is in use by another process",
                      db->dir);
    return 0;
}

int vg_tsdb_open(const char *dir, const vg_keyring_t *kr, const struct vg_tsdb_opts *opts,
                 struct event_base *base, vg_tsdb_t **out, char *err, size_t errlen)
{
    uint64_t wal_seq = 0;
    vg_tsdb_t *db = vg_calloc(1, sizeof *db);
    db->dir = vg_strdup(dir);
    db->dir_fd = db->wal.fd = db->wal.notify_fd = -1;
    db->kr = kr;
    db->base = base;
    db->next_file_seq = 1;
    fill_opts(&db->opts, opts);
    pthread_mutex_init(&db->wal.mu, NULL);
    pthread_mutex_init(&db->wal.io_mu, NULL);
    pthread_cond_init(&db->wal.work_cv, NULL);
    db->replaying = 1;
    int rc = lock_dir(db, err, errlen);
    if (rc == 0)
        rc = vg_tsdb_ckpt_load(db, &wal_seq, err, errlen);
    if (rc == 0)
        rc = vg_tsdb_scan_files(db, err, errlen);
    if (rc == 0)
        rc = vg_tsdb_wal_open(db, wal_seq, err, errlen);
    db->replaying = 0;
    if (rc < 0) {
        vg_tsdb_wal_close(db);
        free_db(db);
        return rc;
    }
    *out = db;
    return 0;
}

void vg_tsdb_close(vg_tsdb_t *db)
{
    char err[512];
    if (!db)
        return;
    if (!atomic_load(&db->wal.failed) && checkpoint(db, err, sizeof err) < 0)
        vg_error("tsdb close: %s", err);
    vg_tsdb_wal_close(db);
    free_db(db);
}

void vg_tsdb_stats(const vg_tsdb_t *db, struct vg_tsdb_stats *out)
{
    *out = (struct vg_tsdb_stats){.n_series = db->n_series,
                                  .points_appended = db->points_appended,
                                  .points_out_of_order = db->points_out_of_order,
                                  .points_not_finite = db->points_not_finite,
                                  .wal_bytes = atomic_load(&db->wal.bytes),
                                  .checkpoint_bytes = db->checkpoint_bytes,
                                  .n_fsyncs = atomic_load(&db->wal.n_fsyncs)};
    for (size_t i = 0; i < db->n_files; i++) {
        const struct cfile *f = &db->files[i];
        out->bytes_on_disk[f->tier] += f->bytes;
        out->chunks_on_disk += f->n_chunks;
        if (f->tier == VG_TSDB_RAW)
            out->points_on_disk += f->n_rows;
    }
    size_t mem = db->cap_series * sizeof *db->series + db->n_slots * sizeof *db->slots;
    for (uint32_t id = 0; id < db->n_series; id++) {
        mem += strlen(db->series[id].name) + 1;
        for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++)
            mem += vg_tsdb_enc_heap_bytes(db->series[id].open[tier]);
    }
    out->memory_bytes = mem;
}

int vg_tsdb_full(const vg_tsdb_t *db)
{
    return atomic_load(&((vg_tsdb_t *)db)->wal.full);
}

uint64_t vg_tsdb_space_failures(const vg_tsdb_t *db)
{
    return atomic_load(&((vg_tsdb_t *)db)->wal.n_space_failures);
}

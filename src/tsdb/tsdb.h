/*
 * tsdb.h - the time-series store for sensor readings (DESIGN.md section 2:
 * readings go here, not into object state).
 *
 * A series is one sensor, named by its Sensor object name (1-63 chars of
 * [a-z0-9._-], see core/names.h) and known inside by a dense uint32 id.
 * Points are (int64 time_ms, double value). Three tiers: raw points, and
 * 1-minute and 1-hour rollups (min, max, sum, count per bucket) computed
 * incrementally as points arrive. Each tier has its own retention.
 *
 * Storage (all in one directory, nothing in plaintext: every unit is sealed
 * with XChaCha20-Poly1305 under the keyring's active key and names its key
 * id; associated data binds it to its file, position, series and tier):
 *   - chunk files <tier>-<seq>.vgc: compressed chunks (tsdb_codec.h) of one
 *     aligned time window per series, plus a sealed index; written once,
 *     atomically, by vg_tsdb_maintain and deleted whole past retention;
 *   - wal-<seq>.vgw: the write-ahead log of appended points (and new
 *     series names), group-committed by a writer thread;
 *   - checkpoint.vgk: the series names and every open (not yet flushed)
 *     chunk and rollup bucket, replaced atomically; once it is on disk the
 *     WAL segments before it are deleted.
 * Recovery: load the checkpoint, drop chunk files it does not know (a
 * crash between writing them and the checkpoint: the WAL still holds their
 * points), replay the WAL (a torn tail of the newest segment is cut with a
 * warning; damage anywhere else is -VG_ECORRUPT naming file and offset).
 *
 * Durability: vg_tsdb_append only buffers. A reading may be acknowledged
 * once the done callback of a vg_tsdb_sync issued after it reports 0.
 *
 * Threads: every call comes from one thread (the event loop's); the store
 * runs one internal writer thread that seals, writes and fsyncs the WAL, and
 * delivers sync callbacks back on the loop. The keyring must outlive the
 * store.
 *
 * Memory: a series with a few points costs a few hundred bytes (its name,
 * two rollup buckets and small, growing chunk buffers); an open raw chunk
 * costs its compressed size (well under a byte a point for sensor data).
 */
#ifndef VG_TSDB_H
#define VG_TSDB_H

#include "core/vg.h"
#include "crypto/keyring.h"

struct event_base;

enum vg_tsdb_tier { VG_TSDB_RAW, VG_TSDB_1M, VG_TSDB_1H, VG_TSDB_N_TIERS };

#define VG_TSDB_NO_SERIES UINT32_MAX

typedef struct vg_tsdb vg_tsdb_t;

/* Options; a zero field takes the default given. */
struct vg_tsdb_opts {
    int64_t retention_ms[VG_TSDB_N_TIERS]; /* raw 7 days, 1m 90 days, 1h 5 years */
    /* Chunks hold the points of one aligned window: raw and 1m 2 hours,
     * 1h 2 days; and at most max_chunk_rows rows (default 4096). */
    int64_t chunk_window_ms[VG_TSDB_N_TIERS];
    uint32_t max_chunk_rows;
    /* vg_tsdb_maintain writes a checkpoint (and so lets the WAL go) after
     * flushing chunks, or once the WAL holds this much (default 64 MiB). */
    uint64_t checkpoint_wal_bytes;
};

struct vg_tsdb_stats {
    uint64_t n_series;
    uint64_t points_appended;                /* accepted by vg_tsdb_append since open */
    uint64_t points_out_of_order;            /* rejected: time <= the series' last time */
    uint64_t points_not_finite;              /* rejected: NaN or infinite value */
    uint64_t points_on_disk;                 /* raw points in chunk files */
    uint64_t chunks_on_disk;                 /* chunks in chunk files, all tiers */
    uint64_t bytes_on_disk[VG_TSDB_N_TIERS]; /* chunk file bytes per tier */
    uint64_t wal_bytes;
    uint64_t checkpoint_bytes;
    uint64_t n_fsyncs;     /* of the WAL */
    uint64_t memory_bytes; /* series table and open chunks, approximately */
};

/* Opens (creating if needed, mode 0700) the store in dir and recovers it.
 * base NULL: synchronous mode (vg_tsdb_sync fsyncs inline; for tests and
 * tools); else a writer thread is started and sync callbacks run on base.
 * kr is borrowed and must outlive the store. *out is freed with
 * vg_tsdb_close. Errors: -VG_ECORRUPT (damaged file, named with offset),
 * -ENOKEY (a key the keyring lacks), -errno of the file system. */
int vg_tsdb_open(const char *dir, const vg_keyring_t *kr, const struct vg_tsdb_opts *opts,
                 struct event_base *base, vg_tsdb_t **out, char *err, size_t errlen);

/* Makes everything appended durable (flushes full chunks, writes the WAL
 * and a checkpoint), calls every outstanding sync callback (with 0, or
 * -EIO if the WAL failed), stops the writer and frees db. NULL is fine. */
void vg_tsdb_close(vg_tsdb_t *db);

/* The id of series `name`, created on first use (the name is copied).
 * Returns VG_TSDB_NO_SERIES if the name is invalid. A hash lookup; ids are
 * dense from 0 and stay valid for the life of the store, across reopens. */
uint32_t vg_tsdb_series(vg_tsdb_t *db, const char *name);

/* Looks a series up without creating it: its id, or VG_TSDB_NO_SERIES. */
uint32_t vg_tsdb_find(const vg_tsdb_t *db, const char *name);

/* Buffers a point. Returns 0; -EINVAL if time_ms <= the series' last time
 * (out of order or duplicate: rejected, counted in points_out_of_order,
 * the caller reports it) or value is NaN/infinite (points_not_finite);
 * -ENOENT for an unknown id. Not durable until a later vg_tsdb_sync. */
int vg_tsdb_append(vg_tsdb_t *db, uint32_t id, int64_t time_ms, double value);

/* Called when the points appended before the sync are durable (code 0) or
 * cannot be made so: -ENOSPC (or -EDQUOT) when the file system had no room
 * for their WAL batch, which was then cut off again (the store goes on, and
 * the next sync tries again; the points stay in memory, so queries and
 * rules see them, and are stored by the next checkpoint that gets written,
 * but a restart before that loses them); -EIO and the like when the store
 * has failed closed. */
typedef void (*vg_tsdb_done_fn)(void *ctx, int code);

/* Seals the points appended since the last sync into the WAL and fsyncs
 * it; many syncs share one fsync (group commit). With a loop, done runs
 * later on the loop thread and the call returns 0 (or an error, without
 * calling done); without one, the fsync happens here and done is called
 * before returning with the same code. done may be NULL. */
int vg_tsdb_sync(vg_tsdb_t *db, vg_tsdb_done_fn done, void *ctx);

/* Housekeeping, every few seconds to minutes: closes rollup buckets and
 * chunks whose window has passed (by now_ms), writes closed chunks to
 * chunk files, checkpoints, deletes WAL segments the checkpoint covers and
 * chunk files past retention. Blocks on file I/O. 0 or -errno. */
int vg_tsdb_maintain(vg_tsdb_t *db, int64_t now_ms, char *err, size_t errlen);

/* One output bucket: for raw points min = max = avg = value, count = 1. */
typedef void (*vg_tsdb_point_fn)(void *ctx, int64_t time_ms, double min, double max, double avg,
                                 uint64_t count);

/* Calls fn, in time order, for the rows of series `name` whose time is in
 * [from_ms, to_ms). step_ms 0: raw points. Otherwise buckets of step_ms
 * aligned to multiples of step_ms since the epoch, each reported at its
 * start, from the coarsest tier whose resolution divides step_ms (1h, 1m,
 * else raw), merging chunk files, closed and open chunks and the open
 * rollup bucket. Returns 0; -ENOENT for an unknown series, -EINVAL for a
 * negative step, -VG_ECORRUPT for a damaged chunk (file and offset in err).
 * Reads files on the calling thread. */
int vg_tsdb_query(vg_tsdb_t *db, const char *name, int64_t from_ms, int64_t to_ms,
                  int64_t step_ms, vg_tsdb_point_fn fn, void *ctx, char *err, size_t errlen);

/* The last point of series id: 0, or -ENOENT if it has none. */
int vg_tsdb_last(const vg_tsdb_t *db, uint32_t id, int64_t *time_ms, double *value);

void vg_tsdb_stats(const vg_tsdb_t *db, struct vg_tsdb_stats *out);

/* 1 while the last WAL batch tried was lost for want of space; how many
 * were since open (a change says another was). Loop thread. */
int vg_tsdb_full(const vg_tsdb_t *db);
uint64_t vg_tsdb_space_failures(const vg_tsdb_t *db);

#endif

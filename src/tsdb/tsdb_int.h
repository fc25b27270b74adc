/*
 * tsdb_int.h - internals of the time-series store shared by its files (not
 * a public API; nothing outside src/tsdb/ includes it).
 *
 * Files by job: tsdb.c opens and closes, holds the series table, appends
 * and rolls up, and runs maintenance; tsdb_file.c writes, lists, reads and
 * expires chunk files; tsdb_ckpt.c writes and loads the checkpoint;
 * tsdb_wal.c is the write-ahead log and its writer thread; tsdb_query.c
 * answers queries; tsdb_codec.c / tsdb_decode.c are the chunk format.
 *
 * Ownership of state: the loop thread owns everything but struct wal's
 * queue (under wal.mu) and its segment (under wal.io_mu, held by whoever
 * writes: the writer thread, or the loop while it rolls segments or runs in
 * synchronous mode). Lock order: io_mu before mu. Figures other threads
 * read are atomics.
 */
#ifndef VG_TSDB_INT_H
#define VG_TSDB_INT_H

#include "tsdb/tsdb.h"
#include "tsdb/tsdb_codec.h"

#include <pthread.h>
#include <stdatomic.h>

#define TSDB_NO_TIME    INT64_MIN
#define TSDB_AD_BYTES   32
#define TSDB_FRAME_HEAD 8 /* u32 sealed length, u32 key id */
#define TSDB_MAX_SEALED (1u << 30)

/* A rollup bucket being filled; count 0 = none open. */
struct rollup_acc {
    int64_t start;
    double min, max, sum;
    uint64_t count;
};

struct series {
    char *name;
    uint32_t hash;
    int64_t last_t; /* TSDB_NO_TIME until the first point */
    double last_v;
    struct rollup_acc acc[2]; /* 1m, 1h */
    vg_tsdb_enc_t *open[VG_TSDB_N_TIERS];
};

/* A chunk closed (its window passed or it filled up) but not yet in a file. */
struct pending {
    uint32_t series;
    vg_tsdb_enc_t *chunk;
};

struct pending_list {
    struct pending *items;
    size_t n, cap;
};

/* A chunk file on disk, as its sealed index describes it. */
struct cfile {
    uint64_t seq;
    int tier;
    int64_t min_t, max_t;
    uint64_t bytes, n_chunks, n_rows;
    uint64_t index_off;
};

struct wal_waiter {
    vg_tsdb_done_fn done;
    void *ctx;
    uint64_t batch; /* durable once wal.durable >= batch */
};

struct wal {
    /* loop thread */
    vg_buf_t stage;     /* entries appended since the last submit */
    uint64_t submitted; /* batches handed to the queue */
    struct wal_waiter *waiters;
    size_t w_head, w_n, w_cap; /* ring */
    struct event *ev;
    int notify_fd;

    /* under io_mu */
    pthread_mutex_t io_mu;
    int fd; /* -1: no segment (none could be created for want of space) */
    uint64_t seq, off;
    vg_buf_t batch, sealed; /* plaintext taken from queue; its frame */
    vg_buf_t carry;         /* series entries of lost batches: go first in the next */

    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    vg_buf_t queue;
    uint64_t queue_batch; /* the last batch in queue */
    int stopping, writer_started, writer_idle;
    /* Batches up to this one were lost for want of space and their waiters
     * not yet told (0: none): the writer waits, so durable cannot pass
     * them meanwhile. */
    uint64_t lost_to;
    pthread_t writer;

    _Atomic uint64_t durable; /* batches written and fsynced */
    _Atomic uint64_t n_fsyncs, bytes;
    _Atomic uint64_t n_space_failures; /* batches lost for want of space */
    _Atomic int full;                  /* the last batch tried was lost for want of space */
    _Atomic int failed;
};

struct vg_tsdb {
    char *dir;
    int dir_fd; /* holds the flock that keeps a second process out */
    const vg_keyring_t *kr;
    struct vg_tsdb_opts opts;
    struct event_base *base;

    struct series *series;
    uint32_t n_series, cap_series;
    uint32_t *slots; /* open addressing: id + 1, 0 = empty */
    uint32_t n_slots;

    struct pending_list pending[VG_TSDB_N_TIERS];
    struct cfile *files; /* sorted by seq */
    size_t n_files, cap_files;
    uint64_t next_file_seq;
    uint64_t ckpt_file_seq; /* chunk files up to this are in the checkpoint */
    uint64_t checkpoint_bytes;
    int replaying; /* applying the WAL: do not stage again */

    uint64_t points_appended, points_out_of_order, points_not_finite;
    struct wal wal;
};

/* ---- tsdb.c ---- */

/* Creates series `name` with the next id (name already checked). */
uint32_t vg_tsdb_series_add(vg_tsdb_t *db, const char *name);

/* Adds a point to the tiers, without staging it for the WAL. */
void vg_tsdb_apply(vg_tsdb_t *db, uint32_t id, int64_t t, double v);

/* Resolution of a tier in ms (raw: 1). */
int64_t vg_tsdb_tier_res(int tier);
int64_t vg_tsdb_floor(int64_t t, int64_t step);

/* ---- sealed frames: u32 sealed_len | u32 key_id | nonce | ct | tag ---- */

/* 32 bytes of associated data: an 8-char tag and three numbers. */
void vg_tsdb_ad(uint8_t ad[TSDB_AD_BYTES], const char tag[8], uint64_t a, uint64_t b,
                uint64_t c);
/* Appends the frame sealing pt to out under the active key. */
int vg_tsdb_seal_frame(const vg_keyring_t *kr, const uint8_t *ad, const uint8_t *pt, size_t n,
                       vg_buf_t *out);
/* Opens the frame at p (avail bytes from there): *frame_len its size, pt
 * replaced by the plaintext. -EAGAIN if it runs past avail, -EBADMSG if
 * malformed or unauthentic, -ENOKEY. */
int vg_tsdb_open_frame(const vg_keyring_t *kr, const uint8_t *ad, const uint8_t *p,
                       size_t avail, size_t *frame_len, vg_buf_t *pt);

/* ---- tsdb_file.c ---- */

int vg_tsdb_path(const vg_tsdb_t *db, char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *vg_tsdb_tier_name(int tier);
/* Replaces path atomically with content: "<path>.tmp", fsync, rename,
 * fsync of the directory. 0 or -errno. */
int vg_tsdb_replace_file(vg_tsdb_t *db, const char *path, const vg_buf_t *content);
/* Writes the tier's pending chunks into a new chunk file (none: no file). */
int vg_tsdb_flush_tier(vg_tsdb_t *db, int tier, char *err, size_t errlen);
/* At open: lists chunk files, reads their indexes, drops those newer than
 * the checkpoint and stray temp files. */
int vg_tsdb_scan_files(vg_tsdb_t *db, char *err, size_t errlen);
/* Deletes chunk files whose newest row is past its tier's retention. */
void vg_tsdb_expire(vg_tsdb_t *db, int64_t now_ms);

/* Calls fn for each row of series id in tier from chunk files that may
 * hold rows in [from, to), in time order. */
int vg_tsdb_read_files(vg_tsdb_t *db, int tier, uint32_t id, int64_t from, int64_t to,
                       vg_tsdb_row_fn fn, void *ctx, char *err, size_t errlen);

/* ---- tsdb_ckpt.c ---- */

/* Writes checkpoint.vgk atomically; wal_seq is the first WAL segment it
 * does not cover. No chunks may be pending. */
int vg_tsdb_ckpt_write(vg_tsdb_t *db, uint64_t wal_seq, char *err, size_t errlen);
/* Loads it if present; *wal_seq 0 without one. */
int vg_tsdb_ckpt_load(vg_tsdb_t *db, uint64_t *wal_seq, char *err, size_t errlen);

/* ---- tsdb_wal.c ---- */

/* tsdb_replay.c: replays segments from first_seq (deleting older ones),
 * opens a new segment and, with a loop, starts the writer. */
int vg_tsdb_wal_open(vg_tsdb_t *db, uint64_t first_seq, char *err, size_t errlen);
/* Deletes segments before seq (a checkpoint covers them). */
void vg_tsdb_wal_drop_before(vg_tsdb_t *db, uint64_t seq);
int vg_tsdb_wal_create(vg_tsdb_t *db, uint64_t seq);
/* Starts the writer thread and the loop event. */
int vg_tsdb_wal_start(vg_tsdb_t *db, char *err, size_t errlen);
/* Stops the writer, writes what is staged, answers every waiter. */
void vg_tsdb_wal_close(vg_tsdb_t *db);
/* Stages entries (loop thread; fast path). */
void vg_tsdb_wal_stage_series(vg_tsdb_t *db, uint32_t id, const char *name);
static inline void vg_tsdb_wal_stage_point(vg_tsdb_t *db, uint32_t id, int64_t t, double v);
int vg_tsdb_wal_sync(vg_tsdb_t *db, vg_tsdb_done_fn done, void *ctx);
/* Hands the staged entries to the writer without waiting for them. */
void vg_tsdb_wal_submit(vg_tsdb_t *db);
/* Writes everything staged, then starts a new segment; returns its seq in
 * *new_seq. Segments before it may go once a checkpoint covers them. */
int vg_tsdb_wal_roll(vg_tsdb_t *db, uint64_t *new_seq);
uint64_t vg_tsdb_wal_segment_bytes(vg_tsdb_t *db);

#define WAL_POINT        2
#define WAL_SERIES       1
#define WAL_POINT_SIZE   21         /* type, u32 id, i64 t, f64 v */
#define WAL_SUBMIT_BYTES (1u << 20) /* the append path hands over this much */

static inline void vg_tsdb_wal_stage_point(vg_tsdb_t *db, uint32_t id, int64_t t, double v)
{
    vg_buf_t *b = &db->wal.stage;
    if (b->cap - b->len < WAL_POINT_SIZE + 1)
        vg_buf_grow(b, WAL_POINT_SIZE);
    uint8_t *p = b->data + b->len;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    p[0] = WAL_POINT;
    vg_put_u32(p + 1, id);
    vg_put_u64(p + 5, (uint64_t)t);
    vg_put_u64(p + 13, bits);
    p[WAL_POINT_SIZE] = 0; /* vg_buf_t's NUL */
    b->len += WAL_POINT_SIZE;
}

#endif

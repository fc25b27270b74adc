/*
 * log_int.h - internals of the log shared by its files (not a public API).
 *
 * The log (log.h) is split by job: log.c opens, appends, closes and keeps
 * the segment list; log_recover.c scans segments at open; log_writer.c is
 * the flusher (group commit, snapshots, compaction); log_read.c reads
 * frames back for the mirror; log_repl.c stores a primary's frames and
 * truncates. This header holds what they share: the on-disk format
 * constants, struct vg_log and the helpers more than one file calls.
 * Nothing outside src/store/log*.c may include it.
 *
 * Ownership of state: the owner thread owns last_index/last_epoch and the
 * read cursor; the "flusher" (the writer thread once started, else whoever
 * calls vg_log_sync or vg_log_close) owns the segment list and the tail fd;
 * queue, jobs and flags are under mu; figures other threads read are
 * atomics. The owner also reads segments back for the mirror while the
 * writer runs (vg_log_read): every change to the segment list itself (a new
 * segment, compaction) and every new lookup mark happen under seg_mu, which
 * the reader holds while it picks a segment and opens its own fd on it, so
 * compaction cannot delete a file between the two. Truncation takes the
 * flusher role from the writer for its duration (vg_log_flusher_acquire).
 */
#ifndef VG_LOG_INT_H
#define VG_LOG_INT_H

#include "store/log.h"

#include <pthread.h>
#include <stdatomic.h>

#define SEG_MAGIC        "VGLSEG01"
#define SEG_VERSION      1
#define SEG_HEADER_BYTES 32
#define SEG_SUFFIX       ".vgl"
#define SEG_DIGITS       20
#define FRAME_INDEX_AT   12 /* u32 frame_len, u64 epoch, then u64 index */
#define FRAME_HEAD_BYTES (4 + VG_RECORD_HEADER_BYTES) /* length field and header */
#define FRAME_MIN_LEN    (VG_RECORD_FRAME_OVERHEAD - 4)
#define FRAME_MAX_LEN    (FRAME_MIN_LEN + VG_RECORD_MAX_PAYLOAD)
#define MARK_BYTES       (64u << 10) /* a lookup mark at least every 64 KiB of segment */

enum { SEG_H_VERSION = 8, SEG_H_RESERVED = 12, SEG_H_FIRST = 16, SEG_H_RESERVED2 = 24 };

/* "Record index starts at byte off": lookups start at the nearest mark
 * before the index they want and walk frame headers from there. */
struct mark {
    uint64_t index, off;
};

struct seg {
    uint64_t first_index;
    uint64_t last_index; /* first_index - 1 while the segment holds no record */
    uint64_t bytes;      /* file size, header included */
    /* Sorted by index, at least MARK_BYTES apart (the header is the implicit
     * first mark). Appended under seg_mu: by the flusher for the tail
     * segment, by recovery, and by the reader for older segments only. */
    struct mark *marks;
    size_t n_marks, cap_marks;
};

struct snap_job {
    struct snap_job *next;
    uint64_t index, epoch;
    uint8_t *data;
    size_t len;
    int written; /* vg_log_compact: the snapshot file is already on disk */
};

struct vg_log {
    char *dir;
    int dir_fd; /* also holds the flock that keeps a second process out */
    int notify_fd;
    const vg_keyring_t *keys;
    uint64_t segment_bytes;

    /* owner thread */
    uint64_t last_index;
    uint64_t last_epoch;
    uint64_t snap_floor; /* records <= this are in a snapshot: never truncated */
    int rd_fd;           /* read cursor: fd on segment rd_seg_first, or -1 */
    uint64_t rd_seg_first, rd_index, rd_off; /* record rd_index starts at rd_off */

    /* flusher; changes to the list and to marks also under seg_mu */
    pthread_mutex_t seg_mu;
    struct seg *segs;
    size_t n_segs, cap_segs;
    int seg_fd; /* segs[n_segs - 1] open for append; -1: create one on next write */
    vg_buf_t wbuf;

    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* writer: something queued or stopping */
    pthread_cond_t done_cv; /* vg_log_sync: a batch finished */
    vg_buf_t queue;
    uint64_t queue_last;
    struct snap_job *jobs, **jobs_tail;
    uint64_t jobs_queued, jobs_done;
    int writer_idle, stopping, writer_started;
    int deferred;    /* appends do not wake the writer; the owner calls vg_log_flush */
    int inline_busy; /* the owner is writing a batch itself; the writer keeps out */
    /* The flusher took a batch back for want of space: nothing more is
     * written until the owner has dropped what is queued after it
     * (vg_log_drop_unwritten), so indexes stay contiguous on disk. */
    int discard_pending;
    pthread_t writer;

    /* published by the flusher, read anywhere */
    _Atomic uint64_t durable_index, durable_epoch, first_index, snapshot_index;
    _Atomic uint64_t n_space_failures; /* batches taken back for want of space */
    _Atomic int full;                  /* the last batch tried was taken back */
    _Atomic uint64_t n_segments, bytes_on_disk, n_fsyncs, n_records_written;
    _Atomic int failed;
};

/* ---- log.c: segment list, published figures ---- */

/* A log struct for dir with no file open yet (every fd -1); vg_log_close
 * frees it. vg_log_open and the read-only check (vg_log_check) start here. */
vg_log_t *vg_log_alloc(const vg_log_opts_t *opts);

/* Path of the segment starting at first_index into out; -ENAMETOOLONG if
 * it does not fit. */
int vg_log_seg_path(const vg_log_t *log, uint64_t first_index, char *out, size_t outlen);

/* Appends an empty segment to the list (under seg_mu). */
void vg_log_push_seg(vg_log_t *log, uint64_t first_index);

/* Drops segments [from, n_segs) from the list (their files are the
 * caller's business). seg_mu held, or no other thread running. */
void vg_log_pop_segs(vg_log_t *log, size_t from);

/* Offset from which the next mark of seg is due. */
uint64_t vg_log_next_mark_off(const struct seg *seg);

/* Notes that record index starts at off in seg, if a mark is due there.
 * seg_mu held, or no other thread running. */
void vg_log_add_mark(struct seg *seg, uint64_t index, uint64_t off);

/* Flusher: publishes segment count, bytes on disk and first index. */
void vg_log_publish_layout(vg_log_t *log);

/* Makes notify_fd readable. */
void vg_log_notify(vg_log_t *log);

/* Fails the log closed (vg_log_failed) and tells the owner. */
void vg_log_fail(vg_log_t *log);

/* Opens the newest segment, if any, for appends, syncing it first. */
int vg_log_open_tail(vg_log_t *log, char *err, size_t errlen);

/* ---- log_recover.c ---- */

/* At open: lists the segment files, checks and replays them (see log.h),
 * cuts a torn tail and decides where appends continue. No other thread
 * runs yet. */
int vg_log_recover(vg_log_t *log, uint64_t after_index, vg_log_replay_fn replay, void *ctx,
                   char *err, size_t errlen);

/* ---- log_writer.c: the flusher ---- */

/* Deletes segments whose records are all <= upto, oldest first, keeping
 * the open tail. Flusher only. */
void vg_log_drop_segments_upto(vg_log_t *log, uint64_t upto);

/* Wakes an idle writer thread. mu held. */
void vg_log_wake_writer(vg_log_t *log);

/* Stops the writer thread once it has written everything queued. */
void vg_log_stop_writer(vg_log_t *log);

/* Owner thread: takes the flusher role from the writer (which stays
 * parked) and writes and syncs everything queued; release hands it back. */
void vg_log_flusher_acquire(vg_log_t *log);
void vg_log_flusher_release(vg_log_t *log);

/* ---- log_read.c ---- */

/* Closes the owner's read cursor. */
void vg_log_cursor_close(vg_log_t *log);

/* Finds where record index (on disk, in a segment) starts: the position of
 * its segment in log->segs and the byte offset within it, walking frame
 * headers as vg_log_read does. -ERANGE if index is before the first
 * segment. Owner thread; the answer holds while it is also the flusher. */
int vg_log_find_record(vg_log_t *log, uint64_t index, size_t *seg_pos, uint64_t *off, char *err,
                       size_t errlen);

#endif

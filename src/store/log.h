/*
 * log.h - the append-only, encrypted, durable log of records.
 *
 * The log is a directory of segment files named by the index of their first
 * record (%020llu.vgl). Each segment starts with a 32-byte header
 * ("VGLSEG01", u32 version, u32 reserved, u64 first_index, u64 reserved)
 * followed by record frames (record.h). Indexes are contiguous across
 * segments.
 *
 * Threads: vg_log_open, vg_log_append, vg_log_snapshot and the getters are
 * called from one owner thread (the event loop). Durability is provided by a
 * writer thread (vg_log_start_writer) that writes queued frames and fdatasyncs
 * them in groups (group commit: one fsync for everything queued meanwhile).
 * It then stores the durable index and makes notify_fd readable.
 *
 * Recovery (in vg_log_open): a torn or corrupt tail of the last segment (a
 * frame running past end of file, zero fill, or a final frame failing
 * authentication with nothing valid after it) is cut off and reported with
 * vg_warn. Anything else that fails to decode, or an index gap, is
 * corruption: open fails with -VG_ECORRUPT and an error naming the segment
 * file and byte offset. Never skip data silently. In particular a frame
 * sealed with a key the keyring lacks, or a failing frame when no record
 * before it opened (most likely the wrong keyring), is never cut as a tail.
 */
#ifndef VG_LOG_H
#define VG_LOG_H

#include "store/record.h"

typedef struct vg_log vg_log_t;

typedef struct vg_log_opts {
    const char *dir;          /* created if missing (mode 0700) */
    const vg_keyring_t *keys; /* borrowed; must outlive the log */
    size_t segment_bytes;     /* roll over to a new segment past this; 0 = 64 MiB */
} vg_log_opts_t;

/* Called for each recovered record with index > after_index, in order.
 * rec and its payload are only valid during the call. Non-zero return
 * stops recovery and makes vg_log_open fail with that code. */
typedef int (*vg_log_replay_fn)(void *ctx, const vg_record_t *rec);

/* Opens (or creates) the log, recovers it and replays records after
 * after_index (the index of the loaded snapshot, 0 if none). If the log's
 * first segment starts after after_index + 1 the log has a gap: -VG_ECORRUPT. */
int vg_log_open(const vg_log_opts_t *opts, uint64_t after_index, vg_log_replay_fn replay,
                void *ctx, vg_log_t **out, char *err, size_t errlen);

/* Stops the writer (flushing and syncing everything queued), closes files
 * and frees. NULL is fine. */
void vg_log_close(vg_log_t *log);

/* Assigns the next index, seals the record with the active key and queues
 * its frame. Not durable until vg_log_durable_index() >= *index_out. */
int vg_log_append(vg_log_t *log, uint64_t epoch, uint16_t type, const void *payload, size_t len,
                  uint64_t *index_out);

/* Without a writer thread: writes and fdatasyncs everything queued, in the
 * calling thread. Used by vigild init, tools and tests. */
int vg_log_sync(vg_log_t *log);

/* Deferred mode: vg_log_append no longer wakes the writer; the owner calls
 * vg_log_flush once after a burst of appends (e.g. once per event-loop
 * iteration), so a burst becomes one batch and one wake-up. */
void vg_log_set_deferred(vg_log_t *log, int deferred);

/* Owner thread: hands everything appended so far to the writer. If the
 * writer is idle and exactly one record is waiting, writes and syncs it in
 * the calling thread instead: at low load this saves two thread wake-ups
 * per write; under load the writer keeps overlapping fsync with work. */
void vg_log_flush(vg_log_t *log);

/* Starts the group-commit writer thread. */
int vg_log_start_writer(vg_log_t *log);

/* An fd that becomes readable when the durable index advances; the owner
 * calls vg_log_notify_drain() and then reads vg_log_durable_index(). */
int vg_log_notify_fd(const vg_log_t *log);
void vg_log_notify_drain(vg_log_t *log);

uint64_t vg_log_last_index(const vg_log_t *log);    /* last appended */
uint64_t vg_log_durable_index(const vg_log_t *log); /* last fsynced (thread-safe) */
uint64_t vg_log_first_index(const vg_log_t *log);   /* first still on disk; with no
                                                     * segment, durable + 1 */

/* Non-zero after a write or fsync failed: the log refuses further appends
 * (-EIO) and the daemon must stop serving writes. */
int vg_log_failed(const vg_log_t *log);

/* Queues a snapshot of the state as of index (all records <= index have
 * been appended). The writer seals it into snapshot.h's format after those
 * records are durable, then removes segments whose records are all <= index
 * and older snapshots. Takes ownership of data (malloc'd), also when it
 * fails: -EINVAL if index is 0 or not yet appended, -EIO if the log failed.
 * Snapshot files live in the log directory. */
int vg_log_snapshot(vg_log_t *log, uint64_t index, uint64_t epoch, uint8_t *data, size_t len);

/* The same compaction for a snapshot at index that the caller has already
 * written into the log directory with vg_snapshot_write (for instance from
 * a forked child, so the owner never serialises a large state). Queued in
 * order like vg_log_snapshot; the writer removes nothing unless a snapshot
 * file of at least index is there. -EINVAL if index is 0 or not yet
 * appended, -EIO if the log failed. */
int vg_log_compact(vg_log_t *log, uint64_t index);

struct vg_log_stats {
    uint64_t n_segments;
    uint64_t bytes_on_disk; /* of the segment files (snapshots not included) */
    uint64_t n_fsyncs;
    uint64_t n_records_written;
    uint64_t snapshot_index;
};
void vg_log_get_stats(const vg_log_t *log, struct vg_log_stats *st);

#endif

/*
 * log.h - the append-only, encrypted, durable log of records.
 *
 * The log is a directory of segment files named by the index of their first
 * record (%020llu.vgl). Each segment starts with a 32-byte header
 * ("VGLSEG01", u32 version, u32 reserved, u64 first_index, u64 reserved)
 * followed by record frames (record.h). Indexes are contiguous across
 * segments.
 *
 * Threads: vg_log_open, vg_log_append, vg_log_snapshot, the mirroring calls
 * (vg_log_read, vg_log_append_frame, vg_log_truncate_after, vg_log_reset_to,
 * vg_log_epoch_at) and the getters are called from one owner thread (the
 * event loop). Durability is provided by a writer thread
 * (vg_log_start_writer) that writes queued frames and fdatasyncs them in
 * groups (group commit: one fsync for everything queued meanwhile). It then
 * stores the durable index and makes notify_fd readable.
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
 * its frame. Not durable until vg_log_durable_index() >= *index_out.
 * -ENOSPC while a batch taken back for want of space waits for
 * vg_log_drop_unwritten (below); -EIO once the log failed. */
int vg_log_append(vg_log_t *log, uint64_t epoch, uint16_t type, const void *payload, size_t len,
                  uint64_t *index_out);

/* Without a writer thread: writes and fdatasyncs everything queued, in the
 * calling thread. Used by vigild init, tools and tests. -ENOSPC if the
 * batch was taken back for want of space, -EIO if the log failed. */
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

/* ---- running out of space ----
 *
 * A write or sync that fails with ENOSPC or EDQUOT does not fail the log:
 * the flusher takes the whole batch back (new segments of the batch are
 * removed, the tail segment is cut back to its size before the batch and
 * synced), so the files hold exactly the durable records again. Nothing of
 * the batch was reported durable. The owner then drops every record
 * appended after the durable index with vg_log_drop_unwritten; until it
 * has, appends fail with -ENOSPC and nothing more is written. The next
 * batch is tried as usual: once space is freed it succeeds. Only if taking
 * the batch back fails too does the log fail closed (vg_log_failed). */

/* Owner thread: if a batch was taken back, forgets every record appended
 * after the durable index (appends go on at durable + 1, and the last
 * epoch is that of the durable record) and returns how many were dropped;
 * else 0. Their completions are the caller's to fail. */
uint64_t vg_log_drop_unwritten(vg_log_t *log);

/* 1 while the last batch tried was taken back for want of space (cleared
 * by the next batch written). Thread-safe. */
int vg_log_full(const vg_log_t *log);

/* How many batches were taken back for want of space since open: a change
 * tells the owner that another one was. Thread-safe. */
uint64_t vg_log_space_failures(const vg_log_t *log);

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

/* ---- mirroring (DESIGN.md section 3) ----
 *
 * Both members hold the same data keyring, so the mirror stores the
 * primary's sealed frames byte for byte: the primary reads them back with
 * vg_log_read, the mirror authenticates and queues them with
 * vg_log_append_frame. All of these run in the owner thread; vg_log_read
 * and vg_log_append_frame run alongside the writer thread, the truncating
 * calls take over from it for their duration. */

/* Appends to frames the sealed frames, exactly as on disk, of the durable
 * records from_index, from_index + 1, ... until about max_bytes are added
 * (at least one record if there is one; the frames are whole, never more
 * than max_bytes unless the first alone is larger). Never goes past the
 * durable index, so the mirror only gets what the primary holds safely.
 * *last_index_out is the index of the last frame appended, from_index - 1
 * if none (from_index is past the durable index). Errors append nothing:
 *   -ERANGE       from_index is before the first record on disk (compacted
 *                 into a snapshot: send the snapshot instead)
 *   -VG_ECORRUPT  a segment does not hold the frames it should
 *   -EINVAL       from_index is 0;  -EIO  the log has failed
 * Sequential reads (from_index = previous *last_index_out + 1) continue
 * where the previous one stopped; any other index costs a walk over at most
 * 64 KiB of frame headers from the nearest remembered position. Frames are
 * not authenticated here: the receiver does that. */
int vg_log_read(vg_log_t *log, uint64_t from_index, size_t max_bytes, vg_buf_t *frames,
                uint64_t *last_index_out, char *err, size_t errlen);

/* Queues frame[0..len), exactly one sealed frame (from another member's
 * vg_log_read), as vg_log_append would queue a record: the same bytes land
 * on disk, durability is reported the same way (durable index, notify_fd,
 * deferred mode, vg_log_flush). The frame is authenticated first and must
 * carry index vg_log_last_index() + 1 and an epoch no lower than
 * vg_log_last_epoch(). Errors change nothing; the reason is logged
 * (vg_warn):
 *   -EINVAL   gap or overlap in indexes, lower epoch, malformed frame or
 *             bytes after it
 *   -EBADMSG  the frame fails authentication (tampered, or another key)
 *   -ENOKEY   sealed with a key id this keyring lacks
 *   -ENOSPC   a batch was just taken back for want of space (the records
 *             after the durable index are dropped first, so the frame must
 *             follow that)
 *   -EIO      the log has failed */
int vg_log_append_frame(vg_log_t *log, const uint8_t *frame, size_t len, uint64_t *index_out);

/* Epoch of the last record appended (0 with no record since the snapshot
 * the log was opened or reset at). */
uint64_t vg_log_last_epoch(const vg_log_t *log);

/* Epoch of the record at index, authenticated, for finding where two logs
 * diverge. -ERANGE if no such record is on disk (0, past the end, or
 * compacted into a snapshot); -EAGAIN if it is still queued (vg_log_sync
 * first; the last record's epoch is always known). */
int vg_log_epoch_at(vg_log_t *log, uint64_t index, uint64_t *epoch);

/* Removes every record after index: the divergent, uncommitted tail of an
 * old primary rejoining as mirror. Afterwards last and durable index are
 * index and the last epoch that of record index, so appends (and
 * vg_log_append_frame) continue at index + 1. A no-op if index >=
 * vg_log_last_index(). Refuses (-EINVAL) when a snapshot holds records
 * after index (index < the newest snapshot's index, including one opened
 * at or written by vg_log_snapshot, vg_log_compact or vg_snapshot_write):
 * those cannot be taken back.
 *
 * How: waits for the writer thread to finish its batch and keeps it parked
 * for the duration (no restart needed); writes and syncs everything queued;
 * removes later segments newest first, syncing the directory after each;
 * then cuts the segment holding index + 1 at that frame (ftruncate, fsync).
 * A crash at any point leaves a prefix of the old log at least up to index,
 * which recovers cleanly; repeat the truncation after restarting. An I/O
 * error part way fails the log (-errno; vg_log_failed): restart and
 * recover. Blocks the owner for the file operations (rare). */
int vg_log_truncate_after(vg_log_t *log, uint64_t index, char *err, size_t errlen);

/* Drops every segment, so that the log goes on at snapshot_index + 1 with
 * no record on disk (vg_log_read of anything up to snapshot_index then
 * says -ERANGE): for a mirror too far behind the primary's first record.
 * Same writer handling, order (newest segment first) and failure rules as
 * vg_log_truncate_after. -EINVAL if snapshot_index is 0 or a snapshot in
 * the directory is newer (its state could hold records the primary lacks:
 * the member must be rebuilt). Crash safety needs this order: reset the
 * log, then write the primary's snapshot into the log directory
 * (vg_snapshot_write), then append record snapshot_index + 1; a crash
 * before the snapshot is written leaves the old snapshot and a prefix of
 * the old log, a consistent older state to catch up from. */
int vg_log_reset_to(vg_log_t *log, uint64_t snapshot_index);

/* ---- read-only checking (vigild verify, vigild inspect) ---- */

/* Called for each authentic record, in index order, with the file it is in
 * and its byte offset there; rec and its payload are only valid during the
 * call. Non-zero stops the check, which then fails with that code. */
typedef int (*vg_log_each_fn)(void *ctx, const char *path, uint64_t offset,
                              const vg_record_t *rec);

/* What recovery would cut from the newest segment (log.h, Recovery): */
enum vg_log_tail {
    VG_TAIL_NONE,
    VG_TAIL_TORN,        /* a frame cut short or failing, nothing authentic after it */
    VG_TAIL_ZERO,        /* zero fill after the last frame */
    VG_TAIL_TORN_HEADER, /* a newest segment with no header, short or all zero */
};

struct vg_log_check {
    uint64_t n_segments;
    uint64_t n_records;
    uint64_t first_index, last_index; /* of the records read; 0 if none */
    enum vg_log_tail tail;
    char tail_path[4096];
    uint64_t tail_offset, tail_bytes; /* where the tail starts, and its length */
};

/* Reads and authenticates every frame of every segment in dir, with the
 * rules of vg_log_open's recovery (index continuity across segments,
 * epochs never going back, torn tail or corruption), but changes nothing:
 * files are opened read-only and no lock is taken, so a running member is
 * never held up (its newest frames may then show as a torn tail, being
 * written). What recovery would cut is reported in out->tail instead.
 * after_index is the newest snapshot's index (0 if none): the log must
 * continue from at most after_index + 1. Unlike recovery, every record is
 * decrypted and handed to each (if not NULL), also those a snapshot covers.
 * Fails like vg_log_open: -VG_ECORRUPT with err naming the segment file and
 * byte offset; -errno when a file cannot be read. out holds what was read
 * before the failure. */
int vg_log_check(const char *dir, const vg_keyring_t *keys, uint64_t after_index,
                 vg_log_each_fn each, void *ctx, struct vg_log_check *out, char *err,
                 size_t errlen);

/* The same for a file of bare frames, with no segment header (what a forced
 * failover sets aside as DATA/diverged-<ms>/tail.vgl): indexes contiguous
 * from the first frame's; a bad end is reported as a tail as above. */
int vg_log_check_frames(const char *path, const vg_keyring_t *keys, vg_log_each_fn each,
                        void *ctx, struct vg_log_check *out, char *err, size_t errlen);

/* Test hook, off (-1) by default: makes truncation and reset stop as if
 * the process died before their file operation number N (0-based; each
 * removal of a segment or cut of one counts), failing the log. */
extern int vg_log_test_crash_after_ops;

struct vg_log_stats {
    uint64_t n_segments;
    uint64_t bytes_on_disk; /* of the segment files (snapshots not included) */
    uint64_t n_fsyncs;
    uint64_t n_records_written;
    uint64_t snapshot_index;
};
void vg_log_get_stats(const vg_log_t *log, struct vg_log_stats *st);

#endif

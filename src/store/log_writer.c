/*
 * log_writer.c - the flusher: writes queued frames into segments, rolling
 * over at frame boundaries, fdatasyncs a whole batch at once (group
 * commit), publishes the durable index, and runs snapshot and compaction
 * jobs once the records they cover are durable. The flusher is the writer
 * thread once started (vg_log_start_writer), else whoever calls
 * vg_log_sync or vg_log_close; vg_log_flush writes a lone record in the
 * owner thread while the writer is idle, and truncation holds the role
 * between vg_log_flusher_acquire and vg_log_flusher_release.
 *
 * Workload: one batch per wake-up, as large as the owner made it meanwhile
 * (one write(2) and one fdatasync); snapshot jobs now and then, each
 * followed by removing the segments it covers.
 *
 * Must never: report an index durable before its segment data and the
 * directory entry of a new segment are synced; write again after a failed
 * write or fsync (the log fails closed), except after running out of space,
 * once the batch is wholly taken back (below); remove a segment before a
 * snapshot file covering all its records is on disk; let a full segment go
 * unsynced before the next is created (only the newest may have a torn
 * tail).
 *
 * Out of space (ENOSPC, EDQUOT): the batch is taken back instead of failing
 * the log. Segments it created are removed and the tail it started in is cut
 * back to its size before the batch, then synced; what stays is exactly what
 * earlier syncs made durable. This is sound even when the sync was what
 * failed: the log only appends, so every byte below the old size was
 * already on disk unchanged, and the pages past it are cut away. Shrinking
 * a file needs no space; if it still fails, the log fails closed.
 */
#include "store/log_int.h"

#include "core/fsutil.h"
#include "core/say.h"
#include "store/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#define WBUF_KEEP_BYTES (8u << 20) /* batch buffer capacity kept between batches */

/* What the flusher takes from the queue in one go; frames are in log->wbuf. */
struct batch {
    uint64_t last_index;
    struct snap_job *jobs;
};

/* ---- writing, syncing, rolling over ---- */

static int seg_create(vg_log_t *log, uint64_t first_index)
{
    char path[4096];
    uint8_t hdr[SEG_HEADER_BYTES] = {0};
    vg_log_seg_path(log, first_index, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = -errno;
        if (!vg_out_of_space(rc)) /* the member says that once, with the path */
            vg_error("cannot create log segment '%s': %s", path, strerror(-rc));
        return rc;
    }
    memcpy(hdr, SEG_MAGIC, 8);
    vg_put_u32(hdr + SEG_H_VERSION, SEG_VERSION);
    vg_put_u64(hdr + SEG_H_FIRST, first_index);
    int rc = vg_write_all(fd, hdr, sizeof hdr);
    if (rc < 0) {
        if (!vg_out_of_space(rc))
            vg_error("cannot write log segment '%s': %s", path, strerror(-rc));
        close(fd);
        unlink(path); /* ours (O_EXCL), and holds no record */
        return rc;
    }
    vg_log_push_seg(log, first_index);
    log->seg_fd = fd;
    return 0;
}

static int seg_sync(vg_log_t *log)
{
    atomic_fetch_add(&log->n_fsyncs, 1);
    if (fdatasync(log->seg_fd) == 0)
        return 0;
    int rc = -errno;
    if (!vg_out_of_space(rc))
        vg_error("cannot sync log segment %020llu" SEG_SUFFIX " in '%s': %s",
                 (unsigned long long)log->segs[log->n_segs - 1].first_index, log->dir,
                 strerror(-rc));
    return rc;
}

static int seg_write(vg_log_t *log, const uint8_t *p, size_t n)
{
    int rc = vg_write_all(log->seg_fd, p, n);
    if (rc < 0 && !vg_out_of_space(rc))
        vg_error("cannot write log segment %020llu" SEG_SUFFIX " in '%s': %s",
                 (unsigned long long)log->segs[log->n_segs - 1].first_index, log->dir,
                 strerror(-rc));
    return rc;
}

/* Syncs and closes the tail segment; the next write starts a new one. */
static int seg_finish(vg_log_t *log)
{
    int rc = seg_sync(log);
    close(log->seg_fd);
    log->seg_fd = -1;
    return rc;
}

static int seg_full(const vg_log_t *log)
{
    const struct seg *tail = &log->segs[log->n_segs - 1];
    return tail->bytes >= log->segment_bytes && tail->last_index >= tail->first_index;
}

/* Writes frames p[0..n) in order, rolling over at frame boundaries. A full
 * segment is synced before the next is created, so after a crash only the
 * newest segment can have a torn tail. */
static int write_frames(vg_log_t *log, const uint8_t *p, size_t n, int *created,
                        uint64_t *n_frames, uint64_t *last_epoch)
{
    size_t chunk = 0, off = 0;
    while (off < n) {
        uint64_t index = vg_get_u64(p + off + FRAME_INDEX_AT);
        int rc = 0;
        if (log->seg_fd >= 0 && seg_full(log)) {
            rc = seg_write(log, p + chunk, off - chunk);
            rc = rc ? rc : seg_finish(log);
            chunk = off;
        }
        if (rc == 0 && log->seg_fd < 0) {
            rc = seg_create(log, index);
            *created = 1;
        }
        if (rc != 0)
            return rc;
        struct seg *tail = &log->segs[log->n_segs - 1];
        if (index != tail->last_index + 1)
            VG_BUG("log frame %llu queued after %llu", (unsigned long long)index,
                   (unsigned long long)tail->last_index);
        size_t frame_bytes = 4 + (size_t)vg_get_u32(p + off);
        if (tail->bytes >= vg_log_next_mark_off(tail)) { /* only we add marks to the tail */
            pthread_mutex_lock(&log->seg_mu);
            vg_log_add_mark(tail, index, tail->bytes);
            pthread_mutex_unlock(&log->seg_mu);
        }
        tail->bytes += frame_bytes;
        tail->last_index = index;
        *last_epoch = vg_get_u64(p + off + 4); /* u32 frame_len, then u64 epoch */
        off += frame_bytes;
        (*n_frames)++;
    }
    return seg_write(log, p + chunk, n - chunk);
}

static int write_and_sync(vg_log_t *log, const uint8_t *p, size_t n, uint64_t *n_frames,
                          uint64_t *last_epoch)
{
    int created = 0;
    int rc = write_frames(log, p, n, &created, n_frames, last_epoch);
    if (rc == 0)
        rc = seg_sync(log);
    if (rc == 0 && created && fsync(log->dir_fd) < 0) {
        rc = -errno;
        if (!vg_out_of_space(rc))
            vg_error("cannot sync log directory '%s': %s", log->dir, strerror(errno));
    }
    return rc;
}

/* ---- taking a batch back (out of space) ---- */

/* Where the segments stood before a batch: enough to undo it. */
struct tail_mark {
    size_t n_segs, n_marks;
    uint64_t bytes, last_index;
    int open; /* the tail was open for appends: the batch began in it */
};

static void tail_remember(const vg_log_t *log, struct tail_mark *tm)
{
    *tm = (struct tail_mark){.n_segs = log->n_segs, .open = log->seg_fd >= 0};
    if (log->n_segs) {
        const struct seg *tail = &log->segs[log->n_segs - 1];
        tm->n_marks = tail->n_marks;
        tm->bytes = tail->bytes;
        tm->last_index = tail->last_index;
    }
}

/* Cuts the segment the batch began in back to its old size, synced, and
 * reopens it for appends. */
static int tail_cut_back(vg_log_t *log, const struct tail_mark *tm)
{
    char path[4096];
    struct seg *tail = &log->segs[log->n_segs - 1];
    vg_log_seg_path(log, tail->first_index, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)tm->bytes) < 0 || fsync(fd) < 0) {
        int rc = -errno;
        vg_error("cannot cut log segment '%s' back to %llu bytes: %s", path,
                 (unsigned long long)tm->bytes, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    pthread_mutex_lock(&log->seg_mu);
    tail->bytes = tm->bytes;
    tail->last_index = tm->last_index;
    tail->n_marks = tm->n_marks;
    pthread_mutex_unlock(&log->seg_mu);
    log->seg_fd = fd;
    return 0;
}

/* Undoes a batch that could not be written whole: removes the segments it
 * created (newest first), then cuts back the one it began in. Only records
 * of the batch are touched; none of them was reported durable. */
static int tail_rollback(vg_log_t *log, const struct tail_mark *tm)
{
    if (log->seg_fd >= 0)
        close(log->seg_fd);
    log->seg_fd = -1;
    size_t n_created = log->n_segs - tm->n_segs;
    while (log->n_segs > tm->n_segs) {
        char path[4096];
        vg_log_seg_path(log, log->segs[log->n_segs - 1].first_index, path, sizeof path);
        if (unlink(path) < 0 && errno != ENOENT) {
            vg_error("cannot remove log segment '%s': %s", path, strerror(errno));
            return -errno;
        }
        pthread_mutex_lock(&log->seg_mu);
        vg_log_pop_segs(log, log->n_segs - 1);
        pthread_mutex_unlock(&log->seg_mu);
    }
    if (n_created && fsync(log->dir_fd) < 0) {
        vg_error("cannot sync log directory '%s': %s", log->dir, strerror(errno));
        return -errno;
    }
    return tm->open ? tail_cut_back(log, tm) : 0;
}

/* The batch was taken back: hold the writer until the owner drops what is
 * queued after it, and tell the owner. */
static void note_no_space(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    log->discard_pending = 1;
    pthread_mutex_unlock(&log->mu);
    atomic_fetch_add(&log->n_space_failures, 1);
    atomic_store(&log->full, 1);
}

/* ---- snapshots and compaction ---- */

/* Deletes segments whose records are all <= upto, oldest first, so that a
 * crash half way leaves a log that still starts right after a snapshot. */
void vg_log_drop_segments_upto(vg_log_t *log, uint64_t upto)
{
    size_t n_del = 0;
    pthread_mutex_lock(&log->seg_mu); /* a reader never opens a file we are deleting */
    while (n_del < log->n_segs && log->segs[n_del].last_index <= upto &&
           !(log->seg_fd >= 0 && n_del + 1 == log->n_segs)) {
        char path[4096];
        vg_log_seg_path(log, log->segs[n_del].first_index, path, sizeof path);
        if (unlink(path) < 0 && errno != ENOENT) {
            vg_warn("cannot remove compacted log segment '%s': %s", path, strerror(errno));
            break;
        }
        free(log->segs[n_del].marks);
        n_del++;
    }
    if (n_del > 0) {
        memmove(log->segs, log->segs + n_del, (log->n_segs - n_del) * sizeof *log->segs);
        log->n_segs -= n_del;
    }
    pthread_mutex_unlock(&log->seg_mu);
    if (n_del == 0)
        return;
    if (fsync(log->dir_fd) < 0)
        vg_warn("cannot sync log directory '%s': %s", log->dir, strerror(errno));
}

/* Makes sure a snapshot covering job->index is on disk before any segment
 * goes: writes it, or for vg_log_compact checks that it is there. */
static int snapshot_in_place(vg_log_t *log, const struct snap_job *job)
{
    char err[512];
    uint64_t latest = 0;
    if (!job->written) {
        int rc = vg_snapshot_write(log->dir, log->keys, job->index, job->epoch, job->data,
                                   job->len, err, sizeof err);
        if (rc < 0)
            vg_error("log compaction skipped: %s", err);
        return rc;
    }
    if (vg_snapshot_latest_index(log->dir, &latest, err, sizeof err) < 0 ||
        latest < job->index) {
        vg_error("log compaction to %llu skipped: no snapshot file in '%s' covers it",
                 (unsigned long long)job->index, log->dir);
        return -ENOENT;
    }
    return 0;
}

/* Runs a snapshot job once every record up to its index is durable. */
static void run_snapshot(vg_log_t *log, const struct snap_job *job)
{
    if (job->index > atomic_load(&log->durable_index))
        VG_BUG("snapshot %llu ran before its records were durable",
               (unsigned long long)job->index);
    if (snapshot_in_place(log, job) < 0)
        return;
    /* Roll over so the segment holding job->index becomes removable at the
     * latest by the next snapshot; it was synced at the end of its batch. */
    if (log->seg_fd >= 0) {
        const struct seg *tail = &log->segs[log->n_segs - 1];
        if (tail->last_index >= tail->first_index) {
            close(log->seg_fd);
            log->seg_fd = -1;
        }
    }
    vg_log_drop_segments_upto(log, job->index);
    vg_snapshot_prune(log->dir, job->index);
    atomic_store(&log->snapshot_index, job->index);
}

/* ---- batches and the writer thread ---- */

static void take_batch(vg_log_t *log, struct batch *b) /* mu held */
{
    vg_buf_t empty = log->wbuf;
    log->wbuf = log->queue;
    log->queue = empty;
    b->last_index = log->queue_last;
    b->jobs = log->jobs;
    log->jobs = NULL;
    log->jobs_tail = &log->jobs;
}

static void write_batch(vg_log_t *log, struct batch *b)
{
    if (log->wbuf.len > 0 && !atomic_load(&log->failed)) {
        uint64_t n_frames = 0, last_epoch = 0;
        struct tail_mark tm;
        tail_remember(log, &tm);
        int rc = write_and_sync(log, log->wbuf.data, log->wbuf.len, &n_frames, &last_epoch);
        if (rc == 0) {
            atomic_fetch_add(&log->n_records_written, n_frames);
            atomic_store(&log->durable_epoch, last_epoch);
            atomic_store(&log->durable_index, b->last_index);
            atomic_store(&log->full, 0);
            vg_log_notify(log); /* answer writers now, not after compaction below */
        } else if (vg_out_of_space(rc) && tail_rollback(log, &tm) == 0) {
            note_no_space(log);
        } else {
            vg_log_fail(log);
        }
    }
    if (log->wbuf.cap > WBUF_KEEP_BYTES)
        vg_buf_release(&log->wbuf);
    else
        vg_buf_reset(&log->wbuf);
    uint64_t n_jobs = 0;
    for (struct snap_job *job = b->jobs, *next; job; job = next, n_jobs++) {
        next = job->next;
        if (!atomic_load(&log->failed) && job->index <= atomic_load(&log->durable_index))
            run_snapshot(log, job);
        free(job->data);
        free(job);
    }
    vg_log_publish_layout(log);
    pthread_mutex_lock(&log->mu);
    log->jobs_done += n_jobs;
    pthread_cond_broadcast(&log->done_cv);
    pthread_mutex_unlock(&log->mu);
    vg_log_notify(log);
}

static void *writer_main(void *arg)
{
    vg_log_t *log = arg;
    struct batch b;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (!log->stopping && (log->inline_busy || log->discard_pending ||
                                  (log->queue.len == 0 && !log->jobs))) {
            log->writer_idle = 1;
            if (log->inline_busy)
                pthread_cond_broadcast(&log->done_cv); /* vg_log_flusher_acquire waits */
            pthread_cond_wait(&log->work_cv, &log->mu);
        }
        log->writer_idle = 0;
        if ((log->queue.len == 0 && !log->jobs) || log->discard_pending)
            break; /* stopping, and everything queued is written (or cannot be) */
        take_batch(log, &b);
        pthread_mutex_unlock(&log->mu);
        write_batch(log, &b);
        pthread_mutex_lock(&log->mu);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

void vg_log_wake_writer(vg_log_t *log) /* mu held */
{
    if (log->writer_idle) {
        log->writer_idle = 0; /* one wake-up per batch is enough */
        pthread_cond_signal(&log->work_cv);
    }
}

/* ---- owner thread API ---- */

/* Queues a job behind every record appended so far, so that it runs once
 * they are durable. Takes data in all cases. */
static int queue_job(vg_log_t *log, uint64_t index, uint64_t epoch, uint8_t *data, size_t len,
                     int written)
{
    if (atomic_load(&log->failed)) {
        free(data);
        return -EIO;
    }
    if (index == 0 || index > log->last_index) {
        free(data);
        return -EINVAL;
    }
    struct snap_job *job = vg_calloc(1, sizeof *job);
    *job = (struct snap_job){NULL, index, epoch, data, len, written};
    pthread_mutex_lock(&log->mu);
    *log->jobs_tail = job;
    log->jobs_tail = &job->next;
    log->jobs_queued++;
    vg_log_wake_writer(log);
    pthread_mutex_unlock(&log->mu);
    return 0;
}

int vg_log_snapshot(vg_log_t *log, uint64_t index, uint64_t epoch, uint8_t *data, size_t len)
{
    return queue_job(log, index, epoch, data, len, 0);
}

int vg_log_compact(vg_log_t *log, uint64_t index)
{
    return queue_job(log, index, 0, NULL, 0, 1);
}

/* With a writer thread: waits until it has done everything queued so far. */
static void wait_for_writer(vg_log_t *log)
{
    uint64_t target = log->last_index;
    pthread_mutex_lock(&log->mu);
    uint64_t jobs_target = log->jobs_queued;
    vg_log_wake_writer(log);
    while (!atomic_load(&log->failed) && !log->discard_pending &&
           (atomic_load(&log->durable_index) < target || log->jobs_done < jobs_target))
        pthread_cond_wait(&log->done_cv, &log->mu);
    pthread_mutex_unlock(&log->mu);
}

int vg_log_sync(vg_log_t *log)
{
    if (log->writer_started) {
        wait_for_writer(log);
    } else {
        struct batch b = {0};
        pthread_mutex_lock(&log->mu);
        int held = log->discard_pending;
        if (!held)
            take_batch(log, &b);
        pthread_mutex_unlock(&log->mu);
        if (!held)
            write_batch(log, &b);
    }
    if (atomic_load(&log->failed))
        return -EIO;
    pthread_mutex_lock(&log->mu);
    int taken_back = log->discard_pending;
    pthread_mutex_unlock(&log->mu);
    return taken_back ? -ENOSPC : 0;
}

void vg_log_set_deferred(vg_log_t *log, int deferred)
{
    pthread_mutex_lock(&log->mu);
    log->deferred = deferred;
    pthread_mutex_unlock(&log->mu);
}

void vg_log_flush(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    int single = log->queue_last == atomic_load(&log->durable_index) + 1;
    if ((log->queue.len == 0 && !log->jobs) || log->discard_pending ||
        (log->writer_started && !(log->writer_idle && single && !log->jobs))) {
        if (log->queue.len || log->jobs)
            vg_log_wake_writer(log);
        pthread_mutex_unlock(&log->mu);
        return;
    }
    /* One record and an idle writer: write it here rather than pay a
     * wake-up of the writer and another of the loop for its answer. */
    struct batch b;
    take_batch(log, &b);
    log->inline_busy = 1;
    pthread_mutex_unlock(&log->mu);
    write_batch(log, &b);
    pthread_mutex_lock(&log->mu);
    log->inline_busy = 0;
    pthread_mutex_unlock(&log->mu);
}

int vg_log_start_writer(vg_log_t *log)
{
    if (log->writer_started)
        return -EALREADY;
    int rc = pthread_create(&log->writer, NULL, writer_main, log);
    if (rc != 0)
        return -rc;
    log->writer_started = 1;
    return 0;
}

void vg_log_stop_writer(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    log->stopping = 1;
    pthread_cond_signal(&log->work_cv);
    pthread_mutex_unlock(&log->mu);
    pthread_join(log->writer, NULL);
    log->writer_started = 0;
}

/* ---- handing the flusher role to the owner (truncation) ---- */

/* Owner thread: takes the flusher role from the writer, which stays parked
 * until vg_log_flusher_release, and writes and syncs what is queued. */
void vg_log_flusher_acquire(vg_log_t *log)
{
    struct batch b;
    pthread_mutex_lock(&log->mu);
    log->inline_busy = 1;
    while (log->writer_started && !log->writer_idle)
        pthread_cond_wait(&log->done_cv, &log->mu);
    int held = log->discard_pending;
    if (!held)
        take_batch(log, &b);
    pthread_mutex_unlock(&log->mu);
    if (!held && (log->wbuf.len > 0 || b.jobs))
        write_batch(log, &b);
    /* out of space: what is queued will never be written; the owner (our
     * caller) drops it so the truncation sees only what is on disk */
    vg_log_drop_unwritten(log);
}

void vg_log_flusher_release(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    log->inline_busy = 0;
    if (log->queue.len > 0 || log->jobs)
        vg_log_wake_writer(log);
    pthread_mutex_unlock(&log->mu);
}

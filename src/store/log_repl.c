/*
 * log_repl.c - the mirror's side of the log (DESIGN.md section 3): storing
 * the primary's sealed frames byte for byte (vg_log_append_frame) and
 * taking back a divergent tail (vg_log_truncate_after) or every segment
 * (vg_log_reset_to).
 *
 * Workload: frames arrive at the primary's rate in the owner thread and are
 * queued like vg_log_append's records. Truncation and reset are rare (an old
 * primary rejoining, a mirror too far behind) and block the owner for their
 * file operations: they run with the flusher role taken from the writer
 * (vg_log_flusher_acquire), so everything queued is written and synced
 * first, the writer stays parked, and the segment files and list are ours
 * until vg_log_flusher_release. They remove segments from the newest
 * backwards, syncing the directory after each, and cut the last one kept
 * with ftruncate + fsync only after that.
 *
 * Must never: queue a frame that fails authentication or does not follow
 * the log (index gap or overlap, lower epoch); take back records a snapshot
 * holds; leave a hole: a crash at any point leaves a prefix of the old log
 * that recovers as it is. A failure part way fails the log (the files no
 * longer match what we hold); reopening recovers what is on disk.
 */
#include "store/log_int.h"

#include "core/say.h"
#include "store/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

/* ---- storing the primary's frames ---- */

/* Checks that frame[0..len) is exactly one authentic frame that may follow
 * the log; *index and *epoch are its own. */
static int check_foreign_frame(const vg_log_t *log, const uint8_t *frame, size_t len,
                               uint64_t *index, uint64_t *epoch, char *why, size_t whylen)
{
    vg_record_t rec;
    size_t used;
    int rc = vg_record_decode(log->keys, frame, len, &rec, &used, why, whylen);
    if (rc < 0)
        return rc == -EAGAIN ? -EINVAL : rc; /* a frame cut short is malformed here */
    *index = rec.index;
    *epoch = rec.epoch;
    vg_record_release(&rec);
    if (used != len)
        return vg_err(why, whylen, -EINVAL, "%zu bytes follow record %llu", len - used,
                      (unsigned long long)*index);
    if (*index != log->last_index + 1)
        return vg_err(why, whylen, -EINVAL, "record %llu does not follow record %llu",
                      (unsigned long long)*index, (unsigned long long)log->last_index);
    if (*epoch < log->last_epoch)
        return vg_err(why, whylen, -EINVAL, "record %llu of epoch %llu follows epoch %llu",
                      (unsigned long long)*index, (unsigned long long)*epoch,
                      (unsigned long long)log->last_epoch);
    return 0;
}

int vg_log_append_frame(vg_log_t *log, const uint8_t *frame, size_t len, uint64_t *index_out)
{
    uint64_t index = 0, epoch = 0;
    char why[256];
    if (atomic_load_explicit(&log->failed, memory_order_relaxed))
        return -EIO;
    if (atomic_load_explicit(&log->full, memory_order_relaxed))
        vg_log_drop_unwritten(log); /* so the frame is checked against what is on disk */
    int rc = check_foreign_frame(log, frame, len, &index, &epoch, why, sizeof why);
    if (rc < 0) {
        vg_warn("log in '%s' refuses a frame: %s", log->dir, why);
        return rc;
    }
    pthread_mutex_lock(&log->mu);
    if (log->discard_pending) { /* taken back just now: the frame would go too */
        pthread_mutex_unlock(&log->mu);
        return -ENOSPC;
    }
    vg_buf_add(&log->queue, frame, len);
    log->queue_last = index;
    if (!log->deferred)
        vg_log_wake_writer(log);
    pthread_mutex_unlock(&log->mu);
    log->last_index = index;
    log->last_epoch = epoch;
    if (index_out)
        *index_out = index;
    return 0;
}

/* ---- truncating ---- */

int vg_log_test_crash_after_ops = -1;

/* The test hook: pretends the process died before file operation n_ops. */
static int crash_here(int *n_ops)
{
    return vg_log_test_crash_after_ops >= 0 && (*n_ops)++ >= vg_log_test_crash_after_ops
               ? -EINTR
               : 0;
}

/* Forgets marks of records after index (truncation). */
static void drop_marks_after(struct seg *seg, uint64_t index)
{
    while (seg->n_marks && seg->marks[seg->n_marks - 1].index > index)
        seg->n_marks--;
}

/* The highest index a snapshot covers: records up to it must stay. */
static int snapshot_floor(vg_log_t *log, uint64_t *floor, char *err, size_t errlen)
{
    uint64_t on_disk = 0;
    int rc = vg_snapshot_latest_index(log->dir, &on_disk, err, errlen);
    uint64_t done = atomic_load(&log->snapshot_index);
    *floor = log->snap_floor > on_disk ? log->snap_floor : on_disk;
    if (done > *floor)
        *floor = done;
    return rc;
}

static int remove_last_segment(vg_log_t *log, int *n_ops, char *err, size_t errlen)
{
    char path[4096];
    vg_log_seg_path(log, log->segs[log->n_segs - 1].first_index, path, sizeof path);
    int rc = crash_here(n_ops);
    if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0 && fsync(log->dir_fd) < 0)
        rc = -errno;
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot remove log segment '%s': %s", path,
                      strerror(-rc));
    pthread_mutex_lock(&log->seg_mu);
    vg_log_pop_segs(log, log->n_segs - 1);
    pthread_mutex_unlock(&log->seg_mu);
    return 0;
}

/* Cuts the tail segment at off, where record index + 1 started. */
static int cut_last_segment(vg_log_t *log, uint64_t index, uint64_t off, int *n_ops, char *err,
                            size_t errlen)
{
    struct seg *tail = &log->segs[log->n_segs - 1];
    char path[4096];
    vg_log_seg_path(log, tail->first_index, path, sizeof path);
    int rc = crash_here(n_ops), fd = -1;
    if (rc == 0 && (fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
        rc = -errno;
    if (rc == 0 && (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0))
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot truncate log segment '%s': %s", path,
                      strerror(-rc));
    pthread_mutex_lock(&log->seg_mu);
    tail->last_index = index;
    tail->bytes = off;
    drop_marks_after(tail, index);
    pthread_mutex_unlock(&log->seg_mu);
    return 0;
}

/* Removes the files of every record after index; keep segments
 * [0, keep) whole or cut (see vg_log_truncate_after). */
static int remove_after(vg_log_t *log, uint64_t index, char *err, size_t errlen)
{
    size_t keep = 0;
    uint64_t cut = SEG_HEADER_BYTES;
    if (log->n_segs > 0 && index >= log->segs[0].first_index) {
        int rc = vg_log_find_record(log, index + 1, &keep, &cut, err, errlen);
        if (rc < 0)
            return rc;
        keep++; /* [0, keep) ends with the segment holding index + 1 */
    }
    vg_log_cursor_close(log);
    if (log->seg_fd >= 0)
        close(log->seg_fd);
    log->seg_fd = -1;
    int n_ops = 0, rc = 0;
    while (rc == 0 && log->n_segs > keep)
        rc = remove_last_segment(log, &n_ops, err, errlen);
    if (rc == 0 && keep > 0 && cut == SEG_HEADER_BYTES)
        rc = remove_last_segment(log, &n_ops, err, errlen); /* index + 1 opened it */
    else if (rc == 0 && keep > 0)
        rc = cut_last_segment(log, index, cut, &n_ops, err, errlen);
    return rc;
}

/* After truncation: the log goes on after index, appends in the tail. */
static int continue_after(vg_log_t *log, uint64_t index, uint64_t epoch, char *err,
                          size_t errlen)
{
    log->last_index = index;
    log->last_epoch = epoch;
    pthread_mutex_lock(&log->mu);
    log->queue_last = index;
    pthread_mutex_unlock(&log->mu);
    atomic_store(&log->durable_epoch, epoch);
    atomic_store(&log->durable_index, index);
    vg_log_publish_layout(log);
    return vg_log_open_tail(log, err, errlen);
}

static int truncate_held(vg_log_t *log, uint64_t index, char *err, size_t errlen)
{
    uint64_t floor = 0, epoch = 0;
    if (atomic_load(&log->failed))
        return vg_err(err, errlen, -EIO, "log in '%s' has failed", log->dir);
    int rc = snapshot_floor(log, &floor, err, errlen);
    if (rc < 0)
        return rc;
    if (index < floor)
        return vg_err(err, errlen, -EINVAL,
                      "cannot truncate the log in '%s' after record %llu: snapshot %llu "
                      "holds records up to %llu",
                      log->dir, (unsigned long long)index, (unsigned long long)floor,
                      (unsigned long long)floor);
    rc = index > 0 ? vg_log_epoch_at(log, index, &epoch) : -ERANGE;
    if (rc == -ERANGE) { /* only in the snapshot: no epoch, as after recovery */
        rc = 0;
        epoch = 0;
    }
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot read record %llu of the log in '%s'",
                      (unsigned long long)index, log->dir);
    rc = remove_after(log, index, err, errlen);
    if (rc == 0)
        rc = continue_after(log, index, epoch, err, errlen);
    if (rc < 0)
        vg_log_fail(log);
    return rc;
}

int vg_log_truncate_after(vg_log_t *log, uint64_t index, char *err, size_t errlen)
{
    if (atomic_load(&log->failed))
        return vg_err(err, errlen, -EIO, "log in '%s' has failed", log->dir);
    if (index >= log->last_index)
        return 0;
    vg_log_flusher_acquire(log);
    int rc = truncate_held(log, index, err, errlen);
    vg_log_flusher_release(log);
    return rc;
}

static int reset_held(vg_log_t *log, uint64_t snapshot_index)
{
    uint64_t floor = 0;
    char err[512];
    if (atomic_load(&log->failed))
        return -EIO;
    int rc = snapshot_floor(log, &floor, err, sizeof err);
    if (rc == 0 && snapshot_index < floor)
        rc = vg_err(err, sizeof err, -EINVAL, "snapshot %llu is newer",
                    (unsigned long long)floor);
    if (rc < 0) {
        vg_warn("cannot reset the log in '%s' to snapshot %llu: %s", log->dir,
                (unsigned long long)snapshot_index, err);
        return rc;
    }
    rc = remove_after(log, 0, err, sizeof err);
    if (rc == 0)
        rc = continue_after(log, snapshot_index, 0, err, sizeof err);
    if (rc < 0) {
        vg_error("cannot reset the log in '%s': %s", log->dir, err);
        vg_log_fail(log);
        return rc;
    }
    log->snap_floor = snapshot_index;
    return 0;
}

int vg_log_reset_to(vg_log_t *log, uint64_t snapshot_index)
{
    if (atomic_load(&log->failed))
        return -EIO;
    if (snapshot_index == 0)
        return -EINVAL;
    vg_log_flusher_acquire(log);
    int rc = reset_held(log, snapshot_index);
    vg_log_flusher_release(log);
    return rc;
}

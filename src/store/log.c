/*
 * log.c - the encrypted, durable, append-only log (DESIGN.md section 2):
 * opening, appending, closing, the getters, and the segment list the other
 * log files share. log_int.h says which file does what and which thread
 * owns which state.
 *
 * Workload: one owner thread (the event loop) appends many small records and
 * must never wait for the disk. vg_log_append seals the record straight into
 * a shared queue buffer under a mutex; a writer thread (log_writer.c) swaps
 * that buffer for an empty one, writes it with one write(2), fdatasyncs once
 * for the whole batch (group commit), publishes the durable index and pokes
 * an eventfd. While the writer syncs, the owner fills the next batch, so
 * batches grow by themselves with load and the fsync count stays far below
 * the record count.
 *
 * Must never: skip or reorder records silently (recovery stops with
 * -VG_ECORRUPT on anything but a torn tail of the newest segment), report an
 * index durable before its segment data and directory entry are synced, or
 * write again after a failed write or fsync (the page cache can no longer be
 * trusted to hold what we wrote, so the log fails closed).
 */
#include "store/log_int.h"

#include "core/say.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_DEFAULT_BYTES (64u << 20)

/* ---- the segment list ---- */

int vg_log_seg_path(const vg_log_t *log, uint64_t first_index, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%020llu" SEG_SUFFIX, log->dir,
                     (unsigned long long)first_index);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

void vg_log_push_seg(vg_log_t *log, uint64_t first_index)
{
    pthread_mutex_lock(&log->seg_mu);
    if (log->n_segs == log->cap_segs) {
        log->cap_segs = log->cap_segs ? 2 * log->cap_segs : 16;
        log->segs = vg_realloc(log->segs, log->cap_segs * sizeof *log->segs);
    }
    log->segs[log->n_segs++] = (struct seg){
        .first_index = first_index, .last_index = first_index - 1, .bytes = SEG_HEADER_BYTES};
    pthread_mutex_unlock(&log->seg_mu);
}

/* Drops segments [from, n_segs) from the list (their files are the
 * caller's business). seg_mu held, or no other thread running. */
void vg_log_pop_segs(vg_log_t *log, size_t from)
{
    for (size_t i = from; i < log->n_segs; i++)
        free(log->segs[i].marks);
    log->n_segs = from;
}

/* Offset from which the next mark of seg is due. */
uint64_t vg_log_next_mark_off(const struct seg *seg)
{
    return (seg->n_marks ? seg->marks[seg->n_marks - 1].off : SEG_HEADER_BYTES) + MARK_BYTES;
}

/* Notes that record index starts at off in seg, if a mark is due there.
 * seg_mu held, or no other thread running. */
void vg_log_add_mark(struct seg *seg, uint64_t index, uint64_t off)
{
    if (off < vg_log_next_mark_off(seg) ||
        (seg->n_marks && index <= seg->marks[seg->n_marks - 1].index))
        return;
    if (seg->n_marks == seg->cap_marks) {
        seg->cap_marks = seg->cap_marks ? 2 * seg->cap_marks : 16;
        seg->marks = vg_realloc(seg->marks, seg->cap_marks * sizeof *seg->marks);
    }
    seg->marks[seg->n_marks++] = (struct mark){index, off};
}

/* ---- published figures ---- */

void vg_log_publish_layout(vg_log_t *log)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < log->n_segs; i++)
        bytes += log->segs[i].bytes;
    uint64_t first =
        log->n_segs ? log->segs[0].first_index : atomic_load(&log->durable_index) + 1;
    atomic_store(&log->n_segments, log->n_segs);
    atomic_store(&log->bytes_on_disk, bytes);
    atomic_store(&log->first_index, first);
}

void vg_log_notify(vg_log_t *log)
{
    uint64_t one = 1;
    if (log->notify_fd >= 0 && write(log->notify_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        vg_warn("cannot signal log notify fd: %s", strerror(errno));
}

void vg_log_fail(vg_log_t *log)
{
    atomic_store(&log->failed, 1);
    vg_log_notify(log);
}

/* ---- opening and closing ---- */

/* Opens the newest segment for appends; syncing it makes whatever recovery
 * found in the page cache (a crashed process, not a crashed machine) as
 * durable as we are about to report it. */
int vg_log_open_tail(vg_log_t *log, char *err, size_t errlen)
{
    if (log->n_segs == 0)
        return 0;
    char path[4096];
    vg_log_seg_path(log, log->segs[log->n_segs - 1].first_index, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || fdatasync(fd) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return vg_err(err, errlen, rc, "cannot open log segment '%s' for appending: %s", path,
                      strerror(-rc));
    }
    log->seg_fd = fd;
    return 0;
}

/* Makes the new entry path[0..end) durable in its parent directory. */
static int sync_parent(char *path, size_t end)
{
    size_t slash = end;
    while (slash > 0 && path[slash - 1] != '/')
        slash--;
    char saved = path[slash];
    path[slash] = '\0';
    int fd = open(slash ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    path[slash] = saved;
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* mkdir -p with mode 0700 for what it creates, each new entry synced so a
 * crash cannot take the whole log directory with it. */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        int rc = mkdir(path, 0700) == 0 ? sync_parent(path, i) : errno == EEXIST ? 0 : -errno;
        path[i] = saved;
        if (rc < 0)
            return rc;
    }
    return 0;
}

vg_log_t *vg_log_alloc(const vg_log_opts_t *opts)
{
    vg_log_t *log = vg_calloc(1, sizeof *log);
    log->dir = vg_strdup(opts->dir);
    log->keys = opts->keys;
    log->segment_bytes = opts->segment_bytes ? opts->segment_bytes : SEG_DEFAULT_BYTES;
    log->dir_fd = log->notify_fd = log->seg_fd = log->rd_fd = -1;
    log->jobs_tail = &log->jobs;
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->seg_mu, NULL);
    pthread_cond_init(&log->work_cv, NULL);
    pthread_cond_init(&log->done_cv, NULL);
    return log;
}

static int open_dir(vg_log_t *log, char *err, size_t errlen)
{
    int rc = make_dirs(log->dir);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot create log directory '%s': %s", log->dir,
                      strerror(-rc));
    log->dir_fd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dir_fd < 0)
        return vg_err(err, errlen, -errno, "cannot open log directory '%s': %s", log->dir,
                      strerror(errno));
    if (flock(log->dir_fd, LOCK_EX | LOCK_NB) < 0)
        return vg_err(err, errlen, errno == EWOULDBLOCK ? -EBUSY : -errno,
                      "log directory '%s' is in use by another process", log->dir);
    log->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (log->notify_fd < 0)
        return vg_err(err, errlen, -errno, "cannot create log notify fd: %s", strerror(errno));
    return 0;
}

int vg_log_open(const vg_log_opts_t *opts, uint64_t after_index, vg_log_replay_fn replay,
                void *ctx, vg_log_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!opts || !opts->dir || !opts->keys)
        return vg_err(err, errlen, -EINVAL, "log options need a directory and a keyring");
    vg_log_t *log = vg_log_alloc(opts);
    int rc = open_dir(log, err, errlen);
    if (rc == 0)
        rc = vg_log_recover(log, after_index, replay, ctx, err, errlen);
    if (rc == 0)
        rc = vg_log_open_tail(log, err, errlen);
    if (rc != 0) {
        vg_log_close(log);
        return rc;
    }
    atomic_store(&log->durable_index, log->last_index);
    atomic_store(&log->durable_epoch, log->last_epoch);
    vg_log_publish_layout(log);
    *out = log;
    return 0;
}

void vg_log_close(vg_log_t *log)
{
    if (!log)
        return;
    if (log->writer_started)
        vg_log_stop_writer(log);
    else if (log->dir_fd >= 0 && (log->queue.len > 0 || log->jobs))
        vg_log_sync(log);
    for (struct snap_job *job = log->jobs, *next; job; job = next) {
        next = job->next;
        free(job->data);
        free(job);
    }
    if (log->seg_fd >= 0)
        close(log->seg_fd);
    if (log->rd_fd >= 0)
        close(log->rd_fd);
    if (log->notify_fd >= 0)
        close(log->notify_fd);
    if (log->dir_fd >= 0)
        close(log->dir_fd); /* releases the flock */
    vg_buf_release(&log->queue);
    vg_buf_release(&log->wbuf);
    pthread_cond_destroy(&log->work_cv);
    pthread_cond_destroy(&log->done_cv);
    pthread_mutex_destroy(&log->mu);
    vg_log_pop_segs(log, 0);
    pthread_mutex_destroy(&log->seg_mu);
    free(log->segs);
    free(log->dir);
    free(log);
}

/* ---- owner thread API ---- */

int vg_log_append(vg_log_t *log, uint64_t epoch, uint16_t type, const void *payload, size_t len,
                  uint64_t *index_out)
{
    if (atomic_load_explicit(&log->failed, memory_order_relaxed))
        return -EIO;
    if (len > VG_RECORD_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (epoch < log->last_epoch)
        return -EINVAL; /* recovery would refuse a log whose epoch goes back */
    vg_record_t rec = {
        .epoch = epoch,
        .index = log->last_index + 1,
        .type = type,
        .key_id = vg_keyring_active_id(log->keys),
        .payload = (uint8_t *)(uintptr_t)payload, /* encode only reads it */
        .payload_len = len,
    };
    pthread_mutex_lock(&log->mu);
    /* a batch was taken back and the owner has not dropped the rest yet */
    int rc = log->discard_pending ? -ENOSPC : vg_record_encode(log->keys, &rec, &log->queue);
    if (rc == 0) {
        log->queue_last = rec.index;
        if (!log->deferred)
            vg_log_wake_writer(log);
    }
    pthread_mutex_unlock(&log->mu);
    if (rc < 0)
        return rc;
    log->last_index = rec.index;
    log->last_epoch = epoch;
    if (index_out)
        *index_out = rec.index;
    return 0;
}

int vg_log_notify_fd(const vg_log_t *log)
{
    return log->notify_fd;
}

void vg_log_notify_drain(vg_log_t *log)
{
    uint64_t count;
    while (read(log->notify_fd, &count, sizeof count) > 0)
        ;
}

uint64_t vg_log_last_index(const vg_log_t *log)
{
    return log->last_index;
}

uint64_t vg_log_durable_index(const vg_log_t *log)
{
    return atomic_load(&((vg_log_t *)log)->durable_index);
}

uint64_t vg_log_first_index(const vg_log_t *log)
{
    return atomic_load(&((vg_log_t *)log)->first_index);
}

int vg_log_failed(const vg_log_t *log)
{
    return atomic_load(&((vg_log_t *)log)->failed);
}

uint64_t vg_log_drop_unwritten(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    if (!log->discard_pending) {
        pthread_mutex_unlock(&log->mu);
        return 0;
    }
    uint64_t durable = atomic_load(&log->durable_index);
    vg_buf_reset(&log->queue);
    log->queue_last = durable;
    struct snap_job **at = &log->jobs;
    while (*at) { /* a job for a dropped record would have nothing to cover */
        struct snap_job *job = *at;
        if (job->index <= durable) {
            at = &job->next;
            continue;
        }
        *at = job->next;
        free(job->data);
        free(job);
        log->jobs_queued--;
    }
    log->jobs_tail = at;
    log->discard_pending = 0;
    pthread_mutex_unlock(&log->mu);
    uint64_t dropped = log->last_index - durable;
    log->last_index = durable;
    log->last_epoch = atomic_load(&log->durable_epoch);
    return dropped;
}

int vg_log_full(const vg_log_t *log)
{
    return atomic_load(&((vg_log_t *)log)->full);
}

uint64_t vg_log_space_failures(const vg_log_t *log)
{
    return atomic_load(&((vg_log_t *)log)->n_space_failures);
}

void vg_log_get_stats(const vg_log_t *log, struct vg_log_stats *st)
{
    vg_log_t *l = (vg_log_t *)log; /* atomics are read-only here */
    st->n_segments = atomic_load(&l->n_segments);
    st->bytes_on_disk = atomic_load(&l->bytes_on_disk);
    st->n_fsyncs = atomic_load(&l->n_fsyncs);
    st->n_records_written = atomic_load(&l->n_records_written);
    st->snapshot_index = atomic_load(&l->snapshot_index);
}

uint64_t vg_log_last_epoch(const vg_log_t *log)
{
    return log->last_epoch;
}

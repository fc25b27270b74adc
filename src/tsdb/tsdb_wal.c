/*
 * tsdb_wal.c - the write-ahead log of the time-series store: appended
 * points and new series names, sealed in batches, group-committed by a
 * writer thread (the pattern of store/log_writer.c: the loop fills a
 * buffer, the writer swaps it for an empty one, writes it with one write(2)
 * and one fdatasync, publishes how far it got and pokes an eventfd the
 * loop listens on).
 *
 * Segment wal-<seq>.vgw: "VGTSWL01" | u32 version | u32 0 | u64 seq | u64 0,
 * then frames (tsdb_int.h) with AD ("vgtswalf", seq, offset, 0) whose
 * plaintext is a run of entries:
 *   1 | u32 id | u8 len | name      a new series (ids are dense, in order)
 *   2 | u32 id | i64 t | f64 v      a point
 * Replay applies a point only if it is newer than its series' last point,
 * so points the checkpoint already holds are skipped.
 *
 * Must never: report a batch durable before its fdatasync (and, for a new
 * segment, the directory's fsync) returned; write after a failed write or
 * fsync (the WAL fails closed: every later sync reports -EIO), except after
 * running out of space once the segment is cut back (below); cut anything
 * but the torn tail of the newest segment.
 *
 * Out of space (ENOSPC, EDQUOT): the segment is cut back to where the frame
 * began and synced (an append-only file: what is below was synced before),
 * the batch is lost and its waiters get -ENOSPC, and the WAL goes on: the
 * next batch is tried as usual. New-series entries of a lost batch are
 * carried into the next one, since later points name those ids and replay
 * must know them. A segment that cannot be created for want of space
 * (at open, or when rolling) is created by the next write instead.
 */
#include "tsdb/tsdb_int.h"

#include "core/fsutil.h"
#include "core/say.h"

#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_MAGIC   "VGTSWL01"
#define WAL_VERSION 1
#define WAL_HEADER  32

static int seg_path(const vg_tsdb_t *db, uint64_t seq, char *out, size_t outlen)
{
    return vg_tsdb_path(db, out, outlen, "wal-%016llx.vgw", (unsigned long long)seq);
}

/* ---- writing (io_mu held) ---- */

int vg_tsdb_wal_create(vg_tsdb_t *db, uint64_t seq)
{
    char path[4096];
    uint8_t head[WAL_HEADER] = WAL_MAGIC;
    seg_path(db, seq, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -errno : 0;
    vg_put_u32(head + 8, WAL_VERSION);
    vg_put_u64(head + 16, seq);
    if (rc == 0)
        rc = vg_write_all(fd, head, sizeof head);
    if (rc == 0 && (fdatasync(fd) < 0 || fsync(db->dir_fd) < 0))
        rc = -errno;
    if (rc < 0) {
        if (!vg_out_of_space(rc)) /* the monitor says that once */
            vg_error("cannot create tsdb wal segment '%s': %s", path, strerror(-rc));
        if (fd >= 0) {
            close(fd);
            unlink(path); /* new, and nothing in it yet */
        }
        return rc;
    }
    db->wal.fd = fd;
    db->wal.seq = seq;
    db->wal.off = WAL_HEADER;
    atomic_fetch_add(&db->wal.bytes, WAL_HEADER);
    return 0;
}

static int write_frame(vg_tsdb_t *db, const vg_buf_t *pt)
{
    struct wal *w = &db->wal;
    uint8_t ad[TSDB_AD_BYTES];
    vg_buf_reset(&w->sealed);
    vg_tsdb_ad(ad, "vgtswalf", w->seq, w->off, 0);
    int rc = vg_tsdb_seal_frame(db->kr, ad, pt->data, pt->len, &w->sealed);
    if (rc == 0)
        rc = vg_write_all(w->fd, w->sealed.data, w->sealed.len);
    atomic_fetch_add(&w->n_fsyncs, 1);
    if (rc == 0 && fdatasync(w->fd) < 0)
        rc = -errno;
    if (vg_out_of_space(rc) && (ftruncate(w->fd, (off_t)w->off) < 0 || fdatasync(w->fd) < 0))
        rc = -errno; /* cannot even cut it back: fail closed */
    if (rc < 0 && !vg_out_of_space(rc)) {
        vg_error("cannot write tsdb wal segment %016llx in '%s': %s",
                 (unsigned long long)w->seq, db->dir, strerror(-rc));
        return rc;
    }
    if (rc < 0)
        return rc;
    w->off += w->sealed.len;
    atomic_fetch_add(&w->bytes, w->sealed.len);
    return 0;
}

static void notify(vg_tsdb_t *db)
{
    uint64_t one = 1;
    if (db->wal.notify_fd >= 0 && write(db->wal.notify_fd, &one, sizeof one) < 0 &&
        errno != EAGAIN)
        vg_warn("cannot signal tsdb wal notify fd: %s", strerror(errno));
}

/* Keeps the new-series entries of a lost batch for the next one. */
static void carry_series(struct wal *w)
{
    const uint8_t *p = w->batch.data;
    size_t off = 0, n = w->batch.len;
    while (off < n) {
        size_t len = p[off] == WAL_SERIES ? 6 + (size_t)p[off + 5] : WAL_POINT_SIZE;
        if (p[off] == WAL_SERIES)
            vg_buf_add(&w->carry, p + off, len);
        off += len;
    }
}

/* The batch could not be stored for want of space: its waiters are told
 * (deliver), the WAL goes on with the next. */
static void lose_batch(vg_tsdb_t *db, uint64_t batch)
{
    struct wal *w = &db->wal;
    carry_series(w);
    pthread_mutex_lock(&w->mu);
    w->lost_to = db->base ? batch : 0; /* without a loop the caller is told at once */
    pthread_mutex_unlock(&w->mu);
    atomic_fetch_add(&w->n_space_failures, 1);
    atomic_store(&w->full, 1);
}

/* Takes what is queued and writes it as one frame. io_mu held. */
static int flush_locked(vg_tsdb_t *db)
{
    struct wal *w = &db->wal;
    pthread_mutex_lock(&w->mu);
    vg_buf_t taken = w->queue;
    w->queue = w->batch;
    w->batch = taken;
    vg_buf_reset(&w->queue);
    uint64_t batch = w->queue_batch;
    pthread_mutex_unlock(&w->mu);
    if (w->batch.len == 0 || atomic_load(&w->failed))
        return atomic_load(&w->failed) ? -EIO : 0;
    if (w->carry.len) { /* series of a lost batch go first */
        vg_buf_add(&w->carry, w->batch.data, w->batch.len);
        vg_buf_t all = w->carry;
        w->carry = w->batch;
        w->batch = all;
        vg_buf_reset(&w->carry);
    }
    int rc = w->fd < 0 ? vg_tsdb_wal_create(db, w->seq + 1) : 0;
    if (rc == 0)
        rc = write_frame(db, &w->batch);
    if (vg_out_of_space(rc))
        lose_batch(db, batch);
    if (w->batch.cap > (8u << 20))
        vg_buf_release(&w->batch);
    else
        vg_buf_reset(&w->batch);
    if (rc < 0) {
        if (!vg_out_of_space(rc))
            atomic_store(&w->failed, 1);
        return rc;
    }
    atomic_store(&w->full, 0);
    atomic_store(&w->durable, batch);
    return 0;
}

static void *writer_main(void *arg)
{
    vg_tsdb_t *db = arg;
    struct wal *w = &db->wal;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stopping && (w->queue.len == 0 || w->lost_to)) {
            w->writer_idle = 1;
            pthread_cond_wait(&w->work_cv, &w->mu);
        }
        w->writer_idle = 0;
        if (w->queue.len == 0 || w->lost_to)
            break; /* stopping: everything written, or the rest is for close */
        pthread_mutex_unlock(&w->mu);
        pthread_mutex_lock(&w->io_mu);
        flush_locked(db);
        pthread_mutex_unlock(&w->io_mu);
        notify(db);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- the loop side ---- */

void vg_tsdb_wal_stage_series(vg_tsdb_t *db, uint32_t id, const char *name)
{
    uint8_t head[6] = {WAL_SERIES};
    vg_put_u32(head + 1, id);
    head[5] = (uint8_t)strlen(name);
    vg_buf_add(&db->wal.stage, head, sizeof head);
    vg_buf_add(&db->wal.stage, name, head[5]);
}

void vg_tsdb_wal_submit(vg_tsdb_t *db)
{
    struct wal *w = &db->wal;
    if (w->stage.len == 0)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->queue.len == 0) {
        vg_buf_t empty = w->queue;
        w->queue = w->stage;
        w->stage = empty;
    } else {
        vg_buf_add(&w->queue, w->stage.data, w->stage.len);
        vg_buf_reset(&w->stage);
    }
    w->queue_batch = ++w->submitted;
    if (w->writer_idle) {
        w->writer_idle = 0;
        pthread_cond_signal(&w->work_cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void push_waiter(struct wal *w, vg_tsdb_done_fn done, void *ctx, uint64_t batch)
{
    if (w->w_n == w->w_cap) {
        size_t cap = w->w_cap ? 2 * w->w_cap : 64;
        struct wal_waiter *ring = vg_malloc(cap * sizeof *ring);
        for (size_t i = 0; i < w->w_n; i++)
            ring[i] = w->waiters[(w->w_head + i) % w->w_cap];
        free(w->waiters);
        w->waiters = ring;
        w->w_cap = cap;
        w->w_head = 0;
    }
    w->waiters[(w->w_head + w->w_n++) % w->w_cap] = (struct wal_waiter){done, ctx, batch};
}

/* Calls the done of every waiter whose batch is durable or was lost for
 * want of space (-ENOSPC), or, if the WAL failed or `all`, of every waiter
 * (-EIO unless durable); then lets the writer go on after a lost batch. */
static void deliver(vg_tsdb_t *db, int all)
{
    struct wal *w = &db->wal;
    pthread_mutex_lock(&w->mu);
    uint64_t lost_to = w->lost_to;
    pthread_mutex_unlock(&w->mu);
    while (w->w_n > 0) {
        struct wal_waiter wt = w->waiters[w->w_head];
        int durable = atomic_load(&w->durable) >= wt.batch;
        int lost = !durable && wt.batch <= lost_to;
        if (!durable && !lost && !all && !atomic_load(&w->failed))
            break;
        w->w_head = (w->w_head + 1) % w->w_cap;
        w->w_n--;
        wt.done(wt.ctx, durable ? 0 : lost ? -ENOSPC : -EIO);
    }
    if (!lost_to)
        return;
    pthread_mutex_lock(&w->mu);
    w->lost_to = 0;
    if (w->queue.len && w->writer_idle) {
        w->writer_idle = 0;
        pthread_cond_signal(&w->work_cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    vg_tsdb_t *db = arg;
    uint64_t count;
    while (read(db->wal.notify_fd, &count, sizeof count) > 0)
        ;
    deliver(db, 0);
}

int vg_tsdb_wal_sync(vg_tsdb_t *db, vg_tsdb_done_fn done, void *ctx)
{
    struct wal *w = &db->wal;
    if (atomic_load(&w->failed))
        return -EIO;
    vg_tsdb_wal_submit(db);
    if (!db->base) {
        pthread_mutex_lock(&w->io_mu);
        int rc = flush_locked(db);
        pthread_mutex_unlock(&w->io_mu);
        if (done)
            done(ctx, rc);
        return rc;
    }
    if (!done)
        return 0;
    push_waiter(w, done, ctx, w->submitted);
    if (atomic_load(&w->durable) >= w->submitted)
        event_active(w->ev, EV_READ, 0); /* nothing to wait for: answer on the loop */
    return 0;
}

int vg_tsdb_wal_roll(vg_tsdb_t *db, uint64_t *new_seq)
{
    struct wal *w = &db->wal;
    vg_tsdb_wal_submit(db);
    pthread_mutex_lock(&w->io_mu);
    int rc = flush_locked(db);
    if (rc == 0) {
        int old_fd = w->fd; /* kept for appends until the new one exists */
        rc = vg_tsdb_wal_create(db, w->seq + 1);
        if (rc == 0 && old_fd >= 0)
            close(old_fd);
        else if (rc < 0 && !vg_out_of_space(rc))
            atomic_store(&w->failed, 1);
    }
    *new_seq = w->seq;
    pthread_mutex_unlock(&w->io_mu);
    if (db->base)
        notify(db);
    return rc;
}

uint64_t vg_tsdb_wal_segment_bytes(vg_tsdb_t *db)
{
    return atomic_load(&db->wal.bytes);
}

int vg_tsdb_wal_start(vg_tsdb_t *db, char *err, size_t errlen)
{
    struct wal *w = &db->wal;
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->notify_fd < 0)
        return vg_err(err, errlen, -errno, "cannot create tsdb wal notify fd: %s",
                      strerror(errno));
    w->ev = event_new(db->base, w->notify_fd, EV_READ | EV_PERSIST, on_notify, db);
    if (!w->ev || event_add(w->ev, NULL) < 0)
        return vg_err(err, errlen, -ENOMEM, "cannot add tsdb wal event");
    int rc = pthread_create(&w->writer, NULL, writer_main, db);
    if (rc != 0)
        return vg_err(err, errlen, -rc, "cannot start tsdb wal writer: %s", strerror(rc));
    w->writer_started = 1;
    return 0;
}

void vg_tsdb_wal_close(vg_tsdb_t *db)
{
    struct wal *w = &db->wal;
    if (w->writer_started) {
        pthread_mutex_lock(&w->mu);
        w->stopping = 1;
        pthread_cond_signal(&w->work_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->writer, NULL);
        w->writer_started = 0;
    }
    vg_tsdb_wal_submit(db);
    pthread_mutex_lock(&w->io_mu);
    if (w->fd >= 0)
        flush_locked(db);
    pthread_mutex_unlock(&w->io_mu);
    if (w->w_n > 0)
        deliver(db, 1);
    if (w->ev)
        event_free(w->ev);
    if (w->notify_fd >= 0)
        close(w->notify_fd);
    if (w->fd >= 0)
        close(w->fd);
    free(w->waiters);
    vg_buf_release(&w->stage);
    vg_buf_release(&w->queue);
    vg_buf_release(&w->batch);
    vg_buf_release(&w->sealed);
    vg_buf_release(&w->carry);
}

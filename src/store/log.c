/*
 * log.c - the encrypted, durable, append-only log (DESIGN.md section 2).
 *
 * Workload: one owner thread (the event loop) appends many small records and
 * must never wait for the disk. vg_log_append seals the record straight into
 * a shared queue buffer under a mutex; a writer thread swaps that buffer for
 * an empty one, writes it with one write(2), fdatasyncs once for the whole
 * batch (group commit), publishes the durable index and pokes an eventfd.
 * While the writer syncs, the owner fills the next batch, so batches grow by
 * themselves with load and the fsync count stays far below the record count.
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
 * flusher role from the writer for its duration (flusher_acquire).
 *
 * Must never: skip or reorder records silently (recovery stops with
 * -VG_ECORRUPT on anything but a torn tail of the newest segment), report an
 * index durable before its segment data and directory entry are synced, or
 * write again after a failed write or fsync (the page cache can no longer be
 * trusted to hold what we wrote, so the log fails closed).
 */
#include "store/log.h"

#include "core/fsutil.h"
#include "core/say.h"
#include "store/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_MAGIC         "VGLSEG01"
#define SEG_VERSION       1
#define SEG_HEADER_BYTES  32
#define SEG_SUFFIX        ".vgl"
#define SEG_DIGITS        20
#define SEG_DEFAULT_BYTES (64u << 20)
#define WBUF_KEEP_BYTES   (8u << 20) /* batch buffer capacity kept between batches */
#define FRAME_INDEX_AT    12         /* u32 frame_len, u64 epoch, then u64 index */
#define FRAME_HEAD_BYTES  (4 + VG_RECORD_HEADER_BYTES) /* length field and header */
#define FRAME_MIN_LEN     (VG_RECORD_FRAME_OVERHEAD - 4)
#define FRAME_MAX_LEN     (FRAME_MIN_LEN + VG_RECORD_MAX_PAYLOAD)
#define MARK_BYTES        (64u << 10) /* a lookup mark at least every 64 KiB of segment */
#define READ_CHUNK_MIN    4096u
#define READ_CHUNK_MAX    (1u << 20) /* one pread of vg_log_read at most */
#define SKIP_BUF_BYTES    (16u << 10)

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

/* What the flusher takes from the queue in one go; frames are in log->wbuf. */
struct batch {
    uint64_t last_index;
    struct snap_job *jobs;
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
    pthread_t writer;

    /* published by the flusher, read anywhere */
    _Atomic uint64_t durable_index, first_index, snapshot_index;
    _Atomic uint64_t n_segments, bytes_on_disk, n_fsyncs, n_records_written;
    _Atomic int failed;
};

/* ---- files and names ---- */

static int seg_path(const vg_log_t *log, uint64_t first_index, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%020llu" SEG_SUFFIX, log->dir,
                     (unsigned long long)first_index);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int parse_seg_name(const char *name, uint64_t *first_index)
{
    if (strlen(name) != SEG_DIGITS + strlen(SEG_SUFFIX) ||
        strcmp(name + SEG_DIGITS, SEG_SUFFIX) != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < SEG_DIGITS; i++) {
        uint64_t digit = (uint64_t)(name[i] - '0');
        if (name[i] < '0' || name[i] > '9' || v > (UINT64_MAX - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    *first_index = v;
    return 1;
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

static void push_seg(vg_log_t *log, uint64_t first_index)
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
static void pop_segs(vg_log_t *log, size_t from)
{
    for (size_t i = from; i < log->n_segs; i++)
        free(log->segs[i].marks);
    log->n_segs = from;
}

/* Offset from which the next mark of seg is due. */
static uint64_t next_mark_off(const struct seg *seg)
{
    return (seg->n_marks ? seg->marks[seg->n_marks - 1].off : SEG_HEADER_BYTES) + MARK_BYTES;
}

/* Notes that record index starts at off in seg, if a mark is due there.
 * seg_mu held, or no other thread running. */
static void add_mark(struct seg *seg, uint64_t index, uint64_t off)
{
    if (off < next_mark_off(seg) ||
        (seg->n_marks && index <= seg->marks[seg->n_marks - 1].index))
        return;
    if (seg->n_marks == seg->cap_marks) {
        seg->cap_marks = seg->cap_marks ? 2 * seg->cap_marks : 16;
        seg->marks = vg_realloc(seg->marks, seg->cap_marks * sizeof *seg->marks);
    }
    seg->marks[seg->n_marks++] = (struct mark){index, off};
}

/* Forgets marks of records after index (truncation). */
static void drop_marks_after(struct seg *seg, uint64_t index)
{
    while (seg->n_marks && seg->marks[seg->n_marks - 1].index > index)
        seg->n_marks--;
}

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const struct seg *)a)->first_index, y = ((const struct seg *)b)->first_index;
    return x < y ? -1 : x > y;
}

static int list_segments(vg_log_t *log, char *err, size_t errlen)
{
    int fd = dup(log->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return vg_err(err, errlen, rc, "cannot list log directory '%s': %s", log->dir,
                      strerror(-rc));
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t first_index;
        if (parse_seg_name(de->d_name, &first_index))
            push_seg(log, first_index);
    }
    closedir(d);
    if (log->n_segs)
        qsort(log->segs, log->n_segs, sizeof *log->segs, cmp_seg);
    return 0;
}

/* ---- published figures ---- */

static void publish_layout(vg_log_t *log)
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

static void notify(vg_log_t *log)
{
    uint64_t one = 1;
    if (log->notify_fd >= 0 && write(log->notify_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        vg_warn("cannot signal log notify fd: %s", strerror(errno));
}

static void fail(vg_log_t *log)
{
    atomic_store(&log->failed, 1);
    notify(log);
}

/* ---- recovery ---- */

struct recovery {
    vg_log_t *log;
    uint64_t after_index;
    vg_log_replay_fn replay;
    void *ctx;
    uint64_t expect; /* index the next record must carry */
    uint64_t last_epoch;
    uint64_t n_authentic; /* records that opened, replayed or not */
    char *err;
    size_t errlen;
};

static int corrupt(struct recovery *r, const char *path, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int corrupt(struct recovery *r, const char *path, size_t offset, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return vg_err(r->err, r->errlen, -VG_ECORRUPT,
                  "log segment '%s' is corrupt at byte %zu: %s", path, offset, detail);
}

static int accept_record(struct recovery *r, const vg_record_t *rec, const char *path,
                         size_t offset)
{
    if (rec->index != r->expect)
        return corrupt(r, path, offset, "record %llu where %llu was expected",
                       (unsigned long long)rec->index, (unsigned long long)r->expect);
    if (rec->epoch < r->last_epoch)
        return corrupt(r, path, offset, "record %llu goes back to epoch %llu from %llu",
                       (unsigned long long)rec->index, (unsigned long long)rec->epoch,
                       (unsigned long long)r->last_epoch);
    if (rec->index > r->after_index && r->replay) {
        int rc = r->replay(r->ctx, rec);
        if (rc != 0)
            return vg_err(r->err, r->errlen, rc, "replay stopped at record %llu (%d)",
                          (unsigned long long)rec->index, rc);
    }
    r->expect++;
    r->n_authentic++;
    r->last_epoch = rec->epoch;
    return 0;
}

/* Whether a decode failure can be a crash's torn write. A frame naming a
 * key we lack is whole, so it is a missing key; a whole frame failing
 * authentication before any record opened at all means the wrong keyring
 * far more likely than a torn write, and cutting would destroy the log. */
static int may_be_torn(const struct recovery *r, int rc)
{
    return rc == -EAGAIN || rc == -EINVAL || (rc == -EBADMSG && r->n_authentic > 0);
}

/* Whether any authentic frame starts after off: if one does, what failed at
 * off is not a torn tail but damage in the middle. Tries every byte offset,
 * with cheap checks before the AEAD; only runs when a tail failed. */
static int valid_frame_after(const vg_keyring_t *keys, const uint8_t *p, size_t size,
                             size_t off)
{
    for (size_t at = off + 1; at + VG_RECORD_FRAME_OVERHEAD <= size; at++) {
        uint32_t frame_len = vg_get_u32(p + at);
        if (frame_len < VG_RECORD_FRAME_OVERHEAD - 4 || frame_len > size - at - 4 ||
            vg_get_u16(p + at + 4 + 18) != 0)
            continue;
        vg_record_t rec;
        size_t used;
        if (vg_record_decode(keys, p + at, size - at, &rec, &used, NULL, 0) == 0) {
            vg_record_release(&rec);
            return 1;
        }
    }
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static int cut_tail(const char *path, const uint8_t *p, size_t size, size_t off, char *err,
                    size_t errlen)
{
    vg_warn("log segment '%s': cutting %s at byte %zu (%zu bytes)", path,
            all_zero(p + off, size - off) ? "zero-filled tail" : "torn tail", off, size - off);
    if (truncate(path, (off_t)off) < 0)
        return vg_err(err, errlen, -errno, "cannot cut torn tail of log segment '%s': %s", path,
                      strerror(errno));
    return 0;
}

/* Decodes the frames of one mapped segment. A failure in the newest
 * segment with nothing authentic after it is a torn tail and is cut. */
static int scan_frames(struct recovery *r, struct seg *seg, const char *path, const uint8_t *p,
                       size_t size, int is_last)
{
    size_t off = SEG_HEADER_BYTES;
    while (off < size) {
        vg_record_t rec;
        size_t used;
        char why[160];
        int rc =
            vg_record_decode(r->log->keys, p + off, size - off, &rec, &used, why, sizeof why);
        if (rc < 0) {
            if (!is_last || !may_be_torn(r, rc) ||
                valid_frame_after(r->log->keys, p, size, off))
                return corrupt(r, path, off, "%s%s", why,
                               rc == -EBADMSG && r->n_authentic == 0
                                   ? " (and no record before it opens: wrong keyring?)"
                                   : "");
            rc = cut_tail(path, p, size, off, r->err, r->errlen);
            if (rc < 0)
                return rc;
            break;
        }
        rc = accept_record(r, &rec, path, off);
        if (rc == 0)
            add_mark(seg, rec.index, off);
        vg_record_release(&rec);
        if (rc != 0)
            return rc;
        off += used;
    }
    seg->last_index = r->expect - 1;
    seg->bytes = off;
    return 0;
}

/* Checks the 32-byte header; 1 = a torn header the caller may drop. */
static int check_seg_header(struct recovery *r, const struct seg *seg, const char *path,
                            const uint8_t *hdr, size_t size, int is_last)
{
    if (size < SEG_HEADER_BYTES || all_zero(hdr, SEG_HEADER_BYTES))
        return is_last ? 1 : corrupt(r, path, 0, "segment header is missing");
    if (memcmp(hdr, SEG_MAGIC, 8) != 0 || vg_get_u32(hdr + SEG_H_VERSION) != SEG_VERSION)
        return corrupt(r, path, 0, "not a vigil log segment (version %u)",
                       vg_get_u32(hdr + SEG_H_VERSION));
    if (vg_get_u64(hdr + SEG_H_FIRST) != seg->first_index)
        return corrupt(r, path, 0, "header says first index %llu, file name %llu",
                       (unsigned long long)vg_get_u64(hdr + SEG_H_FIRST),
                       (unsigned long long)seg->first_index);
    return 0;
}

static int read_head(int fd, uint8_t *hdr, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *size = (size_t)st.st_size;
    memset(hdr, 0, SEG_HEADER_BYTES);
    size_t want = *size < SEG_HEADER_BYTES ? *size : SEG_HEADER_BYTES;
    ssize_t got = pread(fd, hdr, want, 0);
    if (got < 0)
        return -errno;
    return (size_t)got == want ? 0 : -EIO;
}

/* A torn header can only come from a crash while the segment was created:
 * the whole file must then be short or zero, else it is damage. */
static int drop_torn_segment(struct recovery *r, int fd, const char *path, size_t size)
{
    uint8_t *p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (p == MAP_FAILED)
        return vg_err(r->err, r->errlen, -errno, "cannot map log segment '%s': %s", path,
                      strerror(errno));
    int zero = size < SEG_HEADER_BYTES || all_zero(p, size);
    if (p)
        munmap(p, size);
    if (!zero)
        return corrupt(r, path, 0, "segment header is missing");
    vg_warn("log segment '%s': removing segment with a torn header (%zu bytes)", path, size);
    if (unlink(path) < 0 || fsync(r->log->dir_fd) < 0)
        return vg_err(r->err, r->errlen, -errno, "cannot remove torn log segment '%s': %s",
                      path, strerror(errno));
    pop_segs(r->log, r->log->n_segs - 1);
    return 0;
}

static int scan_segment_fd(struct recovery *r, struct seg *seg, int fd, const char *path,
                           int is_last)
{
    uint8_t hdr[SEG_HEADER_BYTES];
    size_t size = 0;
    int rc = read_head(fd, hdr, &size);
    if (rc < 0)
        return vg_err(r->err, r->errlen, rc, "cannot read log segment '%s': %s", path,
                      strerror(-rc));
    rc = check_seg_header(r, seg, path, hdr, size, is_last);
    if (rc == 1)
        return drop_torn_segment(r, fd, path, size);
    if (rc != 0 || size == SEG_HEADER_BYTES)
        return rc;
    uint8_t *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return vg_err(r->err, r->errlen, -errno, "cannot map log segment '%s': %s", path,
                      strerror(errno));
    rc = scan_frames(r, seg, path, p, size, is_last);
    munmap(p, size);
    return rc;
}

static int scan_segment(struct recovery *r, size_t i)
{
    vg_log_t *log = r->log;
    struct seg *seg = &log->segs[i];
    int is_last = i + 1 == log->n_segs;
    char path[4096];
    if (seg_path(log, seg->first_index, path, sizeof path) < 0)
        return vg_err(r->err, r->errlen, -ENAMETOOLONG, "log directory '%s' is too long",
                      log->dir);
    /* Segments wholly before the snapshot are only kept until compaction
     * removes them; their records are not needed, so are not decrypted. */
    int covered = !is_last && log->segs[i + 1].first_index <= r->after_index + 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_err(r->err, r->errlen, -errno, "cannot open log segment '%s': %s", path,
                      strerror(errno));
    int rc = covered ? 0 : scan_segment_fd(r, seg, fd, path, is_last);
    if (covered) {
        struct stat st;
        seg->last_index = log->segs[i + 1].first_index - 1;
        seg->bytes = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        r->expect = seg->last_index + 1;
    }
    close(fd);
    return rc;
}

static int check_continuity(struct recovery *r, size_t i)
{
    const struct seg *seg = &r->log->segs[i];
    char path[4096];
    seg_path(r->log, seg->first_index, path, sizeof path);
    if (seg->first_index == 0)
        return corrupt(r, path, 0, "index 0 is not a log index");
    if (i == 0 && seg->first_index > r->after_index + 1)
        return corrupt(r, path, 0, "log starts at index %llu but records after %llu are needed",
                       (unsigned long long)seg->first_index,
                       (unsigned long long)r->after_index);
    if (i > 0 && seg->first_index != r->expect)
        return corrupt(r, path, 0, "segment starts at index %llu, %llu expected (index gap)",
                       (unsigned long long)seg->first_index, (unsigned long long)r->expect);
    if (i == 0)
        r->expect = seg->first_index;
    return 0;
}

static int recover_segments(struct recovery *r)
{
    for (size_t i = 0; i < r->log->n_segs; i++) {
        int rc = check_continuity(r, i);
        if (rc == 0)
            rc = scan_segment(r, i);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- compaction ---- */

/* Deletes segments whose records are all <= upto, oldest first, so that a
 * crash half way leaves a log that still starts right after a snapshot. */
static void compact(vg_log_t *log, uint64_t upto)
{
    size_t n_del = 0;
    pthread_mutex_lock(&log->seg_mu); /* a reader never opens a file we are deleting */
    while (n_del < log->n_segs && log->segs[n_del].last_index <= upto &&
           !(log->seg_fd >= 0 && n_del + 1 == log->n_segs)) {
        char path[4096];
        seg_path(log, log->segs[n_del].first_index, path, sizeof path);
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

/* Decides where appends continue once the segments are recovered. */
static int settle_start(vg_log_t *log, struct recovery *r, char *err, size_t errlen)
{
    uint64_t snap_index;
    int rc = vg_snapshot_latest_index(log->dir, &snap_index, err, errlen);
    if (rc < 0)
        return rc;
    uint64_t on_disk = log->n_segs ? log->segs[log->n_segs - 1].last_index : 0;
    if (log->n_segs == 0 && snap_index > r->after_index)
        return vg_err(err, errlen, -VG_ECORRUPT,
                      "log directory '%s' holds snapshot %llu and no segment: records after "
                      "%llu are missing",
                      log->dir, (unsigned long long)snap_index,
                      (unsigned long long)r->after_index);
    if (log->n_segs > 0 && r->after_index > on_disk) {
        /* The snapshot is ahead of the log (installed from elsewhere). The
         * old segments are wholly covered; drop them so that appends at
         * after_index + 1 do not leave an index gap behind. */
        if (snap_index < r->after_index)
            return vg_err(err, errlen, -VG_ECORRUPT,
                          "log in '%s' ends at index %llu, before snapshot index %llu, and no "
                          "snapshot file covers the difference",
                          log->dir, (unsigned long long)on_disk,
                          (unsigned long long)r->after_index);
        compact(log, r->after_index);
    }
    log->last_index = on_disk > r->after_index ? on_disk : r->after_index;
    log->last_epoch = r->last_epoch;
    log->snap_floor = snap_index > r->after_index ? snap_index : r->after_index;
    return 0;
}

/* Opens the newest segment for appends; syncing it makes whatever recovery
 * found in the page cache (a crashed process, not a crashed machine) as
 * durable as we are about to report it. */
static int open_tail(vg_log_t *log, char *err, size_t errlen)
{
    if (log->n_segs == 0)
        return 0;
    char path[4096];
    seg_path(log, log->segs[log->n_segs - 1].first_index, path, sizeof path);
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

/* ---- opening and closing ---- */

static vg_log_t *log_alloc(const vg_log_opts_t *opts)
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
    vg_log_t *log = log_alloc(opts);
    struct recovery r = {
        .log = log,
        .after_index = after_index,
        .replay = replay,
        .ctx = ctx,
        .err = err,
        .errlen = errlen,
    };
    int rc = open_dir(log, err, errlen);
    if (rc == 0)
        rc = list_segments(log, err, errlen);
    if (rc == 0)
        rc = recover_segments(&r);
    if (rc == 0)
        rc = settle_start(log, &r, err, errlen);
    if (rc == 0)
        rc = open_tail(log, err, errlen);
    if (rc != 0) {
        vg_log_close(log);
        return rc;
    }
    atomic_store(&log->durable_index, log->last_index);
    publish_layout(log);
    *out = log;
    return 0;
}

/* ---- the flusher: writing, syncing, rolling over ---- */

static int seg_create(vg_log_t *log, uint64_t first_index)
{
    char path[4096];
    uint8_t hdr[SEG_HEADER_BYTES] = {0};
    seg_path(log, first_index, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = -errno;
        vg_error("cannot create log segment '%s': %s", path, strerror(-rc));
        return rc;
    }
    memcpy(hdr, SEG_MAGIC, 8);
    vg_put_u32(hdr + SEG_H_VERSION, SEG_VERSION);
    vg_put_u64(hdr + SEG_H_FIRST, first_index);
    int rc = vg_write_all(fd, hdr, sizeof hdr);
    if (rc < 0) {
        vg_error("cannot write log segment '%s': %s", path, strerror(-rc));
        close(fd);
        return rc;
    }
    push_seg(log, first_index);
    log->seg_fd = fd;
    return 0;
}

static int seg_sync(vg_log_t *log)
{
    atomic_fetch_add(&log->n_fsyncs, 1);
    if (fdatasync(log->seg_fd) == 0)
        return 0;
    int rc = -errno;
    vg_error("cannot sync log segment %020llu" SEG_SUFFIX " in '%s': %s",
             (unsigned long long)log->segs[log->n_segs - 1].first_index, log->dir,
             strerror(-rc));
    return rc;
}

static int seg_write(vg_log_t *log, const uint8_t *p, size_t n)
{
    int rc = vg_write_all(log->seg_fd, p, n);
    if (rc < 0)
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
                        uint64_t *n_frames)
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
        if (tail->bytes >= next_mark_off(tail)) { /* only we add marks to the tail */
            pthread_mutex_lock(&log->seg_mu);
            add_mark(tail, index, tail->bytes);
            pthread_mutex_unlock(&log->seg_mu);
        }
        tail->bytes += frame_bytes;
        tail->last_index = index;
        off += frame_bytes;
        (*n_frames)++;
    }
    return seg_write(log, p + chunk, n - chunk);
}

static int write_and_sync(vg_log_t *log, const uint8_t *p, size_t n, uint64_t *n_frames)
{
    int created = 0;
    int rc = write_frames(log, p, n, &created, n_frames);
    if (rc == 0)
        rc = seg_sync(log);
    if (rc == 0 && created && fsync(log->dir_fd) < 0) {
        rc = -errno;
        vg_error("cannot sync log directory '%s': %s", log->dir, strerror(errno));
    }
    return rc;
}

/* Runs a snapshot job once every record up to its index is durable. */
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
    compact(log, job->index);
    vg_snapshot_prune(log->dir, job->index);
    atomic_store(&log->snapshot_index, job->index);
}

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
        uint64_t n_frames = 0;
        if (write_and_sync(log, log->wbuf.data, log->wbuf.len, &n_frames) == 0) {
            atomic_fetch_add(&log->n_records_written, n_frames);
            atomic_store(&log->durable_index, b->last_index);
            notify(log); /* answer writers now, not after compaction below */
        } else {
            fail(log);
        }
    }
    if (log->wbuf.cap > WBUF_KEEP_BYTES)
        vg_buf_release(&log->wbuf);
    else
        vg_buf_reset(&log->wbuf);
    uint64_t n_jobs = 0;
    for (struct snap_job *job = b->jobs, *next; job; job = next, n_jobs++) {
        next = job->next;
        if (!atomic_load(&log->failed))
            run_snapshot(log, job);
        free(job->data);
        free(job);
    }
    publish_layout(log);
    pthread_mutex_lock(&log->mu);
    log->jobs_done += n_jobs;
    pthread_cond_broadcast(&log->done_cv);
    pthread_mutex_unlock(&log->mu);
    notify(log);
}

static void *writer_main(void *arg)
{
    vg_log_t *log = arg;
    struct batch b;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (!log->stopping && (log->inline_busy || (log->queue.len == 0 && !log->jobs))) {
            log->writer_idle = 1;
            if (log->inline_busy)
                pthread_cond_broadcast(&log->done_cv); /* flusher_acquire waits for this */
            pthread_cond_wait(&log->work_cv, &log->mu);
        }
        log->writer_idle = 0;
        if (log->queue.len == 0 && !log->jobs)
            break; /* stopping, and everything queued is written */
        take_batch(log, &b);
        pthread_mutex_unlock(&log->mu);
        write_batch(log, &b);
        pthread_mutex_lock(&log->mu);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

static void wake_writer(vg_log_t *log) /* mu held */
{
    if (log->writer_idle) {
        log->writer_idle = 0; /* one wake-up per batch is enough */
        pthread_cond_signal(&log->work_cv);
    }
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
    int rc = vg_record_encode(log->keys, &rec, &log->queue);
    if (rc == 0) {
        log->queue_last = rec.index;
        if (!log->deferred)
            wake_writer(log);
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
    wake_writer(log);
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
    wake_writer(log);
    while (!atomic_load(&log->failed) &&
           (atomic_load(&log->durable_index) < target || log->jobs_done < jobs_target))
        pthread_cond_wait(&log->done_cv, &log->mu);
    pthread_mutex_unlock(&log->mu);
}

int vg_log_sync(vg_log_t *log)
{
    if (log->writer_started) {
        wait_for_writer(log);
    } else {
        struct batch b;
        pthread_mutex_lock(&log->mu);
        take_batch(log, &b);
        pthread_mutex_unlock(&log->mu);
        write_batch(log, &b);
    }
    return atomic_load(&log->failed) ? -EIO : 0;
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
    if ((log->queue.len == 0 && !log->jobs) ||
        (log->writer_started && !(log->writer_idle && single && !log->jobs))) {
        if (log->queue.len || log->jobs)
            wake_writer(log);
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

static void stop_writer(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    log->stopping = 1;
    pthread_cond_signal(&log->work_cv);
    pthread_mutex_unlock(&log->mu);
    pthread_join(log->writer, NULL);
    log->writer_started = 0;
}

void vg_log_close(vg_log_t *log)
{
    if (!log)
        return;
    if (log->writer_started)
        stop_writer(log);
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
    pop_segs(log, 0);
    pthread_mutex_destroy(&log->seg_mu);
    free(log->segs);
    free(log->dir);
    free(log);
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

void vg_log_get_stats(const vg_log_t *log, struct vg_log_stats *st)
{
    vg_log_t *l = (vg_log_t *)log; /* atomics are read-only here */
    st->n_segments = atomic_load(&l->n_segments);
    st->bytes_on_disk = atomic_load(&l->bytes_on_disk);
    st->n_fsyncs = atomic_load(&l->n_fsyncs);
    st->n_records_written = atomic_load(&l->n_records_written);
    st->snapshot_index = atomic_load(&l->snapshot_index);
}

/* ---- mirroring: reading frames back ----
 *
 * vg_log_read serves the mirror's catch-up from the owner thread while the
 * writer appends: it copies durable frames straight from the segment files
 * with pread into the caller's buffer, checking only what it must to find
 * frame boundaries (length in range, index in sequence); the receiver
 * authenticates every frame it stores. An index is found from the cursor
 * left by the previous read (sequential catch-up, the common case) or from
 * the nearest mark, walking at most MARK_BYTES of frame headers.
 */

/* Where a walk through one segment stands. */
struct walk {
    uint64_t seg_first; /* the segment; its fd is log->rd_fd */
    uint64_t seg_end;   /* first index of the next segment; UINT64_MAX for the tail */
    uint64_t index;     /* the frame at off carries this index */
    uint64_t off;
    uint64_t mark_from; /* the reader may add a mark at or after this offset */
};

static ssize_t pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int walk_corrupt(const vg_log_t *log, const struct walk *w, char *err, size_t errlen,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int walk_corrupt(const vg_log_t *log, const struct walk *w, char *err, size_t errlen,
                        const char *fmt, ...)
{
    char path[4096], detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    seg_path(log, w->seg_first, path, sizeof path);
    return vg_err(err, errlen, -VG_ECORRUPT, "log segment '%s' is corrupt at byte %llu: %s",
                  path, (unsigned long long)w->off, detail);
}

static int walk_read_error(const vg_log_t *log, const struct walk *w, int rc, char *err,
                           size_t errlen)
{
    char path[4096];
    seg_path(log, w->seg_first, path, sizeof path);
    return vg_err(err, errlen, rc, "cannot read log segment '%s': %s", path, strerror(-rc));
}

/* Checks the frame head at p (FRAME_HEAD_BYTES there) against the walk and
 * gives the frame's size. */
static int check_head(const vg_log_t *log, const struct walk *w, const uint8_t *p,
                      size_t *frame_bytes, char *err, size_t errlen)
{
    uint32_t frame_len = vg_get_u32(p);
    uint64_t index = vg_get_u64(p + FRAME_INDEX_AT);
    if (frame_len < FRAME_MIN_LEN || frame_len > FRAME_MAX_LEN)
        return walk_corrupt(log, w, err, errlen, "frame length %u out of range", frame_len);
    if (index != w->index)
        return walk_corrupt(log, w, err, errlen, "record %llu where %llu was expected",
                            (unsigned long long)index, (unsigned long long)w->index);
    *frame_bytes = 4 + (size_t)frame_len;
    return 0;
}

static size_t find_seg(const vg_log_t *log, uint64_t index) /* index >= segs[0].first */
{
    size_t lo = 0, hi = log->n_segs; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid].first_index <= index)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static const struct mark *find_mark(const struct seg *seg, uint64_t index)
{
    size_t lo = 0, hi = seg->n_marks; /* marks[0..lo) have mark.index <= index */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->marks[mid].index <= index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &seg->marks[lo - 1] : NULL;
}

static void cursor_close(vg_log_t *log)
{
    if (log->rd_fd >= 0)
        close(log->rd_fd);
    log->rd_fd = -1;
}

/* Points log->rd_fd at the segment starting at first_index. seg_mu held,
 * so compaction cannot remove the file before it is open. */
static int cursor_open(vg_log_t *log, uint64_t first_index, char *err, size_t errlen)
{
    if (log->rd_fd >= 0 && log->rd_seg_first == first_index)
        return 0;
    char path[4096];
    cursor_close(log);
    seg_path(log, first_index, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_err(err, errlen, -errno, "cannot open log segment '%s': %s", path,
                      strerror(errno));
    log->rd_fd = fd;
    log->rd_seg_first = first_index;
    log->rd_index = first_index;
    log->rd_off = SEG_HEADER_BYTES;
    return 0;
}

/* Starts a walk at the best known position at or before index, in the
 * segment holding it. -ERANGE if index is before the first segment. */
static int locate(vg_log_t *log, uint64_t index, struct walk *w, char *err, size_t errlen)
{
    pthread_mutex_lock(&log->seg_mu);
    if (log->n_segs == 0 || index < log->segs[0].first_index) {
        pthread_mutex_unlock(&log->seg_mu);
        return vg_err(err, errlen, -ERANGE, "record %llu is no longer in the log in '%s'",
                      (unsigned long long)index, log->dir);
    }
    size_t i = find_seg(log, index);
    const struct seg *seg = &log->segs[i];
    const struct mark *m = find_mark(seg, index);
    w->seg_first = seg->first_index;
    w->seg_end = i + 1 < log->n_segs ? log->segs[i + 1].first_index : UINT64_MAX;
    w->index = m ? m->index : seg->first_index;
    w->off = m ? m->off : SEG_HEADER_BYTES;
    w->mark_from = next_mark_off(seg);
    int rc = cursor_open(log, seg->first_index, err, errlen);
    pthread_mutex_unlock(&log->seg_mu);
    if (rc == 0 && log->rd_index <= index && log->rd_index > w->index) {
        w->index = log->rd_index; /* the previous read stopped closer */
        w->off = log->rd_off;
    }
    return rc;
}

/* The walk has reached a new frame: remember it as a mark if one is due
 * and the segment is no longer the tail (the flusher marks the tail). */
static void walk_mark(vg_log_t *log, struct walk *w)
{
    if (w->off < w->mark_from || w->index >= w->seg_end)
        return;
    pthread_mutex_lock(&log->seg_mu);
    w->mark_from = UINT64_MAX; /* unless the segment is still there */
    if (log->n_segs && w->seg_first >= log->segs[0].first_index) {
        size_t i = find_seg(log, w->seg_first);
        struct seg *seg = &log->segs[i];
        if (seg->first_index == w->seg_first && i + 1 < log->n_segs) {
            add_mark(seg, w->index, w->off);
            w->mark_from = next_mark_off(seg);
        }
    }
    pthread_mutex_unlock(&log->seg_mu);
}

static void walk_step(vg_log_t *log, struct walk *w, size_t frame_bytes)
{
    w->off += frame_bytes;
    w->index++;
    log->rd_index = w->index;
    log->rd_off = w->off;
    walk_mark(log, w);
}

/* Walks frame headers until the walk stands at index (which must be a
 * record of the walk's segment that is on disk). */
static int skip_to(vg_log_t *log, struct walk *w, uint64_t index, char *err, size_t errlen)
{
    uint8_t buf[SKIP_BUF_BYTES];
    uint64_t buf_off = 0;
    size_t buf_len = 0;
    while (w->index < index) {
        if (w->off < buf_off || w->off + FRAME_HEAD_BYTES > buf_off + buf_len) {
            ssize_t got = pread_full(log->rd_fd, buf, sizeof buf, w->off);
            if (got < 0)
                return walk_read_error(log, w, (int)got, err, errlen);
            buf_off = w->off;
            buf_len = (size_t)got;
            if (buf_len < FRAME_HEAD_BYTES)
                return walk_corrupt(log, w, err, errlen, "segment ends before record %llu",
                                    (unsigned long long)w->index);
        }
        size_t frame_bytes;
        int rc = check_head(log, w, buf + (w->off - buf_off), &frame_bytes, err, errlen);
        if (rc < 0)
            return rc;
        walk_step(log, w, frame_bytes);
    }
    return 0;
}

struct copy {
    uint64_t limit; /* last index that may be copied (the durable index) */
    size_t budget;  /* bytes still wanted */
    int any;        /* a frame was copied: from now on the budget binds */
    int full;       /* the budget is spent */
    vg_buf_t *out;
};

static int copy_wants(const struct copy *c, const struct walk *w)
{
    return w->index <= c->limit && w->index < w->seg_end && !c->full;
}

/* Takes the whole frames at the start of p[0..n) that the copy wants. Sets
 * *need to the size of a frame that is cut off at n, else to 0. */
static int take_frames(vg_log_t *log, struct walk *w, struct copy *c, const uint8_t *p,
                       size_t n, size_t *used, size_t *need, char *err, size_t errlen)
{
    *used = *need = 0;
    while (copy_wants(c, w) && n - *used >= FRAME_HEAD_BYTES) {
        size_t frame_bytes;
        int rc = check_head(log, w, p + *used, &frame_bytes, err, errlen);
        if (rc < 0)
            return rc;
        if (c->any && frame_bytes > c->budget) {
            c->full = 1;
            break;
        }
        if (n - *used < frame_bytes) {
            *need = frame_bytes;
            break;
        }
        *used += frame_bytes;
        c->budget -= frame_bytes < c->budget ? frame_bytes : c->budget;
        c->any = 1;
        c->full = c->budget == 0;
        walk_step(log, w, frame_bytes);
    }
    return 0;
}

/* Appends the frames the copy wants from the walk's segment to c->out,
 * reading chunks with pread straight into the output buffer. */
static int copy_frames(vg_log_t *log, struct walk *w, struct copy *c, char *err, size_t errlen)
{
    size_t need = 0;
    while (copy_wants(c, w)) {
        size_t want = c->budget < READ_CHUNK_MIN   ? READ_CHUNK_MIN
                      : c->budget > READ_CHUNK_MAX ? READ_CHUNK_MAX
                                                   : c->budget;
        if (want < need)
            want = need; /* a frame larger than a chunk */
        vg_buf_grow(c->out, want);
        uint8_t *at = c->out->data + c->out->len;
        ssize_t got = pread_full(log->rd_fd, at, want, w->off);
        if (got < 0)
            return walk_read_error(log, w, (int)got, err, errlen);
        uint64_t index_before = w->index;
        size_t used;
        int rc = take_frames(log, w, c, at, (size_t)got, &used, &need, err, errlen);
        c->out->len += used;
        c->out->data[c->out->len] = 0;
        if (rc < 0)
            return rc;
        /* Nothing taken though more is wanted: only a frame larger than the
         * chunk may do that, else the file ends inside a durable record. */
        if (w->index == index_before && copy_wants(c, w) && (need == 0 || (size_t)got < want))
            return walk_corrupt(log, w, err, errlen, "segment ends inside record %llu",
                                (unsigned long long)w->index);
    }
    return 0;
}

int vg_log_read(vg_log_t *log, uint64_t from_index, size_t max_bytes, vg_buf_t *frames,
                uint64_t *last_index_out, char *err, size_t errlen)
{
    *last_index_out = from_index ? from_index - 1 : 0;
    if (from_index == 0)
        return vg_err(err, errlen, -EINVAL, "log index 0 does not exist");
    if (atomic_load(&log->failed))
        return vg_err(err, errlen, -EIO, "log in '%s' has failed", log->dir);
    struct copy c = {atomic_load(&log->durable_index), max_bytes, 0, 0, frames};
    size_t len_before = frames->len;
    uint64_t next = from_index;
    while (next <= c.limit && !c.full) {
        struct walk w;
        int rc = locate(log, next, &w, err, errlen);
        if (rc == -ERANGE && c.any)
            break; /* compacted meanwhile: the next call says so */
        if (rc == 0)
            rc = skip_to(log, &w, next, err, errlen);
        if (rc == 0)
            rc = copy_frames(log, &w, &c, err, errlen);
        if (rc < 0) {
            frames->len = len_before; /* all or nothing */
            if (frames->data)
                frames->data[len_before] = 0;
            return rc;
        }
        next = w.index;
    }
    *last_index_out = next - 1;
    return 0;
}

int vg_log_epoch_at(vg_log_t *log, uint64_t index, uint64_t *epoch)
{
    if (index == 0 || index > log->last_index)
        return -ERANGE;
    if (index > atomic_load(&log->durable_index)) {
        if (index != log->last_index)
            return -EAGAIN; /* queued, not yet on disk */
        *epoch = log->last_epoch;
        return 0;
    }
    vg_buf_t frame = VG_BUF_INIT;
    uint64_t last;
    char why[512];
    int rc = vg_log_read(log, index, 0, &frame, &last, why, sizeof why);
    if (rc == 0 && last != index)
        rc = -ERANGE; /* compacted between the checks */
    if (rc == 0) {
        vg_record_t rec;
        size_t used;
        rc = vg_record_decode(log->keys, frame.data, frame.len, &rec, &used, why, sizeof why);
        if (rc == 0)
            *epoch = rec.epoch;
        vg_record_release(&rec);
        if (rc < 0)
            rc = -VG_ECORRUPT;
    }
    if (rc < 0 && rc != -ERANGE)
        vg_error("cannot read the epoch of log record %llu: %s", (unsigned long long)index,
                 why);
    vg_buf_release(&frame);
    return rc;
}

uint64_t vg_log_last_epoch(const vg_log_t *log)
{
    return log->last_epoch;
}

/* ---- mirroring: storing the primary's frames ---- */

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
    int rc = check_foreign_frame(log, frame, len, &index, &epoch, why, sizeof why);
    if (rc < 0) {
        vg_warn("log in '%s' refuses a frame: %s", log->dir, why);
        return rc;
    }
    pthread_mutex_lock(&log->mu);
    vg_buf_add(&log->queue, frame, len);
    log->queue_last = index;
    if (!log->deferred)
        wake_writer(log);
    pthread_mutex_unlock(&log->mu);
    log->last_index = index;
    log->last_epoch = epoch;
    if (index_out)
        *index_out = index;
    return 0;
}

/* ---- mirroring: truncating ----
 *
 * Both operations below run in the owner thread with the flusher role taken
 * from the writer (flusher_acquire): everything queued is written and
 * synced first, the writer stays parked, and the segment files and list are
 * ours until flusher_release. They remove segments from the newest
 * backwards, syncing the directory after each, and cut the last one
 * kept with ftruncate + fsync only after that: a crash at any point leaves
 * a prefix of the old log that recovers as it is, never a hole. A failure
 * part way fails the log (the files no longer match what we hold); reopening
 * recovers what is on disk.
 */

int vg_log_test_crash_after_ops = -1;

/* The test hook: pretends the process died before file operation n_ops. */
static int crash_here(int *n_ops)
{
    return vg_log_test_crash_after_ops >= 0 && (*n_ops)++ >= vg_log_test_crash_after_ops
               ? -EINTR
               : 0;
}

/* Owner thread: becomes the flusher (see above) and writes what is queued. */
static void flusher_acquire(vg_log_t *log)
{
    struct batch b;
    pthread_mutex_lock(&log->mu);
    log->inline_busy = 1;
    while (log->writer_started && !log->writer_idle)
        pthread_cond_wait(&log->done_cv, &log->mu);
    take_batch(log, &b);
    pthread_mutex_unlock(&log->mu);
    if (log->wbuf.len > 0 || b.jobs)
        write_batch(log, &b);
}

static void flusher_release(vg_log_t *log)
{
    pthread_mutex_lock(&log->mu);
    log->inline_busy = 0;
    if (log->queue.len > 0 || log->jobs)
        wake_writer(log);
    pthread_mutex_unlock(&log->mu);
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
    seg_path(log, log->segs[log->n_segs - 1].first_index, path, sizeof path);
    int rc = crash_here(n_ops);
    if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0 && fsync(log->dir_fd) < 0)
        rc = -errno;
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot remove log segment '%s': %s", path,
                      strerror(-rc));
    pthread_mutex_lock(&log->seg_mu);
    pop_segs(log, log->n_segs - 1);
    pthread_mutex_unlock(&log->seg_mu);
    return 0;
}

/* Cuts the tail segment at off, where record index + 1 started. */
static int cut_last_segment(vg_log_t *log, uint64_t index, uint64_t off, int *n_ops, char *err,
                            size_t errlen)
{
    struct seg *tail = &log->segs[log->n_segs - 1];
    char path[4096];
    seg_path(log, tail->first_index, path, sizeof path);
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
        struct walk w;
        int rc = locate(log, index + 1, &w, err, errlen);
        if (rc == 0)
            rc = skip_to(log, &w, index + 1, err, errlen);
        if (rc < 0)
            return rc;
        keep = find_seg(log, w.seg_first) + 1;
        cut = w.off;
    }
    cursor_close(log);
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
    atomic_store(&log->durable_index, index);
    publish_layout(log);
    return open_tail(log, err, errlen);
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
        fail(log);
    return rc;
}

int vg_log_truncate_after(vg_log_t *log, uint64_t index, char *err, size_t errlen)
{
    if (atomic_load(&log->failed))
        return vg_err(err, errlen, -EIO, "log in '%s' has failed", log->dir);
    if (index >= log->last_index)
        return 0;
    flusher_acquire(log);
    int rc = truncate_held(log, index, err, errlen);
    flusher_release(log);
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
        fail(log);
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
    flusher_acquire(log);
    int rc = reset_held(log, snapshot_index);
    flusher_release(log);
    return rc;
}

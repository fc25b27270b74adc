/*
 * log_read.c - reading sealed frames back for the mirror (vg_log_read,
 * vg_log_epoch_at; DESIGN.md section 3).
 *
 * Workload: the mirror's catch-up, served from the owner thread while the
 * writer appends. Durable frames are copied straight from the segment files
 * with pread into the caller's buffer, checking only what is needed to find
 * frame boundaries (length in range, index in sequence); the receiver
 * authenticates every frame it stores. An index is found from the cursor
 * left by the previous read (sequential catch-up, the common case) or from
 * the nearest mark, walking at most MARK_BYTES of frame headers.
 *
 * Must never: hand out a frame past the durable index, a partial frame, or
 * anything from a read that failed (errors append nothing); or pick and
 * open a segment file without seg_mu held, so that compaction cannot
 * remove the file in between.
 */
#include "store/log_int.h"

#include "core/fsutil.h"

#include "core/say.h"

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#define READ_CHUNK_MIN 4096u
#define READ_CHUNK_MAX (1u << 20) /* one pread of vg_log_read at most */
#define SKIP_BUF_BYTES (16u << 10)

/* Where a walk through one segment stands. */
struct walk {
    uint64_t seg_first; /* the segment; its fd is log->rd_fd */
    uint64_t seg_end;   /* first index of the next segment; UINT64_MAX for the tail */
    uint64_t index;     /* the frame at off carries this index */
    uint64_t off;
    uint64_t mark_from; /* the reader may add a mark at or after this offset */
};

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
    vg_log_seg_path(log, w->seg_first, path, sizeof path);
    return vg_err(err, errlen, -VG_ECORRUPT, "log segment '%s' is corrupt at byte %llu: %s",
                  path, (unsigned long long)w->off, detail);
}

static int walk_read_error(const vg_log_t *log, const struct walk *w, int rc, char *err,
                           size_t errlen)
{
    char path[4096];
    vg_log_seg_path(log, w->seg_first, path, sizeof path);
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

void vg_log_cursor_close(vg_log_t *log)
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
    vg_log_cursor_close(log);
    vg_log_seg_path(log, first_index, path, sizeof path);
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
    w->mark_from = vg_log_next_mark_off(seg);
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
            vg_log_add_mark(seg, w->index, w->off);
            w->mark_from = vg_log_next_mark_off(seg);
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
            ssize_t got = vg_pread_all(log->rd_fd, buf, sizeof buf, w->off);
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
        ssize_t got = vg_pread_all(log->rd_fd, at, want, w->off);
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

int vg_log_find_record(vg_log_t *log, uint64_t index, size_t *seg_pos, uint64_t *off, char *err,
                       size_t errlen)
{
    struct walk w;
    int rc = locate(log, index, &w, err, errlen);
    if (rc == 0)
        rc = skip_to(log, &w, index, err, errlen);
    if (rc < 0)
        return rc;
    *seg_pos = find_seg(log, w.seg_first);
    *off = w.off;
    return 0;
}

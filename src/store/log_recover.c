/*
 * log_recover.c - recovery of the log at open (log.h): lists the segment
 * files, checks each header, decodes and replays every record after the
 * snapshot, cuts a torn tail of the newest segment and decides where
 * appends go on. The same scan, read-only, is vg_log_check (vigild verify
 * and inspect): it decodes every record, covered or not, and reports what
 * recovery would cut instead of cutting it, so that both always agree on
 * what is a torn tail and what is corruption.
 *
 * Workload: once per vg_log_open, before any other thread runs. Each segment
 * is mapped read-only and decoded front to back; segments wholly covered by
 * the snapshot are not decrypted at all (except by vg_log_check).
 *
 * Must never: skip data silently. Only a torn or zero-filled tail of the
 * newest segment with nothing authentic after it is cut (with a vg_warn).
 * Anything else that fails to decode, an index gap, a frame sealed with a
 * key the keyring lacks, or a failing frame before any record opened (most
 * likely the wrong keyring) is corruption: -VG_ECORRUPT naming the segment
 * file and byte offset.
 */
#include "store/log_int.h"

#include "core/fsutil.h"
#include "core/say.h"
#include "store/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- listing segment files ---- */

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
            vg_log_push_seg(log, first_index);
    }
    closedir(d);
    if (log->n_segs)
        qsort(log->segs, log->n_segs, sizeof *log->segs, cmp_seg);
    return 0;
}

/* ---- scanning segments ---- */

struct recovery {
    vg_log_t *log;
    uint64_t after_index;
    vg_log_replay_fn replay;
    vg_log_each_fn each;        /* read-only check: every record, with its place */
    struct vg_log_check *check; /* non-NULL: read-only, findings go here */
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
    if (r->each) {
        int rc = r->each(r->ctx, path, offset, rec);
        if (rc != 0)
            return vg_err(r->err, r->errlen, rc, "stopped at record %llu (%d)",
                          (unsigned long long)rec->index, rc);
    }
    if (r->check) {
        if (r->check->n_records++ == 0)
            r->check->first_index = rec->index;
        r->check->last_index = rec->index;
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

/* Read-only: notes what recovery would cut, and where. */
static void note_tail(struct recovery *r, enum vg_log_tail kind, const char *path, size_t off,
                      size_t bytes)
{
    r->check->tail = kind;
    snprintf(r->check->tail_path, sizeof r->check->tail_path, "%s", path);
    r->check->tail_offset = off;
    r->check->tail_bytes = bytes;
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

/* Decodes the frames of one mapped segment from byte start. A failure in
 * the newest segment with nothing authentic after it is a torn tail and is
 * cut (read-only: noted). */
static int scan_frames(struct recovery *r, struct seg *seg, const char *path, const uint8_t *p,
                       size_t start, size_t size, int is_last)
{
    size_t off = start;
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
            if (r->check) {
                note_tail(r, all_zero(p + off, size - off) ? VG_TAIL_ZERO : VG_TAIL_TORN, path,
                          off, size - off);
                break;
            }
            rc = cut_tail(path, p, size, off, r->err, r->errlen);
            if (rc < 0)
                return rc;
            break;
        }
        rc = accept_record(r, &rec, path, off);
        if (rc == 0)
            vg_log_add_mark(seg, rec.index, off);
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
    if (r->check) {
        note_tail(r, VG_TAIL_TORN_HEADER, path, 0, size);
        return 0;
    }
    vg_warn("log segment '%s': removing segment with a torn header (%zu bytes)", path, size);
    if (unlink(path) < 0 || fsync(r->log->dir_fd) < 0)
        return vg_err(r->err, r->errlen, -errno, "cannot remove torn log segment '%s': %s",
                      path, strerror(errno));
    vg_log_pop_segs(r->log, r->log->n_segs - 1);
    return 0;
}

/* Read-only: the segment is read into memory, not mapped, since a running
 * member may cut the file meanwhile and a mapping would then fault. */
static int check_segment_fd(struct recovery *r, struct seg *seg, int fd, const char *path,
                            size_t size, int is_last)
{
    uint8_t *p = vg_malloc(size);
    ssize_t got = vg_pread_all(fd, p, size, 0);
    int rc = got < 0 ? vg_err(r->err, r->errlen, (int)got, "cannot read log segment '%s': %s",
                              path, strerror(-(int)got))
                     : scan_frames(r, seg, path, p, SEG_HEADER_BYTES, (size_t)got, is_last);
    free(p);
    return rc;
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
    if (r->check)
        return check_segment_fd(r, seg, fd, path, size, is_last);
    uint8_t *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return vg_err(r->err, r->errlen, -errno, "cannot map log segment '%s': %s", path,
                      strerror(errno));
    rc = scan_frames(r, seg, path, p, SEG_HEADER_BYTES, size, is_last);
    munmap(p, size);
    return rc;
}

static int scan_segment(struct recovery *r, size_t i)
{
    vg_log_t *log = r->log;
    struct seg *seg = &log->segs[i];
    int is_last = i + 1 == log->n_segs;
    char path[4096];
    if (vg_log_seg_path(log, seg->first_index, path, sizeof path) < 0)
        return vg_err(r->err, r->errlen, -ENAMETOOLONG, "log directory '%s' is too long",
                      log->dir);
    /* Segments wholly before the snapshot are only kept until compaction
     * removes them; their records are not needed, so are not decrypted. */
    int covered = !r->check && !is_last && log->segs[i + 1].first_index <= r->after_index + 1;
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
    vg_log_seg_path(r->log, seg->first_index, path, sizeof path);
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

/* ---- where appends continue ---- */

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
        vg_log_drop_segments_upto(log, r->after_index);
    }
    log->last_index = on_disk > r->after_index ? on_disk : r->after_index;
    log->last_epoch = r->last_epoch;
    log->snap_floor = snap_index > r->after_index ? snap_index : r->after_index;
    return 0;
}

int vg_log_recover(vg_log_t *log, uint64_t after_index, vg_log_replay_fn replay, void *ctx,
                   char *err, size_t errlen)
{
    struct recovery r = {
        .log = log,
        .after_index = after_index,
        .replay = replay,
        .ctx = ctx,
        .err = err,
        .errlen = errlen,
    };
    int rc = list_segments(log, err, errlen);
    if (rc == 0)
        rc = recover_segments(&r);
    if (rc == 0)
        rc = settle_start(log, &r, err, errlen);
    return rc;
}

/* ---- read-only checking (log.h) ---- */

int vg_log_check(const char *dir, const vg_keyring_t *keys, uint64_t after_index,
                 vg_log_each_fn each, void *ctx, struct vg_log_check *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    vg_log_opts_t opts = {dir, keys, 0};
    vg_log_t *log = vg_log_alloc(&opts);
    struct recovery r = {.log = log,
                         .after_index = after_index,
                         .each = each,
                         .check = out,
                         .ctx = ctx,
                         .err = err,
                         .errlen = errlen};
    int rc = 0;
    /* no flock: a running member must not be kept from its own log */
    log->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dir_fd < 0)
        rc = vg_err(err, errlen, -errno, "cannot open log directory '%s': %s", dir,
                    strerror(errno));
    if (rc == 0)
        rc = list_segments(log, err, errlen);
    out->n_segments = log->n_segs;
    if (rc == 0)
        rc = recover_segments(&r);
    vg_log_close(log);
    return rc;
}

int vg_log_check_frames(const char *path, const vg_keyring_t *keys, vg_log_each_fn each,
                        void *ctx, struct vg_log_check *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    vg_log_opts_t opts = {path, keys, 0};
    vg_log_t *log = vg_log_alloc(&opts);
    struct recovery r = {
        .log = log, .each = each, .check = out, .ctx = ctx, .err = err, .errlen = errlen};
    struct seg seg = {0};
    struct stat st;
    uint8_t *p = NULL;
    ssize_t got = 0;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = vg_err(err, errlen, -errno, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    p = vg_malloc((size_t)st.st_size);
    if ((got = vg_pread_all(fd, p, (size_t)st.st_size, 0)) < 0) {
        rc = vg_err(err, errlen, (int)got, "cannot read '%s': %s", path, strerror(-(int)got));
        goto out;
    }
    if ((size_t)got >= FRAME_HEAD_BYTES)
        r.expect = vg_get_u64(p + FRAME_INDEX_AT); /* bare frames: the first sets the start */
    if (got > 0)
        rc = scan_frames(&r, &seg, path, p, 0, (size_t)got, 1);
out:
    free(p);
    if (fd >= 0)
        close(fd);
    free(seg.marks);
    vg_log_close(log);
    return rc;
}

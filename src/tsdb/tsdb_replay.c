/*
 * tsdb_replay.c - WAL recovery at open (format in tsdb_wal.c): lists the
 * segments, deletes those the checkpoint covers, replays the rest in
 * order into the in-memory state, and cuts a torn tail of the newest one.
 *
 * A tail is torn when the newest segment ends inside a frame, or its last
 * frame (the one that reaches the end of the file) fails to open, or only
 * zero bytes follow the last good frame: what a crash during write(2)
 * leaves. Anything else that fails (a bad frame with data after it, any
 * bad frame in an older segment, a malformed entry inside an authentic
 * frame) is corruption and stops the open with file and offset.
 *
 * Must never: apply a point out of order, invent a series id, or cut
 * anything that is not a torn tail.
 */
#include "tsdb/tsdb_int.h"

#include "core/fsutil.h"
#include "core/say.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_MAGIC   "VGTSWL01"
#define WAL_VERSION 1
#define WAL_HEADER  32

static int parse_seg_name(const char *name, uint64_t *seq)
{
    char *end;
    if (strncmp(name, "wal-", 4) != 0 || strlen(name) != 4 + 16 + 4 ||
        strcmp(name + 20, ".vgw") != 0)
        return -1;
    *seq = strtoull(name + 4, &end, 16);
    return end == name + 20 ? 0 : -1;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sequence numbers of the WAL segments in the directory, sorted. */
static int list_segments(vg_tsdb_t *db, uint64_t **seqs, size_t *n, char *err, size_t errlen)
{
    DIR *d = opendir(db->dir);
    size_t cap = 0;
    *seqs = NULL;
    *n = 0;
    if (!d)
        return vg_err(err, errlen, -errno, "cannot list tsdb directory '%s': %s", db->dir,
                      strerror(errno));
    for (struct dirent *de; (de = readdir(d));) {
        uint64_t seq;
        if (parse_seg_name(de->d_name, &seq) < 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *seqs = vg_realloc(*seqs, cap * sizeof **seqs);
        }
        (*seqs)[(*n)++] = seq;
    }
    closedir(d);
    if (*n > 1)
        qsort(*seqs, *n, sizeof **seqs, by_value);
    return 0;
}

static int replay_series(vg_tsdb_t *db, const uint8_t *p, size_t n, size_t *used)
{
    char name[64];
    if (n < 6 || p[5] == 0 || p[5] > 63 || n - 6 < p[5])
        return -1;
    uint32_t id = vg_get_u32(p + 1);
    memcpy(name, p + 6, p[5]);
    name[p[5]] = 0;
    *used = 6 + (size_t)p[5];
    uint32_t known = vg_tsdb_find(db, name);
    if (known != VG_TSDB_NO_SERIES)
        return known == id ? 0 : -1;
    if (id != db->n_series || strlen(name) != p[5])
        return -1;
    vg_tsdb_series_add(db, name);
    return 0;
}

/* Applies the entries of one frame; -1 if one is malformed. */
static int replay_entries(vg_tsdb_t *db, const uint8_t *p, size_t n)
{
    size_t off = 0, used;
    while (off < n) {
        if (p[off] == WAL_SERIES) {
            if (replay_series(db, p + off, n - off, &used) < 0)
                return -1;
            off += used;
            continue;
        }
        if (p[off] != WAL_POINT || n - off < WAL_POINT_SIZE)
            return -1;
        uint32_t id = vg_get_u32(p + off + 1);
        int64_t t = (int64_t)vg_get_u64(p + off + 5);
        uint64_t bits = vg_get_u64(p + off + 13);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (id >= db->n_series || !isfinite(v))
            return -1;
        if (t > db->series[id].last_t) /* else the checkpoint holds it already */
            vg_tsdb_apply(db, id, t, v);
        off += WAL_POINT_SIZE;
    }
    return 0;
}

/* Only zeros in p[0..n)? (a file extended but never written) */
static int zeros_only(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int cut_tail(const char *path, uint64_t off, uint64_t size)
{
    vg_warn("cutting torn tail of tsdb wal segment '%s' at offset %llu (%llu bytes)", path,
            (unsigned long long)off, (unsigned long long)(size - off));
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int rc = fd < 0 || ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0 ? -errno : 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Walks the frames of a segment held in p[0..size). */
static int replay_frames(vg_tsdb_t *db, uint64_t seq, const char *path, const uint8_t *p,
                         size_t size, int newest, char *err, size_t errlen)
{
    vg_buf_t pt = VG_BUF_INIT;
    uint8_t ad[TSDB_AD_BYTES];
    size_t off = WAL_HEADER, frame_len = 0;
    int rc = 0;
    while (off < size && rc == 0) {
        vg_tsdb_ad(ad, "vgtswalf", seq, off, 0);
        rc = vg_tsdb_open_frame(db->kr, ad, p + off, size - off, &frame_len, &pt);
        if (rc == 0) {
            if (replay_entries(db, pt.data, pt.len) < 0)
                rc = -EBADMSG;
            else
                off += frame_len;
            continue;
        }
        if (rc == -ENOKEY)
            break;
        uint64_t claimed = TSDB_FRAME_HEAD + (uint64_t)vg_get_u32(p + off);
        if (newest &&
            (rc == -EAGAIN || off + claimed == size || zeros_only(p + off, size - off)))
            rc = cut_tail(path, off, size);
        else
            rc = -EBADMSG;
        break;
    }
    vg_buf_release(&pt);
    if (rc == -ENOKEY)
        return vg_err(err, errlen, rc, "tsdb wal segment '%s' is sealed with an unknown key",
                      path);
    if (rc == -EBADMSG)
        return vg_err(err, errlen, -VG_ECORRUPT,
                      "tsdb wal segment '%s': corrupt frame at offset %llu", path,
                      (unsigned long long)off);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot cut tsdb wal segment '%s': %s", path,
                      strerror(-rc));
    return 0;
}

static int replay_segment(vg_tsdb_t *db, uint64_t seq, int newest, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    vg_tsdb_path(db, path, sizeof path, "wal-%016llx.vgw", (unsigned long long)seq);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return vg_err(err, errlen, rc, "cannot open tsdb wal segment '%s': %s", path,
                      strerror(-rc));
    }
    size_t size = (size_t)st.st_size;
    uint8_t *p = vg_malloc(size ? size : 1);
    ssize_t got = vg_pread_all(fd, p, size, 0);
    close(fd);
    int rc;
    if (got != (ssize_t)size)
        rc = vg_err(err, errlen, -EIO, "cannot read tsdb wal segment '%s'", path);
    else if (size < WAL_HEADER && newest)
        rc = cut_tail(path, 0, size); /* torn while being created: empty it */
    else if (size < WAL_HEADER || memcmp(p, WAL_MAGIC, 8) != 0 ||
             vg_get_u32(p + 8) != WAL_VERSION || vg_get_u64(p + 16) != seq)
        rc = vg_err(err, errlen, -VG_ECORRUPT, "tsdb wal segment '%s' has a bad header", path);
    else
        rc = replay_frames(db, seq, path, p, size, newest, err, errlen);
    free(p);
    atomic_fetch_add(&db->wal.bytes, size);
    return rc;
}

void vg_tsdb_wal_drop_before(vg_tsdb_t *db, uint64_t seq)
{
    uint64_t *seqs;
    size_t n;
    char path[4096];
    if (list_segments(db, &seqs, &n, NULL, 0) < 0)
        return;
    for (size_t i = 0; i < n && seqs[i] < seq; i++) {
        vg_tsdb_path(db, path, sizeof path, "wal-%016llx.vgw", (unsigned long long)seqs[i]);
        if (unlink(path) < 0 && errno != ENOENT)
            vg_warn("cannot remove tsdb wal segment '%s': %s", path, strerror(errno));
    }
    free(seqs);
    if (fsync(db->dir_fd) < 0)
        vg_warn("cannot sync tsdb directory '%s': %s", db->dir, strerror(errno));
    atomic_store(&db->wal.bytes, db->wal.off);
}

int vg_tsdb_wal_open(vg_tsdb_t *db, uint64_t first_seq, char *err, size_t errlen)
{
    uint64_t *seqs, next = first_seq ? first_seq : 1;
    size_t n;
    int rc = list_segments(db, &seqs, &n, err, errlen);
    if (rc < 0)
        return rc;
    vg_tsdb_wal_drop_before(db, first_seq);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (seqs[i] < first_seq)
            continue;
        rc = replay_segment(db, seqs[i], i + 1 == n, err, errlen);
        next = seqs[i] + 1;
    }
    free(seqs);
    if (rc == 0 && (rc = vg_tsdb_wal_create(db, next)) < 0) {
        if (vg_out_of_space(rc)) {
            /* start anyway (reads work): the first write that finds room creates it */
            vg_warn("no space for a new tsdb wal segment in '%s' yet", db->dir);
            db->wal.seq = next - 1;
            rc = 0;
        } else {
            vg_err(err, errlen, rc, "cannot create tsdb wal segment in '%s': %s", db->dir,
                   strerror(-rc));
        }
    }
    if (rc == 0 && db->base)
        rc = vg_tsdb_wal_start(db, err, errlen);
    return rc;
}

/*
 * tsdb_file.c - sealed frames and the chunk files of the time-series store.
 *
 * A chunk file holds the chunks one vg_tsdb_maintain closed in one tier:
 *   header(32): "VGTSCF01" | u32 version | u32 tier | u64 seq | u64 0
 *   frames:     one per chunk, AD = ("vgtschnk", seq, tier << 32 | series, offset)
 *   index:      one frame, AD = ("vgtsindx", seq, tier, offset), holding
 *               u64 n_chunks | i64 min_t | i64 max_t | u64 n_rows, then per
 *               chunk (sorted by series, then time) u32 series | u64 offset |
 *               u32 frame bytes | i64 min_t | i64 max_t | u32 n_rows
 *   trailer(16): u64 index offset | "VGTSEND1"
 * The header's tier and seq must match the file name, and both go into
 * every AD, so a chunk cannot move between files, places, series or tiers.
 * Only the index's time range stays in memory (per file, not per chunk);
 * a query reads the index again.
 *
 * Must never: leave a half-written chunk file under its final name (temp,
 * fsync, rename, fsync directory); skip a chunk that fails to open.
 */
#include "tsdb/tsdb_int.h"

#include "core/fsutil.h"
#include "core/say.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAGIC   "VGTSCF01"
#define FILE_END     "VGTSEND1"
#define FILE_VERSION 1
#define FILE_HEADER  32
#define FILE_TRAILER 16
#define INDEX_HEAD   32
#define INDEX_ENTRY  36

static const char *const tier_names[VG_TSDB_N_TIERS] = {"raw", "1m", "1h"};

const char *vg_tsdb_tier_name(int tier)
{
    return tier_names[tier];
}

/* ---- sealed frames ---- */

void vg_tsdb_ad(uint8_t ad[TSDB_AD_BYTES], const char tag[8], uint64_t a, uint64_t b,
                uint64_t c)
{
    memcpy(ad, tag, 8);
    vg_put_u64(ad + 8, a);
    vg_put_u64(ad + 16, b);
    vg_put_u64(ad + 24, c);
}

int vg_tsdb_seal_frame(const vg_keyring_t *kr, const uint8_t *ad, const uint8_t *pt, size_t n,
                       vg_buf_t *out)
{
    uint32_t key_id = vg_keyring_active_id(kr);
    size_t sealed = n + VG_SEAL_OVERHEAD;
    if (sealed > TSDB_MAX_SEALED)
        return -EFBIG;
    vg_buf_grow(out, TSDB_FRAME_HEAD + sealed);
    uint8_t *p = out->data + out->len;
    vg_put_u32(p, (uint32_t)sealed);
    vg_put_u32(p + 4, key_id);
    int rc = vg_seal(kr, key_id, ad, TSDB_AD_BYTES, pt, n, p + TSDB_FRAME_HEAD);
    if (rc < 0)
        return rc;
    out->len += TSDB_FRAME_HEAD + sealed;
    out->data[out->len] = 0;
    return 0;
}

int vg_tsdb_open_frame(const vg_keyring_t *kr, const uint8_t *ad, const uint8_t *p,
                       size_t avail, size_t *frame_len, vg_buf_t *pt)
{
    if (avail < TSDB_FRAME_HEAD)
        return -EAGAIN;
    uint32_t sealed = vg_get_u32(p), key_id = vg_get_u32(p + 4);
    if (sealed < VG_SEAL_OVERHEAD || sealed > TSDB_MAX_SEALED)
        return -EBADMSG;
    if (avail - TSDB_FRAME_HEAD < sealed)
        return -EAGAIN;
    vg_buf_reset(pt);
    vg_buf_grow(pt, sealed - VG_SEAL_OVERHEAD);
    int rc = vg_open(kr, key_id, ad, TSDB_AD_BYTES, p + TSDB_FRAME_HEAD, sealed, pt->data);
    if (rc < 0)
        return rc;
    pt->len = sealed - VG_SEAL_OVERHEAD;
    pt->data[pt->len] = 0;
    *frame_len = TSDB_FRAME_HEAD + sealed;
    return 0;
}

int vg_tsdb_path(const vg_tsdb_t *db, char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(out, outlen, "%s/", db->dir);
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    va_start(ap, fmt);
    int m = vsnprintf(out + n, outlen - (size_t)n, fmt, ap);
    va_end(ap);
    return m < 0 || (size_t)m >= outlen - (size_t)n ? -ENAMETOOLONG : 0;
}

int vg_tsdb_replace_file(vg_tsdb_t *db, const char *path, const vg_buf_t *content)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int rc = vg_write_file_sync(tmp, content->data, content->len);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0 && fsync(db->dir_fd) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int chunk_path(const vg_tsdb_t *db, int tier, uint64_t seq, const char *suffix,
                      char *out, size_t outlen)
{
    return vg_tsdb_path(db, out, outlen, "%s-%016llx.vgc%s", tier_names[tier],
                        (unsigned long long)seq, suffix);
}

/* ---- writing ---- */

static int by_series_then_time(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    return x->chunk->t_first < y->chunk->t_first ? -1 : x->chunk->t_first > y->chunk->t_first;
}

/* Seals the pending chunks into file, their index entries into index. */
static int build_chunks(vg_tsdb_t *db, int tier, struct cfile *f, vg_buf_t *file,
                        vg_buf_t *index)
{
    const struct pending_list *l = &db->pending[tier];
    vg_buf_t pt = VG_BUF_INIT;
    uint8_t ad[TSDB_AD_BYTES], entry[INDEX_ENTRY];
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const vg_tsdb_enc_t *e = l->items[i].chunk;
        uint64_t off = file->len;
        vg_buf_reset(&pt);
        vg_tsdb_enc_serialize(e, &pt);
        vg_tsdb_ad(ad, "vgtschnk", f->seq, (uint64_t)tier << 32 | l->items[i].series, off);
        rc = vg_tsdb_seal_frame(db->kr, ad, pt.data, pt.len, file);
        vg_put_u32(entry, l->items[i].series);
        vg_put_u64(entry + 4, off);
        vg_put_u32(entry + 12, (uint32_t)(file->len - off));
        vg_put_u64(entry + 16, (uint64_t)e->t_first);
        vg_put_u64(entry + 24, (uint64_t)e->t_prev);
        vg_put_u32(entry + 32, e->n_rows);
        vg_buf_add(index, entry, sizeof entry);
        f->min_t = e->t_first < f->min_t ? e->t_first : f->min_t;
        f->max_t = e->t_prev > f->max_t ? e->t_prev : f->max_t;
        f->n_rows += e->n_rows;
        f->n_chunks++;
    }
    vg_buf_release(&pt);
    return rc;
}

static int build_file(vg_tsdb_t *db, int tier, struct cfile *f, vg_buf_t *file)
{
    vg_buf_t index = VG_BUF_INIT;
    uint8_t head[FILE_HEADER] = FILE_MAGIC, ad[TSDB_AD_BYTES], trailer[FILE_TRAILER];
    vg_put_u32(head + 8, FILE_VERSION);
    vg_put_u32(head + 12, (uint32_t)tier);
    vg_put_u64(head + 16, f->seq);
    vg_buf_add(file, head, sizeof head);
    vg_buf_add(&index, head, INDEX_HEAD); /* room for the index head */
    int rc = build_chunks(db, tier, f, file, &index);
    vg_put_u64(index.data, f->n_chunks);
    vg_put_u64(index.data + 8, (uint64_t)f->min_t);
    vg_put_u64(index.data + 16, (uint64_t)f->max_t);
    vg_put_u64(index.data + 24, f->n_rows);
    f->index_off = file->len;
    vg_tsdb_ad(ad, "vgtsindx", f->seq, (uint64_t)tier, f->index_off);
    if (rc == 0)
        rc = vg_tsdb_seal_frame(db->kr, ad, index.data, index.len, file);
    vg_put_u64(trailer, f->index_off);
    memcpy(trailer + 8, FILE_END, 8);
    vg_buf_add(file, trailer, sizeof trailer);
    f->bytes = file->len;
    vg_buf_release(&index);
    return rc;
}

static void push_file(vg_tsdb_t *db, const struct cfile *f)
{
    if (db->n_files == db->cap_files) {
        db->cap_files = db->cap_files ? 2 * db->cap_files : 64;
        db->files = vg_realloc(db->files, db->cap_files * sizeof *db->files);
    }
    db->files[db->n_files++] = *f;
}

int vg_tsdb_flush_tier(vg_tsdb_t *db, int tier, char *err, size_t errlen)
{
    struct pending_list *l = &db->pending[tier];
    char path[4096];
    if (l->n == 0)
        return 0;
    qsort(l->items, l->n, sizeof *l->items, by_series_then_time);
    struct cfile f = {
        .seq = db->next_file_seq, .tier = tier, .min_t = INT64_MAX, .max_t = INT64_MIN};
    vg_buf_t file = VG_BUF_INIT;
    int rc = build_file(db, tier, &f, &file);
    if (rc == 0 && chunk_path(db, tier, f.seq, "", path, sizeof path) < 0)
        rc = -ENAMETOOLONG;
    if (rc == 0)
        rc = vg_tsdb_replace_file(db, path, &file);
    vg_buf_release(&file);
    if (rc < 0) {
        return vg_err(err, errlen, rc, "cannot write tsdb chunk file '%s': %s", path,
                      strerror(-rc));
    }
    push_file(db, &f);
    db->next_file_seq++;
    for (size_t i = 0; i < l->n; i++)
        vg_tsdb_enc_free(l->items[i].chunk);
    l->n = 0;
    return 0;
}

/* ---- reading ---- */

static int corrupt(char *err, size_t errlen, const char *path, const char *what)
{
    return vg_err(err, errlen, -VG_ECORRUPT, "tsdb chunk file '%s': %s", path, what);
}

/* Opens a chunk file and reads its index into index (plaintext); fills f
 * from header, trailer and index head. */
static int open_index(vg_tsdb_t *db, int tier, uint64_t seq, int *fd_out, struct cfile *f,
                      vg_buf_t *index, char *err, size_t errlen)
{
    char path[4096];
    uint8_t head[FILE_HEADER], trailer[FILE_TRAILER], ad[TSDB_AD_BYTES];
    struct stat st;
    chunk_path(db, tier, seq, "", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return vg_err(err, errlen, rc, "cannot open tsdb chunk file '%s': %s", path,
                      strerror(-rc));
    }
    *fd_out = fd;
    uint64_t size = (uint64_t)st.st_size;
    if (size < FILE_HEADER + FILE_TRAILER + TSDB_FRAME_HEAD ||
        vg_pread_all(fd, head, sizeof head, 0) != sizeof head ||
        vg_pread_all(fd, trailer, sizeof trailer, size - FILE_TRAILER) != sizeof trailer)
        return corrupt(err, errlen, path, "truncated");
    if (memcmp(head, FILE_MAGIC, 8) != 0 || vg_get_u32(head + 8) != FILE_VERSION ||
        vg_get_u32(head + 12) != (uint32_t)tier || vg_get_u64(head + 16) != seq ||
        memcmp(trailer + 8, FILE_END, 8) != 0)
        return corrupt(err, errlen, path, "bad header or trailer");
    *f = (struct cfile){
        .seq = seq, .tier = tier, .bytes = size, .index_off = vg_get_u64(trailer)};
    if (f->index_off < FILE_HEADER || f->index_off > size - FILE_TRAILER - TSDB_FRAME_HEAD)
        return corrupt(err, errlen, path, "index offset out of range");
    size_t frame_len, n = (size_t)(size - FILE_TRAILER - f->index_off);
    uint8_t *frame = vg_malloc(n);
    vg_tsdb_ad(ad, "vgtsindx", seq, (uint64_t)tier, f->index_off);
    int rc = vg_pread_all(fd, frame, n, f->index_off) == (ssize_t)n ? 0 : -EIO;
    if (rc == 0)
        rc = vg_tsdb_open_frame(db->kr, ad, frame, n, &frame_len, index);
    free(frame);
    if (rc == -ENOKEY)
        return vg_err(err, errlen, rc, "tsdb chunk file '%s' is sealed with an unknown key",
                      path);
    if (rc < 0 || frame_len != n || index->len < INDEX_HEAD ||
        (index->len - INDEX_HEAD) % INDEX_ENTRY != 0 ||
        vg_get_u64(index->data) != (index->len - INDEX_HEAD) / INDEX_ENTRY)
        return vg_err(err, errlen, -VG_ECORRUPT,
                      "tsdb chunk file '%s': index at offset %llu does not authenticate", path,
                      (unsigned long long)f->index_off);
    f->n_chunks = vg_get_u64(index->data);
    f->min_t = (int64_t)vg_get_u64(index->data + 8);
    f->max_t = (int64_t)vg_get_u64(index->data + 16);
    f->n_rows = vg_get_u64(index->data + 24);
    return 0;
}

static int read_chunk(vg_tsdb_t *db, int fd, const struct cfile *f, const uint8_t *entry,
                      vg_buf_t *frame, vg_buf_t *pt, vg_tsdb_row_fn fn, void *ctx, char *err,
                      size_t errlen)
{
    char path[4096], why[256];
    uint8_t ad[TSDB_AD_BYTES];
    uint32_t id = vg_get_u32(entry), len = vg_get_u32(entry + 12);
    uint64_t off = vg_get_u64(entry + 4);
    size_t used;
    vg_buf_reset(frame);
    vg_buf_grow(frame, len);
    vg_tsdb_ad(ad, "vgtschnk", f->seq, (uint64_t)f->tier << 32 | id, off);
    int rc = vg_pread_all(fd, frame->data, len, off) == (ssize_t)len ? 0 : -EIO;
    if (rc == 0)
        rc = vg_tsdb_open_frame(db->kr, ad, frame->data, len, &used, pt);
    if (rc == 0)
        rc = vg_tsdb_chunk_decode(pt->data, pt->len, NULL, fn, ctx, why, sizeof why);
    else
        snprintf(why, sizeof why, "does not authenticate");
    if (rc >= 0)
        return rc; /* 0, or fn's own value */
    chunk_path(db, f->tier, f->seq, "", path, sizeof path);
    return vg_err(err, errlen, -VG_ECORRUPT, "tsdb chunk file '%s': chunk at offset %llu %s",
                  path, (unsigned long long)off, why);
}

static int read_file(vg_tsdb_t *db, const struct cfile *f, uint32_t id, int64_t from,
                     int64_t to, vg_tsdb_row_fn fn, void *ctx, char *err, size_t errlen)
{
    vg_buf_t index = VG_BUF_INIT, frame = VG_BUF_INIT, pt = VG_BUF_INIT;
    struct cfile again;
    int fd = -1;
    int rc = open_index(db, f->tier, f->seq, &fd, &again, &index, err, errlen);
    size_t n = rc == 0 ? (size_t)again.n_chunks : 0, lo = 0, hi = n;
    const uint8_t *entries = index.data + INDEX_HEAD;
    while (lo < hi) { /* first entry of series id */
        size_t mid = lo + (hi - lo) / 2;
        if (vg_get_u32(entries + mid * INDEX_ENTRY) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; rc == 0 && i < n; i++) {
        const uint8_t *entry = entries + i * INDEX_ENTRY;
        if (vg_get_u32(entry) != id)
            break;
        if ((int64_t)vg_get_u64(entry + 24) < from || (int64_t)vg_get_u64(entry + 16) >= to)
            continue;
        rc = read_chunk(db, fd, f, entry, &frame, &pt, fn, ctx, err, errlen);
    }
    if (fd >= 0)
        close(fd);
    vg_buf_release(&index);
    vg_buf_release(&frame);
    vg_buf_release(&pt);
    return rc;
}

int vg_tsdb_read_files(vg_tsdb_t *db, int tier, uint32_t id, int64_t from, int64_t to,
                       vg_tsdb_row_fn fn, void *ctx, char *err, size_t errlen)
{
    for (size_t i = 0; i < db->n_files; i++) {
        const struct cfile *f = &db->files[i];
        if (f->tier != tier || f->max_t < from || f->min_t >= to)
            continue;
        int rc = read_file(db, f, id, from, to, fn, ctx, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- listing at open, expiry ---- */

/* "<tier>-<16 hex>.vgc": 0 and tier, seq; -1 for other names. */
static int parse_name(const char *name, int *tier, uint64_t *seq)
{
    for (int t = 0; t < VG_TSDB_N_TIERS; t++) {
        size_t n = strlen(tier_names[t]);
        if (strncmp(name, tier_names[t], n) != 0 || name[n] != '-' ||
            strlen(name + n + 1) != 16 + 4 || strcmp(name + n + 17, ".vgc") != 0)
            continue;
        char *end;
        *seq = strtoull(name + n + 1, &end, 16);
        *tier = t;
        return end == name + n + 17 ? 0 : -1;
    }
    return -1;
}

static int by_seq(const void *a, const void *b)
{
    const struct cfile *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int scan_entry(vg_tsdb_t *db, const char *name, char *err, size_t errlen)
{
    char path[4096];
    int tier, fd = -1;
    uint64_t seq;
    size_t len = strlen(name);
    if (vg_tsdb_path(db, path, sizeof path, "%s", name) < 0)
        return 0;
    if (len > 8 && strcmp(name + len - 8, ".vgc.tmp") == 0) {
        unlink(path);
        return 0;
    }
    if (parse_name(name, &tier, &seq) < 0)
        return 0;
    if (seq >= db->next_file_seq) {
        vg_warn("dropping tsdb chunk file '%s': written after the last checkpoint, its "
                "points are replayed from the wal",
                path);
        unlink(path);
        return 0;
    }
    struct cfile f;
    vg_buf_t index = VG_BUF_INIT;
    int rc = open_index(db, tier, seq, &fd, &f, &index, err, errlen);
    if (fd >= 0)
        close(fd);
    vg_buf_release(&index);
    if (rc == 0)
        push_file(db, &f);
    return rc;
}

int vg_tsdb_scan_files(vg_tsdb_t *db, char *err, size_t errlen)
{
    DIR *d = opendir(db->dir);
    if (!d)
        return vg_err(err, errlen, -errno, "cannot list tsdb directory '%s': %s", db->dir,
                      strerror(errno));
    int rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d));)
        rc = scan_entry(db, de->d_name, err, errlen);
    closedir(d);
    if (db->n_files > 1)
        qsort(db->files, db->n_files, sizeof *db->files, by_seq);
    return rc;
}

void vg_tsdb_expire(vg_tsdb_t *db, int64_t now_ms)
{
    size_t kept = 0, n_del = 0;
    for (size_t i = 0; i < db->n_files; i++) {
        const struct cfile *f = &db->files[i];
        char path[4096];
        if (f->max_t < now_ms - db->opts.retention_ms[f->tier] &&
            chunk_path(db, f->tier, f->seq, "", path, sizeof path) == 0) {
            if (unlink(path) == 0 || errno == ENOENT) {
                n_del++;
                continue;
            }
            vg_warn("cannot remove expired tsdb chunk file '%s': %s", path, strerror(errno));
        }
        db->files[kept++] = *f;
    }
    db->n_files = kept;
    if (n_del > 0 && fsync(db->dir_fd) < 0)
        vg_warn("cannot sync tsdb directory '%s': %s", db->dir, strerror(errno));
}

/*
 * tsdb_ckpt.c - the checkpoint: everything in memory that no chunk file
 * holds yet (series names, last points, open rollup buckets, open chunks),
 * so that the WAL before it can be deleted.
 *
 * File checkpoint.vgk, replaced atomically:
 *   "VGTSCK01" | u32 version | u32 0 | one frame, AD ("vgtsckpt", version, 0, 0)
 * Plaintext: u64 next_file_seq | u64 wal_seq | u32 n_series, then per series
 *   u8 name_len | name | i64 last_t | f64 last_v | 2 x (i64 start | f64 min |
 *   f64 max | f64 sum | u64 count) | u8 mask of open tiers | saved chunks
 * (vg_tsdb_enc_save). Series appear in id order, so ids survive reopening.
 *
 * Workload: written by vg_tsdb_maintain after it flushed chunks (every
 * chunk window, about two hours) and at close; its size is that of the
 * open chunks, a few hundred bytes a series.
 *
 * Must never: be written while chunks are pending (they would be in
 * neither the checkpoint nor a file), or be trusted past a failed open.
 */
#include "tsdb/tsdb_int.h"

#include "core/fsutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC   "VGTSCK01"
#define CKPT_VERSION 1
#define CKPT_HEADER  16
#define CKPT_NAME    "checkpoint.vgk"
#define ACC_BYTES    40

static void put_f64(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    vg_put_u64(p, bits);
}

static double get_f64(const uint8_t *p)
{
    uint64_t bits = vg_get_u64(p);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void save_series(const struct series *s, vg_buf_t *out)
{
    uint8_t fixed[1 + 16 + 2 * ACC_BYTES];
    size_t name_len = strlen(s->name);
    vg_buf_add(out, (uint8_t[]){(uint8_t)name_len}, 1);
    vg_buf_add(out, s->name, name_len);
    vg_put_u64(fixed, (uint64_t)s->last_t);
    put_f64(fixed + 8, s->last_v);
    for (int r = 0; r < 2; r++) {
        uint8_t *p = fixed + 16 + r * ACC_BYTES;
        vg_put_u64(p, (uint64_t)s->acc[r].start);
        put_f64(p + 8, s->acc[r].min);
        put_f64(p + 16, s->acc[r].max);
        put_f64(p + 24, s->acc[r].sum);
        vg_put_u64(p + 32, s->acc[r].count);
    }
    fixed[16 + 2 * ACC_BYTES] = 0;
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++)
        if (s->open[tier])
            fixed[16 + 2 * ACC_BYTES] |= (uint8_t)(1u << tier);
    vg_buf_add(out, fixed, sizeof fixed);
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++)
        if (s->open[tier])
            vg_tsdb_enc_save(s->open[tier], out);
}

int vg_tsdb_ckpt_write(vg_tsdb_t *db, uint64_t wal_seq, char *err, size_t errlen)
{
    char path[4096];
    uint8_t head[CKPT_HEADER] = CKPT_MAGIC, ad[TSDB_AD_BYTES], fixed[20];
    vg_buf_t body = VG_BUF_INIT, file = VG_BUF_INIT;
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++)
        if (db->pending[tier].n)
            VG_BUG("tsdb checkpoint with pending chunks");
    vg_put_u64(fixed, db->next_file_seq);
    vg_put_u64(fixed + 8, wal_seq);
    vg_put_u32(fixed + 16, db->n_series);
    vg_buf_add(&body, fixed, sizeof fixed);
    for (uint32_t id = 0; id < db->n_series; id++)
        save_series(&db->series[id], &body);
    vg_put_u32(head + 8, CKPT_VERSION);
    vg_buf_add(&file, head, sizeof head);
    vg_tsdb_ad(ad, "vgtsckpt", CKPT_VERSION, 0, 0);
    int rc = vg_tsdb_seal_frame(db->kr, ad, body.data, body.len, &file);
    if (rc == 0 && vg_tsdb_path(db, path, sizeof path, CKPT_NAME) < 0)
        rc = -ENAMETOOLONG;
    if (rc == 0)
        rc = vg_tsdb_replace_file(db, path, &file);
    if (rc == 0) {
        db->checkpoint_bytes = file.len;
        db->ckpt_file_seq = db->next_file_seq - 1;
    }
    vg_buf_release(&body);
    vg_buf_release(&file);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot write tsdb checkpoint in '%s': %s", db->dir,
                      strerror(-rc));
    return 0;
}

/* Reads one series at p[*off..len) into a new series of db. */
static int load_series(vg_tsdb_t *db, const uint8_t *p, size_t len, size_t *off)
{
    char name[64];
    if (len - *off < 1 || p[*off] == 0 || p[*off] > 63 || len - *off < 1u + p[*off] + 97)
        return -1;
    size_t name_len = p[(*off)++];
    memcpy(name, p + *off, name_len);
    name[name_len] = 0;
    *off += name_len;
    if (strlen(name) != name_len || vg_tsdb_find(db, name) != VG_TSDB_NO_SERIES)
        return -1;
    uint32_t id = vg_tsdb_series_add(db, name); /* may move db->series */
    struct series *s = &db->series[id];
    const uint8_t *q = p + *off;
    s->last_t = (int64_t)vg_get_u64(q);
    s->last_v = get_f64(q + 8);
    for (int r = 0; r < 2; r++) {
        const uint8_t *a = q + 16 + r * ACC_BYTES;
        s->acc[r] = (struct rollup_acc){(int64_t)vg_get_u64(a), get_f64(a + 8), get_f64(a + 16),
                                        get_f64(a + 24), vg_get_u64(a + 32)};
    }
    uint8_t mask = q[16 + 2 * ACC_BYTES];
    *off += 17 + 2 * ACC_BYTES;
    for (int tier = 0; tier < VG_TSDB_N_TIERS; tier++) {
        size_t used;
        if (!(mask & (1u << tier)))
            continue;
        if (vg_tsdb_enc_load(p + *off, len - *off, &used, &s->open[tier]) < 0 ||
            s->open[tier]->n_cols != (tier == VG_TSDB_RAW ? 1 : 4))
            return -1;
        *off += used;
    }
    return 0;
}

static int load_body(vg_tsdb_t *db, const vg_buf_t *body, uint64_t *wal_seq)
{
    size_t off = 20;
    if (body->len < off)
        return -1;
    db->next_file_seq = vg_get_u64(body->data);
    db->ckpt_file_seq = db->next_file_seq - 1;
    *wal_seq = vg_get_u64(body->data + 8);
    uint32_t n = vg_get_u32(body->data + 16);
    for (uint32_t i = 0; i < n; i++)
        if (load_series(db, body->data, body->len, &off) < 0)
            return -1;
    return off == body->len && db->next_file_seq > 0 ? 0 : -1;
}

int vg_tsdb_ckpt_load(vg_tsdb_t *db, uint64_t *wal_seq, char *err, size_t errlen)
{
    char path[4096];
    uint8_t ad[TSDB_AD_BYTES];
    struct stat st;
    vg_buf_t file = VG_BUF_INIT, body = VG_BUF_INIT;
    size_t frame_len;
    *wal_seq = 0;
    if (vg_tsdb_path(db, path, sizeof path, CKPT_NAME) < 0)
        return vg_err(err, errlen, -ENAMETOOLONG, "tsdb directory name too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return vg_err(err, errlen, rc, "cannot open tsdb checkpoint '%s': %s", path,
                      strerror(-rc));
    }
    vg_buf_grow(&file, (size_t)st.st_size);
    ssize_t got = vg_pread_all(fd, file.data, (size_t)st.st_size, 0);
    close(fd);
    file.len = got > 0 ? (size_t)got : 0;
    vg_tsdb_ad(ad, "vgtsckpt", CKPT_VERSION, 0, 0);
    int rc = -VG_ECORRUPT;
    if (file.len > CKPT_HEADER && memcmp(file.data, CKPT_MAGIC, 8) == 0 &&
        vg_get_u32(file.data + 8) == CKPT_VERSION) {
        rc = vg_tsdb_open_frame(db->kr, ad, file.data + CKPT_HEADER, file.len - CKPT_HEADER,
                                &frame_len, &body);
        if (rc == 0)
            rc = frame_len == file.len - CKPT_HEADER && load_body(db, &body, wal_seq) == 0
                     ? 0
                     : -VG_ECORRUPT;
    }
    db->checkpoint_bytes = file.len;
    vg_buf_release(&file);
    vg_buf_release(&body);
    if (rc == -ENOKEY)
        return vg_err(err, errlen, rc, "tsdb checkpoint '%s' is sealed with an unknown key",
                      path);
    if (rc < 0)
        return vg_err(err, errlen, -VG_ECORRUPT, "tsdb checkpoint '%s' is damaged", path);
    return 0;
}

/*
 * spool.c - the mirror's sealed, bounded, ordered spool of forward batches.
 *
 * File: a sequence of frames
 *     u32 len | u64 seq | u32 key_id | nonce, sealed batch, tag
 * with associated data "vigil-spool-v1" + seq, so a frame cannot be moved
 * or replayed under another number. Every push is fsynced before it
 * returns: a mirror that crashes keeps what it had not delivered. Batches
 * the primary acknowledged are dropped; the file is emptied, or rewritten
 * atomically with what is left, once they make up most of it. A batch sent
 * twice (a crash between the primary's ack and our rewrite) is harmless:
 * the time-series store refuses a reading not newer than the last. A push
 * that fails (a full disk) is cut back off the file, so no partial frame
 * ever sits in front of a later one.
 */
#include "sense/fwd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/say.h"

#define FRAME_HEAD 16 /* len, seq, key id */
static const char spool_ad_domain[] = "vigil-spool-v1";

struct batch {
    uint64_t seq;
    uint8_t *data;
    size_t len;
};

struct vg_spool {
    char *path;
    const vg_keyring_t *kr;
    int fd;
    size_t max_bytes;
    struct batch *b;
    size_t n, cap;
    size_t bytes;       /* held */
    size_t file_frames; /* frames in the file, acked or not */
    uint64_t next_seq, acked_seq, dropped;
    int broken; /* a failed frame could not be cut back: never append after it */
};

static void make_ad(uint8_t ad[sizeof spool_ad_domain - 1 + 8], uint64_t seq)
{
    memcpy(ad, spool_ad_domain, sizeof spool_ad_domain - 1);
    vg_put_u64(ad + sizeof spool_ad_domain - 1, seq);
}

static void frame_encode(const vg_spool_t *sp, const struct batch *bt, vg_buf_t *out)
{
    uint8_t head[FRAME_HEAD], ad[sizeof spool_ad_domain - 1 + 8];
    uint32_t key = vg_keyring_active_id(sp->kr);
    vg_put_u32(head, (uint32_t)(12 + bt->len + VG_SEAL_OVERHEAD));
    vg_put_u64(head + 4, bt->seq);
    vg_put_u32(head + 12, key);
    vg_buf_add(out, head, sizeof head);
    vg_buf_grow(out, bt->len + VG_SEAL_OVERHEAD);
    make_ad(ad, bt->seq);
    if (vg_seal(sp->kr, key, ad, sizeof ad, bt->data, bt->len, out->data + out->len))
        VG_BUG("sealing with the active key failed");
    out->len += bt->len + VG_SEAL_OVERHEAD;
}

static void hold(vg_spool_t *sp, uint64_t seq, const uint8_t *data, size_t len)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 16;
        sp->b = vg_realloc(sp->b, sp->cap * sizeof *sp->b);
    }
    uint8_t *copy = vg_malloc(len ? len : 1);
    memcpy(copy, data, len);
    sp->b[sp->n++] = (struct batch){seq, copy, len};
    sp->bytes += len;
}

static void drop_front(vg_spool_t *sp, size_t k)
{
    if (!k)
        return; /* also: no array yet */
    for (size_t i = 0; i < k; i++) {
        sp->bytes -= sp->b[i].len;
        free(sp->b[i].data);
    }
    memmove(sp->b, sp->b + k, (sp->n - k) * sizeof *sp->b);
    sp->n -= k;
}

/* Parses the file's frames into memory; cuts a torn tail. */
static int load(vg_spool_t *sp, const uint8_t *p, size_t size, char *err, size_t errlen)
{
    size_t off = 0;
    while (off < size) {
        if (size - off < FRAME_HEAD || vg_get_u32(p + off) < 12 + VG_SEAL_OVERHEAD ||
            vg_get_u32(p + off) > size - off - 4)
            break; /* torn tail */
        size_t sealed_len = vg_get_u32(p + off) - 12;
        uint64_t seq = vg_get_u64(p + off + 4);
        uint32_t key = vg_get_u32(p + off + 12);
        uint8_t ad[sizeof spool_ad_domain - 1 + 8];
        make_ad(ad, seq);
        uint8_t *plain = vg_malloc(sealed_len);
        int rc = vg_open(sp->kr, key, ad, sizeof ad, p + off + FRAME_HEAD, sealed_len, plain);
        if (rc) {
            free(plain);
            if (off + FRAME_HEAD + sealed_len == size)
                break; /* a torn last frame fails authentication too */
            return vg_err(err, errlen, -VG_ECORRUPT,
                          "spool '%s': frame at offset %zu fails authentication", sp->path, off);
        }
        hold(sp, seq, plain, sealed_len - VG_SEAL_OVERHEAD);
        free(plain);
        sp->file_frames++;
        if (seq >= sp->next_seq)
            sp->next_seq = seq + 1;
        off += FRAME_HEAD + sealed_len;
    }
    if (off < size) {
        vg_warn("spool '%s': cutting a torn tail of %zu bytes at offset %zu", sp->path,
                size - off, off);
        if (ftruncate(sp->fd, (off_t)off) || fsync(sp->fd))
            return vg_err(err, errlen, -errno, "spool '%s': cannot cut its tail: %s", sp->path,
                          strerror(errno));
    }
    return 0;
}

int vg_spool_open(const char *path, const vg_keyring_t *kr, size_t max_bytes,
                  vg_spool_t **out, char *err, size_t errlen)
{
    vg_spool_t *sp = vg_calloc(1, sizeof *sp);
    sp->path = vg_strdup(path);
    sp->kr = kr;
    sp->max_bytes = max_bytes;
    sp->next_seq = 1;
    sp->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = 0;
    if (sp->fd < 0) {
        rc = vg_err(err, errlen, -errno, "cannot open spool '%s': %s", path, strerror(errno));
        goto fail;
    }
    struct stat stbuf;
    if (fstat(sp->fd, &stbuf)) {
        rc = vg_err(err, errlen, -errno, "cannot stat spool '%s': %s", path, strerror(errno));
        goto fail;
    }
    size_t size = (size_t)stbuf.st_size;
    uint8_t *text = vg_malloc(size ? size : 1);
    if (vg_pread_all(sp->fd, text, size, 0) != (ssize_t)size) {
        free(text);
        rc = vg_err(err, errlen, -EIO, "cannot read spool '%s'", path);
        goto fail;
    }
    rc = load(sp, text, size, err, errlen);
    free(text);
    if (rc)
        goto fail;
    lseek(sp->fd, 0, SEEK_END);
    if (sp->n)
        vg_info("spool '%s': %zu batches waiting for the primary", path, sp->n);
    *out = sp;
    return 0;
fail:
    vg_spool_close(sp);
    return rc;
}

void vg_spool_close(vg_spool_t *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    drop_front(sp, sp->n);
    free(sp->b);
    free(sp->path);
    free(sp);
}

/* Replaces the file with the batches held now (temp, fsync, rename). */
static int rewrite(vg_spool_t *sp)
{
    vg_buf_t all = VG_BUF_INIT;
    for (size_t i = 0; i < sp->n; i++)
        frame_encode(sp, &sp->b[i], &all);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", sp->path);
    int rc = vg_write_file_sync(tmp, all.data, all.len);
    if (!rc && rename(tmp, sp->path))
        rc = -errno;
    if (!rc)
        rc = vg_fsync_parent(sp->path);
    vg_buf_release(&all);
    if (rc) {
        vg_error("cannot rewrite spool '%s': %s", sp->path, strerror(-rc));
        return rc;
    }
    int fd = open(sp->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    close(sp->fd);
    sp->fd = fd;
    sp->file_frames = sp->n;
    return 0;
}

int vg_spool_push(vg_spool_t *sp, const uint8_t *data, size_t len, uint64_t *seq, char *err,
                  size_t errlen)
{
    if (sp->broken)
        return vg_err(err, errlen, -EIO, "spool '%s' holds a cut frame; restart to recover it",
                      sp->path);
    struct batch bt = {sp->next_seq, (uint8_t *)data, len};
    vg_buf_t frame = VG_BUF_INIT;
    frame_encode(sp, &bt, &frame);
    off_t end = lseek(sp->fd, 0, SEEK_END); /* where a failed frame is cut back to */
    int rc = end < 0 ? -errno : vg_write_all(sp->fd, frame.data, frame.len);
    if (!rc && fdatasync(sp->fd))
        rc = -errno;
    vg_buf_release(&frame);
    /* a part of the frame left behind would sit in the middle of the file
     * once the next one lands after it: corruption at the next open */
    if (rc && end >= 0 &&
        (ftruncate(sp->fd, end) < 0 || fdatasync(sp->fd) < 0 ||
         lseek(sp->fd, end, SEEK_SET) < 0)) {
        vg_error("cannot cut spool '%s' back after a failed write: %s", sp->path,
                 strerror(errno));
        sp->broken = 1; /* recovery at the next open cuts it as a torn tail */
    }
    if (rc)
        return vg_err(err, errlen, rc, "cannot write spool '%s': %s", sp->path, strerror(-rc));
    hold(sp, sp->next_seq, data, len);
    sp->file_frames++;
    *seq = sp->next_seq++;
    size_t k = 0, bytes = sp->bytes;
    while (bytes > sp->max_bytes && k + 1 < sp->n)
        bytes -= sp->b[k++].len;
    if (k) {
        sp->dropped += k;
        vg_warn("spool '%s' is full (%zu bytes): dropped the %zu oldest batches", sp->path,
                sp->max_bytes, k);
        drop_front(sp, k);
        rewrite(sp);
    }
    return 0;
}

int vg_spool_next(const vg_spool_t *sp, uint64_t after, const uint8_t **data, size_t *len,
                  uint64_t *seq)
{
    for (size_t i = 0; i < sp->n; i++)
        if (sp->b[i].seq > after) {
            *data = sp->b[i].data;
            *len = sp->b[i].len;
            *seq = sp->b[i].seq;
            return 0;
        }
    return -ENOENT;
}

void vg_spool_ack(vg_spool_t *sp, uint64_t seq)
{
    size_t k = 0;
    while (k < sp->n && sp->b[k].seq <= seq)
        k++;
    if (seq > sp->acked_seq)
        sp->acked_seq = seq;
    if (!k)
        return;
    drop_front(sp, k);
    if (sp->n == 0) {
        if (ftruncate(sp->fd, 0) == 0 && fsync(sp->fd) == 0)
            sp->file_frames = 0;
        lseek(sp->fd, 0, SEEK_SET);
    } else if (sp->file_frames > 2 * sp->n + 16) {
        rewrite(sp);
    }
}

void vg_spool_stats(const vg_spool_t *sp, struct vg_spool_stats *out)
{
    out->batches = sp->n;
    out->bytes = sp->bytes;
    out->dropped_batches = sp->dropped;
    out->acked_seq = sp->acked_seq;
}

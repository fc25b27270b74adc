/*
 * store.c - the witness's sealed configuration file (format in store.h).
 *
 * Workload: one small file, read once at start and rewritten on each
 * configuration change (rare: failovers, degrades, restores). Every save is
 * synchronous and durable before the witness answers, so the simplest
 * possible write path is the right one.
 *
 * Must never: leave a half-written config under its final name, treat a
 * damaged or unreadable config as "not bootstrapped", make a new keyring
 * when a config sealed with the old one exists, or write a member name (or
 * anything else of C) to disk unsealed.
 */
#include "witness/witness_store.h"

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonout.h"
#include "crypto/keyring.h"

#define CFG_MAGIC        "VGWCFG01"
#define CFG_HEADER_BYTES 16
#define CFG_FILE         "config"
#define CFG_TMP_FILE     "config.tmp"
#define CFG_MAX_BYTES    (64u << 10) /* a C is a few hundred bytes */

enum { CH_KEY_ID = 8, CH_RESERVED = 12 };

struct vg_witness_store {
    char dir[4096];
    char path[4096];
    char tmp[4096];
    vg_keyring_t *keyring;
};

const char *vg_witness_store_path(const vg_witness_store_t *st)
{
    return st->path;
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Reads a whole small file; -EFBIG past CFG_MAX_BYTES. */
static int read_small(const char *path, vg_buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint8_t chunk[4096];
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : 0;
            break;
        }
        if (out->len + (size_t)r > CFG_MAX_BYTES) {
            rc = -EFBIG;
            break;
        }
        vg_buf_add(out, chunk, (size_t)r);
    }
    close(fd);
    return rc;
}

/* Opens the sealed unit in file[0..n) and parses the C inside. */
static int unseal(const vg_witness_store_t *st, const uint8_t *file, size_t n,
                  vg_witness_cfg_t *cfg, char *err, size_t errlen)
{
    if (n < CFG_HEADER_BYTES + VG_SEAL_OVERHEAD)
        return vg_err(err, errlen, -VG_ECORRUPT, "witness config '%s' is truncated (%zu bytes)",
                      st->path, n);
    if (memcmp(file, CFG_MAGIC, 8) != 0 || vg_get_u32(file + CH_RESERVED) != 0)
        return vg_err(err, errlen, -VG_ECORRUPT, "witness config '%s' has a bad header",
                      st->path);
    uint32_t key_id = vg_get_u32(file + CH_KEY_ID);
    size_t pt_len = n - CFG_HEADER_BYTES - VG_SEAL_OVERHEAD;
    char *pt = vg_malloc(pt_len + 1);
    int rc = vg_open(st->keyring, key_id, file, CFG_HEADER_BYTES, file + CFG_HEADER_BYTES,
                     n - CFG_HEADER_BYTES, (uint8_t *)pt);
    if (rc == -ENOKEY)
        rc = vg_err(err, errlen, -VG_ECORRUPT,
                    "witness config '%s' is sealed with key %u, which the keyring lacks",
                    st->path, key_id);
    else if (rc < 0)
        rc = vg_err(err, errlen, -VG_ECORRUPT, "witness config '%s' failed authentication",
                    st->path);
    json_t *obj = NULL;
    json_error_t jerr;
    char why[256];
    if (rc == 0 && !(obj = json_loadb(pt, pt_len, JSON_REJECT_DUPLICATES, &jerr)))
        rc = vg_err(err, errlen, -VG_ECORRUPT, "witness config '%s' is not valid JSON: %s",
                    st->path, jerr.text);
    if (rc == 0 && vg_witness_cfg_from_json(obj, cfg, NULL, why, sizeof why))
        rc = vg_err(err, errlen, -VG_ECORRUPT, "witness config '%s' is invalid: %s", st->path,
                    why);
    json_decref(obj);
    sodium_memzero(pt, pt_len);
    free(pt);
    return rc;
}

static int load(vg_witness_store_t *st, vg_witness_cfg_t *cfg, char *err, size_t errlen)
{
    vg_buf_t file = VG_BUF_INIT;
    vg_witness_cfg_init(cfg);
    int rc = read_small(st->path, &file);
    if (rc == -ENOENT)
        rc = 0; /* never bootstrapped */
    else if (rc == -EFBIG)
        rc = vg_err(err, errlen, -VG_ECORRUPT, "witness config '%s' is larger than %u bytes",
                    st->path, CFG_MAX_BYTES);
    else if (rc < 0)
        rc = vg_err(err, errlen, rc, "cannot read witness config '%s': %s", st->path,
                    strerror(-rc));
    else
        rc = unseal(st, file.data, file.len, cfg, err, errlen);
    vg_buf_release(&file);
    return rc;
}

/* The keyring: loaded, or made if this is a fresh witness directory. */
static int open_keyring(vg_witness_store_t *st, char *err, size_t errlen)
{
    char path[4096];
    if (join(path, sizeof path, st->dir, "keyring"))
        return vg_err(err, errlen, -ENAMETOOLONG, "witness directory '%s' is too long",
                      st->dir);
    if (!exists(path)) {
        if (exists(st->path))
            return vg_err(err, errlen, -ENOKEY,
                          "witness config '%s' exists but its keyring '%s' is missing; "
                          "refusing to make a new key that could not open it",
                          st->path, path);
        int rc = vg_keyring_create(path, err, errlen);
        if (rc)
            return rc;
    }
    return vg_keyring_load(path, &st->keyring, err, errlen);
}

int vg_witness_store_open(const char *dir, vg_witness_store_t **out, vg_witness_cfg_t *cfg,
                          char *err, size_t errlen)
{
    vg_witness_store_t *st = vg_calloc(1, sizeof *st);
    char log_dir[4096];
    int rc;
    *out = NULL;
    if (snprintf(st->dir, sizeof st->dir, "%s", dir) >= (int)sizeof st->dir ||
        join(st->path, sizeof st->path, dir, CFG_FILE) ||
        join(st->tmp, sizeof st->tmp, dir, CFG_TMP_FILE) ||
        join(log_dir, sizeof log_dir, dir, "log")) {
        rc = vg_err(err, errlen, -ENAMETOOLONG, "witness directory '%s' is too long", dir);
        goto fail;
    }
    if (exists(log_dir)) {
        rc = vg_err(err, errlen, -EINVAL,
                    "'%s' is a member's data directory (it holds log/); the witness needs a "
                    "directory of its own and must never hold the data key",
                    dir);
        goto fail;
    }
    if ((rc = open_keyring(st, err, errlen)) || (rc = load(st, cfg, err, errlen)))
        goto fail;
    unlink(st->tmp); /* a save that crashed before its rename never counted */
    *out = st;
    return 0;
fail:
    vg_witness_store_free(st);
    return rc;
}

/* header || nonce || ciphertext || tag of the JSON form of cfg. */
static void seal_cfg(const vg_witness_store_t *st, const vg_witness_cfg_t *cfg, vg_buf_t *out)
{
    vg_buf_t text = VG_BUF_INIT;
    json_t *obj = vg_witness_cfg_to_json(cfg);
    vg_json_dump(obj, &text);
    json_decref(obj);
    uint32_t key_id = vg_keyring_active_id(st->keyring);
    vg_buf_grow(out, CFG_HEADER_BYTES + VG_SEAL_OVERHEAD + text.len);
    memcpy(out->data, CFG_MAGIC, 8);
    vg_put_u32(out->data + CH_KEY_ID, key_id);
    vg_put_u32(out->data + CH_RESERVED, 0);
    if (vg_seal(st->keyring, key_id, out->data, CFG_HEADER_BYTES, text.data, text.len,
                out->data + CFG_HEADER_BYTES))
        VG_BUG("the active key %u is missing from the witness keyring", key_id);
    out->len = CFG_HEADER_BYTES + VG_SEAL_OVERHEAD + text.len;
    out->data[out->len] = 0;
    sodium_memzero(text.data, text.len);
    vg_buf_release(&text);
}

int vg_witness_store_save(vg_witness_store_t *st, const vg_witness_cfg_t *cfg, char *err,
                          size_t errlen)
{
    char why[256];
    if (vg_witness_cfg_check(cfg, why, sizeof why))
        VG_BUG("saving an invalid witness configuration: %s", why);
    vg_buf_t sealed = VG_BUF_INIT;
    seal_cfg(st, cfg, &sealed);
    int rc = vg_write_file_sync(st->tmp, sealed.data, sealed.len);
    vg_buf_release(&sealed);
    if (rc < 0) {
        unlink(st->tmp);
        return vg_err(err, errlen, rc, "cannot write witness config '%s': %s", st->tmp,
                      strerror(-rc));
    }
    if (rename(st->tmp, st->path) < 0) {
        rc = -errno;
        unlink(st->tmp);
        return vg_err(err, errlen, rc, "cannot rename witness config to '%s': %s", st->path,
                      strerror(-rc));
    }
    if ((rc = vg_fsync_dir(st->dir)) < 0)
        return vg_err(err, errlen, rc, "cannot sync witness directory '%s': %s", st->dir,
                      strerror(-rc));
    return 0;
}

void vg_witness_store_free(vg_witness_store_t *st)
{
    if (!st)
        return;
    vg_keyring_free(st->keyring);
    free(st);
}

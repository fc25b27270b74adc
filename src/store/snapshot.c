/*
 * snapshot.c - sealed, atomically replaced snapshots of the applied state.
 *
 * A snapshot is one AEAD unit: the whole state, sealed with the active key,
 * the 32-byte header as associated data. Snapshots are written rarely (the
 * log's writer thread, after compaction is due) and read once at start, so
 * they are simply held in memory whole.
 *
 * Must never: leave a half-written snapshot under its final name (temp file,
 * fsync, rename, fsync directory), or fall back to an older snapshot when
 * the newest one fails to open: that would silently lose the records the
 * log has already compacted away.
 */
#include "store/snapshot.h"

#include "core/fsutil.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC        "VGSNAP01"
#define SNAP_HEADER_BYTES 32
#define SNAP_PREFIX       "snap-"
#define SNAP_SUFFIX       ".vgs"
#define SNAP_TMP_SUFFIX   ".vgs.tmp"
#define SNAP_DIGITS       20

enum { SH_INDEX = 8, SH_EPOCH = 16, SH_KEY_ID = 24, SH_RESERVED = 28 };

/* Parses "snap-<20 digits><suffix>" into *index; 0 if the name is not one. */
static int parse_name(const char *name, const char *suffix, uint64_t *index)
{
    size_t plen = strlen(SNAP_PREFIX), slen = strlen(suffix);
    if (strlen(name) != plen + SNAP_DIGITS + slen || strncmp(name, SNAP_PREFIX, plen) != 0 ||
        strcmp(name + plen + SNAP_DIGITS, suffix) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = plen; i < plen + SNAP_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        uint64_t digit = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    *index = v;
    return 1;
}

static int snap_path(char *out, size_t outlen, const char *dir, uint64_t index,
                     const char *suffix)
{
    int n = snprintf(out, outlen, "%s/" SNAP_PREFIX "%020llu%s", dir, (unsigned long long)index,
                     suffix);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int vg_snapshot_latest_index(const char *dir, uint64_t *index, char *err, size_t errlen)
{
    *index = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return vg_err(err, errlen, -errno, "cannot list snapshot directory '%s': %s", dir,
                      strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t found;
        if (parse_name(de->d_name, SNAP_SUFFIX, &found) && found > *index)
            *index = found;
    }
    closedir(d);
    return 0;
}

/* Builds header || nonce || ciphertext || tag in one malloc'd buffer. */
static int seal_snapshot(const vg_keyring_t *kr, uint64_t index, uint64_t epoch,
                         const uint8_t *data, size_t len, uint8_t **out, size_t *outlen)
{
    size_t total = SNAP_HEADER_BYTES + VG_SEAL_OVERHEAD + len;
    uint8_t *buf = vg_malloc(total);
    uint32_t key_id = vg_keyring_active_id(kr);
    memcpy(buf, SNAP_MAGIC, 8);
    vg_put_u64(buf + SH_INDEX, index);
    vg_put_u64(buf + SH_EPOCH, epoch);
    vg_put_u32(buf + SH_KEY_ID, key_id);
    vg_put_u32(buf + SH_RESERVED, 0);
    int rc = vg_seal(kr, key_id, buf, SNAP_HEADER_BYTES, data, len, buf + SNAP_HEADER_BYTES);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = total;
    return 0;
}

int vg_snapshot_write(const char *dir, const vg_keyring_t *kr, uint64_t index, uint64_t epoch,
                      const uint8_t *data, size_t len, char *err, size_t errlen)
{
    char path[4096], tmp[4096];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (snap_path(path, sizeof path, dir, index, SNAP_SUFFIX) < 0 ||
        snap_path(tmp, sizeof tmp, dir, index, SNAP_TMP_SUFFIX) < 0)
        return vg_err(err, errlen, -ENAMETOOLONG, "snapshot directory '%s' is too long", dir);
    int rc = seal_snapshot(kr, index, epoch, data, len, &sealed, &sealed_len);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot seal snapshot %llu: %s",
                      (unsigned long long)index, strerror(-rc));
    rc = vg_write_file_sync(tmp, sealed, sealed_len);
    free(sealed);
    if (rc < 0) {
        unlink(tmp);
        return vg_err(err, errlen, rc, "cannot write snapshot '%s': %s", tmp, strerror(-rc));
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
        return vg_err(err, errlen, rc, "cannot rename snapshot to '%s': %s", path,
                      strerror(-rc));
    }
    rc = vg_fsync_dir(dir);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot sync snapshot directory '%s': %s", dir,
                      strerror(-rc));
    return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    uint8_t *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    buf = vg_malloc((size_t)st.st_size);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : -EIO; /* shrank while we read it */
            goto out;
        }
        got += (size_t)r;
    }
    *out = buf;
    *outlen = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* Checks the header of a snapshot file read whole into p[0..n). */
static int check_header(const uint8_t *p, size_t n, uint64_t want_index, const char *path,
                        char *err, size_t errlen)
{
    if (n < SNAP_HEADER_BYTES + VG_SEAL_OVERHEAD)
        return vg_err(err, errlen, -VG_ECORRUPT,
                      "snapshot '%s' is truncated (%zu bytes, at byte %zu)", path, n, n);
    if (memcmp(p, SNAP_MAGIC, 8) != 0 || vg_get_u32(p + SH_RESERVED) != 0)
        return vg_err(err, errlen, -VG_ECORRUPT, "snapshot '%s' has a bad header (at byte 0)",
                      path);
    if (vg_get_u64(p + SH_INDEX) != want_index)
        return vg_err(err, errlen, -VG_ECORRUPT,
                      "snapshot '%s' holds index %llu, not the one in its name (at byte %d)",
                      path, (unsigned long long)vg_get_u64(p + SH_INDEX), SH_INDEX);
    return 0;
}

static int open_snapshot(const vg_keyring_t *kr, const uint8_t *p, size_t n, const char *path,
                         uint8_t **data, size_t *len, char *err, size_t errlen)
{
    uint32_t key_id = vg_get_u32(p + SH_KEY_ID);
    size_t sealed_len = n - SNAP_HEADER_BYTES;
    uint8_t *pt = vg_malloc(sealed_len - VG_SEAL_OVERHEAD);
    int rc = vg_open(kr, key_id, p, SNAP_HEADER_BYTES, p + SNAP_HEADER_BYTES, sealed_len, pt);
    if (rc < 0) {
        free(pt);
        if (rc == -ENOKEY)
            return vg_err(err, errlen, rc,
                          "snapshot '%s' is sealed with unknown key %u (at byte %d)", path,
                          key_id, SH_KEY_ID);
        return vg_err(err, errlen, -VG_ECORRUPT,
                      "snapshot '%s' failed authentication (the sealed state from byte %d "
                      "to %zu, or its header)",
                      path, SNAP_HEADER_BYTES, n);
    }
    *data = pt;
    *len = sealed_len - VG_SEAL_OVERHEAD;
    return 0;
}

int vg_snapshot_load(const char *dir, const vg_keyring_t *kr, uint64_t index, uint64_t *epoch,
                     uint8_t **data, size_t *len, char *err, size_t errlen)
{
    char path[4096];
    uint8_t *file = NULL;
    size_t file_len = 0;
    *epoch = 0;
    *data = NULL;
    *len = 0;
    if (snap_path(path, sizeof path, dir, index, SNAP_SUFFIX) < 0)
        return vg_err(err, errlen, -ENAMETOOLONG, "snapshot directory '%s' is too long", dir);
    int rc = read_file(path, &file, &file_len);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot read snapshot '%s': %s", path, strerror(-rc));
    rc = check_header(file, file_len, index, path, err, errlen);
    if (rc == 0)
        rc = open_snapshot(kr, file, file_len, path, data, len, err, errlen);
    if (rc == 0)
        *epoch = vg_get_u64(file + SH_EPOCH);
    free(file);
    return rc;
}

int vg_snapshot_load_latest(const char *dir, const vg_keyring_t *kr, uint64_t *index,
                            uint64_t *epoch, uint8_t **data, size_t *len, char *err,
                            size_t errlen)
{
    uint64_t latest;
    *index = 0;
    *epoch = 0;
    *data = NULL;
    *len = 0;
    int rc = vg_snapshot_latest_index(dir, &latest, err, errlen);
    if (rc < 0 || latest == 0)
        return rc;
    rc = vg_snapshot_load(dir, kr, latest, epoch, data, len, err, errlen);
    if (rc == 0)
        *index = latest;
    return rc;
}

static int cmp_index(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int vg_snapshot_list(const char *dir, uint64_t **indexes, size_t *n, char *err, size_t errlen)
{
    *indexes = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return vg_err(err, errlen, -errno, "cannot list snapshot directory '%s': %s", dir,
                      strerror(errno));
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t found;
        if (!parse_name(de->d_name, SNAP_SUFFIX, &found))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            *indexes = vg_realloc(*indexes, cap * sizeof **indexes);
        }
        (*indexes)[(*n)++] = found;
    }
    closedir(d);
    if (*n)
        qsort(*indexes, *n, sizeof **indexes, cmp_index);
    return 0;
}

void vg_snapshot_prune(const char *dir, uint64_t keep_index)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t index;
        if ((parse_name(de->d_name, SNAP_SUFFIX, &index) ||
             parse_name(de->d_name, SNAP_TMP_SUFFIX, &index)) &&
            index < keep_index)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

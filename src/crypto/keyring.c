/*
 * keyring.c - the data keys and the one AEAD vigil uses for everything it
 * stores: XChaCha20-Poly1305 (IETF) from libsodium with random nonces.
 *
 * Workload: a handful of keys (one per rotation) and a seal or open per log
 * record, so lookup is a short list walk that finds the active key first.
 * Keys are kept newest first in a singly linked list that only ever grows;
 * the head is published with a release store, which lets the log's writer
 * thread seal snapshots while the owner thread rotates (DESIGN.md section 2).
 *
 * Key bytes, and the file text they are parsed from, live only in
 * sodium_malloc'd memory: locked (never swapped out), left out of core
 * dumps, fenced by guard pages, and wiped by sodium_free.
 *
 * Must never: log key bytes, leave key bytes in freed memory or on the
 * stack (everything that held them is wiped), or accept a keyring file that
 * other users could read or write.
 */
#include "crypto/keyring.h"

#include "core/fsutil.h"
#include "core/say.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYRING_MAX_FILE (1u << 20) /* far more than any sane number of keys */
#define KEYRING_MAGIC    "vgkey1"
#define KEYRING_LINE_MAX 84 /* "vgkey1 " + u32 + " " + 64 hex + "\n" */

struct vg_key {
    struct vg_key *older; /* set before the key is published, never changed */
    uint32_t id;
    uint8_t bytes[VG_KEY_BYTES];
};

struct vg_keyring {
    _Atomic(struct vg_key *) newest; /* highest id = active key */
};

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ready;

/* Nonces come from the kernel's CSPRNG (randombytes_buf) like any random
 * nonce, but fetched a page at a time: one getrandom(2) per seal cost a
 * fifth of the log's append time. A nonce is public; what matters is that
 * no two seals ever share one, so the pool is per thread, every nonce is
 * used once, and a fork (which would give the child a copy of the pool)
 * makes the child refill before sealing. */
#define NONCE_POOL_BYTES (170 * VG_SEAL_NONCE_BYTES)

static atomic_uint fork_generation;

struct nonce_pool {
    unsigned generation;
    size_t used; /* bytes of bytes[] handed out; NONCE_POOL_BYTES = empty */
    uint8_t bytes[NONCE_POOL_BYTES];
};

static _Thread_local struct nonce_pool nonce_pool = {0, NONCE_POOL_BYTES, {0}};

static void after_fork_in_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void take_nonce(uint8_t nonce[VG_SEAL_NONCE_BYTES])
{
    struct nonce_pool *pool = &nonce_pool;
    unsigned generation = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    if (pool->used == NONCE_POOL_BYTES || pool->generation != generation) {
        randombytes_buf(pool->bytes, NONCE_POOL_BYTES);
        pool->used = 0;
        pool->generation = generation;
    }
    memcpy(nonce, pool->bytes + pool->used, VG_SEAL_NONCE_BYTES);
    pool->used += VG_SEAL_NONCE_BYTES;
}

static void sodium_init_once(void)
{
    sodium_ready = sodium_init() >= 0 && pthread_atfork(NULL, NULL, after_fork_in_child) == 0;
}

/* libsodium cannot work without its random source; like out-of-memory this
 * is not something vigil can recover from. */
static void crypto_ready(void)
{
    pthread_once(&sodium_once, sodium_init_once);
    if (!sodium_ready) {
        fprintf(stderr, "vigil: cannot initialise libsodium\n");
        abort();
    }
}

static struct vg_key *newest_key(const vg_keyring_t *kr)
{
    return atomic_load_explicit(&((vg_keyring_t *)kr)->newest, memory_order_acquire);
}

static const struct vg_key *find_key(const vg_keyring_t *kr, uint32_t id)
{
    for (const struct vg_key *k = newest_key(kr); k; k = k->older)
        if (k->id == id)
            return k;
    return NULL;
}

static vg_keyring_t *keyring_alloc(void)
{
    crypto_ready();
    vg_keyring_t *kr = vg_calloc(1, sizeof *kr);
    atomic_init(&kr->newest, NULL);
    return kr;
}

/* Inserts k keeping ids in descending order. Only used while nobody else
 * can see the ring (loading), or for a new highest id (rotation). */
static int keyring_insert(vg_keyring_t *kr, struct vg_key *k)
{
    struct vg_key *head = newest_key(kr);
    if (!head || k->id > head->id) {
        k->older = head;
        atomic_store_explicit(&kr->newest, k, memory_order_release);
        return 0;
    }
    struct vg_key *prev = head;
    while (prev->older && prev->older->id > k->id)
        prev = prev->older;
    if (prev->id == k->id || (prev->older && prev->older->id == k->id))
        return -EEXIST;
    k->older = prev->older;
    prev->older = k;
    return 0;
}

/* Locked, guarded memory for n bytes of secrets; aborts like vg_malloc when
 * there is none. sodium_malloc locks the pages but carries on if it cannot
 * (RLIMIT_MEMLOCK): the lock is asked for again to say so, once. */
static void *secret_alloc(size_t n)
{
    static atomic_int warned;
    crypto_ready(); /* sodium_malloc needs sodium_init */
    void *p = sodium_malloc(n);
    if (!p) {
        fprintf(stderr, "vigil: out of locked memory for %zu bytes of key material\n", n);
        abort();
    }
    if (sodium_mlock(p, n) < 0 && !atomic_exchange(&warned, 1))
        vg_warn("cannot lock key memory (%s): keys may be swapped out; raise LimitMEMLOCK",
                strerror(errno));
    return p;
}

/* Wipes and frees what secret_alloc gave (sodium_free wipes it). */
static void secret_free(void *p)
{
    if (p)
        sodium_free(p);
}

static struct vg_key *key_alloc(uint32_t id)
{
    struct vg_key *k = secret_alloc(sizeof *k);
    memset(k, 0, sizeof *k);
    k->id = id;
    return k;
}

static struct vg_key *key_new(uint32_t id, const uint8_t *bytes)
{
    struct vg_key *k = key_alloc(id);
    if (bytes)
        memcpy(k->bytes, bytes, VG_KEY_BYTES);
    else
        randombytes_buf(k->bytes, VG_KEY_BYTES);
    return k;
}

void vg_keyring_free(vg_keyring_t *kr)
{
    if (!kr)
        return;
    struct vg_key *k = newest_key(kr);
    while (k) {
        struct vg_key *older = k->older;
        secret_free(k);
        k = older;
    }
    free(kr);
}

vg_keyring_t *vg_keyring_new_ephemeral(void)
{
    vg_keyring_t *kr = keyring_alloc();
    keyring_insert(kr, key_new(1, NULL));
    return kr;
}

vg_keyring_t *vg_keyring_new_from_bytes(const uint8_t key[VG_KEY_BYTES], uint32_t id)
{
    if (id == 0)
        VG_BUG("key id 0 is reserved");
    vg_keyring_t *kr = keyring_alloc();
    keyring_insert(kr, key_new(id, key));
    return kr;
}

uint32_t vg_keyring_active_id(const vg_keyring_t *kr)
{
    const struct vg_key *k = newest_key(kr);
    return k ? k->id : 0;
}

int vg_seal(const vg_keyring_t *kr, uint32_t key_id, const uint8_t *ad, size_t adlen,
            const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    const struct vg_key *k = find_key(kr, key_id);
    if (!k)
        return -ENOKEY;
    take_nonce(out);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + VG_SEAL_NONCE_BYTES, NULL, pt, ptlen, ad,
                                               adlen, NULL, out, k->bytes);
    return 0;
}

int vg_open(const vg_keyring_t *kr, uint32_t key_id, const uint8_t *ad, size_t adlen,
            const uint8_t *in, size_t inlen, uint8_t *pt)
{
    if (inlen < VG_SEAL_OVERHEAD)
        return -EINVAL;
    const struct vg_key *k = find_key(kr, key_id);
    if (!k)
        return -ENOKEY;
    uint8_t scratch[1]; /* libsodium wants somewhere to write even for 0 bytes */
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt ? pt : scratch, NULL, NULL, in + VG_SEAL_NONCE_BYTES,
            inlen - VG_SEAL_NONCE_BYTES, ad, adlen, in, k->bytes) != 0)
        return -EBADMSG;
    return 0;
}

/* ---- the keyring file ---- */

static int write_temp(const char *tmp, const char *text, size_t len)
{
    unlink(tmp); /* a leftover from a crash; O_EXCL below refuses symlinks */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, 0600) < 0 ? -errno : 0; /* whatever the umask */
    if (rc == 0)
        rc = vg_write_all(fd, text, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* Moves tmp to path; without replace, fails with -EEXIST if path exists,
 * atomically where the file system supports RENAME_NOREPLACE. */
static int install_file(const char *tmp, const char *path, int replace)
{
    if (replace)
        return rename(tmp, path) < 0 ? -errno : 0;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(tmp, path) < 0) /* same guarantee on file systems without it */
        return -errno;
    unlink(tmp);
    return 0;
}

/* Writes the file atomically: temp file, fsync, rename, fsync directory. */
static int write_file_atomic(const char *path, const char *text, size_t len, int replace,
                             char *err, size_t errlen)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return vg_err(err, errlen, -ENAMETOOLONG, "keyring path '%s' is too long", path);
    int rc = write_temp(tmp, text, len);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot write keyring '%s': %s", tmp, strerror(-rc));
    rc = install_file(tmp, path, replace);
    if (rc < 0) {
        unlink(tmp);
        if (rc == -EEXIST)
            return vg_err(err, errlen, rc, "keyring '%s' already exists", path);
        return vg_err(err, errlen, rc, "cannot create keyring '%s': %s", path, strerror(-rc));
    }
    rc = vg_fsync_parent(path);
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot sync the directory of keyring '%s': %s", path,
                      strerror(-rc));
    return 0;
}

/* Formats the ring in the file format, oldest key first. The buffer is
 * locked and sized once so that no copy of a key is left behind by a
 * realloc; the caller frees *text with secret_free. */
static size_t format_ring(const vg_keyring_t *kr, char **text)
{
    size_t n_keys = 0;
    for (const struct vg_key *k = newest_key(kr); k; k = k->older)
        n_keys++;
    static const char banner[] =
        "# vigil keyring: the highest id is the active key. Keep secret.\n";
    size_t cap = sizeof banner + n_keys * KEYRING_LINE_MAX + 1;
    char *out = secret_alloc(cap);
    size_t len = (size_t)snprintf(out, cap, "%s", banner);
    for (size_t i = n_keys; i > 0; i--) {
        const struct vg_key *k = newest_key(kr);
        for (size_t skip = 1; skip < i; skip++)
            k = k->older;
        char hex[2 * VG_KEY_BYTES + 1];
        sodium_bin2hex(hex, sizeof hex, k->bytes, VG_KEY_BYTES);
        len += (size_t)snprintf(out + len, cap - len, KEYRING_MAGIC " %u %s\n", k->id, hex);
        sodium_memzero(hex, sizeof hex);
    }
    *text = out;
    return len;
}

static int save_ring(const vg_keyring_t *kr, const char *path, int replace, char *err,
                     size_t errlen)
{
    char *text;
    size_t len = format_ring(kr, &text);
    int rc = write_file_atomic(path, text, len, replace, err, errlen);
    secret_free(text);
    return rc;
}

int vg_keyring_create(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return vg_err(err, errlen, -EEXIST, "keyring '%s' already exists", path);
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    int rc = save_ring(kr, path, 0, err, errlen);
    vg_keyring_free(kr);
    return rc;
}

int vg_keyring_rotate(vg_keyring_t *kr, const char *path, char *err, size_t errlen)
{
    uint32_t active = vg_keyring_active_id(kr);
    if (active == UINT32_MAX)
        return vg_err(err, errlen, -EOVERFLOW, "keyring has no key id left to rotate to");
    struct vg_key *k = key_new(active + 1, NULL);
    /* Save a ring that already holds the new key, but only publish it in
     * memory once the file has it: data sealed with a key that is not on
     * disk could never be opened again after a restart. */
    k->older = newest_key(kr);
    vg_keyring_t staged;
    atomic_init(&staged.newest, k);
    int rc = path ? save_ring(&staged, path, 1, err, errlen) : 0;
    if (rc < 0) {
        secret_free(k);
        return rc;
    }
    atomic_store_explicit(&kr->newest, k, memory_order_release);
    return 0;
}

/* ---- loading ---- */

static size_t skip_blanks(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

static size_t token_end(const char *s, size_t i, size_t n)
{
    while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
    return i;
}

static int parse_id(const char *s, size_t len, uint32_t *id)
{
    uint64_t v = 0;
    if (len == 0 || len > 10)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return -EINVAL;
    *id = (uint32_t)v;
    return 0;
}

/* Parses "vgkey1 <id> <64 hex>" (any blanks between fields); the key bytes
 * go straight into key, which is locked memory. */
static int parse_key_line(const char *s, size_t n, uint32_t *id, uint8_t key[VG_KEY_BYTES])
{
    size_t i = skip_blanks(s, 0, n), end = token_end(s, i, n);
    if (end - i != strlen(KEYRING_MAGIC) || memcmp(s + i, KEYRING_MAGIC, end - i) != 0)
        return -EINVAL;
    i = skip_blanks(s, end, n);
    end = token_end(s, i, n);
    if (parse_id(s + i, end - i, id) < 0)
        return -EINVAL;
    i = skip_blanks(s, end, n);
    end = token_end(s, i, n);
    size_t bin_len = 0;
    if (end - i != 2 * VG_KEY_BYTES ||
        sodium_hex2bin(key, VG_KEY_BYTES, s + i, end - i, NULL, &bin_len, NULL) != 0 ||
        bin_len != VG_KEY_BYTES)
        return -EINVAL;
    return skip_blanks(s, end, n) == n ? 0 : -EINVAL;
}

static int is_blank_or_comment(const char *s, size_t n)
{
    size_t i = skip_blanks(s, 0, n);
    return i == n || s[i] == '#';
}

static int parse_ring(vg_keyring_t *kr, const char *text, size_t len, const char *path,
                      char *err, size_t errlen)
{
    size_t line_no = 0, start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - start;
        line_no++;
        if (n > 0 && text[start + n - 1] == '\r')
            n--;
        if (!is_blank_or_comment(text + start, n)) {
            uint32_t id = 0;
            struct vg_key *k = key_alloc(0);
            int rc = parse_key_line(text + start, n, &id, k->bytes);
            k->id = id;
            if (rc < 0) {
                secret_free(k);
                return vg_err(err, errlen, -EINVAL,
                              "keyring '%s' line %zu: expected 'vgkey1 <id> <64 hex digits>'",
                              path, line_no);
            }
            if (keyring_insert(kr, k) < 0) {
                secret_free(k);
                return vg_err(err, errlen, -EINVAL,
                              "keyring '%s' line %zu: duplicate key id %u", path, line_no, id);
            }
        }
        start = end + 1;
    }
    if (!newest_key(kr))
        return vg_err(err, errlen, -EINVAL, "keyring '%s' holds no key", path);
    return 0;
}

/* Checks the opened file and reads it into *text, locked memory the caller
 * frees with secret_free. Anyone else able to read the file has the keys; anyone able to
 * write it could plant a key of their own, so both are refused. */
static int read_keyring_file(int fd, const char *path, char **text, size_t *len, char *err,
                             size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vg_err(err, errlen, -errno, "cannot stat keyring '%s': %s", path,
                      strerror(errno));
    if (!S_ISREG(st.st_mode))
        return vg_err(err, errlen, -EINVAL, "keyring '%s' is not a regular file", path);
    if (st.st_mode & 077)
        return vg_err(err, errlen, -EPERM,
                      "keyring '%s' is accessible by group or others (mode %04o): "
                      "run chmod 600 on it",
                      path, (unsigned)(st.st_mode & 07777));
    if ((uint64_t)st.st_size > KEYRING_MAX_FILE)
        return vg_err(err, errlen, -EINVAL, "keyring '%s' is larger than %u bytes", path,
                      KEYRING_MAX_FILE);
    *text = secret_alloc((size_t)st.st_size + 1);
    ssize_t got = vg_pread_all(fd, *text, (size_t)st.st_size, 0);
    int rc = got < 0 ? (int)got : 0;
    *len = got < 0 ? 0 : (size_t)got;
    if (rc < 0)
        return vg_err(err, errlen, rc, "cannot read keyring '%s': %s", path, strerror(-rc));
    return 0;
}

int vg_keyring_load(const char *path, vg_keyring_t **out, char *err, size_t errlen)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    vg_keyring_t *kr = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_err(err, errlen, -errno, "cannot open keyring '%s': %s", path,
                      strerror(errno));
    int rc = read_keyring_file(fd, path, &text, &len, err, errlen);
    if (rc < 0)
        goto out;
    kr = keyring_alloc();
    rc = parse_ring(kr, text, len, path, err, errlen);
    if (rc < 0)
        goto out;
    *out = kr;
    kr = NULL;
out:
    secret_free(text);
    vg_keyring_free(kr);
    close(fd);
    return rc;
}

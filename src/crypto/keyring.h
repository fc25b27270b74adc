/*
 * keyring.h - data keys and the AEAD used for everything vigil stores.
 *
 * A keyring is a small file (mode 0600) of numbered 32-byte keys. The key with
 * the highest id is the active one, used for new seals; older keys stay to
 * open older data until compaction re-seals it. The file may be created by
 * vigild init or brought from outside (--key-file).
 *
 * File format, one key per line:   vgkey1 <id decimal> <64 hex chars>
 * Blank lines and lines starting with '#' are ignored.
 *
 * Sealing is XChaCha20-Poly1305 (libsodium) with a random 24-byte nonce:
 *   sealed = nonce(24) || ciphertext(len) || tag(16)
 * Key material lives in locked memory (sodium_malloc: never swapped out,
 * left out of core files) and is wiped when the keyring is freed.
 *
 * Threads: vg_seal, vg_open and vg_keyring_active_id may run in any thread
 * while one thread rotates; keys are only ever added, never moved or removed
 * before vg_keyring_free.
 */
#ifndef VG_KEYRING_H
#define VG_KEYRING_H

#include "core/vg.h"

#define VG_KEY_BYTES 32
#define VG_SEAL_NONCE_BYTES 24
#define VG_SEAL_TAG_BYTES 16
#define VG_SEAL_OVERHEAD (VG_SEAL_NONCE_BYTES + VG_SEAL_TAG_BYTES)

typedef struct vg_keyring vg_keyring_t;

/* Creates a keyring file with one fresh random key (id 1), mode 0600,
 * written atomically. Fails with -EEXIST if the path exists. */
int vg_keyring_create(const char *path, char *err, size_t errlen);

/* Loads a keyring; refuses files readable by group/other (-EPERM) and
 * malformed lines (-EINVAL, naming the line). *out is freed by the caller
 * with vg_keyring_free. */
int vg_keyring_load(const char *path, vg_keyring_t **out, char *err, size_t errlen);

/* An in-memory keyring with one random key; for tests and benchmarks. */
vg_keyring_t *vg_keyring_new_ephemeral(void);

/* An in-memory keyring holding exactly this key under id (>= 1). For tests,
 * fuzzers and fixtures that need reproducible keys; the bytes are copied. */
vg_keyring_t *vg_keyring_new_from_bytes(const uint8_t key[VG_KEY_BYTES], uint32_t id);

/* Adds a new random key with id = active + 1 to the file and the ring. The
 * file is replaced atomically and changes first: on failure the ring is
 * unchanged. path NULL rotates an in-memory keyring only. */
int vg_keyring_rotate(vg_keyring_t *kr, const char *path, char *err, size_t errlen);

void vg_keyring_free(vg_keyring_t *kr); /* NULL is fine */

uint32_t vg_keyring_active_id(const vg_keyring_t *kr);

/* Seals pt with key key_id; out must hold ptlen + VG_SEAL_OVERHEAD bytes.
 * Returns -ENOKEY if the key is unknown. */
int vg_seal(const vg_keyring_t *kr, uint32_t key_id, const uint8_t *ad, size_t adlen,
            const uint8_t *pt, size_t ptlen, uint8_t *out);

/* Opens a sealed unit; pt must hold inlen - VG_SEAL_OVERHEAD bytes.
 * Returns -EBADMSG on authentication failure, -ENOKEY if key unknown,
 * -EINVAL if inlen < VG_SEAL_OVERHEAD. */
int vg_open(const vg_keyring_t *kr, uint32_t key_id, const uint8_t *ad, size_t adlen,
            const uint8_t *in, size_t inlen, uint8_t *pt);

#endif

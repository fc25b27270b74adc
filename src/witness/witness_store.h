/*
 * store.h - the witness's durable configuration, sealed in its data dir.
 *
 * DIR/keyring   the witness's own keyring (mode 0600), made on first start;
 *               it is never a member's data key
 * DIR/config    "VGWCFG01" | u32 key_id | u32 reserved (0) |
 *               nonce(24) ciphertext tag(16)
 *               the JSON form of C (witness/witness_rules.h) sealed with the 16-byte
 *               header as associated data, replaced atomically (temp file,
 *               fsync, rename, fsync directory), mode 0600
 *
 * No file: not bootstrapped (epoch 0). A file that is truncated, fails
 * authentication or holds an invalid C is an error (-VG_ECORRUPT naming the
 * file): the witness must stop rather than forget a configuration, because
 * an epoch 0 would let anyone bootstrap again.
 */
#ifndef VG_WITNESS_STORE_H
#define VG_WITNESS_STORE_H

#include "witness/witness_rules.h"

typedef struct vg_witness_store vg_witness_store_t;

/*
 * Opens the store in dir (which must exist) and loads C into *cfg.
 * The keyring is created if it is missing and no config file exists yet;
 * a config file without its keyring is refused, as is a member's data dir
 * (one holding log/), whose keyring is the data key. *out is freed by the
 * caller with vg_witness_store_free.
 */
int vg_witness_store_open(const char *dir, vg_witness_store_t **out, vg_witness_cfg_t *cfg,
                          char *err, size_t errlen);

/* Seals cfg and replaces the config file durably: when this returns 0 the
 * new C survives a crash. On failure the old file is still in place (or,
 * if only the directory sync failed, either the old or the new one). */
int vg_witness_store_save(vg_witness_store_t *st, const vg_witness_cfg_t *cfg, char *err,
                          size_t errlen);

/* Path of the config file, for messages; valid while st is. */
const char *vg_witness_store_path(const vg_witness_store_t *st);

void vg_witness_store_free(vg_witness_store_t *st); /* NULL is fine; wipes the keys */

#endif

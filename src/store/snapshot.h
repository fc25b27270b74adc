/*
 * snapshot.h - sealed snapshots of the applied state.
 *
 * A snapshot file snap-%020llu.vgs (by index) holds:
 *   "VGSNAP01" | u64 index | u64 epoch | u32 key_id | u32 reserved |
 *   nonce(24) ciphertext tag(16)
 * with the 32-byte header as associated data, sealed with the active key.
 * It is written atomically (temp file, fsync, rename, fsync directory) with
 * mode 0600.
 */
#ifndef VG_SNAPSHOT_H
#define VG_SNAPSHOT_H

#include "crypto/keyring.h"

int vg_snapshot_write(const char *dir, const vg_keyring_t *kr, uint64_t index, uint64_t epoch,
                      const uint8_t *data, size_t len, char *err, size_t errlen);

/* Loads the newest snapshot in dir. If there is none: returns 0 with
 * *index = 0, *data = NULL. A snapshot that fails authentication is an
 * error (-VG_ECORRUPT naming the file), never silently skipped. *data is
 * malloc'd for the caller. */
int vg_snapshot_load_latest(const char *dir, const vg_keyring_t *kr, uint64_t *index,
                            uint64_t *epoch, uint8_t **data, size_t *len, char *err,
                            size_t errlen);

/* Loads and authenticates the snapshot of index in dir (its file name says
 * the index), as vg_snapshot_load_latest does. Read-only. Errors name the
 * file and the byte where the fault was found. */
int vg_snapshot_load(const char *dir, const vg_keyring_t *kr, uint64_t index, uint64_t *epoch,
                     uint8_t **data, size_t *len, char *err, size_t errlen);

/* The indexes of every snapshot file in dir, ascending, judged by name
 * (temp files are left out); *indexes is malloc'd for the caller, NULL when
 * there is none or dir is missing. */
int vg_snapshot_list(const char *dir, uint64_t **indexes, size_t *n, char *err, size_t errlen);

/* The index of the newest snapshot file in dir, judged by file name only
 * (nothing is read or authenticated); 0 if there is none or dir is missing.
 * The log uses it to tell "all segments compacted away" from a lost log. */
int vg_snapshot_latest_index(const char *dir, uint64_t *index, char *err, size_t errlen);

/* Removes snapshot files (and leftover temp files) older than keep_index. */
void vg_snapshot_prune(const char *dir, uint64_t keep_index);

#endif

/*
 * fsutil.h - small durable-file helpers shared by the keyring, the log and
 * snapshots: full writes and directory fsyncs (a rename or a new file is
 * only durable once its directory is synced).
 */
#ifndef VG_FSUTIL_H
#define VG_FSUTIL_H

#include <sys/types.h>

#include "core/vg.h"

/* write() until all n bytes are written, retrying EINTR; 0 or -errno. */
int vg_write_all(int fd, const void *p, size_t n);

/* Creates or truncates path (mode 0600), writes p[0..n) and fsyncs it;
 * 0 or -errno. The caller renames it into place and syncs the directory. */
int vg_write_file_sync(const char *path, const void *p, size_t n);

/* pread() from off until n bytes or end of file, retrying EINTR; returns
 * the number of bytes read (< n only at end of file) or -errno. */
ssize_t vg_pread_all(int fd, void *p, size_t n, uint64_t off);

/* mkdir -p: parents with mode 0755, the last component with mode; an
 * existing directory is fine. 0 or -errno. */
int vg_mkdir_p(const char *path, unsigned mode);

/* fsync of a directory; 0 or -errno. */
int vg_fsync_dir(const char *dir);

/* fsync of the directory holding path ("." if path has no slash). */
int vg_fsync_parent(const char *path);

/* Whether rc (a negative errno) says the file system ran out of space or
 * of quota: a condition that passes once space is freed, unlike -EIO. */
static inline int vg_out_of_space(int rc)
{
    return rc == -ENOSPC || rc == -EDQUOT;
}

/* Whether the file system holding dir has at least `bytes` free for this
 * process (root may use the blocks reserved for it): 1 or 0, or -errno if
 * statvfs fails. A hint for when to try again, not a promise: the next
 * write is what tells. */
int vg_fs_has_room(const char *dir, uint64_t bytes);

#endif

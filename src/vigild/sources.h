/*
 * sources.h - the sealed files of a data directory, for the read-only
 * recovery tools (vigild inspect, vigild verify).
 *
 * A data directory holds its log (DATA/log: segments and snapshots) and,
 * after a forced failover, what was set aside (DATA/diverged-<ms>/log, a
 * whole log moved aside, and DATA/diverged-<ms>/tail.vgl, bare frames).
 * The tools also take a log directory, or one diverged-<ms> directory, by
 * itself. Nothing here writes or locks anything.
 */
#ifndef VG_SOURCES_H
#define VG_SOURCES_H

#include "crypto/keyring.h"

struct vg_source {
    int is_frames;   /* 0: a log directory (segments and snapshots); 1: bare frames */
    char path[4096]; /* as reached from the DATA argument */
};

/* The sources under data, in the order an operator reads them: data/log
 * (or data itself when it is a log directory), data/tail.vgl, then each
 * data/diverged-<ms> oldest first (its log, then its tail.vgl). *out is
 * malloc'd for the caller. -ENOENT (message in err) when data holds none. */
int vg_sources_list(const char *data, struct vg_source **out, size_t *n, char *err,
                    size_t errlen);

/* Loads key_file, or else data/keyring; the message says to give
 * --key-file when neither is there. */
int vg_sources_keyring(const char *data, const char *key_file, vg_keyring_t **out, char *err,
                       size_t errlen);

/* 1 if a process holds a flock on path (a running vigild on its data
 * directory's lock file or its log directory), judged from /proc/locks
 * without taking any lock; 0 if not or unknown. */
int vg_sources_in_use(const char *path);

#endif

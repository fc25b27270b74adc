/*
 * member.h - one vigil member: keyring + log + applied state, and the write
 * path from a request to its committed answer.
 *
 * Write path: vg_member_submit seals and queues a record (vg_log_append) and
 * remembers the completion. When the log's writer reports the record durable
 * (and, once mirroring exists, acknowledged by every member of the sync set,
 * DESIGN.md section 3), the member applies it to the state in index order
 * and calls the completion with the apply result. Nothing is visible to
 * readers before that.
 *
 * Threads: everything here runs on the event loop thread.
 */
#ifndef VG_MEMBER_H
#define VG_MEMBER_H

#include <event2/event.h>
#include <jansson.h>

#include "state/state.h"
#include "store/log.h"

typedef struct vg_member vg_member_t;

struct vg_member_opts {
    const char *data_dir;
    const char *key_file;    /* NULL: <data_dir>/keyring */
    uint64_t snapshot_every; /* records between snapshots, at least the object count of
                                the previous one; 0 = 10000 */
    size_t segment_bytes;    /* 0 = log default */
    int limit_replay;        /* apply recovered records only up to replay_limit (a */
    uint64_t replay_limit;   /* cluster member's last known commit); else all */
};

/* Called once the record is committed and applied (code = res->code), or
 * with code < 0 and res = NULL if it was not: -ENOSPC if the data dir ran
 * out of space before it was written (it never will be), -EIO if the log
 * failed. res->object is borrowed
 * for the duration of the call. */
typedef void (*vg_member_done_fn)(void *ctx, int code, const vg_apply_result_t *res);

/* Event priorities the loop must have (event_base_priority_init) before
 * vg_member_open: the member's flush runs at the lowest one. */
#define VG_MEMBER_PRIORITIES 3

/* Opens the data dir, loads the keyring, recovers snapshot + log and starts
 * the writer. Fails loudly (message in err) on any corruption. */
int vg_member_open(const struct vg_member_opts *opts, struct event_base *base,
                   vg_member_t **out, char *err, size_t errlen);

/* Flushes, waits for the writer, frees. NULL is fine. */
void vg_member_close(vg_member_t *m);

/* Appends a record; payload is borrowed (serialised here). done is called
 * later from the loop. A pending completion can be cancelled (its request
 * went away) with vg_member_forget(m, handle); the record still commits. */
int vg_member_submit(vg_member_t *m, uint16_t type, const json_t *payload,
                     vg_member_done_fn done, void *ctx, uint64_t *handle);
void vg_member_forget(vg_member_t *m, uint64_t handle);

vg_state_t *vg_member_state(vg_member_t *m);
vg_log_t *vg_member_log(vg_member_t *m);
size_t vg_member_n_pending(const vg_member_t *m);
int vg_member_writable(const vg_member_t *m);

/* 1 while the data dir is out of space: the log took back a batch (its
 * requests failed with -ENOSPC, logged once) and neither a write nor the
 * once-a-second free-space probe has succeeded since. Writes are still
 * tried; this is for readiness, metrics and callers that must not start
 * work they cannot store (pushed readings). */
int vg_member_disk_full(const vg_member_t *m);


/* Non-zero once a committed record could not be applied. It is never
 * skipped: the error names the record's index and why, pending requests
 * fail, writes are refused, the event loop is told to exit and the process
 * exits non-zero. */
int vg_member_failed(const vg_member_t *m);

/* ---- cluster hooks (cluster/cluster.c) ---- */

/* Epoch that records appended from now on carry (standalone: 1). */
void vg_member_set_epoch(vg_member_t *m, uint64_t epoch);
uint64_t vg_member_epoch(const vg_member_t *m);

/* No record above limit commits (UINT64_MAX by default). A primary whose
 * sync set includes the mirror sets it to the mirror's acknowledged index;
 * a mirror, to what the primary says is committed. Commits what the new
 * limit allows at once, reading back records nobody waits for. */
void vg_member_set_commit_limit(vg_member_t *m, uint64_t limit);

/* Called on the loop after each advance of the durable index. */
typedef void (*vg_member_hook_fn)(void *ctx);
void vg_member_set_hook(vg_member_t *m, vg_member_hook_fn fn, void *ctx);

/* Fails every waiting completion with code (the member stopped being
 * primary: their outcome is unknown). The records stay in the log. */
void vg_member_fail_pending(vg_member_t *m, int code);

/* Replaces the state with the newest snapshot in the log directory (after
 * a snapshot from the primary was installed there). */
int vg_member_reload_snapshot(vg_member_t *m, char *err, size_t errlen);

const vg_keyring_t *vg_member_keys(const vg_member_t *m);
const char *vg_member_log_dir(const vg_member_t *m);
const char *vg_member_data_dir(const vg_member_t *m);

/* Commit latency histogram (seconds) for /metrics: bucket upper bounds and
 * cumulative counts; n = VG_MEMBER_LAT_BUCKETS. */
#define VG_MEMBER_LAT_BUCKETS 12
void vg_member_commit_latency(const vg_member_t *m, const double **bounds,
                              const uint64_t **counts, double *sum, uint64_t *count);

#endif

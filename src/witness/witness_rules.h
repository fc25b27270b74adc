/*
 * rules.h - the witness's configuration C and the rules by which it may
 * change (DESIGN.md section 3, docs/cluster.md), as pure functions.
 *
 * Nothing here does I/O or reads a clock: the caller passes the time since
 * the witness last heard the primary and the wall-clock time to record, so
 * every decision can be replayed in a unit test. The JSON forms of C, of a
 * change request and of a heartbeat are parsed strictly: unknown fields,
 * wrong types and invalid names are refused with a message that names the
 * field. JSON null counts as an absent optional field.
 *
 * Invariants of a valid C (vg_witness_cfg_check):
 *   epoch == 0: not bootstrapped; no members, no primary, empty sync;
 *   epoch  > 0: two distinct valid member names, primary < 2,
 *               sync != 0, sync only has bits 0 and 1, primary in sync,
 *               changed_by is a member.
 */
#ifndef VG_WITNESS_RULES_H
#define VG_WITNESS_RULES_H

#include <jansson.h>
#include <stdbool.h>

#include "core/vg.h"

#define VG_WITNESS_NAME_MAX   63  /* member names follow core/names.h */
#define VG_WITNESS_REASON_MAX 256 /* bytes of UTF-8 */
#define VG_WITNESS_N_MEMBERS  2
#define VG_WITNESS_EPOCH_MAX  ((uint64_t)INT64_MAX) /* what JSON integers carry */

typedef struct vg_witness_cfg {
    uint64_t epoch; /* 0 = not bootstrapped */
    char members[VG_WITNESS_N_MEMBERS][VG_WITNESS_NAME_MAX + 1];
    int primary;   /* index into members; -1 at epoch 0 */
    unsigned sync; /* bit i set: members[i] holds every committed record */
    char changed_by[VG_WITNESS_NAME_MAX + 1];
    char reason[VG_WITNESS_REASON_MAX + 1];
    uint64_t changed_at_ms; /* wall clock, ms since 1970 */
    bool forced;            /* the change to this epoch was a force (rule 4) */
} vg_witness_cfg_t;

enum vg_witness_op {
    VG_WITNESS_OP_BOOTSTRAP,
    VG_WITNESS_OP_PROMOTE,
    VG_WITNESS_OP_DEGRADE,
    VG_WITNESS_OP_RESTORE,
    VG_WITNESS_OP_FORCE,
};

/* A change request: POST /witness/v1/config. */
typedef struct vg_witness_request {
    char member[VG_WITNESS_NAME_MAX + 1]; /* the caller; "" if the body named none */
    uint64_t expect_epoch;
    enum vg_witness_op op;
    char target[VG_WITNESS_NAME_MAX + 1]; /* "" if absent (degrade only) */
    char reason[VG_WITNESS_REASON_MAX + 1];
    bool force;
    char members[VG_WITNESS_N_MEMBERS][VG_WITNESS_NAME_MAX + 1]; /* bootstrap only, else "" */
} vg_witness_request_t;

enum vg_witness_role {
    VG_WITNESS_ROLE_PRIMARY,
    VG_WITNESS_ROLE_MIRROR,
    VG_WITNESS_ROLE_NONE, /* neither: starting, catching up, stepped down */
};

/* A heartbeat: POST /witness/v1/heartbeat. */
typedef struct vg_witness_heartbeat {
    char member[VG_WITNESS_NAME_MAX + 1]; /* "" if the body named none */
    uint64_t epoch;                       /* the highest epoch the member has seen */
    enum vg_witness_role role;
} vg_witness_heartbeat_t;

/* The not-bootstrapped configuration (epoch 0). */
void vg_witness_cfg_init(vg_witness_cfg_t *cfg);

/* Index of name in cfg->members, or -1 (always -1 at epoch 0). */
int vg_witness_cfg_member(const vg_witness_cfg_t *cfg, const char *name);

/* The primary's name, or NULL at epoch 0. */
const char *vg_witness_cfg_primary(const vg_witness_cfg_t *cfg);

/* 1 if name is a member in the sync set. */
int vg_witness_cfg_in_sync(const vg_witness_cfg_t *cfg, const char *name);

/* 0 if cfg satisfies the invariants above, else -EINVAL naming the fault. */
int vg_witness_cfg_check(const vg_witness_cfg_t *cfg, char *err, size_t errlen);

/*
 * The JSON form of C (docs/cluster.md):
 *   {"epoch":N,"primary":S|null,"sync":[S..],"members":[S..],
 *    "changed_by":S|null,"reason":S|null,"changed_at":RFC3339|null,"forced":B}
 * Names are null at epoch 0. Returns a new reference.
 */
json_t *vg_witness_cfg_to_json(const vg_witness_cfg_t *cfg);

/*
 * Parses the JSON form of C; every field is required, nothing else is
 * allowed, and the result must pass vg_witness_cfg_check. On error returns
 * -EINVAL, a message in err, and *field (if field is non-NULL) names the
 * offending field: a static string or a key of obj, valid while obj is.
 */
int vg_witness_cfg_from_json(const json_t *obj, vg_witness_cfg_t *cfg, const char **field,
                             char *err, size_t errlen);

const char *vg_witness_op_name(enum vg_witness_op op);
const char *vg_witness_role_name(enum vg_witness_role role);

/*
 * Change requests: {"member","expect_epoch","op","target","reason","force",
 * "members"}. expect_epoch and op are required; target is required except
 * for degrade; members (two distinct names) only and always with bootstrap;
 * "force": true only and always with op force, which also needs a reason.
 * Errors as for vg_witness_cfg_from_json.
 */
int vg_witness_request_from_json(const json_t *obj, vg_witness_request_t *req,
                                 const char **field, char *err, size_t errlen);
json_t *vg_witness_request_to_json(const vg_witness_request_t *req); /* new reference */

/* Heartbeats: {"member","epoch","role"}; epoch and role are required. */
int vg_witness_heartbeat_from_json(const json_t *obj, vg_witness_heartbeat_t *hb,
                                   const char **field, char *err, size_t errlen);
json_t *vg_witness_heartbeat_to_json(const vg_witness_heartbeat_t *hb); /* new reference */

/*
 * Decides a change request against the current configuration cur.
 * req->member is the authenticated caller (the server fills it in).
 * ms_since_primary_heard: how long ago the witness last heard the current
 * primary, counted from the witness's own start at most (a witness that has
 * just started has not "lost" anyone). now_ms is recorded as changed_at_ms.
 *
 * Returns 0 and fills *next (epoch + 1, who, why, when), or leaves *next
 * alone and returns:
 *   -VG_ECONFLICT  expect_epoch is stale, or a rule forbids the change
 *                  (the caller should re-read C and think again): 409;
 *   -EPERM         the caller is not a member of the cluster: 403;
 *   -EINVAL        the request names a target that is not a member, or one
 *                  that makes no sense for the op: 400;
 *   -ERANGE        now_ms is past the year 9999 (a broken clock).
 * Changes that would change nothing (degrade when already degraded,
 * restore of a member already in sync, promote of the primary) are refused
 * as conflicts; a force is always a change.
 */
int vg_witness_decide(const vg_witness_cfg_t *cur, const vg_witness_request_t *req,
                      uint64_t ms_since_primary_heard, uint64_t dead_after_ms, uint64_t now_ms,
                      vg_witness_cfg_t *next, char *err, size_t errlen);

#endif

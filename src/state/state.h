/*
 * state.h - the applied state: objects and tokens, rebuilt from the log.
 *
 * vg_state_apply is deterministic: it reads only the record (including the
 * record's own timestamp), never the clock or the disk, so both members
 * reach the same state from the same records (DESIGN.md section 2).
 *
 * Objects as returned: {kind,name,labels,description,spec,status,revision,
 * created,updated}; revision is the log index of the last change. Empty
 * labels, description and status are not kept (absent means empty). The
 * state keeps objects packed (state_int.h): every object a reader gets is a
 * fresh copy of its own, which it may change and must decref.
 *
 * Secrets (schema.h): the state stores credentials as given, but every
 * object it hands out (get, list, the change history, observers, the
 * result of an apply) has them replaced by {"secret": true}, so no output
 * path can show one by forgetting to hide it. The two readers that need
 * the values ask for them by name: the collector, which logs in to the
 * devices, and the merge of a write (vg_state_get_unredacted,
 * vg_state_list_unredacted).
 */
#ifndef VG_STATE_H
#define VG_STATE_H

#include <jansson.h>

#include "auth/token.h"
#include "core/buf.h"
#include "core/vg.h"

typedef struct vg_state vg_state_t;

typedef struct vg_apply_result {
    int code;       /* 0, -VG_ECONFLICT, -ENOENT, -EINVAL */
    int created;    /* put of a new object */
    json_t *object; /* new ref: object after put, or the deleted object */
    char msg[256];  /* reason when code != 0 */
} vg_apply_result_t;

/* One change, as seen by watchers. */
typedef struct vg_change {
    uint64_t revision;
    const char *type; /* "put" or "delete" */
    json_t *object;   /* borrowed */
} vg_change_t;

typedef void (*vg_change_fn)(void *ctx, const vg_change_t *change);

vg_state_t *vg_state_new(void);
void vg_state_free(vg_state_t *st);

/* Applies record (epoch, index, type, payload). index must be
 * applied_index + 1 (else VG_BUG). The payload is consumed: parts of it may
 * become part of the state, so the caller only decrefs it afterwards. res
 * may be NULL; if not, the caller decrefs res->object. Returns res->code. */
int vg_state_apply(vg_state_t *st, uint64_t epoch, uint64_t index, uint16_t type,
                   json_t *payload, vg_apply_result_t *res);

/* Applies a record as it was read from the log or received from the
 * primary: parses its payload (empty for a NOOP) and applies it as above.
 * Returns 0 once the record is applied, res->code (res may be NULL) saying
 * whether the state refused its change, as every member refuses it alike
 * (a revision conflict, a missing object, a malformed record). Returns
 * -VG_ECORRUPT, err naming the record's index and why, when the payload is
 * not JSON: nothing is applied and the caller must stop rather than skip
 * the record (the member that wrote it did apply it). */
struct vg_record;
int vg_state_apply_record(vg_state_t *st, const struct vg_record *rec, vg_apply_result_t *res,
                          char *err, size_t errlen);

/* The If-Match rule: want is the revision the writer expects the object to
 * have (0: it must not exist). 0 if existing (may be NULL) is at want, else
 * -VG_ECONFLICT with the reason in msg. Apply enforces it; the API also
 * checks it up front to refuse a stale write without logging it. */
int vg_state_check_revision(const json_t *existing, json_int_t want, char *msg, size_t msglen);

uint64_t vg_state_applied_index(const vg_state_t *st);
uint64_t vg_state_epoch(const vg_state_t *st);
size_t vg_state_n_objects(const vg_state_t *st);

/* Cluster events (CONFIG and EVENT records), oldest first, each with its
 * "index"; borrowed. At most VG_STATE_EVENTS_CAP are kept. */
#define VG_STATE_EVENTS_CAP 1000
json_t *vg_state_events(const vg_state_t *st);
/* {"last_change": event, "failovers", "switchovers", "degrades"}; borrowed. */
json_t *vg_state_cluster(const vg_state_t *st);

/* Rule states (VG_REC_ALERT records, DESIGN.md section 4): every rule
 * instance whose state is not "ok", {id: change}, and the newest changes,
 * oldest first, each with its "index". Both borrowed. */

/* A service's slice of the state (service.h); never NULL for a row of
 * vg_service_data[]. Borrowed: valid until the next apply or load. */
struct vg_service_data;
void *vg_state_slice(const vg_state_t *st, const struct vg_service_data *data);

/* New reference (a fresh copy, about a microsecond per object, secrets
 * redacted) or NULL. */
json_t *vg_state_get(const vg_state_t *st, const char *kind, const char *name);
/* The same with the stored secrets: only for code that uses them, never
 * for an output. */
json_t *vg_state_get_unredacted(const vg_state_t *st, const char *kind, const char *name);

/* Objects of kind (all kinds if NULL) whose labels match every k=v of
 * selector ("env=prod,tier!=db" style: =, ==, !=); new ref, sorted by name.
 * -EINVAL for a malformed selector. Each object is a fresh copy: listing a
 * kind of 100,000 objects holds them all unpacked until items is freed. */
int vg_state_list(const vg_state_t *st, const char *kind, const char *selector, json_t **items,
                  char *err, size_t errlen);
/* The same with the stored secrets (the collector's view). */
int vg_state_list_unredacted(const vg_state_t *st, const char *kind, const char *selector,
                             json_t **items, char *err, size_t errlen);

/* Token lookup for authentication: role of a live token with this id, or
 * VG_ROLE_NONE; *hash_hex is borrowed. */
enum vg_role vg_state_token(const vg_state_t *st, const char *id, const char **hash_hex);
json_t *vg_state_tokens(const vg_state_t *st); /* new ref: [{id,name,role,created,revoked}] */

/* Calls fn for every retained change with revision > from, oldest first.
 * Returns -ERANGE if changes after `from` were already dropped from the
 * in-memory history (the watcher must re-list). */
int vg_state_changes_since(const vg_state_t *st, uint64_t from, vg_change_fn fn, void *ctx);

/* 1 if every change after `from` is still in the history. The history
 * keeps at most 8192 changes and 64 MiB of objects. */
int vg_state_history_covers(const vg_state_t *st, uint64_t from);

/* Bytes of packed objects in the changes after `from` (what a replay sends). */
size_t vg_state_history_bytes_since(const vg_state_t *st, uint64_t from);

/* Called after each applied change (watch fan-out). */
void vg_state_set_observer(vg_state_t *st, vg_change_fn fn, void *ctx);
/* A second, independent observer slot (the facility monitor uses it). */
void vg_state_set_extra_observer(vg_state_t *st, vg_change_fn fn, void *ctx);
/* Called after every record is applied, whatever its type (a service that
 * acts on another's records, the incidents on rule states, wakes up). */
typedef void (*vg_record_fn)(void *ctx, uint64_t index, uint16_t type);
void vg_state_set_record_observer(vg_state_t *st, vg_record_fn fn, void *ctx);

/* Snapshot support: appends the whole state's JSON text to out (objects are
 * written as they are packed, never unpacked), and loads it back from the
 * parsed text. Load may change dump (its objects are compacted in place);
 * the caller still owns and frees it. On failure the state is unchanged. */
void vg_state_dump(const vg_state_t *st, vg_buf_t *out);
int vg_state_load(vg_state_t *st, json_t *dump, char *err, size_t errlen);

#endif

/*
 * record.h - one entry of the replicated log and its sealed on-disk frame.
 *
 * Frame layout (all integers little-endian):
 *
 *   u32 frame_len            bytes that follow this field
 *   u64 epoch                \
 *   u64 index                 | header (24 bytes), authenticated as
 *   u16 type                  | associated data together with the
 *   u16 flags (0)             | "vigil-record-v1" domain string
 *   u32 key_id               /
 *   nonce(24) ciphertext(payload_len) tag(16)
 *
 * Binding (epoch, index, type) in the associated data means a record cannot
 * be moved to another position, replayed into another epoch or retyped
 * without failing authentication (DESIGN.md section 2).
 */
#ifndef VG_RECORD_H
#define VG_RECORD_H

#include "core/buf.h"
#include "crypto/keyring.h"

#define VG_RECORD_HEADER_BYTES 24
#define VG_RECORD_FRAME_OVERHEAD (4 + VG_RECORD_HEADER_BYTES + VG_SEAL_OVERHEAD)
#define VG_RECORD_MAX_PAYLOAD (16u << 20)

enum vg_record_type {
    VG_REC_OBJ_PUT = 1,      /* JSON: {"object":{...},"if_match":N?,"actor":..,"time":ms} */
    VG_REC_OBJ_DELETE = 2,   /* JSON: {"kind":..,"name":..,"if_match":N?,"actor":..,"time":ms} */
    VG_REC_TOKEN_CREATE = 3, /* JSON: {"id","name","role","hash","actor","time"} */
    VG_REC_TOKEN_REVOKE = 4, /* JSON: {"id","actor","time"} */
    VG_REC_CONFIG = 5,       /* cluster configuration change: an event with "config" */
    VG_REC_NOOP = 6,         /* written by a new primary to open its epoch */
    VG_REC_EVENT = 7,        /* {"time","severity","kind","member","epoch","message"} */
    VG_REC_ALERT = 8,        /* a rule state change: {"id","rule","sensor","from","to",
                                "value","message","time","predicted_s"?} (rules.h) */
    VG_REC_INCIDENT = 9,     /* an incident's change: {"op":"open"|"ack"|"resolve"|"note"|
                                "escalate"|"notify"|"paged", ...} (incident/incidents.h) */
    VG_REC_PROTECT = 10,     /* a protect decision or freeze: {"op":"decision"|"freeze"|
                                "unfreeze", ...} (protect/protect_data.h) */
    VG_REC_LOGIN = 16,       /* a person's dashboard login: {"op":"set","person","hash","role",
                                "actor","time"} or {"op":"delete","person",..} (web/logins.h) */
    VG_REC_SESSION = 17,     /* a dashboard session ended: {"op":"revoke","sid","until","actor",
                                "time"} (web/sessions.h) */
};

typedef struct vg_record {
    uint64_t epoch;
    uint64_t index;
    uint16_t type;
    uint32_t key_id;
    uint8_t *payload; /* owned by whoever filled the struct; see each function */
    size_t payload_len;
} vg_record_t;

/* Seals rec (key rec->key_id) and appends its frame to out. */
int vg_record_encode(const vg_keyring_t *kr, const vg_record_t *rec, vg_buf_t *out);

/* Decodes the frame at p[0..avail). On success fills *rec (payload is
 * malloc'd; free with vg_record_release) and *consumed. Errors:
 *   -EAGAIN   avail is shorter than the frame says (possibly a torn tail)
 *   -EINVAL   malformed header (length out of range, nonzero flags)
 *   -ENOKEY   key id not in the keyring
 *   -EBADMSG  authentication failed (corrupt or tampered)
 * err receives a description. */
int vg_record_decode(const vg_keyring_t *kr, const uint8_t *p, size_t avail, vg_record_t *rec,
                     size_t *consumed, char *err, size_t errlen);

void vg_record_release(vg_record_t *rec);

/* The type's name as tools print it ("obj_put", "token_create", ...), or
 * NULL for a type this version does not know. */
const char *vg_record_type_name(uint16_t type);

#endif

/*
 * wire.h - messages between the two members (DESIGN.md section 3).
 *
 * Each message on the TLS link between the members is
 *
 *   u32 body_len | u8 type | body (body_len bytes)
 *
 * with little-endian integers. Record frames inside APPEND are the sealed
 * on-disk frames of record.h, passed through unchanged: the mirror stores
 * the primary's bytes and authenticates them with the shared data key.
 *
 * Every decoder is strict: unknown types, lengths that do not match the
 * type, names outside names.h and oversized bodies are rejected with a
 * reason; nothing read from the network is trusted.
 */
#ifndef VG_WIRE_H
#define VG_WIRE_H

#include "core/buf.h"

#define VG_WIRE_VERSION      3
/* HELLO's proof that the sender holds the data key: 16 bytes sealed with
 * its active key (crypto/keyring.h: nonce, tag) */
#define VG_WIRE_KEY_PROOF_BYTES (16 + 24 + 16)
#define VG_WIRE_HEADER_BYTES 5
#define VG_WIRE_MAX_BODY     ((32u << 20) + 64) /* an APPEND batch or snapshot chunk */
#define VG_WIRE_NAME_MAX     63

enum vg_wire_type {
    VG_WIRE_HELLO = 1,     /* both ways on connect: who I am and how far my log goes */
    VG_WIRE_APPEND = 2,    /* primary -> mirror: record frames after (prev_index, prev_epoch) */
    VG_WIRE_ACK = 3,       /* mirror -> primary: durable through index */
    VG_WIRE_HEARTBEAT = 4, /* both ways: liveness, epoch and commit index */
    VG_WIRE_TRUNCATE = 5,  /* primary -> mirror: drop records after index (divergent tail) */
    VG_WIRE_SNAPSHOT = 6,  /* primary -> mirror: a chunk of a sealed snapshot file */
    VG_WIRE_REJECT = 7,    /* either way: refused, with a code and reason (e.g. fencing) */
    VG_WIRE_READINGS = 8,  /* mirror -> primary: readings its site collected (sense/fwd.h) */
    VG_WIRE_READINGS_ACK = 9, /* primary -> mirror: readings batch seq is durable */
};

typedef struct vg_wire_msg {
    uint8_t type;
    uint64_t epoch; /* sender's epoch, in every message */
    union {
        struct {
            uint16_t version;
            uint64_t last_index, last_epoch, commit_index;
            uint64_t commit_epoch; /* epoch of the record at commit_index (0: none) */
            char name[VG_WIRE_NAME_MAX + 1];
            uint64_t key_id; /* the key that sealed key_proof */
            uint8_t key_proof[VG_WIRE_KEY_PROOF_BYTES];
        } hello;
        struct {
            uint64_t commit_index, prev_index, prev_epoch;
            const uint8_t *frames; /* points into the decoded buffer */
            size_t frames_len;
        } append;
        struct {
            uint64_t durable_index;
        } ack;
        struct {
            uint64_t commit_index, sent_us;
        } heartbeat;
        struct {
            uint64_t after_index;
        } truncate;
        struct {
            uint64_t index, offset, total;
            const uint8_t *data; /* points into the decoded buffer */
            size_t data_len;
        } snapshot;
        struct {
            uint16_t code;
            char reason[256];
        } reject;
        struct {
            uint64_t seq; /* the mirror's spool sequence, increasing */
            const uint8_t *data; /* points into the decoded buffer */
            size_t data_len;
        } readings;
        struct {
            uint64_t seq;
        } readings_ack;
    } u;
} vg_wire_msg_t;

/* Appends the encoding of msg to out. VG_BUG on an unknown type. */
void vg_wire_encode(const vg_wire_msg_t *msg, vg_buf_t *out);

/* Decodes one message from p[0..avail). On success fills *msg (pointers
 * into p stay valid while p does) and *consumed. Returns -EAGAIN if more
 * bytes are needed, -EINVAL (reason in err) if the bytes are not a valid
 * message: the link must then be closed. */
int vg_wire_decode(const uint8_t *p, size_t avail, vg_wire_msg_t *msg, size_t *consumed,
                   char *err, size_t errlen);

const char *vg_wire_type_name(uint8_t type);

#endif

/*
 * wire.c - encoding and strict decoding of the members' link messages.
 *
 * Body layouts (after the common u64 epoch):
 *   HELLO      u16 version, u64 last_index, u64 last_epoch, u64 commit_index,
 *              u8 name_len, name
 *   APPEND     u64 commit_index, u64 prev_index, u64 prev_epoch, frames...
 *   ACK        u64 durable_index
 *   HEARTBEAT  u64 commit_index, u64 sent_us
 *   TRUNCATE   u64 after_index
 *   SNAPSHOT   u64 index, u64 offset, u64 total, data...
 *   REJECT     u16 code, u8 reason_len, reason
 *   READINGS   u64 seq, data... (a batch of sense/fwd.h)
 *   READINGS_ACK u64 seq
 */
#include "cluster/wire.h"

#include "core/names.h"

const char *vg_wire_type_name(uint8_t type)
{
    static const char *names[] = {"?",         "HELLO",    "APPEND",   "ACK",
                                  "HEARTBEAT", "TRUNCATE", "SNAPSHOT", "REJECT",
                                  "READINGS",  "READINGS_ACK"};
    return type < VG_ARRAY_LEN(names) ? names[type] : "?";
}

static void put64(vg_buf_t *b, uint64_t v)
{
    uint8_t p[8];
    vg_put_u64(p, v);
    vg_buf_add(b, p, 8);
}

static void put16(vg_buf_t *b, uint16_t v)
{
    uint8_t p[2];
    vg_put_u16(p, v);
    vg_buf_add(b, p, 2);
}

static void put_text(vg_buf_t *b, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    uint8_t len = (uint8_t)n;
    vg_buf_add(b, &len, 1);
    vg_buf_add(b, s, n);
}

static void encode_body(const vg_wire_msg_t *m, vg_buf_t *b)
{
    put64(b, m->epoch);
    switch (m->type) {
    case VG_WIRE_HELLO:
        put16(b, m->u.hello.version);
        put64(b, m->u.hello.last_index);
        put64(b, m->u.hello.last_epoch);
        put64(b, m->u.hello.commit_index);
        put64(b, m->u.hello.commit_epoch);
        put_text(b, m->u.hello.name, VG_WIRE_NAME_MAX);
        put64(b, m->u.hello.key_id);
        vg_buf_add(b, m->u.hello.key_proof, VG_WIRE_KEY_PROOF_BYTES);
        break;
    case VG_WIRE_APPEND:
        put64(b, m->u.append.commit_index);
        put64(b, m->u.append.prev_index);
        put64(b, m->u.append.prev_epoch);
        vg_buf_add(b, m->u.append.frames, m->u.append.frames_len);
        break;
    case VG_WIRE_ACK:
        put64(b, m->u.ack.durable_index);
        break;
    case VG_WIRE_HEARTBEAT:
        put64(b, m->u.heartbeat.commit_index);
        put64(b, m->u.heartbeat.sent_us);
        break;
    case VG_WIRE_TRUNCATE:
        put64(b, m->u.truncate.after_index);
        break;
    case VG_WIRE_SNAPSHOT:
        put64(b, m->u.snapshot.index);
        put64(b, m->u.snapshot.offset);
        put64(b, m->u.snapshot.total);
        vg_buf_add(b, m->u.snapshot.data, m->u.snapshot.data_len);
        break;
    case VG_WIRE_REJECT:
        put16(b, m->u.reject.code);
        put_text(b, m->u.reject.reason, 255);
        break;
    case VG_WIRE_READINGS:
        put64(b, m->u.readings.seq);
        vg_buf_add(b, m->u.readings.data, m->u.readings.data_len);
        break;
    case VG_WIRE_READINGS_ACK:
        put64(b, m->u.readings_ack.seq);
        break;
    default:
        VG_BUG("encoding unknown wire message type %u", m->type);
    }
}

void vg_wire_encode(const vg_wire_msg_t *msg, vg_buf_t *out)
{
    size_t start = out->len;
    uint8_t header[VG_WIRE_HEADER_BYTES] = {0};
    vg_buf_add(out, header, sizeof header);
    encode_body(msg, out);
    size_t body_len = out->len - start - VG_WIRE_HEADER_BYTES;
    if (body_len > VG_WIRE_MAX_BODY)
        VG_BUG("wire message of %zu bytes exceeds the limit", body_len);
    vg_put_u32(out->data + start, (uint32_t)body_len);
    out->data[start + 4] = msg->type;
}

/* A cursor over a body that refuses to read past its end. */
struct cursor {
    const uint8_t *p;
    size_t left;
    int short_read;
    int nul_in_text;
};

static uint64_t get64(struct cursor *c)
{
    if (c->left < 8) {
        c->short_read = 1;
        return 0;
    }
    uint64_t v = vg_get_u64(c->p);
    c->p += 8;
    c->left -= 8;
    return v;
}

static uint16_t get16(struct cursor *c)
{
    if (c->left < 2) {
        c->short_read = 1;
        return 0;
    }
    uint16_t v = vg_get_u16(c->p);
    c->p += 2;
    c->left -= 2;
    return v;
}

static void get_text(struct cursor *c, char *out, size_t cap)
{
    if (c->left < 1 || c->left < 1u + c->p[0] || c->p[0] >= cap) {
        c->short_read = 1;
        out[0] = 0;
        return;
    }
    size_t n = c->p[0];
    if (memchr(c->p + 1, 0, n))
        c->nul_in_text = 1;
    memcpy(out, c->p + 1, n);
    out[n] = 0;
    c->p += 1 + n;
    c->left -= 1 + n;
}

static int decode_hello(struct cursor *c, vg_wire_msg_t *m, char *err, size_t errlen)
{
    m->u.hello.version = get16(c);
    m->u.hello.last_index = get64(c);
    m->u.hello.last_epoch = get64(c);
    m->u.hello.commit_index = get64(c);
    m->u.hello.commit_epoch = get64(c);
    get_text(c, m->u.hello.name, sizeof m->u.hello.name);
    m->u.hello.key_id = get64(c);
    if (c->left < VG_WIRE_KEY_PROOF_BYTES)
        c->short_read = 1;
    else {
        memcpy(m->u.hello.key_proof, c->p, VG_WIRE_KEY_PROOF_BYTES);
        c->p += VG_WIRE_KEY_PROOF_BYTES;
        c->left -= VG_WIRE_KEY_PROOF_BYTES;
    }
    if (c->short_read)
        return vg_err(err, errlen, -EINVAL, "HELLO is truncated");
    if (c->nul_in_text)
        return vg_err(err, errlen, -EINVAL, "HELLO name contains a NUL byte");
    if (m->u.hello.version != VG_WIRE_VERSION)
        return vg_err(err, errlen, -EINVAL, "HELLO speaks wire version %u, this member %u",
                      m->u.hello.version, VG_WIRE_VERSION);
    char why[128];
    if (vg_name_check(m->u.hello.name, why, sizeof why))
        return vg_err(err, errlen, -EINVAL, "HELLO carries an invalid member name: %s", why);
    if (m->u.hello.commit_index > m->u.hello.last_index)
        return vg_err(err, errlen, -EINVAL, "HELLO commit index %llu beyond its log end %llu",
                      (unsigned long long)m->u.hello.commit_index,
                      (unsigned long long)m->u.hello.last_index);
    return 0;
}

static int decode_snapshot(struct cursor *c, vg_wire_msg_t *m, char *err, size_t errlen)
{
    m->u.snapshot.index = get64(c);
    m->u.snapshot.offset = get64(c);
    m->u.snapshot.total = get64(c);
    if (c->short_read)
        return vg_err(err, errlen, -EINVAL, "SNAPSHOT is truncated");
    m->u.snapshot.data = c->p;
    m->u.snapshot.data_len = c->left;
    c->left = 0;
    if (m->u.snapshot.offset > m->u.snapshot.total ||
        m->u.snapshot.data_len > m->u.snapshot.total - m->u.snapshot.offset)
        return vg_err(err, errlen, -EINVAL, "SNAPSHOT chunk runs past the snapshot's size");
    return 0;
}

static int decode_body(struct cursor *c, vg_wire_msg_t *m, char *err, size_t errlen)
{
    m->epoch = get64(c);
    switch (m->type) {
    case VG_WIRE_HELLO:
        return decode_hello(c, m, err, errlen);
    case VG_WIRE_APPEND:
        m->u.append.commit_index = get64(c);
        m->u.append.prev_index = get64(c);
        m->u.append.prev_epoch = get64(c);
        m->u.append.frames = c->p;
        m->u.append.frames_len = c->left;
        c->left = 0;
        break;
    case VG_WIRE_ACK:
        m->u.ack.durable_index = get64(c);
        break;
    case VG_WIRE_HEARTBEAT:
        m->u.heartbeat.commit_index = get64(c);
        m->u.heartbeat.sent_us = get64(c);
        break;
    case VG_WIRE_TRUNCATE:
        m->u.truncate.after_index = get64(c);
        break;
    case VG_WIRE_SNAPSHOT:
        return decode_snapshot(c, m, err, errlen);
    case VG_WIRE_REJECT:
        m->u.reject.code = get16(c);
        get_text(c, m->u.reject.reason, sizeof m->u.reject.reason);
        break;
    case VG_WIRE_READINGS:
        m->u.readings.seq = get64(c);
        m->u.readings.data = c->p;
        m->u.readings.data_len = c->left;
        c->left = 0;
        break;
    case VG_WIRE_READINGS_ACK:
        m->u.readings_ack.seq = get64(c);
        break;
    default:
        return vg_err(err, errlen, -EINVAL, "unknown message type %u", m->type);
    }
    if (c->short_read)
        return vg_err(err, errlen, -EINVAL, "%s is truncated", vg_wire_type_name(m->type));
    if (c->nul_in_text)
        return vg_err(err, errlen, -EINVAL, "%s text contains a NUL byte",
                      vg_wire_type_name(m->type));
    return 0;
}

int vg_wire_decode(const uint8_t *p, size_t avail, vg_wire_msg_t *msg, size_t *consumed,
                   char *err, size_t errlen)
{
    if (avail < VG_WIRE_HEADER_BYTES)
        return -EAGAIN;
    uint32_t body_len = vg_get_u32(p);
    if (body_len > VG_WIRE_MAX_BODY)
        return vg_err(err, errlen, -EINVAL, "message body of %u bytes exceeds the limit",
                      body_len);
    if (avail - VG_WIRE_HEADER_BYTES < body_len)
        return -EAGAIN;
    memset(msg, 0, sizeof *msg);
    msg->type = p[4];
    struct cursor c = {.p = p + VG_WIRE_HEADER_BYTES, .left = body_len};
    int rc = decode_body(&c, msg, err, errlen);
    if (rc)
        return rc;
    if (c.left)
        return vg_err(err, errlen, -EINVAL, "%s has %zu unexpected trailing bytes",
                      vg_wire_type_name(msg->type), c.left);
    *consumed = VG_WIRE_HEADER_BYTES + body_len;
    return 0;
}

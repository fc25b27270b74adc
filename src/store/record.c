/*
 * record.c - sealing log records into frames and opening them again.
 *
 * Every frame on disk or on the wire passes through vg_record_decode, so it
 * must take arbitrary bytes (a torn write, a flipped bit, a hostile peer)
 * and answer with an error code, never a crash or an unbounded allocation:
 * it is the fuzz target fuzz/fuzz_record.c. It reads nothing before checking
 * that the bytes are there, and allocates only for a frame that is wholly
 * inside the input and names a key we hold.
 *
 * The associated data is a domain string followed by the 24-byte header, so
 * a frame sealed for one (epoch, index, type) opens nowhere else, and no
 * other sealed unit of vigil can be passed off as a record.
 */
#include "store/record.h"

#define RECORD_LEN_BYTES     4
#define RECORD_MIN_FRAME_LEN (VG_RECORD_FRAME_OVERHEAD - RECORD_LEN_BYTES)
#define RECORD_MAX_FRAME_LEN (RECORD_MIN_FRAME_LEN + VG_RECORD_MAX_PAYLOAD)

static const char record_domain[] = "vigil-record-v1";
#define RECORD_DOMAIN_BYTES (sizeof record_domain - 1)
#define RECORD_AD_BYTES     (RECORD_DOMAIN_BYTES + VG_RECORD_HEADER_BYTES)

/* Header offsets, relative to the end of the length field. */
enum { HDR_EPOCH = 0, HDR_INDEX = 8, HDR_TYPE = 16, HDR_FLAGS = 18, HDR_KEY_ID = 20 };

static void put_header(uint8_t *hdr, const vg_record_t *rec)
{
    vg_put_u64(hdr + HDR_EPOCH, rec->epoch);
    vg_put_u64(hdr + HDR_INDEX, rec->index);
    vg_put_u16(hdr + HDR_TYPE, rec->type);
    vg_put_u16(hdr + HDR_FLAGS, 0);
    vg_put_u32(hdr + HDR_KEY_ID, rec->key_id);
}

static void build_ad(uint8_t ad[RECORD_AD_BYTES], const uint8_t *hdr)
{
    memcpy(ad, record_domain, RECORD_DOMAIN_BYTES);
    memcpy(ad + RECORD_DOMAIN_BYTES, hdr, VG_RECORD_HEADER_BYTES);
}

int vg_record_encode(const vg_keyring_t *kr, const vg_record_t *rec, vg_buf_t *out)
{
    if (rec->payload_len > VG_RECORD_MAX_PAYLOAD)
        return -EMSGSIZE;
    size_t frame_bytes = VG_RECORD_FRAME_OVERHEAD + rec->payload_len;
    vg_buf_grow(out, frame_bytes);
    uint8_t *frame = out->data + out->len;
    uint8_t *hdr = frame + RECORD_LEN_BYTES;
    vg_put_u32(frame, (uint32_t)(frame_bytes - RECORD_LEN_BYTES));
    put_header(hdr, rec);
    uint8_t ad[RECORD_AD_BYTES];
    build_ad(ad, hdr);
    int rc = vg_seal(kr, rec->key_id, ad, sizeof ad, rec->payload, rec->payload_len,
                     hdr + VG_RECORD_HEADER_BYTES);
    if (rc < 0)
        return rc; /* out->len unchanged: the half-built frame is not part of out */
    out->len += frame_bytes;
    out->data[out->len] = 0;
    return 0;
}

static void record_clear(vg_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
}

/* Checks everything that can be checked without the key. */
static int check_frame(const uint8_t *p, size_t avail, size_t *frame_bytes, char *err,
                       size_t errlen)
{
    if (avail < RECORD_LEN_BYTES)
        return vg_err(err, errlen, -EAGAIN, "frame length field cut short (%zu bytes)", avail);
    uint32_t frame_len = vg_get_u32(p);
    if (frame_len < RECORD_MIN_FRAME_LEN || frame_len > RECORD_MAX_FRAME_LEN)
        return vg_err(err, errlen, -EINVAL, "frame length %u out of range", frame_len);
    if (avail - RECORD_LEN_BYTES < frame_len)
        return vg_err(err, errlen, -EAGAIN, "frame of %u bytes runs past the %zu available",
                      frame_len, avail - RECORD_LEN_BYTES);
    uint16_t flags = vg_get_u16(p + RECORD_LEN_BYTES + HDR_FLAGS);
    if (flags != 0)
        return vg_err(err, errlen, -EINVAL, "frame flags 0x%04x are not zero", flags);
    *frame_bytes = RECORD_LEN_BYTES + (size_t)frame_len;
    return 0;
}

int vg_record_decode(const vg_keyring_t *kr, const uint8_t *p, size_t avail, vg_record_t *rec,
                     size_t *consumed, char *err, size_t errlen)
{
    size_t frame_bytes = 0;
    record_clear(rec);
    *consumed = 0;
    int rc = check_frame(p, avail, &frame_bytes, err, errlen);
    if (rc < 0)
        return rc;
    const uint8_t *hdr = p + RECORD_LEN_BYTES;
    uint64_t index = vg_get_u64(hdr + HDR_INDEX);
    uint32_t key_id = vg_get_u32(hdr + HDR_KEY_ID);
    const uint8_t *sealed = hdr + VG_RECORD_HEADER_BYTES;
    size_t sealed_len = frame_bytes - RECORD_LEN_BYTES - VG_RECORD_HEADER_BYTES;
    size_t payload_len = sealed_len - VG_SEAL_OVERHEAD;
    uint8_t ad[RECORD_AD_BYTES];
    build_ad(ad, hdr);
    uint8_t *payload = vg_malloc(payload_len);
    rc = vg_open(kr, key_id, ad, sizeof ad, sealed, sealed_len, payload);
    if (rc < 0) {
        free(payload);
        if (rc == -ENOKEY)
            return vg_err(err, errlen, rc, "record %llu is sealed with unknown key %u",
                          (unsigned long long)index, key_id);
        return vg_err(err, errlen, rc, "record %llu failed authentication",
                      (unsigned long long)index);
    }
    rec->epoch = vg_get_u64(hdr + HDR_EPOCH);
    rec->index = index;
    rec->type = vg_get_u16(hdr + HDR_TYPE);
    rec->key_id = key_id;
    rec->payload = payload;
    rec->payload_len = payload_len;
    *consumed = frame_bytes;
    return 0;
}

void vg_record_release(vg_record_t *rec)
{
    if (!rec)
        return;
    free(rec->payload);
    record_clear(rec);
}

const char *vg_record_type_name(uint16_t type)
{
    static const char *const names[] = {
        [VG_REC_OBJ_PUT] = "obj_put",
        [VG_REC_OBJ_DELETE] = "obj_delete",
        [VG_REC_TOKEN_CREATE] = "token_create",
        [VG_REC_TOKEN_REVOKE] = "token_revoke",
        [VG_REC_CONFIG] = "config",
        [VG_REC_NOOP] = "noop",
        [VG_REC_EVENT] = "event",
        [VG_REC_ALERT] = "alert",
        [VG_REC_INCIDENT] = "incident",
        [VG_REC_PROTECT] = "protect",
        [VG_REC_LOGIN] = "login",
        [VG_REC_SESSION] = "session",
    };
    return type < VG_ARRAY_LEN(names) ? names[type] : NULL;
}

/*
 * acklink.c - the signed, expiring, single-use link each page carries, so
 * the person on call can acknowledge from a phone without logging in.
 *
 * The token is base64url(key id || sealed(incident id, expiry, nonce)),
 * sealed with the cluster's active data key (XChaCha20-Poly1305, the
 * keyring both sites hold): nobody can forge or alter one, and a new
 * primary opens the links the old one sent. Single use is the state's
 * business: the ack record carries the nonce and a used nonce is refused.
 */
#include "incident/incident_int.h"

#include <sodium.h>

#include "crypto/keyring.h"

#define LINK_AD   "vigil ack link 1"
#define LINK_BODY (8 + 8 + 16) /* id, expiry, nonce */
#define LINK_RAW  (4 + LINK_BODY + VG_SEAL_OVERHEAD)

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int vg_acklink_make(const vg_member_t *m, uint64_t id, int64_t expires_ms, char *out,
                    size_t outlen)
{
    const vg_keyring_t *kr = vg_member_keys(m);
    uint8_t body[LINK_BODY], raw[LINK_RAW];
    uint32_t kid = vg_keyring_active_id(kr);
    put64(body, id);
    put64(body + 8, (uint64_t)expires_ms);
    randombytes_buf(body + 16, 16);
    raw[0] = (uint8_t)(kid >> 24), raw[1] = (uint8_t)(kid >> 16);
    raw[2] = (uint8_t)(kid >> 8), raw[3] = (uint8_t)kid;
    int rc = vg_seal(kr, kid, (const uint8_t *)LINK_AD, sizeof LINK_AD - 1, body, sizeof body,
                     raw + 4);
    if (rc)
        return rc;
    if (outlen < sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return -ENOSPC;
    sodium_bin2base64(out, outlen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int vg_acklink_open(const vg_member_t *m, const char *token, uint64_t *id, char *nonce,
                    size_t noncelen, int64_t *expires_ms)
{
    uint8_t raw[LINK_RAW], body[LINK_BODY];
    size_t len = 0;
    if (strlen(token) > 2 * sizeof raw ||
        sodium_base642bin(raw, sizeof raw, token, strlen(token), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        len != sizeof raw)
        return -EINVAL;
    uint32_t kid = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    if (vg_open(vg_member_keys(m), kid, (const uint8_t *)LINK_AD, sizeof LINK_AD - 1, raw + 4,
                sizeof raw - 4, body))
        return -EINVAL;
    *id = get64(body);
    *expires_ms = (int64_t)get64(body + 8);
    if (noncelen < 33)
        return -ENOSPC;
    sodium_bin2hex(nonce, noncelen, body + 16, 16);
    return 0;
}

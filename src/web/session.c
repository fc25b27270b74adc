/*
 * session.c - sealing and opening the dashboard's session cookie
 * (session.h). Pure: no state, no clock but the one passed in.
 */
#include "web/session.h"

#include <sodium.h>

#define SESSION_AD   "vigil session 2" /* 2: with the session id */
#define SESSION_BODY (1 + 1 + VG_SESSION_SUBJECT + 8 + 8 + 16 + 16)
#define SID_AT       (34 + VG_SESSION_SUBJECT)
#define SESSION_RAW  (4 + SESSION_BODY + VG_SEAL_OVERHEAD)

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

void vg_session_fingerprint(const char *stored_hash, uint8_t out[8])
{
    crypto_generichash(out, 8, (const uint8_t *)stored_hash, strlen(stored_hash), NULL, 0);
}

int vg_session_make(const vg_keyring_t *kr, struct vg_session *s, char *text, size_t outlen)
{
    uint8_t body[SESSION_BODY] = {0}, raw[SESSION_RAW], csrf[16];
    size_t n = strlen(s->subject), sid_len = 0;
    if (n >= VG_SESSION_SUBJECT)
        return -ENAMETOOLONG;
    if (outlen <
        sodium_base64_ENCODED_LEN(SESSION_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return -ENOSPC;
    if (!s->sid[0]) {
        randombytes_buf(body + SID_AT, 16);
        sodium_bin2hex(s->sid, sizeof s->sid, body + SID_AT, 16);
    } else if (sodium_hex2bin(body + SID_AT, 16, s->sid, strlen(s->sid), NULL, &sid_len,
                              NULL) ||
               sid_len != 16) {
        return -EINVAL;
    }
    randombytes_buf(csrf, sizeof csrf);
    sodium_bin2hex(s->csrf, sizeof s->csrf, csrf, sizeof csrf);
    body[0] = (uint8_t)s->kind;
    body[1] = (uint8_t)n;
    memcpy(body + 2, s->subject, n);
    memcpy(body + 2 + VG_SESSION_SUBJECT, s->fingerprint, 8);
    put64(body + 10 + VG_SESSION_SUBJECT, (uint64_t)s->expires_ms);
    memcpy(body + 18 + VG_SESSION_SUBJECT, csrf, sizeof csrf);
    uint32_t kid = vg_keyring_active_id(kr);
    raw[0] = (uint8_t)(kid >> 24), raw[1] = (uint8_t)(kid >> 16);
    raw[2] = (uint8_t)(kid >> 8), raw[3] = (uint8_t)kid;
    int rc = vg_seal(kr, kid, (const uint8_t *)SESSION_AD, sizeof SESSION_AD - 1, body,
                     sizeof body, raw + 4);
    sodium_memzero(body, sizeof body);
    sodium_memzero(csrf, sizeof csrf);
    if (rc)
        return rc;
    sodium_bin2base64(text, outlen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int vg_session_open(const vg_keyring_t *kr, const char *text, int64_t now_ms,
                    struct vg_session *out)
{
    uint8_t raw[SESSION_RAW], body[SESSION_BODY];
    size_t len = 0, textlen = strlen(text);
    if (textlen > 2 * sizeof raw ||
        sodium_base642bin(raw, sizeof raw, text, textlen, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        len != sizeof raw)
        return -EINVAL;
    uint32_t kid =
        (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    if (vg_open(kr, kid, (const uint8_t *)SESSION_AD, sizeof SESSION_AD - 1, raw + 4,
                sizeof raw - 4, body))
        return -EINVAL;
    int rc = 0;
    size_t n = body[1];
    if ((body[0] != VG_SESSION_TOKEN && body[0] != VG_SESSION_PERSON) || n == 0 ||
        n >= VG_SESSION_SUBJECT) {
        rc = -EINVAL;
        goto out;
    }
    out->kind = (enum vg_session_kind)body[0];
    memcpy(out->subject, body + 2, n);
    out->subject[n] = '\0';
    memcpy(out->fingerprint, body + 2 + VG_SESSION_SUBJECT, 8);
    out->expires_ms = (int64_t)get64(body + 10 + VG_SESSION_SUBJECT);
    sodium_bin2hex(out->csrf, sizeof out->csrf, body + 18 + VG_SESSION_SUBJECT, 16);
    sodium_bin2hex(out->sid, sizeof out->sid, body + SID_AT, 16);
    if (out->expires_ms <= now_ms)
        rc = -ETIME;
out:
    sodium_memzero(body, sizeof body);
    return rc;
}

int vg_session_due_renewal(const struct vg_session *s, int64_t now_ms)
{
    return s->expires_ms - now_ms <= VG_SESSION_TTL_MS / 2;
}

int vg_session_cookie(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *p = header; p && *p;) {
        p += strspn(p, " \t;");
        size_t n = strcspn(p, ";");
        if (n > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
            size_t vlen = n - nlen - 1;
            while (vlen && (p[nlen + 1 + vlen - 1] == ' ' || p[nlen + 1 + vlen - 1] == '\t'))
                vlen--;
            if (vlen == 0 || vlen >= outlen)
                return -ENOENT;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p += n;
    }
    return -ENOENT;
}

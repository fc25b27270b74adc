/*
 * session.h - the dashboard's session cookie: a sealed, expiring token
 * that either member opens.
 *
 * The cookie's value is base64url(key id || sealed(kind, subject, secret
 * fingerprint, expiry, CSRF secret)), sealed with the cluster's active
 * data key (XChaCha20-Poly1305, the keyring both sites hold, as the
 * acknowledge links are): nobody can forge or alter one, and after a
 * failover the new primary opens the sessions the old one made. Nothing is
 * stored per live session; a session ends at its expiry, when its token is
 * revoked, when the person's password changes (the fingerprint of the
 * stored hash no longer matches), or when it logs out: its id (random,
 * kept when the cookie is renewed) then goes into the replicated list of
 * ended sessions (sessions.h), which both members check.
 */
#ifndef VG_WEB_SESSION_H
#define VG_WEB_SESSION_H

#include "core/vg.h"
#include "crypto/keyring.h"

#define VG_SESSION_COOKIE   "vg_session"
#define VG_SESSION_TTL_MS   (12 * 3600 * 1000LL) /* a shift, with room */
#define VG_SESSION_CSRF_HEX 33                   /* 16 bytes as hex, NUL */
#define VG_SESSION_SUBJECT  64
#define VG_SESSION_TEXT_MAX 256 /* the cookie's value, NUL included */

enum vg_session_kind {
    VG_SESSION_TOKEN = 't',  /* subject: an API token's id */
    VG_SESSION_PERSON = 'p', /* subject: a Person with a login */
};

struct vg_session {
    enum vg_session_kind kind;
    char subject[VG_SESSION_SUBJECT];
    uint8_t fingerprint[8]; /* of the stored secret hash it was made from */
    int64_t expires_ms;
    char csrf[VG_SESSION_CSRF_HEX]; /* sent back in X-Vigil-CSRF on every change */
    char sid[VG_SESSION_CSRF_HEX];  /* the session's id, hex; "" asks make for a new one */
};

/* The fingerprint of a stored hash (a token's or a login's). */
void vg_session_fingerprint(const char *stored_hash, uint8_t out[8]);

/* Fills s->csrf with a fresh secret (and s->sid with a new id when it is
 * "") and seals s into text (outlen >= VG_SESSION_TEXT_MAX). */
int vg_session_make(const vg_keyring_t *kr, struct vg_session *s, char *text, size_t outlen);

/* Opens a cookie value; -EINVAL if it is not one vigil sealed, -ETIME if
 * it expired before now_ms. */
int vg_session_open(const vg_keyring_t *kr, const char *text, int64_t now_ms,
                    struct vg_session *out);

/* 1 when s is past half its life at now_ms: time to seal it again. */
int vg_session_due_renewal(const struct vg_session *s, int64_t now_ms);

/* The value of cookie name in a Cookie header, copied into out; 0, or
 * -ENOENT (absent or longer than outlen). */
int vg_session_cookie(const char *header, const char *name, char *out, size_t outlen);

#endif

/*
 * logins.h - people's dashboard logins: the "logins" slice of the state
 * (a data half, service.h), written by VG_REC_LOGIN records.
 *
 * Only an Argon2id hash of each password is stored (libsodium's
 * crypto_pwhash_str string, which carries its own salt and cost), with the
 * role the person acts with. Like tokens, logins are log records, so a
 * person logs in on either site, and a password changed on the primary is
 * the password on the mirror too. No answer and no log line ever holds a
 * hash.
 */
#ifndef VG_WEB_LOGINS_H
#define VG_WEB_LOGINS_H

#include "service/service.h"

#define VG_LOGIN_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

extern const struct vg_service_data vg_logins_data;

/* The role of person's login and its stored hash (valid until the next
 * record is applied), or VG_ROLE_NONE when the person has none. */
enum vg_role vg_logins_get(const vg_state_t *st, const char *person, const char **hash);

/* New reference: [{"person","role","updated","by"}], sorted by person. */
json_t *vg_logins_list(const vg_state_t *st);

#endif

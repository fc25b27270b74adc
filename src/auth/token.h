/*
 * token.h - API tokens and roles.
 *
 * A token is "vgt_" + 16 hex chars of id + "_" + 43 base64url chars of secret
 * (32 random bytes). Only BLAKE2b-256 of the whole token is ever stored (as
 * 64 hex chars); tokens are high-entropy, so a fast hash is enough. The id
 * lets the server find the stored hash without scanning.
 */
#ifndef VG_TOKEN_H
#define VG_TOKEN_H

#include "core/vg.h"

#define VG_TOKEN_ID_LEN   16
#define VG_TOKEN_LEN      80 /* "vgt_" + 16 + "_" + 43 = 64, with room */
#define VG_TOKEN_HASH_HEX 64

enum vg_role {
    VG_ROLE_NONE = 0,
    VG_ROLE_VIEWER,
    VG_ROLE_AUDITOR,
    VG_ROLE_EXTERNAL_REVIEWER,
    VG_ROLE_OPERATOR,
    VG_ROLE_ADMIN,
};

enum vg_perm {
    VG_PERM_READ,       /* objects, watch, status */
    VG_PERM_WRITE,      /* put/delete objects */
    VG_PERM_TOKENS,     /* create/list/revoke tokens */
    VG_PERM_METRICS,    /* /metrics */
    VG_PERM_AUDIT,      /* audit trail (later issue) */
    VG_PERM_SWITCHOVER, /* planned switchover */
    VG_PERM_FORCE,      /* forced failover, accepting data loss */
};

const char *vg_role_name(enum vg_role role);
int vg_role_parse(const char *s, enum vg_role *out); /* -EINVAL if unknown */
int vg_role_allows(enum vg_role role, enum vg_perm perm);

/* Makes a new token. id gets VG_TOKEN_ID_LEN+1 bytes, token VG_TOKEN_LEN+1,
 * hash_hex VG_TOKEN_HASH_HEX+1. The caller wipes token after showing it. */
void vg_token_generate(char *id, char *token, char *hash_hex);

/* Extracts the id from a token string; -EINVAL if it is not token-shaped. */
int vg_token_id(const char *token, char *id);

/* 1 if BLAKE2b-256(token) equals stored_hash_hex (constant time), else 0. */
int vg_token_matches(const char *token, const char *stored_hash_hex);

#endif

/*
 * token.c - API bearer tokens and the role -> permission table.
 *
 * Every authenticated request calls vg_token_id and vg_token_matches once,
 * so both are cheap (one BLAKE2b-256) and take arbitrary client input.
 * The plaintext token exists only while vg_token_generate hands it out;
 * this file never logs a token or a secret and wipes its own copies of the
 * secret and of intermediate hashes before returning. Comparison of hashes
 * is constant time so that response timing does not leak how many leading
 * bytes of a guess were right.
 */
#include "auth/token.h"

#include <sodium.h>

#define TOKEN_PREFIX     "vgt_"
#define TOKEN_PREFIX_LEN 4
#define SECRET_BYTES     32
#define SECRET_B64_LEN   43 /* base64url of 32 bytes, no padding */
#define ID_BYTES         (VG_TOKEN_ID_LEN / 2)
#define HASH_BYTES       32 /* BLAKE2b-256 */
#define TOKEN_SHAPE_LEN  (TOKEN_PREFIX_LEN + VG_TOKEN_ID_LEN + 1 + SECRET_B64_LEN)

#define PERM_BIT(p) (1u << (p))

struct role_row {
    enum vg_role role;
    const char *name;
    unsigned perms; /* PERM_BIT(VG_PERM_...) set */
};

/* The whole authorisation policy of DESIGN.md section 6 in one table. */
static const struct role_row roles[] = {
    {VG_ROLE_ADMIN, "admin",
     PERM_BIT(VG_PERM_READ) | PERM_BIT(VG_PERM_WRITE) | PERM_BIT(VG_PERM_TOKENS) |
         PERM_BIT(VG_PERM_METRICS) | PERM_BIT(VG_PERM_AUDIT) | PERM_BIT(VG_PERM_SWITCHOVER) |
         PERM_BIT(VG_PERM_FORCE)},
    {VG_ROLE_OPERATOR, "operator",
     PERM_BIT(VG_PERM_READ) | PERM_BIT(VG_PERM_WRITE) | PERM_BIT(VG_PERM_METRICS) |
         PERM_BIT(VG_PERM_SWITCHOVER)},
    {VG_ROLE_VIEWER, "viewer", PERM_BIT(VG_PERM_READ) | PERM_BIT(VG_PERM_METRICS)},
    {VG_ROLE_AUDITOR, "auditor",
     PERM_BIT(VG_PERM_READ) | PERM_BIT(VG_PERM_METRICS) | PERM_BIT(VG_PERM_AUDIT)},
    {VG_ROLE_EXTERNAL_REVIEWER, "external-reviewer", PERM_BIT(VG_PERM_READ)},
};

static const struct role_row *role_row(enum vg_role role)
{
    for (size_t i = 0; i < VG_ARRAY_LEN(roles); i++)
        if (roles[i].role == role)
            return &roles[i];
    return NULL;
}

/* "none" for VG_ROLE_NONE and for any value outside the enum, never NULL. */
const char *vg_role_name(enum vg_role role)
{
    const struct role_row *row = role_row(role);
    return row ? row->name : "none";
}

/* Exact, case-sensitive match on the role names; "none" is not a role. */
int vg_role_parse(const char *s, enum vg_role *out)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < VG_ARRAY_LEN(roles); i++) {
        if (strcmp(s, roles[i].name) == 0) {
            *out = roles[i].role;
            return 0;
        }
    }
    return -EINVAL;
}

/* 1 if allowed. VG_ROLE_NONE and unknown roles or permissions are denied. */
int vg_role_allows(enum vg_role role, enum vg_perm perm)
{
    const struct role_row *row = role_row(role);
    if (!row || (unsigned)perm >= 32)
        return 0;
    return (row->perms & PERM_BIT(perm)) != 0;
}

/* sodium_init is idempotent and thread-safe; failure means no usable RNG. */
static void sodium_ready(void)
{
    if (sodium_init() < 0)
        VG_BUG("libsodium could not be initialised");
}

/* BLAKE2b-256 of the token text, as lowercase hex. */
static void token_hash_hex(const char *token, char *hash_hex)
{
    unsigned char hash[HASH_BYTES];
    crypto_generichash(hash, sizeof hash, (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(hash_hex, VG_TOKEN_HASH_HEX + 1, hash, sizeof hash);
    sodium_memzero(hash, sizeof hash);
}

void vg_token_generate(char *id, char *token, char *hash_hex)
{
    unsigned char id_bytes[ID_BYTES];
    unsigned char secret[SECRET_BYTES];
    char secret_b64[SECRET_B64_LEN + 1];

    sodium_ready();
    randombytes_buf(id_bytes, sizeof id_bytes);
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(id, VG_TOKEN_ID_LEN + 1, id_bytes, sizeof id_bytes);
    sodium_bin2base64(secret_b64, sizeof secret_b64, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(token, VG_TOKEN_LEN + 1, TOKEN_PREFIX "%s_%s", id, secret_b64);
    token_hash_hex(token, hash_hex);

    sodium_memzero(secret, sizeof secret);
    sodium_memzero(secret_b64, sizeof secret_b64);
}

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The secret must decode to exactly 32 bytes (which also rejects stray low
 * bits in the last character, so each token has one spelling). */
static int secret_shape_ok(const char *b64)
{
    unsigned char secret[SECRET_BYTES];
    size_t n_bytes = 0;
    const char *end = NULL;
    int rc = sodium_base642bin(secret, sizeof secret, b64, SECRET_B64_LEN, NULL, &n_bytes, &end,
                               sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    return rc == 0 && n_bytes == SECRET_BYTES && end == b64 + SECRET_B64_LEN;
}

int vg_token_id(const char *token, char *id)
{
    if (!token || strlen(token) != TOKEN_SHAPE_LEN)
        return -EINVAL;
    if (memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
        return -EINVAL;
    const char *id_text = token + TOKEN_PREFIX_LEN;
    for (size_t i = 0; i < VG_TOKEN_ID_LEN; i++)
        if (!is_lower_hex(id_text[i]))
            return -EINVAL;
    if (id_text[VG_TOKEN_ID_LEN] != '_')
        return -EINVAL;
    if (!secret_shape_ok(id_text + VG_TOKEN_ID_LEN + 1))
        return -EINVAL;
    memcpy(id, id_text, VG_TOKEN_ID_LEN);
    id[VG_TOKEN_ID_LEN] = '\0';
    return 0;
}

int vg_token_matches(const char *token, const char *stored_hash_hex)
{
    unsigned char stored[HASH_BYTES];
    unsigned char actual[HASH_BYTES];
    size_t n_stored = 0;
    const char *end = NULL;
    int match = 0;

    if (!token || !stored_hash_hex || strlen(stored_hash_hex) != VG_TOKEN_HASH_HEX)
        return 0;
    if (sodium_hex2bin(stored, sizeof stored, stored_hash_hex, VG_TOKEN_HASH_HEX, NULL,
                       &n_stored, &end) != 0 ||
        n_stored != HASH_BYTES)
        goto out;
    sodium_ready();
    crypto_generichash(actual, sizeof actual, (const unsigned char *)token, strlen(token), NULL,
                       0);
    match = sodium_memcmp(actual, stored, HASH_BYTES) == 0;
out:
    sodium_memzero(stored, sizeof stored);
    sodium_memzero(actual, sizeof actual);
    return match;
}

/*
 * test_token.c - API tokens (only their hash is ever stored) and the role
 * table that decides what each token may do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>

#include "auth/token.h"

struct minted {
    char id[VG_TOKEN_ID_LEN + 1];
    char token[VG_TOKEN_LEN + 1];
    char hash[VG_TOKEN_HASH_HEX + 1];
};

static void mint(struct minted *m)
{
    memset(m, 0, sizeof *m);
    vg_token_generate(m->id, m->token, m->hash);
}

static int all_in(const char *s, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++)
        if (!s[i] || !strchr(set, s[i]))
            return 0;
    return 1;
}

#define HEX    "0123456789abcdef"
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void test_token_has_documented_shape(void **state)
{
    struct minted m;
    mint(&m);
    assert_int_equal(strlen(m.token), 64);
    assert_memory_equal(m.token, "vgt_", 4);
    assert_true(all_in(m.token + 4, 16, HEX));
    assert_int_equal(m.token[20], '_');
    assert_true(all_in(m.token + 21, 43, B64URL));
    assert_int_equal(strlen(m.id), VG_TOKEN_ID_LEN);
    assert_memory_equal(m.id, m.token + 4, VG_TOKEN_ID_LEN);
    assert_int_equal(strlen(m.hash), VG_TOKEN_HASH_HEX);
    assert_true(all_in(m.hash, 64, HEX));
}

static void test_token_hash_is_blake2b_256_of_whole_token(void **state)
{
    struct minted m;
    unsigned char digest[32];
    char hex[65];
    mint(&m);
    crypto_generichash(digest, sizeof digest, (const unsigned char *)m.token, strlen(m.token),
                       NULL, 0);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    assert_string_equal(m.hash, hex);
}

static void test_token_hash_does_not_contain_token_secret(void **state)
{
    struct minted m;
    mint(&m);
    assert_null(strstr(m.hash, m.token + 21));
    assert_null(strstr(m.hash, m.id));
}

static void test_token_matches_its_own_hash(void **state)
{
    struct minted m;
    mint(&m);
    assert_int_equal(vg_token_matches(m.token, m.hash), 1);
}

static void test_token_hash_never_matches_other_token(void **state)
{
    struct minted a, b;
    mint(&a);
    mint(&b);
    assert_int_equal(vg_token_matches(a.token, b.hash), 0);
    assert_int_equal(vg_token_matches(b.token, a.hash), 0);
}

static void test_token_with_one_changed_character_never_matches(void **state)
{
    struct minted m;
    mint(&m);
    for (size_t i = 0; i < strlen(m.token); i++) {
        char forged[VG_TOKEN_LEN + 1];
        memcpy(forged, m.token, sizeof forged);
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        assert_int_equal(vg_token_matches(forged, m.hash), 0);
    }
}

static void test_token_prefix_or_extension_never_matches(void **state)
{
    struct minted m;
    char longer[VG_TOKEN_LEN + 2];
    mint(&m);
    snprintf(longer, sizeof longer, "%sx", m.token);
    assert_int_equal(vg_token_matches(longer, m.hash), 0);
    m.token[63] = '\0';
    assert_int_equal(vg_token_matches(m.token, m.hash), 0);
    assert_int_equal(vg_token_matches("", m.hash), 0);
}

static void test_token_matches_rejects_malformed_stored_hash(void **state)
{
    struct minted m;
    char short_hash[64];
    char bad_hex[65];
    mint(&m);
    memcpy(short_hash, m.hash, 63);
    short_hash[63] = '\0';
    memcpy(bad_hex, m.hash, sizeof bad_hex);
    bad_hex[10] = 'g';
    assert_int_equal(vg_token_matches(m.token, short_hash), 0);
    assert_int_equal(vg_token_matches(m.token, bad_hex), 0);
    assert_int_equal(vg_token_matches(m.token, ""), 0);
    assert_int_equal(vg_token_matches(m.token, NULL), 0);
    assert_int_equal(vg_token_matches(NULL, m.hash), 0);
}

static void test_token_generate_never_repeats(void **state)
{
    enum { N = 200 };
    static struct minted all[N];
    for (int i = 0; i < N; i++)
        mint(&all[i]);
    for (int i = 0; i < N; i++) {
        for (int j = i + 1; j < N; j++) {
            assert_string_not_equal(all[i].id, all[j].id);
            assert_string_not_equal(all[i].token, all[j].token);
            assert_string_not_equal(all[i].hash, all[j].hash);
        }
    }
}

static void test_token_id_extracts_generated_id(void **state)
{
    struct minted m;
    char id[VG_TOKEN_ID_LEN + 1];
    mint(&m);
    assert_int_equal(vg_token_id(m.token, id), 0);
    assert_string_equal(id, m.id);
}

static void test_token_id_rejects_strings_that_are_not_tokens(void **state)
{
    struct minted m;
    char id[VG_TOKEN_ID_LEN + 1];
    char bad[VG_TOKEN_LEN + 2];
    mint(&m);

    assert_int_equal(vg_token_id(NULL, id), -EINVAL);
    assert_int_equal(vg_token_id("", id), -EINVAL);
    assert_int_equal(vg_token_id("vgt_", id), -EINVAL);
    assert_int_equal(vg_token_id("Bearer abc", id), -EINVAL);

    /* one change at a time to a real token */
    struct {
        size_t at;
        char to;
    } edits[] = {
        {0, 'V'},  /* prefix is lowercase "vgt_" */
        {3, '-'},  /* prefix separator */
        {4, 'A'},  /* id is lowercase hex */
        {10, 'g'}, /* id is hex */
        {20, '-'}, /* id/secret separator */
        {30, '+'}, /* standard base64, not base64url */
        {40, '='}, /* padding */
        {50, '.'},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(edits); i++) {
        memcpy(bad, m.token, VG_TOKEN_LEN + 1);
        bad[edits[i].at] = edits[i].to;
        assert_int_equal(vg_token_id(bad, id), -EINVAL);
    }

    snprintf(bad, sizeof bad, "%sA", m.token); /* too long */
    assert_int_equal(vg_token_id(bad, id), -EINVAL);
    memcpy(bad, m.token, 63); /* too short */
    bad[63] = '\0';
    assert_int_equal(vg_token_id(bad, id), -EINVAL);
}

static void test_token_id_rejects_secret_with_stray_trailing_bits(void **state)
{
    /* 32 bytes need 256 of the 258 bits of 43 base64 characters: the last
     * character must leave its two low bits zero ('A', 'E', 'I', ...) */
    char token[VG_TOKEN_LEN + 1];
    char id[VG_TOKEN_ID_LEN + 1];
    char secret[44];
    memset(secret, 'A', 43);
    secret[43] = '\0';
    snprintf(token, sizeof token, "vgt_0123456789abcdef_%s", secret);
    assert_int_equal(vg_token_id(token, id), 0);
    assert_string_equal(id, "0123456789abcdef");
    token[63] = 'B';
    assert_int_equal(vg_token_id(token, id), -EINVAL);
    token[63] = 'E';
    assert_int_equal(vg_token_id(token, id), 0);
}

static void test_role_names_round_trip(void **state)
{
    const char *names[] = {"admin", "operator", "viewer", "auditor", "external-reviewer"};
    for (size_t i = 0; i < VG_ARRAY_LEN(names); i++) {
        enum vg_role role = VG_ROLE_NONE;
        assert_int_equal(vg_role_parse(names[i], &role), 0);
        assert_int_not_equal(role, VG_ROLE_NONE);
        assert_string_equal(vg_role_name(role), names[i]);
    }
}

static void test_role_parse_rejects_unknown_names(void **state)
{
    const char *bad[] = {"",         "none",   "Admin", "ADMIN",
                         "admin ",   " admin", "root",  "external_reviewer",
                         "operators"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        enum vg_role role = VG_ROLE_ADMIN;
        assert_int_equal(vg_role_parse(bad[i], &role), -EINVAL);
    }
    enum vg_role role;
    assert_int_equal(vg_role_parse(NULL, &role), -EINVAL);
}

static void test_role_name_of_none_or_unknown_is_none(void **state)
{
    assert_string_equal(vg_role_name(VG_ROLE_NONE), "none");
    assert_string_equal(vg_role_name((enum vg_role)99), "none");
}

static void test_role_permissions_follow_the_role_table(void **state)
{
    static const struct {
        enum vg_role role;
        int read, write, tokens, metrics, audit;
    } want[] = {
        {VG_ROLE_ADMIN, 1, 1, 1, 1, 1},
        {VG_ROLE_OPERATOR, 1, 1, 0, 1, 0},
        {VG_ROLE_VIEWER, 1, 0, 0, 1, 0},
        {VG_ROLE_AUDITOR, 1, 0, 0, 1, 1},
        {VG_ROLE_EXTERNAL_REVIEWER, 1, 0, 0, 0, 0},
        {VG_ROLE_NONE, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(want); i++) {
        enum vg_role r = want[i].role;
        assert_int_equal(vg_role_allows(r, VG_PERM_READ), want[i].read);
        assert_int_equal(vg_role_allows(r, VG_PERM_WRITE), want[i].write);
        assert_int_equal(vg_role_allows(r, VG_PERM_TOKENS), want[i].tokens);
        assert_int_equal(vg_role_allows(r, VG_PERM_METRICS), want[i].metrics);
        assert_int_equal(vg_role_allows(r, VG_PERM_AUDIT), want[i].audit);
    }
}

static void test_role_unknown_role_or_permission_allows_nothing(void **state)
{
    assert_int_equal(vg_role_allows((enum vg_role)99, VG_PERM_READ), 0);
    assert_int_equal(vg_role_allows(VG_ROLE_ADMIN, (enum vg_perm)99), 0);
    assert_int_equal(vg_role_allows(VG_ROLE_ADMIN, (enum vg_perm) - 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_has_documented_shape),
        cmocka_unit_test(test_token_hash_is_blake2b_256_of_whole_token),
        cmocka_unit_test(test_token_hash_does_not_contain_token_secret),
        cmocka_unit_test(test_token_matches_its_own_hash),
        cmocka_unit_test(test_token_hash_never_matches_other_token),
        cmocka_unit_test(test_token_with_one_changed_character_never_matches),
        cmocka_unit_test(test_token_prefix_or_extension_never_matches),
        cmocka_unit_test(test_token_matches_rejects_malformed_stored_hash),
        cmocka_unit_test(test_token_generate_never_repeats),
        cmocka_unit_test(test_token_id_extracts_generated_id),
        cmocka_unit_test(test_token_id_rejects_strings_that_are_not_tokens),
        cmocka_unit_test(test_token_id_rejects_secret_with_stray_trailing_bits),
        cmocka_unit_test(test_role_names_round_trip),
        cmocka_unit_test(test_role_parse_rejects_unknown_names),
        cmocka_unit_test(test_role_name_of_none_or_unknown_is_none),
        cmocka_unit_test(test_role_permissions_follow_the_role_table),
        cmocka_unit_test(test_role_unknown_role_or_permission_allows_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

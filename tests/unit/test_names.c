/*
 * test_names.c - the character rules of names.h, which keep object names
 * and labels safe to put in URLs, file names and operators' shell scripts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/names.h"

static char err[256];

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

static void test_name_accepts_lowercase_digits_dot_dash_underscore(void **state)
{
    assert_int_equal(vg_name_check("dc1", err, sizeof err), 0);
    assert_int_equal(vg_name_check("a.b-c_d", err, sizeof err), 0);
    assert_int_equal(vg_name_check("0", err, sizeof err), 0);
    assert_int_equal(vg_name_check("brussels-dc.2", err, sizeof err), 0);
}

static void test_name_accepts_63_characters(void **state)
{
    char name[64];
    memset(name, 'a', 63);
    name[63] = '\0';
    assert_int_equal(vg_name_check(name, err, sizeof err), 0);
}

static void test_name_rejects_64_characters(void **state)
{
    char name[65];
    memset(name, 'a', 64);
    name[64] = '\0';
    assert_int_equal(vg_name_check(name, err, sizeof err), -EINVAL);
    assert_err_contains("64 characters long, at most 63 allowed");
}

static void test_name_rejects_empty(void **state)
{
    assert_int_equal(vg_name_check("", err, sizeof err), -EINVAL);
    assert_err_contains("invalid name: must not be empty");
}

static void test_name_rejects_null(void **state)
{
    assert_int_equal(vg_name_check(NULL, err, sizeof err), -EINVAL);
    assert_err_contains("missing");
}

static void test_name_rejects_uppercase_naming_the_character(void **state)
{
    assert_int_equal(vg_name_check("dC1", err, sizeof err), -EINVAL);
    assert_err_contains("character 'C' at position 2 is not allowed");
    assert_err_contains("lowercase letters");
}

static void test_name_rejects_dotdot(void **state)
{
    assert_int_equal(vg_name_check("a..b", err, sizeof err), -EINVAL);
    assert_err_contains("invalid name 'a..b': must not contain '..'");
}

static void test_name_rejects_punctuation_at_either_end(void **state)
{
    const char *bad[] = {"-a", "a-", ".a", "a.", "_a", "a_", "..", "."};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        assert_int_equal(vg_name_check(bad[i], err, sizeof err), -EINVAL);
        assert_err_contains("must start and end with a letter or digit");
    }
}

static void test_name_rejects_slash_space_and_other_punctuation(void **state)
{
    const char *bad[] = {"a/b", "a b",  "a:b",  "a;b",        "a$b",
                         "a'b", "a\"b", "a\\b", "caf\xc3\xa9"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        assert_int_equal(vg_name_check(bad[i], err, sizeof err), -EINVAL);
        assert_err_contains("is not allowed");
    }
}

static void test_name_shows_unprintable_characters_escaped(void **state)
{
    assert_int_equal(vg_name_check("a\nb", err, sizeof err), -EINVAL);
    assert_err_contains("character \\x0a at position 2");
    assert_null(strchr(err, '\n'));
    assert_int_equal(vg_name_check("caf\xc3\xa9", err, sizeof err), -EINVAL);
    assert_err_contains("\\xc3 at position 4");
}

static void test_name_check_accepts_no_error_buffer(void **state)
{
    assert_int_equal(vg_name_check("Bad", NULL, 0), -EINVAL);
    assert_int_equal(vg_name_check("good", NULL, 0), 0);
}

static void test_label_key_accepts_mixed_case_and_slash(void **state)
{
    assert_int_equal(vg_label_key_check("env", err, sizeof err), 0);
    assert_int_equal(vg_label_key_check("Env", err, sizeof err), 0);
    assert_int_equal(vg_label_key_check("vigil.io/owner-team", err, sizeof err), 0);
    assert_int_equal(vg_label_key_check("a_B.c-9", err, sizeof err), 0);
}

static void test_label_key_rejects_empty(void **state)
{
    assert_int_equal(vg_label_key_check("", err, sizeof err), -EINVAL);
    assert_err_contains("invalid label key: must not be empty");
}

static void test_label_key_rejects_dotdot(void **state)
{
    assert_int_equal(vg_label_key_check("a..b", err, sizeof err), -EINVAL);
    assert_err_contains("must not contain '..'");
}

static void test_label_key_rejects_punctuation_at_either_end(void **state)
{
    const char *bad[] = {"/a", "a/", "-a", "a-", ".a", "a."};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        assert_int_equal(vg_label_key_check(bad[i], err, sizeof err), -EINVAL);
        assert_err_contains("must start and end with a letter or digit");
    }
}

static void test_label_key_rejects_space_and_equals(void **state)
{
    assert_int_equal(vg_label_key_check("a b", err, sizeof err), -EINVAL);
    assert_err_contains("invalid label key: character ' ' at position 2");
    /* '=' and '!' would break selectors like "k=v,k2!=v2" */
    assert_int_equal(vg_label_key_check("a=b", err, sizeof err), -EINVAL);
    assert_int_equal(vg_label_key_check("a!b", err, sizeof err), -EINVAL);
    assert_int_equal(vg_label_key_check("a,b", err, sizeof err), -EINVAL);
}

static void test_label_key_rejects_64_characters(void **state)
{
    char key[65];
    memset(key, 'K', 64);
    key[64] = '\0';
    assert_int_equal(vg_label_key_check(key, err, sizeof err), -EINVAL);
    key[63] = '\0';
    assert_int_equal(vg_label_key_check(key, err, sizeof err), 0);
}

static void test_label_value_accepts_empty(void **state)
{
    assert_int_equal(vg_label_value_check("", err, sizeof err), 0);
}

static void test_label_value_has_no_first_last_rule(void **state)
{
    assert_int_equal(vg_label_value_check("-x_", err, sizeof err), 0);
    assert_int_equal(vg_label_value_check("Prod.2", err, sizeof err), 0);
}

static void test_label_value_rejects_slash_space_and_comma(void **state)
{
    const char *bad[] = {"a/b", "a b", "a,b", "a=b"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        assert_int_equal(vg_label_value_check(bad[i], err, sizeof err), -EINVAL);
        assert_err_contains("invalid label value: character");
    }
}

static void test_label_value_rejects_64_characters(void **state)
{
    char value[65];
    memset(value, 'v', 64);
    value[64] = '\0';
    assert_int_equal(vg_label_value_check(value, err, sizeof err), -EINVAL);
    assert_err_contains("at most 63 allowed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_accepts_lowercase_digits_dot_dash_underscore),
        cmocka_unit_test(test_name_accepts_63_characters),
        cmocka_unit_test(test_name_rejects_64_characters),
        cmocka_unit_test(test_name_rejects_empty),
        cmocka_unit_test(test_name_rejects_null),
        cmocka_unit_test(test_name_rejects_uppercase_naming_the_character),
        cmocka_unit_test(test_name_rejects_dotdot),
        cmocka_unit_test(test_name_rejects_punctuation_at_either_end),
        cmocka_unit_test(test_name_rejects_slash_space_and_other_punctuation),
        cmocka_unit_test(test_name_shows_unprintable_characters_escaped),
        cmocka_unit_test(test_name_check_accepts_no_error_buffer),
        cmocka_unit_test(test_label_key_accepts_mixed_case_and_slash),
        cmocka_unit_test(test_label_key_rejects_empty),
        cmocka_unit_test(test_label_key_rejects_dotdot),
        cmocka_unit_test(test_label_key_rejects_punctuation_at_either_end),
        cmocka_unit_test(test_label_key_rejects_space_and_equals),
        cmocka_unit_test(test_label_key_rejects_64_characters),
        cmocka_unit_test(test_label_value_accepts_empty),
        cmocka_unit_test(test_label_value_has_no_first_last_rule),
        cmocka_unit_test(test_label_value_rejects_slash_space_and_comma),
        cmocka_unit_test(test_label_value_rejects_64_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

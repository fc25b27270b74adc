/*
 * test_text.c - cleaning echoed outside bytes (core/text.h): the result is
 * always valid UTF-8 without control bytes, cut only on a character
 * boundary, and never longer than its buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/text.h"
#include "core/utf8.h"

static void test_valid_text_is_copied_as_it_is(void **unused)
{
    char out[64];
    const char *in = "caf\xc3\xa9 \xe2\x82\xac 1";
    assert_int_equal(vg_text_clean(out, sizeof out, in, strlen(in), 0), strlen(in));
    assert_string_equal(out, in);
}

static void test_invalid_bytes_and_controls_become_visible_escapes(void **unused)
{
    char out[64];
    const char in[] = "a\xff" "b\x00" "c\n\x7f\xc3";
    vg_text_clean(out, sizeof out, in, sizeof in - 1, 0);
    assert_string_equal(out, "a\\xffb\\x00c\\x0a\\x7f\\xc3");
    vg_text_clean(out, sizeof out, "x\ny\tz", 5, VG_TEXT_KEEP_NEWLINES);
    assert_string_equal(out, "x\ny\tz");
}

static void test_overlong_and_surrogates_are_not_passed_through(void **unused)
{
    char out[64];
    vg_text_clean(out, sizeof out, "\xc0\xaf\xed\xa0\x80", 5, 0);
    assert_string_equal(out, "\\xc0\\xaf\\xed\\xa0\\x80");
}

static void test_cut_lands_on_a_character_boundary(void **unused)
{
    /* "ééééé" is 10 bytes; 8 bytes of room: two characters and "..." */
    char out[9];
    const char *in = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    size_t n = vg_text_clean(out, sizeof out, in, strlen(in), 0);
    assert_true(n < sizeof out);
    assert_int_equal(vg_utf8_check(out, n), n);
    assert_string_equal(out, "\xc3\xa9\xc3\xa9...");
}

static void test_every_cap_gives_valid_text(void **unused)
{
    const char in[] = "\xe2\x82\xac\xff a\x01 \xf0\x9f\x94\xa5 end";
    for (size_t cap = 1; cap < 48; cap++) {
        char out[48];
        memset(out, 'Z', sizeof out);
        size_t n = vg_text_clean(out, cap, in, sizeof in - 1, 0);
        assert_true(n < cap);
        assert_int_equal(out[n], '\0');
        assert_int_equal(out[cap], 'Z'); /* nothing written past cap */
        assert_int_equal(vg_utf8_check(out, n), n);
        assert_false(vg_text_has_control(out, n));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_is_copied_as_it_is),
        cmocka_unit_test(test_invalid_bytes_and_controls_become_visible_escapes),
        cmocka_unit_test(test_overlong_and_surrogates_are_not_passed_through),
        cmocka_unit_test(test_cut_lands_on_a_character_boundary),
        cmocka_unit_test(test_every_cap_gives_valid_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_jsonout.c - vigil's JSON writer produces text that jansson reads
 * back as the same value, for every type, escape and edge case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/jsonout.h"

static char *dump(const json_t *v)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_json_dump(v, &b);
    return (char *)vg_buf_detach(&b, NULL);
}

static void assert_round_trip(json_t *v)
{
    char *text = dump(v);
    json_error_t jerr;
    json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!back)
        fail_msg("not JSON: %s (%s)", text, jerr.text);
    assert_true(json_equal(v, back));
    json_decref(back);
    free(text);
    json_decref(v);
}

static void test_scalars_read_back_equal(void **unused)
{
    assert_round_trip(json_integer(0));
    assert_round_trip(json_integer(-1));
    assert_round_trip(json_integer(INT64_MAX));
    assert_round_trip(json_integer(INT64_MIN));
    assert_round_trip(json_real(0.1));
    assert_round_trip(json_real(-1e300));
    assert_round_trip(json_real(3.0)); /* must stay a real, not become 3 */
    assert_round_trip(json_true());
    assert_round_trip(json_false());
    assert_round_trip(json_null());
}

/* Readings print as people wrote them, and still read back exactly. */
static void test_reals_in_their_shortest_exact_form(void **unused)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {{35.2, "35.2"}, {21.6, "21.6"}, {0.1 + 0.2, "0.30000000000000004"},
                 {1.0 / 3, "0.3333333333333333"}, {-7.5e-05, "-7.5e-05"}, {3.0, "3.0"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_real(cases[i].v);
        char *text = dump(v);
        assert_string_equal(text, cases[i].text);
        free(text);
        assert_round_trip(v);
    }
}

static void test_strings_escape_quotes_backslashes_and_controls(void **unused)
{
    assert_round_trip(json_string("plain"));
    assert_round_trip(json_string("quote \" backslash \\ slash /"));
    assert_round_trip(json_string("\b\f\n\r\t\x01\x1f\x7f"));
    assert_round_trip(json_string("Brussels \xc3\xa9\xe2\x82\xac \xf0\x9f\x94\xa5"));
    assert_round_trip(json_stringn("nul\0inside", 10));
    assert_round_trip(json_string(""));
    json_t *s = json_string("a\nb\"c");
    char *text = dump(s);
    assert_string_equal(text, "\"a\\nb\\\"c\"");
    free(text);
    json_decref(s);
}

static void test_containers_keep_order_and_nesting(void **unused)
{
    json_t *v = json_pack("{s:i, s:[i, s, {s:n}], s:{}, s:[]}", "z", 1, "a", 2, "x", "k", "e",
                          "f");
    char *text = dump(v);
    assert_string_equal(text, "{\"z\":1,\"a\":[2,\"x\",{\"k\":null}],\"e\":{},\"f\":[]}");
    free(text);
    assert_round_trip(v);
    json_t *deep = json_array();
    json_t *at = deep;
    for (int i = 0; i < 500; i++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    assert_round_trip(deep);
}

static void test_keys_are_escaped_too(void **unused)
{
    assert_round_trip(json_pack("{s:i, s:i}", "we\"ird\\key", 1, "line\nbreak", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_read_back_equal),
        cmocka_unit_test(test_reals_in_their_shortest_exact_form),
        cmocka_unit_test(test_strings_escape_quotes_backslashes_and_controls),
        cmocka_unit_test(test_containers_keep_order_and_nesting),
        cmocka_unit_test(test_keys_are_escaped_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_selector.c - label selectors ("k=v,k2!=v2,k3,!k4") as `vigil get -l`
 * and GET /api/v1/objects/{kind}?selector= take them: what each operator
 * parses to, which texts are refused (empty terms, a trailing comma, too
 * many terms, keys and values outside the label character sets), and which
 * labels objects a parsed selector matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "state/selector.h"

static char err[256];

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

static vg_selector_t parse_ok(const char *text)
{
    vg_selector_t sel;
    err[0] = '\0';
    if (vg_selector_parse(text, &sel, err, sizeof err) != 0)
        fail_msg("selector '%s' refused: %s", text ? text : "(null)", err);
    return sel;
}

static void assert_refused(const char *text, const char *reason)
{
    vg_selector_t sel;
    err[0] = '\0';
    assert_int_equal(vg_selector_parse(text, &sel, err, sizeof err), -EINVAL);
    assert_err_contains(reason);
}

static void assert_term(const vg_selector_t *sel, size_t i, enum vg_sel_op op, const char *key,
                        const char *value)
{
    assert_true(i < sel->n_terms);
    assert_int_equal(sel->terms[i].op, op);
    assert_string_equal(sel->terms[i].key, key);
    assert_string_equal(sel->terms[i].value, value);
}

/* Whether text selects the labels given as JSON (NULL: no labels at all). */
static int selects(const char *text, const char *labels_json)
{
    vg_selector_t sel = parse_ok(text);
    json_t *labels = labels_json ? json_loads(labels_json, 0, NULL) : NULL;
    if (labels_json && !labels)
        fail_msg("bad test labels %s", labels_json);
    int matched = vg_selector_matches(&sel, labels);
    json_decref(labels);
    return matched;
}

/* ---- parsing: one term per operator ------------------------------------ */

static void test_equals_parses_key_and_value(void **state)
{
    vg_selector_t sel = parse_ok("tier=gold");
    assert_int_equal(sel.n_terms, 1);
    assert_term(&sel, 0, VG_SEL_EQ, "tier", "gold");
}

static void test_double_equals_is_the_same_as_equals(void **state)
{
    vg_selector_t sel = parse_ok("tier==gold");
    assert_int_equal(sel.n_terms, 1);
    assert_term(&sel, 0, VG_SEL_EQ, "tier", "gold");
}

static void test_not_equals_parses_to_ne(void **state)
{
    vg_selector_t sel = parse_ok("tier!=gold");
    assert_int_equal(sel.n_terms, 1);
    assert_term(&sel, 0, VG_SEL_NE, "tier", "gold");
}

static void test_bare_key_means_the_key_exists(void **state)
{
    vg_selector_t sel = parse_ok("tier");
    assert_int_equal(sel.n_terms, 1);
    assert_term(&sel, 0, VG_SEL_EXISTS, "tier", "");
}

static void test_bang_key_means_the_key_is_absent(void **state)
{
    vg_selector_t sel = parse_ok("!tier");
    assert_int_equal(sel.n_terms, 1);
    assert_term(&sel, 0, VG_SEL_ABSENT, "tier", "");
}

static void test_terms_are_kept_in_order_and_spaces_around_them_ignored(void **state)
{
    vg_selector_t sel = parse_ok("site=dc1, tier != gold ,owner,!legacy,example.com/team==ops");
    assert_int_equal(sel.n_terms, 5);
    assert_term(&sel, 0, VG_SEL_EQ, "site", "dc1");
    assert_term(&sel, 1, VG_SEL_NE, "tier", "gold");
    assert_term(&sel, 2, VG_SEL_EXISTS, "owner", "");
    assert_term(&sel, 3, VG_SEL_ABSENT, "legacy", "");
    assert_term(&sel, 4, VG_SEL_EQ, "example.com/team", "ops");
}

static void test_equals_an_empty_value_is_allowed(void **state)
{
    vg_selector_t sel = parse_ok("note=");
    assert_int_equal(sel.n_terms, 1);
    assert_term(&sel, 0, VG_SEL_EQ, "note", "");
}

static void test_empty_or_null_text_is_a_selector_of_no_terms(void **state)
{
    vg_selector_t sel = parse_ok("");
    assert_int_equal(sel.n_terms, 0);
    sel = parse_ok(NULL);
    assert_int_equal(sel.n_terms, 0);
}

/* ---- parsing: what is refused ------------------------------------------ */

static void test_trailing_comma_is_an_empty_term(void **state)
{
    assert_refused("tier=gold,", "selector 'tier=gold,' has an empty term");
    assert_refused(",", "has an empty term");
}

static void test_empty_terms_anywhere_are_refused(void **state)
{
    assert_refused(",tier=gold", "selector ',tier=gold' has an empty term");
    assert_refused("site=dc1,,tier=gold", "has an empty term");
}

static void test_sixteen_terms_are_allowed_seventeen_refused(void **state)
{
    const char *sixteen = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p";
    vg_selector_t sel = parse_ok(sixteen);
    assert_int_equal(sel.n_terms, VG_SELECTOR_MAX_TERMS);
    assert_refused("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "selector has more than 16 terms");
}

static void test_invalid_keys_are_refused(void **state)
{
    assert_refused("=gold", "invalid label key");        /* empty key */
    assert_refused("!=gold", "invalid label key");       /* empty key of != */
    assert_refused("!", "invalid label key");            /* empty key of ! */
    assert_refused(" ", "invalid label key");            /* only spaces */
    assert_refused("-tier=gold", "invalid label key");   /* must start with alnum */
    assert_refused("tier-=gold", "invalid label key");   /* must end with alnum */
    assert_refused("my tier=gold", "invalid label key"); /* space inside */
    assert_refused("a..b", "invalid label key");         /* ".." */
    assert_refused("ti$r", "invalid label key");         /* punctuation */
    assert_refused("!tier=gold", "invalid label key");   /* '!' is not a key character */
    assert_refused("site=dc1,b@d", "selector term 'b@d': invalid label key");
}

static void test_keys_longer_than_63_characters_are_refused(void **state)
{
    char text[80];
    memset(text, 'k', 63);
    text[63] = '\0';
    vg_selector_t sel = parse_ok(text);
    assert_int_equal(strlen(sel.terms[0].key), 63);
    memset(text, 'k', 64);
    text[64] = '\0';
    assert_refused(text, "invalid label key");
}

static void test_invalid_values_are_refused(void **state)
{
    assert_refused("tier=gold/silver", "invalid label value"); /* '/' only in keys */
    assert_refused("tier=a=b", "invalid label value");
    assert_refused("tier!=go ld", "invalid label value");
    char text[80];
    snprintf(text, sizeof text, "k=%064d", 0); /* 64 characters */
    assert_refused(text, "invalid label value");
}

/* ---- matching ---------------------------------------------------------- */

static void test_empty_selector_matches_everything(void **state)
{
    assert_true(selects("", "{}"));
    assert_true(selects("", "{\"tier\":\"gold\"}"));
    assert_true(selects(NULL, NULL));
}

static void test_equals_matches_only_that_value(void **state)
{
    assert_true(selects("tier=gold", "{\"tier\":\"gold\",\"site\":\"dc1\"}"));
    assert_false(selects("tier=gold", "{\"tier\":\"silver\"}"));
    assert_false(selects("tier=gold", "{\"tier\":\"Gold\"}")); /* case counts */
    assert_false(selects("tier=gold", "{\"tier\":\"gold-plus\"}"));
    assert_false(selects("tier=gold", "{}"));
    assert_false(selects("tier==gold", "{\"site\":\"gold\"}"));
}

static void test_equals_empty_matches_an_empty_value_not_a_missing_key(void **state)
{
    assert_true(selects("note=", "{\"note\":\"\"}"));
    assert_false(selects("note=", "{}"));
}

static void test_not_equals_matches_other_values_and_missing_keys(void **state)
{
    assert_true(selects("tier!=gold", "{\"tier\":\"silver\"}"));
    assert_true(selects("tier!=gold", "{}"));
    assert_true(selects("tier!=gold", NULL));
    assert_false(selects("tier!=gold", "{\"tier\":\"gold\"}"));
}

static void test_exists_matches_any_value_including_empty(void **state)
{
    assert_true(selects("owner", "{\"owner\":\"ops\"}"));
    assert_true(selects("owner", "{\"owner\":\"\"}"));
    assert_false(selects("owner", "{\"owners\":\"ops\"}"));
    assert_false(selects("owner", NULL));
}

static void test_absent_matches_only_without_the_key(void **state)
{
    assert_true(selects("!legacy", "{\"tier\":\"gold\"}"));
    assert_true(selects("!legacy", NULL));
    assert_false(selects("!legacy", "{\"legacy\":\"\"}"));
    assert_false(selects("!legacy", "{\"legacy\":\"yes\"}"));
}

static void test_every_term_must_match(void **state)
{
    const char *sel = "site=dc1,tier!=gold,owner,!legacy";
    assert_true(selects(sel, "{\"site\":\"dc1\",\"tier\":\"silver\",\"owner\":\"ops\"}"));
    assert_true(selects(sel, "{\"site\":\"dc1\",\"owner\":\"ops\"}"));
    assert_false(selects(sel, "{\"site\":\"dc2\",\"owner\":\"ops\"}"));
    assert_false(selects(sel, "{\"site\":\"dc1\",\"tier\":\"gold\",\"owner\":\"ops\"}"));
    assert_false(selects(sel, "{\"site\":\"dc1\"}"));
    assert_false(selects(sel, "{\"site\":\"dc1\",\"owner\":\"ops\",\"legacy\":\"1\"}"));
}

static void test_keys_with_a_prefix_match_exactly(void **state)
{
    assert_true(selects("example.com/team=ops", "{\"example.com/team\":\"ops\"}"));
    assert_false(selects("example.com/team=ops", "{\"team\":\"ops\"}"));
}

static void test_absent_term_with_bad_key_is_quoted_whole(void **state)
{
    assert_refused("!-a,b", "selector term '!-a'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_term_with_bad_key_is_quoted_whole),
        cmocka_unit_test(test_equals_parses_key_and_value),
        cmocka_unit_test(test_double_equals_is_the_same_as_equals),
        cmocka_unit_test(test_not_equals_parses_to_ne),
        cmocka_unit_test(test_bare_key_means_the_key_exists),
        cmocka_unit_test(test_bang_key_means_the_key_is_absent),
        cmocka_unit_test(test_terms_are_kept_in_order_and_spaces_around_them_ignored),
        cmocka_unit_test(test_equals_an_empty_value_is_allowed),
        cmocka_unit_test(test_empty_or_null_text_is_a_selector_of_no_terms),
        cmocka_unit_test(test_trailing_comma_is_an_empty_term),
        cmocka_unit_test(test_empty_terms_anywhere_are_refused),
        cmocka_unit_test(test_sixteen_terms_are_allowed_seventeen_refused),
        cmocka_unit_test(test_invalid_keys_are_refused),
        cmocka_unit_test(test_keys_longer_than_63_characters_are_refused),
        cmocka_unit_test(test_invalid_values_are_refused),
        cmocka_unit_test(test_empty_selector_matches_everything),
        cmocka_unit_test(test_equals_matches_only_that_value),
        cmocka_unit_test(test_equals_empty_matches_an_empty_value_not_a_missing_key),
        cmocka_unit_test(test_not_equals_matches_other_values_and_missing_keys),
        cmocka_unit_test(test_exists_matches_any_value_including_empty),
        cmocka_unit_test(test_absent_matches_only_without_the_key),
        cmocka_unit_test(test_every_term_must_match),
        cmocka_unit_test(test_keys_with_a_prefix_match_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

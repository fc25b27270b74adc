/*
 * test_training_input.c - what training data vigil accepts: the Course and
 * Completion kinds (errors name the field) and the CSV importer's reading
 * (every bad line named by number and column, nothing returned if one is
 * bad, stable object names that fit the 63-character rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/names.h"
#include "schema/schema.h"
#include "training/training_csv.h"

/* Validates a manifest; returns rc and fills field/err. */
static int validate(const char *text, char *field, char *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr), *norm = NULL;
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    field[0] = err[0] = '\0';
    int rc = vg_schema_validate(doc, NULL, NULL, &norm, err, 512, field, 128);
    json_decref(doc);
    json_decref(norm);
    return rc;
}

static void expect_course_reject(const char *spec, const char *field, const char *message)
{
    char text[1024], got_field[128], err[512];
    snprintf(text, sizeof text, "{\"kind\":\"Course\",\"name\":\"sec\",\"spec\":%s}", spec);
    assert_int_equal(validate(text, got_field, err), -EINVAL);
    if (strcmp(got_field, field) || !strstr(err, message))
        fail_msg("got field '%s' err '%s', expected '%s' / '%s'", got_field, err, field,
                 message);
}

static void test_course_needs_someone_to_train(void **state)
{
    char field[128], err[512];
    assert_int_equal(validate("{\"kind\":\"Course\",\"name\":\"sec\",\"spec\":{\"title\":\"S\","
                              "\"renewal_days\":365,\"grace_days\":0,\"required_for\":"
                              "{\"people\":[\"ann\"],\"teams\":[\"ops\"],\"all\":false}}}",
                              field, err),
                     0);
    const char *base = "{\"title\":\"S\",\"renewal_days\":365,\"required_for\":%s}";
    char spec[512];
    snprintf(spec, sizeof spec, base, "{}");
    expect_course_reject(spec, "spec.required_for", "names nobody");
    snprintf(spec, sizeof spec, base, "{\"all\":false,\"people\":[]}");
    expect_course_reject(spec, "spec.required_for", "names nobody");
    snprintf(spec, sizeof spec, base, "{\"all\":\"yes\"}");
    expect_course_reject(spec, "spec.required_for.all", "expected boolean");
    snprintf(spec, sizeof spec, base, "{\"people\":[\"Ann Smith\"]}");
    expect_course_reject(spec, "spec.required_for.people[0]", "spec.required_for.people[0]: ");
    snprintf(spec, sizeof spec, base, "{\"teams\":\"ops\"}");
    expect_course_reject(spec, "spec.required_for.teams", "expected a list of names");
    snprintf(spec, sizeof spec, base, "{\"groups\":[\"ops\"]}");
    expect_course_reject(spec, "spec.required_for", "unknown field (people, teams, all)");
    expect_course_reject("{\"title\":\"S\",\"renewal_days\":365}", "spec.required_for",
                         "required");
}

static void test_course_renewal_and_grace_are_bounded(void **state)
{
    expect_course_reject("{\"title\":\"S\",\"renewal_days\":0,\"required_for\":{\"all\":true}}",
                         "spec.renewal_days", "out of range 1..3650");
    expect_course_reject(
        "{\"title\":\"S\",\"renewal_days\":3651,\"required_for\":{\"all\":true}}",
        "spec.renewal_days", "out of range");
    expect_course_reject("{\"title\":\"S\",\"renewal_days\":9,\"grace_days\":366,"
                         "\"required_for\":{\"all\":true}}",
                         "spec.grace_days", "out of range 0..365");
    expect_course_reject("{\"renewal_days\":9,\"required_for\":{\"all\":true}}", "spec.title",
                         "required");
}

static void test_completion_date_must_exist(void **state)
{
    char field[128], err[512];
    const char *fmt = "{\"kind\":\"Completion\",\"name\":\"c1\",\"spec\":{\"person\":\"ann\","
                      "\"course\":\"sec\",\"completed_on\":\"%s\"}}";
    char text[512];
    snprintf(text, sizeof text, fmt, "2024-02-29");
    assert_int_equal(validate(text, field, err), 0);
    snprintf(text, sizeof text, fmt, "2026-02-30");
    assert_int_equal(validate(text, field, err), -EINVAL);
    assert_string_equal(field, "spec.completed_on");
    assert_string_equal(err, "spec.completed_on: '2026-02-30' is not a date (February 2026 "
                             "has 28 days)");
    snprintf(text, sizeof text, fmt, "15/03/2026");
    assert_int_equal(validate(text, field, err), -EINVAL);
    assert_string_equal(field, "spec.completed_on");
    assert_int_equal(validate("{\"kind\":\"Completion\",\"name\":\"c1\",\"spec\":{\"person\":"
                              "\"ann\",\"completed_on\":\"2026-01-01\"}}",
                              field, err),
                     -EINVAL);
    assert_string_equal(field, "spec.course");
}

/* Parses CSV text; returns rc, sets *out (manifests or errors). */
static int csv(const char *text, json_t **out)
{
    json_t *manifests = NULL, *errors = NULL;
    int rc = vg_training_csv_parse(text, strlen(text), &manifests, &errors);
    assert_true(rc == 0 ? manifests && !errors : !manifests && errors);
    *out = rc == 0 ? manifests : errors;
    return rc;
}

static void assert_has_error(const json_t *errors, const char *message)
{
    size_t i;
    const json_t *e;
    json_array_foreach(errors, i, e) if (strcmp(json_string_value(e), message) == 0) return;
    fail_msg("no error '%s' in %s", message, json_dumps(errors, 0));
}

static void test_csv_good_file_gives_named_manifests(void **state)
{
    json_t *m;
    assert_int_equal(csv("\xef\xbb\xbfperson,course,completed_on,evidence\r\n"
                         "ann,sec,2026-01-15,CERT-1\r\n"
                         "\r\n"
                         "  bob , sec , 2025-12-01 , \"cert, with comma \"\"x\"\"\"\r\n"
                         "cat,sec,2025-11-01,\r\n",
                         &m),
                     0);
    assert_int_equal(json_array_size(m), 3);
    const json_t *bob = json_array_get(m, 1);
    assert_string_equal(json_string_value(json_object_get(bob, "kind")), "Completion");
    assert_string_equal(json_string_value(json_object_get(bob, "name")),
                        "bob--sec--2025-12-01");
    const json_t *spec = json_object_get(bob, "spec");
    assert_string_equal(json_string_value(json_object_get(spec, "person")), "bob");
    assert_string_equal(json_string_value(json_object_get(spec, "evidence")),
                        "cert, with comma \"x\"");
    assert_null(json_object_get(json_object_get(json_array_get(m, 2), "spec"), "evidence"));
    json_decref(m);
    /* columns in another order, no evidence column */
    assert_int_equal(csv("Completed_On,Course,Person\n2026-01-15,sec,ann\n", &m), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "name")),
                        "ann--sec--2026-01-15");
    json_decref(m);
}

static void test_csv_bad_lines_are_all_named_and_nothing_is_returned(void **state)
{
    json_t *e;
    assert_int_equal(csv("person,course,completed_on\n"
                         "ann,sec,2026-01-15\n"
                         "Ann Smith,sec,2026-01-15\n"
                         "bob,,2026-01-15\n"
                         "cat,sec,2026-02-30\n"
                         "dan,sec\n"
                         "eve,sec,\"2026-01-01\n"
                         "ann,sec,2026-01-15\n"
                         "fay,sec,2026-01-15\n",
                         &e),
                     -EINVAL);
    assert_int_equal(json_array_size(e), 6);
    assert_has_error(e, "line 3, person: 'Ann Smith' is not a valid name: character 'A' at "
                        "position 1 is not allowed (use lowercase letters, digits, '.', '-' "
                        "and '_')");
    assert_has_error(e, "line 4, course: empty");
    assert_has_error(e, "line 5, completed_on: '2026-02-30' is not a date (February 2026 has "
                        "28 days)");
    assert_has_error(e, "line 6: 2 columns, the header names 3");
    assert_has_error(e, "line 7: a quote opened in column 3 is not closed");
    assert_has_error(e, "line 8: the same completion as line 2");
    json_decref(e);
}

static void test_csv_header_must_name_the_columns(void **state)
{
    json_t *e;
    assert_int_equal(csv("person,course,date\nann,sec,2026-01-01\n", &e), -EINVAL);
    assert_has_error(e, "line 1: unknown column 'date' (the header names person, course, "
                        "completed_on and optionally evidence)");
    json_decref(e);
    assert_int_equal(csv("person,course,evidence\n", &e), -EINVAL);
    assert_has_error(e, "line 1: no completed_on column (the header names person, course, "
                        "completed_on and optionally evidence)");
    json_decref(e);
    assert_int_equal(csv("", &e), -EINVAL);
    assert_has_error(e, "the file is empty: expected a header line "
                        "(person,course,completed_on[,evidence])");
    json_decref(e);
    assert_int_equal(csv("person,course,completed_on\n\n", &e), -EINVAL);
    assert_has_error(e, "no completions after the header");
    json_decref(e);
}

static void test_csv_hostile_bytes_give_clean_messages(void **state)
{
    const char text[] = "person,course,completed_on,evidence\n"
                        "a\x01,sec,2026-01-01,x\n"
                        "ann,sec,2026-01-01,\xff\xfe\n"
                        "bob,sec,2026-01-01,a\x00z\n";
    json_t *manifests = NULL, *errors = NULL;
    assert_int_equal(vg_training_csv_parse(text, sizeof text - 1, &manifests, &errors),
                     -EINVAL);
    assert_null(manifests);
    assert_int_equal(json_array_size(errors), 3);
    assert_has_error(errors, "line 3, evidence: holds a NUL byte or is not valid UTF-8");
    assert_has_error(errors, "line 4, evidence: holds a NUL byte or is not valid UTF-8");
    const char *first = json_string_value(json_array_get(errors, 0));
    assert_non_null(strstr(first, "line 2, person: 'a\\x01'"));
    json_decref(errors);
}

static void test_csv_many_bad_lines_are_counted(void **state)
{
    char text[8192];
    size_t used = (size_t)snprintf(text, sizeof text, "person,course,completed_on\n");
    for (int i = 0; i < 50; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "p%d,sec,2026-13-01\n", i);
    json_t *e;
    assert_int_equal(csv(text, &e), -EINVAL);
    assert_int_equal(json_array_size(e), VG_TRAINING_CSV_MAX_ERRORS + 1);
    assert_string_equal(json_string_value(json_array_get(e, VG_TRAINING_CSV_MAX_ERRORS)),
                        "... and 30 more bad lines");
    json_decref(e);
}

static void test_completion_names_fit_and_are_stable(void **state)
{
    char a[VG_NAME_MAX + 1], b[VG_NAME_MAX + 1], why[256];
    const char *person = "a-rather-long-person-name.with.dots-and-more-x";
    vg_training_completion_name(person, "security-awareness-2026-refresher", "2026-01-15", a,
                                sizeof a);
    vg_training_completion_name(person, "security-awareness-2026-refresher", "2026-01-15", b,
                                sizeof b);
    assert_string_equal(a, b);
    assert_true(strlen(a) <= VG_NAME_MAX);
    assert_int_equal(vg_name_check(a, why, sizeof why), 0);
    vg_training_completion_name(person, "security-awareness-2026-refresher", "2026-01-16", b,
                                sizeof b);
    assert_string_not_equal(a, b);
    vg_training_completion_name("ann", "sec", "2026-01-15", a, sizeof a);
    assert_string_equal(a, "ann--sec--2026-01-15");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_course_needs_someone_to_train),
        cmocka_unit_test(test_course_renewal_and_grace_are_bounded),
        cmocka_unit_test(test_completion_date_must_exist),
        cmocka_unit_test(test_csv_good_file_gives_named_manifests),
        cmocka_unit_test(test_csv_bad_lines_are_all_named_and_nothing_is_returned),
        cmocka_unit_test(test_csv_header_must_name_the_columns),
        cmocka_unit_test(test_csv_hostile_bytes_give_clean_messages),
        cmocka_unit_test(test_csv_many_bad_lines_are_counted),
        cmocka_unit_test(test_completion_names_fit_and_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

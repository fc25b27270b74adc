/*
 * test_training.c - who must take which course and who is late: renewal,
 * grace, teams, all, never completed, the latest completion counting, and
 * completions nobody asked for being ignored. "Today" is fixed at
 * 2026-03-15 (UTC) so every date below is read against it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "training/caldate.h"
#include "training/training.h"

static int64_t today_ms(void)
{
    int32_t day;
    assert_int_equal(vg_caldate_parse("2026-03-15", 10, &day, NULL, 0), 0);
    return (int64_t)day * 86400000 + 13 * 3600000; /* 13:00 UTC */
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return v;
}

/* A Course object renewed every `renewal` days with `grace`, required_for as JSON. */
static json_t *course(const char *name, int renewal, int grace, const char *required_for)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"kind\":\"Course\",\"name\":\"%s\",\"spec\":{\"title\":\"Title of %s\","
             "\"renewal_days\":%d,\"grace_days\":%d,\"required_for\":%s}}",
             name, name, renewal, grace, required_for);
    return parse(text);
}

static json_t *completion(const char *person, const char *course_name, const char *date)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"kind\":\"Completion\",\"name\":\"%s--%s--%s\",\"spec\":{\"person\":\"%s\","
             "\"course\":\"%s\",\"completed_on\":\"%s\",\"evidence\":\"cert-%s\"}}",
             person, course_name, date, person, course_name, date, date);
    return parse(text);
}

static json_t *person(const char *name, const char *manager)
{
    json_t *spec = manager ? json_pack("{s:s}", "manager", manager) : json_object();
    return json_pack("{s:s, s:s, s:o}", "kind", "Person", "name", name, "spec", spec);
}

static json_t *array_of(json_t *a, json_t *b, json_t *c, json_t *d)
{
    json_t *arr = json_array();
    json_t *all[] = {a, b, c, d};
    for (size_t i = 0; i < 4; i++)
        if (all[i])
            json_array_append_new(arr, all[i]);
    return arr;
}

/* Runs the computation; the caller decrefs. */
static json_t *status_of(json_t *courses, json_t *completions, json_t *people, json_t *teams)
{
    json_t *items = NULL;
    assert_int_equal(
        vg_training_status(courses, completions, people, teams, today_ms(), &items), 0);
    json_decref(courses);
    json_decref(completions);
    json_decref(people);
    json_decref(teams);
    assert_non_null(items);
    return items;
}

/* The item of person for course, or fails. */
static const json_t *item(const json_t *items, const char *who, const char *course_name)
{
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "person")), who) &&
            !strcmp(json_string_value(json_object_get(it, "course")), course_name))
            return it;
    }
    fail_msg("no item for %s / %s", who, course_name);
    return NULL;
}

static const char *str(const json_t *it, const char *key)
{
    const json_t *v = json_object_get(it, key);
    return json_is_null(v) ? "null" : json_string_value(v);
}

static void test_training_renewal_gives_due_date_and_status(void **state)
{
    json_t *items = status_of(
        array_of(course("sec", 365, 0, "{\"people\":[\"ann\",\"bob\",\"cat\"]}"), NULL, NULL,
                 NULL),
        array_of(completion("ann", "sec", "2025-03-01"), completion("bob", "sec", "2025-04-01"),
                 completion("cat", "sec", "2025-06-01"), NULL),
        NULL, NULL);
    assert_int_equal(json_array_size(items), 3);
    const json_t *ann = item(items, "ann", "sec");
    assert_string_equal(str(ann, "status"), "overdue");
    assert_string_equal(str(ann, "completed_on"), "2025-03-01");
    assert_string_equal(str(ann, "due_on"), "2026-03-01");
    assert_string_equal(str(ann, "title"), "Title of sec");
    assert_string_equal(str(ann, "evidence"), "cert-2025-03-01");
    assert_string_equal(str(item(items, "bob", "sec"), "status"), "due-soon");
    assert_string_equal(str(item(items, "bob", "sec"), "due_on"), "2026-04-01");
    assert_string_equal(str(item(items, "cat", "sec"), "status"), "ok");
    json_decref(items);
}

/* Due 2026-03-01: with 14 days of grace the 15th is the last day of it. */
static void test_training_grace_delays_overdue(void **state)
{
    json_t *items =
        status_of(array_of(course("g13", 365, 13, "{\"people\":[\"ann\"]}"),
                           course("g14", 365, 14, "{\"people\":[\"ann\"]}"), NULL, NULL),
                  array_of(completion("ann", "g13", "2025-03-01"),
                           completion("ann", "g14", "2025-03-01"), NULL, NULL),
                  NULL, NULL);
    assert_string_equal(str(item(items, "ann", "g13"), "status"), "overdue");
    assert_string_equal(str(item(items, "ann", "g14"), "status"), "due-soon");
    json_decref(items);
}

static void test_training_due_soon_starts_thirty_days_before(void **state)
{
    /* renewal 30 from 2026-02-13 is due 2026-03-15 (today); from
     * 2026-03-14 it is due 2026-04-13, 29 days away; 2026-03-16 -> 31 */
    json_t *items = status_of(
        array_of(course("c", 30, 0, "{\"people\":[\"ann\",\"bob\",\"cat\"]}"), NULL, NULL,
                 NULL),
        array_of(completion("ann", "c", "2026-02-13"), completion("bob", "c", "2026-03-14"),
                 completion("cat", "c", "2026-03-16"), NULL),
        NULL, NULL);
    assert_string_equal(str(item(items, "ann", "c"), "status"), "due-soon");
    assert_string_equal(str(item(items, "bob", "c"), "status"), "due-soon");
    assert_string_equal(str(item(items, "cat", "c"), "status"), "ok");
    json_decref(items);
}

static void test_training_team_members_must_take_team_courses(void **state)
{
    json_t *teams = parse("[{\"kind\":\"Team\",\"name\":\"ops\",\"spec\":{\"members\":"
                          "[\"ann\",\"bob\"]}}]");
    json_t *items = status_of(
        array_of(course("sec", 365, 0, "{\"teams\":[\"ops\",\"no-such-team\"]}"), NULL, NULL,
                 NULL),
        array_of(completion("ann", "sec", "2026-01-01"), NULL, NULL, NULL),
        array_of(person("ann", "mia"), person("bob", "mia"), person("carl", "mia"), NULL),
        teams);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(str(item(items, "ann", "sec"), "status"), "ok");
    assert_string_equal(str(item(items, "bob", "sec"), "status"), "never");
    assert_string_equal(str(item(items, "bob", "sec"), "manager"), "mia");
    json_decref(items);
}

static void test_training_all_means_every_person(void **state)
{
    json_t *items = status_of(
        array_of(course("sec", 365, 0, "{\"all\":true}"), NULL, NULL, NULL),
        array_of(completion("ann", "sec", "2025-01-01"), completion("zed", "sec", "2025-01-01"),
                 NULL, NULL),
        array_of(person("ann", "mia"), person("bob", NULL), person("mia", NULL), NULL), NULL);
    /* zed completed it but is no Person: once people are declared, they are everyone */
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(str(item(items, "ann", "sec"), "status"), "overdue");
    assert_string_equal(str(item(items, "ann", "sec"), "manager"), "mia");
    assert_string_equal(str(item(items, "bob", "sec"), "manager"), "null");
    assert_string_equal(str(item(items, "mia", "sec"), "status"), "never");
    json_decref(items);
}

static void test_training_all_without_people_uses_names_known(void **state)
{
    json_t *items = status_of(
        array_of(course("sec", 365, 0, "{\"all\":true}"),
                 course("fire", 365, 0, "{\"people\":[\"dan\"]}"), NULL, NULL),
        array_of(completion("ann", "sec", "2025-01-01"), NULL, NULL, NULL), NULL, NULL);
    assert_int_equal(json_array_size(items), 3); /* ann, dan for sec; dan for fire */
    assert_string_equal(str(item(items, "ann", "sec"), "status"), "overdue");
    assert_string_equal(str(item(items, "dan", "sec"), "status"), "never");
    assert_string_equal(str(item(items, "dan", "fire"), "status"), "never");
    json_decref(items);
}

static void test_training_never_completed_is_due_at_once(void **state)
{
    json_t *items =
        status_of(array_of(course("sec", 365, 30, "{\"people\":[\"ann\"]}"), NULL, NULL, NULL),
                  json_array(), NULL, NULL);
    const json_t *ann = item(items, "ann", "sec");
    assert_string_equal(str(ann, "status"), "never");
    assert_string_equal(str(ann, "completed_on"), "null");
    assert_string_equal(str(ann, "due_on"), "null");
    assert_string_equal(str(ann, "evidence"), "null");
    json_decref(items);
}

static void test_training_latest_of_several_completions_counts(void **state)
{
    json_t *items = status_of(
        array_of(course("sec", 365, 0, "{\"people\":[\"ann\"]}"), NULL, NULL, NULL),
        array_of(completion("ann", "sec", "2024-01-01"), completion("ann", "sec", "2025-12-01"),
                 completion("ann", "sec", "2025-01-01"), NULL),
        NULL, NULL);
    assert_int_equal(json_array_size(items), 1);
    const json_t *ann = item(items, "ann", "sec");
    assert_string_equal(str(ann, "completed_on"), "2025-12-01");
    assert_string_equal(str(ann, "due_on"), "2026-12-01");
    assert_string_equal(str(ann, "status"), "ok");
    assert_string_equal(str(ann, "evidence"), "cert-2025-12-01");
    json_decref(items);
}

static void test_training_completions_nobody_requires_are_ignored(void **state)
{
    json_t *items =
        status_of(array_of(course("sec", 365, 0, "{\"people\":[\"ann\"]}"), NULL, NULL, NULL),
                  array_of(completion("ann", "sec", "2026-01-01"),
                           completion("ann", "forklift", "2020-01-01"),
                           completion("bob", "sec", "2020-01-01"), NULL),
                  NULL, NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(item(items, "ann", "sec"), "status"), "ok");
    json_decref(items);
}

static void test_training_items_sorted_and_summarised(void **state)
{
    json_t *items = status_of(
        array_of(course("b-course", 365, 0, "{\"people\":[\"zoe\",\"amy\"]}"),
                 course("a-course", 365, 0, "{\"people\":[\"zoe\"]}"), NULL, NULL),
        array_of(completion("zoe", "b-course", "2025-01-01"), NULL, NULL, NULL), NULL, NULL);
    const char *order[][2] = {{"amy", "b-course"}, {"zoe", "a-course"}, {"zoe", "b-course"}};
    assert_int_equal(json_array_size(items), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(str(json_array_get(items, i), "person"), order[i][0]);
        assert_string_equal(str(json_array_get(items, i), "course"), order[i][1]);
    }
    json_t *summary = vg_training_summary(items);
    json_t *want = parse("{\"ok\":0,\"due-soon\":0,\"overdue\":1,\"never\":2}");
    assert_true(json_equal(summary, want));
    json_decref(want);
    json_decref(summary);
    json_decref(items);
}

/* A malformed object (as a hand-written test or an old record might hold)
 * is skipped, never a crash. */
static void test_training_malformed_objects_are_skipped(void **state)
{
    json_t *items =
        status_of(parse("[{\"name\":\"x\"},{\"name\":\"y\",\"spec\":{\"renewal_days\":\"9\"}},"
                        "{\"name\":\"sec\",\"spec\":{\"renewal_days\":365,\"required_for\":"
                        "{\"people\":[\"ann\",7]}}}]"),
                  parse("[{\"spec\":{\"person\":\"ann\",\"course\":\"sec\",\"completed_on\":"
                        "\"2026-02-30\"}},"
                        "{\"spec\":{\"person\":\"ann\"}}, 5]"),
                  parse("[{\"name\":3}, {\"name\":\"ann\",\"spec\":{\"manager\":4}}]"),
                  parse("[{\"name\":\"t\",\"spec\":{\"members\":\"ann\"}}]"));
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(str(item(items, "ann", "sec"), "status"), "never");
    assert_string_equal(str(item(items, "ann", "sec"), "title"), "null");
    json_decref(items);
}

static void test_caldate_refuses_dates_that_do_not_exist(void **state)
{
    int32_t day;
    char why[128];
    assert_int_equal(vg_caldate_parse("2026-02-30", 10, &day, why, sizeof why), -EINVAL);
    assert_string_equal(why, "February 2026 has 28 days");
    assert_int_equal(vg_caldate_parse("2100-02-29", 10, &day, why, sizeof why), -EINVAL);
    assert_int_equal(vg_caldate_parse("2026-13-01", 10, &day, why, sizeof why), -EINVAL);
    assert_string_equal(why, "month 13 does not exist");
    assert_int_equal(vg_caldate_parse("1999-12-31", 10, &day, why, sizeof why), -EINVAL);
    assert_int_equal(vg_caldate_parse("2101-01-01", 10, &day, why, sizeof why), -EINVAL);
    assert_int_equal(vg_caldate_parse("2026-3-15", 9, &day, why, sizeof why), -EINVAL);
    assert_int_equal(vg_caldate_parse("2026-03-1x", 10, &day, why, sizeof why), -EINVAL);
    assert_int_equal(vg_caldate_parse("2026-03-15T", 11, &day, why, sizeof why), -EINVAL);
}

static void test_caldate_round_trips_every_day_of_the_range(void **state)
{
    int32_t first, last, day;
    char text[16];
    assert_int_equal(vg_caldate_parse("2000-01-01", 10, &first, NULL, 0), 0);
    assert_int_equal(vg_caldate_parse("2100-12-31", 10, &last, NULL, 0), 0);
    assert_int_equal(first, 10957);                     /* days from 1970-01-01 */
    assert_int_equal(last - first + 1, 101 * 365 + 25); /* 2000 is leap, 2100 is not */
    for (int32_t d = first; d <= last; d++) {
        vg_caldate_format(d, text, sizeof text);
        assert_int_equal(vg_caldate_parse(text, strlen(text), &day, NULL, 0), 0);
        assert_int_equal(day, d);
    }
    assert_int_equal(vg_caldate_of_ms(today_ms()), first + 9570);
    assert_int_equal(vg_caldate_of_ms(-1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_renewal_gives_due_date_and_status),
        cmocka_unit_test(test_training_grace_delays_overdue),
        cmocka_unit_test(test_training_due_soon_starts_thirty_days_before),
        cmocka_unit_test(test_training_team_members_must_take_team_courses),
        cmocka_unit_test(test_training_all_means_every_person),
        cmocka_unit_test(test_training_all_without_people_uses_names_known),
        cmocka_unit_test(test_training_never_completed_is_due_at_once),
        cmocka_unit_test(test_training_latest_of_several_completions_counts),
        cmocka_unit_test(test_training_completions_nobody_requires_are_ignored),
        cmocka_unit_test(test_training_items_sorted_and_summarised),
        cmocka_unit_test(test_training_malformed_objects_are_skipped),
        cmocka_unit_test(test_caldate_refuses_dates_that_do_not_exist),
        cmocka_unit_test(test_caldate_round_trips_every_day_of_the_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_schedule.c - who is on call when: rotations whose hand-off stays at
 * the same local time across daylight saving, layers that partition the
 * week, overrides and swaps, shifts that cover a range without gaps or
 * repeats, specs refused with the field at fault, and the iCalendar feed
 * a calendar app reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oncall/schedule.h"

/* 2026-10-05 (Mon) 09:00 Amsterdam is 07:00Z; the clocks go back on
 * 2026-10-25, so the hand-off of 2026-10-26 09:00 is 08:00Z. */
#define OCT05_0700Z 1791183600000LL
#define OCT12_0700Z 1791788400000LL
#define OCT19_0700Z 1792393200000LL
#define OCT26_0800Z 1793001600000LL
#define NOV02_0800Z 1793606400000LL
#define MIN         60000LL
#define HOUR        (60 * MIN)

/* Mondays and a Wednesday and Saturday of January 2026 (UTC+1). */
#define JAN05_0700Z 1767596400000LL
#define JAN07_0900Z 1767776400000LL
#define JAN07_1100Z 1767783600000LL
#define JAN07_1300Z 1767790800000LL
#define JAN07_1900Z 1767812400000LL
#define JAN10_1100Z 1768042800000LL
#define JAN12_0700Z 1768201200000LL

static const char weekly[] =
    "{\"timezone\": \"Europe/Amsterdam\", \"layers\": [{\"name\": \"primary\","
    " \"people\": [\"alice\", \"bob\", \"carol\"], \"start\": \"2026-10-05T09:00\","
    " \"turn\": \"1w\"}]}";

/* Office hours on weekdays, and the rest of the week on another rota. */
static const char office_and_nights[] =
    "{\"timezone\": \"Europe/Amsterdam\", \"layers\": ["
    " {\"name\": \"days\", \"people\": [\"alice\", \"bob\"], \"start\": \"2026-01-05T08:00\","
    "  \"turn\": \"1d\", \"restrictions\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\","
    "  \"fri\"], \"from\": \"08:00\", \"to\": \"18:00\"}]},"
    " {\"name\": \"nights\", \"people\": [\"dave\", \"erin\"], \"start\": \"2026-01-05T08:00\","
    "  \"turn\": \"1w\", \"restrictions\": ["
    "  {\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], \"from\": \"18:00\", \"to\": "
    "\"08:00\"},"
    "  {\"days\": [\"sat\"], \"from\": \"08:00\", \"to\": \"24:00\"},"
    "  {\"days\": [\"sun\"], \"from\": \"00:00\", \"to\": \"24:00\"},"
    "  {\"days\": [\"mon\"], \"from\": \"00:00\", \"to\": \"08:00\"}]}]%s}";

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

static json_t *office_spec(const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text, office_and_nights, extra);
    return parse(text);
}

static void assert_oncall(const json_t *spec, int64_t at_ms, const char *person,
                          const char *layer)
{
    struct vg_shift shift;
    char err[256] = "";
    int rc = vg_schedule_oncall(spec, at_ms, &shift, err, sizeof err);
    if (rc)
        fail_msg("oncall at %lld: %d %s", (long long)at_ms, rc, err);
    if (strcmp(shift.person, person) != 0 || strcmp(shift.layer, layer) != 0)
        fail_msg("at %lld: '%s' of '%s' on call, expected '%s' of '%s'", (long long)at_ms,
                 shift.person, shift.layer, person, layer);
    assert_true(shift.start_ms <= at_ms && at_ms < shift.end_ms);
}

static void assert_shift(const struct vg_shift *s, int64_t start, int64_t end,
                         const char *person)
{
    if (s->start_ms != start || s->end_ms != end || strcmp(s->person, person) != 0)
        fail_msg("shift [%lld, %lld) '%s', expected [%lld, %lld) '%s'", (long long)s->start_ms,
                 (long long)s->end_ms, s->person, (long long)start, (long long)end, person);
}

static void test_schedule_weekly_handoff_stays_at_0900_local_across_october(void **state)
{
    (void)state;
    json_t *spec = parse(weekly);
    struct vg_shift *shifts = NULL;
    size_t n = 0;
    char err[256] = "";
    assert_int_equal(
        vg_schedule_shifts(spec, OCT05_0700Z, NOV02_0800Z, 16, &shifts, &n, err, sizeof err),
        0);
    assert_int_equal(n, 4);
    assert_shift(&shifts[0], OCT05_0700Z, OCT12_0700Z, "alice");
    assert_shift(&shifts[1], OCT12_0700Z, OCT19_0700Z, "bob");
    assert_shift(&shifts[2], OCT19_0700Z, OCT26_0800Z, "carol"); /* 09:00 CET */
    assert_shift(&shifts[3], OCT26_0800Z, NOV02_0800Z, "alice");
    assert_string_equal(shifts[0].layer, "primary");
    free(shifts);
    json_decref(spec);
}

static void test_schedule_hour_turns_count_elapsed_time_across_october(void **state)
{
    (void)state;
    /* 12 h turns from 2026-10-24 08:00 CEST (06:00Z): the third starts at
     * 06:00Z on the 25th, which is 07:00 local once the clocks went back */
    json_t *spec = parse("{\"timezone\": \"Europe/Amsterdam\", \"layers\": [{\"name\": \"x\","
                         " \"people\": [\"a\", \"b\"], \"start\": \"2026-10-24T08:00\","
                         " \"turn\": \"12h\"}]}");
    int64_t oct25_0600z = 1792908000000LL;
    assert_oncall(spec, oct25_0600z - MIN, "b", "x");
    assert_oncall(spec, oct25_0600z, "a", "x");
    json_decref(spec);
}

static void test_schedule_nobody_before_the_layer_starts(void **state)
{
    (void)state;
    json_t *spec = parse(weekly);
    assert_oncall(spec, OCT05_0700Z - MIN, "", "");
    assert_oncall(spec, OCT05_0700Z, "alice", "primary");
    json_decref(spec);
}

static void test_schedule_office_and_night_layers_partition_the_week(void **state)
{
    (void)state;
    json_t *spec = office_spec("");
    assert_oncall(spec, JAN07_1100Z, "alice", "days");        /* Wed 12:00, the third day */
    assert_oncall(spec, JAN07_1900Z, "dave", "nights");       /* Wed 20:00 */
    assert_oncall(spec, JAN10_1100Z, "dave", "nights");       /* Sat 12:00 */
    assert_oncall(spec, JAN12_0700Z - MIN, "dave", "nights"); /* Mon 07:59 */
    assert_oncall(spec, JAN12_0700Z, "bob", "days");          /* Mon 08:00, the eighth day */
    assert_oncall(spec, JAN12_0700Z + 10 * HOUR, "erin", "nights"); /* Mon 18:00, week 2 */
    json_decref(spec);
}

static void test_schedule_shifts_cover_a_range_contiguously_and_merged(void **state)
{
    (void)state;
    json_t *spec = office_spec("");
    struct vg_shift *shifts = NULL;
    size_t n = 0;
    char err[256] = "";
    int64_t from = JAN05_0700Z, to = JAN12_0700Z;
    assert_int_equal(vg_schedule_shifts(spec, from, to, 64, &shifts, &n, err, sizeof err), 0);
    /* five office days and five stretches of nights, the weekend in one */
    assert_int_equal(n, 10);
    assert_int_equal(shifts[0].start_ms, from);
    assert_int_equal(shifts[n - 1].end_ms, to);
    for (size_t i = 0; i < n; i++) {
        assert_true(shifts[i].person[0] != '\0');
        if (i)
            assert_int_equal(shifts[i].start_ms, shifts[i - 1].end_ms);
        if (i && strcmp(shifts[i].person, shifts[i - 1].person) == 0)
            assert_string_not_equal(shifts[i].layer, shifts[i - 1].layer);
    }
    assert_shift(&shifts[9], JAN12_0700Z - 62 * HOUR, to, "dave"); /* Fri 18:00 on */
    free(shifts);
    assert_int_equal(vg_schedule_shifts(spec, from, to, 3, &shifts, &n, err, sizeof err),
                     -E2BIG);
    assert_null(shifts);
    json_decref(spec);
}

static void test_schedule_override_wins_over_every_layer(void **state)
{
    (void)state;
    json_t *spec = office_spec(", \"overrides\": [{\"person\": \"carol\", \"start\": "
                               "\"2026-01-07T10:00\", \"end\": \"2026-01-07T14:00\"}]");
    assert_oncall(spec, JAN07_0900Z - MIN, "alice", "days");
    assert_oncall(spec, JAN07_0900Z, "carol", "override");
    assert_oncall(spec, JAN07_1300Z - MIN, "carol", "override");
    assert_oncall(spec, JAN07_1300Z, "alice", "days");
    json_decref(spec);
}

static void test_schedule_swap_hands_a_persons_time_to_another(void **state)
{
    (void)state;
    json_t *spec =
        office_spec(", \"swaps\": [{\"from\": \"alice\", \"to\": \"frank\", \"start\":"
                    " \"2026-01-07T10:00\", \"end\": \"2026-01-08T10:00\"}]");
    assert_oncall(spec, JAN07_0900Z - MIN, "alice", "days");
    assert_oncall(spec, JAN07_1100Z, "frank", "days");
    assert_oncall(spec, JAN07_1900Z, "dave", "nights"); /* not alice's: unchanged */
    json_decref(spec);
}

/* ---- refused specs ---- */

static void expect_refused(const char *text, const char *field, const char *message)
{
    json_t *spec = parse(text);
    char err[512] = "", at[160] = "";
    assert_int_equal(vg_schedule_check(spec, err, sizeof err, at, sizeof at), -EINVAL);
    if (strcmp(at, field) != 0)
        fail_msg("field is '%s', expected '%s' (err '%s')", at, field, err);
    if (!strstr(err, message))
        fail_msg("error '%s' does not contain '%s'", err, message);
    json_decref(spec);
}

static void test_schedule_refuses_overlapping_layers_naming_the_restriction(void **state)
{
    (void)state;
    expect_refused("{\"timezone\": \"UTC\", \"layers\": ["
                   "{\"name\": \"days\", \"people\": [\"a\"], \"start\": \"2026-01-05T08:00\","
                   " \"turn\": \"1d\", \"restrictions\": [{\"days\": [\"mon\"], \"from\": "
                   "\"08:00\", \"to\": \"18:00\"}]},"
                   "{\"name\": \"late\", \"people\": [\"b\"], \"start\": \"2026-01-05T08:00\","
                   " \"turn\": \"1d\", \"restrictions\": [{\"days\": [\"tue\"], \"from\": "
                   "\"09:00\", \"to\": \"10:00\"}, {\"days\": [\"mon\"], \"from\": \"17:00\","
                   " \"to\": \"20:00\"}]}]}",
                   "spec.layers[1].restrictions[1]", "'days' (mon 17:00");
    /* a layer without restrictions applies always, so it meets any other */
    expect_refused("{\"timezone\": \"UTC\", \"layers\": ["
                   "{\"name\": \"all\", \"people\": [\"a\"], \"start\": \"2026-01-05T08:00\","
                   " \"turn\": \"1d\"},"
                   "{\"name\": \"more\", \"people\": [\"b\"], \"start\": \"2026-01-05T08:00\","
                   " \"turn\": \"1d\", \"restrictions\": [{\"days\": [\"sun\"], \"from\": "
                   "\"22:00\", \"to\": \"02:00\"}]}]}",
                   "spec.layers[1].restrictions[0]", "same time");
}

static void test_schedule_refuses_an_unknown_time_zone(void **state)
{
    (void)state;
    expect_refused("{\"timezone\": \"Mars/Olympus_Mons\", \"layers\": [{\"name\": \"a\","
                   " \"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\"}]}",
                   "spec.timezone", "Mars/Olympus_Mons");
}

static void test_schedule_refuses_bad_fields_by_path(void **state)
{
    (void)state;
    static const char head[] = "{\"timezone\": \"UTC\", \"layers\": [{\"name\": \"a\", ";
    char text[1024];
    struct {
        const char *rest, *field, *message;
    } cases[] = {
        {"\"people\": [], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\"}]}",
         "spec.layers[0].people", "must not be empty"},
        {"\"people\": [\"Bad Name\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\"}]}",
         "spec.layers[0].people[0]", ""},
        {"\"people\": [\"a\"], \"start\": \"2026-02-30T08:00\", \"turn\": \"1d\"}]}",
         "spec.layers[0].start", "not a date"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"0d\"}]}",
         "spec.layers[0].turn", "turn length"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1y\"}]}",
         "spec.layers[0].turn", "turn length"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\", "
         "\"restrictions\": [{\"days\": [\"mon\"], \"from\": \"08:00\", \"to\": \"8:00\"}]}]}",
         "spec.layers[0].restrictions[0].to", "HH:MM"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\", "
         "\"restrictions\": [{\"days\": [\"mon\"], \"from\": \"08:00\", \"to\": \"08:00\"}]}]}",
         "spec.layers[0].restrictions[0].to", "must differ"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\", "
         "\"restrictions\": [{\"days\": [\"monday\"], \"from\": \"08:00\", \"to\": "
         "\"09:00\"}]}]}",
         "spec.layers[0].restrictions[0].days[0]", "mon, tue"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\", \"shift\": "
         "1}]}",
         "spec.layers[0].shift", "unknown field"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\"}], "
         "\"overrides\": [{\"person\": \"b\", \"start\": \"2026-01-06T08:00\", \"end\": "
         "\"2026-01-06T07:00\"}]}",
         "spec.overrides[0].end", "after start"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\"}], "
         "\"overrides\": [{\"person\": \"b\", \"start\": \"2026-01-06T08:00\", \"end\": "
         "\"2026-01-06T12:00\"}, {\"person\": \"c\", \"start\": \"2026-01-06T11:00\", \"end\": "
         "\"2026-01-06T13:00\"}]}",
         "spec.overrides[1]", "overlaps spec.overrides[0]"},
        {"\"people\": [\"a\"], \"start\": \"2026-01-05T08:00\", \"turn\": \"1d\"}], "
         "\"swaps\": [{\"from\": \"b\", \"to\": \"b\", \"start\": \"2026-01-06T08:00\", "
         "\"end\": "
         "\"2026-01-06T12:00\"}]}",
         "spec.swaps[0]", "same person"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s", head, cases[i].rest);
        expect_refused(text, cases[i].field, cases[i].message);
    }
}

/* ---- iCalendar ---- */

static void test_schedule_ics_has_crlf_folded_lines_and_utc_times(void **state)
{
    (void)state;
    static const char name[] =
        "the-primary-on-call-rotation-of-the-facilities-team-in-amsterdam";
    json_t *spec = parse(weekly);
    vg_buf_t ics = VG_BUF_INIT;
    char err[256] = "";
    assert_int_equal(vg_schedule_ics(name + 1, spec, OCT05_0700Z, NOV02_0800Z, OCT05_0700Z,
                                     &ics, err, sizeof err),
                     0);
    vg_buf_add(&ics, "", 1);
    const char *text = (const char *)ics.data;
    assert_true(strncmp(text, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:", 37) == 0);
    size_t n_folds = 0;
    for (const char *line = text; *line;) {
        const char *crlf = strstr(line, "\r\n");
        assert_non_null(crlf);
        assert_true(crlf - line <= 75);
        assert_null(memchr(line, '\n', (size_t)(crlf - line))); /* no bare LF */
        n_folds += line[0] == ' ';
        line = crlf + 2;
    }
    assert_true(n_folds >= 4); /* each long SUMMARY and UID was folded */
    assert_non_null(strstr(text, "DTSTART:20261005T070000Z\r\nDTEND:20261012T070000Z\r\n"));
    assert_non_null(strstr(text, "DTSTART:20261019T070000Z\r\nDTEND:20261026T080000Z\r\n"));
    assert_non_null(strstr(text, "DTSTART:20261026T080000Z\r\n"));
    assert_non_null(strstr(text, "DTSTAMP:20261005T070000Z\r\n"));
    assert_non_null(strstr(text, "SUMMARY:On call: carol (he-primary-on-call-rotation-of-the-"
                                 "facilities-team-\r\n in-amsterdam)\r\n"));
    size_t n_events = 0;
    for (const char *p = text; (p = strstr(p, "BEGIN:VEVENT\r\n")) != NULL; p++)
        n_events++;
    assert_int_equal(n_events, 4);
    assert_non_null(strstr(text, "END:VCALENDAR\r\n"));
    vg_buf_release(&ics);
    json_decref(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_weekly_handoff_stays_at_0900_local_across_october),
        cmocka_unit_test(test_schedule_hour_turns_count_elapsed_time_across_october),
        cmocka_unit_test(test_schedule_nobody_before_the_layer_starts),
        cmocka_unit_test(test_schedule_office_and_night_layers_partition_the_week),
        cmocka_unit_test(test_schedule_shifts_cover_a_range_contiguously_and_merged),
        cmocka_unit_test(test_schedule_override_wins_over_every_layer),
        cmocka_unit_test(test_schedule_swap_hands_a_persons_time_to_another),
        cmocka_unit_test(test_schedule_refuses_overlapping_layers_naming_the_restriction),
        cmocka_unit_test(test_schedule_refuses_an_unknown_time_zone),
        cmocka_unit_test(test_schedule_refuses_bad_fields_by_path),
        cmocka_unit_test(test_schedule_ics_has_crlf_folded_lines_and_utc_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

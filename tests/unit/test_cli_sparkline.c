/*
 * test_cli_sparkline.c - what an operator reads from `vigil series`: the
 * sparkline (levels in order from ▁ to █, a flat series at mid height, gaps
 * as spaces, averaging when there are more points than columns, never a
 * character for NaN), the grid that turns missing time into gaps, and the
 * header and summary lines made from the API's answer.
 *
 * The CLI is an executable, not part of vgcore, so sparkline.c is compiled
 * into this test directly; it calls nothing outside vgcore and jansson.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/sparkline.c"

static char *spark(const double *values, const int *present, size_t n, size_t width)
{
    static char text[4096];
    vg_buf_t b = VG_BUF_INIT;
    vg_sparkline(&b, values, present, n, width);
    snprintf(text, sizeof text, "%s", b.data ? (const char *)b.data : "");
    vg_buf_release(&b);
    return text;
}

static char *series_view(const char *answer_json, size_t width)
{
    static char text[8192];
    json_error_t jerr;
    json_t *answer = json_loads(answer_json, 0, &jerr);
    if (!answer)
        fail_msg("bad test JSON: %s", jerr.text);
    vg_buf_t b = VG_BUF_INIT;
    vg_sparkline_series(&b, answer, width);
    snprintf(text, sizeof text, "%s", (const char *)b.data);
    vg_buf_release(&b);
    json_decref(answer);
    return text;
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' not found in:\n%s", part, text);
}

/* ---- the line ---------------------------------------------------------- */

static void test_rising_ramp_uses_every_level_in_order(void **unused)
{
    const double ramp[] = {0, 1, 2, 3, 4, 5, 6, 7};
    assert_string_equal(spark(ramp, NULL, 8, 60), "▁▂▃▄▅▆▇█");
    const double falling[] = {70, 60, 50, 40, 30, 20, 10, 0};
    assert_string_equal(spark(falling, NULL, 8, 60), "█▇▆▅▄▃▂▁");
}

static void test_scale_runs_from_the_smallest_to_the_largest_value(void **unused)
{
    const double temps[] = {21.5, 21.5, 24.0, 22.75};
    assert_string_equal(spark(temps, NULL, 4, 60), "▁▁█▅");
    const double negative[] = {-40, -20, 0};
    assert_string_equal(spark(negative, NULL, 3, 60), "▁▅█");
}

static void test_flat_series_is_drawn_at_mid_height(void **unused)
{
    const double flat[] = {42, 42, 42, 42, 42};
    assert_string_equal(spark(flat, NULL, 5, 60), "▄▄▄▄▄");
    const double one[] = {-3};
    assert_string_equal(spark(one, NULL, 1, 60), "▄");
}

static void test_absent_points_are_spaces(void **unused)
{
    const double values[] = {0, 99, 7, 99, 99, 3};
    const int present[] = {1, 0, 1, 0, 0, 1};
    assert_string_equal(spark(values, present, 6, 60), "▁ █  ▄");
}

static void test_nan_and_infinity_are_gaps_and_do_not_spoil_the_scale(void **unused)
{
    const double values[] = {0, NAN, 7, INFINITY, -INFINITY, 7};
    assert_string_equal(spark(values, NULL, 6, 60), "▁ █  █");
    const double all_nan[] = {NAN, NAN};
    assert_string_equal(spark(all_nan, NULL, 2, 60), "  ");
}

static void test_more_points_than_columns_are_averaged(void **unused)
{
    /* pairs average to 0, 1, ..., 7 */
    double values[16];
    for (size_t i = 0; i < 16; i++)
        values[i] = (double)(i / 2) + (i % 2 ? 0.25 : -0.25);
    assert_string_equal(spark(values, NULL, 16, 8), "▁▂▃▄▅▆▇█");

    /* a spike is averaged with its neighbour: 0 4 0 4 */
    const double spike[] = {0, 0, 0, 8, 0, 0, 4, 4};
    assert_string_equal(spark(spike, NULL, 8, 4), "▁█▁█");
}

static void test_averaging_ignores_gaps_and_a_run_of_gaps_stays_a_gap(void **unused)
{
    const double values[] = {0, 99, 99, 99, 5, 5};
    const int present[] = {1, 0, 0, 0, 1, 1};
    assert_string_equal(spark(values, present, 6, 3), "▁ █");
}

static void test_width_is_never_exceeded(void **unused)
{
    double values[1000];
    for (size_t i = 0; i < 1000; i++)
        values[i] = sin((double)i / 50);
    const char *line = spark(values, NULL, 1000, 60);
    assert_int_equal(strlen(line), 60 * 3); /* each block is 3 bytes of UTF-8 */
    const double ramp[] = {1, 2, 3, 4};
    assert_string_equal(spark(ramp, NULL, 4, 1), "▄"); /* one average: flat */
}

static void test_nothing_to_draw_appends_nothing(void **unused)
{
    const double values[] = {1, 2};
    assert_string_equal(spark(values, NULL, 0, 60), "");
    assert_string_equal(spark(values, NULL, 2, 0), "");
}

static void test_extreme_values_do_not_overflow_the_scale(void **unused)
{
    const double values[] = {-DBL_MAX, 0, DBL_MAX};
    assert_string_equal(spark(values, NULL, 3, 60), "▁▅█");
    const double big[] = {DBL_MAX, DBL_MAX, -DBL_MAX, -DBL_MAX};
    assert_string_equal(spark(big, NULL, 4, 2), "█▁"); /* averages of DBL_MAX stay finite */
}

/* ---- the grid ---------------------------------------------------------- */

static void test_grid_turns_missing_time_into_gaps(void **unused)
{
    /* every 10 s, then nothing for a minute */
    const int64_t times[] = {0, 10000, 20000, 80000, 90000};
    const double values[] = {1, 2, 3, 4, 5};
    struct vg_sparkline_grid grid;
    vg_sparkline_grid(&grid, times, values, 5, 0, 1000);
    assert_int_equal(grid.n, 10);
    assert_string_equal(spark(grid.values, grid.present, grid.n, 60), "▁▃▅     ▇█");
    vg_sparkline_grid_release(&grid);
}

static void test_grid_fills_a_single_missing_raw_reading_but_not_a_bucket(void **unused)
{
    const int64_t times[] = {0, 10000, 30000, 40000};
    const double values[] = {0, 0, 7, 7};
    struct vg_sparkline_grid grid;
    vg_sparkline_grid(&grid, times, values, 4, 0, 1000); /* raw: one hole is jitter */
    assert_string_equal(spark(grid.values, grid.present, grid.n, 60), "▁▁▁██");
    vg_sparkline_grid_release(&grid);
    vg_sparkline_grid(&grid, times, values, 4, 10000, 1000); /* buckets: a real gap */
    assert_string_equal(spark(grid.values, grid.present, grid.n, 60), "▁▁ ██");
    vg_sparkline_grid_release(&grid);
}

static void test_grid_absorbs_jitter_and_averages_a_shared_slot(void **unused)
{
    const int64_t times[] = {0, 10040, 19980, 20010, 30000};
    const double values[] = {0, 2, 4, 6, 7};
    struct vg_sparkline_grid grid;
    vg_sparkline_grid(&grid, times, values, 5, 10000, 1000);
    assert_int_equal(grid.n, 4);
    assert_true(grid.present[2]);
    assert_true(fabs(grid.values[2] - 5) < 1e-9);
    vg_sparkline_grid_release(&grid);
}

static void test_grid_is_widened_to_at_most_max_slots(void **unused)
{
    const int64_t times[] = {0, 1, 2, 86400000};
    const double values[] = {1, 1, 1, 2};
    struct vg_sparkline_grid grid;
    vg_sparkline_grid(&grid, times, values, 4, 1, 100);
    assert_true(grid.n <= 100);
    assert_true(grid.present[0] && grid.present[grid.n - 1]);
    vg_sparkline_grid_release(&grid);
    vg_sparkline_grid(&grid, times, values, 0, 0, 100);
    assert_int_equal(grid.n, 0);
    vg_sparkline_grid_release(&grid);
}

/* ---- the series view --------------------------------------------------- */

static void test_raw_series_shows_header_line_and_summary(void **unused)
{
    const char *text = series_view("{\"sensor\":\"dc1.hall1.inlet\",\"from\":1767261600000,"
                                   "\"to\":1767265200000,\"step\":0,\"columns\":\"time,value\","
                                   "\"points\":[[1767261600000,20],[1767261610000,22],"
                                   "[1767261620000,24.5]]}",
                                   60);
    assert_string_equal(text, "dc1.hall1.inlet  2026-01-01T10:00:00Z .. 2026-01-01T11:00:00Z  "
                              "step raw  3 points\n"
                              "▁▄█\n"
                              "min 20  max 24.5  avg 22.1667  last 24.5 "
                              "(2026-01-01T10:00:20Z)  count 3\n");
}

static void test_buckets_give_min_max_weighted_avg_and_reading_count(void **unused)
{
    const char *text = series_view("{\"sensor\":\"s\",\"from\":0,\"to\":180000,\"step\":60000,"
                                   "\"columns\":\"time,min,max,avg,count\",\"points\":["
                                   "[0,18,22,20,1],[60000,19,31,30,3],[120000,25,26,25,6]]}",
                                   60);
    assert_has(text, "step 1m  3 buckets\n");
    assert_has(text, "▁█▅\n");
    /* (20*1 + 30*3 + 25*6) / 10 = 26 */
    assert_has(text, "min 18  max 31  avg 26  last 25 (1970-01-01T00:02:00Z)  count 10\n");
}

static void test_empty_or_malformed_points_say_no_readings(void **unused)
{
    const char *text = series_view("{\"sensor\":\"s\",\"from\":0,\"to\":1000,\"step\":0,"
                                   "\"columns\":\"time,value\",\"points\":[]}",
                                   60);
    assert_has(text, "0 points\nno readings in this range\n");
    text = series_view("{\"sensor\":\"s\",\"from\":0,\"to\":1000,\"step\":0,"
                       "\"columns\":\"time,value\",\"points\":[[1,\"x\"],7,[2],[3,4.5]]}",
                       60);
    assert_has(text, "1 point\n▄\nmin 4.5  max 4.5  avg 4.5  last 4.5");
}

static void test_server_text_cannot_reach_the_terminal(void **unused)
{
    const char *text = series_view("{\"sensor\":\"evil\\u001b[2J\\nname\",\"from\":0,"
                                   "\"to\":1000,\"step\":0,\"columns\":\"time,value\","
                                   "\"points\":[]}",
                                   60);
    assert_has(text, "evil?[2J?name  ");
    assert_null(strchr(text, '\033'));
}

static void test_steps_and_times_read_as_typed(void **unused)
{
    char text[32];
    vg_sparkline_step(0, text, sizeof text);
    assert_string_equal(text, "raw");
    vg_sparkline_step(10000, text, sizeof text);
    assert_string_equal(text, "10s");
    vg_sparkline_step(7200000, text, sizeof text);
    assert_string_equal(text, "2h");
    vg_sparkline_step(1500, text, sizeof text);
    assert_string_equal(text, "1500ms");
    vg_sparkline_time(1767261900123, text, sizeof text);
    assert_string_equal(text, "2026-01-01T10:05:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rising_ramp_uses_every_level_in_order),
        cmocka_unit_test(test_scale_runs_from_the_smallest_to_the_largest_value),
        cmocka_unit_test(test_flat_series_is_drawn_at_mid_height),
        cmocka_unit_test(test_absent_points_are_spaces),
        cmocka_unit_test(test_nan_and_infinity_are_gaps_and_do_not_spoil_the_scale),
        cmocka_unit_test(test_more_points_than_columns_are_averaged),
        cmocka_unit_test(test_averaging_ignores_gaps_and_a_run_of_gaps_stays_a_gap),
        cmocka_unit_test(test_width_is_never_exceeded),
        cmocka_unit_test(test_nothing_to_draw_appends_nothing),
        cmocka_unit_test(test_extreme_values_do_not_overflow_the_scale),
        cmocka_unit_test(test_grid_turns_missing_time_into_gaps),
        cmocka_unit_test(test_grid_fills_a_single_missing_raw_reading_but_not_a_bucket),
        cmocka_unit_test(test_grid_absorbs_jitter_and_averages_a_shared_slot),
        cmocka_unit_test(test_grid_is_widened_to_at_most_max_slots),
        cmocka_unit_test(test_raw_series_shows_header_line_and_summary),
        cmocka_unit_test(test_buckets_give_min_max_weighted_avg_and_reading_count),
        cmocka_unit_test(test_empty_or_malformed_points_say_no_readings),
        cmocka_unit_test(test_server_text_cannot_reach_the_terminal),
        cmocka_unit_test(test_steps_and_times_read_as_typed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

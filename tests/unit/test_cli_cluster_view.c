/*
 * test_cli_cluster_view.c - what an operator reads from `vigil cluster
 * status` and `vigil events`: the catch-up progress bar, one member's view
 * (roles, indexes, lag, witness and peer, the last change), the warning when
 * two members' views disagree, the events table with its severity colours,
 * and that nothing the server sends can put a control character on the
 * terminal.
 *
 * The CLI is an executable, not part of vgcore, so its pure formatting
 * files are compiled into this test directly; they call nothing outside
 * vgcore and jansson.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cluster_view.c"
#include "cli/format.c"

/* 2026-01-01T10:05:00Z */
#define NOW ((time_t)1767261900)

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' not found in:\n%s", part, text);
}

static void assert_lacks(const char *text, const char *part)
{
    if (strstr(text, part))
        fail_msg("'%s' unexpectedly found in:\n%s", part, text);
}

static char *progress(long long done, long long total, enum vg_progress_unit unit)
{
    static char text[128];
    vg_buf_t b = VG_BUF_INIT;
    vg_cluster_view_progress(&b, done, total, unit, 10);
    snprintf(text, sizeof text, "%s", (const char *)b.data);
    vg_buf_release(&b);
    return text;
}

/* ---- progress ---------------------------------------------------------- */

static void test_snapshot_progress_shows_bar_percent_and_megabytes(void **unused)
{
    assert_string_equal(progress(2600000, 5000000, VG_PROGRESS_BYTES),
                        "[#####.....] 52% 2.6/5.0 MB");
    assert_string_equal(progress(1500, 800000, VG_PROGRESS_BYTES),
                        "[..........] 0% 1.5/800.0 kB");
    assert_string_equal(progress(700, 900, VG_PROGRESS_BYTES), "[#######...] 77% 700/900 B");
    assert_string_equal(progress(3, 12000000000, VG_PROGRESS_BYTES),
                        "[..........] 0% 0.0/12.0 GB");
}

static void test_log_progress_counts_records(void **unused)
{
    assert_string_equal(progress(1234, 5000, VG_PROGRESS_RECORDS),
                        "[##........] 24% 1234/5000 records");
    assert_string_equal(progress(1, 4, VG_PROGRESS_COUNT), "[##........] 25% 1/4");
}

static void test_progress_reaches_100_only_when_done(void **unused)
{
    assert_string_equal(progress(4999999, 5000000, VG_PROGRESS_BYTES),
                        "[#########.] 99% 4.9/5.0 MB");
    assert_string_equal(progress(5000000, 5000000, VG_PROGRESS_BYTES),
                        "[##########] 100% 5.0/5.0 MB");
}

static void test_progress_tolerates_odd_counts(void **unused)
{
    /* more done than the total, no total, negative numbers, huge numbers */
    assert_string_equal(progress(7, 5, VG_PROGRESS_RECORDS), "[##########] 100% 5/5 records");
    assert_string_equal(progress(0, 0, VG_PROGRESS_RECORDS), "[..........] 0% 0/0 records");
    assert_string_equal(progress(-5, -1, VG_PROGRESS_COUNT), "[..........] 0% 0/0");
    assert_has(progress(1ll << 61, 1ll << 62, VG_PROGRESS_COUNT), "[#####.....] 50% ");
    assert_has(progress(LLONG_MAX, LLONG_MAX, VG_PROGRESS_COUNT), "[##########] 100% ");
}

/* ---- one member's view ------------------------------------------------- */

static const char primary_view[] =
    "{\"member\":\"dc1\",\"site\":\"brussels\",\"role\":\"primary\",\"acting\":true,"
    "\"epoch\":3,\"primary\":\"dc1\",\"sync\":[\"dc1\",\"dc2\"],\"members\":[\"dc1\",\"dc2\"],"
    "\"witness\":{\"name\":\"witness\",\"address\":\"10.77.0.3:7702\",\"reachable\":true,"
    "\"last_heard_ms\":12},"
    "\"peer\":{\"name\":\"dc2\",\"connected\":true,\"last_heard_ms\":2500,\"durable_index\":"
    "118,"
    "\"acked_index\":117,\"lag\":3},"
    "\"self\":{\"last_index\":121,\"durable_index\":120,\"commit_index\":119,"
    "\"applied_index\":119},"
    "\"catchup\":{\"mode\":\"snapshot\",\"done\":2600000,\"total\":5000000},"
    "\"pending_request\":{\"op\":\"restore\",\"expect_epoch\":3},"
    "\"last_change\":{\"epoch\":3,\"op\":\"promote\",\"by\":\"dc2\",\"reason\":\"planned "
    "maintenance\",\"at\":\"2026-01-01T10:00:00.123Z\",\"took_ms\":912,\"forced\":false},"
    "\"failovers\":1,\"switchovers\":2,\"degrades\":0}";

static char *status_text(const char *json)
{
    json_t *view = parse(json);
    vg_buf_t b = VG_BUF_INIT;
    vg_cluster_view_status(&b, "https://10.77.0.1:7700", view, NOW);
    json_decref(view);
    return (char *)vg_buf_detach(&b, NULL);
}

static void test_status_shows_role_epoch_sync_and_history(void **unused)
{
    char *text = status_text(primary_view);
    assert_has(text, "dc1 (site brussels) at https://10.77.0.1:7700\n");
    assert_has(text, "  role:         primary (acting)\n");
    assert_has(text, "  epoch:        3\n");
    assert_has(text, "  primary:      dc1\n");
    assert_has(text, "  sync set:     dc1, dc2 (members: dc1, dc2)\n");
    assert_has(text,
               "  witness:      witness at 10.77.0.3:7702: reachable, last heard 12 ms ago\n");
    assert_has(text, "  peer link:    dc2: connected, last heard 2.5 s ago\n");
    assert_has(text, "  witness req:  restore pending, expecting epoch 3\n");
    assert_has(text, "  last change:  promote by dc2 at epoch 3, 5m ago "
                     "(2026-01-01T10:00:00.123Z), took 912 ms\n");
    assert_has(text, "                reason: planned maintenance\n");
    assert_has(text, "  history:      1 failover, 2 switchovers, 0 degrades\n");
    free(text);
}

static void test_status_table_gives_each_members_indexes_and_the_mirrors_lag(void **unused)
{
    char *text = status_text(primary_view);
    assert_has(text, "  MEMBER   ROLE      SYNC   LAST   DURABLE   COMMIT   ACKED   LAG\n"
                     "  dc1      primary   yes    121    120       119      -       -\n"
                     "  dc2      mirror    yes    -      118       -        117     3\n"
                     "  catch-up (snapshot) [#####.....] 52% 2.6/5.0 MB\n");
    free(text);
}

static void test_status_from_the_mirror_puts_the_lag_on_its_own_row(void **unused)
{
    char *text = status_text(
        "{\"member\":\"dc2\",\"site\":\"dc2\",\"role\":\"mirror\",\"acting\":true,\"epoch\":3,"
        "\"primary\":\"dc1\",\"sync\":[\"dc1\"],\"members\":[\"dc1\",\"dc2\"],"
        "\"peer\":{\"name\":\"dc1\",\"connected\":false,\"last_heard_ms\":190000,\"lag\":40},"
        "\"self\":{\"last_index\":80,\"durable_index\":80,\"commit_index\":79},"
        "\"witness\":{\"name\":\"w\",\"address\":\"a:1\",\"reachable\":false,"
        "\"last_heard_ms\":null},\"catchup\":null,\"pending_request\":null,"
        "\"last_change\":null}");
    assert_has(text, "  dc2      mirror    no     80     80        79       -       40\n"
                     "  dc1      primary   yes    -      -         -        -       -\n");
    assert_has(text, "  role:         mirror\n");
    assert_has(text, "  peer link:    dc1: DISCONNECTED, last heard 3 min ago\n");
    assert_has(text, "  witness:      w at a:1: UNREACHABLE, last heard never\n");
    assert_has(text, "  witness req:  none pending\n");
    assert_has(text, "  last change:  none\n");
    assert_lacks(text, "catch-up");
    free(text);
}

static void test_status_of_a_member_with_no_role_says_it_serves_no_writes(void **unused)
{
    char *text = status_text("{\"member\":\"dc1\",\"role\":\"none\",\"acting\":false,"
                             "\"primary\":null,\"epoch\":4}");
    assert_has(text, "  role:         none (neither primary nor mirror: serves no writes)\n");
    assert_has(text, "  primary:      none\n");
    free(text);
}

static void test_status_marks_a_primary_that_does_not_act_and_a_forced_change(void **unused)
{
    char *text = status_text(
        "{\"member\":\"dc2\",\"role\":\"primary\",\"acting\":false,\"last_change\":"
        "{\"epoch\":5,\"by\":\"dc2\",\"forced\":true,\"at\":\"2026-01-01T08:05:00Z\","
        "\"took_ms\":40,\"reason\":\"dc1 lost\"}}");
    assert_has(text, "  role:         primary (not acting: serves no writes)\n");
    assert_has(text,
               "  last change:  (forced) by dc2 at epoch 5, 2h ago (2026-01-01T08:05:00Z), "
               "took 40 ms\n");
    free(text);
}

static void test_status_of_an_empty_answer_shows_dashes(void **unused)
{
    char *text = status_text("{}");
    assert_has(text, "? (site -) at https://10.77.0.1:7700\n");
    assert_has(text, "  epoch:        -\n");
    assert_has(text, "  sync set:     - (members: -)\n");
    assert_has(text, "  history:      - failovers, - switchovers, - degrades\n");
    free(text);
}

static void test_status_never_passes_control_characters_from_the_server(void **unused)
{
    char *text = status_text(
        "{\"member\":\"dc1\\u001b[2J\",\"last_change\":{\"op\":\"promote\",\"by\":\"x\\ny\","
        "\"reason\":\"\\u001b]0;owned\\u0007\\r\\nfake: line\"},"
        "\"peer\":{\"name\":\"p\\u001b\"}}");
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n')
            fail_msg("control character 0x%02x at offset %td", *p, p - text);
    assert_has(text, "reason: ?]0;owned???fake: line\n");
    assert_has(text, "by x?y at");
    free(text);
}

static void test_unreachable_server_is_marked(void **unused)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_cluster_view_failed(&b, "https://10.77.0.2:7700", "UNREACHABLE", "connection refused");
    assert_string_equal((const char *)b.data,
                        "https://10.77.0.2:7700: UNREACHABLE\n  connection refused\n");
    vg_buf_release(&b);
}

/* ---- several views ----------------------------------------------------- */

static char *compare(const char *a, const char *b)
{
    json_t *va = a ? parse(a) : NULL, *vb = b ? parse(b) : NULL;
    const json_t *views[] = {va, NULL, vb};
    vg_buf_t out = VG_BUF_INIT;
    vg_cluster_view_compare(&out, views, 3);
    json_decref(va);
    json_decref(vb);
    return out.data ? (char *)vg_buf_detach(&out, NULL) : vg_strdup("");
}

static void test_compare_is_silent_when_members_agree(void **unused)
{
    char *text = compare("{\"member\":\"dc1\",\"epoch\":3,\"primary\":\"dc1\",\"role\":"
                         "\"primary\",\"acting\":true}",
                         "{\"member\":\"dc2\",\"epoch\":3,\"primary\":\"dc1\",\"role\":"
                         "\"mirror\",\"acting\":true}");
    assert_string_equal(text, "");
    free(text);
    text = compare("{\"member\":\"dc1\",\"epoch\":3}", NULL);
    assert_string_equal(text, "");
    free(text);
}

static void test_compare_warns_when_epoch_or_primary_differ(void **unused)
{
    char *text = compare("{\"member\":\"dc1\",\"epoch\":3,\"primary\":\"dc1\"}",
                         "{\"member\":\"dc2\",\"epoch\":4,\"primary\":\"dc2\"}");
    assert_string_equal(text, "warning: the members disagree: dc1 sees epoch 3, primary dc1; "
                              "dc2 sees epoch 4, primary dc2 (the view with the higher epoch "
                              "is the newer)\n");
    free(text);
}

static void test_compare_warns_about_two_acting_primaries(void **unused)
{
    char *text = compare("{\"member\":\"dc1\",\"epoch\":3,\"primary\":\"dc1\",\"role\":"
                         "\"primary\",\"acting\":true}",
                         "{\"member\":\"dc2\",\"epoch\":3,\"primary\":\"dc1\",\"role\":"
                         "\"primary\",\"acting\":true}");
    assert_has(text, "warning: 2 members act as primary at once\n");
    free(text);
}

/* ---- events ------------------------------------------------------------ */

static const char events_json[] =
    "[{\"index\":50,\"time\":\"2026-01-01T09:00:00Z\",\"severity\":\"info\",\"kind\":"
    "\"bootstrap\",\"member\":\"dc1\",\"epoch\":1,\"message\":\"first start\"},"
    "{\"index\":55,\"time\":\"2026-01-01T09:30:00Z\",\"severity\":\"warning\",\"kind\":"
    "\"degraded\",\"member\":\"dc1\",\"epoch\":2,\"message\":\"dc2 stopped acking\"},"
    "{\"index\":56,\"time\":\"2026-01-01T09:40:00Z\",\"severity\":\"notice\",\"kind\":"
    "\"restored\",\"member\":\"dc1\",\"epoch\":3,\"message\":\"dc2 back\"},"
    "{\"index\":57,\"time\":\"2026-01-01T10:00:00Z\",\"severity\":\"critical\",\"kind\":"
    "\"failover\",\"member\":\"dc2\",\"epoch\":4,\"message\":\"dc1 lost\"}]";

static char *events_text(const json_t *items, int wide, int colour)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_cluster_view_events(&b, items, wide, colour);
    return (char *)vg_buf_detach(&b, NULL);
}

static void test_events_table_lists_oldest_first_with_aligned_columns(void **unused)
{
    json_t *items = parse(events_json);
    char *text = events_text(items, 0, 0);
    assert_string_equal(
        text,
        "TIME                   SEVERITY   KIND        MEMBER   EPOCH   MESSAGE\n"
        "2026-01-01T09:00:00Z   info       bootstrap   dc1      1       first start\n"
        "2026-01-01T09:30:00Z   warning    degraded    dc1      2       dc2 stopped acking\n"
        "2026-01-01T09:40:00Z   notice     restored    dc1      3       dc2 back\n"
        "2026-01-01T10:00:00Z   critical   failover    dc2      4       dc1 lost\n");
    free(text);
    text = events_text(items, 1, 0);
    assert_has(text, "EPOCH   INDEX   MESSAGE\n");
    assert_has(text, "dc2      4       57      dc1 lost\n");
    free(text);
    json_decref(items);
}

static void test_events_colour_only_warning_and_critical_severities(void **unused)
{
    json_t *items = parse(events_json);
    char *text = events_text(items, 0, 1);
    assert_has(text, "2026-01-01T09:00:00Z   info       bootstrap");
    assert_has(text, "2026-01-01T09:30:00Z   \033[33mwarning\033[0m    degraded");
    assert_has(text, "2026-01-01T10:00:00Z   \033[1;31mcritical\033[0m   failover");
    assert_has(text, "TIME                   SEVERITY   KIND"); /* header never coloured */
    free(text);
    json_decref(items);
}

static int n_items(const json_t *a)
{
    return (int)json_array_size(a);
}

static void test_events_filter_keeps_a_severity_and_worse_then_the_newest(void **unused)
{
    json_t *items = parse(events_json);
    json_t *all = vg_cluster_view_filter_events(items, -1, 0);
    assert_int_equal(n_items(all), 4); /* even the unknown "notice" */
    json_t *warn = vg_cluster_view_filter_events(items, vg_cluster_view_severity("warning"), 0);
    assert_int_equal(n_items(warn), 2);
    assert_string_equal(vg_cli_str(json_array_get(warn, 0), "kind", ""), "degraded");
    assert_string_equal(vg_cli_str(json_array_get(warn, 1), "kind", ""), "failover");
    json_t *last = vg_cluster_view_filter_events(items, 0, 1);
    assert_int_equal(n_items(last), 1);
    assert_string_equal(vg_cli_str(json_array_get(last, 0), "kind", ""), "failover");
    assert_int_equal(vg_cluster_view_severity("bogus"), -1);
    json_decref(all);
    json_decref(warn);
    json_decref(last);
    json_decref(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_progress_shows_bar_percent_and_megabytes),
        cmocka_unit_test(test_log_progress_counts_records),
        cmocka_unit_test(test_progress_reaches_100_only_when_done),
        cmocka_unit_test(test_progress_tolerates_odd_counts),
        cmocka_unit_test(test_status_shows_role_epoch_sync_and_history),
        cmocka_unit_test(test_status_table_gives_each_members_indexes_and_the_mirrors_lag),
        cmocka_unit_test(test_status_from_the_mirror_puts_the_lag_on_its_own_row),
        cmocka_unit_test(test_status_of_a_member_with_no_role_says_it_serves_no_writes),
        cmocka_unit_test(test_status_marks_a_primary_that_does_not_act_and_a_forced_change),
        cmocka_unit_test(test_status_of_an_empty_answer_shows_dashes),
        cmocka_unit_test(test_status_never_passes_control_characters_from_the_server),
        cmocka_unit_test(test_unreachable_server_is_marked),
        cmocka_unit_test(test_compare_is_silent_when_members_agree),
        cmocka_unit_test(test_compare_warns_when_epoch_or_primary_differ),
        cmocka_unit_test(test_compare_warns_about_two_acting_primaries),
        cmocka_unit_test(test_events_table_lists_oldest_first_with_aligned_columns),
        cmocka_unit_test(test_events_colour_only_warning_and_critical_severities),
        cmocka_unit_test(test_events_filter_keeps_a_severity_and_worse_then_the_newest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

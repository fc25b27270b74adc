/*
 * test_drill.c - DR drills without a process: what a step's measurement
 * reads from the cluster's events (protect/drill.h), the report in
 * Markdown, and the drill records of the protect slice (a report replaced
 * by id, markers gathered, a snapshot, malformed payloads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "protect/drill.h"
#include "protect/protect_data.h"
#include "state/state.h"
#include "store/record.h"

/* 2026-12-07T10:00:00.000Z */
#define T0 1796637600000LL

static json_t *ev(const char *time, const char *kind, int epoch)
{
    return json_pack("{s:s,s:s,s:i}", "time", time, "kind", kind, "epoch", epoch);
}

/* A switchover into epoch 3 with one service moved (and a fence at dc1),
 * and a step of the next epoch that must not count. */
static json_t *events_of_a_move(void)
{
    json_t *events = json_array();
    json_array_append_new(events, ev("2026-12-07T10:00:00.040Z", "switchover", 3));
    json_t *e = ev("2026-12-07T10:00:00.050Z", "service_step", 3);
    json_object_update_new(e, json_pack("{s:s,s:s,s:s,s:s}", "service", "db", "site", "dc1", "step",
                                    "fence", "result", "unreachable"));
    json_array_append_new(events, e);
    e = ev("2026-12-07T10:00:00.250Z", "service_step", 3);
    json_object_update_new(e, json_pack("{s:s,s:s,s:s,s:s}", "service", "db", "site", "dc2", "step",
                                    "health", "result", "ok"));
    json_array_append_new(events, e);
    e = ev("2026-12-07T10:00:00.260Z", "service_move", 3);
    json_object_update_new(e, json_pack("{s:s,s:i}", "phase", "done", "failed", 0));
    json_array_append_new(events, e);
    e = ev("2026-12-07T10:00:09.000Z", "service_step", 4);
    json_object_update_new(e, json_pack("{s:s,s:s,s:s,s:s}", "service", "db", "site", "dc1", "step",
                                    "health", "result", "failed"));
    json_array_append_new(events, e);
    return events;
}

static void test_event_times_keep_their_milliseconds(void **unused)
{
    (void)unused;
    assert_int_equal(vg_drill_event_ms("2026-12-07T10:00:00.250Z"), T0 + 250);
    assert_int_equal(vg_drill_event_ms("2026-12-07T10:00:00Z"), T0);
    assert_int_equal(vg_drill_event_ms("not a time"), 0);
    assert_int_equal(vg_drill_event_ms(NULL), 0);
}

static void test_a_step_waits_for_the_role_event_and_the_services_move(void **unused)
{
    (void)unused;
    json_t *events = json_array();
    json_t *step = json_pack("{s:s,s:I}", "name", "switchover", "started", (json_int_t)T0);
    assert_int_equal(vg_drill_measure(events, 3, 1, step), 0); /* nothing yet */
    json_array_append_new(events, ev("2026-12-07T10:00:00.040Z", "switchover", 3));
    assert_int_equal(vg_drill_measure(events, 3, 1, step), 0); /* services not moved */
    assert_int_equal(json_integer_value(json_object_get(step, "vigil_ms")), 40);
    /* without Services, the role event ends the step */
    assert_int_equal(vg_drill_measure(events, 3, 0, step), 1);
    assert_int_equal(json_integer_value(json_object_get(step, "duration_ms")), 40);
    assert_string_equal(json_string_value(json_object_get(step, "result")), "ok");
    json_decref(events);
    json_decref(step);
}

static void test_each_service_recovers_at_its_last_step_of_the_epoch(void **unused)
{
    (void)unused;
    json_t *events = events_of_a_move();
    json_t *step = json_pack("{s:s,s:I}", "name", "switchover", "started", (json_int_t)T0);
    assert_int_equal(vg_drill_measure(events, 3, 1, step), 1);
    assert_int_equal(json_integer_value(json_object_get(step, "vigil_ms")), 40);
    assert_int_equal(json_integer_value(json_object_get(step, "duration_ms")), 260);
    const json_t *services = json_object_get(step, "services");
    assert_int_equal(json_array_size(services), 1);
    const json_t *db = json_array_get(services, 0);
    assert_string_equal(json_string_value(json_object_get(db, "service")), "db");
    assert_string_equal(json_string_value(json_object_get(db, "site")),
                        "dc2"); /* not the fence's */
    assert_int_equal(json_integer_value(json_object_get(db, "rto_ms")), 250);
    assert_string_equal(json_string_value(json_object_get(db, "result")),
                        "ok"); /* epoch 4 ignored */
    json_decref(events);
    json_decref(step);
}

static void test_a_move_with_a_failed_service_fails_the_step(void **unused)
{
    (void)unused;
    json_t *events = events_of_a_move();
    json_object_set_new(json_array_get(events, 3), "failed", json_integer(1));
    json_t *step = json_pack("{s:s,s:I}", "name", "switchover", "started", (json_int_t)T0);
    assert_int_equal(vg_drill_measure(events, 3, 1, step), 1);
    assert_string_equal(json_string_value(json_object_get(step, "result")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(step, "message")), "1 service"));
    json_decref(events);
    json_decref(step);
}

static void test_the_report_shows_steps_rto_and_data_loss(void **unused)
{
    (void)unused;
    json_t *events = events_of_a_move();
    json_t *step = json_pack("{s:s,s:s,s:s,s:I}", "name", "switchover", "from", "dc1", "to",
                             "dc2", "started", (json_int_t)T0);
    vg_drill_measure(events, 3, 1, step);
    json_t *drill = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:b,s:[o],s:{s:i,s:i}}", "id", "20261207-100000-000",
        "state", "passed", "reason", "quarterly | test\nline", "by", "alice", "started",
        (json_int_t)T0, "ended", (json_int_t)T0 + 300, "from", "dc1", "switch_back", 0, "steps",
        step, "data_loss", "markers_written", 1, "markers_lost", 0);
    vg_buf_t md = VG_BUF_INIT;
    vg_drill_markdown(drill, &md);
    vg_buf_add(&md, "", 1);
    const char *text = (const char *)md.data;
    assert_non_null(strstr(text, "# DR drill 20261207-100000-000\n"));
    assert_non_null(strstr(text, "result: **passed**"));
    assert_non_null(
        strstr(text, "reason: quarterly \\| test line")); /* a cell stays one cell */
    assert_non_null(strstr(text, "data loss: 0 of 1 markers lost"));
    assert_non_null(strstr(text, "| switchover | dc1 | dc2 | 40 ms | 260 ms | ok |"));
    assert_non_null(strstr(text, "| switchover | db | dc2 | 250 ms | ok |"));
    vg_buf_release(&md);
    json_decref(drill);
    json_decref(events);
}

static void test_a_report_missing_fields_still_renders(void **unused)
{
    (void)unused;
    json_t *drill = json_pack("{s:[{}]}", "steps");
    vg_buf_t md = VG_BUF_INIT;
    vg_drill_markdown(drill, &md);
    vg_buf_add(&md, "", 1);
    assert_non_null(strstr((const char *)md.data, "# DR drill ?"));
    assert_non_null(strstr((const char *)md.data, "data loss: not measured"));
    vg_buf_release(&md);
    json_decref(drill);
}

/* ---- the slice ---- */

static void apply(vg_state_t *st, json_t *p)
{
    assert_int_equal(
        vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_PROTECT, p, NULL), 0);
    json_decref(p);
}

static json_t *drill_rec(const char *id, const char *state)
{
    return json_pack("{s:s,s:{s:s,s:s},s:I}", "op", "drill", "drill", "id", id, "state", state,
                     "time", (json_int_t)T0);
}

static void test_a_report_is_replaced_by_id_and_keeps_its_markers(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    apply(st, drill_rec("d1", "running"));
    apply(st, json_pack("{s:s,s:s,s:s,s:I}", "op", "drill_mark", "id", "d1", "phase",
                        "switchover", "time", (json_int_t)T0));
    apply(st, drill_rec("d1", "passed"));
    apply(st, json_pack("{s:s,s:s,s:s,s:I}", "op", "drill_mark", "id", "nope", "phase",
                        "switchover", "time", (json_int_t)T0)); /* no such drill */
    assert_int_equal(json_array_size(vg_protect_drills(st)), 1);
    const json_t *d = vg_protect_drill(st, "d1");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "passed");
    assert_int_equal(json_array_size(json_object_get(d, "marks")), 1);
    assert_null(vg_protect_drill(st, "nope"));

    vg_buf_t text = VG_BUF_INIT;
    vg_state_dump(st, &text);
    json_t *dump = json_loadb((const char *)text.data, text.len, 0, NULL);
    vg_state_t *back = vg_state_new();
    char err[256];
    assert_int_equal(vg_state_load(back, dump, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(vg_protect_drill(back, "d1"), "marks")),
                     1);
    json_decref(dump);
    vg_buf_release(&text);
    vg_state_free(back);
    vg_state_free(st);
}

static void test_a_malformed_drill_record_changes_nothing(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    apply(st, json_pack("{s:s,s:{s:s},s:I}", "op", "drill", "drill", "id", "d1", "time",
                        (json_int_t)T0)); /* no state */
    apply(st, json_pack("{s:s,s:s,s:I}", "op", "drill", "drill", "x", "time", (json_int_t)T0));
    apply(st, json_pack("{s:s,s:{s:i,s:s},s:I}", "op", "drill", "drill", "id", 7, "state",
                        "running", "time", (json_int_t)T0));
    assert_int_equal(json_array_size(vg_protect_drills(st)), 0);
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_times_keep_their_milliseconds),
        cmocka_unit_test(test_a_step_waits_for_the_role_event_and_the_services_move),
        cmocka_unit_test(test_each_service_recovers_at_its_last_step_of_the_epoch),
        cmocka_unit_test(test_a_move_with_a_failed_service_fails_the_step),
        cmocka_unit_test(test_the_report_shows_steps_rto_and_data_loss),
        cmocka_unit_test(test_a_report_missing_fields_still_renders),
        cmocka_unit_test(test_a_report_is_replaced_by_id_and_keeps_its_markers),
        cmocka_unit_test(test_a_malformed_drill_record_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

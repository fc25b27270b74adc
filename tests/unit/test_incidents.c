/*
 * test_incidents.c - the incidents' data half: what the records of an
 * incident's life mean once applied, the same on every member, through a
 * snapshot, and what a malformed or repeated record does not change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "incident/incidents.h"
#include "state/state.h"
#include "store/record.h"

#define T0 1764115200000LL

static void apply(vg_state_t *st, json_t *p)
{
    assert_int_equal(
        vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_INCIDENT, p, NULL), 0);
    json_decref(p);
}

static void open_rule(vg_state_t *st, const char *key, const char *sev, long long t)
{
    apply(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "op", "open", "key", key,
                        "severity", sev, "summary", "inlet too hot", "source", "rule", "ref",
                        key + 5, "time", (json_int_t)t, "policy", "facilities", "site", "dc1"));
}

static const char *status_of(const vg_state_t *st, uint64_t id)
{
    return json_string_value(json_object_get(vg_incidents_get(st, id), "status"));
}

static vg_state_t *reload(const vg_state_t *st)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_state_dump(st, &text);
    json_t *dump = json_loadb((const char *)text.data, text.len, 0, NULL);
    assert_non_null(dump);
    vg_state_t *back = vg_state_new();
    char err[256];
    assert_int_equal(vg_state_load(back, dump, err, sizeof err), 0);
    json_decref(dump);
    vg_buf_release(&text);
    return back;
}

static void test_one_condition_is_one_incident(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "warning", T0);
    open_rule(st, "rule/hot/t1", "critical", T0 + 1000); /* the same condition, worse */
    open_rule(st, "rule/hot/t2", "warning", T0 + 2000);
    assert_int_equal(vg_incidents_n_open(st), 2);
    assert_int_equal(vg_incidents_open_id(st, "rule/hot/t1"), 1);
    json_t *inc = vg_incidents_get(st, 1);
    assert_string_equal(json_string_value(json_object_get(inc, "severity")), "critical");
    assert_int_equal(json_integer_value(json_object_get(inc, "count")), 2);
    json_t *tl = json_object_get(inc, "timeline");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tl, 1), "what")),
                        "retriggered");
    vg_state_free(st);
}

static void test_ack_stops_and_resolve_frees_the_key(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "ack", "id", 1, "by", "alice", "via",
                        "api", "time", (json_int_t)T0 + 5000));
    assert_string_equal(status_of(st, 1), "acknowledged");
    /* a second ack changes nothing */
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "ack", "id", 1, "by", "bob", "via",
                        "api", "time", (json_int_t)T0 + 6000));
    assert_string_equal(
        json_string_value(json_object_get(vg_incidents_get(st, 1), "acked_by")), "alice");
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "resolve", "id", 1, "by", "vigil",
                        "reason", "the rule is ok again", "time", (json_int_t)T0 + 9000));
    assert_string_equal(status_of(st, 1), "resolved");
    assert_int_equal(vg_incidents_open_id(st, "rule/hot/t1"), 0);
    /* the same condition long after is a new incident */
    open_rule(st, "rule/hot/t1", "warning", T0 + 11 * 60000);
    assert_int_equal(vg_incidents_open_id(st, "rule/hot/t1"), 2);
    vg_state_free(st);
}

static void test_a_flapping_condition_reopens_its_incident(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "resolve", "id", 1, "by", "vigil",
                        "reason", "ok again", "time", (json_int_t)T0 + 9000));
    open_rule(st, "rule/hot/t1", "warning", T0 + 60000); /* back within the window */
    assert_int_equal(vg_incidents_open_id(st, "rule/hot/t1"), 1);
    json_t *inc = vg_incidents_get(st, 1);
    assert_string_equal(status_of(st, 1), "triggered");
    assert_int_equal(json_integer_value(json_object_get(inc, "flaps")), 1);
    assert_null(vg_incidents_get(st, 2));
    vg_state_free(st);
}

static void test_incidents_of_one_cause_are_grouped(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/mains/ups-1", "critical", T0);
    open_rule(st, "rule/mains/ups-2", "critical", T0 + 2000);
    open_rule(st, "rule/mains/pdu-1", "warning", T0 + 3000);
    open_rule(st, "rule/hot/t9", "critical", T0 + 5 * 60000); /* long after: its own */
    json_t *head = vg_incidents_get(st, 1);
    assert_int_equal(json_integer_value(json_object_get(head, "grouped")), 2);
    assert_int_equal(json_integer_value(json_object_get(vg_incidents_get(st, 2), "group_of")), 1);
    assert_null(json_object_get(vg_incidents_get(st, 4), "group_of"));
    /* acknowledging the head acknowledges the group */
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "ack", "id", 1, "by", "alice", "via",
                        "api", "time", (json_int_t)T0 + 9000));
    assert_string_equal(status_of(st, 2), "acknowledged");
    assert_string_equal(status_of(st, 3), "acknowledged");
    assert_string_equal(status_of(st, 4), "triggered");
    vg_state_free(st);
}

static void test_silenced_is_recorded_on_the_timeline(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    apply(st, json_pack("{s:s,s:i,s:s,s:I,s:I}", "op", "silenced", "id", 1, "by", "crah-work",
                        "until", (json_int_t)T0 + 3600000, "time", (json_int_t)T0 + 10));
    json_t *inc = vg_incidents_get(st, 1);
    assert_string_equal(json_string_value(json_object_get(inc, "silenced_by")), "crah-work");
    json_t *last = json_array_get(json_object_get(inc, "timeline"),
                                  json_array_size(json_object_get(inc, "timeline")) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "what")), "silenced");
    vg_state_free(st);
}

static void test_an_ack_link_works_once(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    open_rule(st, "rule/hot/t2", "critical", T0);
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:s,s:I}", "op", "ack", "id", 1, "by", "link", "via",
                        "link", "link", "n1", "time", (json_int_t)T0 + 1));
    assert_string_equal(status_of(st, 1), "acknowledged");
    json_t *used = json_object_get(vg_incidents_get(st, 1), "used_links");
    assert_int_equal(json_array_size(used), 1);
    vg_state_free(st);
}

static json_t *intent(const char *key, const char *who, long long due)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "key", key, "target", who, "method", "hook",
                     "channel", "webhook", "event", "trigger", "due", (json_int_t)due);
}

static void test_escalation_records_intents_and_outcomes(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    json_t *pages = json_pack("[o,o]", intent("k1", "alice", T0), intent("k2", "bob", T0));
    apply(st, json_pack("{s:s,s:i,s:i,s:i,s:o,s:I}", "op", "escalate", "id", 1, "step", 0,
                        "round", 0, "pages", pages, "time", (json_int_t)T0));
    /* the same step written twice (a primary that lost the answer) adds nothing */
    pages = json_pack("[o]", intent("k1", "alice", T0 + 99));
    apply(st, json_pack("{s:s,s:i,s:i,s:i,s:o,s:I}", "op", "escalate", "id", 1, "step", 0,
                        "round", 0, "pages", pages, "time", (json_int_t)T0 + 1));
    json_t *inc = vg_incidents_get(st, 1);
    json_t *pg = json_object_get(json_object_get(inc, "pages"), "k1");
    assert_int_equal(json_object_size(json_object_get(inc, "pages")), 2);
    assert_int_equal(json_integer_value(json_object_get(pg, "due")), T0);
    assert_string_equal(json_string_value(json_object_get(pg, "state")), "pending");
    apply(st, json_pack("{s:s,s:i,s:s,s:b,s:i,s:s,s:I}", "op", "paged", "id", 1, "key", "k1",
                        "ok", 1, "attempts", 2, "detail", "HTTP 202", "time",
                        (json_int_t)T0 + 300));
    /* an outcome comes once: a second one for the same page is kept out */
    apply(st, json_pack("{s:s,s:i,s:s,s:b,s:i,s:s,s:I}", "op", "paged", "id", 1, "key", "k1",
                        "ok", 0, "attempts", 1, "detail", "HTTP 500", "time",
                        (json_int_t)T0 + 400));
    assert_string_equal(json_string_value(json_object_get(pg, "state")), "delivered");
    assert_int_equal(json_integer_value(json_object_get(pg, "attempts")), 2);
    assert_int_equal(json_integer_value(json_object_get(inc, "step")), 0);
    assert_int_equal(json_integer_value(json_object_get(inc, "stepped_at")), T0 + 1);
    vg_state_free(st);
}

static void test_malformed_records_change_nothing(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    vg_buf_t before = VG_BUF_INIT, after = VG_BUF_INIT;
    vg_state_dump(st, &before);
    apply(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "op", "open", "key", "x", "severity",
                        "apocalyptic", "summary", "s", "source", "rule", "time", (json_int_t)T0));
    apply(st, json_pack("{s:s,s:s,s:s,s:I}", "op", "ack", "id", "1", "by", "x", "time",
                        (json_int_t)T0));
    apply(st, json_pack("{s:s,s:i,s:s,s:I}", "op", "resolve", "id", 99, "by", "x", "time",
                        (json_int_t)T0));
    apply(st, json_pack("{s:s,s:i}", "op", "note", "id", 1)); /* no time */
    apply(st, json_pack("{s:s,s:i,s:I}", "op", "explode", "id", 1, "time", (json_int_t)T0));
    apply(st, json_pack("[i]", 1));
    vg_state_dump(st, &after);
    /* only the applied index moved */
    json_t *a = json_loadb((const char *)before.data, before.len, 0, NULL);
    json_t *b = json_loadb((const char *)after.data, after.len, 0, NULL);
    assert_true(json_equal(json_object_get(json_object_get(a, "services"), "incidents"),
                           json_object_get(json_object_get(b, "services"), "incidents")));
    json_decref(a);
    json_decref(b);
    vg_buf_release(&before);
    vg_buf_release(&after);
    vg_state_free(st);
}

static void test_incidents_survive_a_snapshot(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    open_rule(st, "rule/hot/t1", "critical", T0);
    open_rule(st, "rule/hot/t2", "warning", T0);
    apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "note", "id", 2, "by", "carol",
                        "text", "looking", "time", (json_int_t)T0 + 10));
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "op", "open", "key",
                           "cluster/mirroring", "severity", "critical", "summary", "degraded",
                           "source", "cluster", "event_index", (json_int_t)42, "time",
                           (json_int_t)T0);
    apply(st, ev);
    vg_state_t *back = reload(st);
    assert_true(json_equal(vg_incidents_all(st), vg_incidents_all(back)));
    assert_int_equal(vg_incidents_event_cursor(back), 42);
    assert_int_equal(vg_incidents_n_open(back), 3);
    /* the next id goes on from where it was */
    open_rule(back, "rule/hot/t9", "warning", T0);
    assert_int_equal(vg_incidents_open_id(back, "rule/hot/t9"), 4);
    vg_state_free(st);
    vg_state_free(back);
}

static void test_resolved_incidents_are_kept_up_to_a_bound(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    for (int i = 0; i < VG_INCIDENT_KEEP_RESOLVED + 10; i++) {
        char key[32];
        snprintf(key, sizeof key, "rule/r/%d", i);
        open_rule(st, key, "warning", T0 + i);
        apply(st, json_pack("{s:s,s:i,s:s,s:s,s:I}", "op", "resolve", "id", i + 1, "by",
                            "vigil", "reason", "ok", "time", (json_int_t)T0 + i));
    }
    assert_int_equal(json_object_size(vg_incidents_all(st)), VG_INCIDENT_KEEP_RESOLVED);
    assert_null(vg_incidents_get(st, 1));
    assert_non_null(vg_incidents_get(st, VG_INCIDENT_KEEP_RESOLVED + 10));
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_condition_is_one_incident),
        cmocka_unit_test(test_ack_stops_and_resolve_frees_the_key),
        cmocka_unit_test(test_an_ack_link_works_once),
        cmocka_unit_test(test_a_flapping_condition_reopens_its_incident),
        cmocka_unit_test(test_incidents_of_one_cause_are_grouped),
        cmocka_unit_test(test_silenced_is_recorded_on_the_timeline),
        cmocka_unit_test(test_escalation_records_intents_and_outcomes),
        cmocka_unit_test(test_malformed_records_change_nothing),
        cmocka_unit_test(test_incidents_survive_a_snapshot),
        cmocka_unit_test(test_resolved_incidents_are_kept_up_to_a_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

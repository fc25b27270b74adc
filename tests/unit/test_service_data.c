/*
 * test_service_data.c - a service's data half inside the state: its
 * records are applied to its slice, its slice goes into snapshots and
 * comes back, and snapshots written before services (alerts as members of
 * the state itself) still load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "monitor/alerts.h"
#include "service/service.h"
#include "state/state.h"
#include "store/record.h"

static void apply_alert(vg_state_t *st, const char *id, const char *to)
{
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", id, "rule", "hot", "sensor",
                          "t1", "from", "ok", "to", to, "time", (json_int_t)1764115200000LL);
    assert_int_equal(
        vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_ALERT, p, NULL), 0);
    json_decref(p);
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

static void test_alert_records_go_to_the_monitor_slice(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_alert(st, "hot/t1", "critical");
    apply_alert(st, "hot/t2", "warning");
    apply_alert(st, "hot/t2", "ok");
    assert_int_equal(json_object_size(vg_alerts_active(st)), 1);
    assert_non_null(json_object_get(vg_alerts_active(st), "hot/t1"));
    assert_int_equal(json_array_size(vg_alerts_log(st)), 3);
    size_t slot;
    assert_ptr_equal(vg_service_data_owner(VG_REC_ALERT, &slot), &vg_alerts_data);
    assert_null(vg_service_data_owner(VG_REC_OBJ_PUT, NULL));
    vg_state_free(st);
}

static void test_slices_survive_a_snapshot(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_alert(st, "hot/t1", "critical");
    vg_state_t *back = reload(st);
    assert_true(json_equal(vg_alerts_active(st), vg_alerts_active(back)));
    assert_true(json_equal(vg_alerts_log(st), vg_alerts_log(back)));
    assert_int_equal(vg_state_applied_index(back), vg_state_applied_index(st));
    vg_state_free(st);
    vg_state_free(back);
}

static void test_snapshot_from_before_services_still_loads(void **unused)
{
    const char *old = "{\"version\":1,\"applied_index\":7,\"epoch\":2,\"objects\":{},"
                      "\"tokens\":{},\"events\":[],\"cluster\":{},"
                      "\"alerts\":{\"hot/t1\":{\"id\":\"hot/t1\",\"to\":\"critical\"}},"
                      "\"alert_log\":[{\"id\":\"hot/t1\",\"to\":\"critical\"}]}";
    json_t *dump = json_loads(old, 0, NULL);
    vg_state_t *st = vg_state_new();
    char err[256];
    assert_int_equal(vg_state_load(st, dump, err, sizeof err), 0);
    assert_non_null(json_object_get(vg_alerts_active(st), "hot/t1"));
    assert_int_equal(json_array_size(vg_alerts_log(st)), 1);
    json_decref(dump);
    vg_state_free(st);
}

static void test_malformed_slice_changes_nothing(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_alert(st, "hot/t1", "critical");
    const char *bad = "{\"version\":1,\"applied_index\":9,\"epoch\":2,\"objects\":{},"
                      "\"tokens\":{},\"services\":{\"alerts\":{\"alerts\":[1,2]}}}";
    json_t *dump = json_loads(bad, 0, NULL);
    char err[256];
    assert_int_equal(vg_state_load(st, dump, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "alerts"));
    assert_non_null(json_object_get(vg_alerts_active(st), "hot/t1"));
    assert_int_equal(vg_state_applied_index(st), 1);
    json_decref(dump);
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_records_go_to_the_monitor_slice),
        cmocka_unit_test(test_slices_survive_a_snapshot),
        cmocka_unit_test(test_snapshot_from_before_services_still_loads),
        cmocka_unit_test(test_malformed_slice_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_state.c - the applied state: deterministic apply, optimistic
 * concurrency, deletes, selectors, the watch history and snapshot dump/load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "state/selector.h"
#include "state/state.h"
#include "store/record.h"

static json_t *put_payload(const char *kind, const char *name, const char *loc,
                           long long if_match)
{
    json_t *p = json_pack("{s:{s:s, s:s, s:{s:s}, s:s, s:{s:s}}, s:s, s:I}", "object", "kind",
                          kind, "name", name, "labels", "env", loc, "description", "", "spec",
                          "location", loc, "actor", "t", "time", (json_int_t)1764115200123LL);
    if (if_match >= 0)
        json_object_set_new(p, "if_match", json_integer(if_match));
    return p;
}

static int apply_put(vg_state_t *st, const char *name, const char *loc, long long if_match,
                     vg_apply_result_t *res)
{
    json_t *p = put_payload("Site", name, loc, if_match);
    int rc = vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_OBJ_PUT, p, res);
    json_decref(p);
    return rc;
}

static void test_put_sets_revision_and_timestamps_from_the_record(void **unused)
{
    vg_state_t *st = vg_state_new();
    vg_apply_result_t res;
    assert_int_equal(apply_put(st, "dc1", "be", -1, &res), 0);
    assert_true(res.created);
    assert_int_equal(json_integer_value(json_object_get(res.object, "revision")), 1);
    assert_string_equal(json_string_value(json_object_get(res.object, "updated")),
                        "2025-11-26T00:00:00.123Z");
    json_decref(res.object);
    assert_int_equal(apply_put(st, "dc1", "nl", -1, &res), 0);
    assert_false(res.created);
    assert_int_equal(json_integer_value(json_object_get(res.object, "revision")), 2);
    json_decref(res.object);
    assert_int_equal(vg_state_n_objects(st), 1);
    vg_state_free(st);
}

static void test_if_match_mismatch_is_a_conflict_and_changes_nothing(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_put(st, "dc1", "be", -1, NULL);
    vg_apply_result_t res;
    assert_int_equal(apply_put(st, "dc1", "nl", 7, &res), -VG_ECONFLICT);
    assert_non_null(strstr(res.msg, "revision conflict"));
    json_t *obj = vg_state_get(st, "Site", "dc1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(obj, "spec"), "location")), "be");
    json_decref(obj);
    assert_int_equal(apply_put(st, "dc1", "nl", 0, NULL), -VG_ECONFLICT);
    assert_int_equal(apply_put(st, "dc1", "nl", 1, NULL), 0);
    assert_int_equal(apply_put(st, "dc2", "nl", 0, NULL), 0); /* 0 = must not exist */
    vg_state_free(st);
}

static void test_delete_removes_and_reports_missing(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_put(st, "dc1", "be", -1, NULL);
    json_t *del = json_pack("{s:s, s:s, s:s, s:I}", "kind", "Site", "name", "dc1", "actor", "t",
                            "time", (json_int_t)0);
    vg_apply_result_t res;
    assert_int_equal(vg_state_apply(st, 1, 2, VG_REC_OBJ_DELETE, del, &res), 0);
    assert_int_equal(json_integer_value(json_object_get(res.object, "revision")), 2);
    json_decref(res.object);
    assert_null(vg_state_get(st, "Site", "dc1"));
    assert_int_equal(vg_state_apply(st, 1, 3, VG_REC_OBJ_DELETE, del, &res), -ENOENT);
    assert_int_equal(vg_state_n_objects(st), 0);
    json_decref(del);
    vg_state_free(st);
}

static void test_same_records_give_the_same_state(void **unused)
{
    vg_state_t *a = vg_state_new(), *b = vg_state_new();
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i % 7);
        apply_put(a, name, i % 2 ? "be" : "nl", -1, NULL);
        apply_put(b, name, i % 2 ? "be" : "nl", -1, NULL);
    }
    vg_buf_t da = VG_BUF_INIT, db = VG_BUF_INIT;
    vg_state_dump(a, &da);
    vg_state_dump(b, &db);
    assert_int_equal(da.len, db.len);
    assert_memory_equal(da.data, db.data, da.len);
    vg_buf_release(&da);
    vg_buf_release(&db);
    vg_state_free(a);
    vg_state_free(b);
}

static void test_selector_filters_by_labels(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_put(st, "a", "be", -1, NULL);
    apply_put(st, "b", "nl", -1, NULL);
    apply_put(st, "c", "be", -1, NULL);
    json_t *items;
    char err[128];
    assert_int_equal(vg_state_list(st, "Site", "env=be", &items, err, sizeof err), 0);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "name")),
                        "a");
    json_decref(items);
    assert_int_equal(vg_state_list(st, "Site", "env!=be", &items, err, sizeof err), 0);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
    assert_int_equal(vg_state_list(st, NULL, "!env", &items, err, sizeof err), 0);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    assert_int_equal(vg_state_list(st, "Site", "env=,", &items, err, sizeof err), -EINVAL);
    assert_int_equal(vg_state_list(st, "Site", "a b=c", &items, err, sizeof err), -EINVAL);
    vg_state_free(st);
}

/* The snapshot text of st, parsed as a member parses it at start. */
static json_t *dump_json(const vg_state_t *st)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_state_dump(st, &text);
    json_error_t jerr;
    json_t *dump = json_loadb((const char *)text.data, text.len, 0, &jerr);
    assert_non_null(dump);
    vg_buf_release(&text);
    return dump;
}

static void count_change(void *ctx, const vg_change_t *ch)
{
    (*(int *)ctx)++;
}

static void test_history_replays_changes_and_reports_when_too_old(void **unused)
{
    vg_state_t *st = vg_state_new();
    for (int i = 0; i < 10; i++)
        apply_put(st, "dc1", i % 2 ? "be" : "nl", -1, NULL);
    int n = 0;
    assert_int_equal(vg_state_changes_since(st, 4, count_change, &n), 0);
    assert_int_equal(n, 6);
    json_t *dump = dump_json(st);
    vg_state_t *restored = vg_state_new();
    char err[128];
    assert_int_equal(vg_state_load(restored, dump, err, sizeof err), 0);
    assert_int_equal(vg_state_changes_since(restored, 4, count_change, &n), -ERANGE);
    assert_int_equal(vg_state_changes_since(restored, 10, count_change, &n), 0);
    json_t *was = vg_state_get(st, "Site", "dc1"), *now = vg_state_get(restored, "Site", "dc1");
    assert_true(json_equal(was, now));
    json_decref(was);
    json_decref(now);
    assert_int_equal(vg_state_applied_index(restored), 10);
    json_decref(dump);
    vg_state_free(st);
    vg_state_free(restored);
}

static void test_returned_objects_are_copies_the_state_does_not_share(void **unused)
{
    vg_state_t *st = vg_state_new();
    vg_apply_result_t res;
    apply_put(st, "dc1", "be", -1, &res);
    json_object_set_new(json_object_get(res.object, "spec"), "location", json_string("xx"));
    json_decref(res.object);
    json_t *obj = vg_state_get(st, "Site", "dc1");
    json_object_clear(obj);
    json_decref(obj);
    obj = vg_state_get(st, "Site", "dc1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(obj, "spec"), "location")), "be");
    json_decref(obj);
    vg_state_free(st);
}

static void test_odd_values_survive_the_packed_store(void **unused)
{
    vg_state_t *st = vg_state_new();
    json_t *p = put_payload("Site", "dc1", "be", -1);
    json_t *spec = json_object_get(json_object_get(p, "object"), "spec");
    json_object_set_new(spec, "nul", json_stringn("a\0b", 3));
    json_object_set_new(spec, "text", json_string("caf\xc3\xa9 \xe2\x82\xac \"q\" \\ \n"));
    json_object_set_new(spec, "whole_real", json_real(20.0));
    json_object_set_new(spec, "tiny", json_real(1e-300));
    json_object_set_new(spec, "big", json_integer(-9007199254740993LL));
    json_t *want = json_deep_copy(spec);
    assert_int_equal(vg_state_apply(st, 1, 1, VG_REC_OBJ_PUT, p, NULL), 0);
    json_t *obj = vg_state_get(st, "Site", "dc1");
    json_t *got = json_object_get(obj, "spec");
    assert_true(json_equal(got, want));
    assert_true(json_is_real(json_object_get(got, "whole_real")));
    assert_int_equal(json_string_length(json_object_get(got, "nul")), 3);
    json_decref(obj);
    json_decref(want);
    json_decref(p);
    vg_state_free(st);
}

/* Keeps the location of each replayed change, in order (up to 3). */
static void note_location(void *ctx, const vg_change_t *ch)
{
    char **seen = ctx;
    for (int i = 0; i < 3; i++)
        if (!seen[i]) {
            seen[i] = strdup(json_string_value(
                json_object_get(json_object_get(ch->object, "spec"), "location")));
            break;
        }
}

static void test_history_replays_each_revision_as_it_was(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_put(st, "dc1", "be", -1, NULL);
    apply_put(st, "dc1", "nl", -1, NULL);
    apply_put(st, "dc1", "fr", -1, NULL);
    char *seen[3] = {NULL, NULL, NULL};
    assert_int_equal(vg_state_changes_since(st, 0, note_location, seen), 0);
    assert_string_equal(seen[0], "be");
    assert_string_equal(seen[1], "nl");
    assert_string_equal(seen[2], "fr");
    for (int i = 0; i < 3; i++)
        free(seen[i]);
    vg_state_free(st);
}

static void test_load_of_malformed_objects_changes_nothing(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_put(st, "dc1", "be", -1, NULL);
    json_t *bad = json_pack("{s:i, s:i, s:i, s:{s:{s:i}}, s:{}}", "version", 1, "applied_index",
                            9, "epoch", 1, "objects", "Site", "dc2", 5, "tokens");
    char err[128];
    assert_int_equal(vg_state_load(st, bad, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "'Site'"));
    assert_int_equal(vg_state_applied_index(st), 1);
    json_t *obj = vg_state_get(st, "Site", "dc1");
    assert_non_null(obj);
    json_decref(obj);
    assert_null(vg_state_get(st, "Site", "dc2"));
    json_decref(bad);
    vg_state_free(st);
}

static void test_load_rejects_malformed_dump(void **unused)
{
    vg_state_t *st = vg_state_new();
    char err[128];
    json_t *bad = json_pack("{s:i}", "version", 1);
    assert_int_equal(vg_state_load(st, bad, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "malformed"));
    json_decref(bad);
    vg_state_free(st);
}

static void test_revoked_token_no_longer_authenticates(void **unused)
{
    vg_state_t *st = vg_state_new();
    json_t *create =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", "0123456789abcdef", "name", "ci",
                  "role", "operator", "hash", "00", "actor", "t", "time", (json_int_t)0);
    assert_int_equal(vg_state_apply(st, 1, 1, VG_REC_TOKEN_CREATE, create, NULL), 0);
    const char *hash;
    assert_int_equal(vg_state_token(st, "0123456789abcdef", &hash), VG_ROLE_OPERATOR);
    json_t *revoke = json_pack("{s:s}", "id", "0123456789abcdef");
    assert_int_equal(vg_state_apply(st, 1, 2, VG_REC_TOKEN_REVOKE, revoke, NULL), 0);
    assert_int_equal(vg_state_token(st, "0123456789abcdef", &hash), VG_ROLE_NONE);
    json_t *listed = vg_state_tokens(st);
    assert_null(json_object_get(json_array_get(listed, 0), "hash"));
    json_decref(listed);
    json_decref(create);
    json_decref(revoke);
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_sets_revision_and_timestamps_from_the_record),
        cmocka_unit_test(test_if_match_mismatch_is_a_conflict_and_changes_nothing),
        cmocka_unit_test(test_delete_removes_and_reports_missing),
        cmocka_unit_test(test_same_records_give_the_same_state),
        cmocka_unit_test(test_selector_filters_by_labels),
        cmocka_unit_test(test_history_replays_changes_and_reports_when_too_old),
        cmocka_unit_test(test_load_rejects_malformed_dump),
        cmocka_unit_test(test_returned_objects_are_copies_the_state_does_not_share),
        cmocka_unit_test(test_odd_values_survive_the_packed_store),
        cmocka_unit_test(test_history_replays_each_revision_as_it_was),
        cmocka_unit_test(test_load_of_malformed_objects_changes_nothing),
        cmocka_unit_test(test_revoked_token_no_longer_authenticates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

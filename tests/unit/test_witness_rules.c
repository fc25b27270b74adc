/*
 * test_witness_rules.c - the witness's configuration rules (DESIGN.md
 * section 3, docs/cluster.md): who may change C, when, into what, and that
 * every malformed request is refused with the offending field named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "witness/witness_rules.h"

#define DEAD_AFTER 800
#define NOW        1714564800123ull /* 2024-05-01T12:00:00.123Z */

static char err[512];
static char field_seen[128]; /* the field named by the last parse, copied out of the JSON */

/* *field may point into the parsed JSON: keep a copy before it is freed. */
static void keep_field(const char **field)
{
    snprintf(field_seen, sizeof field_seen, "%s", *field ? *field : "");
    *field = *field ? field_seen : NULL;
}

static vg_witness_request_t request(const char *caller, uint64_t expect, enum vg_witness_op op,
                                    const char *target)
{
    vg_witness_request_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.member, sizeof r.member, "%s", caller);
    r.expect_epoch = expect;
    r.op = op;
    snprintf(r.target, sizeof r.target, "%s", target ? target : "");
    return r;
}

static int decide(const vg_witness_cfg_t *cur, const vg_witness_request_t *r,
                  uint64_t since_primary, vg_witness_cfg_t *next)
{
    err[0] = '\0';
    return vg_witness_decide(cur, r, since_primary, DEAD_AFTER, NOW, next, err, sizeof err);
}

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

/* dc1 primary at epoch 1, sync {dc1}. */
static vg_witness_cfg_t bootstrapped(void)
{
    vg_witness_cfg_t zero, c;
    vg_witness_cfg_init(&zero);
    vg_witness_request_t r = request("dc1", 0, VG_WITNESS_OP_BOOTSTRAP, "dc1");
    snprintf(r.members[0], sizeof r.members[0], "dc1");
    snprintf(r.members[1], sizeof r.members[1], "dc2");
    assert_int_equal(decide(&zero, &r, 0, &c), 0);
    return c;
}

/* dc1 primary at epoch 2, sync {dc1, dc2}. */
static vg_witness_cfg_t mirrored(void)
{
    vg_witness_cfg_t c = bootstrapped(), next;
    vg_witness_request_t r = request("dc1", 1, VG_WITNESS_OP_RESTORE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), 0);
    return next;
}

static void assert_cfg_equal(const vg_witness_cfg_t *a, const vg_witness_cfg_t *b)
{
    assert_int_equal(a->epoch, b->epoch);
    for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
        assert_string_equal(a->members[i], b->members[i]);
    assert_int_equal(a->primary, b->primary);
    assert_int_equal(a->sync, b->sync);
    assert_string_equal(a->changed_by, b->changed_by);
    assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->changed_at_ms, b->changed_at_ms);
    assert_int_equal(a->forced, b->forced);
}

static void assert_sync(const vg_witness_cfg_t *c, int dc1, int dc2)
{
    assert_int_equal(vg_witness_cfg_in_sync(c, "dc1"), dc1);
    assert_int_equal(vg_witness_cfg_in_sync(c, "dc2"), dc2);
}

/* --- bootstrap ------------------------------------------------------------ */

static void test_bootstrap_makes_target_primary_alone_in_sync(void **state)
{
    vg_witness_cfg_t c = bootstrapped();
    assert_int_equal(c.epoch, 1);
    assert_string_equal(vg_witness_cfg_primary(&c), "dc1");
    assert_sync(&c, 1, 0);
    assert_string_equal(c.members[1], "dc2");
    assert_string_equal(c.changed_by, "dc1");
    assert_int_equal(c.changed_at_ms, NOW);
}

static void test_bootstrap_only_once(void **state)
{
    vg_witness_cfg_t c = bootstrapped(), next;
    vg_witness_request_t r = request("dc2", 1, VG_WITNESS_OP_BOOTSTRAP, "dc2");
    snprintf(r.members[0], sizeof r.members[0], "dc2");
    snprintf(r.members[1], sizeof r.members[1], "dc3");
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
    assert_err_contains("only once");
}

static void test_bootstrap_by_outsider_refused(void **state)
{
    vg_witness_cfg_t zero, next;
    vg_witness_cfg_init(&zero);
    vg_witness_request_t r = request("intruder", 0, VG_WITNESS_OP_BOOTSTRAP, "dc1");
    snprintf(r.members[0], sizeof r.members[0], "dc1");
    snprintf(r.members[1], sizeof r.members[1], "dc2");
    assert_int_equal(decide(&zero, &r, 0, &next), -EPERM);
    snprintf(r.member, sizeof r.member, "dc1");
    snprintf(r.target, sizeof r.target, "dc3");
    assert_int_equal(decide(&zero, &r, 0, &next), -EINVAL);
    assert_err_contains("target 'dc3'");
}

static void test_nothing_but_bootstrap_at_epoch_zero(void **state)
{
    vg_witness_cfg_t zero, next;
    vg_witness_cfg_init(&zero);
    vg_witness_request_t r = request("dc1", 0, VG_WITNESS_OP_FORCE, "dc1");
    r.force = true;
    assert_int_equal(decide(&zero, &r, 0, &next), -VG_ECONFLICT);
    assert_err_contains("not bootstrapped");
}

/* --- rule 1: promote ------------------------------------------------------- */

static void test_promote_refused_while_primary_heard(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    memset(&next, 0x5a, sizeof next);
    vg_witness_cfg_t untouched = next;
    vg_witness_request_t r = request("dc2", 2, VG_WITNESS_OP_PROMOTE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
    assert_int_equal(decide(&c, &r, DEAD_AFTER - 1, &next), -VG_ECONFLICT);
    assert_err_contains("broken link");
    assert_memory_equal(&next, &untouched, sizeof next); /* a refusal writes nothing */
}

static void test_promote_after_dead_after_gives_sync_of_one(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc2", 2, VG_WITNESS_OP_PROMOTE, "dc2");
    assert_int_equal(decide(&c, &r, DEAD_AFTER, &next), 0);
    assert_int_equal(next.epoch, 3);
    assert_string_equal(vg_witness_cfg_primary(&next), "dc2");
    assert_sync(&next, 0, 1); /* the lost primary may miss nothing, but nobody knows */
    assert_false(next.forced);
}

static void test_planned_switchover_keeps_both_in_sync(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc1", 2, VG_WITNESS_OP_PROMOTE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), 0);
    assert_string_equal(vg_witness_cfg_primary(&next), "dc2");
    assert_sync(&next, 1, 1);
    assert_string_equal(next.changed_by, "dc1");
}

static void test_promote_refused_for_member_outside_sync(void **state)
{
    vg_witness_cfg_t c = bootstrapped(), next; /* sync {dc1} */
    vg_witness_request_t r = request("dc2", 1, VG_WITNESS_OP_PROMOTE, "dc2");
    assert_int_equal(decide(&c, &r, 10 * DEAD_AFTER, &next), -VG_ECONFLICT);
    assert_err_contains("not in the sync set");
    r = request("dc1", 1, VG_WITNESS_OP_PROMOTE, "dc2"); /* not even the primary may */
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
}

static void test_promote_of_the_primary_refused(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc1", 2, VG_WITNESS_OP_PROMOTE, "dc1");
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
    assert_err_contains("already the primary");
}

/* --- rules 2 and 3: degrade and restore ------------------------------------ */

static void test_degrade_only_by_primary(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc2", 2, VG_WITNESS_OP_DEGRADE, NULL);
    assert_int_equal(decide(&c, &r, 10 * DEAD_AFTER, &next), -VG_ECONFLICT);
    assert_err_contains("only the primary");
    r = request("dc1", 2, VG_WITNESS_OP_DEGRADE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), 0);
    assert_int_equal(next.epoch, 3);
    assert_string_equal(vg_witness_cfg_primary(&next), "dc1");
    assert_sync(&next, 1, 0);
}

static void test_degrade_when_already_degraded_conflicts(void **state)
{
    vg_witness_cfg_t c = bootstrapped(), next;
    vg_witness_request_t r = request("dc1", 1, VG_WITNESS_OP_DEGRADE, NULL);
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
    assert_err_contains("already degraded");
    r = request("dc1", 1, VG_WITNESS_OP_DEGRADE, "dc1");
    assert_int_equal(decide(&c, &r, 0, &next), -EINVAL);
}

static void test_restore_only_by_primary(void **state)
{
    vg_witness_cfg_t c = bootstrapped(), next;
    vg_witness_request_t r = request("dc2", 1, VG_WITNESS_OP_RESTORE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
    assert_err_contains("only the primary");
    r = request("dc1", 1, VG_WITNESS_OP_RESTORE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), 0);
    assert_sync(&next, 1, 1);
    assert_string_equal(vg_witness_cfg_primary(&next), "dc1");
}

static void test_restore_of_member_in_sync_conflicts(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc1", 2, VG_WITNESS_OP_RESTORE, "dc2");
    assert_int_equal(decide(&c, &r, 0, &next), -VG_ECONFLICT);
    assert_err_contains("already in the sync set");
    r = request("dc1", 2, VG_WITNESS_OP_RESTORE, "dc1");
    assert_int_equal(decide(&c, &r, 0, &next), -EINVAL);
}

/* --- compare-and-set on the epoch ----------------------------------------- */

static void test_stale_epoch_conflicts(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    /* each of these would be allowed at the right epoch */
    vg_witness_request_t reqs[] = {
        request("dc1", 1, VG_WITNESS_OP_PROMOTE, "dc2"),
        request("dc1", 3, VG_WITNESS_OP_PROMOTE, "dc2"),
        request("dc1", 1, VG_WITNESS_OP_DEGRADE, NULL),
        request("dc2", 0, VG_WITNESS_OP_PROMOTE, "dc2"),
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(reqs); i++) {
        assert_int_equal(decide(&c, &reqs[i], 10 * DEAD_AFTER, &next), -VG_ECONFLICT);
        assert_err_contains("stale expect_epoch");
        assert_err_contains("epoch 2");
    }
    vg_witness_request_t force = request("dc2", 1, VG_WITNESS_OP_FORCE, "dc2");
    force.force = true;
    assert_int_equal(decide(&c, &force, 0, &next), -VG_ECONFLICT); /* even a force */
}

static void test_two_racing_promotes_only_one_wins(void **state)
{
    vg_witness_cfg_t c = mirrored(), first, second;
    vg_witness_request_t planned = request("dc1", 2, VG_WITNESS_OP_PROMOTE, "dc2");
    vg_witness_request_t degrade = request("dc1", 2, VG_WITNESS_OP_DEGRADE, NULL);
    assert_int_equal(decide(&c, &planned, 0, &first), 0);
    assert_int_equal(decide(&first, &degrade, 0, &second), -VG_ECONFLICT);
}

/* --- rule 4: force ---------------------------------------------------------- */

static void test_force_is_recorded(void **state)
{
    vg_witness_cfg_t c = bootstrapped(), next, after;
    vg_witness_request_t r = request("dc2", 1, VG_WITNESS_OP_FORCE, "dc2");
    r.force = true;
    snprintf(r.reason, sizeof r.reason, "dc1 flooded, accept data loss");
    assert_int_equal(decide(&c, &r, 0, &next), 0); /* outside rule 1: dc2 not in sync */
    assert_true(next.forced);
    assert_int_equal(next.epoch, 2);
    assert_string_equal(vg_witness_cfg_primary(&next), "dc2");
    assert_sync(&next, 0, 1);
    assert_string_equal(next.changed_by, "dc2");
    assert_string_equal(next.reason, "dc1 flooded, accept data loss");
    json_t *j = vg_witness_cfg_to_json(&next);
    assert_true(json_is_true(json_object_get(j, "forced")));
    json_decref(j);
    vg_witness_request_t restore = request("dc2", 2, VG_WITNESS_OP_RESTORE, "dc1");
    assert_int_equal(decide(&next, &restore, 0, &after), 0);
    assert_false(after.forced); /* the flag describes the change to this epoch */
}

/* --- who may ask ------------------------------------------------------------ */

static void test_non_member_caller_refused(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc3", 2, VG_WITNESS_OP_PROMOTE, "dc2");
    assert_int_equal(decide(&c, &r, 10 * DEAD_AFTER, &next), -EPERM);
    assert_err_contains("'dc3' is not a member");
    r = request("dc2", 2, VG_WITNESS_OP_PROMOTE, "dc3");
    assert_int_equal(decide(&c, &r, 10 * DEAD_AFTER, &next), -EINVAL);
    assert_err_contains("target 'dc3'");
}

static void test_change_records_who_why_and_when(void **state)
{
    vg_witness_cfg_t c = mirrored(), next;
    vg_witness_request_t r = request("dc1", 2, VG_WITNESS_OP_DEGRADE, NULL);
    snprintf(r.reason, sizeof r.reason, "acks stopped for 500 ms");
    assert_int_equal(vg_witness_decide(&c, &r, 0, DEAD_AFTER, NOW + 5, &next, err, sizeof err),
                     0);
    assert_string_equal(next.changed_by, "dc1");
    assert_string_equal(next.reason, "acks stopped for 500 ms");
    assert_int_equal(next.changed_at_ms, NOW + 5);
    assert_int_equal(vg_witness_cfg_check(&next, err, sizeof err), 0);
}

/* --- JSON of C ---------------------------------------------------------------- */

static int cfg_parse(const char *text, vg_witness_cfg_t *c, const char **field)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s", jerr.text);
    err[0] = '\0';
    int rc = vg_witness_cfg_from_json(j, c, field, err, sizeof err);
    keep_field(field);
    json_decref(j);
    return rc;
}

static void test_cfg_json_round_trip(void **state)
{
    vg_witness_cfg_t zero, back;
    vg_witness_cfg_init(&zero);
    vg_witness_cfg_t cases[] = {zero, bootstrapped(), mirrored()};
    snprintf(cases[2].reason, sizeof cases[2].reason, "caught up \"live\" \xc3\xa9");
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        json_t *j = vg_witness_cfg_to_json(&cases[i]);
        assert_int_equal(vg_witness_cfg_from_json(j, &back, NULL, err, sizeof err), 0);
        assert_cfg_equal(&back, &cases[i]);
        json_decref(j);
    }
    json_t *j = vg_witness_cfg_to_json(&cases[1]);
    assert_string_equal(json_string_value(json_object_get(j, "changed_at")),
                        "2024-05-01T12:00:00.123Z");
    json_decref(j);
}

static void test_cfg_json_rejects_broken_configurations(void **state)
{
    static const struct {
        const char *text, *field;
    } cases[] = {
        {"{\"epoch\":1,\"primary\":\"dc1\",\"sync\":[\"dc2\"],\"members\":[\"dc1\",\"dc2\"],"
         "\"changed_by\":\"dc1\",\"reason\":\"\",\"changed_at\":\"2024-05-01T12:00:00.000Z\","
         "\"forced\":false}",
         "sync"},
        {"{\"epoch\":1,\"primary\":\"dc3\",\"sync\":[\"dc1\"],\"members\":[\"dc1\",\"dc2\"],"
         "\"changed_by\":\"dc1\",\"reason\":\"\",\"changed_at\":\"2024-05-01T12:00:00.000Z\","
         "\"forced\":false}",
         "primary"},
        {"{\"epoch\":1,\"primary\":\"dc1\",\"sync\":[\"dc1\",\"dc3\"],\"members\":[\"dc1\","
         "\"dc2\"],\"changed_by\":\"dc1\",\"reason\":\"\",\"changed_at\":\"2024-05-01T12:00:00."
         "000Z\",\"forced\":false}",
         "sync"},
        {"{\"epoch\":1,\"primary\":\"dc1\",\"sync\":[\"dc1\"],\"members\":[\"dc1\",\"dc1\"],"
         "\"changed_by\":\"dc1\",\"reason\":\"\",\"changed_at\":\"2024-05-01T12:00:00.000Z\","
         "\"forced\":false}",
         "members"},
        {"{\"epoch\":1,\"primary\":\"dc1\",\"sync\":[\"dc1\"],\"members\":[\"dc1\",\"dc2\"],"
         "\"changed_by\":\"dc1\",\"reason\":\"\",\"changed_at\":\"2024-02-30T12:00:00.000Z\","
         "\"forced\":false}",
         "changed_at"},
        {"{\"epoch\":1,\"primary\":\"dc1\",\"sync\":[\"dc1\"],\"members\":[\"dc1\",\"dc2\"],"
         "\"changed_by\":\"dc1\",\"reason\":\"\",\"changed_at\":\"2024-05-01T12:00:00.000Z\"}",
         "forced"},
        {"{\"epoch\":0,\"primary\":\"dc1\",\"sync\":[],\"members\":[],\"changed_by\":null,"
         "\"reason\":null,\"changed_at\":null,\"forced\":false}",
         "primary"},
        {"{\"epoch\":-1,\"primary\":null,\"sync\":[],\"members\":[],\"changed_by\":null,"
         "\"reason\":null,\"changed_at\":null,\"forced\":false}",
         "epoch"},
        {"{\"epoch\":0,\"primary\":null,\"sync\":[],\"members\":[],\"changed_by\":null,"
         "\"reason\":null,\"changed_at\":null,\"forced\":false,\"extra\":1}",
         "extra"},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        vg_witness_cfg_t c;
        const char *field = NULL;
        assert_int_equal(cfg_parse(cases[i].text, &c, &field), -EINVAL);
        if (!field || strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: field %s, expected %s (%s)", i, field ? field : "NULL",
                     cases[i].field, err);
        assert_non_null(strstr(err, cases[i].field));
    }
}

/* --- JSON of requests and heartbeats ------------------------------------------ */

static int req_parse(const char *text, vg_witness_request_t *r, const char **field)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s", jerr.text);
    err[0] = '\0';
    int rc = vg_witness_request_from_json(j, r, field, err, sizeof err);
    keep_field(field);
    json_decref(j);
    return rc;
}

static void test_request_parses_and_round_trips(void **state)
{
    vg_witness_request_t r, back;
    const char *field;
    assert_int_equal(req_parse("{\"member\":\"dc1\",\"expect_epoch\":0,\"op\":\"bootstrap\","
                               "\"target\":\"dc1\",\"members\":[\"dc1\",\"dc2\"],\"reason\":"
                               "\"first start\"}",
                               &r, &field),
                     0);
    assert_int_equal(r.op, VG_WITNESS_OP_BOOTSTRAP);
    assert_string_equal(r.members[1], "dc2");
    assert_string_equal(r.reason, "first start");
    json_t *j = vg_witness_request_to_json(&r);
    assert_int_equal(vg_witness_request_from_json(j, &back, &field, err, sizeof err), 0);
    assert_string_equal(back.member, r.member);
    assert_int_equal(back.expect_epoch, r.expect_epoch);
    assert_int_equal(back.op, r.op);
    assert_string_equal(back.target, r.target);
    assert_string_equal(back.reason, r.reason);
    assert_int_equal(back.force, r.force);
    assert_string_equal(back.members[0], r.members[0]);
    assert_string_equal(back.members[1], r.members[1]);
    json_decref(j);
    assert_int_equal(
        req_parse("{\"expect_epoch\":4,\"op\":\"degrade\",\"target\":null}", &r, &field), 0);
    assert_string_equal(r.member, "");
    assert_string_equal(r.target, "");
}

static void test_request_rejects_malformed_fields_by_name(void **state)
{
    static const struct {
        const char *text, *field;
    } cases[] = {
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\",\"colour\":\"red\"}",
         "colour"},
        {"{\"expect_epoch\":\"1\",\"op\":\"promote\",\"target\":\"dc2\"}", "expect_epoch"},
        {"{\"expect_epoch\":-1,\"op\":\"promote\",\"target\":\"dc2\"}", "expect_epoch"},
        {"{\"expect_epoch\":1.5,\"op\":\"promote\",\"target\":\"dc2\"}", "expect_epoch"},
        {"{\"op\":\"promote\",\"target\":\"dc2\"}", "expect_epoch"},
        {"{\"expect_epoch\":1,\"op\":\"elect\",\"target\":\"dc2\"}", "op"},
        {"{\"expect_epoch\":1,\"op\":3,\"target\":\"dc2\"}", "op"},
        {"{\"expect_epoch\":1,\"target\":\"dc2\"}", "op"},
        {"{\"expect_epoch\":1,\"op\":\"promote\"}", "target"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"DC 2\"}", "target"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":[\"dc2\"]}", "target"},
        {"{\"member\":\"../x\",\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\"}",
         "member"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\",\"reason\":5}", "reason"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\",\"reason\":\"a\\nb\"}",
         "reason"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\",\"force\":\"yes\"}",
         "force"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\",\"force\":true}", "force"},
        {"{\"expect_epoch\":1,\"op\":\"force\",\"target\":\"dc2\",\"reason\":\"x\"}", "force"},
        {"{\"expect_epoch\":1,\"op\":\"force\",\"target\":\"dc2\",\"force\":true}", "reason"},
        {"{\"expect_epoch\":1,\"op\":\"promote\",\"target\":\"dc2\",\"members\":[\"a\",\"b\"]}",
         "members"},
        {"{\"expect_epoch\":0,\"op\":\"bootstrap\",\"target\":\"a\",\"members\":[\"a\"]}",
         "members"},
        {"{\"expect_epoch\":0,\"op\":\"bootstrap\",\"target\":\"a\",\"members\":[\"a\",\"a\"]}",
         "members"},
        {"{\"expect_epoch\":0,\"op\":\"bootstrap\",\"target\":\"a\"}", "members"},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        vg_witness_request_t r;
        const char *field = NULL;
        assert_int_equal(req_parse(cases[i].text, &r, &field), -EINVAL);
        if (!field || strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: field %s, expected %s (%s)", i, field ? field : "NULL",
                     cases[i].field, err);
        assert_non_null(strstr(err, cases[i].field));
    }
    vg_witness_request_t r;
    const char *field = "x";
    assert_int_equal(req_parse("[1,2]", &r, &field), -EINVAL);
    assert_null(field);
    json_t *j = json_pack("{s:i, s:s, s:o}", "expect_epoch", 1, "op", "promote", "target",
                          json_stringn("d\0c", 3)); /* jansson's parser refuses \u0000 */
    assert_int_equal(vg_witness_request_from_json(j, &r, &field, err, sizeof err), -EINVAL);
    assert_string_equal(field, "target");
    json_decref(j);
}

static void test_heartbeat_parses_strictly(void **state)
{
    vg_witness_heartbeat_t hb, back;
    const char *field;
    json_t *j = json_pack("{s:s, s:i, s:s}", "member", "dc2", "epoch", 7, "role", "mirror");
    assert_int_equal(vg_witness_heartbeat_from_json(j, &hb, &field, err, sizeof err), 0);
    assert_string_equal(hb.member, "dc2");
    assert_int_equal(hb.epoch, 7);
    assert_int_equal(hb.role, VG_WITNESS_ROLE_MIRROR);
    json_decref(j);
    j = vg_witness_heartbeat_to_json(&hb);
    assert_int_equal(vg_witness_heartbeat_from_json(j, &back, &field, err, sizeof err), 0);
    assert_string_equal(back.member, hb.member);
    assert_int_equal(back.epoch, hb.epoch);
    assert_int_equal(back.role, hb.role);
    json_decref(j);
    j = json_pack("{s:i, s:s}", "epoch", 7, "role", "leader");
    assert_int_equal(vg_witness_heartbeat_from_json(j, &hb, &field, err, sizeof err), -EINVAL);
    assert_string_equal(field, "role");
    json_decref(j);
    j = json_pack("{s:i, s:s, s:b}", "epoch", 7, "role", "primary", "lease", 1);
    assert_int_equal(vg_witness_heartbeat_from_json(j, &hb, &field, err, sizeof err), -EINVAL);
    assert_string_equal(field, "lease");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_makes_target_primary_alone_in_sync),
        cmocka_unit_test(test_bootstrap_only_once),
        cmocka_unit_test(test_bootstrap_by_outsider_refused),
        cmocka_unit_test(test_nothing_but_bootstrap_at_epoch_zero),
        cmocka_unit_test(test_promote_refused_while_primary_heard),
        cmocka_unit_test(test_promote_after_dead_after_gives_sync_of_one),
        cmocka_unit_test(test_planned_switchover_keeps_both_in_sync),
        cmocka_unit_test(test_promote_refused_for_member_outside_sync),
        cmocka_unit_test(test_promote_of_the_primary_refused),
        cmocka_unit_test(test_degrade_only_by_primary),
        cmocka_unit_test(test_degrade_when_already_degraded_conflicts),
        cmocka_unit_test(test_restore_only_by_primary),
        cmocka_unit_test(test_restore_of_member_in_sync_conflicts),
        cmocka_unit_test(test_stale_epoch_conflicts),
        cmocka_unit_test(test_two_racing_promotes_only_one_wins),
        cmocka_unit_test(test_force_is_recorded),
        cmocka_unit_test(test_non_member_caller_refused),
        cmocka_unit_test(test_change_records_who_why_and_when),
        cmocka_unit_test(test_cfg_json_round_trip),
        cmocka_unit_test(test_cfg_json_rejects_broken_configurations),
        cmocka_unit_test(test_request_parses_and_round_trips),
        cmocka_unit_test(test_request_rejects_malformed_fields_by_name),
        cmocka_unit_test(test_heartbeat_parses_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

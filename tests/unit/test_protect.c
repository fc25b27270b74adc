/*
 * test_protect.c - the protect service's decision (protect/protect_decide.h)
 * without a process: which alert facts make a condition, when it has held
 * long enough, which guard rail declines it and what the reason says; and
 * its data half (protect/protect_data.h): records applied in order, a
 * snapshot, a malformed payload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "protect/protect_data.h"
#include "protect/protect_decide.h"
#include "state/state.h"
#include "store/record.h"

#define T0   1764115200000LL /* an arbitrary wall-clock instant */
#define S(x) ((int64_t)(x)*1000)

struct fixture {
    json_t *alerts, *sensor_site, *sensor_room, *device_site;
    struct vg_protect_policy policy;
    struct vg_protect_in in;
};

/* Sensors: dc1-smoke, dc1-vesda, dc1-gas, dc1-leak (server room),
 * dc1-office-leak (office), dc1-mains, dc1-gen, dc1-fuel, dc1-ups,
 * dc1-runtime, dc1-inlet, and dc2-leak, dc2-door. */
static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    static const char *const dc1[] = {"dc1-smoke",   "dc1-vesda", "dc1-gas",        "dc1-leak",
                                      "dc1-mains",   "dc1-gen",   "dc1-fuel",       "dc1-ups",
                                      "dc1-runtime", "dc1-inlet", "dc1-office-leak"};
    f->alerts = json_object();
    f->sensor_site = json_object();
    f->sensor_room = json_object();
    f->device_site = json_pack("{s:s}", "dc2-bms", "dc2");
    for (size_t i = 0; i < VG_ARRAY_LEN(dc1); i++) {
        json_object_set_new(f->sensor_site, dc1[i], json_string("dc1"));
        if (strcmp(dc1[i], "dc1-office-leak"))
            json_object_set_new(f->sensor_room, dc1[i], json_true());
    }
    json_object_set_new(f->sensor_site, "dc2-leak", json_string("dc2"));
    json_object_set_new(f->sensor_room, "dc2-leak", json_true());
    json_object_set_new(f->sensor_site, "dc2-door", json_string("dc2"));
    vg_protect_policy_parse(NULL, &f->policy);
    f->policy.hold_ms = S(30);
    f->in = (struct vg_protect_in){
        .policy = &f->policy,
        .alerts = f->alerts,
        .places = {f->sensor_site, f->sensor_room, f->device_site},
        .site = "dc1",
        .peer = "dc2",
        .peer_site = "dc2",
        .peer_in_sync = 1,
        .now_ms = T0,
        .acting_since_ms = T0 - S(3600),
    };
    return f;
}

static void fixture_free(struct fixture *f)
{
    json_decref(f->alerts);
    json_decref(f->sensor_site);
    json_decref(f->sensor_room);
    json_decref(f->device_site);
    free(f);
}

/* An alert fact as the monitor records it, raised at time. */
static json_t *raise_at(struct fixture *f, const char *rule, const char *sensor, const char *to,
                        int64_t time)
{
    char id[160];
    snprintf(id, sizeof id, "%s/%s", rule, sensor);
    json_t *fact = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "id", id, "rule", rule, "sensor",
                             sensor, "from", "ok", "to", to, "time", (json_int_t)time);
    json_object_set_new(f->alerts, id, fact);
    return fact;
}

static void decide(struct fixture *f, struct vg_protect_decision *d)
{
    vg_protect_decide(&f->in, d);
}

/* ---- conditions ---- */

static void test_smoke_alone_is_not_a_confirmed_fire(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "smoke", "dc1-smoke", "critical", T0 - S(60));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    raise_at(f, "vesda-alarm", "dc1-vesda", "warning", T0 - S(60)); /* alert level only */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    fixture_free(f);
}

static void test_smoke_with_vesda_fire_level_switches_after_the_hold(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "smoke", "dc1-smoke", "critical", T0 - S(60));
    raise_at(f, "vesda-alarm", "dc1-vesda", "critical", T0 - S(29));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_HOLDING); /* holds since the later of the two */
    assert_int_equal(d.hit.cond, VG_PROTECT_FIRE);
    assert_true(d.hit.since_ms == T0 - S(29));
    f->in.now_ms = T0 + S(1);
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    assert_null(d.code);
    assert_non_null(strstr(d.reason, "fire at dc1"));
    assert_non_null(strstr(d.reason, "dc1-smoke"));
    assert_non_null(strstr(d.reason, "planned switchover to dc2"));
    fixture_free(f);
}

static void test_gas_discharged_alone_is_a_fire(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "gas-discharged", "dc1-gas", "critical", T0 - S(31));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    assert_non_null(strstr(d.reason, "gas suppression discharged"));
    fixture_free(f);
}

static void test_water_counts_only_in_a_server_room(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-office-leak", "critical", T0 - S(60));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    assert_int_equal(d.hit.cond, VG_PROTECT_WATER);
    fixture_free(f);
}

static void test_mains_lost_needs_the_generator_down_or_low_fuel(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "mains-lost", "dc1-mains", "critical", T0 - S(60));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM); /* the generator carries the load */
    /* fuel for 5 h recorded 30 min ago: 4.5 h left, above the 4 h default */
    json_t *fuel = raise_at(f, "generator-fuel-hours", "dc1-fuel", "warning", T0 - S(1800));
    json_object_set_new(fuel, "predicted_s", json_real(5 * 3600));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    /* 1 h later only 3.5 h are left: below 4 h since 30 min ago */
    f->in.now_ms = T0 + S(3600);
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    assert_int_equal(d.hit.cond, VG_PROTECT_POWER);
    assert_true(d.hit.since_ms == T0 - S(1800) + S(3600));
    assert_non_null(strstr(d.reason, "fuel"));
    fixture_free(f);
}

static void test_generator_that_starts_within_the_hold_moves_nothing(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "generator-not-running", "dc1-gen", "info", T0 - S(86400)); /* idle all day */
    raise_at(f, "mains-lost", "dc1-mains", "critical", T0 - S(10));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_HOLDING);
    assert_true(d.hit.since_ms == T0 - S(10)); /* from the mains loss, not the idle generator */
    json_object_del(f->alerts, "generator-not-running/dc1-gen"); /* it started */
    f->in.now_ms = T0 + S(60);
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    fixture_free(f);
}

static void test_ups_on_battery_with_little_runtime(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "ups-on-battery", "dc1-ups", "warning", T0 - S(120));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    json_t *rt = raise_at(f, "ups-runtime-low", "dc1-runtime", "critical", T0 - S(100));
    json_object_set_new(rt, "value", json_real(590)); /* under 10 min already */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    assert_int_equal(d.hit.cond, VG_PROTECT_UPS);
    f->policy.ups_below_min = 5; /* 590 s - 100 s = 490 s left: more than 5 min */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    f->policy.on[VG_PROTECT_UPS] = 0;
    raise_at(f, "ups-on-battery", "dc1-ups", "critical", T0 - S(120)); /* LB */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM); /* the policy turned UPS off */
    fixture_free(f);
}

static void test_heat_forecast_within_the_policy_minutes(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    json_t *fc = raise_at(f, "ashrae-a1-forecast", "dc1-inlet", "critical", T0 - S(60));
    json_object_set_new(fc, "predicted_s", json_real(25 * 60)); /* 24 min left now */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_CALM);
    f->in.now_ms = T0 + S(10 * 60); /* 14 min left: below 15 since 1 min ago */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    assert_int_equal(d.hit.cond, VG_PROTECT_HEAT);
    fixture_free(f);
}

/* ---- the hold ---- */

static void test_a_flapping_detector_restarts_the_hold(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "vesda-alarm", "dc1-vesda", "critical", T0 - S(600));
    /* the smoke detector raised 20 s ago, cleared, raised again 5 s ago */
    raise_at(f, "smoke", "dc1-smoke", "critical", T0 - S(20));
    json_object_del(f->alerts, "smoke/dc1-smoke");
    raise_at(f, "smoke", "dc1-smoke", "critical", T0 - S(5));
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_HOLDING);
    assert_non_null(strstr(d.reason, "held 5.0 s of 30.0 s"));
    fixture_free(f);
}

static void test_a_new_primary_holds_for_itself(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(600));
    f->in.acting_since_ms = T0 - S(2);
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_HOLDING);
    f->in.now_ms = T0 + S(28);
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    fixture_free(f);
}

/* ---- guard rails ---- */

static void test_declined_when_the_mirror_is_not_in_sync(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    f->in.peer_in_sync = 0;
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_DECLINE);
    assert_string_equal(d.code, "mirror-not-in-sync");
    assert_non_null(strstr(d.reason, "dc2 is not an in-sync mirror"));
    fixture_free(f);
}

static void test_declined_when_the_mirror_site_is_critical(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    raise_at(f, "door-forced", "dc2-door", "critical", T0 - S(60)); /* ignored by default */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    raise_at(f, "water-leak", "dc2-leak", "critical", T0 - S(1)); /* no hold at the mirror */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_DECLINE);
    assert_string_equal(d.code, "mirror-site-critical");
    assert_non_null(strstr(d.reason, "water-leak/dc2-leak"));
    fixture_free(f);
}

static void test_declined_when_the_mirror_site_is_unknown(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    f->in.peer_site = NULL;
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_DECLINE);
    assert_string_equal(d.code, "mirror-site-unknown");
    fixture_free(f);
}

static void test_frozen_and_cooldown_decline_and_say_all_reasons(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    json_t *frozen = json_pack("{s:s,s:s,s:I}", "by", "alice", "reason", "generator test",
                               "time", (json_int_t)T0);
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    f->in.frozen = frozen;
    f->in.last_switchover_ms = T0 - S(10);
    f->in.peer_in_sync = 0;
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_DECLINE);
    assert_string_equal(d.code, "frozen"); /* the first guard */
    assert_non_null(strstr(d.reason, "frozen by alice: generator test"));
    assert_non_null(strstr(d.reason, "cooldown"));
    assert_non_null(strstr(d.reason, "not an in-sync mirror"));
    f->in.frozen = NULL;
    decide(f, &d);
    assert_string_equal(d.code, "cooldown");
    f->in.peer_in_sync = 1;
    f->in.now_ms = T0 - S(10) + f->policy.cooldown_ms; /* the cooldown is over */
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_SWITCH);
    json_decref(frozen);
    fixture_free(f);
}

static void test_no_policy_or_disabled_is_off(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    f->policy.enabled = 0;
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_OFF);
    f->in.policy = NULL;
    decide(f, &d);
    assert_int_equal(d.action, VG_PROTECT_OFF);
    fixture_free(f);
}

static void test_a_repeated_decision_is_not_news(void **unused)
{
    (void)unused;
    struct fixture *f = fixture_new();
    struct vg_protect_decision d;
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(60));
    f->in.peer_in_sync = 0;
    decide(f, &d);
    json_t *last =
        json_pack("{s:s,s:s,s:s,s:I}", "decision", "declined", "code", "mirror-not-in-sync",
                  "condition", "water", "since", (json_int_t)(T0 - S(60)));
    assert_true(vg_protect_is_news(&d, NULL));
    assert_false(vg_protect_is_news(&d, last));
    raise_at(f, "water-leak", "dc1-leak", "critical", T0 - S(40)); /* a new episode */
    decide(f, &d);
    assert_true(vg_protect_is_news(&d, last));
    json_decref(last);
    fixture_free(f);
}

static void test_peer_site_from_policy_name_or_the_only_other(void **unused)
{
    (void)unused;
    json_t *sites = json_pack("[{s:s},{s:s},{s:s,s:{s:s}}]", "name", "paris", "name", "lyon",
                              "name", "quorum", "spec", "role", "witness");
    json_t *policy = json_pack("{s:{s:{s:s}}}", "spec", "member_sites", "node-b", "lyon");
    assert_string_equal(vg_protect_peer_site(NULL, sites, "node-b", "paris"), "lyon");
    assert_string_equal(vg_protect_peer_site(policy, sites, "node-b", "x"), "lyon");
    json_array_append_new(sites, json_pack("{s:s}", "name", "berlin"));
    assert_null(vg_protect_peer_site(NULL, sites, "node-b", "paris"));
    assert_string_equal(vg_protect_peer_site(NULL, sites, "berlin", "paris"), "berlin");
    json_decref(sites);
    json_decref(policy);
}

static void test_policy_defaults_and_fields(void **unused)
{
    (void)unused;
    struct vg_protect_policy p;
    json_t *obj = json_pack("{s:s,s:{s:i,s:b,s:[s]}}", "name", "strict", "spec", "hold_s", 5,
                            "heat", 0, "mirror_ignore_rules", "camera-offline");
    vg_protect_policy_parse(NULL, &p);
    assert_true(p.enabled && p.on[VG_PROTECT_FIRE] && p.on[VG_PROTECT_HEAT]);
    assert_true(p.hold_ms == S(VG_PROTECT_HOLD_S) && p.cooldown_ms == S(VG_PROTECT_COOLDOWN_S));
    assert_string_equal(p.ignore[0], "door-forced");
    vg_protect_policy_parse(obj, &p);
    assert_string_equal(p.name, "strict");
    assert_true(p.hold_ms == S(5));
    assert_false(p.on[VG_PROTECT_HEAT]);
    assert_int_equal(p.n_ignore, 1);
    assert_string_equal(p.ignore[0], "camera-offline");
    json_decref(obj);
}

/* ---- the data half ---- */

static void apply(vg_state_t *st, json_t *p)
{
    assert_int_equal(
        vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_PROTECT, p, NULL), 0);
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

static void test_freeze_and_switchover_records_survive_a_snapshot(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    apply(st, json_pack("{s:s,s:s,s:s,s:I}", "op", "freeze", "by", "alice", "reason", "test",
                        "time", (json_int_t)T0));
    assert_string_equal(json_string_value(json_object_get(vg_protect_frozen(st), "by")),
                        "alice");
    apply(st,
          json_pack("{s:s,s:s,s:I}", "op", "unfreeze", "by", "bob", "time", (json_int_t)T0));
    assert_null(vg_protect_frozen(st));
    apply(st, json_pack("{s:s,s:s,s:s,s:s,s:I}", "op", "decision", "decision", "switchover",
                        "site", "dc1", "reason", "fire", "time", (json_int_t)T0));
    apply(st, json_pack("{s:s,s:s,s:s,s:I}", "op", "freeze", "by", "carol", "reason", "drill",
                        "time", (json_int_t)T0));
    vg_state_t *back = reload(st);
    assert_true(json_equal(vg_protect_frozen(st), vg_protect_frozen(back)));
    assert_true(json_equal(vg_protect_last_switchover(st), vg_protect_last_switchover(back)));
    assert_int_equal(json_array_size(vg_protect_decisions(back)), 1);
    /* a failed switchover starts no cooldown; its decision stays as logged */
    apply(back, json_pack("{s:s,s:s,s:s,s:s,s:I}", "op", "decision", "decision", "failed",
                          "site", "dc1", "reason", "refused", "time", (json_int_t)T0));
    assert_true(json_is_true(json_object_get(vg_protect_last_switchover(back), "failed")));
    assert_null(json_object_get(json_array_get(vg_protect_decisions(back), 0), "failed"));
    vg_state_free(back);
    vg_state_free(st);
}

static void test_malformed_protect_records_change_nothing(void **unused)
{
    (void)unused;
    vg_state_t *st = vg_state_new();
    apply(st, json_pack("{s:s,s:s}", "op", "freeze", "by", "x")); /* no time, no reason */
    apply(st, json_pack("[s]", "freeze"));
    apply(st, json_pack("{s:s,s:s,s:I}", "op", "decision", "decision", "switchover", "time",
                        (json_int_t)T0)); /* no site, no reason */
    apply(st, json_pack("{s:s,s:s,s:s,s:s,s:I}", "op", "decision", "decision", "maybe", "site",
                        "dc1", "reason", "?", "time", (json_int_t)T0));
    apply(st, json_pack("{s:i,s:I}", "op", 7, "time", (json_int_t)T0));
    assert_null(vg_protect_frozen(st));
    assert_null(vg_protect_last_switchover(st));
    assert_null(vg_protect_last_decision(st));
    assert_int_equal(json_array_size(vg_protect_decisions(st)), 0);
    json_t *bad = json_loads("{\"services\":{\"protect\":{\"frozen\":[1]}}}", 0, NULL);
    vg_state_t *other = vg_state_new();
    char err[256];
    assert_int_not_equal(vg_state_load(other, bad, err, sizeof err), 0);
    json_decref(bad);
    vg_state_free(other);
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smoke_alone_is_not_a_confirmed_fire),
        cmocka_unit_test(test_smoke_with_vesda_fire_level_switches_after_the_hold),
        cmocka_unit_test(test_gas_discharged_alone_is_a_fire),
        cmocka_unit_test(test_water_counts_only_in_a_server_room),
        cmocka_unit_test(test_mains_lost_needs_the_generator_down_or_low_fuel),
        cmocka_unit_test(test_generator_that_starts_within_the_hold_moves_nothing),
        cmocka_unit_test(test_ups_on_battery_with_little_runtime),
        cmocka_unit_test(test_heat_forecast_within_the_policy_minutes),
        cmocka_unit_test(test_a_flapping_detector_restarts_the_hold),
        cmocka_unit_test(test_a_new_primary_holds_for_itself),
        cmocka_unit_test(test_declined_when_the_mirror_is_not_in_sync),
        cmocka_unit_test(test_declined_when_the_mirror_site_is_critical),
        cmocka_unit_test(test_declined_when_the_mirror_site_is_unknown),
        cmocka_unit_test(test_frozen_and_cooldown_decline_and_say_all_reasons),
        cmocka_unit_test(test_no_policy_or_disabled_is_off),
        cmocka_unit_test(test_a_repeated_decision_is_not_news),
        cmocka_unit_test(test_peer_site_from_policy_name_or_the_only_other),
        cmocka_unit_test(test_policy_defaults_and_fields),
        cmocka_unit_test(test_freeze_and_switchover_records_survive_a_snapshot),
        cmocka_unit_test(test_malformed_protect_records_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

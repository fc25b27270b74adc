/*
 * test_rules.c - the rule engine's promises (DESIGN.md section 4): what
 * raises, what clears, when, and what it is never allowed to do (flap on
 * noise, resolve on stale data, re-raise after failover).
 *
 * Every test builds an engine from manifests as the state holds them and
 * records the changes it reports; time is passed in, in milliseconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "rules/rules.h"

#define MAX_CHANGES 512
#define SEC         1000
#define MIN         (60 * SEC)

struct change {
    char id[128], from[16], to[16], message[512], clears[256];
    double value, predicted_s;
    int64_t time_ms;
    int firing;
};

struct recorder {
    struct change changes[MAX_CHANGES];
    int n;
};

static void record(void *ctx, const struct vg_rule_change *c)
{
    struct recorder *rec = ctx;
    if (rec->n == MAX_CHANGES)
        fail_msg("more than %d changes", MAX_CHANGES);
    struct change *out = &rec->changes[rec->n++];
    snprintf(out->id, sizeof out->id, "%s", c->id);
    snprintf(out->from, sizeof out->from, "%s", c->from);
    snprintf(out->to, sizeof out->to, "%s", c->to);
    snprintf(out->message, sizeof out->message, "%s", c->message);
    snprintf(out->clears, sizeof out->clears, "%s", c->clears ? c->clears : "");
    out->value = c->value;
    out->predicted_s = c->predicted_s;
    out->time_ms = c->time_ms;
    out->firing = c->firing;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

/* The default world: site dc1 with an A1 hall, a power room and an A3
 * hall; site dc2 with its own mains and generator. */
static const char *zones_json =
    "[{\"kind\":\"Zone\",\"name\":\"hall-a\",\"spec\":{\"site\":\"dc1\",\"type\":\"server-room\","
    "\"ashrae_class\":\"A1\"}},"
    "{\"kind\":\"Zone\",\"name\":\"power\",\"spec\":{\"site\":\"dc1\",\"type\":\"power-room\"}},"
    "{\"kind\":\"Zone\",\"name\":\"hall-c\",\"spec\":{\"site\":\"dc1\",\"ashrae_class\":\"A3\"}},"
    "{\"kind\":\"Zone\",\"name\":\"office\",\"spec\":{\"site\":\"dc1\",\"type\":\"office\"}},"
    "{\"kind\":\"Zone\",\"name\":\"dc2-power\",\"spec\":{\"site\":\"dc2\"}}]";

static const char *devices_json =
    "[{\"kind\":\"Device\",\"name\":\"pdu1\",\"spec\":{\"site\":\"dc1\",\"zone\":\"hall-a\","
    "\"driver\":\"snmp\",\"interval_ms\":10000}},"
    "{\"kind\":\"Device\",\"name\":\"crah1\",\"spec\":{\"site\":\"dc1\",\"zone\":\"hall-a\","
    "\"driver\":\"modbus\"}},"
    "{\"kind\":\"Device\",\"name\":\"gen1\",\"labels\":{\"tank_litres\":\"2000\","
    "\"burn_lph_full\":\"100\"},\"spec\":{\"site\":\"dc1\",\"driver\":\"modbus\"}},"
    "{\"kind\":\"Device\",\"name\":\"ups1\",\"spec\":{\"site\":\"dc1\",\"driver\":\"nut\"}},"
    "{\"kind\":\"Device\",\"name\":\"ats1\",\"spec\":{\"site\":\"dc1\",\"driver\":\"modbus\"}},"
    "{\"kind\":\"Device\",\"name\":\"gen2\",\"spec\":{\"site\":\"dc2\",\"driver\":\"modbus\"}}]";

static const char *sensors_json =
    "[{\"kind\":\"Sensor\",\"name\":\"t1\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"temperature\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"t3\",\"spec\":{\"zone\":\"hall-c\",\"device\":\"pdu1\","
    "\"type\":\"temperature\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"t-office\",\"spec\":{\"zone\":\"office\",\"device\":\"pdu1\","
    "\"type\":\"temperature\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"h1\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"humidity\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"crah1-run\",\"spec\":{\"zone\":\"hall-a\",\"device\":"
    "\"crah1\",\"type\":\"cooling-running\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"mains\",\"spec\":{\"zone\":\"power\",\"device\":\"ats1\","
    "\"type\":\"mains-status\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"ats\",\"spec\":{\"zone\":\"power\",\"device\":\"ats1\","
    "\"type\":\"ats-position\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"gen-run\",\"spec\":{\"zone\":\"power\",\"device\":\"gen1\","
    "\"type\":\"generator-running\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"gen-fuel\",\"spec\":{\"zone\":\"power\",\"device\":\"gen1\","
    "\"type\":\"generator-fuel\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"gen-load\",\"spec\":{\"zone\":\"power\",\"device\":\"gen1\","
    "\"type\":\"generator-load\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"ups-st\",\"spec\":{\"zone\":\"power\",\"device\":\"ups1\","
    "\"type\":\"ups-status\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"ups-rt\",\"spec\":{\"zone\":\"power\",\"device\":\"ups1\","
    "\"type\":\"ups-runtime\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"ups-chg\",\"spec\":{\"zone\":\"power\",\"device\":\"ups1\","
    "\"type\":\"ups-charge\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"door1\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"door-contact\",\"stale_after_s\":600}},"
    "{\"kind\":\"Sensor\",\"name\":\"smoke1\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"smoke\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"vesda1\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"vesda-alarm\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"cam1\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"camera-reachable\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"raw\",\"spec\":{\"zone\":\"hall-a\",\"device\":\"pdu1\","
    "\"type\":\"temperature\",\"builtin_rules\":false,\"stale_after_s\":20}},"
    "{\"kind\":\"Sensor\",\"name\":\"mains2\",\"spec\":{\"zone\":\"dc2-power\",\"device\":"
    "\"gen2\",\"type\":\"mains-status\"}},"
    "{\"kind\":\"Sensor\",\"name\":\"gen2-run\",\"spec\":{\"zone\":\"dc2-power\",\"device\":"
    "\"gen2\",\"type\":\"generator-running\"}}]";

static vg_rules_t *engine_with(const char *rules_json)
{
    json_t *zones = parse(zones_json), *devices = parse(devices_json);
    json_t *sensors = parse(sensors_json), *rules = parse(rules_json ? rules_json : "[]");
    vg_rules_t *r = vg_rules_new();
    char err[256];
    if (vg_rules_load(r, zones, sensors, devices, rules, err, sizeof err))
        fail_msg("load failed: %s", err);
    json_decref(zones), json_decref(devices), json_decref(sensors), json_decref(rules);
    return r;
}

static int sensor(const vg_rules_t *r, const char *name)
{
    int idx = vg_rules_sensor(r, name);
    if (idx < 0)
        fail_msg("no sensor '%s'", name);
    return idx;
}

static void feed(vg_rules_t *r, struct recorder *rec, const char *name, int64_t t, double v)
{
    vg_rules_reading(r, sensor(r, name), t, v, record, rec);
}

static int count_to(const struct recorder *rec, const char *id, const char *to)
{
    int n = 0;
    for (int i = 0; i < rec->n; i++)
        if (strcmp(rec->changes[i].id, id) == 0 && strcmp(rec->changes[i].to, to) == 0)
            n++;
    return n;
}

/* The latest change of id, or fails. */
static const struct change *last_of(const struct recorder *rec, const char *id)
{
    for (int i = rec->n - 1; i >= 0; i--)
        if (strcmp(rec->changes[i].id, id) == 0)
            return &rec->changes[i];
    fail_msg("no change of '%s'", id);
    return NULL;
}

static const char *state_of(const vg_rules_t *r, const char *id)
{
    static char state[32];
    json_t *status = vg_rules_status(r);
    size_t i;
    json_t *row;
    state[0] = '\0';
    json_array_foreach(status, i, row)
        if (strcmp(json_string_value(json_object_get(row, "id")), id) == 0)
            snprintf(state, sizeof state, "%s", json_string_value(json_object_get(row, "state")));
    json_decref(status);
    if (!state[0])
        fail_msg("no instance '%s' in status", id);
    return state;
}

/* ---- thresholds, hysteresis, hold ---- */

static void test_hysteresis_does_not_flap_on_noise_around_threshold(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"hot\",\"spec\":{\"sensor\":"
                                "\"raw\",\"above\":27,\"clear_below\":26.5}}]");
    struct recorder rec = {.n = 0};
    uint32_t seed = 12345;
    for (int i = 0; i < 500; i++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((seed >> 8) % 601) / 1000.0 - 0.3; /* -0.3 .. +0.3 */
        feed(r, &rec, "raw", i * SEC, 27 + noise);
    }
    assert_int_equal(count_to(&rec, "hot/raw", "warning"), 1);
    assert_int_equal(count_to(&rec, "hot/raw", "ok"), 0);
    feed(r, &rec, "raw", 600 * SEC, 26.4);
    assert_int_equal(count_to(&rec, "hot/raw", "ok"), 1);
    assert_int_equal(rec.n, 2);
    vg_rules_free(r);
}

static void test_hold_time_delays_raise(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"hot\",\"spec\":{\"sensor\":"
                                "\"raw\",\"above\":30,\"hold_s\":60,\"severity\":\"critical\"}}]");
    struct recorder rec = {.n = 0};
    feed(r, &rec, "raw", 0, 31);
    feed(r, &rec, "raw", 10 * SEC, 30.5);
    feed(r, &rec, "raw", 20 * SEC, 29); /* the condition broke: the hold starts again */
    for (int64_t t = 30 * SEC; t <= 80 * SEC; t += 10 * SEC) {
        feed(r, &rec, "raw", t, 31);
        vg_rules_tick(r, t + 5 * SEC, record, &rec);
    }
    assert_int_equal(count_to(&rec, "hot/raw", "critical"), 0);
    vg_rules_tick(r, 90 * SEC, record, &rec); /* 60 s after 30 s */
    assert_int_equal(count_to(&rec, "hot/raw", "critical"), 1);
    assert_int_equal(last_of(&rec, "hot/raw")->time_ms, 90 * SEC);
    vg_rules_free(r);
}

static void test_door_held_open_raises_after_120_s_without_new_readings(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "door1", 0, 1);
    vg_rules_tick(r, 119 * SEC, record, &rec);
    assert_int_equal(count_to(&rec, "door-held-open/door1", "warning"), 0);
    vg_rules_tick(r, 120 * SEC, record, &rec);
    assert_int_equal(count_to(&rec, "door-held-open/door1", "warning"), 1);
    feed(r, &rec, "door1", 125 * SEC, 0);
    assert_string_equal(last_of(&rec, "door-held-open/door1")->to, "ok");
    vg_rules_free(r);
}

/* ---- stale ---- */

static void test_stale_never_resolves_a_firing_rule(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"hot\",\"spec\":{\"sensor\":"
                                "\"raw\",\"above\":30,\"severity\":\"critical\"}}]");
    struct recorder rec = {.n = 0};
    feed(r, &rec, "raw", 0, 35);
    vg_rules_tick(r, 25 * SEC, record, &rec); /* stale_after_s is 20 */
    const struct change *c = last_of(&rec, "hot/raw");
    assert_string_equal(c->from, "critical");
    assert_string_equal(c->to, "stale");
    assert_true(c->firing);
    for (int i = 0; i < 10; i++)
        vg_rules_tick(r, (26 + i) * SEC, record, &rec);
    assert_int_equal(count_to(&rec, "hot/raw", "ok"), 0);
    feed(r, &rec, "raw", 40 * SEC, 34); /* still bad: back to critical, not ok */
    assert_string_equal(last_of(&rec, "hot/raw")->to, "critical");
    vg_rules_tick(r, 70 * SEC, record, &rec);
    feed(r, &rec, "raw", 80 * SEC, 20); /* a good reading resolves it */
    c = last_of(&rec, "hot/raw");
    assert_string_equal(c->from, "stale");
    assert_string_equal(c->to, "ok");
    assert_int_equal(count_to(&rec, "hot/raw", "ok"), 1);
    vg_rules_free(r);
}

/* A backfill (or a spool delivered after an outage) of readings already
 * older than stale_after is evaluated, but leaves the sensor stale: it
 * must not flap fresh/stale with every reading and every tick. */
static void test_old_readings_are_evaluated_but_leave_sensor_stale(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"hot\",\"spec\":{\"sensor\":"
                                "\"raw\",\"above\":30}}]");
    struct recorder rec = {.n = 0};
    vg_rules_tick(r, 1000 * SEC, record, &rec); /* now: 1000 s */
    int before = rec.n;
    for (int i = 0; i < 50; i++) /* readings from 500 s ago, stale_after_s is 20 */
        feed(r, &rec, "raw", (500 + i) * SEC, 22);
    vg_rules_tick(r, 1001 * SEC, record, &rec);
    feed(r, &rec, "raw", 551 * SEC, 22);
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "raw")), "stale");
    assert_true(rec.n - before <= 1); /* at most the one change to stale, no flapping */
    assert_int_equal(count_to(&rec, "hot/raw", "ok"), 0);
    feed(r, &rec, "raw", 1001 * SEC, 22); /* a fresh reading makes it fresh again */
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "raw")), "ok");
    vg_rules_free(r);
}

static void test_stale_sensor_goes_stale_after_stale_after(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"hot\",\"spec\":{\"sensor\":"
                                "\"raw\",\"above\":30}}]");
    struct recorder rec = {.n = 0};
    feed(r, &rec, "raw", 0, 22);
    feed(r, &rec, "t1", 0, 22);
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "raw")), "ok");
    vg_rules_tick(r, 19 * SEC, record, &rec);
    assert_int_equal(rec.n, 0);
    vg_rules_tick(r, 20 * SEC, record, &rec); /* spec.stale_after_s: 20 */
    assert_int_equal(count_to(&rec, "hot/raw", "stale"), 1);
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "raw")), "stale");
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "t1")), "ok");
    vg_rules_tick(r, 30 * SEC, record, &rec); /* t1: 3 x pdu1's 10 s interval */
    assert_int_equal(count_to(&rec, "ashrae-a1-inlet/t1", "stale"), 1);
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "t1")), "stale");
    vg_rules_free(r);
}

static void test_sensor_without_data_is_unknown_then_stale(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "h1")), "unknown");
    vg_rules_tick(r, 1000 * SEC, record, &rec); /* the first tick starts the clock */
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "h1")), "unknown");
    vg_rules_tick(r, 1030 * SEC, record, &rec);
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "h1")), "stale");
    assert_int_equal(count_to(&rec, "humidity-high/h1", "stale"), 1);
    vg_rules_free(r);
}

static void test_device_unreachable_makes_sensors_stale(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "ups-rt", 0, 1200);
    feed(r, &rec, "ups-st", 0, 1); /* OL */
    vg_rules_device(r, "ups1", 0, 5 * SEC, record, &rec);
    assert_int_equal(count_to(&rec, "ups-runtime-low/ups-rt", "stale"), 1);
    assert_int_equal(count_to(&rec, "ups-on-battery/ups-st", "stale"), 1);
    assert_string_equal(last_of(&rec, "device-unreachable/ups1")->to, "warning");
    assert_string_equal(last_of(&rec, "device-unreachable/ups1")->message,
                        "device ups1 is unreachable");
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "ups-rt")), "stale");
    vg_rules_device(r, "ups1", 1, 9 * SEC, record, &rec);
    assert_string_equal(last_of(&rec, "device-unreachable/ups1")->to, "ok");
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "ups-rt")), "stale");
    feed(r, &rec, "ups-rt", 10 * SEC, 1200);
    assert_string_equal(last_of(&rec, "ups-runtime-low/ups-rt")->to, "ok");
    vg_rules_free(r);
}

/* ---- dependencies and composites ---- */

static void test_child_suppressed_while_parent_fires(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "mains", 0, 0); /* lost */
    assert_string_equal(last_of(&rec, "mains-lost/mains")->to, "critical");
    feed(r, &rec, "t1", 1 * SEC, 29);
    const struct change *c = last_of(&rec, "ashrae-a1-inlet/t1");
    assert_string_equal(c->to, "suppressed");
    assert_non_null(strstr(c->message, "suppressed while 'mains-lost' fires"));
    feed(r, &rec, "t3", 1 * SEC, 29); /* A3 hall of the same site: no alert either */
    feed(r, &rec, "mains", 2 * SEC, 1);
    c = last_of(&rec, "ashrae-a1-inlet/t1");
    assert_string_equal(c->from, "suppressed");
    assert_string_equal(c->to, "warning");
    assert_int_equal(c->time_ms, 2 * SEC);
    vg_rules_free(r);
}

static void test_cooling_stopped_suppresses_inlets_of_its_zone_only(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "crah1-run", 0, 0);
    assert_string_equal(last_of(&rec, "cooling-stopped/crah1-run")->to, "critical");
    feed(r, &rec, "t1", SEC, 28);
    feed(r, &rec, "t3", SEC, 28); /* hall-c: crah1 is not its unit */
    assert_string_equal(last_of(&rec, "ashrae-a1-inlet/t1")->to, "suppressed");
    assert_string_equal(last_of(&rec, "ashrae-a3-inlet/t3")->to, "warning");
    vg_rules_free(r);
}

static void test_user_rule_depends_on_user_rule(void **unused)
{
    vg_rules_t *r = engine_with(
        "[{\"kind\":\"Rule\",\"name\":\"child\",\"spec\":{\"sensor\":\"raw\",\"above\":30,"
        "\"depends_on\":[\"parent\"]}},"
        "{\"kind\":\"Rule\",\"name\":\"parent\",\"spec\":{\"sensor\":\"ats\",\"equals\":2,"
        "\"severity\":\"critical\"}}]");
    struct recorder rec = {.n = 0};
    feed(r, &rec, "ats", 0, 2);
    feed(r, &rec, "raw", 0, 31);
    assert_string_equal(last_of(&rec, "child/raw")->to, "suppressed");
    feed(r, &rec, "ats", SEC, 0);
    assert_string_equal(last_of(&rec, "child/raw")->to, "warning");
    vg_rules_free(r);
}

static void test_composite_mains_down_and_generator_not_running(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    const char *id = "mains-lost-generator-not-running/dc1";
    feed(r, &rec, "gen-run", 0, 0); /* standby */
    assert_string_equal(state_of(r, id), "ok");
    feed(r, &rec, "mains", SEC, 0);
    assert_string_equal(last_of(&rec, id)->to, "critical");
    assert_string_equal(last_of(&rec, id)->message,
                        "mains lost and generator not running at site dc1");
    assert_string_equal(state_of(r, "mains-lost-generator-not-running/dc2"), "ok");
    feed(r, &rec, "gen-run", 20 * SEC, 1); /* started */
    assert_string_equal(last_of(&rec, id)->to, "ok");
    feed(r, &rec, "mains2", 21 * SEC, 0); /* the other site's generator is not ours */
    assert_int_equal(count_to(&rec, "mains-lost-generator-not-running/dc2", "critical"), 0);
    feed(r, &rec, "gen2-run", 22 * SEC, 0);
    assert_int_equal(count_to(&rec, "mains-lost-generator-not-running/dc2", "critical"), 1);
    assert_int_equal(count_to(&rec, id, "critical"), 1);
    vg_rules_free(r);
}

static void test_user_composite_any(void **unused)
{
    vg_rules_t *r = engine_with(
        "[{\"kind\":\"Rule\",\"name\":\"power-trouble\",\"spec\":{\"any\":[\"mains-lost\","
        "\"ats-on-generator\"],\"severity\":\"critical\",\"message\":\"power trouble\"}}]");
    struct recorder rec = {.n = 0};
    feed(r, &rec, "ats", 0, 1);
    assert_string_equal(last_of(&rec, "power-trouble")->to, "critical");
    assert_string_equal(last_of(&rec, "power-trouble")->message, "power trouble");
    feed(r, &rec, "ats", SEC, 0);
    assert_string_equal(last_of(&rec, "power-trouble")->to, "ok");
    vg_rules_free(r);
}

/* ---- trends ---- */

static void test_rate_of_change_raises(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"heating-fast\",\"spec\":{"
                                "\"sensor\":\"raw\",\"rate_per_min\":0.5,\"window_s\":300}}]");
    struct recorder rec = {.n = 0};
    int64_t t = 0;
    for (; t < 10 * MIN; t += 10 * SEC)
        feed(r, &rec, "raw", t, 22 + 0.1 * (double)t / MIN); /* 0.1 degC/min: fine */
    assert_int_equal(rec.n, 0);
    double v = 23;
    for (; t < 20 * MIN; t += 10 * SEC)
        feed(r, &rec, "raw", t, v += 1.0 / 6); /* 1 degC/min */
    assert_int_equal(count_to(&rec, "heating-fast/raw", "warning"), 1);
    for (; t < 30 * MIN; t += 10 * SEC)
        feed(r, &rec, "raw", t, v);
    assert_int_equal(count_to(&rec, "heating-fast/raw", "ok"), 1);
    vg_rules_free(r);
}

/* The prediction of the forecast pack against the time to 32 degC at the
 * current trend (the tangent of the curve now), over the last 30 minutes
 * before it (the alert's horizon). Tolerance +-10 %, for a linear rise and
 * a slightly accelerating one: the least-squares line lags a curve by half
 * its window. (On a curve that keeps accelerating, the real crossing comes
 * earlier than any straight line says; the 30-minute horizon covers it.) */
static double forecast_error(double rate_per_min, double accel_per_min2, double *fired_at_min)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    double worst = 0;
    *fired_at_min = -1;
    for (int64_t t = 0; t <= 120 * MIN; t += 30 * SEC) {
        double m = (double)t / MIN;
        double temp = 24 + rate_per_min * m + accel_per_min2 * m * m;
        if (temp >= 32)
            break;
        int before = rec.n;
        feed(r, &rec, "t1", t, temp);
        json_t *status = vg_rules_status(r);
        size_t i;
        json_t *row;
        json_array_foreach(status, i, row) {
            if (strcmp(json_string_value(json_object_get(row, "id")), "ashrae-a1-forecast/t1"))
                continue;
            const json_t *pred = json_object_get(row, "prediction");
            if (!json_is_number(pred) || m < 10)
                break;
            /* minutes from now to 32 at the slope the curve has now */
            double truth = (32 - temp) / (rate_per_min + 2 * accel_per_min2 * m);
            double err = fabs(json_number_value(pred) / 60 - truth) / truth;
            if (getenv("VG_TEST_VERBOSE"))
                print_message("minute %.1f: predicted %.2f min, truth %.2f min\n", m,
                              json_number_value(pred) / 60, truth);
            if (truth >= 2 && truth <= 30 && err > worst)
                worst = err;
        }
        json_decref(status);
        if (rec.n > before && *fired_at_min < 0 &&
            count_to(&rec, "ashrae-a1-forecast/t1", "critical"))
            *fired_at_min = m;
    }
    vg_rules_free(r);
    return worst;
}

static void test_prediction_time_to_threshold_within_tolerance(void **unused)
{
    double fired;
    double err = forecast_error(0.2, 0, &fired); /* 24 -> 32 in 40 min */
    if (err > 0.10)
        fail_msg("linear rise: prediction off by %.1f %%", err * 100);
    /* fires when 30 min are left, i.e. around minute 10, long before 32 degC */
    assert_true(fired >= 9 && fired <= 12);
    err = forecast_error(0.1, 0.001, &fired); /* 0.1 degC/min, +0.02 every 10 min */
    if (err > 0.10)
        fail_msg("curved rise: prediction off by %.1f %%", err * 100);
    assert_true(fired > 0);
}

static void test_prediction_fires_early_on_cooling_failure(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    int64_t t = 0;
    for (; t < 15 * MIN; t += 30 * SEC)
        feed(r, &rec, "t1", t, 22.5);
    assert_int_equal(rec.n, 0);
    double temp = 22.5;
    while (!count_to(&rec, "ashrae-a1-forecast/t1", "critical") && t < 60 * MIN) {
        t += 30 * SEC;
        feed(r, &rec, "t1", t, temp += 0.25); /* cooling lost: +0.5 degC/min */
    }
    const struct change *c = last_of(&rec, "ashrae-a1-forecast/t1");
    assert_string_equal(c->to, "critical");
    assert_true(temp < 27); /* before even the recommended band is left */
    assert_true(c->predicted_s < 1800);
    assert_non_null(strstr(c->message, "reaches 32 degC (ASHRAE A1 allowable max) in "));
    vg_rules_free(r);
}

/* A reading already past the forecast's threshold raises the threshold's
 * own alert, never also "reaches 32 degC in 0 s" from the forecast. */
static void test_prediction_silent_once_threshold_crossed(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    int64_t t = 0;
    for (; t < 5 * MIN; t += 30 * SEC)
        feed(r, &rec, "t1", t, 22.5);
    for (int i = 0; i < 10; i++) { /* a jump past 32 degC, rising on */
        t += 30 * SEC;
        feed(r, &rec, "t1", t, 33.0 + i * 0.2);
    }
    assert_int_equal(count_to(&rec, "ashrae-a1-forecast/t1", "critical"), 0);
    assert_int_equal(count_to(&rec, "ashrae-a1-forecast/t1", "warning"), 0);
    assert_true(rec.n > 0); /* the threshold's own rule did speak */
    /* and says what clears it: the allowable band's upper edge */
    for (int i = 0; i < rec.n; i++)
        if (strcmp(rec.changes[i].to, "ok"))
            assert_non_null(strstr(rec.changes[i].clears, "a reading"));
    vg_rules_free(r);
}

/* ---- packs ---- */

static void test_fuel_hours_from_litres_and_load(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    /* gen1: 2000 L tank, 100 L/h at full load; 50 % load burns
     * 100 x (0.3 + 0.7 x 0.5) = 65 L/h */
    feed(r, &rec, "gen-load", 0, 50);
    feed(r, &rec, "gen-fuel", 0, 50); /* 1000 L: 15.4 h */
    assert_int_equal(rec.n, 0);
    feed(r, &rec, "gen-fuel", SEC, 30); /* 600 L: 9.23 h */
    const struct change *c = last_of(&rec, "generator-fuel-hours/gen-fuel");
    assert_string_equal(c->to, "warning");
    assert_float_equal(c->predicted_s, 600.0 / 65 * 3600, 1.0);
    assert_string_equal(c->message, "generator gen1 has fuel for 9.2 h at the current load");
    feed(r, &rec, "gen-load", 2 * SEC, 100);
    feed(r, &rec, "gen-fuel", 3 * SEC, 15); /* 300 L at 100 L/h: 3 h */
    assert_string_equal(last_of(&rec, "generator-fuel-hours/gen-fuel")->to, "critical");
    vg_rules_free(r);
}

static void test_fuel_percent_without_tank_is_a_problem(void **unused)
{
    json_t *zones = parse(zones_json), *rules = parse("[]");
    json_t *devices = parse("[{\"name\":\"g\",\"spec\":{\"site\":\"dc1\",\"driver\":\"modbus\"}}]");
    json_t *sensors = parse("[{\"name\":\"f\",\"spec\":{\"zone\":\"power\",\"device\":\"g\","
                            "\"type\":\"generator-fuel\"}}]");
    vg_rules_t *r = vg_rules_new();
    assert_int_equal(vg_rules_load(r, zones, sensors, devices, rules, NULL, 0), 0);
    json_t *problems = vg_rules_problems(r);
    assert_int_equal(json_array_size(problems), 1);
    assert_non_null(strstr(json_string_value(json_array_get(problems, 0)), "tank_litres"));
    json_decref(problems);
    json_decref(zones), json_decref(rules), json_decref(devices), json_decref(sensors);
    vg_rules_free(r);
}

static void test_ups_runtime_low(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "ups-rt", 0, 900);
    feed(r, &rec, "ups-rt", SEC, 500);
    assert_string_equal(last_of(&rec, "ups-runtime-low/ups-rt")->to, "critical");
    feed(r, &rec, "ups-rt", 2 * SEC, 650); /* clears only above 660 */
    assert_int_equal(count_to(&rec, "ups-runtime-low/ups-rt", "ok"), 0);
    feed(r, &rec, "ups-rt", 3 * SEC, 700);
    assert_int_equal(count_to(&rec, "ups-runtime-low/ups-rt", "ok"), 1);
    feed(r, &rec, "ups-st", 4 * SEC, 2); /* OB */
    assert_string_equal(last_of(&rec, "ups-on-battery/ups-st")->to, "warning");
    feed(r, &rec, "ups-st", 5 * SEC, 2 | 4); /* OB LB */
    assert_string_equal(last_of(&rec, "ups-on-battery/ups-st")->to, "critical");
    feed(r, &rec, "ups-chg", 6 * SEC, 45);
    assert_string_equal(last_of(&rec, "ups-charge-low/ups-chg")->to, "warning");
    vg_rules_free(r);
}

static void test_ashrae_a1_bands(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    const char *id = "ashrae-a1-inlet/t1";
    static const struct {
        double value;
        const char *state;
    } steps[] = {
        {22, "ok"},       {27, "ok"},       {27.2, "warning"}, {26.8, "warning"},
        {26.4, "ok"},     {32.5, "critical"}, {31.7, "critical"}, {31.4, "warning"},
        {17.9, "warning"}, {14.5, "critical"}, {15.3, "critical"}, {15.6, "warning"},
        {18.6, "ok"},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(steps); i++) {
        feed(r, &rec, "t1", (int64_t)i * 30 * SEC, steps[i].value);
        if (strcmp(state_of(r, id), steps[i].state) != 0)
            fail_msg("at %.1f degC: %s, expected %s", steps[i].value, state_of(r, id),
                     steps[i].state);
    }
    feed(r, &rec, "t3", 0, 38); /* A3: allowable to 40 */
    assert_string_equal(state_of(r, "ashrae-a3-inlet/t3"), "warning");
    feed(r, &rec, "t-office", 0, 38); /* an office has no inlet rules */
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "t-office")), "ok");
    feed(r, &rec, "h1", 0, 75);
    assert_string_equal(state_of(r, "humidity-high/h1"), "warning");
    feed(r, &rec, "h1", SEC, 81);
    assert_string_equal(state_of(r, "humidity-high/h1"), "critical");
    vg_rules_free(r);
}

static void test_safety_packs_smoke_vesda_camera(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "smoke1", 0, 1);
    assert_string_equal(last_of(&rec, "smoke/smoke1")->to, "critical");
    assert_string_equal(last_of(&rec, "smoke/smoke1")->message,
                        "fire: smoke detector smoke1 in alarm in hall-a");
    feed(r, &rec, "vesda1", 0, 1);
    assert_string_equal(last_of(&rec, "vesda-alarm/vesda1")->to, "warning");
    feed(r, &rec, "vesda1", SEC, 2);
    assert_string_equal(last_of(&rec, "vesda-alarm/vesda1")->to, "critical");
    feed(r, &rec, "cam1", 0, 0);
    assert_string_equal(last_of(&rec, "camera-offline/cam1")->message, "camera offline: cam1");
    feed(r, &rec, "gen-run", 0, 0);
    assert_string_equal(last_of(&rec, "generator-not-running/gen-run")->to, "info");
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "gen-run")), "ok");
    assert_string_equal(vg_rules_sensor_state(r, sensor(r, "smoke1")), "critical");
    vg_rules_free(r);
}

/* ---- load, reload, seed ---- */

static void test_reload_keeps_state_of_unchanged_rules(void **unused)
{
    const char *before = "[{\"kind\":\"Rule\",\"name\":\"a\",\"spec\":{\"sensor\":\"raw\","
                         "\"above\":30}},{\"kind\":\"Rule\",\"name\":\"b\",\"spec\":{\"sensor\":"
                         "\"raw\",\"above\":31}}]";
    const char *after = "[{\"kind\":\"Rule\",\"name\":\"a\",\"spec\":{\"sensor\":\"raw\","
                        "\"above\":30}},{\"kind\":\"Rule\",\"name\":\"b\",\"spec\":{\"sensor\":"
                        "\"raw\",\"above\":32}}]";
    vg_rules_t *r = engine_with(before);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "raw", 0, 33);
    feed(r, &rec, "t1", 0, 28);
    assert_int_equal(rec.n, 3);
    json_t *zones = parse(zones_json), *devices = parse(devices_json);
    json_t *sensors = parse(sensors_json), *rules = parse(after);
    assert_int_equal(vg_rules_load(r, zones, sensors, devices, rules, NULL, 0), 0);
    assert_string_equal(state_of(r, "a/raw"), "warning");
    assert_string_equal(state_of(r, "b/raw"), "ok"); /* changed: starts afresh */
    assert_string_equal(state_of(r, "ashrae-a1-inlet/t1"), "warning");
    rec.n = 0;
    feed(r, &rec, "raw", SEC, 33);
    feed(r, &rec, "t1", SEC, 28);
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.changes[0].id, "b/raw");
    json_decref(zones), json_decref(devices), json_decref(sensors), json_decref(rules);
    vg_rules_free(r);
}

static void test_seed_restores_firing_state_without_new_change(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    assert_int_equal(vg_rules_seed(r, "ashrae-a1-inlet/t1", "warning"), 0);
    assert_int_equal(vg_rules_seed(r, "mains-lost-generator-not-running/dc1", "critical"), 0);
    assert_int_equal(vg_rules_seed(r, "no-such-rule/t1", "warning"), -ENOENT);
    assert_int_equal(vg_rules_seed(r, "ashrae-a1-inlet/t1", "purple"), -EINVAL);
    feed(r, &rec, "t1", 0, 28);
    assert_int_equal(rec.n, 0);
    feed(r, &rec, "t1", SEC, 25);
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.changes[0].from, "warning");
    assert_string_equal(rec.changes[0].to, "ok");
    vg_rules_free(r);
}

static void test_seed_stale_keeps_the_firing_latch(void **unused)
{
    vg_rules_t *r = engine_with(NULL);
    struct recorder rec = {.n = 0};
    vg_rules_seed(r, "water-leak/smoke1", "critical"); /* no such instance: ignored */
    assert_int_equal(vg_rules_seed(r, "smoke/smoke1", "critical"), 0);
    assert_int_equal(vg_rules_seed(r, "smoke/smoke1", "stale"), 0);
    feed(r, &rec, "smoke1", 0, 1);
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.changes[0].from, "stale");
    assert_string_equal(rec.changes[0].to, "critical");
    vg_rules_free(r);
}

static void test_missing_references_are_skipped_and_listed(void **unused)
{
    vg_rules_t *r = engine_with(
        "[{\"kind\":\"Rule\",\"name\":\"x\",\"spec\":{\"sensor\":\"nope\",\"above\":1}},"
        "{\"kind\":\"Rule\",\"name\":\"y\",\"spec\":{\"sensor\":\"raw\",\"above\":1,"
        "\"depends_on\":[\"ghost\"]}},"
        "{\"kind\":\"Rule\",\"name\":\"c1\",\"spec\":{\"all\":[\"c2\"]}},"
        "{\"kind\":\"Rule\",\"name\":\"c2\",\"spec\":{\"any\":[\"c1\"]}},"
        "{\"kind\":\"Rule\",\"name\":\"z\",\"spec\":{\"sensor\":\"raw\",\"above\":1,"
        "\"clear_below\":2}}]");
    json_t *problems = vg_rules_problems(r);
    char *text = json_dumps(problems, 0);
    assert_non_null(strstr(text, "rule 'x' skipped: sensor 'nope' is missing"));
    assert_non_null(strstr(text, "rule 'y' skipped: depends_on names 'ghost'"));
    assert_non_null(strstr(text, "rule 'c1' skipped: its dependencies form a cycle"));
    assert_non_null(strstr(text, "rule 'z' skipped: spec.clear_below"));
    free(text);
    json_decref(problems);
    struct recorder rec = {.n = 0};
    feed(r, &rec, "raw", 0, 5);
    assert_int_equal(rec.n, 0);
    vg_rules_free(r);
}

static void test_same_inputs_give_same_bytes(void **unused)
{
    struct recorder a = {.n = 0}, b = {.n = 0};
    struct recorder *recs[] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        vg_rules_t *r = engine_with(NULL);
        for (int i = 0; i < 40; i++)
            feed(r, recs[k], "t1", i * 30 * SEC, 22 + 0.4 * i);
        feed(r, recs[k], "mains", 0, 0);
        vg_rules_free(r);
    }
    assert_int_equal(a.n, b.n);
    assert_true(a.n > 2);
    assert_memory_equal(a.changes, b.changes, sizeof a.changes[0] * (size_t)a.n);
}

static void test_match_rule_makes_one_instance_per_sensor(void **unused)
{
    vg_rules_t *r = engine_with("[{\"kind\":\"Rule\",\"name\":\"warm\",\"spec\":{\"match\":{"
                                "\"type\":\"temperature\",\"site\":\"dc1\"},\"above\":35,"
                                "\"message\":\"{sensor} in {zone} is {value}\"}}]");
    struct recorder rec = {.n = 0};
    feed(r, &rec, "t-office", 0, 36.25);
    assert_string_equal(last_of(&rec, "warm/t-office")->message, "t-office in office is 36.25");
    json_t *status = vg_rules_status(r);
    int n = 0;
    size_t i;
    json_t *row;
    json_array_foreach(status, i, row)
        n += strcmp(json_string_value(json_object_get(row, "rule")), "warm") == 0;
    assert_int_equal(n, 4); /* t1, t3, t-office, raw */
    json_decref(status);
    vg_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hysteresis_does_not_flap_on_noise_around_threshold),
        cmocka_unit_test(test_hold_time_delays_raise),
        cmocka_unit_test(test_door_held_open_raises_after_120_s_without_new_readings),
        cmocka_unit_test(test_stale_never_resolves_a_firing_rule),
        cmocka_unit_test(test_stale_sensor_goes_stale_after_stale_after),
        cmocka_unit_test(test_old_readings_are_evaluated_but_leave_sensor_stale),
        cmocka_unit_test(test_sensor_without_data_is_unknown_then_stale),
        cmocka_unit_test(test_device_unreachable_makes_sensors_stale),
        cmocka_unit_test(test_child_suppressed_while_parent_fires),
        cmocka_unit_test(test_cooling_stopped_suppresses_inlets_of_its_zone_only),
        cmocka_unit_test(test_user_rule_depends_on_user_rule),
        cmocka_unit_test(test_composite_mains_down_and_generator_not_running),
        cmocka_unit_test(test_user_composite_any),
        cmocka_unit_test(test_rate_of_change_raises),
        cmocka_unit_test(test_prediction_time_to_threshold_within_tolerance),
        cmocka_unit_test(test_prediction_fires_early_on_cooling_failure),
        cmocka_unit_test(test_prediction_silent_once_threshold_crossed),
        cmocka_unit_test(test_fuel_hours_from_litres_and_load),
        cmocka_unit_test(test_fuel_percent_without_tank_is_a_problem),
        cmocka_unit_test(test_ups_runtime_low),
        cmocka_unit_test(test_ashrae_a1_bands),
        cmocka_unit_test(test_safety_packs_smoke_vesda_camera),
        cmocka_unit_test(test_reload_keeps_state_of_unchanged_rules),
        cmocka_unit_test(test_seed_restores_firing_state_without_new_change),
        cmocka_unit_test(test_seed_stale_keeps_the_firing_latch),
        cmocka_unit_test(test_missing_references_are_skipped_and_listed),
        cmocka_unit_test(test_same_inputs_give_same_bytes),
        cmocka_unit_test(test_match_rule_makes_one_instance_per_sensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

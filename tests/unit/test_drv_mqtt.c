/*
 * test_drv_mqtt.c - what the mqtt driver reads from a message (drv_mqtt.h):
 * plain numbers and words, maps, JSON paths, times, and the rejection
 * reasons that name the topic and never echo raw bytes. Also the checks of
 * Device options and Sensor sources. The broker side is tests/blackbox/
 * drv_mqtt.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sense/driver.h"
#include "sense/drv_mqtt.h"

static char reason[256];

/* Extracts from payload with source (JSON text); returns the rc. */
static int extract(const char *source_json, const char *topic, const char *payload, size_t len,
                   int64_t *time_ms, double *raw)
{
    json_t *source = json_loads(source_json, 0, NULL);
    assert_non_null(source);
    struct vg_mqtt_msg m = {.topic = topic, .payload = payload, .len = len};
    reason[0] = '\0';
    int rc = vg_mqtt_extract(source, &m, time_ms, raw, reason, sizeof reason);
    vg_mqtt_msg_release(&m);
    json_decref(source);
    return rc;
}

static double value_of(const char *source_json, const char *payload)
{
    int64_t t = 0;
    double raw = -999;
    int rc = extract(source_json, "site/dc1/t1", payload, strlen(payload), &t, &raw);
    if (rc)
        fail_msg("payload '%s' rejected: %s", payload, reason);
    return raw;
}

static void assert_rejects(const char *source_json, const char *payload, const char *why)
{
    int64_t t = 0;
    double raw;
    assert_int_equal(extract(source_json, "site/dc1/t1", payload, strlen(payload), &t, &raw),
                     -EINVAL);
    if (strcmp(reason, why) != 0)
        fail_msg("payload '%s': reason '%s', expected '%s'", payload, reason, why);
}

#define PLAIN "{\"topic\":\"site/+/t1\"}"

static void test_plain_payload_numbers_and_words(void **state)
{
    assert_true(value_of(PLAIN, "23.5") == 23.5);
    assert_true(value_of(PLAIN, " -4\n") == -4);
    assert_true(value_of(PLAIN, "1e3") == 1000);
    assert_true(value_of(PLAIN, "ON") == 1);
    assert_true(value_of(PLAIN, "off") == 0);
    assert_true(value_of(PLAIN, "true") == 1);
    assert_true(value_of(PLAIN, "FALSE") == 0);
    assert_true(value_of(PLAIN, "1") == 1);
    assert_true(value_of(PLAIN, "0") == 0);
    assert_true(value_of(PLAIN, "Open") == 1);
    assert_true(value_of(PLAIN, "closed") == 0);
}

static void test_map_replaces_the_builtin_words(void **state)
{
    const char *src = "{\"topic\":\"d/door\",\"map\":{\"OPEN\":1,\"CLOSED\":0,\"AJAR\":2}}";
    assert_true(value_of(src, "AJAR") == 2);
    assert_true(value_of(src, "CLOSED") == 0);
    assert_true(value_of(src, "7") == 7);
    assert_rejects(src, "on", "topic site/dc1/t1: payload is not a number: 'on'");
    assert_rejects(src, "open", "topic site/dc1/t1: payload is not a number: 'open'");
}

static void test_json_paths_reach_nested_values(void **state)
{
    const char *payload = "{\"sensors\":{\"temp\":21.5,\"state\":\"OPEN\",\"ok\":true},"
                          "\"readings\":[{\"value\":3},{\"value\":\"4.5\"}]}";
    assert_true(value_of("{\"topic\":\"t\",\"path\":\"sensors.temp\"}", payload) == 21.5);
    assert_true(value_of("{\"topic\":\"t\",\"path\":\"sensors.ok\"}", payload) == 1);
    assert_true(value_of("{\"topic\":\"t\",\"path\":\"readings[0].value\"}", payload) == 3);
    assert_true(value_of("{\"topic\":\"t\",\"path\":\"readings[1].value\"}", payload) == 4.5);
    assert_true(value_of("{\"topic\":\"t\",\"path\":\"sensors.state\",\"map\":{\"OPEN\":1}}",
                         payload) == 1);
    assert_true(value_of("{\"topic\":\"t\",\"path\":\"[1]\"}", "[5, 6]") == 6);
}

static void test_json_problems_are_rejected_with_the_path(void **state)
{
    const char *p = "{\"sensors\":{\"temp\":\"warm\",\"n\":null,\"o\":{}}}";
    assert_rejects("{\"topic\":\"t\",\"path\":\"sensors.hum\"}", p,
                   "topic site/dc1/t1: path 'sensors.hum' is not in the payload");
    assert_rejects("{\"topic\":\"t\",\"path\":\"sensors.temp\"}", p,
                   "topic site/dc1/t1: path 'sensors.temp' is not a number: 'warm'");
    assert_rejects("{\"topic\":\"t\",\"path\":\"sensors.n\"}", p,
                   "topic site/dc1/t1: path 'sensors.n' is not a number but null");
    assert_rejects("{\"topic\":\"t\",\"path\":\"sensors.o\"}", p,
                   "topic site/dc1/t1: path 'sensors.o' is not a number but an object");
    assert_rejects("{\"topic\":\"t\",\"path\":\"readings[3].value\"}", "{\"readings\":[]}",
                   "topic site/dc1/t1: path 'readings[3].value' is not in the payload");
    assert_rejects("{\"topic\":\"t\",\"path\":\"a\"}", "{\"a\": 1",
                   "topic site/dc1/t1: payload is not valid JSON: \\x27}\\x27 expected near end of "
                   "file at byte 7");
}

static void test_bad_plain_payloads_are_rejected_escaped_and_truncated(void **state)
{
    assert_rejects(PLAIN, "abc", "topic site/dc1/t1: payload is not a number: 'abc'");
    assert_rejects(PLAIN, "", "topic site/dc1/t1: payload is not a number: ''");
    assert_rejects(PLAIN, "NaN", "topic site/dc1/t1: payload is not a number: 'NaN'");
    assert_rejects(PLAIN, "1e999", "topic site/dc1/t1: payload is not a number: '1e999'");
    assert_rejects(PLAIN, "12 apples",
                   "topic site/dc1/t1: payload is not a number: '12 apples'");
    assert_rejects(PLAIN, "\x1b[31m'red'\xff",
                   "topic site/dc1/t1: payload is not a number: '\\x1b[31m\\x27red\\x27\\xff'");
    assert_rejects(PLAIN, "x123456789012345678901234567890123456789",
                   "topic site/dc1/t1: payload is not a number: "
                   "'x1234567890123456789012345678901...'");
    int64_t t;
    double raw;
    assert_int_equal(extract(PLAIN, "a/\x01/b", "x", 1, &t, &raw), -EINVAL);
    assert_string_equal(reason, "topic a/\\x01/b: payload is not a number: 'x'");
}

static void test_payloads_over_64_kib_are_rejected(void **state)
{
    size_t n = VG_MQTT_PAYLOAD_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '1';
    int64_t t;
    double raw;
    assert_int_equal(extract(PLAIN, "site/dc1/t1", big, n, &t, &raw), -EINVAL);
    assert_string_equal(reason,
                        "topic site/dc1/t1: payload of 65537 bytes is larger than 64 KiB");
    assert_int_equal(extract(PLAIN, "site/dc1/t1", big, n - 1, &t, &raw), 0);
    free(big);
}

static void test_time_field_in_ms_seconds_or_rfc3339(void **state)
{
    const char *src = "{\"topic\":\"t\",\"path\":\"v\",\"field\":\"ts\"}";
    struct {
        const char *payload;
        int64_t want;
    } cases[] = {
        {"{\"v\":1,\"ts\":1764770000123}", 1764770000123},
        {"{\"v\":1,\"ts\":1764770000}", 1764770000000},
        {"{\"v\":1,\"ts\":1764770000.5}", 1764770000500},
        {"{\"v\":1,\"ts\":\"2025-12-03T14:00:00.250Z\"}", 1764770400250},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        int64_t t = 5;
        double raw;
        assert_int_equal(
            extract(src, "t", cases[i].payload, strlen(cases[i].payload), &t, &raw), 0);
        assert_int_equal(t, cases[i].want);
    }
    assert_rejects(src, "{\"v\":1}",
                   "topic site/dc1/t1: time field 'ts' is not in the payload");
    assert_rejects(
        src, "{\"v\":1,\"ts\":\"soon\"}",
        "topic site/dc1/t1: time field 'ts' is not ms or s since 1970 or an RFC 3339 "
        "time");
    /* without field the caller's time (arrival) stays */
    int64_t t = 77;
    double raw;
    assert_int_equal(extract(PLAIN, "t", "1", 1, &t, &raw), 0);
    assert_int_equal(t, 77);
}

static void test_sources_are_checked(void **state)
{
    const struct vg_driver *drv = vg_driver_lookup("mqtt");
    assert_non_null(drv);
    assert_true(drv->passive);
    struct {
        const char *source, *error;
    } cases[] = {
        {"{\"topic\":\"site/+/t1\"}", NULL},
        {"{\"topic\":\"site/#\",\"path\":\"a.b[0].c\",\"field\":\"ts\",\"map\":{\"ON\":1}}",
         NULL},
        {"{}", "source.topic: required"},
        {"{\"topic\":\"a/#/b\"}", "source.topic: 'a/#/b' is not a valid MQTT subscription"},
        {"{\"topic\":\"a/b+\"}", "source.topic: 'a/b+' is not a valid MQTT subscription"},
        {"{\"topic\":\"t\",\"path\":\"a..b\"}", "source.path: 'a..b' is not a path"},
        {"{\"topic\":\"t\",\"path\":\"a[x]\"}", "source.path: 'a[x]' is not a path"},
        {"{\"topic\":\"t\",\"field\":\"ts.\"}", "source.field: 'ts.' is not a path"},
        {"{\"topic\":\"t\",\"map\":{\"ON\":\"1\"}}", "source.map.ON: expected a number"},
        {"{\"topic\":\"t\",\"oid\":\"1.3\"}", "source.oid: not used by the mqtt driver"},
    };
    json_t *options = json_object();
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        json_t *source = json_loads(cases[i].source, 0, NULL);
        char err[256] = "";
        int rc = drv->check(options, source, err, sizeof err);
        json_decref(source);
        if (!cases[i].error && rc)
            fail_msg("source %s refused: %s", cases[i].source, err);
        if (cases[i].error &&
            (rc != -EINVAL || strncmp(err, cases[i].error, strlen(cases[i].error)) != 0))
            fail_msg("source %s: '%s', expected '%s...'", cases[i].source, err, cases[i].error);
    }
    json_decref(options);
}

static void test_options_are_checked(void **state)
{
    const struct vg_driver *drv = vg_driver_lookup("mqtt");
    struct {
        const char *options, *error;
    } cases[] = {
        {"{}", NULL},
        {"{\"client_id\":\"vigil-1\",\"username\":\"u\",\"password\":\"p\",\"qos\":1,"
         "\"keepalive_s\":60,\"tls\":true,\"ca_file\":\"/etc/ca.pem\"}",
         NULL},
        {"{\"qos\":2}", "options.qos: 2 is out of range 0..1"},
        {"{\"keepalive_s\":1}", "options.keepalive_s: 1 is out of range 5..3600"},
        {"{\"tls\":\"yes\"}", "options.tls: expected true or false"},
        {"{\"password\":\"p\"}", "options.password: needs options.username"},
        {"{\"pasword\":\"p\"}", "options.pasword: unknown option"},
        {"{\"username\":\"\"}", "options.username: expected a non-empty string"},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        json_t *options = json_loads(cases[i].options, 0, NULL);
        char err[256] = "";
        int rc = drv->check(options, NULL, err, sizeof err);
        json_decref(options);
        if (!cases[i].error && rc)
            fail_msg("options %s refused: %s", cases[i].options, err);
        if (cases[i].error &&
            (rc != -EINVAL || strncmp(err, cases[i].error, strlen(cases[i].error)) != 0))
            fail_msg("options %s: '%s', expected '%s...'", cases[i].options, err,
                     cases[i].error);
    }
}

static void test_push_driver_takes_no_options_or_source(void **state)
{
    const struct vg_driver *drv = vg_driver_lookup("push");
    assert_non_null(drv);
    assert_true(drv->passive);
    json_t *empty = json_object(), *bad = json_pack("{s:s}", "topic", "x");
    char err[256];
    assert_int_equal(drv->check(empty, empty, err, sizeof err), 0);
    assert_int_equal(drv->check(bad, NULL, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "options.topic: the push driver takes no options"));
    assert_int_equal(drv->check(empty, bad, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "source.topic: not used by the push driver"));
    json_decref(empty);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_payload_numbers_and_words),
        cmocka_unit_test(test_map_replaces_the_builtin_words),
        cmocka_unit_test(test_json_paths_reach_nested_values),
        cmocka_unit_test(test_json_problems_are_rejected_with_the_path),
        cmocka_unit_test(test_bad_plain_payloads_are_rejected_escaped_and_truncated),
        cmocka_unit_test(test_payloads_over_64_kib_are_rejected),
        cmocka_unit_test(test_time_field_in_ms_seconds_or_rfc3339),
        cmocka_unit_test(test_sources_are_checked),
        cmocka_unit_test(test_options_are_checked),
        cmocka_unit_test(test_push_driver_takes_no_options_or_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pushjson.c - the JSON batch body of POST /api/v1/readings as
 * pushjson.h specifies it: fields, optional and RFC 3339 times, and an
 * error naming the reading for each class of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"
#include "sense/pushjson.h"

static struct vg_lp_batch batch;
static char err[256];

static int setup(void **state)
{
    vg_lp_batch_init(&batch);
    return 0;
}

static int teardown(void **state)
{
    vg_lp_batch_release(&batch);
    return 0;
}

static int parse(const char *text)
{
    vg_lp_batch_reset(&batch);
    err[0] = '\0';
    return vg_pj_parse_batch(text, strlen(text), 42, &batch, err, sizeof err);
}

static void assert_reading(size_t i, const char *sensor, int64_t time_ms, double value)
{
    assert_true(i < batch.n_readings);
    const struct vg_lp_reading *r = &batch.readings[i];
    if (r->sensor_len != strlen(sensor) || memcmp(r->sensor, sensor, r->sensor_len) != 0)
        fail_msg("reading %zu: sensor '%.*s', expected '%s'", i, (int)r->sensor_len, r->sensor,
                 sensor);
    assert_int_equal(r->time_ms, time_ms);
    if (r->value != value)
        fail_msg("reading %zu: value %.17g, expected %.17g", i, r->value, value);
}

static void assert_fails(const char *text, const char *reason)
{
    assert_int_equal(parse(text), -EINVAL);
    if (strcmp(err, reason) != 0)
        fail_msg("input '%s': error '%s', expected '%s'", text, err, reason);
}

static void test_readings_are_read_in_order_with_names_pointing_into_the_body(void **state)
{
    const char *text = " {\"readings\": [ {\"sensor\":\"dc1-t1\",\"time\":1764770000000,"
                       "\"value\":22.4},\n{\"value\": -3e2, \"sensor\": \"dc1-t2\", "
                       "\"time\": 5} ] }\n";
    assert_int_equal(parse(text), 0);
    assert_int_equal(batch.n_readings, 2);
    assert_reading(0, "dc1-t1", 1764770000000, 22.4);
    assert_reading(1, "dc1-t2", 5, -300);
    assert_true(batch.readings[0].sensor > text &&
                batch.readings[0].sensor < text + strlen(text));
}

static void test_time_is_optional_and_null_means_default(void **state)
{
    assert_int_equal(parse("{\"readings\":[{\"sensor\":\"a\",\"value\":1},"
                           "{\"sensor\":\"b\",\"value\":2,\"time\":null}]}"),
                     0);
    assert_reading(0, "a", 42, 1);
    assert_reading(1, "b", 42, 2);
}

static void test_time_may_be_an_rfc3339_string(void **state)
{
    assert_int_equal(
        parse("{\"readings\":[{\"sensor\":\"a\",\"value\":1,"
              "\"time\":\"2025-12-03T14:00:00Z\"},"
              "{\"sensor\":\"a\",\"value\":1,\"time\":\"2025-12-03t15:00:00.25+01:00\"},"
              "{\"sensor\":\"a\",\"value\":1,\"time\":\"1970-01-01 00:00:00.123456z\"}"
              "]}"),
        0);
    assert_reading(0, "a", 1764770400000, 1);
    assert_reading(1, "a", 1764770400250, 1);
    assert_reading(2, "a", 123, 1);
    int64_t t;
    assert_int_equal(vg_pj_time_parse("2024-02-29T23:59:59-00:30", 25, &t), 0);
    assert_int_equal(t, 1709251199000 + 1800000);
    assert_int_equal(vg_pj_time_parse("2025-02-29T00:00:00Z", 20, &t), -EINVAL);
    assert_int_equal(vg_pj_time_parse("1969-12-31T23:59:59Z", 20, &t), -EINVAL);
    assert_int_equal(vg_pj_time_parse("2025-12-03T14:00:00", 19, &t), -EINVAL);
    assert_int_equal(vg_pj_time_parse("2025-12-03T24:00:00Z", 20, &t), -EINVAL);
    assert_int_equal(vg_pj_time_parse("2025-12-03T14:00:00.Z", 21, &t), -EINVAL);
}

static void test_booleans_are_one_and_zero(void **state)
{
    assert_int_equal(parse("{\"readings\":[{\"sensor\":\"door\",\"value\":true},"
                           "{\"sensor\":\"door\",\"value\":false}]}"),
                     0);
    assert_reading(0, "door", 42, 1);
    assert_reading(1, "door", 42, 0);
}

static void test_escaped_sensor_names_are_unescaped_into_the_batch(void **state)
{
    assert_int_equal(parse("{\"readings\":[{\"sensor\":\"dc1\\u002dt\\/1\",\"value\":1}]}"), 0);
    assert_reading(0, "dc1-t/1", 42, 1);
}

static void test_empty_readings_array_is_an_empty_batch(void **state)
{
    assert_int_equal(parse("{\"readings\":[]}"), 0);
    assert_int_equal(batch.n_readings, 0);
}

static void test_broken_json_is_refused_with_position(void **state)
{
    assert_fails("", "body: invalid JSON at byte 0: expected '{', found the end");
    assert_fails("garbage", "body: invalid JSON at byte 0: expected '{', found 'g'");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1}",
                 "body: invalid JSON at byte 37: expected ',' or ']', found the end");
    assert_fails("{\"readings\":[{\"sensor\":\"a\" \"value\":1}]}",
                 "readings[0]: invalid JSON at byte 27: expected ',' or '}', found '\\x22'");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1}]} x",
                 "body: invalid JSON at byte 40: expected nothing after the object, found 'x'");
    assert_fails("{\"readings\":[{\"sensor\":\"a\nb\",\"value\":1}]}",
                 "readings[0]: invalid JSON at byte 25: expected no control character in a "
                 "string, found '\\x0a'");
    assert_fails("{\"readings\":[{\"sensor\":\"a\\q\",\"value\":1}]}",
                 "readings[0]: invalid JSON at byte 26: expected a valid escape, found 'q'");
    assert_fails("{\"readings\":[{\"sensor\":\"abc",
                 "readings[0]: invalid JSON at byte 27: expected the end of the string, found "
                 "the end");
}

static void test_truncated_bodies_and_nul_bytes_are_refused_without_overread(void **state)
{
    const char *body = "{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"time\":";
    size_t len = strlen(body);
    char *exact = malloc(len);
    memcpy(exact, body, len); /* not NUL-terminated: ASan sees an overread */
    assert_int_equal(vg_pj_parse_batch(exact, len, 0, &batch, err, sizeof err), -EINVAL);
    assert_string_equal(
        err, "readings[0].time: expected integer ms since 1970 or an RFC 3339 string");
    free(exact);
    const char nul[] = "{\"readings\":[{\"sensor\":\"a\",\"value\":1\0}]}";
    assert_int_equal(vg_pj_parse_batch(nul, sizeof nul - 1, 0, &batch, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "readings[0].value: expected a number");
}

static void test_wrong_shapes_are_refused_naming_the_field(void **state)
{
    assert_fails("{}", "readings: required");
    assert_fails("{\"readings\":{}}", "readings: expected an array");
    assert_fails("{\"reading\":[]}", "body: unknown field 'reading' (readings)");
    assert_fails("{\"readings\":[],\"readings\":[]}", "readings: given twice");
    assert_fails("{\"readings\":[1]}", "readings[0]: expected an object {sensor, time, value}");
    assert_fails("{\"readings\":[{\"value\":1}]}", "readings[0].sensor: required");
    assert_fails("{\"readings\":[{\"sensor\":\"a\"}]}", "readings[0].value: required");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"vaule\":1}]}",
                 "readings[0]: unknown field 'vaule' (sensor, time, value)");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"value\":2}]}",
                 "readings[0].value: given twice");
    assert_fails("{\"readings\":[{\"sensor\":7,\"value\":1}]}",
                 "readings[0].sensor: expected a string");
    assert_fails("{\"readings\":[{\"sensor\":\"\",\"value\":1}]}",
                 "readings[0].sensor: must not be empty");
    assert_fails(
        "{\"readings\":[{\"sensor\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaa\",\"value\":1}]}",
        "readings[0].sensor: longer than 63 characters");
}

static void test_values_that_are_not_finite_numbers_are_refused(void **state)
{
    const char *bad[] = {"\"22.4\"", "null", "NaN", "Infinity", "-",
                         "[1]",      "{}",   "1x",  "truex"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        char text[128];
        snprintf(
            text, sizeof text,
            "{\"readings\":[{\"sensor\":\"a\",\"value\":1},{\"sensor\":\"a\",\"value\":%s}]}",
            bad[i]);
        assert_fails(text, "readings[1].value: expected a number");
    }
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1e999}]}",
                 "readings[0].value: not a finite number");
}

static void test_bad_times_are_refused(void **state)
{
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"time\":-1}]}",
                 "readings[0].time: out of range (ms since 1970, up to year 9999)");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"time\":253402300800000}]}",
                 "readings[0].time: out of range (ms since 1970, up to year 9999)");
    assert_fails(
        "{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"time\":99999999999999999999999}]}",
        "readings[0].time: out of range (ms since 1970, up to year 9999)");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"time\":1.5}]}",
                 "readings[0].time: expected integer ms since 1970 or an RFC 3339 string");
    assert_fails("{\"readings\":[{\"sensor\":\"a\",\"value\":1,\"time\":\"yesterday\"}]}",
                 "readings[0].time: 'yesterday' is not an RFC 3339 time after 1970");
}

static void test_a_5000_reading_batch_names_the_bad_index(void **state)
{
    vg_buf_t body = VG_BUF_INIT;
    vg_buf_adds(&body, "{\"readings\":[");
    for (int i = 0; i < 5000; i++)
        vg_buf_printf(&body, "%s{\"sensor\":\"dc1-t%d\",\"time\":%lld,\"value\":%d.5}",
                      i ? "," : "", i, 1764770000000LL + i, i);
    vg_buf_adds(&body, "]}");
    assert_int_equal(parse((const char *)body.data), 0);
    assert_int_equal(batch.n_readings, 5000);
    assert_reading(4999, "dc1-t4999", 1764770004999, 4999.5);
    char *bad = strstr((char *)body.data, "\"value\":3333.5");
    memcpy(bad + 8, "\"x\"   ", 6);
    assert_fails((const char *)body.data, "readings[3333].value: expected a number");
    vg_buf_release(&body);
}

static void assert_refused(size_t i, const char *sensor, size_t len, enum vg_lp_reject why)
{
    assert_true(i < batch.n_readings);
    const struct vg_lp_reading *r = &batch.readings[i];
    if (r->sensor_len != len || memcmp(r->sensor, sensor, len) != 0)
        fail_msg("reading %zu: the name is not kept as given", i);
    assert_int_equal(r->where, i);
    assert_int_equal(r->reject, why);
}

static void test_names_with_nul_control_or_bad_utf8_refuse_their_reading_alone(void **state)
{
    const char *text = "{\"readings\":["
                       "{\"sensor\":\"a\\u0000b\",\"value\":1}," /* cut at NUL: "a" */
                       "{\"sensor\":\"ok\",\"value\":2},"
                       "{\"sensor\":\"x\\u0001\",\"value\":3},"
                       "{\"sensor\":\"\\ud800\",\"value\":4},"    /* lone high surrogate */
                       "{\"sensor\":\"\\udc00x\",\"value\":5},"   /* lone low surrogate */
                       "{\"sensor\":\"raw\xff\",\"value\":6},"    /* raw invalid UTF-8 */
                       "{\"sensor\":\"\\u0085\",\"value\":7},"    /* C1 control */
                       "{\"sensor\":\"caf\\u00e9\",\"value\":8}," /* fine: left to the lookup */
                       "{\"sensor\":\"\\ud83d\\ude00\",\"value\":9},"
                       "{\"sensor\":\"del\x7f\",\"value\":10}]}";
    assert_int_equal(parse(text), 0);
    assert_int_equal(batch.n_readings, 10);
    assert_refused(0, "a\0b", 3, VG_LP_NAME_NUL);
    assert_refused(1, "ok", 2, VG_LP_OK);
    assert_refused(2, "x\x01", 2, VG_LP_NAME_CONTROL);
    assert_refused(3, "\xed\xa0\x80", 3, VG_LP_NAME_UTF8);
    assert_refused(4, "\xed\xb0\x80x", 4, VG_LP_NAME_UTF8);
    assert_refused(5, "raw\xff", 4, VG_LP_NAME_UTF8);
    assert_refused(6, "\xc2\x85", 2, VG_LP_NAME_CONTROL);
    assert_refused(7, "caf\xc3\xa9", 5, VG_LP_OK);
    assert_refused(8, "\xf0\x9f\x98\x80", 4, VG_LP_OK);
    assert_refused(9, "del\x7f", 4, VG_LP_NAME_CONTROL);
    /* a raw control byte is not JSON at all: the whole body is refused */
    assert_fails("{\"readings\":[{\"sensor\":\"a\x01\",\"value\":1}]}",
                 "readings[0]: invalid JSON at byte 25: expected no control character in a "
                 "string, found '\\x01'");
}

static int count(void *ctx, const struct vg_lp_reading *r)
{
    return ++*(int *)ctx == 2 ? -ECANCELED : 0;
}

static void test_callback_sees_each_reading_and_can_stop(void **state)
{
    const char *text =
        "{\"readings\":[{\"sensor\":\"a\",\"value\":1},{\"sensor\":\"b\",\"value\":2},"
        "{\"sensor\":\"c\",\"value\":3}]}";
    int n = 0;
    assert_int_equal(vg_pj_parse(text, strlen(text), 0, count, &n, err, sizeof err),
                     -ECANCELED);
    assert_int_equal(n, 2);
    assert_int_equal(vg_pj_parse(text, strlen(text), 0, NULL, NULL, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_readings_are_read_in_order_with_names_pointing_into_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_is_optional_and_null_means_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_may_be_an_rfc3339_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_booleans_are_one_and_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaped_sensor_names_are_unescaped_into_the_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_readings_array_is_an_empty_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broken_json_is_refused_with_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_truncated_bodies_and_nul_bytes_are_refused_without_overread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_shapes_are_refused_naming_the_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_values_that_are_not_finite_numbers_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_times_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_5000_reading_batch_names_the_bad_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_names_with_nul_control_or_bad_utf8_refuse_their_reading_alone, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_callback_sees_each_reading_and_can_stop, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

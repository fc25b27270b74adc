/*
 * test_lineproto.c - the InfluxDB line protocol of POST /api/v1/write as
 * lineproto.h specifies it: which sensor each field becomes, every value
 * type, escapes, precision, and a clear, positioned error for each class
 * of bad input (a bad batch must be refused as a whole by the caller).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "core/buf.h"
#include "sense/lineproto.h"

static struct vg_lp_batch batch;
static struct vg_lp_error error;

static int setup(void **state)
{
    vg_lp_batch_init(&batch);
    memset(&error, 0, sizeof error);
    return 0;
}

static int teardown(void **state)
{
    vg_lp_batch_release(&batch);
    return 0;
}

static int parse_prec(const char *text, enum vg_lp_precision prec)
{
    vg_lp_batch_reset(&batch);
    memset(&error, 0, sizeof error);
    return vg_lp_parse_batch(text, strlen(text), prec, 42, &batch, &error);
}

static int parse(const char *text)
{
    return parse_prec(text, VG_LP_MS);
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
    if (strcmp(error.reason, reason) != 0)
        fail_msg("input '%s': error '%s', expected '%s'", text, error.reason, reason);
}

static void test_value_field_is_the_sensor_named_like_the_measurement(void **state)
{
    const char *text = "dc1-hall-a-t17 value=22.4 1764770000000\n";
    assert_int_equal(parse(text), 0);
    assert_int_equal(batch.n_readings, 1);
    assert_reading(0, "dc1-hall-a-t17", 1764770000000, 22.4);
    /* no copy: the name points into the request body */
    assert_ptr_equal(batch.readings[0].sensor, text);
}

static void test_other_fields_are_sensors_measurement_dot_field(void **state)
{
    assert_int_equal(parse("crac-3 supply=14.2,return=24.9,value=1 1000"), 0);
    assert_int_equal(batch.n_readings, 3);
    assert_reading(0, "crac-3.supply", 1000, 14.2);
    assert_reading(1, "crac-3.return", 1000, 24.9);
    assert_reading(2, "crac-3", 1000, 1);
}

static void test_sensor_tag_takes_the_measurements_place(void **state)
{
    assert_int_equal(parse("temp,site=dc1,sensor=dc1-t1,rack=r4 value=21.5,min=20 5"), 0);
    assert_int_equal(batch.n_readings, 2);
    assert_reading(0, "dc1-t1", 5, 21.5);
    assert_reading(1, "dc1-t1.min", 5, 20);
}

static void test_escapes_in_names_are_unescaped(void **state)
{
    assert_int_equal(parse("a\\ b\\,c,t\\=k=v\\ 1 f\\=x\\ y=1,value=2 7\n"), 0);
    assert_int_equal(batch.n_readings, 2);
    assert_reading(0, "a b,c.f=x y", 7, 1);
    assert_reading(1, "a b,c", 7, 2);
    /* a backslash before anything else is literal */
    assert_int_equal(parse("a\\b value=3 7"), 0);
    assert_reading(0, "a\\b", 7, 3);
}

static void test_integer_unsigned_boolean_and_float_fields(void **state)
{
    assert_int_equal(parse("m a=-5i,b=18446744073709551615u,c=9223372036854775807i,"
                           "d=t,e=T,f=true,g=True,h=TRUE,i=f,j=F,k=false,l=False,m=FALSE,"
                           "n=-1.5e3,o=.5,p=1.,q=+2,r=-0,s=1E-2 1"),
                     0);
    assert_int_equal(batch.n_readings, 19);
    double want[] = {-5,
                     18446744073709551615.0,
                     9223372036854775807.0,
                     1,
                     1,
                     1,
                     1,
                     1,
                     0,
                     0,
                     0,
                     0,
                     0,
                     -1500,
                     0.5,
                     1,
                     2,
                     0,
                     0.01};
    for (size_t i = 0; i < VG_ARRAY_LEN(want); i++)
        assert_true(batch.readings[i].value == want[i]);
    assert_true(signbit(batch.readings[17].value));
}

/* The fast path must give strtod's (correctly rounded) answer. */
static void test_decimals_match_strtod_bit_for_bit(void **state)
{
    static const char *cases[] = {
        "22.4",
        "0.1",
        "0.3",
        "123456789012345",
        "1234567890123456789",
        "9007199254740993",
        "1.7976931348623157e308",
        "4.9e-324",
        "2.2250738585072014e-308",
        "0.000001234",
        "98765.4321e-10",
        "1e22",
        "1e23",
        "3.14159265358979323846264338327950288",
        "123456789012345678901234567890",
        "0.1e-400",
        "-7.25",
        "100000000000000000000000",
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        double got;
        const char *end = cases[i] + strlen(cases[i]);
        assert_ptr_equal(vg_lp_number(cases[i], end, &got), end);
        double want = strtod(cases[i], NULL);
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("'%s': %.17g, strtod %.17g", cases[i], got, want);
    }
    srand(7);
    for (int i = 0; i < 200000; i++) {
        char text[64];
        snprintf(text, sizeof text, "%d.%0*de%d", rand() % 100000, rand() % 12 + 1, rand(),
                 rand() % 40 - 20);
        double got, want = strtod(text, NULL);
        assert_non_null(vg_lp_number(text, text + strlen(text), &got));
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("'%s': %.17g, strtod %.17g", text, got, want);
    }
}

static void test_precision_converts_the_timestamp_to_ms(void **state)
{
    assert_int_equal(parse_prec("m value=1 1764770000123456789", VG_LP_NS), 0);
    assert_reading(0, "m", 1764770000123, 1);
    assert_int_equal(parse_prec("m value=1 1764770000123456", VG_LP_US), 0);
    assert_reading(0, "m", 1764770000123, 1);
    assert_int_equal(parse_prec("m value=1 1764770000123", VG_LP_MS), 0);
    assert_reading(0, "m", 1764770000123, 1);
    assert_int_equal(parse_prec("m value=1 1764770000", VG_LP_S), 0);
    assert_reading(0, "m", 1764770000000, 1);
    enum vg_lp_precision p;
    assert_int_equal(vg_lp_precision_parse(NULL, &p), 0);
    assert_int_equal(p, VG_LP_NS);
    assert_int_equal(vg_lp_precision_parse("s", &p), 0);
    assert_int_equal(p, VG_LP_S);
    assert_int_equal(vg_lp_precision_parse("us", &p), 0);
    assert_int_equal(p, VG_LP_US);
    assert_int_equal(vg_lp_precision_parse("h", &p), -EINVAL);
}

static void test_missing_timestamp_takes_the_default_time(void **state)
{
    assert_int_equal(parse("a value=1\nb value=2   \r\nc x=3,y=4"), 0);
    assert_int_equal(batch.n_readings, 4);
    assert_reading(0, "a", 42, 1);
    assert_reading(1, "b", 42, 2);
    assert_reading(3, "c.y", 42, 4);
}

static void test_blank_lines_comments_crlf_and_spaces_are_skipped(void **state)
{
    assert_int_equal(parse("\n# a comment, value=1\r\n  \t\n  a  value=1   9  \r\n\r\n"
                           "b value=2 10"),
                     0);
    assert_int_equal(batch.n_readings, 2);
    assert_reading(0, "a", 9, 1);
    assert_reading(1, "b", 10, 2);
    assert_int_equal(parse(""), 0);
    assert_int_equal(batch.n_readings, 0);
}

static void test_garbage_is_refused_with_line_and_column(void **state)
{
    assert_fails("a value=1 1\nb value=2 2\ngarbage\n", "line 3: missing field set");
    assert_int_equal(error.line, 3);
    assert_int_equal(error.column, 8);
    assert_fails("{\"json\": 1}", "line 1: field '1}' has no '=value'");
}

static void test_missing_field_set_is_refused(void **state)
{
    assert_fails("m", "line 1: missing field set");
    assert_fails("m,tag=1", "line 1: missing field set");
    assert_fails("m ", "line 1: missing field set");
    assert_fails("m  1764770000000", "line 1: field '1764770000000' has no '=value'");
    assert_fails("m value=", "line 1: field 'value' has no value");
    assert_fails("m =1", "line 1: field with an empty name");
    assert_fails(" value=1", "line 1: unexpected '=' after the measurement");
    assert_fails(",t=1 value=1", "line 1: missing measurement");
    assert_fails("m,t value=1", "line 1: tag 't' has no '=value'");
    assert_fails("m,t= value=1", "line 1: tag 't' has an empty value");
    assert_fails("m=1 value=1", "line 1: unexpected '=' after the measurement");
}

static void test_bad_numbers_are_refused_naming_the_value(void **state)
{
    assert_fails("m value=abc", "line 1: field value 'abc' is not a number");
    assert_fails("m value=1.2.3", "line 1: field value '1.2.3' is not a number");
    assert_fails("m value=1e", "line 1: field value '1e' is not a number");
    assert_fails("m value=tru", "line 1: field value 'tru' is not a number");
    assert_fails("m value=- 1", "line 1: field value '-' is not a number");
    assert_fails("m value=1.5i", "line 1: field value '1.5i' is not a valid integer (64 bits, "
                                 "suffix i or u)");
    assert_fails("m value=9223372036854775808i",
                 "line 1: field value '9223372036854775808i' is not a valid integer (64 bits, "
                 "suffix i or u)");
    assert_fails("m value=-1u",
                 "line 1: field value '-1u' is not a valid integer (64 bits, suffix i or u)");
    assert_fails("m value=5ii",
                 "line 1: field value '5ii' is not a valid integer (64 bits, suffix i or u)");
}

static void test_string_fields_are_refused(void **state)
{
    assert_fails("m status=\"on, \\\"really\\\"\" 1",
                 "line 1: field 'status' is a string; vigil readings are numbers");
    assert_fails("m status=\"open", "line 1: field 'status' has an unterminated string");
}

static void test_nan_and_infinity_are_refused(void **state)
{
    assert_fails("m value=NaN", "line 1: field value 'NaN' is not a number");
    assert_fails("m value=inf", "line 1: field value 'inf' is not a number");
    assert_fails("m value=-Infinity", "line 1: field value '-Infinity' is not a number");
    assert_fails("m value=1e999", "line 1: field value '1e999' is not a finite number");
    assert_fails("m value=-1e400", "line 1: field value '-1e400' is not a finite number");
}

static void test_out_of_range_timestamps_are_refused(void **state)
{
    assert_fails("m value=1 99999999999999999999",
                 "line 1: timestamp '99999999999999999999' is out of range");
    assert_fails("m value=1 -5", "line 1: timestamp '-5' is out of range");
    assert_fails("m value=1 253402300800000",
                 "line 1: timestamp '253402300800000' is out of range");
    assert_int_equal(parse_prec("m value=1 9223372036854775", VG_LP_S), -EINVAL);
    assert_string_equal(error.reason, "line 1: timestamp '9223372036854775' is out of range");
    assert_fails("m value=1 12x", "line 1: timestamp '12x' is not an integer");
    assert_fails("m value=1 1.5", "line 1: timestamp '1.5' is not an integer");
    assert_fails("m value=1 1 2", "line 1: unexpected text after the timestamp");
}

static void test_names_longer_than_63_characters_are_refused(void **state)
{
    char text[256];
    char name[65];
    memset(name, 'a', 64);
    name[64] = '\0';
    snprintf(text, sizeof text, "%s value=1", name);
    assert_int_equal(parse(text), -EINVAL);
    assert_string_equal(error.reason, "line 1: measurement is longer than 63 characters");
    name[60] = '\0';
    snprintf(text, sizeof text, "%s value=1,abc=2", name);
    assert_int_equal(parse(text), -EINVAL);
    assert_string_equal(error.reason,
                        "line 1: sensor name of field 'abc' is longer than 63 characters");
    assert_int_equal(batch.n_readings, 0); /* the line's first field was not handed out */
}

static void test_error_quotes_input_escaped_and_truncated(void **state)
{
    assert_int_equal(parse("m value=\x01\x7f'\"\\zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
                     -EINVAL);
    assert_string_equal(error.reason,
                        "line 1: field value '\\x01\\x7f\\x27\\x22\\x5czzzzzzzzzzz"
                        "zzzzzzzzzzzzz...' is not a number");
}

static void test_bad_line_stops_the_parse_after_earlier_readings(void **state)
{
    assert_int_equal(parse("a value=1 1\nb value=x 2\nc value=3 3\n"), -EINVAL);
    assert_int_equal(error.line, 2);
    assert_int_equal(error.column, 9);
    assert_int_equal(batch.n_readings, 1); /* the caller drops the batch */
}

static void test_a_5000_line_batch_parses_completely(void **state)
{
    vg_buf_t body = VG_BUF_INIT;
    for (int i = 0; i < 5000; i++)
        vg_buf_printf(&body, "dc1-hall-a-t%d value=%d.%d %lld\n", i, 15 + i % 10, i % 10,
                      1764770000000LL + i);
    assert_int_equal(
        vg_lp_parse_batch((const char *)body.data, body.len, VG_LP_MS, 0, &batch, &error), 0);
    assert_int_equal(batch.n_readings, 5000);
    assert_reading(0, "dc1-hall-a-t0", 1764770000000, 15.0);
    assert_reading(4999, "dc1-hall-a-t4999", 1764770004999, 24.9);
    vg_buf_release(&body);
}

static void test_lines_with_many_fields_keep_them_all(void **state)
{
    vg_buf_t body = VG_BUF_INIT;
    vg_buf_adds(&body, "m ");
    for (int i = 0; i < 100; i++)
        vg_buf_printf(&body, "%sf%d=%d", i ? "," : "", i, i);
    vg_buf_adds(&body, " 3");
    assert_int_equal(parse((const char *)body.data), 0);
    assert_int_equal(batch.n_readings, 100);
    assert_reading(99, "m.f99", 3, 99);
    vg_buf_release(&body);
}

struct collected {
    int n_calls;
    char names[4][64];
    int rejects[4];
};

static int collect(void *ctx, const struct vg_lp_reading *r)
{
    struct collected *c = ctx;
    snprintf(c->names[c->n_calls], 64, "%.*s=%g@%lld", (int)r->sensor_len, r->sensor, r->value,
             (long long)r->time_ms);
    c->rejects[c->n_calls] = r->reject;
    return ++c->n_calls == 3 ? -ECANCELED : 0;
}

static void test_callback_gets_each_reading_and_can_stop_the_parse(void **state)
{
    struct collected c = {0};
    const char *text = "a\\ b value=1,x=2 5\nc value=3\nd value=4\n";
    assert_int_equal(vg_lp_parse(text, strlen(text), VG_LP_MS, 9, collect, &c, &error),
                     -ECANCELED);
    assert_int_equal(c.n_calls, 3);
    assert_string_equal(c.names[0], "a b=1@5");
    assert_string_equal(c.names[1], "a b.x=2@5");
    assert_string_equal(c.names[2], "c=3@9");
    /* a NULL callback only validates */
    assert_int_equal(vg_lp_parse(text, strlen(text), VG_LP_MS, 9, NULL, NULL, NULL), 0);
}

/* What a refused reading must look like: counted where it was, its name
 * kept whole (never cut at the NUL into another sensor's name). */
static void assert_refused(size_t i, const char *sensor, size_t len, uint32_t where,
                           enum vg_lp_reject why)
{
    assert_true(i < batch.n_readings);
    const struct vg_lp_reading *r = &batch.readings[i];
    if (r->sensor_len != len || memcmp(r->sensor, sensor, len) != 0)
        fail_msg("reading %zu: the name is not kept as given", i);
    assert_int_equal(r->where, where);
    assert_int_equal(r->reject, why);
}

static void test_names_with_nul_control_or_bad_utf8_refuse_their_reading_alone(void **state)
{
    static const char body[] = "a\0b value=1 5\n" /* NUL in the measurement */
                               "ok value=2 5\n"   /* clean: stored */
                               "c\x01"
                               "d value=3 5\n"               /* C0 control */
                               "\xff\xfe value=4 5\n"        /* not UTF-8 */
                               "t\xc2\x85 value=5 5\n"       /* C1 control (U+0085) */
                               "caf\xc3\xa9 value=6 5\n"     /* UTF-8: left to the lookup */
                               "m,sensor=x\x7fy value=7 5\n" /* DEL in the sensor tag */
                               "base f\0=8,g=9 5\n"          /* NUL in a field key */
                               "t\xed\xa0\x80 value=10 5\n"; /* an encoded surrogate */
    vg_lp_batch_reset(&batch);
    assert_int_equal(vg_lp_parse_batch(body, sizeof body - 1, VG_LP_MS, 42, &batch, &error), 0);
    assert_int_equal(batch.n_readings, 10);
    assert_refused(0, "a\0b", 3, 1, VG_LP_NAME_NUL);
    assert_refused(1, "ok", 2, 2, VG_LP_OK);
    assert_refused(2,
                   "c\x01"
                   "d",
                   3, 3, VG_LP_NAME_CONTROL);
    assert_refused(3, "\xff\xfe", 2, 4, VG_LP_NAME_UTF8);
    assert_refused(4, "t\xc2\x85", 3, 5, VG_LP_NAME_CONTROL);
    assert_refused(5, "caf\xc3\xa9", 5, 6, VG_LP_OK);
    assert_refused(6, "x\x7fy", 3, 7, VG_LP_NAME_CONTROL);
    assert_refused(7, "base.f\0", 7, 8, VG_LP_NAME_NUL);
    assert_refused(8, "base.g", 6, 8, VG_LP_OK); /* the line's other field is fine */
    assert_refused(9, "t\xed\xa0\x80", 4, 9, VG_LP_NAME_UTF8);
    assert_string_equal(vg_lp_reject_reason(VG_LP_NAME_NUL), "contains a NUL byte");
    assert_string_equal(vg_lp_reject_reason(VG_LP_NAME_CONTROL),
                        "contains a control character");
    assert_string_equal(vg_lp_reject_reason(VG_LP_NAME_UTF8), "is not valid UTF-8");
}

static void test_callback_and_batch_see_the_same_refusals(void **state)
{
    static const char body[] = "a\0b value=1 5\nok value=2 5\n";
    struct collected c = {0};
    assert_int_equal(vg_lp_parse(body, sizeof body - 1, VG_LP_MS, 9, collect, &c, &error), 0);
    assert_int_equal(c.n_calls, 2); /* the refused reading is handed out, marked */
    assert_int_equal(c.rejects[0], VG_LP_NAME_NUL);
    assert_int_equal(c.rejects[1], VG_LP_OK);
}

static void test_input_is_not_read_past_its_length(void **state)
{
    /* the buffer is not NUL-terminated: cut in the middle of a token */
    const char *text = "m value=12345 999";
    assert_int_equal(vg_lp_parse_batch(text, 10, VG_LP_MS, 1, &batch, &error), 0);
    assert_reading(0, "m", 1, 12);
    vg_lp_batch_reset(&batch);
    assert_int_equal(vg_lp_parse_batch("m st=\"ab\"", 7, VG_LP_MS, 1, &batch, &error), -EINVAL);
    assert_string_equal(error.reason, "line 1: field 'st' has an unterminated string");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_value_field_is_the_sensor_named_like_the_measurement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_fields_are_sensors_measurement_dot_field,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sensor_tag_takes_the_measurements_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_escapes_in_names_are_unescaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integer_unsigned_boolean_and_float_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decimals_match_strtod_bit_for_bit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_precision_converts_the_timestamp_to_ms, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_timestamp_takes_the_default_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_blank_lines_comments_crlf_and_spaces_are_skipped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_refused_with_line_and_column, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_field_set_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_numbers_are_refused_naming_the_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_string_fields_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_and_infinity_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_timestamps_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_names_longer_than_63_characters_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_error_quotes_input_escaped_and_truncated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_line_stops_the_parse_after_earlier_readings,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_5000_line_batch_parses_completely, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lines_with_many_fields_keep_them_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_callback_gets_each_reading_and_can_stop_the_parse,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_names_with_nul_control_or_bad_utf8_refuse_their_reading_alone, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_callback_and_batch_see_the_same_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_input_is_not_read_past_its_length, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

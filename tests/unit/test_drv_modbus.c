/*
 * test_drv_modbus.c - what a modbus Sensor's source means (drv_modbus.h):
 * the checks that refuse a bad manifest when it is applied, how registers
 * become numbers in each format and word order, and how the points of a
 * device are grouped into read requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "sense/drv_modbus.h"

static char err[256];
static const struct vg_mb_options defaults = {.unit = 1};

static void assert_err(const char *want)
{
    if (strcmp(err, want) != 0)
        fail_msg("error '%s', expected '%s'", err, want);
}

/* Parses YAML-free JSON text as a source with the default options. */
static int parse(const char *json, struct vg_mb_source *out)
{
    json_t *src = json_loads(json, 0, NULL);
    if (!src)
        fail_msg("bad test json %s", json);
    err[0] = '\0';
    int rc = vg_mb_source_parse(src, &defaults, out, err, sizeof err);
    json_decref(src);
    return rc;
}

static int check(const char *options, const char *source)
{
    json_t *opt = json_loads(options, 0, NULL),
           *src = source ? json_loads(source, 0, NULL) : NULL;
    err[0] = '\0';
    int rc = vg_driver_lookup("modbus")->check(opt, src, err, sizeof err);
    json_decref(opt);
    json_decref(src);
    return rc;
}

static void test_source_defaults_to_holding_u16_big_on_the_devices_unit(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(parse("{\"register\": 40}", &s), 0);
    assert_int_equal(s.table, VG_MB_HOLDING);
    assert_int_equal(s.format, VG_MB_U16);
    assert_int_equal(s.reg, 40);
    assert_int_equal(s.unit, 1);
    assert_int_equal(s.little, 0);
    assert_int_equal(s.bit, -1);
    assert_int_equal(vg_mb_width(&s), 1);
}

static void test_source_register_is_required_and_in_range(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(parse("{\"table\": \"input\"}", &s), -EINVAL);
    assert_err("source.register: required");
    assert_int_equal(parse("{\"register\": 65536}", &s), -EINVAL);
    assert_err("source.register: 65536 is out of range 0..65535");
    assert_int_equal(parse("{\"register\": 65535, \"format\": \"u32\"}", &s), -EINVAL);
    assert_err("source.register: 2 registers from 65535 go past register 65535");
}

static void test_format_f64_is_refused_listing_the_formats(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(parse("{\"register\": 1, \"format\": \"f64\"}", &s), -EINVAL);
    assert_err("source.format: 'f64' is not one of u16, s16, u32, s32, f32, u64");
}

static void test_table_and_word_order_must_be_known_words(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(parse("{\"register\": 1, \"table\": \"holdings\"}", &s), -EINVAL);
    assert_err("source.table: 'holdings' is not one of holding, input, coil, discrete");
    assert_int_equal(parse("{\"register\": 1, \"word_order\": \"middle\"}", &s), -EINVAL);
    assert_err("source.word_order: 'middle' is not one of big, little");
}

static void test_unknown_source_key_is_refused(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(parse("{\"register\": 1, \"regsiter\": 2}", &s), -EINVAL);
    assert_err("source.regsiter: not used by the modbus driver (register, table, format, "
               "word_order, bit, unit_id)");
}

static void test_bit_must_fit_the_format_and_not_be_a_float_or_coil(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(parse("{\"register\": 1, \"bit\": 15}", &s), 0);
    assert_int_equal(s.bit, 15);
    assert_int_equal(parse("{\"register\": 1, \"bit\": 16}", &s), -EINVAL);
    assert_err("source.bit: 16 is out of range 0..15");
    assert_int_equal(parse("{\"register\": 1, \"bit\": 31, \"format\": \"u32\"}", &s), 0);
    assert_int_equal(parse("{\"register\": 1, \"bit\": 0, \"format\": \"f32\"}", &s), -EINVAL);
    assert_err("source.bit: not used with format f32");
    assert_int_equal(parse("{\"register\": 1, \"bit\": 0, \"table\": \"coil\"}", &s), -EINVAL);
    assert_err("source.bit: not used with table coil");
}

static void test_coils_take_no_format(void **state)
{
    struct vg_mb_source s;
    assert_int_equal(
        parse("{\"register\": 1, \"table\": \"discrete\", \"format\": \"u16\"}", &s), -EINVAL);
    assert_err("source.format: not used with table discrete (its points are single bits)");
}

static void test_options_set_unit_and_word_order_sources_may_override(void **state)
{
    json_t *opt =
        json_pack("{s:i,s:s,s:i}", "unit_id", 7, "word_order", "little", "max_gap", 4);
    struct vg_mb_options o;
    assert_int_equal(vg_mb_options_parse(opt, &o, err, sizeof err), 0);
    assert_int_equal(o.unit, 7);
    assert_int_equal(o.little, 1);
    assert_int_equal(o.max_gap, 4);
    json_t *src = json_pack("{s:i,s:s}", "register", 3, "format", "u32");
    struct vg_mb_source s;
    assert_int_equal(vg_mb_source_parse(src, &o, &s, err, sizeof err), 0);
    assert_int_equal(s.unit, 7);
    assert_int_equal(s.little, 1);
    json_object_set_new(src, "unit_id", json_integer(3));
    json_object_set_new(src, "word_order", json_string("big"));
    assert_int_equal(vg_mb_source_parse(src, &o, &s, err, sizeof err), 0);
    assert_int_equal(s.unit, 3);
    assert_int_equal(s.little, 0);
    json_decref(opt);
    json_decref(src);
}

static void test_check_names_the_option_field(void **state)
{
    assert_int_equal(check("{\"unit_id\": 256}", NULL), -EINVAL);
    assert_err("options.unit_id: 256 is out of range 0..255");
    assert_int_equal(check("{\"community\": \"public\"}", NULL), -EINVAL);
    assert_err(
        "options.community: not used by the modbus driver (unit_id, word_order, max_gap)");
    assert_int_equal(check("{}", "{\"register\": 1, \"format\": \"f64\"}"), -EINVAL);
    assert_err("source.format: 'f64' is not one of u16, s16, u32, s32, f32, u64");
    assert_int_equal(check("{\"unit_id\": 0}", "{\"register\": 0}"), 0);
}

static double decode(const char *json, const uint16_t *words)
{
    struct vg_mb_source s;
    double raw = -1;
    assert_int_equal(parse(json, &s), 0);
    assert_int_equal(vg_mb_decode(&s, words, &raw, err, sizeof err), 0);
    return raw;
}

static void test_decode_u16_and_s16(void **state)
{
    const uint16_t w[] = {0xfff4};
    assert_true(decode("{\"register\": 0}", w) == 65524);
    assert_true(decode("{\"register\": 0, \"format\": \"s16\"}", w) == -12);
}

static void test_decode_32_bit_values_in_both_word_orders(void **state)
{
    const uint16_t big[] = {0xb2d0, 0x5e00}, little[] = {0x5e00, 0xb2d0};
    assert_true(decode("{\"register\": 0, \"format\": \"u32\"}", big) == 3000000000.0);
    assert_true(decode("{\"register\": 0, \"format\": \"u32\", \"word_order\": \"little\"}",
                       little) == 3000000000.0);
    const uint16_t neg_big[] = {0xfffe, 0xee90}, neg_little[] = {0xee90, 0xfffe};
    assert_true(decode("{\"register\": 0, \"format\": \"s32\"}", neg_big) == -70000);
    assert_true(decode("{\"register\": 0, \"format\": \"s32\", \"word_order\": \"little\"}",
                       neg_little) == -70000);
    const uint16_t f_big[] = {0x41ac, 0x0000}, f_little[] = {0x0000, 0x41ac};
    assert_true(decode("{\"register\": 0, \"format\": \"f32\"}", f_big) == 21.5);
    assert_true(decode("{\"register\": 0, \"format\": \"f32\", \"word_order\": \"little\"}",
                       f_little) == 21.5);
}

static void test_decode_u64_big_and_little(void **state)
{
    const uint16_t big[] = {0x0000, 0x0001, 0x2a05, 0xf200}; /* 5000000000 */
    const uint16_t little[] = {0xf200, 0x2a05, 0x0001, 0x0000};
    assert_true(decode("{\"register\": 0, \"format\": \"u64\"}", big) == 5000000000.0);
    assert_true(decode("{\"register\": 0, \"format\": \"u64\", \"word_order\": \"little\"}",
                       little) == 5000000000.0);
}

static void test_decode_bit_of_a_register_and_a_coil(void **state)
{
    const uint16_t w[] = {0x0005}, on[] = {1};
    assert_true(decode("{\"register\": 0, \"bit\": 2}", w) == 1);
    assert_true(decode("{\"register\": 0, \"bit\": 1}", w) == 0);
    assert_true(decode("{\"register\": 0, \"table\": \"coil\"}", on) == 1);
}

static void test_decode_refuses_nan_and_infinite_floats(void **state)
{
    struct vg_mb_source s;
    double raw = 7;
    const uint16_t nan_w[] = {0x7fc0, 0x0000}, inf_w[] = {0xff80, 0x0000};
    assert_int_equal(parse("{\"register\": 0, \"format\": \"f32\"}", &s), 0);
    assert_int_equal(vg_mb_decode(&s, nan_w, &raw, err, sizeof err), -EDOM);
    assert_err("f32 value is not a number (0x7fc00000)");
    assert_int_equal(vg_mb_decode(&s, inf_w, &raw, err, sizeof err), -EDOM);
    assert_err("f32 value is infinite (0xff800000)");
    assert_true(raw == 7);
}

/* Sources from (table, register, format) triples on unit 1. */
static void make(struct vg_mb_source *src, size_t n, const int (*spec)[3])
{
    for (size_t i = 0; i < n; i++)
        src[i] = (struct vg_mb_source){.table = (enum vg_mb_table)spec[i][0],
                                       .reg = (uint16_t)spec[i][1],
                                       .format = (enum vg_mb_format)spec[i][2],
                                       .unit = 1,
                                       .bit = -1};
}

static void test_plan_groups_adjacent_registers_of_one_table(void **state)
{
    static const int spec[][3] = {
        {VG_MB_HOLDING, 104, VG_MB_F32}, {VG_MB_HOLDING, 100, VG_MB_U16},
        {VG_MB_INPUT, 101, VG_MB_U16},   {VG_MB_HOLDING, 101, VG_MB_U32},
        {VG_MB_HOLDING, 103, VG_MB_U16}, {VG_MB_HOLDING, 107, VG_MB_U16},
    };
    struct vg_mb_source src[6];
    size_t order[6];
    struct vg_mb_span spans[6];
    make(src, 6, spec);
    size_t n = vg_mb_plan(src, 6, 0, order, spans);
    assert_int_equal(n, 3);
    /* holding 100..105 in one read; 107 after a gap of one; input alone */
    assert_int_equal(spans[0].table, VG_MB_HOLDING);
    assert_int_equal(spans[0].start, 100);
    assert_int_equal(spans[0].count, 6);
    assert_int_equal(spans[0].n_points, 4);
    assert_int_equal(order[spans[0].first], 1);
    assert_int_equal(spans[1].start, 107);
    assert_int_equal(spans[1].count, 1);
    assert_int_equal(spans[2].table, VG_MB_INPUT);
    assert_int_equal(order[spans[2].first], 2);
    /* with max_gap 1, 107 joins the first read */
    assert_int_equal(vg_mb_plan(src, 6, 1, order, spans), 2);
    assert_int_equal(spans[0].count, 8);
}

static void test_plan_keeps_units_apart(void **state)
{
    static const int spec[][3] = {{VG_MB_HOLDING, 1, VG_MB_U16}, {VG_MB_HOLDING, 2, VG_MB_U16}};
    struct vg_mb_source src[2];
    size_t order[2];
    struct vg_mb_span spans[2];
    make(src, 2, spec);
    src[1].unit = 2;
    assert_int_equal(vg_mb_plan(src, 2, 0, order, spans), 2);
    assert_int_equal(spans[1].unit, 2);
}

static void test_plan_never_asks_more_than_125_registers(void **state)
{
    struct vg_mb_source src[200];
    size_t order[200];
    struct vg_mb_span spans[200];
    for (size_t i = 0; i < 200; i++)
        src[i] = (struct vg_mb_source){.reg = (uint16_t)i, .unit = 1, .bit = -1};
    src[124].format = VG_MB_U32; /* 124..125: would make the first read 126 long */
    assert_int_equal(vg_mb_plan(src, 200, 0, order, spans), 2);
    assert_int_equal(spans[0].count, 124);
    assert_int_equal(spans[1].start, 124);
    assert_int_equal(spans[1].count, 76);
    for (size_t i = 0; i < 200; i++)
        src[i] = (struct vg_mb_source){
            .table = VG_MB_COIL, .reg = (uint16_t)(i * 15), .unit = 1, .bit = -1};
    /* coils: 2000 bits a read */
    size_t n = vg_mb_plan(src, 200, 20, order, spans);
    assert_int_equal(n, 2);
    assert_true(spans[0].count <= VG_MB_MAX_BITS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_defaults_to_holding_u16_big_on_the_devices_unit),
        cmocka_unit_test(test_source_register_is_required_and_in_range),
        cmocka_unit_test(test_format_f64_is_refused_listing_the_formats),
        cmocka_unit_test(test_table_and_word_order_must_be_known_words),
        cmocka_unit_test(test_unknown_source_key_is_refused),
        cmocka_unit_test(test_bit_must_fit_the_format_and_not_be_a_float_or_coil),
        cmocka_unit_test(test_coils_take_no_format),
        cmocka_unit_test(test_options_set_unit_and_word_order_sources_may_override),
        cmocka_unit_test(test_check_names_the_option_field),
        cmocka_unit_test(test_decode_u16_and_s16),
        cmocka_unit_test(test_decode_32_bit_values_in_both_word_orders),
        cmocka_unit_test(test_decode_u64_big_and_little),
        cmocka_unit_test(test_decode_bit_of_a_register_and_a_coil),
        cmocka_unit_test(test_decode_refuses_nan_and_infinite_floats),
        cmocka_unit_test(test_plan_groups_adjacent_registers_of_one_table),
        cmocka_unit_test(test_plan_keeps_units_apart),
        cmocka_unit_test(test_plan_never_asks_more_than_125_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

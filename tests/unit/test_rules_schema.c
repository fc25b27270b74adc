/*
 * test_rules_schema.c - what a Rule manifest must look like: one target
 * (sensor, match, or rules for a composite), one condition, clear levels
 * on the safe side of their raise levels; every refusal names the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schema/schema.h"

static int validate_spec(const char *spec, char *err, size_t errlen, char *field,
                         size_t fieldlen)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"kind\":\"Rule\",\"name\":\"r1\",\"spec\":%s}", spec);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    json_t *norm = NULL;
    err[0] = field[0] = '\0';
    int rc = vg_schema_validate(doc, NULL, NULL, &norm, err, errlen, field, fieldlen);
    json_decref(norm);
    json_decref(doc);
    return rc;
}

static void expect_reject(const char *spec, const char *field, const char *message)
{
    char err[512], got_field[128];
    int rc = validate_spec(spec, err, sizeof err, got_field, sizeof got_field);
    if (rc != -EINVAL)
        fail_msg("accepted %s", spec);
    if (strcmp(got_field, field) != 0)
        fail_msg("field is '%s', expected '%s' (err '%s')", got_field, field, err);
    if (!strstr(err, message))
        fail_msg("error '%s' does not contain '%s'", err, message);
}

static void expect_accept(const char *spec)
{
    char err[512], field[128];
    if (validate_spec(spec, err, sizeof err, field, sizeof field))
        fail_msg("rejected %s: %s", spec, err);
}

static void test_rule_manifest_rejects_clear_on_wrong_side(void **unused)
{
    expect_reject("{\"sensor\":\"t1\",\"above\":27,\"clear_below\":28}", "spec.clear_below",
                  "must clear below where it raises");
    expect_reject("{\"sensor\":\"t1\",\"below\":18,\"clear_above\":17}", "spec.clear_above",
                  "must clear above where it raises");
    expect_reject("{\"sensor\":\"t1\",\"below\":18,\"clear_below\":17}", "spec.clear_below",
                  "only with above");
    expect_accept("{\"sensor\":\"t1\",\"above\":27,\"clear_below\":26.5}");
    expect_accept("{\"sensor\":\"t1\",\"above\":27,\"clear_below\":27}");
}

static void test_rule_manifest_needs_one_condition(void **unused)
{
    expect_reject("{\"sensor\":\"t1\"}", "spec", "no condition");
    expect_reject("{\"sensor\":\"t1\",\"above\":1,\"equals\":1}", "spec.equals",
                  "a rule has one condition; above/below is already given");
    expect_reject("{\"sensor\":\"t1\",\"above\":1,\"predict\":{\"threshold\":32,"
                  "\"within_s\":1800}}",
                  "spec.predict", "one condition");
    expect_reject("{\"sensor\":\"t1\",\"window_s\":60,\"above\":3}", "spec.window_s",
                  "one condition");
}

static void test_rule_manifest_needs_one_target(void **unused)
{
    expect_reject("{\"above\":1}", "spec.sensor", "required (or match)");
    expect_reject("{\"sensor\":\"t1\",\"match\":{\"type\":\"temperature\"},\"above\":1}",
                  "spec.match", "not both");
    expect_reject("{\"sensor\":\"t1\",\"all\":[\"a\",\"b\"]}", "spec.sensor",
                  "watches no sensor");
    expect_reject("{\"match\":{},\"above\":1}", "spec.match", "at least one of");
    expect_reject("{\"match\":{\"type\":\"warmth\"},\"above\":1}", "spec.match.type",
                  "not a sensor type");
    expect_reject("{\"match\":{\"room\":\"x\"},\"above\":1}", "spec.match.room",
                  "unknown field (type, zone, site)");
    expect_accept("{\"match\":{\"type\":\"temperature\",\"site\":\"dc1\"},\"above\":35}");
}

static void test_rule_manifest_composites(void **unused)
{
    expect_reject("{\"all\":[\"a\"],\"any\":[\"b\"]}", "spec.any", "all or any, not both");
    expect_reject("{\"all\":[]}", "spec.all", "names no rule");
    expect_reject("{\"all\":[\"Bad Name\"]}", "spec.all[0]", "");
    expect_accept("{\"all\":[\"mains-lost\",\"generator-not-running\"],\"severity\":"
                  "\"critical\"}");
}

static void test_rule_manifest_levels_and_parts(void **unused)
{
    expect_reject("{\"sensor\":\"t1\",\"above\":27,\"critical_above\":25}",
                  "spec.critical_above", "greater than");
    expect_reject("{\"sensor\":\"t1\",\"critical_above\":25}", "spec.above",
                  "required (or below)");
    expect_reject("{\"sensor\":\"t1\",\"above\":20,\"below\":25}", "spec.below",
                  "band between below and above is empty");
    expect_reject("{\"sensor\":\"t1\",\"rate_per_min\":0}", "spec.rate_per_min",
                  "must not be 0");
    expect_reject("{\"sensor\":\"t1\",\"predict\":{\"threshold\":32}}", "spec.predict.within_s",
                  "required");
    expect_reject("{\"sensor\":\"t1\",\"predict\":{\"threshold\":32,\"within_s\":-5}}",
                  "spec.predict.within_s", "greater than 0");
    expect_reject("{\"sensor\":\"f\",\"fuel\":{\"burn_lph_full\":100,\"below_hours\":4,"
                  "\"critical_hours\":12}}",
                  "spec.fuel.critical_hours", "less than spec.fuel.below_hours");
    expect_reject("{\"sensor\":\"f\",\"fuel\":{\"burn_lph_full\":100,\"below_hours\":12,"
                  "\"idle_fraction\":2}}",
                  "spec.fuel.idle_fraction", "between 0 and 1");
    expect_reject("{\"sensor\":\"t1\",\"above\":1,\"message\":\"{sensor} is {temp}\"}",
                  "spec.message", "unknown placeholder '{temp}'");
    expect_reject("{\"sensor\":\"t1\",\"above\":1,\"severity\":\"page\"}", "spec.severity",
                  "not one of warning, critical, info");
    expect_accept("{\"sensor\":\"f\",\"fuel\":{\"burn_lph_full\":100,\"tank_litres\":2000,"
                  "\"load_sensor\":\"gen-load\",\"below_hours\":12,\"critical_hours\":4},"
                  "\"message\":\"fuel for {predicted} at {device}\"}");
    expect_accept("{\"sensor\":\"t1\",\"predict\":{\"threshold\":32,\"within_s\":1800,"
                  "\"window_s\":600},\"severity\":\"critical\",\"depends_on\":[\"mains-lost\"]}");
    expect_accept("{\"sensor\":\"t1\",\"below\":18,\"above\":27,\"critical_below\":15,"
                  "\"critical_above\":32,\"hold_s\":30}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_manifest_rejects_clear_on_wrong_side),
        cmocka_unit_test(test_rule_manifest_needs_one_condition),
        cmocka_unit_test(test_rule_manifest_needs_one_target),
        cmocka_unit_test(test_rule_manifest_composites),
        cmocka_unit_test(test_rule_manifest_levels_and_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

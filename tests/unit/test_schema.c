/*
 * test_schema.c - what a manifest must look like before it may become a
 * record: every rejection names the field at fault (dotted path) and says
 * what is wrong, and what is accepted comes out normalized.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schema/schema.h"

struct outcome {
    int rc;
    char err[512];
    char field[128];
    json_t *normalized;
};

/* Scalars and \u0000 are allowed here so that tests can hand the
 * validator what other callers (YAML, json_stringn) might produce. */
static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc =
        json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

static void validate_doc(const json_t *doc, const char *path_kind, const char *path_name,
                         struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->rc = vg_schema_validate(doc, path_kind, path_name, &o->normalized, o->err, sizeof o->err,
                               o->field, sizeof o->field);
}

/* Validates JSON text; the caller decrefs o->normalized. */
static void validate(const char *text, const char *path_kind, const char *path_name,
                     struct outcome *o)
{
    json_t *doc = parse(text);
    validate_doc(doc, path_kind, path_name, o);
    json_decref(doc);
}

static void assert_rejected(const struct outcome *o, const char *field, const char *message)
{
    if (o->rc != -EINVAL)
        fail_msg("expected -EINVAL, got %d (err '%s')", o->rc, o->err);
    assert_null(o->normalized);
    if (strcmp(o->field, field) != 0)
        fail_msg("field is '%s', expected '%s' (err '%s')", o->field, field, o->err);
    if (!strstr(o->err, message))
        fail_msg("error '%s' does not contain '%s'", o->err, message);
}

static void expect_reject(const char *text, const char *field, const char *message)
{
    struct outcome o;
    validate(text, NULL, NULL, &o);
    assert_rejected(&o, field, message);
}

static json_t *expect_accept(const char *text, const char *path_kind, const char *path_name)
{
    struct outcome o;
    validate(text, path_kind, path_name, &o);
    if (o.rc != 0)
        fail_msg("rejected: %s (field '%s')", o.err, o.field);
    assert_non_null(o.normalized);
    return o.normalized;
}

/* A Site manifest with the given spec (JSON object text). */
static void site_with_spec(char *out, size_t outlen, const char *spec)
{
    snprintf(out, outlen, "{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":%s}", spec);
}

static void expect_site_spec_reject(const char *spec, const char *field, const char *message)
{
    char text[8192];
    site_with_spec(text, sizeof text, spec);
    expect_reject(text, field, message);
}

static void expect_zone_spec_reject(const char *spec, const char *field, const char *message)
{
    char text[8192];
    snprintf(text, sizeof text, "{\"kind\":\"Zone\",\"name\":\"hall-a\",\"spec\":%s}", spec);
    expect_reject(text, field, message);
}

static char *repeat(const char *unit, size_t n)
{
    size_t len = strlen(unit);
    char *s = malloc(len * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, unit, len);
    s[len * n] = '\0';
    return s;
}

/* ---- accepted manifests ---- */

static void test_schema_accepts_full_site_and_normalizes_it(void **state)
{
    json_t *out = expect_accept(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"region\":\"be\"},"
        "\"description\":\"main site\",\"spec\":{\"location\":\"Brussels, BE\","
        "\"address\":\"Rue 1\",\"timezone\":\"Europe/Brussels\",\"role\":\"primary\","
        "\"tier\":3,\"contacts\":[\"facility desk\",\"+32 2 000 00 00\"]}}",
        NULL, NULL);
    json_t *want =
        parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"region\":\"be\"},"
              "\"description\":\"main site\",\"spec\":{\"location\":\"Brussels, BE\","
              "\"address\":\"Rue 1\",\"timezone\":\"Europe/Brussels\","
              "\"role\":\"primary\",\"tier\":3,"
              "\"contacts\":[\"facility desk\",\"+32 2 000 00 00\"]}}");
    assert_true(json_equal(out, want));
    json_decref(want);
    json_decref(out);
}

static void test_schema_accepts_full_zone(void **state)
{
    json_t *out = expect_accept(
        "{\"kind\":\"Zone\",\"name\":\"hall-a\",\"spec\":{\"site\":\"dc1\","
        "\"type\":\"server-room\",\"floor\":-1,\"area_m2\":412.5,\"two_person_rule\":true,"
        "\"ashrae_class\":\"A2\"}}",
        NULL, NULL);
    json_t *spec = json_object_get(out, "spec");
    assert_string_equal(json_string_value(json_object_get(spec, "site")), "dc1");
    assert_int_equal(json_integer_value(json_object_get(spec, "floor")), -1);
    assert_true(json_is_true(json_object_get(spec, "two_person_rule")));
    assert_true(json_number_value(json_object_get(spec, "area_m2")) == 412.5);
    json_decref(out);
}

static void test_schema_defaults_labels_and_description(void **state)
{
    json_t *out = expect_accept(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"Ghent\"}}", NULL, NULL);
    assert_true(json_is_object(json_object_get(out, "labels")));
    assert_int_equal(json_object_size(json_object_get(out, "labels")), 0);
    assert_string_equal(json_string_value(json_object_get(out, "description")), "");
    assert_int_equal(json_object_size(out), 5);
    json_decref(out);
}

static void test_schema_ignores_server_owned_status_and_revision(void **state)
{
    json_t *out = expect_accept("{\"kind\":\"Site\",\"name\":\"dc1\",\"status\":{\"up\":true},"
                                "\"revision\":17,\"spec\":{\"location\":\"Ghent\"}}",
                                NULL, NULL);
    assert_null(json_object_get(out, "status"));
    assert_null(json_object_get(out, "revision"));
    json_decref(out);
}

static void test_schema_takes_kind_and_name_from_path(void **state)
{
    json_t *out = expect_accept("{\"spec\":{\"location\":\"Ghent\"}}", "Site", "dc2");
    assert_string_equal(json_string_value(json_object_get(out, "kind")), "Site");
    assert_string_equal(json_string_value(json_object_get(out, "name")), "dc2");
    json_decref(out);
}

static void test_schema_accepts_body_matching_path(void **state)
{
    json_t *out =
        expect_accept("{\"kind\":\"Site\",\"name\":\"dc2\",\"spec\":{\"location\":\"Ghent\"}}",
                      "Site", "dc2");
    json_decref(out);
}

static void test_schema_treats_null_as_absent(void **state)
{
    json_t *out = expect_accept("{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":null,"
                                "\"description\":null,\"spec\":{\"location\":\"Ghent\","
                                "\"tier\":null}}",
                                NULL, NULL);
    assert_int_equal(json_object_size(json_object_get(out, "labels")), 0);
    assert_null(json_object_get(json_object_get(out, "spec"), "tier"));
    json_decref(out);
    expect_site_spec_reject("{\"location\":null}", "spec.location",
                            "required field is missing");
}

static void test_schema_accepts_integer_for_number_field(void **state)
{
    json_t *out = expect_accept("{\"kind\":\"Zone\",\"name\":\"z\",\"spec\":{\"site\":\"dc1\","
                                "\"area_m2\":12}}",
                                NULL, NULL);
    json_decref(out);
}

static void test_schema_accepts_range_bounds_inclusive(void **state)
{
    json_t *out = expect_accept(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\",\"tier\":1}}", NULL,
        NULL);
    json_decref(out);
    out = expect_accept(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\",\"tier\":4}}", NULL,
        NULL);
    json_decref(out);
}

static void test_schema_accepts_iana_shaped_timezones(void **state)
{
    const char *good[] = {
        "UTC",       "Europe/Brussels",        "America/Argentina/Buenos_Aires",
        "Etc/GMT+1", "America/Port-au-Prince", "EST5EDT"};
    for (size_t i = 0; i < VG_ARRAY_LEN(good); i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\","
                 "\"timezone\":\"%s\"}}",
                 good[i]);
        json_decref(expect_accept(text, NULL, NULL));
    }
}

static void test_schema_description_allows_newlines_and_tabs(void **state)
{
    json_t *out =
        expect_accept("{\"kind\":\"Site\",\"name\":\"dc1\",\"description\":\"line 1\\n"
                      "\\tline 2\\n\",\"spec\":{\"location\":\"x\"}}",
                      NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(out, "description")),
                        "line 1\n\tline 2\n");
    json_decref(out);
}

static void test_schema_description_counts_characters_not_bytes(void **state)
{
    char *desc = repeat("\xc3\xa9", 1024); /* 1024 x e-acute, 2048 bytes */
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_object_set_new(doc, "description", json_string(desc));
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_int_equal(o.rc, 0);
    json_decref(o.normalized);
    json_decref(doc);
    free(desc);
}

/* ---- the body as a whole ---- */

static void test_schema_rejects_non_object_body(void **state)
{
    expect_reject("[1,2]", "", "manifest must be a JSON object, got array");
    expect_reject("\"Site\"", "", "manifest must be a JSON object, got string");
    expect_reject("null", "", "manifest must be a JSON object, got null");
    struct outcome o;
    validate_doc(NULL, "Site", "dc1", &o);
    assert_rejected(&o, "", "manifest must be a JSON object");
}

static void test_schema_rejects_unknown_top_level_field_naming_it(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\",\"metadata\":{},\"spec\":{}}",
                  "metadata",
                  "metadata: unknown field (allowed: kind, name, labels, description, spec)");
}

static void test_schema_escapes_unprintable_bytes_in_field_and_message(void **state)
{
    struct outcome o;
    validate("{\"kind\":\"Site\",\"name\":\"dc1\",\"a\\nb\\u00e9\":1,\"spec\":{}}", NULL, NULL,
             &o);
    assert_rejected(&o, "a\\x0ab\\xc3\\xa9", "a\\x0ab\\xc3\\xa9: unknown field");
    assert_null(strchr(o.err, '\n'));
}

static void test_schema_shortens_huge_unknown_field_names(void **state)
{
    char *key = repeat("k", 100000);
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_object_set_new(json_object_get(doc, "spec"), key, json_true());
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_int_equal(o.rc, -EINVAL);
    assert_memory_equal(o.field, "spec.kkkk", 9);
    assert_non_null(strstr(o.err, "...: unknown field"));
    json_decref(doc);
    free(key);
}

/* ---- kind ---- */

static void test_schema_rejects_unknown_kind_listing_known_kinds(void **state)
{
    expect_reject("{\"kind\":\"Rack\",\"name\":\"r1\",\"spec\":{}}", "kind",
                  "kind: unknown kind 'Rack' (known kinds: Site, Zone, Device, Sensor, Rule, Person, Team, Schedule, EscalationPolicy, Contact, Silence, MaintenanceWindow, Course, Completion, FailoverPolicy, Service)");
}

static void test_schema_rejects_unknown_kind_from_path(void **state)
{
    struct outcome o;
    validate("{\"name\":\"r1\",\"spec\":{}}", "Rack", NULL, &o);
    assert_rejected(&o, "kind", "unknown kind 'Rack' (known kinds: Site, Zone, Device, Sensor, Rule, Person, Team, Schedule, EscalationPolicy, Contact, Silence, MaintenanceWindow, Course, Completion, FailoverPolicy, Service)");
}

static void test_schema_kind_lookup_is_case_sensitive(void **state)
{
    expect_reject("{\"kind\":\"site\",\"name\":\"dc1\",\"spec\":{}}", "kind",
                  "unknown kind 'site'");
    assert_null(vg_schema_kind("SITE"));
    assert_non_null(vg_schema_kind("Site"));
}

static void test_schema_rejects_missing_kind(void **state)
{
    expect_reject("{\"name\":\"dc1\",\"spec\":{}}", "kind", "kind: required field is missing");
}

static void test_schema_rejects_non_string_kind(void **state)
{
    expect_reject("{\"kind\":7,\"name\":\"dc1\",\"spec\":{}}", "kind",
                  "kind: expected string, got integer");
}

static void test_schema_rejects_body_kind_not_matching_path(void **state)
{
    struct outcome o;
    validate("{\"kind\":\"Zone\",\"name\":\"dc1\",\"spec\":{\"site\":\"x\"}}", "Site", "dc1",
             &o);
    assert_rejected(&o, "kind", "kind: 'Zone' does not match 'Site' in the path");
}

static void test_schema_rejects_kind_with_embedded_nul(void **state)
{
    json_t *doc = parse("{\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_object_set_new(doc, "kind", json_stringn("Site\0Zone", 9));
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_rejected(&o, "kind", "kind: control character at position 5 is not allowed");
    json_decref(doc);
}

/* ---- name ---- */

static void test_schema_rejects_missing_name(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"spec\":{\"location\":\"x\"}}", "name",
                  "name: required field is missing");
}

static void test_schema_rejects_invalid_name(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"DC1\",\"spec\":{}}", "name",
                  "name: invalid name: character 'D' at position 1 is not allowed");
    expect_reject("{\"kind\":\"Site\",\"name\":\"a..b\",\"spec\":{}}", "name",
                  "name: invalid name 'a..b': must not contain '..'");
    expect_reject("{\"kind\":\"Site\",\"name\":\"\",\"spec\":{}}", "name",
                  "name: invalid name: must not be empty");
    expect_reject("{\"kind\":\"Site\",\"name\":[\"dc1\"],\"spec\":{}}", "name",
                  "name: expected string, got array");
}

static void test_schema_rejects_invalid_name_from_path(void **state)
{
    struct outcome o;
    validate("{\"spec\":{\"location\":\"x\"}}", "Site", "../etc", &o);
    assert_rejected(&o, "name", "(from the path)");
}

static void test_schema_rejects_body_name_not_matching_path(void **state)
{
    struct outcome o;
    validate("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}", "Site",
             "dc2", &o);
    assert_rejected(&o, "name", "name: 'dc1' does not match 'dc2' in the path");
}

/* ---- labels ---- */

static void test_schema_rejects_invalid_label_key(void **state)
{
    expect_reject(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"bad key\":\"v\"},\"spec\":{}}",
        "labels.bad key", "labels.bad key: invalid label key: character ' '");
    expect_reject(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"-env\":\"v\"},\"spec\":{}}",
        "labels.-env", "must start and end with a letter or digit");
}

static void test_schema_rejects_invalid_label_value(void **state)
{
    expect_reject(
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"env\":\"a b\"},\"spec\":{}}",
        "labels.env", "labels.env: invalid label value: character ' ' at position 2");
}

static void test_schema_rejects_non_string_label_value(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"tier\":3},\"spec\":{}}",
                  "labels.tier", "labels.tier: expected string, got integer");
}

static void test_schema_rejects_labels_that_are_not_an_object(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":[\"a\"],\"spec\":{}}",
                  "labels", "labels: expected object, got array");
}

static void test_schema_rejects_more_than_64_labels(void **state)
{
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_t *labels = json_object();
    for (int i = 0; i < 65; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(labels, key, json_string("v"));
    }
    json_object_set_new(doc, "labels", labels);
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_rejected(&o, "labels", "labels: 65 labels, at most 64 allowed");
    json_decref(doc);
}

/* ---- description ---- */

static void test_schema_rejects_description_over_1024_characters(void **state)
{
    char *desc = repeat("d", 1025);
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_object_set_new(doc, "description", json_string(desc));
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_rejected(&o, "description",
                    "description: 1025 characters long, at most 1024 allowed");
    desc[1024] = '\0';
    json_object_set_new(doc, "description", json_string(desc));
    validate_doc(doc, NULL, NULL, &o);
    assert_int_equal(o.rc, 0);
    json_decref(o.normalized);
    json_decref(doc);
    free(desc);
}

static void test_schema_rejects_non_string_description(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\",\"description\":true,\"spec\":{}}",
                  "description", "description: expected string, got boolean");
}

static void test_schema_rejects_control_character_in_description(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\",\"description\":\"bell\\u0007\","
                  "\"spec\":{}}",
                  "description", "description: control character at position 5 is not allowed");
}

/* ---- spec ---- */

static void test_schema_rejects_missing_spec(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\"}", "spec",
                  "spec: required field is missing");
}

static void test_schema_rejects_spec_that_is_not_an_object(void **state)
{
    expect_reject("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":\"x\"}", "spec",
                  "spec: expected object, got string");
}

static void test_schema_rejects_unknown_spec_field_naming_it(void **state)
{
    expect_site_spec_reject(
        "{\"location\":\"x\",\"power_kw\":800}", "spec.power_kw",
        "spec.power_kw: unknown field for kind Site (known fields: location, "
        "address, timezone, role, tier, contacts)");
}

static void test_schema_rejects_missing_required_spec_field(void **state)
{
    expect_site_spec_reject("{\"tier\":3}", "spec.location",
                            "spec.location: required field is missing");
    expect_zone_spec_reject("{\"type\":\"office\"}", "spec.site",
                            "spec.site: required field is missing");
}

static void test_schema_rejects_empty_required_string(void **state)
{
    expect_site_spec_reject("{\"location\":\"\"}", "spec.location",
                            "spec.location: must not be empty");
}

static void test_schema_rejects_wrong_type_naming_expected_and_actual(void **state)
{
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":\"3\"}", "spec.tier",
                            "spec.tier: expected integer, got string");
    expect_site_spec_reject("{\"location\":42}", "spec.location",
                            "spec.location: expected string, got integer");
    expect_site_spec_reject("{\"location\":\"x\",\"role\":1}", "spec.role",
                            "spec.role: expected string, got integer");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"area_m2\":\"12\"}", "spec.area_m2",
                            "spec.area_m2: expected number, got string");
    expect_zone_spec_reject("{\"site\":{}}", "spec.site",
                            "spec.site: expected string, got object");
}

static void test_schema_rejects_fractional_number_for_integer(void **state)
{
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":1.5}", "spec.tier",
                            "spec.tier: expected integer, got number");
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":2.0}", "spec.tier",
                            "spec.tier: expected integer, got number");
}

static void test_schema_rejects_boolean_for_integer_and_number(void **state)
{
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":true}", "spec.tier",
                            "spec.tier: expected integer, got boolean");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"area_m2\":false}", "spec.area_m2",
                            "spec.area_m2: expected number, got boolean");
}

static void test_schema_rejects_integer_out_of_range(void **state)
{
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":5}", "spec.tier",
                            "spec.tier: 5 is out of range 1..4");
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":0}", "spec.tier",
                            "spec.tier: 0 is out of range 1..4");
    expect_site_spec_reject("{\"location\":\"x\",\"tier\":-9223372036854775808}", "spec.tier",
                            "out of range 1..4");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"floor\":201}", "spec.floor",
                            "spec.floor: 201 is out of range -10..200");
}

static void test_schema_rejects_non_boolean_for_boolean(void **state)
{
    expect_zone_spec_reject("{\"site\":\"dc1\",\"two_person_rule\":\"true\"}",
                            "spec.two_person_rule",
                            "spec.two_person_rule: expected boolean, got string");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"two_person_rule\":1}", "spec.two_person_rule",
                            "spec.two_person_rule: expected boolean, got integer");
}

static void test_schema_rejects_enum_value_listing_allowed_ones(void **state)
{
    expect_site_spec_reject("{\"location\":\"x\",\"role\":\"backup\"}", "spec.role",
                            "spec.role: 'backup' is not one of primary, dr, witness");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"ashrae_class\":\"a1\"}", "spec.ashrae_class",
                            "spec.ashrae_class: 'a1' is not one of A1, A2, A3, A4");
}

static void test_schema_accepts_floor_plan_geometry(void **state)
{
    json_t *out =
        expect_accept("{\"kind\":\"Zone\",\"name\":\"hall-a\",\"spec\":{\"site\":\"dc1\","
                      "\"plan\":{\"x\":0,\"y\":2.5,\"w\":24,\"h\":12.5}}}",
                      NULL, NULL);
    json_t *plan = json_object_get(json_object_get(out, "spec"), "plan");
    assert_true(json_number_value(json_object_get(plan, "h")) == 12.5);
    json_decref(out);
    out = expect_accept("{\"kind\":\"Sensor\",\"name\":\"t1\",\"spec\":{\"zone\":\"hall-a\","
                        "\"device\":\"d\",\"type\":\"temperature\","
                        "\"position\":{\"x\":3,\"y\":0.5}}}",
                        NULL, NULL);
    json_t *pos = json_object_get(json_object_get(out, "spec"), "position");
    assert_true(json_number_value(json_object_get(pos, "y")) == 0.5);
    json_decref(out);
}

static void expect_sensor_spec_reject(const char *extra, const char *field, const char *message)
{
    char text[8192];
    snprintf(text, sizeof text,
             "{\"kind\":\"Sensor\",\"name\":\"t1\",\"spec\":{\"zone\":\"hall-a\","
             "\"device\":\"d\",\"type\":\"temperature\",%s}}",
             extra);
    expect_reject(text, field, message);
}

static void test_schema_rejects_bad_floor_plan_naming_the_field(void **state)
{
    expect_zone_spec_reject("{\"site\":\"dc1\",\"plan\":[1,2,3,4]}", "spec.plan",
                            "spec.plan: expected object, got array");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"plan\":{\"x\":0,\"y\":0,\"w\":5}}",
                            "spec.plan.h", "spec.plan.h: required field is missing");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"plan\":{\"x\":0,\"y\":0,\"w\":0,\"h\":3}}",
                            "spec.plan.w", "spec.plan.w: must be greater than 0");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"plan\":{\"x\":-1,\"y\":0,\"w\":2,\"h\":3}}",
                            "spec.plan.x", "spec.plan.x: -1 is out of range 0..10000");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"plan\":{\"x\":\"0\",\"y\":0,\"w\":2,\"h\":3}}",
                            "spec.plan.x", "spec.plan.x: expected number, got string");
    expect_zone_spec_reject(
        "{\"site\":\"dc1\",\"plan\":{\"x\":0,\"y\":0,\"w\":2,\"h\":3,\"r\":1}}", "spec.plan.r",
        "spec.plan.r: unknown field (known fields: x, y, w, h)");
    expect_sensor_spec_reject("\"position\":{\"x\":1}", "spec.position.y",
                              "spec.position.y: required field is missing");
    expect_sensor_spec_reject("\"position\":{\"x\":1,\"y\":10001}", "spec.position.y",
                              "spec.position.y: 10001 is out of range 0..10000");
    expect_sensor_spec_reject("\"position\":\"rack A3\"", "spec.position",
                              "spec.position: expected object, got string");
}

static void test_schema_rejects_invalid_name_reference(void **state)
{
    expect_zone_spec_reject("{\"site\":\"DC 1\"}", "spec.site",
                            "spec.site: invalid name: character 'D' at position 1");
}

static void test_schema_rejects_zone_area_not_above_zero(void **state)
{
    expect_zone_spec_reject("{\"site\":\"dc1\",\"area_m2\":0}", "spec.area_m2",
                            "spec.area_m2: must be greater than 0");
    expect_zone_spec_reject("{\"site\":\"dc1\",\"area_m2\":-3.5}", "spec.area_m2",
                            "spec.area_m2: -3.5 is out of range 0..1000000");
}

static void test_schema_rejects_malformed_timezone(void **state)
{
    const char *bad[] = {"europe/brussels",  "Europe/",          "/UTC",
                         "Europe//Brussels", "Europe/Brussels ", "A/B/C/D",
                         "../../etc/passwd", "GMT+1:00"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        char spec[256];
        snprintf(spec, sizeof spec, "{\"location\":\"x\",\"timezone\":\"%s\"}", bad[i]);
        expect_site_spec_reject(spec, "spec.timezone",
                                "spec.timezone: not an IANA time zone name");
    }
}

static void test_schema_rejects_control_characters_in_spec_strings(void **state)
{
    expect_site_spec_reject("{\"location\":\"a\\u0001b\"}", "spec.location",
                            "spec.location: control character at position 2 is not allowed");
    expect_site_spec_reject("{\"location\":\"a\\nb\"}", "spec.location",
                            "control character at position 2");
    expect_site_spec_reject("{\"location\":\"ab\\u007f\"}", "spec.location",
                            "control character at position 3");
    expect_site_spec_reject("{\"location\":\"\\u00e9\\u0085\"}", "spec.location",
                            "control character at position 2");
}

static void test_schema_rejects_embedded_nul_in_spec_string(void **state)
{
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{}}");
    json_object_set_new(json_object_get(doc, "spec"), "location", json_stringn("ab\0c", 4));
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_rejected(&o, "spec.location", "spec.location: control character at position 3");
    json_decref(doc);
}

static void test_schema_rejects_key_with_embedded_nul(void **state)
{
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{}}");
    json_object_setn_new(json_object_get(doc, "spec"), "location\0x", 10, json_string("x"));
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_rejected(&o, "spec.location", "spec.location: unknown field");
    json_decref(doc);
}

static void test_schema_rejects_string_longer_than_field_max(void **state)
{
    char *location = repeat("x", 129);
    char spec[512];
    snprintf(spec, sizeof spec, "{\"location\":\"%s\"}", location);
    expect_site_spec_reject(spec, "spec.location",
                            "spec.location: 129 characters long, at most 128 allowed");
    free(location);
}

static void test_schema_rejects_bad_string_list_items_by_index(void **state)
{
    expect_site_spec_reject("{\"location\":\"x\",\"contacts\":[\"noc\",7]}", "spec.contacts[1]",
                            "spec.contacts[1]: expected string, got integer");
    expect_site_spec_reject("{\"location\":\"x\",\"contacts\":[\"a\\u0000b\"]}",
                            "spec.contacts[0]", "spec.contacts[0]: control character");
    expect_site_spec_reject("{\"location\":\"x\",\"contacts\":\"noc\"}", "spec.contacts",
                            "spec.contacts: expected array of strings, got string");
}

static void test_schema_rejects_string_list_over_max_items(void **state)
{
    char spec[1024];
    size_t used = (size_t)snprintf(spec, sizeof spec, "{\"location\":\"x\",\"contacts\":[");
    for (int i = 0; i < 33; i++)
        used += (size_t)snprintf(spec + used, sizeof spec - used, "%s\"c%d\"", i ? "," : "", i);
    snprintf(spec + used, sizeof spec - used, "]}");
    expect_site_spec_reject(spec, "spec.contacts",
                            "spec.contacts: 33 items, at most 32 allowed");
}

/* ---- contract of the call ---- */

static void test_schema_never_modifies_manifest(void **state)
{
    const char *texts[] = {
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"status\":{},\"spec\":{\"location\":\"x\","
        "\"tier\":null}}",
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\",\"tier\":9}}",
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(texts); i++) {
        json_t *doc = parse(texts[i]);
        char *before = json_dumps(doc, JSON_SORT_KEYS);
        struct outcome o;
        validate_doc(doc, NULL, NULL, &o);
        char *after = json_dumps(doc, JSON_SORT_KEYS);
        assert_string_equal(before, after);
        assert_int_equal(doc->refcount, 1);
        json_decref(o.normalized);
        free(before);
        free(after);
        json_decref(doc);
    }
}

static void test_schema_normalized_shares_nothing_with_manifest(void **state)
{
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"a\":\"b\"},"
                        "\"spec\":{\"location\":\"x\",\"contacts\":[\"noc\"]}}");
    struct outcome o;
    validate_doc(doc, NULL, NULL, &o);
    assert_int_equal(o.rc, 0);
    json_array_append_new(json_object_get(json_object_get(o.normalized, "spec"), "contacts"),
                          json_string("later"));
    json_object_set_new(json_object_get(o.normalized, "labels"), "c", json_string("d"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "spec"), "contacts")),
                     1);
    assert_int_equal(json_object_size(json_object_get(doc, "labels")), 1);
    json_decref(o.normalized);
    json_decref(doc);
}

static void test_schema_validate_works_without_output_buffers(void **state)
{
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"tier\":9}}");
    assert_int_equal(vg_schema_validate(doc, NULL, NULL, NULL, NULL, 0, NULL, 0), -EINVAL);
    json_decref(doc);
    doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    assert_int_equal(vg_schema_validate(doc, NULL, NULL, NULL, NULL, 0, NULL, 0), 0);
    json_decref(doc);
}

static void test_schema_truncates_messages_to_small_buffers(void **state)
{
    char err[12], field[6];
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\","
                        "\"contacts\":[1]}}");
    assert_int_equal(
        vg_schema_validate(doc, NULL, NULL, NULL, err, sizeof err, field, sizeof field),
        -EINVAL);
    /* cut on a character boundary, the cut marked with "..." */
    assert_string_equal(err, "spec.con...");
    assert_string_equal(field, "sp...");
    json_decref(doc);
}

/* ---- registry and describe ---- */

static void test_schema_registry_lists_site_and_zone(void **state)
{
    const struct vg_kind *const *kinds = vg_schema_kinds();
    size_t n = 0;
    while (kinds[n])
        n++;
    assert_true(n >= 2);
    assert_ptr_equal(vg_schema_kind("Site"), kinds[0]);
    assert_ptr_equal(vg_schema_kind("Zone"), kinds[1]);
    assert_null(vg_schema_kind(NULL));
    assert_null(vg_schema_kind(""));
}

static void test_schema_kind_tables_are_well_formed(void **state)
{
    for (const struct vg_kind *const *k = vg_schema_kinds(); *k; k++) {
        assert_true((*k)->help && *(*k)->help);
        for (const struct vg_field *f = (*k)->fields; f->name; f++) {
            assert_true(f->help && *f->help);
            assert_true(f->min <= f->max);
            if (f->type == VG_F_ENUM)
                assert_true(f->enum_values && f->enum_values[0]);
            for (const struct vg_field *g = f + 1; g->name; g++)
                assert_string_not_equal(f->name, g->name);
        }
    }
}

static const json_t *described_field(const json_t *desc, const char *name)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(desc, "fields"), i,
                       f) if (strcmp(json_string_value(json_object_get(f, "name")), name) ==
                              0) return f;
    fail_msg("field '%s' not described", name);
    return NULL;
}

static void test_schema_describe_lists_fields_with_types_and_bounds(void **state)
{
    json_t *desc = vg_schema_describe(vg_schema_kind("Site"));
    assert_string_equal(json_string_value(json_object_get(desc, "kind")), "Site");
    assert_non_null(json_string_value(json_object_get(desc, "help")));
    assert_int_equal(json_array_size(json_object_get(desc, "fields")), 6);

    const json_t *location = described_field(desc, "location");
    assert_string_equal(json_string_value(json_object_get(location, "type")), "string");
    assert_true(json_is_true(json_object_get(location, "required")));
    assert_non_null(json_string_value(json_object_get(location, "help")));

    const json_t *tier = described_field(desc, "tier");
    assert_string_equal(json_string_value(json_object_get(tier, "type")), "integer");
    assert_true(json_is_false(json_object_get(tier, "required")));
    assert_int_equal(json_integer_value(json_object_get(tier, "min")), 1);
    assert_int_equal(json_integer_value(json_object_get(tier, "max")), 4);

    const json_t *role = described_field(desc, "role");
    assert_string_equal(json_string_value(json_object_get(role, "type")), "enum");
    json_t *want = parse("[\"primary\",\"dr\",\"witness\"]");
    assert_true(json_equal(json_object_get(role, "enum"), want));
    assert_null(json_object_get(role, "min"));
    json_decref(want);

    const json_t *contacts = described_field(desc, "contacts");
    assert_string_equal(json_string_value(json_object_get(contacts, "type")), "string-list");
    json_decref(desc);
}

static void test_schema_describe_zone_shows_number_and_name_types(void **state)
{
    json_t *desc = vg_schema_describe(vg_schema_kind("Zone"));
    const json_t *area = described_field(desc, "area_m2");
    assert_string_equal(json_string_value(json_object_get(area, "type")), "number");
    assert_true(json_is_real(json_object_get(area, "min")));
    const json_t *site = described_field(desc, "site");
    assert_string_equal(json_string_value(json_object_get(site, "type")), "name");
    assert_true(json_is_true(json_object_get(site, "required")));
    const json_t *type = described_field(desc, "type");
    assert_int_equal(json_array_size(json_object_get(type, "enum")), 10);
    json_decref(desc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_accepts_full_site_and_normalizes_it),
        cmocka_unit_test(test_schema_accepts_full_zone),
        cmocka_unit_test(test_schema_defaults_labels_and_description),
        cmocka_unit_test(test_schema_ignores_server_owned_status_and_revision),
        cmocka_unit_test(test_schema_takes_kind_and_name_from_path),
        cmocka_unit_test(test_schema_accepts_body_matching_path),
        cmocka_unit_test(test_schema_treats_null_as_absent),
        cmocka_unit_test(test_schema_accepts_integer_for_number_field),
        cmocka_unit_test(test_schema_accepts_range_bounds_inclusive),
        cmocka_unit_test(test_schema_accepts_iana_shaped_timezones),
        cmocka_unit_test(test_schema_description_allows_newlines_and_tabs),
        cmocka_unit_test(test_schema_description_counts_characters_not_bytes),
        cmocka_unit_test(test_schema_rejects_non_object_body),
        cmocka_unit_test(test_schema_rejects_unknown_top_level_field_naming_it),
        cmocka_unit_test(test_schema_escapes_unprintable_bytes_in_field_and_message),
        cmocka_unit_test(test_schema_shortens_huge_unknown_field_names),
        cmocka_unit_test(test_schema_rejects_unknown_kind_listing_known_kinds),
        cmocka_unit_test(test_schema_rejects_unknown_kind_from_path),
        cmocka_unit_test(test_schema_kind_lookup_is_case_sensitive),
        cmocka_unit_test(test_schema_rejects_missing_kind),
        cmocka_unit_test(test_schema_rejects_non_string_kind),
        cmocka_unit_test(test_schema_rejects_body_kind_not_matching_path),
        cmocka_unit_test(test_schema_rejects_kind_with_embedded_nul),
        cmocka_unit_test(test_schema_rejects_missing_name),
        cmocka_unit_test(test_schema_rejects_invalid_name),
        cmocka_unit_test(test_schema_rejects_invalid_name_from_path),
        cmocka_unit_test(test_schema_rejects_body_name_not_matching_path),
        cmocka_unit_test(test_schema_rejects_invalid_label_key),
        cmocka_unit_test(test_schema_rejects_invalid_label_value),
        cmocka_unit_test(test_schema_rejects_non_string_label_value),
        cmocka_unit_test(test_schema_rejects_labels_that_are_not_an_object),
        cmocka_unit_test(test_schema_rejects_more_than_64_labels),
        cmocka_unit_test(test_schema_rejects_description_over_1024_characters),
        cmocka_unit_test(test_schema_rejects_non_string_description),
        cmocka_unit_test(test_schema_rejects_control_character_in_description),
        cmocka_unit_test(test_schema_rejects_missing_spec),
        cmocka_unit_test(test_schema_rejects_spec_that_is_not_an_object),
        cmocka_unit_test(test_schema_rejects_unknown_spec_field_naming_it),
        cmocka_unit_test(test_schema_rejects_missing_required_spec_field),
        cmocka_unit_test(test_schema_rejects_empty_required_string),
        cmocka_unit_test(test_schema_rejects_wrong_type_naming_expected_and_actual),
        cmocka_unit_test(test_schema_rejects_fractional_number_for_integer),
        cmocka_unit_test(test_schema_rejects_boolean_for_integer_and_number),
        cmocka_unit_test(test_schema_rejects_integer_out_of_range),
        cmocka_unit_test(test_schema_rejects_non_boolean_for_boolean),
        cmocka_unit_test(test_schema_rejects_enum_value_listing_allowed_ones),
        cmocka_unit_test(test_schema_rejects_invalid_name_reference),
        cmocka_unit_test(test_schema_rejects_zone_area_not_above_zero),
        cmocka_unit_test(test_schema_rejects_malformed_timezone),
        cmocka_unit_test(test_schema_rejects_control_characters_in_spec_strings),
        cmocka_unit_test(test_schema_rejects_embedded_nul_in_spec_string),
        cmocka_unit_test(test_schema_rejects_key_with_embedded_nul),
        cmocka_unit_test(test_schema_rejects_string_longer_than_field_max),
        cmocka_unit_test(test_schema_rejects_bad_string_list_items_by_index),
        cmocka_unit_test(test_schema_rejects_string_list_over_max_items),
        cmocka_unit_test(test_schema_never_modifies_manifest),
        cmocka_unit_test(test_schema_normalized_shares_nothing_with_manifest),
        cmocka_unit_test(test_schema_validate_works_without_output_buffers),
        cmocka_unit_test(test_schema_truncates_messages_to_small_buffers),
        cmocka_unit_test(test_schema_registry_lists_site_and_zone),
        cmocka_unit_test(test_schema_kind_tables_are_well_formed),
        cmocka_unit_test(test_schema_describe_lists_fields_with_types_and_bounds),
        cmocka_unit_test(test_schema_describe_zone_shows_number_and_name_types),
        cmocka_unit_test(test_schema_accepts_floor_plan_geometry),
        cmocka_unit_test(test_schema_rejects_bad_floor_plan_naming_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

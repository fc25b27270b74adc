/*
 * test_schema_limits.c - the limits that make "accepted" mean "can be
 * logged, replayed and snapshotted": free-form fields (spec.source,
 * spec.options, ...) are held to a depth, a number of members, key and
 * string lengths and a size, and the whole object to a size; each refusal
 * names the field and the limit. Trees built in code (not by jansson's
 * parser) may hold what the parser never produces: NUL in keys and strings,
 * invalid UTF-8; those are refused too, since they would not read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"
#include "schema/schema.h"

struct outcome {
    int rc;
    char err[512];
    char field[128];
};

static void validate_doc(const json_t *doc, struct outcome *o)
{
    json_t *normalized = NULL;
    memset(o, 0, sizeof *o);
    o->rc = vg_schema_validate(doc, NULL, NULL, &normalized, o->err, sizeof o->err, o->field,
                               sizeof o->field);
    if (o->rc)
        assert_null(normalized);
    json_decref(normalized);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s", jerr.text);
    return doc;
}

/* A sensor whose spec.source.map is the given value (stolen). */
static json_t *sensor_with_map(json_t *map)
{
    json_t *doc = parse("{\"kind\":\"Sensor\",\"name\":\"t1\",\"spec\":{\"zone\":\"hall-a\","
                        "\"device\":\"pdu1\",\"type\":\"temperature\","
                        "\"source\":{\"oid\":\"1.3.6.1.4.1.1\"}}}");
    json_object_set_new(json_object_get(json_object_get(doc, "spec"), "source"), "map", map);
    return doc;
}

static void expect_ok(json_t *doc)
{
    struct outcome o;
    validate_doc(doc, &o);
    json_decref(doc);
    if (o.rc)
        fail_msg("rejected: %s (field '%s')", o.err, o.field);
}

static void expect_refused(json_t *doc, const char *field_prefix, const char *message)
{
    struct outcome o;
    validate_doc(doc, &o);
    json_decref(doc);
    if (o.rc != -EINVAL)
        fail_msg("expected -EINVAL, got %d", o.rc);
    if (strncmp(o.field, field_prefix, strlen(field_prefix)) != 0)
        fail_msg("field '%s' does not start with '%s' (err '%s')", o.field, field_prefix,
                 o.err);
    if (strncmp(o.err, o.field, strlen(o.field)) != 0 || !strstr(o.err, message))
        fail_msg("error '%s' does not start with the field '%s' or lacks '%s'", o.err, o.field,
                 message);
}

/* {"k":{"k":...{"k":1}}} with levels objects. */
static json_t *nested(int levels)
{
    json_t *v = json_integer(1);
    for (int i = 0; i < levels; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "k", v);
        v = o;
    }
    return v;
}

static json_t *string_of(const char *unit, size_t n)
{
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        vg_buf_add(&b, unit, strlen(unit));
    json_t *s = json_stringn((const char *)b.data, b.len);
    vg_buf_release(&b);
    return s;
}

static void test_free_form_nesting_is_bounded_and_named(void **unused)
{
    /* spec.source is level 1, so its map may nest VG_SCHEMA_FREE_DEPTH - 1 levels */
    expect_ok(sensor_with_map(nested(VG_SCHEMA_FREE_DEPTH - 1)));
    expect_refused(sensor_with_map(nested(VG_SCHEMA_FREE_DEPTH)), "spec.source.map",
                   "nesting deeper than 8 levels");
    /* arrays count as levels too, and the parser's own limit is never reached */
    json_t *arr = json_array();
    json_t *inner = arr;
    for (int i = 0; i < 100; i++) {
        json_t *next = json_array();
        json_array_append_new(inner, next);
        inner = next;
    }
    json_t *map = json_object();
    json_object_set_new(map, "deep", arr);
    expect_refused(sensor_with_map(map), "spec.source.map.deep[0]",
                   "nesting deeper than 8 levels");
}

static void test_free_form_members_are_bounded(void **unused)
{
    json_t *map = json_object();
    char key[16];
    for (int i = 0; i < VG_SCHEMA_FREE_MEMBERS; i++) {
        snprintf(key, sizeof key, "v%d", i);
        json_object_set_new(map, key, json_integer(i));
    }
    expect_ok(sensor_with_map(json_deep_copy(map)));
    json_object_set_new(map, "one-more", json_integer(0));
    expect_refused(sensor_with_map(map), "spec.source.map", "257 keys, at most 256 allowed");

    json_t *list = json_array();
    for (int i = 0; i <= VG_SCHEMA_FREE_MEMBERS; i++)
        json_array_append_new(list, json_integer(i));
    map = json_object();
    json_object_set_new(map, "list", list);
    expect_refused(sensor_with_map(map), "spec.source.map.list",
                   "257 elements, at most 256 allowed");
}

static void test_free_form_key_and_string_lengths_are_bounded(void **unused)
{
    json_t *key = string_of("\xc3\xa9", VG_SCHEMA_FREE_KEY_MAX); /* 2 bytes, 1 character */
    json_t *map = json_object();
    json_object_set_new(map, json_string_value(key), json_integer(1));
    expect_ok(sensor_with_map(map));
    json_decref(key);

    key = string_of("k", VG_SCHEMA_FREE_KEY_MAX + 1);
    map = json_object();
    json_object_set_new(map, json_string_value(key), json_integer(1));
    expect_refused(sensor_with_map(map), "spec.source.map.kkk",
                   "key is 129 characters long, at most 128 allowed");
    json_decref(key);

    map = json_object();
    json_object_set_new(map, "s", string_of("x", VG_SCHEMA_STRING_MAX));
    expect_ok(sensor_with_map(map));
    map = json_object();
    json_object_set_new(map, "s", string_of("x", VG_SCHEMA_STRING_MAX + 1));
    expect_refused(sensor_with_map(map), "spec.source.map.s",
                   "1025 characters long, at most 1024 allowed");
}

static void test_free_form_size_is_bounded(void **unused)
{
    /* each member within its own limits, together past VG_SCHEMA_FREE_BYTES */
    json_t *map = json_object();
    char key[16];
    for (int i = 0; i < 80; i++) {
        snprintf(key, sizeof key, "v%d", i);
        json_object_set_new(map, key, string_of("x", 1000));
    }
    expect_refused(sensor_with_map(map), "spec.source", "bytes as JSON, at most 65536 allowed");
}

static void test_free_form_refuses_what_would_not_read_back(void **unused)
{
    /* jansson writes a key only up to its first NUL */
    json_t *map = json_object();
    json_object_setn_new_nocheck(map, "on\0off", 6, json_integer(1));
    expect_refused(sensor_with_map(map), "spec.source.map.on", "key must not contain NUL");

    map = json_object();
    json_object_set_new(map, "a", json_stringn("x\0y", 3));
    expect_refused(sensor_with_map(map), "spec.source.map.a", "control character");

    map = json_object();
    json_object_set_new(map, "a", json_stringn_nocheck("x\xed\xa0\x80", 4)); /* a surrogate */
    expect_refused(sensor_with_map(map), "spec.source.map.a", "not valid UTF-8 at byte 1");

    map = json_object();
    json_object_set_new_nocheck(map, "\xff", json_integer(1));
    expect_refused(sensor_with_map(map), "spec.source.map.\\xff", "key is not valid UTF-8");

    map = json_object();
    json_object_set_new(map, "tab\there", json_integer(1));
    expect_refused(sensor_with_map(map), "spec.source.map.tab\\x09here",
                   "control character in key");

    /* device options go through the same checks before the driver sees them */
    json_t *dev = parse("{\"kind\":\"Device\",\"name\":\"pdu1\",\"spec\":{\"site\":\"dc1\","
                        "\"driver\":\"sim\",\"options\":{}}}");
    json_object_set_new(json_object_get(json_object_get(dev, "spec"), "options"), "x",
                        nested(VG_SCHEMA_FREE_DEPTH));
    expect_refused(dev, "spec.options.x", "nesting deeper than 8 levels");
}

static void test_free_form_numbers_at_the_edges_are_accepted(void **unused)
{
    json_t *map = json_object();
    json_object_set_new(map, "max", json_integer(INT64_MAX));
    json_object_set_new(map, "min", json_integer(INT64_MIN));
    json_object_set_new(map, "big", json_real(1.7976931348623157e308));
    json_object_set_new(map, "tiny", json_real(4.9406564584124654e-324));
    json_object_set_new(map, "neg-zero", json_real(-0.0));
    expect_ok(sensor_with_map(map));
}

static void test_labels_and_names_refuse_nul(void **unused)
{
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_t *labels = json_object();
    json_object_setn_new_nocheck(labels, "env\0x", 5, json_string("prod"));
    json_object_set_new(doc, "labels", labels);
    expect_refused(doc, "labels.env", "must not contain NUL");

    doc = parse("{\"kind\":\"Site\",\"spec\":{\"location\":\"x\"}}");
    json_object_set_new(doc, "name", json_stringn("dc1\0evil", 8));
    expect_refused(doc, "name", "control character");

    doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_object_set_new(doc, "labels", json_pack("{s:o}", "env", json_stringn("a\0b", 3)));
    expect_refused(doc, "labels.env", "control character");
}

static void test_string_lists_are_bounded(void **unused)
{
    /* every list field in the tables sets a max (VG_SCHEMA_LIST_MAX guards new ones) */
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_t *contacts = json_array();
    for (int i = 0; i < 33; i++)
        json_array_append_new(contacts, json_string("desk"));
    json_object_set_new(json_object_get(doc, "spec"), "contacts", contacts);
    expect_refused(doc, "spec.contacts", "33 items, at most 32 allowed");
}

static void test_whole_object_size_is_bounded(void **unused)
{
    /* 32 contacts of 1024 four-byte characters: each within its limits,
     * together past VG_SCHEMA_OBJECT_BYTES */
    json_t *doc = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    json_t *contacts = json_array();
    for (int i = 0; i < 32; i++)
        json_array_append_new(contacts, string_of("\xf0\x9f\x98\x80", 1024));
    json_object_set_new(json_object_get(doc, "spec"), "contacts", contacts);
    struct outcome o;
    validate_doc(doc, &o);
    json_decref(doc);
    assert_int_equal(o.rc, -EINVAL);
    assert_string_equal(o.field, "");
    assert_non_null(strstr(o.err, "the object is"));
    assert_non_null(strstr(o.err, "bytes as JSON, at most 131072 allowed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_form_nesting_is_bounded_and_named),
        cmocka_unit_test(test_free_form_members_are_bounded),
        cmocka_unit_test(test_free_form_key_and_string_lengths_are_bounded),
        cmocka_unit_test(test_free_form_size_is_bounded),
        cmocka_unit_test(test_free_form_refuses_what_would_not_read_back),
        cmocka_unit_test(test_free_form_numbers_at_the_edges_are_accepted),
        cmocka_unit_test(test_labels_and_names_refuse_nul),
        cmocka_unit_test(test_string_lists_are_bounded),
        cmocka_unit_test(test_whole_object_size_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

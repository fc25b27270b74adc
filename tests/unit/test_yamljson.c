/*
 * test_yamljson.c - the YAML <-> JSON conversion of manifests: documents,
 * scalar typing, the errors a person gets (with line and column), the YAML
 * features that are refused, and that printing JSON as YAML reads back equal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/yamljson.h"

static char err[512];

/* Parses text; on success returns the documents (caller decrefs). */
static json_t *parse_ok(const char *text)
{
    json_t *docs = NULL;
    int rc = vg_yamljson_parse(text, strlen(text), "m.yaml", &docs, err, sizeof err);
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
    assert_non_null(docs);
    return docs;
}

/* Expects an error whose message contains every fragment given. */
static void parse_fails(const char *text, const char *fragment1, const char *fragment2)
{
    json_t *docs = (json_t *)1;
    err[0] = 0;
    int rc = vg_yamljson_parse(text, strlen(text), "m.yaml", &docs, err, sizeof err);
    assert_int_equal(rc, -EINVAL);
    assert_null(docs);
    if (!strstr(err, fragment1) || (fragment2 && !strstr(err, fragment2)))
        fail_msg("error '%s' lacks '%s' / '%s'", err, fragment1, fragment2 ? fragment2 : "");
}

/* The single document of text, compared with the JSON expected. */
static void assert_yaml_is(const char *text, const char *json_text)
{
    json_t *docs = parse_ok(text);
    json_t *want = json_loads(json_text, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    assert_int_equal(json_array_size(docs), 1);
    if (!json_equal(json_array_get(docs, 0), want)) {
        char *got = json_dumps(json_array_get(docs, 0), JSON_ENCODE_ANY);
        fail_msg("'%s' gave %s, want %s", text, got, json_text);
    }
    json_decref(want);
    json_decref(docs);
}

static void test_multi_document_stream_gives_one_value_per_document(void **state)
{
    json_t *docs = parse_ok("kind: Site\nname: dc1\n---\nkind: Zone\nname: a\n---\n"
                            "kind: Zone\nname: b\n...\n");
    assert_int_equal(json_array_size(docs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "kind")),
                        "Site");
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 2), "name")),
                        "b");
    json_decref(docs);
}

static void test_empty_documents_are_null_and_empty_stream_is_empty_array(void **state)
{
    json_t *docs = parse_ok("---\n---\nname: x\n---\n");
    assert_int_equal(json_array_size(docs), 3);
    assert_true(json_is_null(json_array_get(docs, 0)));
    assert_true(json_is_object(json_array_get(docs, 1)));
    assert_true(json_is_null(json_array_get(docs, 2)));
    json_decref(docs);

    docs = parse_ok("# only a comment\n");
    assert_int_equal(json_array_size(docs), 0);
    json_decref(docs);
    docs = parse_ok("");
    assert_int_equal(json_array_size(docs), 0);
    json_decref(docs);
}

static void test_plain_scalars_are_typed_like_yaml_1_2(void **state)
{
    assert_yaml_is("a: 42\nb: -7\nc: +3\nd: 0x1F\ne: 0o17\n",
                   "{\"a\":42,\"b\":-7,\"c\":3,\"d\":31,\"e\":15}");
    assert_yaml_is("a: 1.5\nb: -0.25\nc: 1e3\nd: .5\ne: 2.\n",
                   "{\"a\":1.5,\"b\":-0.25,\"c\":1000.0,\"d\":0.5,\"e\":2.0}");
    assert_yaml_is("a: true\nb: False\nc: TRUE\nd: null\ne: ~\nf:\n",
                   "{\"a\":true,\"b\":false,\"c\":true,\"d\":null,\"e\":null,\"f\":null}");
    assert_yaml_is("a: 9223372036854775807\nb: -9223372036854775808\n",
                   "{\"a\":9223372036854775807,\"b\":-9223372036854775808}");
}

static void test_ambiguous_plain_scalars_stay_strings(void **state)
{
    /* yes/no/on/off are booleans only in YAML 1.1; 0755 is octal there */
    assert_yaml_is("a: yes\nb: off\nc: 0755\nd: 007\ne: 1_000\nf: 1.2.3\ng: 12:30\n",
                   "{\"a\":\"yes\",\"b\":\"off\",\"c\":\"0755\",\"d\":\"007\",\"e\":\"1_000\","
                   "\"f\":\"1.2.3\",\"g\":\"12:30\"}");
    assert_yaml_is("a: -x\nb: .\nc: e5\nd: 0x\ne: truely\n",
                   "{\"a\":\"-x\",\"b\":\".\",\"c\":\"e5\",\"d\":\"0x\",\"e\":\"truely\"}");
}

static void test_quoted_and_block_scalars_stay_strings(void **state)
{
    assert_yaml_is("a: \"42\"\nb: 'true'\nc: \"\"\nd: 'null'\n",
                   "{\"a\":\"42\",\"b\":\"true\",\"c\":\"\",\"d\":\"null\"}");
    assert_yaml_is("a: |\n  12\n  line two\nb: >-\n  folded\n  text\n",
                   "{\"a\":\"12\\nline two\\n\",\"b\":\"folded text\"}");
}

static void test_mapping_keys_are_kept_as_written(void **state)
{
    assert_yaml_is("1: one\ntrue: t\nnull: n\n",
                   "{\"1\":\"one\",\"true\":\"t\",\"null\":\"n\"}");
}

static void test_standard_tags_decide_the_type(void **state)
{
    assert_yaml_is("a: !!str 42\nb: !!int \"7\"\nc: !!float 3\nd: ! 12\ne: !!bool true\n",
                   "{\"a\":\"42\",\"b\":7,\"c\":3.0,\"d\":\"12\",\"e\":true}");
    parse_fails("a: !!int abc\n", "line 1, column 4", "not a valid");
    parse_fails("a: !local x\n", "line 1, column 4", "unsupported tag '!local'");
}

static void test_syntax_error_names_file_line_and_column(void **state)
{
    parse_fails("kind: Site\nspec:\n  a: [1, 2\n", "m.yaml: line 4, column 1", NULL);
    parse_fails("a: b: c\n", "m.yaml: line 1, column 5", "mapping values are not allowed");
    parse_fails("a:\n  b: 1\n c: 2\n", "line 3, column 2", NULL);
}

static void test_duplicate_key_is_rejected_with_its_position(void **state)
{
    parse_fails("kind: Site\nname: a\nname: b\n", "m.yaml: line 3, column 1",
                "duplicate key 'name'");
    parse_fails("spec: {x: 1, x: 2}\n", "line 1, column 14", "duplicate key 'x'");
}

static void test_anchors_and_aliases_are_rejected(void **state)
{
    parse_fails("a: &x 1\nb: *x\n", "line 1, column 4", "anchors (&x) are not supported");
    parse_fails("a: &m {k: v}\n", "line 1, column 4", "anchors");
    parse_fails("a: *nothing\n", "line 1, column 4", "aliases (*nothing) are not supported");
    parse_fails("- &s [1]\n", "anchors", NULL);
    /* the billion laughs: refused at the first anchor, nothing expanded */
    parse_fails("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a]\nc: [*b,*b,*b,*b]\n", "anchors",
                NULL);
}

static void test_non_scalar_keys_are_rejected(void **state)
{
    parse_fails("\"k\\0ey\": 1\n", "line 1, column 1", "NUL");
    parse_fails("? [a, b]\n: 1\n", "line 1, column 3", "mapping keys must be plain strings");
    parse_fails("? {a: 1}\n: 1\n", "mapping keys", NULL);
}

/* "[[[...]]]" of depth levels, or the same in block style */
static char *nested(int depth, int block)
{
    vg_buf_t b = VG_BUF_INIT;
    for (int i = 0; i < depth; i++) {
        if (block)
            vg_buf_printf(&b, "%*sk:\n", 2 * i, "");
        else
            vg_buf_adds(&b, "[");
    }
    if (block) {
        vg_buf_printf(&b, "%*sleaf\n", 2 * depth, "");
    } else {
        for (int i = 0; i < depth; i++)
            vg_buf_adds(&b, "]");
    }
    return (char *)vg_buf_detach(&b, NULL);
}

static void test_nesting_deeper_than_the_limit_is_rejected(void **state)
{
    char *ok = nested(VG_YAMLJSON_MAX_DEPTH, 0);
    char *too_deep = nested(VG_YAMLJSON_MAX_DEPTH + 1, 0);
    char *block_too_deep = nested(VG_YAMLJSON_MAX_DEPTH + 1, 1);
    char *hostile = nested(100000, 0);

    json_decref(parse_ok(ok));
    parse_fails(too_deep, "line 1, column 65", "nested deeper than 64 levels");
    parse_fails(block_too_deep, "nested deeper than 64 levels", NULL);
    parse_fails(hostile, "nested deeper", NULL);
    free(ok);
    free(too_deep);
    free(block_too_deep);
    free(hostile);
}

static void test_numbers_json_cannot_hold_are_rejected(void **state)
{
    parse_fails("a: 9223372036854775808\n", "line 1, column 4", "out of range");
    parse_fails("a: 0xFFFFFFFFFFFFFFFFFF\n", "out of range", NULL);
    parse_fails("a: 1e999\n", "line 1, column 4", "out of range");
    parse_fails("a: .inf\n", "cannot be represented in JSON", NULL);
    parse_fails("a: -.Inf\n", "cannot be represented", NULL);
    parse_fails("a: .nan\n", "cannot be represented", NULL);
}

static void test_invalid_utf8_is_rejected_with_a_position(void **state)
{
    parse_fails("a: 1\nb: \xff\xfe\n", "m.yaml: line 2, column 4", NULL);
}

static void test_error_without_source_has_no_prefix(void **state)
{
    json_t *docs;
    const char text[] = "a: 1\na: 2\n";
    assert_int_equal(vg_yamljson_parse(text, strlen(text), NULL, &docs, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "line 2, column 1: duplicate key 'a'");
}

/* JSON -> YAML -> JSON gives the value back, for values chosen to be hard. */
static void test_round_trip_json_yaml_json(void **state)
{
    static const char *const values[] = {
        "{\"kind\":\"Site\",\"name\":\"dc1\",\"labels\":{\"region\":\"be\"},\"spec\":"
        "{\"tier\":3,\"ratio\":0.1,\"on\":true,\"none\":null,\"tags\":[\"a\",\"b\"]}}",
        "{\"n\":\"42\",\"t\":\"true\",\"y\":\"yes\",\"z\":\"null\",\"e\":\"\",\"tilde\":\"~\","
        "\"f\":\"1.5\",\"h\":\"0x10\",\"o\":\"0755\",\"inf\":\".inf\",\"dash\":\"-\"}",
        "{\"multi\":\"line one\\nline two\\n\",\"trail\":\"no newline\\nat end\","
        "\"lead\":\"  leading spaces\\nx\",\"blank\":\"\\n\\n\",\"crlf\":\"a\\r\\nb\"}",
        "{\"colon\":\"a: b\",\"hash\":\"x #y\",\"quote\":\"'\\\"\",\"star\":\"*x\","
        "\"amp\":\"&y\",\"bang\":\"!z\",\"brace\":\"{a}\",\"pct\":\"%TAG\",\"at\":\"@x\"}",
        "{\"unicode\":\"Br\\u00fcssel \\u2603 \\ud83d\\ude00\",\"nul\":\"a\\u0000b\","
        "\"ctl\":\"\\u0001\\u001f\\t\",\"bom\":\"\\ufeffx\",\"nel\":\"a\\u0085b\"}",
        "{\"reals\":[0.0,-0.0,1e300,-2.5e-300,0.1,123456789.125,1e16,5e-324],"
        "\"ints\":[0,-1,9223372036854775807,-9223372036854775808]}",
        "{\"\":\"empty key\",\"1\":\"numeric key\",\"null\":\"null key\",\"a b\":\"space\"}",
        "{\"empty_obj\":{},\"empty_arr\":[],\"nested\":[[],[{}],[[1]]]}",
        "[1,\"two\",[3]]",
        "\"just a string\"",
        "\"---\"",
        "null",
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(values); i++) {
        json_t *value = json_loads(values[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        vg_buf_t yaml = VG_BUF_INIT;
        json_t *back = NULL;
        assert_non_null(value);
        assert_int_equal(vg_yamljson_emit(value, 0, &yaml, err, sizeof err), 0);
        if (vg_yamljson_parse((char *)yaml.data, yaml.len, NULL, &back, err, sizeof err) != 0)
            fail_msg("value %zu: %s\n%s", i, err, (char *)yaml.data);
        assert_int_equal(json_array_size(back), 1);
        if (!json_equal(json_array_get(back, 0), value))
            fail_msg("value %zu changed in a round trip through:\n%s", i, (char *)yaml.data);
        json_decref(back);
        json_decref(value);
        vg_buf_release(&yaml);
    }
}

static void test_strings_that_look_typed_are_quoted(void **state)
{
    json_t *value =
        json_pack("{s:s, s:s, s:s, s:i}", "a", "123", "b", "on", "c", "plain", "d", 123);
    vg_buf_t yaml = VG_BUF_INIT;
    assert_int_equal(vg_yamljson_emit(value, 0, &yaml, err, sizeof err), 0);
    assert_string_equal((char *)yaml.data, "a: '123'\nb: 'on'\nc: plain\nd: 123\n");
    json_decref(value);
    vg_buf_release(&yaml);
}

static void test_emit_docs_writes_one_document_per_element(void **state)
{
    json_t *docs = json_loads("[{\"kind\":\"Site\",\"name\":\"a\"},{\"kind\":\"Zone\","
                              "\"name\":\"b\"}]",
                              0, NULL);
    vg_buf_t yaml = VG_BUF_INIT;
    json_t *back = NULL;
    assert_int_equal(vg_yamljson_emit_docs(docs, &yaml, err, sizeof err), 0);
    assert_string_equal((char *)yaml.data,
                        "---\nkind: Site\nname: a\n---\nkind: Zone\nname: b\n");
    assert_int_equal(
        vg_yamljson_parse((char *)yaml.data, yaml.len, NULL, &back, err, sizeof err), 0);
    assert_true(json_equal(back, docs));
    json_decref(back);
    json_decref(docs);
    vg_buf_release(&yaml);
}

static void test_emit_refuses_values_nested_too_deep(void **state)
{
    json_t *value = json_array();
    for (int i = 0; i < VG_YAMLJSON_MAX_DEPTH; i++)
        value = json_pack("[o]", value);
    vg_buf_t yaml = VG_BUF_INIT;
    assert_int_equal(vg_yamljson_emit(value, 0, &yaml, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "nested deeper"));
    json_decref(value);
    vg_buf_release(&yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_document_stream_gives_one_value_per_document),
        cmocka_unit_test(test_empty_documents_are_null_and_empty_stream_is_empty_array),
        cmocka_unit_test(test_plain_scalars_are_typed_like_yaml_1_2),
        cmocka_unit_test(test_ambiguous_plain_scalars_stay_strings),
        cmocka_unit_test(test_quoted_and_block_scalars_stay_strings),
        cmocka_unit_test(test_mapping_keys_are_kept_as_written),
        cmocka_unit_test(test_standard_tags_decide_the_type),
        cmocka_unit_test(test_syntax_error_names_file_line_and_column),
        cmocka_unit_test(test_duplicate_key_is_rejected_with_its_position),
        cmocka_unit_test(test_anchors_and_aliases_are_rejected),
        cmocka_unit_test(test_non_scalar_keys_are_rejected),
        cmocka_unit_test(test_nesting_deeper_than_the_limit_is_rejected),
        cmocka_unit_test(test_numbers_json_cannot_hold_are_rejected),
        cmocka_unit_test(test_invalid_utf8_is_rejected_with_a_position),
        cmocka_unit_test(test_error_without_source_has_no_prefix),
        cmocka_unit_test(test_round_trip_json_yaml_json),
        cmocka_unit_test(test_strings_that_look_typed_are_quoted),
        cmocka_unit_test(test_emit_docs_writes_one_document_per_element),
        cmocka_unit_test(test_emit_refuses_values_nested_too_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

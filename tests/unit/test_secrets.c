/*
 * test_secrets.c - device credentials are never shown and never lost: the
 * redaction every reader of the state gets, and the merge of a write over
 * the stored object (a secret left out or given as {"secret": true} keeps
 * the stored value, a plain value changes it, null removes it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schema/schema.h"
#include "state/state.h"
#include "store/record.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

/* A Device manifest of driver with options (JSON text). */
static json_t *device(const char *driver, const char *options)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"kind\":\"Device\",\"name\":\"pdu-1\",\"spec\":{\"site\":\"dc1\","
             "\"driver\":\"%s\",\"address\":\"10.0.0.9\",\"options\":%s}}",
             driver, options);
    return parse(text);
}

static const json_t *option(const json_t *obj, const char *key)
{
    return json_object_get(json_object_get(json_object_get(obj, "spec"), "options"), key);
}

static void assert_placeholder(const json_t *obj, const char *key)
{
    if (!vg_schema_is_secret_placeholder(option(obj, key)))
        fail_msg("options.%s is not {\"secret\": true}", key);
}

static void assert_option(const json_t *obj, const char *key, const char *want)
{
    const char *got = json_string_value(option(obj, key));
    if (!got || strcmp(got, want) != 0)
        fail_msg("options.%s is '%s', expected '%s'", key, got ? got : "(none)", want);
}

static void assert_no_text(const json_t *obj, const char *secret)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (strstr(text, secret))
        fail_msg("'%s' is shown: %s", secret, text);
    free(text);
}

/* The normalized manifest of an update of stored (JSON text or NULL). */
struct update {
    int rc;
    char err[512], field[128];
    json_t *out;
};

static void update(const json_t *manifest, const json_t *stored, struct update *u)
{
    memset(u, 0, sizeof *u);
    u->rc = vg_schema_validate_update(manifest, NULL, NULL, stored, &u->out, u->err,
                                      sizeof u->err, u->field, sizeof u->field);
}

static void expect_update(const json_t *manifest, const json_t *stored, struct update *u)
{
    update(manifest, stored, u);
    if (u->rc)
        fail_msg("update refused: %s (field %s)", u->err, u->field);
}

/* ---- redaction ---- */

static void test_redact_hides_every_secret_the_driver_marks(void **unused)
{
    json_t *v3 = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                "\"auth_passphrase\":\"auth-Secret-1\","
                                "\"priv_passphrase\":\"priv-Secret-2\"}");
    assert_int_equal(vg_schema_redact(v3), 2);
    assert_placeholder(v3, "auth_passphrase");
    assert_placeholder(v3, "priv_passphrase");
    assert_option(v3, "user", "ops"); /* a user name is not a credential */
    assert_no_text(v3, "Secret");
    json_t *v2 = device("snmp", "{\"community\":\"c0mmunity\"}");
    assert_int_equal(vg_schema_redact(v2), 1);
    assert_placeholder(v2, "community");
    json_t *mqtt = device("mqtt", "{\"username\":\"vigil\",\"password\":\"mq-pass\"}");
    assert_int_equal(vg_schema_redact(mqtt), 1);
    assert_placeholder(mqtt, "password");
    assert_option(mqtt, "username", "vigil");
    json_t *nut = device("nut", "{\"ups\":\"ups1\",\"username\":\"mon\",\"password\":\"np\"}");
    assert_int_equal(vg_schema_redact(nut), 1);
    assert_placeholder(nut, "password");
    json_t *trap = device("snmp-trap", "{\"community\":\"trapc\"}");
    assert_int_equal(vg_schema_redact(trap), 1);
    assert_placeholder(trap, "community");
    /* a second pass finds nothing left to hide */
    assert_int_equal(vg_schema_redact(v3), 0);
    json_decref(v3);
    json_decref(v2);
    json_decref(mqtt);
    json_decref(nut);
    json_decref(trap);
}

static void test_redact_leaves_objects_without_secrets_alone(void **unused)
{
    json_t *modbus = device("modbus", "{\"unit_id\":3}");
    json_t *before = json_deep_copy(modbus);
    assert_int_equal(vg_schema_redact(modbus), 0);
    assert_true(json_equal(modbus, before));
    json_t *site = parse("{\"kind\":\"Site\",\"name\":\"dc1\",\"spec\":{\"location\":\"x\"}}");
    assert_int_equal(vg_schema_redact(site), 0);
    json_t *odd = parse("{\"kind\":\"Nope\",\"spec\":{\"options\":{\"password\":\"p\"}}}");
    assert_int_equal(vg_schema_redact(odd), 0);
    json_t *no_options = parse("{\"kind\":\"Device\",\"spec\":{\"driver\":\"mqtt\"}}");
    assert_int_equal(vg_schema_redact(no_options), 0);
    json_decref(modbus);
    json_decref(before);
    json_decref(site);
    json_decref(odd);
    json_decref(no_options);
}

/* ---- the merge of a write ---- */

static void test_update_placeholder_and_left_out_secret_keep_the_stored_value(void **unused)
{
    json_t *stored = device("snmp", "{\"community\":\"c0mmunity\"}");
    json_t *given = device("snmp", "{\"community\":{\"secret\":true}}");
    json_t *left_out = device("snmp", "{}");
    struct update u;
    expect_update(given, stored, &u);
    assert_option(u.out, "community", "c0mmunity");
    json_decref(u.out);
    expect_update(left_out, stored, &u);
    assert_option(u.out, "community", "c0mmunity");
    json_decref(u.out);
    /* the manifest given is not changed */
    assert_true(vg_schema_is_secret_placeholder(option(given, "community")));
    assert_null(option(left_out, "community"));
    json_decref(stored);
    json_decref(given);
    json_decref(left_out);
}

static void test_update_what_get_shows_round_trips_to_the_stored_spec(void **unused)
{
    json_t *stored = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                    "\"auth_passphrase\":\"auth-Secret-1\","
                                    "\"priv_passphrase\":\"priv-Secret-2\",\"context\":\"c\"}");
    json_t *shown = json_deep_copy(stored);
    vg_schema_redact(shown);
    struct update u;
    expect_update(shown, stored, &u);
    assert_true(json_equal(json_object_get(u.out, "spec"), json_object_get(stored, "spec")));
    json_decref(u.out);
    json_decref(shown);
    json_decref(stored);
}

static void test_update_plain_value_changes_and_null_removes_the_secret(void **unused)
{
    json_t *stored = device("mqtt", "{\"username\":\"vigil\",\"password\":\"old-pass\"}");
    json_t *changed = device("mqtt", "{\"username\":\"vigil\",\"password\":\"new-pass\"}");
    json_t *removed = device("mqtt", "{\"username\":\"vigil\",\"password\":null}");
    struct update u;
    expect_update(changed, stored, &u);
    assert_option(u.out, "password", "new-pass");
    json_decref(u.out);
    expect_update(removed, stored, &u);
    assert_null(option(u.out, "password"));
    assert_option(u.out, "username", "vigil");
    json_decref(u.out);
    json_decref(stored);
    json_decref(changed);
    json_decref(removed);
}

static void test_update_placeholder_with_nothing_stored_is_refused(void **unused)
{
    json_t *given = device("mqtt", "{\"username\":\"vigil\",\"password\":{\"secret\":true}}");
    struct update u;
    update(given, NULL, &u); /* a new object */
    assert_int_equal(u.rc, -EINVAL);
    assert_string_equal(u.field, "spec.options.password");
    assert_non_null(strstr(u.err, "give the value"));
    assert_null(u.out);
    json_decref(given);
}

static void test_update_never_moves_a_secret_to_another_driver(void **unused)
{
    json_t *stored = device("mqtt", "{\"username\":\"mon\",\"password\":\"mq-pass\"}");
    json_t *as_nut = device("nut", "{\"ups\":\"u1\",\"username\":\"mon\"}");
    json_t *placeholder = device("nut", "{\"ups\":\"u1\",\"username\":\"mon\","
                                        "\"password\":{\"secret\":true}}");
    struct update u;
    update(as_nut, stored, &u);
    assert_int_equal(u.rc, -EINVAL);
    assert_string_equal(u.field, "spec.options.password"); /* required with username */
    update(placeholder, stored, &u);
    assert_int_equal(u.rc, -EINVAL);
    assert_string_equal(u.field, "spec.options.password");
    assert_null(strstr(u.err, "mq-pass"));
    json_decref(stored);
    json_decref(as_nut);
    json_decref(placeholder);
}

static void test_update_drops_a_left_out_secret_the_new_settings_refuse(void **unused)
{
    /* v2c to v3: the community left out does not come back */
    json_t *stored = device("snmp", "{\"community\":\"c0mmunity\"}");
    json_t *v3 = device("snmp", "{\"version\":\"3\",\"user\":\"ops\"}");
    struct update u;
    expect_update(v3, stored, &u);
    assert_null(option(u.out, "community"));
    json_decref(u.out);
    /* authPriv to authNoPriv: the auth passphrase stays, the priv one goes */
    json_t *priv = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                  "\"auth_passphrase\":\"auth-Secret-1\","
                                  "\"priv_passphrase\":\"priv-Secret-2\"}");
    json_t *auth_only = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                       "\"security_level\":\"authNoPriv\"}");
    expect_update(auth_only, priv, &u);
    assert_option(u.out, "auth_passphrase", "auth-Secret-1");
    assert_null(option(u.out, "priv_passphrase"));
    json_decref(u.out);
    /* but a secret the manifest gives is never dropped: it is refused */
    json_t *given = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                   "\"community\":{\"secret\":true}}");
    update(given, stored, &u);
    assert_int_equal(u.rc, -EINVAL);
    assert_string_equal(u.field, "spec.options.community");
    assert_null(strstr(u.err, "c0mmunity"));
    json_decref(stored);
    json_decref(v3);
    json_decref(priv);
    json_decref(auth_only);
    json_decref(given);
}

static void test_update_errors_never_show_a_secret(void **unused)
{
    json_t *stored = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                    "\"auth_passphrase\":\"auth-Secret-1\"}");
    json_t *short_one = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                       "\"auth_passphrase\":\"short7\"}");
    json_t *typo = device("snmp", "{\"version\":\"3\",\"user\":\"ops\",\"colour\":\"red\"}");
    struct update u;
    update(short_one, stored, &u);
    assert_int_equal(u.rc, -EINVAL);
    assert_null(strstr(u.err, "short7"));
    update(typo, stored, &u);
    assert_int_equal(u.rc, -EINVAL);
    assert_string_equal(u.field, "spec.options.colour");
    assert_null(strstr(u.err, "auth-Secret-1"));
    json_decref(stored);
    json_decref(short_one);
    json_decref(typo);
}

static void test_validate_takes_placeholders_for_secrets_only(void **unused)
{
    /* what the CLI checks before sending `vigil get -o yaml` back */
    json_t *doc = device("snmp", "{\"version\":\"3\",\"user\":\"ops\","
                                 "\"auth_passphrase\":{\"secret\":true}}");
    json_t *out = NULL;
    char err[256], field[128];
    assert_int_equal(
        vg_schema_validate(doc, NULL, NULL, &out, err, sizeof err, field, sizeof field), 0);
    assert_placeholder(out, "auth_passphrase"); /* kept for the server to resolve */
    json_decref(out);
    json_t *not_secret = device("snmp", "{\"version\":\"3\",\"user\":{\"secret\":true}}");
    assert_int_equal(
        vg_schema_validate(not_secret, NULL, NULL, NULL, err, sizeof err, field, sizeof field),
        -EINVAL);
    assert_string_equal(field, "spec.options.user");
    json_decref(doc);
    json_decref(not_secret);
}

/* ---- the state hands out redacted objects only ---- */

static json_t *put_payload(json_t *manifest)
{
    return json_pack("{s:o, s:s, s:I}", "object", manifest, "actor", "t", "time",
                     (json_int_t)1764115200123LL);
}

static void collect_change(void *ctx, const vg_change_t *ch)
{
    json_array_append((json_t *)ctx, ch->object);
}

static void test_state_readers_see_placeholders_and_the_collector_the_value(void **unused)
{
    vg_state_t *st = vg_state_new();
    json_t *seen = json_array();
    vg_state_set_observer(st, collect_change, seen);
    vg_apply_result_t res;
    json_t *p = put_payload(device("mqtt", "{\"username\":\"u\",\"password\":\"mq-pass\"}"));
    assert_int_equal(vg_state_apply(st, 1, 1, VG_REC_OBJ_PUT, p, &res), 0);
    json_decref(p);
    assert_placeholder(res.object, "password"); /* the reply to the write */
    json_decref(res.object);
    assert_placeholder(json_array_get(seen, 0), "password"); /* watch fan-out */

    json_t *got = vg_state_get(st, "Device", "pdu-1");
    assert_placeholder(got, "password");
    json_decref(got);
    json_t *items;
    assert_int_equal(vg_state_list(st, "Device", NULL, &items, NULL, 0), 0);
    assert_placeholder(json_array_get(items, 0), "password");
    json_decref(items);
    json_array_clear(seen);
    assert_int_equal(vg_state_changes_since(st, 0, collect_change, seen), 0);
    assert_placeholder(json_array_get(seen, 0), "password"); /* watch replay */

    got = vg_state_get_unredacted(st, "Device", "pdu-1");
    assert_option(got, "password", "mq-pass");
    json_decref(got);
    assert_int_equal(vg_state_list_unredacted(st, "Device", NULL, &items, NULL, 0), 0);
    assert_option(json_array_get(items, 0), "password", "mq-pass");
    json_decref(items);
    /* a snapshot keeps the value (it is sealed on disk) */
    vg_buf_t dump = VG_BUF_INIT;
    vg_state_dump(st, &dump);
    assert_non_null(memmem(dump.data, dump.len, "mq-pass", 7));
    vg_buf_release(&dump);
    vg_state_set_observer(st, NULL, NULL);
    json_decref(seen);
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_hides_every_secret_the_driver_marks),
        cmocka_unit_test(test_redact_leaves_objects_without_secrets_alone),
        cmocka_unit_test(test_update_placeholder_and_left_out_secret_keep_the_stored_value),
        cmocka_unit_test(test_update_what_get_shows_round_trips_to_the_stored_spec),
        cmocka_unit_test(test_update_plain_value_changes_and_null_removes_the_secret),
        cmocka_unit_test(test_update_placeholder_with_nothing_stored_is_refused),
        cmocka_unit_test(test_update_never_moves_a_secret_to_another_driver),
        cmocka_unit_test(test_update_drops_a_left_out_secret_the_new_settings_refuse),
        cmocka_unit_test(test_update_errors_never_show_a_secret),
        cmocka_unit_test(test_validate_takes_placeholders_for_secrets_only),
        cmocka_unit_test(test_state_readers_see_placeholders_and_the_collector_the_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

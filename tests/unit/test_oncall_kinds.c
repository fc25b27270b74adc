/*
 * test_oncall_kinds.c - the manifests of on-call duty: Person, Team,
 * Schedule, EscalationPolicy and Contact. A good one of each is accepted
 * as written; each bad one is refused naming the field at fault, down to
 * the element of a list ("spec.steps[0].notify[1].person").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "schema/schema.h"

static const char person[] =
    "{\"kind\": \"Person\", \"name\": \"alice\", \"spec\": {"
    " \"full_name\": \"Alice Janssen\", \"email\": \"alice@example.org\","
    " \"phone\": \"+31 20 123 4567\", \"timezone\": \"Europe/Amsterdam\", \"manager\": \"bob\","
    " \"contact_methods\": ["
    "  {\"name\": \"pager\", \"type\": \"webhook\", \"url\": \"https://events.example.com/v2\","
    "   \"format\": \"pagerduty\", \"routing_key\": \"R0UT1NGKEY\"},"
    "  {\"name\": \"mail\", \"type\": \"email\", \"address\": \"alice@example.org\"},"
    "  {\"name\": \"sms\", \"type\": \"exec\", \"command\": [\"/usr/local/bin/sms\", "
    "\"+31\"]}],"
    " \"notification_rules\": [{\"contact\": \"pager\", \"delay_minutes\": 0},"
    "  {\"contact\": \"%s\", \"delay_minutes\": 5}]}}";

static const char team[] = "{\"kind\": \"Team\", \"name\": \"facilities\", \"description\": "
                           "\"power and cooling\", \"spec\": {\"members\": [\"alice\", "
                           "\"bob\"], \"schedule\": \"facilities-primary\"}}";

static const char schedule[] =
    "{\"kind\": \"Schedule\", \"name\": \"facilities-primary\", \"spec\": {"
    " \"timezone\": \"%s\", \"layers\": ["
    "  {\"name\": \"days\", \"people\": [\"alice\", \"bob\"], \"start\": \"2026-01-05T08:00\","
    "   \"turn\": \"1w\", \"restrictions\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\","
    "   \"fri\"], \"from\": \"08:00\", \"to\": \"18:00\"}]},"
    "  {\"name\": \"nights\", \"people\": [\"carol\"], \"start\": \"2026-01-05T08:00\","
    "   \"turn\": \"1w\", \"restrictions\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\","
    "   \"fri\"], \"from\": \"%s\", \"to\": \"08:00\"}]}],"
    " \"overrides\": [{\"person\": \"carol\", \"start\": \"2026-12-24T18:00\","
    "   \"end\": \"2026-12-27T09:00\"}]}}";

static const char policy[] =
    "{\"kind\": \"EscalationPolicy\", \"name\": \"power\", \"spec\": {"
    " \"match\": {\"severity\": [\"critical\", \"error\"], \"site\": \"dc1\","
    "  \"labels\": {\"system\": \"power\"}},"
    " \"steps\": [{\"notify\": [{\"schedule\": \"facilities-primary\"}, %s],"
    "  \"wait_minutes\": 10},"
    "  {\"notify\": [{\"team\": \"facilities\"}, {\"contact\": \"fuel-supplier\"}]}],"
    " \"repeat\": 2}}";

static const char contact[] =
    "{\"kind\": \"Contact\", \"name\": \"fuel-supplier\", \"spec\": {"
    " \"organisation\": \"Diesel & Co\", \"message\": \"Generator fuel needed at dc1\","
    " \"contact_methods\": [%s]}}";

static json_t *validate(const char *text, char *err, size_t errlen, char *field,
                        size_t fieldlen, int *rc)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr), *out = NULL;
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    *rc = vg_schema_validate(doc, NULL, NULL, &out, err, errlen, field, fieldlen);
    json_decref(doc);
    return out;
}

static json_t *expect_accept(const char *text)
{
    char err[512] = "", field[160] = "";
    int rc;
    json_t *out = validate(text, err, sizeof err, field, sizeof field, &rc);
    if (rc)
        fail_msg("refused: %s (field '%s')", err, field);
    return out;
}

static void expect_refused(const char *text, const char *field, const char *message)
{
    char err[512] = "", at[160] = "";
    int rc;
    json_t *out = validate(text, err, sizeof err, at, sizeof at, &rc);
    if (rc != -EINVAL)
        fail_msg("expected -EINVAL, got %d: %s", rc, text);
    assert_null(out);
    if (strcmp(at, field) != 0)
        fail_msg("field is '%s', expected '%s' (err '%s')", at, field, err);
    if (!strstr(err, message))
        fail_msg("error '%s' does not contain '%s'", err, message);
}

/* Formats a template with one or two substitutions. */
static const char *fill(char *buf, size_t len, const char *template, const char *a,
                        const char *b)
{
    snprintf(buf, len, template, a, b);
    return buf;
}

static void test_oncall_kinds_accept_a_good_manifest_of_each(void **state)
{
    (void)state;
    char text[4096];
    json_t *out = expect_accept(fill(text, sizeof text, person, "mail", ""));
    const json_t *methods = json_object_get(json_object_get(out, "spec"), "contact_methods");
    assert_int_equal(json_array_size(methods), 3); /* kept as given */
    assert_string_equal(json_string_value(json_object_get(json_array_get(methods, 2), "type")),
                        "exec");
    json_decref(out);
    json_decref(expect_accept(team));
    json_decref(expect_accept(fill(text, sizeof text, schedule, "Europe/Amsterdam", "18:00")));
    json_decref(expect_accept(fill(text, sizeof text, policy, "{\"person\": \"alice\"}", "")));
    json_decref(expect_accept(fill(
        text, sizeof text, contact,
        "{\"name\": \"desk\", \"type\": \"email\", \"address\": \"orders@diesel.example\"}",
        "")));
}

static void test_oncall_kinds_schedule_with_overlapping_layers_is_refused(void **state)
{
    (void)state;
    char text[4096];
    expect_refused(fill(text, sizeof text, schedule, "Europe/Amsterdam", "17:00"),
                   "spec.layers[1].restrictions[0]", "same time as layer 'days' (mon 17:00");
}

static void test_oncall_kinds_time_zone_must_exist(void **state)
{
    (void)state;
    char text[4096];
    expect_refused(fill(text, sizeof text, schedule, "Europe/Atlantis", "18:00"),
                   "spec.timezone", "unknown time zone 'Europe/Atlantis'");
    expect_refused("{\"kind\": \"Person\", \"name\": \"x\", \"spec\": {\"timezone\": "
                   "\"../../etc/passwd\"}}",
                   "spec.timezone", "not a time zone name");
}

static void test_oncall_kinds_escalation_step_naming_nobody_is_refused(void **state)
{
    (void)state;
    char text[4096];
    expect_refused(fill(text, sizeof text, policy, "{}", ""), "spec.steps[0].notify[1]",
                   "names nobody");
    expect_refused(fill(text, sizeof text, policy, "{\"person\": \"Alice Smith\"}", ""),
                   "spec.steps[0].notify[1].person", "");
    expect_refused(fill(text, sizeof text, policy, "{\"person\": \"a\", \"team\": \"b\"}", ""),
                   "spec.steps[0].notify[1]", "more than one");
    expect_refused(fill(text, sizeof text, policy, "{\"pager\": \"a\"}", ""),
                   "spec.steps[0].notify[1].pager", "unknown field");
    expect_refused("{\"kind\": \"EscalationPolicy\", \"name\": \"p\", \"spec\": {\"steps\": "
                   "[{\"notify\": [], \"wait_minutes\": 5}]}}",
                   "spec.steps[0].notify", "names nobody");
    expect_refused("{\"kind\": \"EscalationPolicy\", \"name\": \"p\", \"spec\": {\"steps\": "
                   "[{\"notify\": [{\"person\": \"a\"}], \"wait_minutes\": 2000}]}}",
                   "spec.steps[0].wait_minutes", "out of range");
    expect_refused("{\"kind\": \"EscalationPolicy\", \"name\": \"p\", \"spec\": {\"steps\": "
                   "{\"notify\": []}}}",
                   "spec.steps", "expected a list");
    expect_refused("{\"kind\": \"EscalationPolicy\", \"name\": \"p\", \"spec\": {\"match\": "
                   "{\"severity\": [\"panic\"]}, \"steps\": [{\"notify\": [{\"person\": "
                   "\"a\"}]}]}}",
                   "spec.match.severity[0]", "critical, error");
}

static void test_oncall_kinds_rule_naming_an_unknown_contact_method_is_refused(void **state)
{
    (void)state;
    char text[4096];
    expect_refused(fill(text, sizeof text, person, "telegram", ""),
                   "spec.notification_rules[1].contact", "'telegram' is not one of");
}

static void test_oncall_kinds_contact_methods_take_only_their_types_fields(void **state)
{
    (void)state;
    char text[4096];
    struct {
        const char *method, *field, *message;
    } cases[] = {
        {"{\"name\": \"w\", \"type\": \"webhook\", \"url\": \"ftp://x.example\"}",
         "spec.contact_methods[0].url", "http:// or https://"},
        {"{\"name\": \"w\", \"type\": \"webhook\", \"url\": \"https://x.example\", \"format\": "
         "\"pagerduty\"}",
         "spec.contact_methods[0].routing_key", "routing key"},
        {"{\"name\": \"m\", \"type\": \"email\", \"address\": \"a@b.example\", \"url\": "
         "\"https://x.example\"}",
         "spec.contact_methods[0].url", "not a field of an email method"},
        {"{\"name\": \"m\", \"type\": \"email\", \"address\": \"nobody\"}",
         "spec.contact_methods[0].address", "address like"},
        {"{\"name\": \"e\", \"type\": \"exec\", \"command\": [\"sms\"]}",
         "spec.contact_methods[0].command", "absolute path"},
        {"{\"name\": \"e\", \"type\": \"pigeon\"}", "spec.contact_methods[0].type", "webhook"},
        {"{\"name\": \"m\", \"type\": \"email\", \"address\": \"a@b.example\"}, {\"name\": "
         "\"m\", \"type\": \"email\", \"address\": \"c@b.example\"}",
         "spec.contact_methods[1].name", "another method"},
        {"", "spec.contact_methods", "must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_refused(fill(text, sizeof text, contact, cases[i].method, ""), cases[i].field,
                       cases[i].message);
}

static void test_oncall_kinds_team_needs_members(void **state)
{
    (void)state;
    expect_refused("{\"kind\": \"Team\", \"name\": \"t\", \"spec\": {\"members\": []}}",
                   "spec.members", "at least one");
    expect_refused("{\"kind\": \"Team\", \"name\": \"t\", \"spec\": {\"members\": [\"Bob\"]}}",
                   "spec.members[0]", "");
}

static void test_oncall_kinds_describe_shows_list_fields(void **state)
{
    (void)state;
    json_t *out = vg_schema_describe(vg_schema_kind("EscalationPolicy"));
    const json_t *fields = json_object_get(out, "fields");
    const json_t *steps = NULL;
    for (size_t i = 0; i < json_array_size(fields); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
                   "steps") == 0)
            steps = json_array_get(fields, i);
    assert_non_null(steps);
    assert_string_equal(json_string_value(json_object_get(steps, "type")), "list");
    assert_int_equal(json_integer_value(json_object_get(steps, "max")), 16);
    assert_non_null(strstr(json_string_value(json_object_get(steps, "help")), "notify"));
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oncall_kinds_accept_a_good_manifest_of_each),
        cmocka_unit_test(test_oncall_kinds_schedule_with_overlapping_layers_is_refused),
        cmocka_unit_test(test_oncall_kinds_time_zone_must_exist),
        cmocka_unit_test(test_oncall_kinds_escalation_step_naming_nobody_is_refused),
        cmocka_unit_test(test_oncall_kinds_rule_naming_an_unknown_contact_method_is_refused),
        cmocka_unit_test(test_oncall_kinds_contact_methods_take_only_their_types_fields),
        cmocka_unit_test(test_oncall_kinds_team_needs_members),
        cmocka_unit_test(test_oncall_kinds_describe_shows_list_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

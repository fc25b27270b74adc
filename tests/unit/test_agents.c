/*
 * test_agents.c - the pure parts of the agents (agents.h): the Service
 * kind's checks (a good manifest is accepted, each bad one refused naming
 * the field), its connection strings kept secret, Service objects read in
 * move order, and the steps of a move in their order: every other site
 * fenced before the new one is promoted, hooks around the agent's steps,
 * the health check last.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "agents/agents.h"
#include "schema/schema.h"

static const char db[] =
    "{\"kind\": \"Service\", \"name\": \"orders-db\", \"spec\": {\"agent\": \"postgresql\","
    " \"order\": 10, \"timeout_s\": 5, \"retries\": 1,"
    " \"before\": [\"/usr/local/bin/drain\", \"orders\"],"
    " \"sites\": [{\"name\": \"dc1\", \"conninfo\": \"host=db1 password=hunter2\","
    "   \"health_url\": \"http://db1:8008/health\"},"
    "  {\"name\": \"dc2\", \"conninfo\": \"host=db2 password=hunter2\"}]}}";

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(v);
    return v;
}

/* Validates text with one change: path (a key of spec, or of its first
 * site when it starts with "site.") set to value (JSON text; NULL removes). */
static int check_with(const char *key, const char *value, char *field, size_t fieldlen)
{
    json_t *m = parse(db);
    json_t *spec = json_object_get(m, "spec");
    json_t *where = spec;
    if (!strncmp(key, "site.", 5)) {
        where = json_array_get(json_object_get(spec, "sites"), 0);
        key += 5;
    }
    if (value)
        json_object_set_new(where, key, parse(value));
    else
        json_object_del(where, key);
    char err[512];
    json_t *out = NULL;
    field[0] = '\0';
    int rc = vg_schema_validate(m, NULL, NULL, &out, err, sizeof err, field, fieldlen);
    json_decref(out);
    json_decref(m);
    return rc;
}

static void test_agents_good_service_is_accepted(void **state)
{
    (void)state;
    char field[VG_SCHEMA_PATH_MAX];
    assert_int_equal(check_with("order", "10", field, sizeof field), 0);
}

static void test_agents_bad_services_are_refused_naming_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *field;
    } cases[] = {
        {"agent", "\"mysql\"", "spec.agent"},
        {"sites", "[]", "spec.sites"},
        {"site.conninfo", NULL, "spec.sites[0].conninfo"},
        {"site.health_url", "\"ftp://db1/health\"", "spec.sites[0].health_url"},
        {"site.conninfo", "\"host=db1 passwordhunter2\"", "spec.sites[0].conninfo"},
        {"site.name", "\"dc2\"", "spec.sites[1].name"},
        {"before", "[\"drain\"]", "spec.before"},
        {"timeout_s", "0", "spec.timeout_s"},
        {"retries", "11", "spec.retries"},
        {"colour", "\"red\"", "spec.colour"},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        char field[VG_SCHEMA_PATH_MAX];
        assert_int_equal(check_with(cases[i].key, cases[i].value, field, sizeof field),
                         -EINVAL);
        if (strcmp(field, cases[i].field))
            fail_msg("case %zu: field '%s', expected '%s'", i, field, cases[i].field);
    }
}

static void test_agents_exec_service_needs_a_hook_and_no_conninfo(void **state)
{
    (void)state;
    json_t *m = parse("{\"kind\": \"Service\", \"name\": \"shop\", \"spec\": {\"agent\": "
                      "\"exec\", \"sites\": [{\"name\": \"dc1\"}]}}");
    char err[512], field[VG_SCHEMA_PATH_MAX];
    json_t *out = NULL;
    assert_int_equal(
        vg_schema_validate(m, NULL, NULL, &out, err, sizeof err, field, sizeof field), -EINVAL);
    assert_string_equal(field, "spec.before");
    json_object_set_new(json_object_get(m, "spec"), "after", parse("[\"/bin/true\"]"));
    assert_int_equal(
        vg_schema_validate(m, NULL, NULL, &out, err, sizeof err, field, sizeof field), 0);
    json_decref(out);
    json_object_set_new(json_array_get(json_object_get(json_object_get(m, "spec"), "sites"), 0),
                        "conninfo", json_string("host=x"));
    out = NULL;
    assert_int_equal(
        vg_schema_validate(m, NULL, NULL, &out, err, sizeof err, field, sizeof field), -EINVAL);
    assert_string_equal(field, "spec.sites[0].conninfo");
    json_decref(m);
}

static void test_agents_conninfo_is_a_secret(void **state)
{
    (void)state;
    /* a malformed one is refused without being quoted */
    json_t *bad = parse(db);
    json_t *site = json_array_get(json_object_get(json_object_get(bad, "spec"), "sites"), 1);
    json_object_set_new(site, "conninfo", json_string("host=db2 passwordhunter2"));
    char err[512], field[VG_SCHEMA_PATH_MAX];
    json_t *out = NULL;
    assert_int_equal(
        vg_schema_validate(bad, NULL, NULL, &out, err, sizeof err, field, sizeof field),
        -EINVAL);
    assert_null(strstr(err, "hunter2"));
    json_decref(bad);
    /* a stored one is shown as the placeholder, and its stand-in checks */
    json_t *obj = parse(db);
    assert_int_equal(vg_schema_redact(obj), 2);
    char *text = json_dumps(obj, 0);
    assert_null(strstr(text, "hunter2"));
    free(text);
    site = json_array_get(json_object_get(json_object_get(obj, "spec"), "sites"), 0);
    assert_true(vg_schema_is_secret_placeholder(json_object_get(site, "conninfo")));
    json_t *standins =
        vg_schema_secret_standins(vg_schema_kind("Service"), json_object_get(obj, "spec"));
    assert_non_null(standins);
    json_object_set_new(obj, "spec", standins);
    assert_int_equal(
        vg_schema_validate(obj, NULL, NULL, &out, err, sizeof err, field, sizeof field), 0);
    json_decref(out);
    json_decref(obj);
}

static json_t *service(const char *name, int order, const char *agent)
{
    return json_pack("{s:s, s:s, s:{s:s, s:i, s:[{s:s, s:s}, {s:s, s:s}]}}", "kind", "Service",
                     "name", name, "spec", "agent", agent, "order", order, "sites", "name",
                     "dc1", "conninfo", "host=a", "name", "dc2", "conninfo", "host=b");
}

static void test_agents_services_move_in_declared_order(void **state)
{
    (void)state;
    json_t *objects = json_array();
    json_array_append_new(objects, service("web", 30, "postgresql"));
    json_array_append_new(objects, service("db-b", 10, "postgresql"));
    json_array_append_new(objects, service("db-a", 10, "postgresql"));
    json_array_append_new(objects,
                          json_pack("{s:s, s:s}", "kind", "Service", "name", "broken"));
    struct vg_agent_spec *specs;
    size_t n;
    vg_agent_specs_from(objects, &specs, &n);
    assert_int_equal(n, 3); /* the unusable one is left out */
    assert_string_equal(specs[0].name, "db-a");
    assert_string_equal(specs[1].name, "db-b");
    assert_string_equal(specs[2].name, "web");
    assert_int_equal(specs[0].timeout_s, 10); /* defaults */
    assert_int_equal(specs[0].retries, 2);
    vg_agent_specs_free(specs, n);
    json_decref(objects);
}

static void test_agents_plan_fences_every_other_site_before_promoting(void **state)
{
    (void)state;
    json_t *obj = parse(db);
    json_t *sites = json_object_get(json_object_get(obj, "spec"), "sites");
    json_array_append_new(sites, json_pack("{s:s, s:s}", "name", "dc3", "conninfo", "host=c"));
    json_object_set_new(json_object_get(obj, "spec"), "after", parse("[\"/bin/true\"]"));
    struct vg_agent_spec spec;
    char err[256];
    assert_int_equal(vg_agent_spec_parse(obj, &spec, err, sizeof err), 0);
    struct vg_agent_step steps[16];
    size_t n = vg_agent_plan(&spec, 1, "dc1", steps, VG_ARRAY_LEN(steps));
    static const struct {
        enum vg_agent_step_kind kind;
        const char *site;
    } want[] = {
        {VG_STEP_BEFORE, "dc1"},  {VG_STEP_FENCE, "dc2"},       {VG_STEP_FENCE, "dc3"},
        {VG_STEP_PROMOTE, "dc1"}, {VG_STEP_WRITE_CHECK, "dc1"}, {VG_STEP_AFTER, "dc1"},
        {VG_STEP_HEALTH, "dc1"},
    };
    assert_int_equal(n, VG_ARRAY_LEN(want));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(steps[i].kind, want[i].kind);
        assert_string_equal(steps[i].site, want[i].site);
    }
    /* at dc2: no health URL there, so no health step */
    n = vg_agent_plan(&spec, 1, "dc2", steps, VG_ARRAY_LEN(steps));
    assert_int_equal(n, 6);
    assert_int_equal(steps[n - 1].kind, VG_STEP_AFTER);
    /* a site the service is not at: nothing to do */
    assert_int_equal(vg_agent_plan(&spec, 1, "dc9", steps, VG_ARRAY_LEN(steps)), 0);
    /* counting without room */
    assert_int_equal(vg_agent_plan(&spec, 1, "dc1", NULL, 0), 7);
    vg_agent_spec_release(&spec);
    json_decref(obj);
}

static void test_agents_plan_keeps_service_order(void **state)
{
    (void)state;
    json_t *objects = json_array();
    json_array_append_new(objects, service("app", 20, "postgresql"));
    json_array_append_new(objects, service("db", 10, "postgresql"));
    struct vg_agent_spec *specs;
    size_t n;
    vg_agent_specs_from(objects, &specs, &n);
    struct vg_agent_step steps[16];
    size_t k = vg_agent_plan(specs, n, "dc2", steps, VG_ARRAY_LEN(steps));
    assert_int_equal(k, 6);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(specs[steps[i].service].name, "db");
    for (size_t i = 3; i < 6; i++)
        assert_string_equal(specs[steps[i].service].name, "app");
    assert_int_equal(steps[0].kind, VG_STEP_FENCE);
    assert_string_equal(steps[0].site, "dc1");
    vg_agent_specs_free(specs, n);
    json_decref(objects);
}

static void test_agents_exec_hook_sees_its_variables_and_is_cut_at_its_deadline(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "echo \"$VIGIL_NEW_PRIMARY $VIGIL_REASON\"; exit 3", NULL};
    const char *env[] = {"VIGIL_NEW_PRIMARY=dc2", "VIGIL_REASON=failover", NULL};
    vg_buf_t out = VG_BUF_INIT;
    char msg[256];
    assert_int_equal(vg_agent_exec(argv, env, 5, &out, msg, sizeof msg), -EIO);
    assert_string_equal(msg, "exit status 3");
    assert_int_equal(out.len, strlen("dc2 failover\n"));
    assert_memory_equal(out.data, "dc2 failover\n", out.len);
    vg_buf_reset(&out);
    char *slow[] = {"/bin/sh", "-c", "yes vigil | head -c 100000; sleep 30", NULL};
    uint64_t t0 = vg_mono_ms();
    assert_int_equal(vg_agent_exec(slow, NULL, 1, &out, msg, sizeof msg), -ETIMEDOUT);
    assert_true(vg_mono_ms() - t0 < 5000);
    assert_int_equal(out.len, VG_AGENT_OUTPUT_MAX); /* kept bounded */
    vg_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agents_good_service_is_accepted),
        cmocka_unit_test(test_agents_bad_services_are_refused_naming_the_field),
        cmocka_unit_test(test_agents_exec_service_needs_a_hook_and_no_conninfo),
        cmocka_unit_test(test_agents_conninfo_is_a_secret),
        cmocka_unit_test(test_agents_services_move_in_declared_order),
        cmocka_unit_test(test_agents_plan_fences_every_other_site_before_promoting),
        cmocka_unit_test(test_agents_plan_keeps_service_order),
        cmocka_unit_test(test_agents_exec_hook_sees_its_variables_and_is_cut_at_its_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

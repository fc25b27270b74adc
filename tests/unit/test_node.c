/*
 * test_node.c - node files: a complete file loads with the protocol's
 * default timing, relative paths resolve against the file's directory, and
 * every kind of mistake is refused with the field named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cluster/node.h"

static const char good[] = "name: dc1-a\n"
                           "site: dc1\n"
                           "data: /var/lib/vigil\n"
                           "listen: 127.0.0.1:7700\n"
                           "peer_listen: 10.0.1.1:7701\n"
                           "peer: {name: dc2-a, address: 10.0.2.1:7701}\n"
                           "witness: {address: 10.0.3.1:7702}\n"
                           "tls: {cert: dc1-a.crt, key: dc1-a.key, ca: /etc/vigil/ca.crt}\n";

static char err[512];

static int parse(const char *text, struct vg_node *node)
{
    err[0] = 0;
    return vg_node_parse(text, strlen(text), "node.yaml", "/etc/vigil", node, err, sizeof err);
}

static void test_complete_file_loads_with_default_timing(void **unused)
{
    struct vg_node n;
    assert_int_equal(parse(good, &n), 0);
    assert_string_equal(n.name, "dc1-a");
    assert_string_equal(n.peer_name, "dc2-a");
    assert_string_equal(n.witness_name, "witness");
    assert_string_equal(n.tls_cert, "/etc/vigil/dc1-a.crt"); /* relative to the file */
    assert_string_equal(n.tls_ca, "/etc/vigil/ca.crt");
    assert_string_equal(n.keyring, "/var/lib/vigil/keyring");
    assert_int_equal(n.timing.heartbeat_ms, 100);
    assert_int_equal(n.timing.ack_timeout_ms, 500);
    assert_int_equal(n.timing.lease_ms, 400);
    assert_int_equal(n.timing.dead_after_ms, 800);
    assert_int_equal(n.api_tls, 0); /* plain HTTP on loopback unless asked */
}

static void expect_refused(const char *text, const char *needle)
{
    struct vg_node n;
    assert_int_equal(parse(text, &n), -EINVAL);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_mistakes_are_refused_naming_the_field(void **unused)
{
    char text[2048];
    snprintf(text, sizeof text, "%scolour: red\n", good);
    expect_refused(text, "colour: unknown field");
    snprintf(text, sizeof text, "%stiming: {lease_ms: fast}\n", good);
    expect_refused(text, "timing.lease_ms: expected milliseconds");
    snprintf(text, sizeof text, "%stiming: {heartbeat: 5}\n", good);
    expect_refused(text, "timing.heartbeat: unknown field");
    expect_refused("name: dc1-a\n", "required");
    snprintf(text, sizeof text, "%s", good);
    memcpy(strstr(text, "10.0.2.1:7701"), "10.0.2.1:77x1", 13);
    expect_refused(text, "peer.address: '10.0.2.1:77x1' is not HOST:PORT");
    snprintf(text, sizeof text, "%s", good);
    memcpy(strstr(text, "name: dc1-a"), "name: DC1-A", 11);
    expect_refused(text, "name:");
    expect_refused("- a\n- b\n", "expected one mapping");
    expect_refused("name: [unclosed\n", "line");
}

static void test_api_tls_asks_for_https_on_loopback(void **unused)
{
    char text[2048];
    struct vg_node n;
    snprintf(text, sizeof text, "%sapi_tls: true\n", good);
    assert_int_equal(parse(text, &n), 0);
    assert_int_equal(n.api_tls, 1);
    snprintf(text, sizeof text, "%sapi_tls: false\n", good);
    assert_int_equal(parse(text, &n), 0);
    assert_int_equal(n.api_tls, 0);
    snprintf(text, sizeof text, "%sapi_tls: yes please\n", good);
    expect_refused(text, "api_tls: expected true or false");
}

static void test_peer_must_be_another_member(void **unused)
{
    char text[2048];
    snprintf(text, sizeof text, "%s", good);
    memcpy(strstr(text, "name: dc2-a"), "name: dc1-a", 11);
    expect_refused(text, "peer.name: must differ");
}

static void test_lease_must_expire_before_dead_after(void **unused)
{
    char text[2048];
    snprintf(text, sizeof text, "%stiming: {lease_ms: 700, dead_after_ms: 800}\n", good);
    expect_refused(text, "lease_ms (700) + 2 heartbeats (200) must not exceed dead_after_ms");
    snprintf(text, sizeof text, "%stiming: {ack_timeout_ms: 150}\n", good);
    expect_refused(text, "ack_timeout_ms (150) must be at least two heartbeats");
    snprintf(text, sizeof text,
             "%stiming: {heartbeat_ms: 50, lease_ms: 200, dead_after_ms: 400, "
             "ack_timeout_ms: 250}\n",
             good);
    struct vg_node n;
    assert_int_equal(parse(text, &n), 0);
    assert_int_equal(n.timing.dead_after_ms, 400);
}

static void test_missing_file_is_named(void **unused)
{
    struct vg_node n;
    assert_int_equal(vg_node_load("/nonexistent/node.yaml", &n, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/node.yaml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_file_loads_with_default_timing),
        cmocka_unit_test(test_mistakes_are_refused_naming_the_field),
        cmocka_unit_test(test_api_tls_asks_for_https_on_loopback),
        cmocka_unit_test(test_peer_must_be_another_member),
        cmocka_unit_test(test_lease_must_expire_before_dead_after),
        cmocka_unit_test(test_missing_file_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

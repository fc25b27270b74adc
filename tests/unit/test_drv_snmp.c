/*
 * test_drv_snmp.c - what the snmp and snmp-trap drivers refuse in a
 * manifest (options and sources, with the dotted field first and no secret
 * in the message), how SNMP values become readings, and the trap decoder
 * on real traps captured from net-snmp's snmptrap (tests/fixtures/snmp/, .bin files),
 * every truncation of them and corrupted copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sense/driver.h"
#include "sense/snmp_common.h"

static char err[512];

static int check_snmp(const char *options_json, const char *source_json)
{
    json_t *options = json_loads(options_json, 0, NULL);
    json_t *source = source_json ? json_loads(source_json, 0, NULL) : NULL;
    assert_non_null(options);
    err[0] = '\0';
    int rc = vg_driver_lookup("snmp")->check(options, source, err, sizeof err);
    json_decref(options);
    json_decref(source);
    return rc;
}

static int check_trap(const char *options_json, const char *source_json)
{
    json_t *options = json_loads(options_json, 0, NULL);
    json_t *source = source_json ? json_loads(source_json, 0, NULL) : NULL;
    err[0] = '\0';
    int rc = vg_driver_lookup("snmp-trap")->check(options, source, err, sizeof err);
    json_decref(options);
    json_decref(source);
    return rc;
}

static void assert_err_is(const char *want)
{
    if (strcmp(err, want) != 0)
        fail_msg("error '%s', expected '%s'", err, want);
}

static void assert_err_starts(const char *want)
{
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, want);
}

/* ---- options ---- */

static void test_snmp_accepts_v2c_with_community(void **state)
{
    assert_int_equal(check_snmp("{\"community\": \"public\"}", NULL), 0);
    assert_int_equal(check_snmp("{\"version\": \"2c\", \"community\": \"c\"}", NULL), 0);
}

static void test_snmp_refuses_unknown_version_quoting_it(void **state)
{
    assert_int_equal(check_snmp("{\"version\": \"4\", \"community\": \"c\"}", NULL), -EINVAL);
    assert_err_is("options.version: '4' is not one of 2c, 3");
    assert_int_equal(check_snmp("{\"version\": 1, \"community\": \"c\"}", NULL), -EINVAL);
    assert_err_is("options.version: '1' is not one of 2c, 3");
}

static void test_snmp_v2c_requires_community(void **state)
{
    assert_int_equal(check_snmp("{}", NULL), -EINVAL);
    assert_err_is("options.community: required");
}

static void test_snmp_refuses_unknown_option(void **state)
{
    assert_int_equal(check_snmp("{\"community\": \"c\", \"retries\": 3}", NULL), -EINVAL);
    assert_err_starts("options.retries: not used by the snmp driver (version, community");
}

static void test_snmp_refuses_fields_of_the_other_version(void **state)
{
    assert_int_equal(check_snmp("{\"community\": \"c\", \"user\": \"u\"}", NULL), -EINVAL);
    assert_err_is("options.user: only for version 3");
    assert_int_equal(
        check_snmp("{\"version\": \"3\", \"user\": \"u\", \"community\": \"c\"}", NULL),
        -EINVAL);
    assert_err_is("options.community: only for version 2c");
}

static void test_snmp_v3_levels_follow_the_passphrases(void **state)
{
    assert_int_equal(check_snmp("{\"version\": 3, \"user\": \"u\"}", NULL), 0);
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"auth_protocol\": "
                                "\"sha-256\", \"auth_passphrase\": \"12345678\"}",
                                NULL),
                     0);
    assert_int_equal(
        check_snmp("{\"version\": \"3\", \"user\": \"u\", \"security_level\": "
                   "\"authPriv\", \"auth_protocol\": \"MD5\", \"auth_passphrase\": "
                   "\"12345678\", \"priv_protocol\": \"DES\", \"priv_passphrase\": "
                   "\"87654321\", \"context\": \"c1\"}",
                   NULL),
        0);
}

static void test_snmp_v3_requires_user(void **state)
{
    assert_int_equal(check_snmp("{\"version\": \"3\"}", NULL), -EINVAL);
    assert_err_is("options.user: required");
}

static void test_snmp_v3_level_without_its_passphrase_is_refused(void **state)
{
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"security_level\": "
                                "\"authNoPriv\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.auth_passphrase: required for authNoPriv");
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"security_level\": "
                                "\"authPriv\", \"auth_passphrase\": \"12345678\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.priv_passphrase: required for authPriv");
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"priv_passphrase\": "
                                "\"12345678\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.auth_passphrase: required for authPriv");
}

static void test_snmp_passphrase_errors_never_quote_it(void **state)
{
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"auth_passphrase\": "
                                "\"s3cr\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.auth_passphrase: must be at least 8 characters");
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"auth_passphrase\": "
                                "\"s3cret-long\", \"security_level\": \"noAuthNoPriv\"}",
                                NULL),
                     -EINVAL);
    assert_null(strstr(err, "s3cr"));
    assert_err_starts("options.auth_passphrase: given, but security_level is noAuthNoPriv");
}

static void test_snmp_refuses_unknown_protocols_and_levels(void **state)
{
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"auth_protocol\": "
                                "\"SHA1\", \"auth_passphrase\": \"12345678\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.auth_protocol: 'SHA1' is not one of SHA, SHA-224, SHA-256, SHA-384, "
                  "SHA-512, MD5");
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"priv_protocol\": "
                                "\"3DES\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.priv_protocol: '3DES' is not one of AES, DES");
    assert_int_equal(check_snmp("{\"version\": \"3\", \"user\": \"u\", \"security_level\": "
                                "\"paranoid\"}",
                                NULL),
                     -EINVAL);
    assert_err_is("options.security_level: 'paranoid' is not one of noAuthNoPriv, authNoPriv, "
                  "authPriv");
}

static void test_snmp_max_repetitions_range(void **state)
{
    assert_int_equal(check_snmp("{\"community\": \"c\", \"max_repetitions\": 0}", NULL),
                     -EINVAL);
    assert_err_is("options.max_repetitions: 0 is out of range 1..100");
}

/* ---- sources ---- */

static void test_snmp_source_requires_a_numeric_oid(void **state)
{
    const char *opts = "{\"community\": \"c\"}";
    assert_int_equal(check_snmp(opts, "{\"oid\": \"1.3.6.1.4.1.99999.1.1.0\"}"), 0);
    assert_int_equal(check_snmp(opts, "{\"oid\": \".1.3.6.1.2.1.1.3.0\"}"), 0);
    assert_int_equal(check_snmp(opts, "{\"oid\": \"1.3.x\"}"), -EINVAL);
    assert_err_is("source.oid: '1.3.x' is not a numeric OID");
    assert_int_equal(check_snmp(opts, "{}"), -EINVAL);
    assert_err_is("source.oid: required");
    const char *bad[] = {"1", "1..3", "1.3.", "3.1", "1.40", "1.3.4294967296", "SNMPv2-MIB::x"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        char src[128];
        snprintf(src, sizeof src, "{\"oid\": \"%s\"}", bad[i]);
        assert_int_equal(check_snmp(opts, src), -EINVAL);
        assert_err_starts("source.oid: '");
    }
}

static void test_snmp_source_table_must_hold_the_oid(void **state)
{
    const char *opts = "{\"community\": \"c\"}";
    assert_int_equal(check_snmp(opts, "{\"oid\": \"1.3.6.1.4.1.9.2.1.2.3\", \"table\": "
                                      "\"1.3.6.1.4.1.9.2.1.2\"}"),
                     0);
    assert_int_equal(check_snmp(opts, "{\"oid\": \"1.3.6.1.4.1.9.2.1.2.3\", \"table\": "
                                      "\"1.3.6.1.4.1.9.2.1.3\"}"),
                     -EINVAL);
    assert_err_starts(
        "source.table: '1.3.6.1.4.1.9.2.1.3' is not a subtree holding source.oid");
    assert_int_equal(check_snmp(opts, "{\"oid\": \"1.3.6.1.4\", \"table\": \"1.3.6.1.4\"}"),
                     -EINVAL);
}

static void test_source_refuses_other_drivers_keys(void **state)
{
    assert_int_equal(
        check_snmp("{\"community\": \"c\"}", "{\"oid\": \"1.3.6\", \"register\": 4}"), -EINVAL);
    assert_err_is("source.register: not used by the snmp driver (oid, table, map)");
    assert_int_equal(
        check_trap("{\"community\": \"c\"}", "{\"oid\": \"1.3.6\", \"table\": \"1.3\"}"),
        -EINVAL);
    assert_err_is("source.table: not used by the snmp-trap driver (oid, map)");
}

static void test_source_map_values_are_numbers(void **state)
{
    const char *opts = "{\"community\": \"c\"}";
    assert_int_equal(check_trap(opts, "{\"oid\": \"1.3.6\", \"map\": {\"on\": 1, \"off\": 0}}"),
                     0);
    assert_int_equal(check_trap(opts, "{\"oid\": \"1.3.6\", \"map\": {\"on\": \"1\"}}"),
                     -EINVAL);
    assert_err_is("source.map.on: expected a number");
    assert_int_equal(check_trap(opts, "{\"oid\": \"1.3.6\", \"map\": {}}"), -EINVAL);
    assert_err_starts("source.map: expected an object");
}

static void test_trap_requires_community(void **state)
{
    assert_int_equal(check_trap("{}", NULL), -EINVAL);
    assert_err_is("options.community: required");
    assert_int_equal(check_trap("{\"community\": \"c\", \"version\": \"2c\"}", NULL), -EINVAL);
    assert_err_starts("options.version: not used by the snmp-trap driver (community)");
}

/* ---- values ---- */

static int reading(struct vg_snmp_value v, const char *map_json, double *out, char *why)
{
    json_t *map = map_json ? json_loads(map_json, 0, NULL) : NULL;
    int rc = vg_snmp_value_reading(&v, map, out, why, 128);
    json_decref(map);
    return rc;
}

static struct vg_snmp_value string_value(const char *s)
{
    return (struct vg_snmp_value){
        .tag = VG_SNMP_OCTETS, .str = (const uint8_t *)s, .len = strlen(s)};
}

static void test_values_of_every_numeric_type_are_readings(void **state)
{
    double d;
    char why[128];
    assert_int_equal(
        reading((struct vg_snmp_value){.tag = VG_SNMP_INTEGER, .i = -40}, NULL, &d, why), 0);
    assert_true(d == -40);
    assert_int_equal(reading((struct vg_snmp_value){.tag = VG_SNMP_COUNTER64, .u = 5000000000},
                             NULL, &d, why),
                     0);
    assert_true(d == 5e9);
    assert_int_equal(
        reading((struct vg_snmp_value){.tag = VG_SNMP_FLOAT, .d = 21.25}, NULL, &d, why), 0);
    assert_true(d == 21.25);
    assert_int_equal(reading(string_value(" 23.5 "), NULL, &d, why), 0);
    assert_true(d == 23.5);
}

static void test_garbage_values_are_refused_with_the_reason(void **state)
{
    double d;
    char why[128];
    assert_int_equal(reading(string_value("n/a"), NULL, &d, why), -EINVAL);
    assert_string_equal(why, "'n/a' is not a number");
    assert_int_equal(reading(string_value("nan"), NULL, &d, why), -EINVAL);
    assert_int_equal(reading(string_value("0x1f"), NULL, &d, why), -EINVAL);
    assert_int_equal(reading(string_value("1e999"), NULL, &d, why), -EINVAL);
    assert_int_equal(reading(string_value(""), NULL, &d, why), -EINVAL);
    struct vg_snmp_value bin = {
        .tag = VG_SNMP_OCTETS, .str = (const uint8_t *)"1\0002", .len = 3};
    assert_int_equal(reading(bin, NULL, &d, why), -EINVAL);
    assert_string_equal(why, "a binary string of 3 bytes is not a number");
    assert_int_equal(
        reading((struct vg_snmp_value){.tag = VG_SNMP_NO_SUCH_OBJECT}, NULL, &d, why), -EINVAL);
    assert_string_equal(why, "no such object");
    assert_int_equal(reading((struct vg_snmp_value){.tag = VG_SNMP_END_OF_MIB}, NULL, &d, why),
                     -EINVAL);
    assert_string_equal(why, "end of MIB view");
    assert_int_equal(reading((struct vg_snmp_value){.tag = VG_SNMP_IPADDR}, NULL, &d, why),
                     -EINVAL);
    assert_string_equal(why, "type IpAddress is not a reading");
}

static void test_map_turns_words_and_codes_into_readings(void **state)
{
    double d;
    char why[128];
    const char *map = "{\"onBattery\": 1, \"online\": 0, \"3\": 2.5}";
    assert_int_equal(reading(string_value("onBattery"), map, &d, why), 0);
    assert_true(d == 1);
    assert_int_equal(
        reading((struct vg_snmp_value){.tag = VG_SNMP_INTEGER, .i = 3}, map, &d, why), 0);
    assert_true(d == 2.5);
    assert_int_equal(reading(string_value("bypass"), map, &d, why), -EINVAL);
    assert_string_equal(why, "'bypass' is not in source.map");
}

/* ---- the trap decoder ---- */

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/snmp/%s", VG_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static struct vg_snmp_trap trap;

static void test_decodes_a_v2c_trap_from_snmptrap(void **state)
{
    uint8_t buf[1024];
    char why[200], oid[128];
    size_t n = load("trap_v2c.bin", buf, sizeof buf);
    assert_int_equal(vg_snmp_trap_parse(buf, n, &trap, why, sizeof why), 0);
    assert_int_equal(trap.version, 1);
    assert_int_equal(trap.community_len, 8);
    assert_memory_equal(trap.community, "trapcomm", 8);
    vg_snmp_oid_format(&trap.trap_oid, oid, sizeof oid);
    assert_string_equal(oid, "1.3.6.1.4.1.99999.3");
    assert_int_equal(trap.n_vb, 4); /* sysUpTime.0 and snmpTrapOID.0 left out */
    vg_snmp_oid_format(&trap.vb[0].name, oid, sizeof oid);
    assert_string_equal(oid, "1.3.6.1.4.1.99999.3.1.0");
    assert_int_equal(trap.vb[0].value.tag, VG_SNMP_OCTETS);
    assert_memory_equal(trap.vb[0].value.str, "23.5", 4);
    assert_int_equal(trap.vb[1].value.tag, VG_SNMP_INTEGER);
    assert_int_equal(trap.vb[1].value.i, -42);
    assert_int_equal(trap.vb[2].value.tag, VG_SNMP_COUNTER32);
    assert_int_equal(trap.vb[2].value.u, 4000000000u);
    assert_int_equal(trap.vb[3].value.tag, VG_SNMP_COUNTER64);
    assert_int_equal(trap.vb[3].value.u, 5000000000ull);
}

static void test_decodes_a_v1_trap_as_rfc3584_says(void **state)
{
    uint8_t buf[1024];
    char why[200], oid[128];
    size_t n = load("trap_v1.bin", buf, sizeof buf);
    assert_int_equal(vg_snmp_trap_parse(buf, n, &trap, why, sizeof why), 0);
    assert_int_equal(trap.version, 0);
    vg_snmp_oid_format(&trap.trap_oid, oid, sizeof oid);
    assert_string_equal(oid, "1.3.6.1.4.1.99999.0.17");
    assert_int_equal(trap.n_vb, 1);
    assert_int_equal(trap.vb[0].value.tag, VG_SNMP_GAUGE32);
    assert_int_equal(trap.vb[0].value.u, 77);
}

static void test_refuses_informs(void **state)
{
    uint8_t buf[1024];
    char why[200];
    size_t n = load("inform_v2c.bin", buf, sizeof buf);
    assert_int_equal(vg_snmp_trap_parse(buf, n, &trap, why, sizeof why), -EPROTO);
    assert_string_equal(why, "inform requests are not accepted (send traps)");
}

static void test_every_truncation_is_refused(void **state)
{
    const char *files[] = {"trap_v2c.bin", "trap_v1.bin"};
    for (size_t f = 0; f < VG_ARRAY_LEN(files); f++) {
        uint8_t buf[1024];
        char why[200];
        size_t n = load(files[f], buf, sizeof buf);
        for (size_t len = 0; len < n; len++) {
            uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
            memcpy(copy, buf, len);
            if (vg_snmp_trap_parse(copy, len, &trap, why, sizeof why) != -EPROTO)
                fail_msg("%s truncated to %zu bytes was accepted", files[f], len);
            free(copy);
        }
    }
}

static void test_corrupted_bytes_never_crash(void **state)
{
    uint8_t buf[1024], copy[1024];
    char why[200];
    size_t n = load("trap_v2c.bin", buf, sizeof buf);
    const uint8_t evil[] = {0x00, 0x7f, 0x80, 0x81, 0x84, 0xff};
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < sizeof evil; e++) {
            memcpy(copy, buf, n);
            copy[i] = evil[e];
            int rc = vg_snmp_trap_parse(copy, n, &trap, why, sizeof why);
            assert_true(rc == 0 || rc == -EPROTO);
            assert_true(trap.n_vb <= VG_SNMP_TRAP_MAX_VARBINDS);
        }
}

static void test_refuses_snmpv3_and_non_snmp(void **state)
{
    char why[200];
    const uint8_t v3[] = {0x30, 0x03, 0x02, 0x01, 0x03};
    assert_int_equal(vg_snmp_trap_parse(v3, sizeof v3, &trap, why, sizeof why), -EPROTO);
    assert_string_equal(why, "SNMPv3 messages are not accepted");
    const uint8_t text[] = "GET / HTTP/1.0\r\n";
    assert_int_equal(vg_snmp_trap_parse(text, sizeof text - 1, &trap, why, sizeof why),
                     -EPROTO);
    const uint8_t huge_len[] = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(vg_snmp_trap_parse(huge_len, sizeof huge_len, &trap, why, sizeof why),
                     -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snmp_accepts_v2c_with_community),
        cmocka_unit_test(test_snmp_refuses_unknown_version_quoting_it),
        cmocka_unit_test(test_snmp_v2c_requires_community),
        cmocka_unit_test(test_snmp_refuses_unknown_option),
        cmocka_unit_test(test_snmp_refuses_fields_of_the_other_version),
        cmocka_unit_test(test_snmp_v3_levels_follow_the_passphrases),
        cmocka_unit_test(test_snmp_v3_requires_user),
        cmocka_unit_test(test_snmp_v3_level_without_its_passphrase_is_refused),
        cmocka_unit_test(test_snmp_passphrase_errors_never_quote_it),
        cmocka_unit_test(test_snmp_refuses_unknown_protocols_and_levels),
        cmocka_unit_test(test_snmp_max_repetitions_range),
        cmocka_unit_test(test_snmp_source_requires_a_numeric_oid),
        cmocka_unit_test(test_snmp_source_table_must_hold_the_oid),
        cmocka_unit_test(test_source_refuses_other_drivers_keys),
        cmocka_unit_test(test_source_map_values_are_numbers),
        cmocka_unit_test(test_trap_requires_community),
        cmocka_unit_test(test_values_of_every_numeric_type_are_readings),
        cmocka_unit_test(test_garbage_values_are_refused_with_the_reason),
        cmocka_unit_test(test_map_turns_words_and_codes_into_readings),
        cmocka_unit_test(test_decodes_a_v2c_trap_from_snmptrap),
        cmocka_unit_test(test_decodes_a_v1_trap_as_rfc3584_says),
        cmocka_unit_test(test_refuses_informs),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_corrupted_bytes_never_crash),
        cmocka_unit_test(test_refuses_snmpv3_and_non_snmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

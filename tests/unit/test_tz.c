/*
 * test_tz.c - time zones read from the system's zone files: offsets on
 * either side of real daylight-saving changes in both hemispheres, the
 * footer rule for instants past the file's transitions, wall-clock times
 * that do not exist or exist twice, and hostile or unknown zone names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vg.h"
#include "oncall/tz.h"

#define H 3600

static const vg_tz_t *zone(const char *name)
{
    const vg_tz_t *tz = NULL;
    char err[256] = "";
    int rc = vg_tz_get(name, &tz, err, sizeof err);
    if (rc)
        fail_msg("zone '%s': %d %s", name, rc, err);
    return tz;
}

static int zones_installed(void **state)
{
    (void)state;
    if (access("/usr/share/zoneinfo/Europe/Amsterdam", R_OK) != 0) {
        print_message("tzdata is not installed: scripts/deps.sh installs it\n");
        return -1;
    }
    return 0;
}

static void test_tz_amsterdam_spring_forward_at_0100z(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("Europe/Amsterdam");
    assert_int_equal(vg_tz_offset(tz, 1774746000 - 1), 1 * H); /* 2026-03-29 00:59:59Z */
    assert_int_equal(vg_tz_offset(tz, 1774746000), 2 * H);
}

static void test_tz_amsterdam_fall_back_at_0100z(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("Europe/Amsterdam");
    assert_int_equal(vg_tz_offset(tz, 1792890000 - 1), 2 * H); /* 2026-10-25 00:59:59Z */
    assert_int_equal(vg_tz_offset(tz, 1792890000), 1 * H);
}

static void test_tz_new_york_changes_on_its_own_dates(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("America/New_York");
    assert_int_equal(vg_tz_offset(tz, 1772953200 - 1), -5 * H); /* 2026-03-08 07:00Z */
    assert_int_equal(vg_tz_offset(tz, 1772953200), -4 * H);
    assert_int_equal(vg_tz_offset(tz, 1793512800 - 1), -4 * H); /* 2026-11-01 06:00Z */
    assert_int_equal(vg_tz_offset(tz, 1793512800), -5 * H);
    /* between the two European changes and the American ones: 5 h apart, not 6 */
    assert_int_equal(vg_tz_offset(zone("Europe/Amsterdam"), 1774000000) -
                         vg_tz_offset(tz, 1774000000),
                     5 * H);
}

static void test_tz_sydney_summer_is_in_january(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("Australia/Sydney");
    assert_int_equal(vg_tz_offset(tz, 1775318400 - 1), 11 * H); /* 2026-04-04 16:00Z */
    assert_int_equal(vg_tz_offset(tz, 1775318400), 10 * H);
    assert_int_equal(vg_tz_offset(tz, 1791043200 - 1), 10 * H); /* 2026-10-03 16:00Z */
    assert_int_equal(vg_tz_offset(tz, 1791043200), 11 * H);
}

static void test_tz_utc_is_zero_and_local_is_the_same_clock(void **state)
{
    (void)state;
    struct vg_tz_local local;
    const vg_tz_t *tz = zone("UTC");
    assert_int_equal(vg_tz_offset(tz, 1792890000), 0);
    vg_tz_to_local(tz, 1792890000, &local); /* 2026-10-25 01:00:00Z, a Sunday */
    assert_int_equal(local.year, 2026);
    assert_int_equal(local.month, 10);
    assert_int_equal(local.day, 25);
    assert_int_equal(local.hour, 1);
    assert_int_equal(local.minute, 0);
    assert_int_equal(local.weekday, 6);
}

static void test_tz_2040_follows_the_footer_rule(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("Europe/Amsterdam");
    assert_int_equal(vg_tz_offset(tz, 2216250000 - 1), 1 * H); /* 2040-03-25 01:00Z */
    assert_int_equal(vg_tz_offset(tz, 2216250000), 2 * H);
    assert_int_equal(vg_tz_offset(tz, 2234998800 - 1), 2 * H); /* 2040-10-28 01:00Z */
    assert_int_equal(vg_tz_offset(tz, 2234998800), 1 * H);
}

static void test_tz_local_time_of_an_instant_in_summer(void **state)
{
    (void)state;
    struct vg_tz_local local;
    vg_tz_to_local(zone("Europe/Amsterdam"), 1774746000, &local); /* 2026-03-29 01:00Z */
    assert_int_equal(local.hour, 3);
    assert_int_equal(local.day, 29);
    assert_int_equal(local.offset, 2 * H);
    assert_int_equal(local.weekday, 6);
}

static void test_tz_from_local_in_a_gap_gives_the_end_of_the_gap(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("Europe/Amsterdam");
    /* 02:30 on 2026-03-29 is never shown: clocks go from 02:00 to 03:00 */
    assert_int_equal(vg_tz_from_local(tz, 2026, 3, 29, 2, 30, 0), 1774746000);
    assert_int_equal(vg_tz_from_local(tz, 2026, 3, 29, 3, 0, 0), 1774746000);
    assert_int_equal(vg_tz_from_local(tz, 2026, 3, 29, 1, 59, 0), 1774746000 - 60);
}

static void test_tz_from_local_in_a_fold_gives_the_first_time(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("Europe/Amsterdam");
    /* 02:30 on 2026-10-25 is shown twice, at 00:30Z and at 01:30Z */
    assert_int_equal(vg_tz_from_local(tz, 2026, 10, 25, 2, 30, 0), 1792888200);
    assert_int_equal(vg_tz_from_local(tz, 2026, 10, 25, 3, 0, 0), 1792890000 + H);
}

static void test_tz_from_local_normalises_out_of_range_fields(void **state)
{
    (void)state;
    const vg_tz_t *tz = zone("UTC");
    /* 2026-01-32 is 2026-02-01; month 13 of 2025 is January 2026 */
    assert_int_equal(vg_tz_from_local(tz, 2026, 1, 32, 0, 0, 0),
                     vg_tz_from_local(tz, 2026, 2, 1, 0, 0, 0));
    assert_int_equal(vg_tz_from_local(tz, 2025, 13, 1, 0, 0, 0), 1767225600);
}

static void test_tz_unknown_zone_is_enoent_naming_it(void **state)
{
    (void)state;
    const vg_tz_t *tz = NULL;
    char err[256] = "";
    assert_int_equal(vg_tz_get("Europe/Atlantis", &tz, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "Europe/Atlantis"));
    assert_null(tz);
    assert_int_equal(vg_tz_get("Europe", &tz, err, sizeof err), -ENOENT); /* a directory */
}

static void test_tz_rejects_names_that_leave_the_zone_directory(void **state)
{
    (void)state;
    const vg_tz_t *tz = NULL;
    char err[256] = "";
    assert_int_equal(vg_tz_get("../etc/passwd", &tz, err, sizeof err), -EINVAL);
    assert_int_equal(vg_tz_get("/etc/passwd", &tz, err, sizeof err), -EINVAL);
    assert_int_equal(vg_tz_get("Europe/../../etc/passwd", &tz, err, sizeof err), -EINVAL);
    assert_int_equal(vg_tz_get("Europe/Amster dam", &tz, err, sizeof err), -EINVAL);
    assert_int_equal(vg_tz_get("", &tz, err, sizeof err), -EINVAL);
    char long_name[80];
    memset(long_name, 'A', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(vg_tz_get(long_name, &tz, err, sizeof err), -EINVAL);
    assert_null(tz);
}

/* ---- fixtures under $VIGIL_ZONEINFO ---- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A header with one type, four abbreviation bytes and no transitions. */
static size_t put_header(uint8_t *p, char version)
{
    memset(p, 0, 44);
    memcpy(p, "TZif", 4);
    p[4] = (uint8_t)version;
    put32(p + 36, 1);
    put32(p + 40, 4);
    return 44;
}

static size_t put_block(uint8_t *p)
{
    put32(p, 3600); /* CET: +01:00, not DST, abbreviation at 0 */
    p[4] = 0, p[5] = 0;
    memcpy(p + 6, "CET", 4);
    return 10;
}

/* A version 2 file with no transitions at all: only its footer says when
 * summer time is. Returns its length. */
static size_t footer_only_tzif(uint8_t *buf)
{
    static const char footer[] = "\nCET-1CEST,M3.5.0,M10.5.0/3\n";
    size_t n = put_header(buf, '2');
    n += put_block(buf + n);
    n += put_header(buf + n, '2');
    n += put_block(buf + n);
    memcpy(buf + n, footer, sizeof footer - 1);
    return n + sizeof footer - 1;
}

static void write_fixture(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void test_tz_file_without_transitions_uses_its_footer(void **state)
{
    (void)state;
    char dir[] = "/tmp/vigil-tz.XXXXXX";
    uint8_t buf[256];
    const vg_tz_t *tz = NULL;
    char err[256] = "";
    assert_non_null(mkdtemp(dir));
    size_t len = footer_only_tzif(buf);
    write_fixture(dir, "Footer", buf, len);
    write_fixture(dir, "Truncated", buf, len - 10);
    write_fixture(dir, "Garbage",
                  (const uint8_t *)"TZif2 not a zone file at all, really........", 45);
    setenv("VIGIL_ZONEINFO", dir, 1);
    assert_int_equal(vg_tz_get("Footer", &tz, err, sizeof err), 0);
    assert_int_equal(vg_tz_offset(tz, 1774746000 - 1), 1 * H);
    assert_int_equal(vg_tz_offset(tz, 1774746000), 2 * H);
    assert_int_equal(vg_tz_offset(tz, 2234998800), 1 * H);
    assert_int_equal(vg_tz_get("Truncated", &tz, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "Truncated"));
    assert_int_equal(vg_tz_get("Garbage", &tz, err, sizeof err), -EINVAL);
    unsetenv("VIGIL_ZONEINFO");
    for (const char *const *f = (const char *const[]){"Footer", "Truncated", "Garbage", NULL};
         *f; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, *f);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_amsterdam_spring_forward_at_0100z),
        cmocka_unit_test(test_tz_amsterdam_fall_back_at_0100z),
        cmocka_unit_test(test_tz_new_york_changes_on_its_own_dates),
        cmocka_unit_test(test_tz_sydney_summer_is_in_january),
        cmocka_unit_test(test_tz_utc_is_zero_and_local_is_the_same_clock),
        cmocka_unit_test(test_tz_2040_follows_the_footer_rule),
        cmocka_unit_test(test_tz_local_time_of_an_instant_in_summer),
        cmocka_unit_test(test_tz_from_local_in_a_gap_gives_the_end_of_the_gap),
        cmocka_unit_test(test_tz_from_local_in_a_fold_gives_the_first_time),
        cmocka_unit_test(test_tz_from_local_normalises_out_of_range_fields),
        cmocka_unit_test(test_tz_unknown_zone_is_enoent_naming_it),
        cmocka_unit_test(test_tz_rejects_names_that_leave_the_zone_directory),
        cmocka_unit_test(test_tz_file_without_transitions_uses_its_footer),
    };
    return cmocka_run_group_tests(tests, zones_installed, NULL);
}

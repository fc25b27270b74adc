/*
 * test_witness_store.c - the witness's sealed configuration file: it comes
 * back exactly after a reopen, nothing of C is readable on disk, and a
 * damaged, truncated or orphaned file stops the witness instead of being
 * taken for "not bootstrapped".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "crypto/keyring.h"
#include "witness/witness_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMBER_A "north-site-7f3a"
#define MEMBER_B "south-site-c21e"

static char err[512];
static char dir[64];

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[600];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        if (de->d_type == DT_DIR)
            remove_tree(sub);
        else
            unlink(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg-test-witness-XXXXXX");
    err[0] = '\0';
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    remove_tree(dir);
    return 0;
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

/* A mirrored configuration at epoch 7 with a reason worth keeping. */
static vg_witness_cfg_t sample(void)
{
    vg_witness_cfg_t c;
    vg_witness_cfg_init(&c);
    c.epoch = 7;
    snprintf(c.members[0], sizeof c.members[0], MEMBER_A);
    snprintf(c.members[1], sizeof c.members[1], MEMBER_B);
    c.primary = 1;
    c.sync = 3;
    snprintf(c.changed_by, sizeof c.changed_by, MEMBER_B);
    snprintf(c.reason, sizeof c.reason, "planned switchover: cooling work at " MEMBER_A);
    c.changed_at_ms = 1714564800123ull;
    c.forced = true;
    return c;
}

static vg_witness_store_t *open_ok(vg_witness_cfg_t *cfg)
{
    vg_witness_store_t *st = NULL;
    if (vg_witness_store_open(dir, &st, cfg, err, sizeof err))
        fail_msg("open: %s", err);
    return st;
}

static void save_sample(void)
{
    vg_witness_cfg_t loaded, c = sample();
    vg_witness_store_t *st = open_ok(&loaded);
    assert_int_equal(vg_witness_store_save(st, &c, err, sizeof err), 0);
    vg_witness_store_free(st);
}

static size_t read_all(const char *name, uint8_t *buf, size_t cap)
{
    char path[256];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void write_all(const char *name, const uint8_t *buf, size_t n)
{
    char path[256];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static int reopen(void)
{
    vg_witness_store_t *st = NULL;
    vg_witness_cfg_t c;
    err[0] = '\0';
    int rc = vg_witness_store_open(dir, &st, &c, err, sizeof err);
    vg_witness_store_free(st);
    return rc;
}

static void test_fresh_dir_is_epoch_zero_with_private_keyring(void **state)
{
    vg_witness_cfg_t c;
    vg_witness_store_t *st = open_ok(&c);
    assert_int_equal(c.epoch, 0);
    assert_null(vg_witness_cfg_primary(&c));
    char path[256];
    struct stat sb;
    path_of(path, sizeof path, "keyring");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    path_of(path, sizeof path, "config");
    assert_int_equal(stat(path, &sb), -1); /* nothing saved yet */
    vg_witness_store_free(st);
}

static void test_config_round_trips_across_reopen(void **state)
{
    save_sample();
    vg_witness_cfg_t want = sample(), got;
    vg_witness_store_t *st = open_ok(&got);
    assert_int_equal(got.epoch, want.epoch);
    assert_string_equal(got.members[0], MEMBER_A);
    assert_string_equal(got.members[1], MEMBER_B);
    assert_int_equal(got.primary, want.primary);
    assert_int_equal(got.sync, want.sync);
    assert_string_equal(got.changed_by, want.changed_by);
    assert_string_equal(got.reason, want.reason);
    assert_int_equal(got.changed_at_ms, want.changed_at_ms);
    assert_true(got.forced);
    /* a second save replaces the first */
    got.epoch = 8;
    got.sync = 2;
    got.forced = false;
    assert_int_equal(vg_witness_store_save(st, &got, err, sizeof err), 0);
    vg_witness_store_free(st);
    vg_witness_cfg_t again;
    st = open_ok(&again);
    assert_int_equal(again.epoch, 8);
    assert_int_equal(again.sync, 2);
    assert_false(again.forced);
    vg_witness_store_free(st);
    char path[256];
    struct stat sb;
    path_of(path, sizeof path, "config");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    path_of(path, sizeof path, "config.tmp");
    assert_int_equal(stat(path, &sb), -1);
}

static void test_no_plaintext_member_names_in_the_file(void **state)
{
    save_sample();
    uint8_t buf[4096];
    const char *needles[] = {MEMBER_A, MEMBER_B, "switchover", "epoch", "primary"};
    const char *files[] = {"config", "keyring"};
    for (size_t f = 0; f < VG_ARRAY_LEN(files); f++) {
        size_t n = read_all(files[f], buf, sizeof buf);
        assert_true(n > 0);
        for (size_t i = 0; i < VG_ARRAY_LEN(needles); i++)
            if (memmem(buf, n, needles[i], strlen(needles[i])))
                fail_msg("'%s' found in plaintext in %s", needles[i], files[f]);
    }
}

static void test_corrupt_file_refused(void **state)
{
    save_sample();
    uint8_t buf[4096];
    size_t n = read_all("config", buf, sizeof buf);
    for (size_t at = 0; at < n; at += 7) {
        buf[at] ^= 0x20;
        write_all("config", buf, n);
        assert_int_equal(reopen(), -VG_ECORRUPT);
        assert_err_contains("witness config");
        assert_err_contains(dir);
        buf[at] ^= 0x20;
    }
    write_all("config", buf, n);
    assert_int_equal(reopen(), 0); /* undamaged again */
}

static void test_truncated_file_refused(void **state)
{
    save_sample();
    uint8_t buf[4096];
    size_t n = read_all("config", buf, sizeof buf);
    size_t cuts[] = {0, 1, 15, 16, 40, n / 2, n - 1};
    for (size_t i = 0; i < VG_ARRAY_LEN(cuts); i++) {
        write_all("config", buf, cuts[i]);
        assert_int_equal(reopen(), -VG_ECORRUPT);
        assert_err_contains("witness config");
    }
}

static void test_config_sealed_with_another_key_refused(void **state)
{
    save_sample();
    char path[256];
    path_of(path, sizeof path, "keyring");
    unlink(path);
    assert_int_equal(reopen(), -ENOKEY); /* never a new key for an existing config */
    assert_err_contains("keyring");
    assert_int_equal(vg_keyring_create(path, err, sizeof err), 0);
    assert_int_equal(reopen(), -VG_ECORRUPT);
    assert_err_contains("failed authentication");
}

static void test_member_data_dir_refused(void **state)
{
    char path[256];
    path_of(path, sizeof path, "log");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(reopen(), -EINVAL);
    assert_err_contains("member's data directory");
    path_of(path, sizeof path, "keyring");
    struct stat sb;
    assert_int_equal(stat(path, &sb), -1); /* nothing was created there */
}

static void test_leftover_temp_file_is_ignored(void **state)
{
    save_sample();
    write_all("config.tmp", (const uint8_t *)"half a write", 12);
    vg_witness_cfg_t c;
    vg_witness_store_t *st = open_ok(&c);
    assert_int_equal(c.epoch, 7);
    vg_witness_store_free(st);
    char path[256];
    struct stat sb;
    path_of(path, sizeof path, "config.tmp");
    assert_int_equal(stat(path, &sb), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_dir_is_epoch_zero_with_private_keyring,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_round_trips_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_member_names_in_the_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_sealed_with_another_key_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_member_data_dir_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_temp_file_is_ignored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

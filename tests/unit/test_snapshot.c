/*
 * test_snapshot.c - sealed snapshots: the newest one loads back exactly,
 * a damaged one is refused by name instead of falling back to an older one,
 * and pruning keeps only what recovery may still need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/snapshot.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];
static char dir[64];
static vg_keyring_t *kr;

static const char state_v1[] = "{\"objects\":[{\"kind\":\"Site\",\"name\":\"dc1\"}]}";
static const char state_v2[] = "{\"objects\":[{\"kind\":\"Site\",\"name\":\"dc2\"}]}";

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg-test-snapshot-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    kr = vg_keyring_new_ephemeral();
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            unlinkat(dirfd(d), de->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
    vg_keyring_free(kr);
    return 0;
}

static void snap_file(char *out, size_t outlen, uint64_t index)
{
    snprintf(out, outlen, "%s/snap-%020llu.vgs", dir, (unsigned long long)index);
}

static void write_snapshot(uint64_t index, uint64_t epoch, const char *text)
{
    assert_int_equal(vg_snapshot_write(dir, kr, index, epoch, (const uint8_t *)text,
                                       strlen(text), err, sizeof err),
                     0);
}

static int load(uint64_t *index, uint64_t *epoch, uint8_t **data, size_t *len)
{
    return vg_snapshot_load_latest(dir, kr, index, epoch, data, len, err, sizeof err);
}

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

static void test_snapshot_roundtrip(void **state)
{
    uint64_t index, epoch;
    uint8_t *data;
    size_t len;
    write_snapshot(120, 4, state_v1);
    assert_int_equal(load(&index, &epoch, &data, &len), 0);
    assert_int_equal(index, 120);
    assert_int_equal(epoch, 4);
    assert_int_equal(len, strlen(state_v1));
    assert_memory_equal(data, state_v1, len);
    free(data);
    char path[256];
    struct stat st;
    snap_file(path, sizeof path, 120);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_snapshot_none_loads_as_index_zero(void **state)
{
    uint64_t index = 9, epoch = 9;
    uint8_t *data = (uint8_t *)"x";
    size_t len = 9;
    assert_int_equal(load(&index, &epoch, &data, &len), 0);
    assert_int_equal(index, 0);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(vg_snapshot_load_latest("/tmp/vg-no-such-dir-for-snapshots", kr, &index,
                                             &epoch, &data, &len, err, sizeof err),
                     0);
    assert_int_equal(index, 0);
}

static void test_snapshot_loads_newest(void **state)
{
    uint64_t index, epoch, latest;
    uint8_t *data;
    size_t len;
    write_snapshot(9, 1, state_v1);
    write_snapshot(10, 1, state_v2);
    assert_int_equal(vg_snapshot_latest_index(dir, &latest, err, sizeof err), 0);
    assert_int_equal(latest, 10);
    assert_int_equal(load(&index, &epoch, &data, &len), 0);
    assert_int_equal(index, 10);
    assert_memory_equal(data, state_v2, len);
    free(data);
}

static void flip_byte(uint64_t index, long offset)
{
    char path[256];
    snap_file(path, sizeof path, index);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, offset, SEEK_SET);
    int c = fgetc(f);
    fseek(f, offset, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static void test_snapshot_refuses_tampered_file_naming_it(void **state)
{
    uint64_t index, epoch;
    uint8_t *data = NULL;
    size_t len;
    write_snapshot(5, 1, state_v1);
    write_snapshot(6, 1, state_v2);
    flip_byte(6, 32 + 24 + 3); /* in the ciphertext */
    assert_int_equal(load(&index, &epoch, &data, &len), -VG_ECORRUPT);
    assert_null(data);
    assert_err_contains("snap-00000000000000000006.vgs");
    assert_err_contains("failed authentication");
}

static void test_snapshot_refuses_tampered_header(void **state)
{
    uint64_t index, epoch;
    uint8_t *data = NULL;
    size_t len;
    write_snapshot(6, 1, state_v2);
    flip_byte(6, 16); /* the epoch, part of the associated data */
    assert_int_equal(load(&index, &epoch, &data, &len), -VG_ECORRUPT);
}

static void test_snapshot_refuses_truncated_file(void **state)
{
    uint64_t index, epoch;
    uint8_t *data = NULL;
    size_t len;
    char path[256];
    write_snapshot(7, 1, state_v1);
    snap_file(path, sizeof path, 7);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    for (off_t size = st.st_size - 1; size >= 0; size -= 9) {
        assert_int_equal(truncate(path, size), 0);
        assert_int_equal(load(&index, &epoch, &data, &len), -VG_ECORRUPT);
        assert_err_contains(path);
    }
}

static void test_snapshot_refuses_file_renamed_to_other_index(void **state)
{
    uint64_t index, epoch;
    uint8_t *data = NULL;
    size_t len;
    char from[256], to[256];
    write_snapshot(7, 1, state_v1);
    snap_file(from, sizeof from, 7);
    snap_file(to, sizeof to, 70);
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(load(&index, &epoch, &data, &len), -VG_ECORRUPT);
    assert_err_contains("not the one in its name");
}

static void test_snapshot_with_unknown_key_is_enokey(void **state)
{
    uint64_t index, epoch;
    uint8_t *data = NULL;
    size_t len;
    assert_int_equal(vg_keyring_rotate(kr, NULL, err, sizeof err), 0);
    write_snapshot(3, 1, state_v1);
    vg_keyring_free(kr);
    kr = vg_keyring_new_ephemeral();
    assert_int_equal(load(&index, &epoch, &data, &len), -ENOKEY);
    assert_err_contains("unknown key 2");
}

static void test_snapshot_prune_removes_only_older(void **state)
{
    char path[256];
    write_snapshot(1, 1, state_v1);
    write_snapshot(2, 1, state_v1);
    write_snapshot(3, 1, state_v2);
    snprintf(path, sizeof path, "%s/snap-%020d.vgs.tmp", dir, 2);
    fclose(fopen(path, "w"));
    vg_snapshot_prune(dir, 3);
    assert_int_equal(access(path, F_OK), -1);
    for (uint64_t i = 1; i <= 3; i++) {
        snap_file(path, sizeof path, i);
        assert_int_equal(access(path, F_OK) == 0, i == 3);
    }
}

static void test_snapshot_of_empty_state(void **state)
{
    uint64_t index, epoch;
    uint8_t *data;
    size_t len = 1;
    write_snapshot(1, 1, "");
    assert_int_equal(load(&index, &epoch, &data, &len), 0);
    assert_int_equal(index, 1);
    assert_int_equal(len, 0);
    assert_non_null(data);
    free(data);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_snapshot_roundtrip),
        T(test_snapshot_none_loads_as_index_zero),
        T(test_snapshot_loads_newest),
        T(test_snapshot_refuses_tampered_file_naming_it),
        T(test_snapshot_refuses_tampered_header),
        T(test_snapshot_refuses_truncated_file),
        T(test_snapshot_refuses_file_renamed_to_other_index),
        T(test_snapshot_with_unknown_key_is_enokey),
        T(test_snapshot_prune_removes_only_older),
        T(test_snapshot_of_empty_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

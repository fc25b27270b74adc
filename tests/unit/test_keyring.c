/*
 * test_keyring.c - the keyring file and the AEAD everything at rest goes
 * through: what seals opens only with the same key and associated data, the
 * file refuses to be readable by others, and rotation keeps old data open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "crypto/keyring.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char err[512];
static char dir[64];
static char path[128];

static int setup_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg-test-keyring-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/keyring", dir);
    err[0] = '\0';
    return 0;
}

static int teardown_dir(void **state)
{
    char tmp[256];
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s/other", dir);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

static void write_text(const char *p, const char *text, mode_t mode)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

static const uint8_t ad[] = "associated";
static const uint8_t msg[] = "the generator has 3 hours of fuel left";

static void seal_msg(const vg_keyring_t *kr, uint32_t key_id, uint8_t *sealed)
{
    assert_int_equal(vg_seal(kr, key_id, ad, sizeof ad, msg, sizeof msg, sealed), 0);
}

static void test_keyring_seal_open_roundtrip(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD], opened[sizeof msg];
    seal_msg(kr, vg_keyring_active_id(kr), sealed);
    assert_int_equal(vg_open(kr, 1, ad, sizeof ad, sealed, sizeof sealed, opened), 0);
    assert_memory_equal(opened, msg, sizeof msg);
    vg_keyring_free(kr);
}

static void test_keyring_seals_with_fresh_nonce_each_time(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t a[sizeof msg + VG_SEAL_OVERHEAD], b[sizeof msg + VG_SEAL_OVERHEAD];
    seal_msg(kr, 1, a);
    seal_msg(kr, 1, b);
    assert_memory_not_equal(a, b, VG_SEAL_NONCE_BYTES);
    assert_memory_not_equal(a + VG_SEAL_NONCE_BYTES, b + VG_SEAL_NONCE_BYTES, sizeof msg);
    vg_keyring_free(kr);
}

static void test_keyring_forked_child_never_reuses_parent_nonces(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t parent[sizeof msg + VG_SEAL_OVERHEAD], child[sizeof msg + VG_SEAL_OVERHEAD];
    int fds[2];
    seal_msg(kr, 1, parent); /* the parent now holds a pool of nonces */
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        seal_msg(kr, 1, child);
        _exit(write(fds[1], child, VG_SEAL_NONCE_BYTES) == VG_SEAL_NONCE_BYTES ? 0 : 1);
    }
    seal_msg(kr, 1, parent);
    assert_int_equal(read(fds[0], child, VG_SEAL_NONCE_BYTES), VG_SEAL_NONCE_BYTES);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_not_equal(parent, child, VG_SEAL_NONCE_BYTES);
    close(fds[0]);
    close(fds[1]);
    vg_keyring_free(kr);
}

static void test_keyring_open_fails_with_wrong_key(void **state)
{
    vg_keyring_t *mine = vg_keyring_new_ephemeral(), *theirs = vg_keyring_new_ephemeral();
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD], opened[sizeof msg];
    seal_msg(mine, 1, sealed);
    assert_int_equal(vg_open(theirs, 1, ad, sizeof ad, sealed, sizeof sealed, opened),
                     -EBADMSG);
    vg_keyring_free(mine);
    vg_keyring_free(theirs);
}

static void test_keyring_open_fails_on_any_tampered_byte(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD], opened[sizeof msg];
    seal_msg(kr, 1, sealed);
    for (size_t i = 0; i < sizeof sealed; i++) {
        sealed[i] ^= 0x01;
        assert_int_equal(vg_open(kr, 1, ad, sizeof ad, sealed, sizeof sealed, opened),
                         -EBADMSG);
        sealed[i] ^= 0x01;
    }
    vg_keyring_free(kr);
}

static void test_keyring_open_fails_with_other_associated_data(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD], opened[sizeof msg];
    seal_msg(kr, 1, sealed);
    static const uint8_t other[] = "associatee";
    assert_int_equal(vg_open(kr, 1, other, sizeof other, sealed, sizeof sealed, opened),
                     -EBADMSG);
    vg_keyring_free(kr);
}

static void test_keyring_unknown_key_id_is_enokey(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD], opened[sizeof msg];
    assert_int_equal(vg_seal(kr, 7, ad, sizeof ad, msg, sizeof msg, sealed), -ENOKEY);
    seal_msg(kr, 1, sealed);
    assert_int_equal(vg_open(kr, 7, ad, sizeof ad, sealed, sizeof sealed, opened), -ENOKEY);
    vg_keyring_free(kr);
}

static void test_keyring_open_rejects_input_shorter_than_overhead(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t sealed[VG_SEAL_OVERHEAD - 1] = {0};
    assert_int_equal(vg_open(kr, 1, ad, sizeof ad, sealed, sizeof sealed, NULL), -EINVAL);
    vg_keyring_free(kr);
}

static void test_keyring_from_bytes_opens_what_the_same_bytes_sealed(void **state)
{
    uint8_t key[VG_KEY_BYTES];
    for (int i = 0; i < VG_KEY_BYTES; i++)
        key[i] = (uint8_t)(i * 7);
    vg_keyring_t *a = vg_keyring_new_from_bytes(key, 3), *b = vg_keyring_new_from_bytes(key, 3);
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD], opened[sizeof msg];
    assert_int_equal(vg_keyring_active_id(a), 3);
    seal_msg(a, 3, sealed);
    assert_int_equal(vg_open(b, 3, ad, sizeof ad, sealed, sizeof sealed, opened), 0);
    assert_memory_equal(opened, msg, sizeof msg);
    vg_keyring_free(a);
    vg_keyring_free(b);
}

static void test_keyring_create_writes_private_file_that_loads(void **state)
{
    assert_int_equal(vg_keyring_create(path, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    vg_keyring_t *kr = NULL;
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 1);
    vg_keyring_free(kr);
}

static void test_keyring_create_refuses_existing_path(void **state)
{
    write_text(path, "precious\n", 0600);
    assert_int_equal(vg_keyring_create(path, err, sizeof err), -EEXIST);
    assert_err_contains(path);
    FILE *f = fopen(path, "r");
    char line[32] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "precious\n");
}

static void test_keyring_load_refuses_group_readable_file(void **state)
{
    assert_int_equal(vg_keyring_create(path, err, sizeof err), 0);
    assert_int_equal(chmod(path, 0640), 0);
    vg_keyring_t *kr = NULL;
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), -EPERM);
    assert_null(kr);
    assert_err_contains(path);
    assert_err_contains("0640");
}

static void test_keyring_load_refuses_other_writable_file(void **state)
{
    assert_int_equal(vg_keyring_create(path, err, sizeof err), 0);
    assert_int_equal(chmod(path, 0602), 0);
    vg_keyring_t *kr = NULL;
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), -EPERM);
}

static void test_keyring_load_ignores_comments_and_blank_lines(void **state)
{
    write_text(path,
               "# vigil keyring\n"
               "\n"
               "   \n"
               "vgkey1 2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
               "  # an old key, still needed\r\n"
               "vgkey1\t1  ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff \n",
               0600);
    vg_keyring_t *kr = NULL;
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 2);
    uint8_t sealed[sizeof msg + VG_SEAL_OVERHEAD];
    seal_msg(kr, 1, sealed);
    vg_keyring_free(kr);
}

static void assert_load_fails_on_line(const char *text, const char *line)
{
    write_text(path, text, 0600);
    vg_keyring_t *kr = NULL;
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), -EINVAL);
    assert_null(kr);
    assert_err_contains(line);
}

static void test_keyring_load_rejects_malformed_lines_naming_them(void **state)
{
    static const char good[] =
        "vgkey1 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    char text[512];
    static const char *bad[] = {
        "vgkey2 2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "vgkey1 0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "vgkey1 -2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "vgkey1 4294967296 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "vgkey1 2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n",
        "vgkey1 2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00\n",
        "vgkey1 2 zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "vgkey1 2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f extra\n",
        "vgkey1 2\n",
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        snprintf(text, sizeof text, "# comment\n%s%s", good, bad[i]);
        assert_load_fails_on_line(text, "line 3");
    }
}

static void test_keyring_load_rejects_duplicate_ids(void **state)
{
    assert_load_fails_on_line(
        "vgkey1 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        "vgkey1 1 ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n",
        "duplicate key id 1");
}

static void test_keyring_load_rejects_file_without_keys(void **state)
{
    assert_load_fails_on_line("# nothing here\n", "no key");
}

static void test_keyring_rotation_keeps_old_keys_for_old_data(void **state)
{
    vg_keyring_t *kr = NULL;
    uint8_t old_sealed[sizeof msg + VG_SEAL_OVERHEAD],
        new_sealed[sizeof msg + VG_SEAL_OVERHEAD];
    uint8_t opened[sizeof msg];
    assert_int_equal(vg_keyring_create(path, err, sizeof err), 0);
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), 0);
    seal_msg(kr, vg_keyring_active_id(kr), old_sealed);
    assert_int_equal(vg_keyring_rotate(kr, path, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 2);
    seal_msg(kr, 2, new_sealed);
    vg_keyring_free(kr);

    /* what a restart sees: the file holds both keys, still private */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 2);
    assert_int_equal(vg_open(kr, 1, ad, sizeof ad, old_sealed, sizeof old_sealed, opened), 0);
    assert_int_equal(vg_open(kr, 2, ad, sizeof ad, new_sealed, sizeof new_sealed, opened), 0);
    assert_int_equal(vg_open(kr, 1, ad, sizeof ad, new_sealed, sizeof new_sealed, opened),
                     -EBADMSG);
    vg_keyring_free(kr);
}

static void test_keyring_failed_rotation_leaves_ring_unchanged(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    char missing[256];
    snprintf(missing, sizeof missing, "%s/no/such/dir/keyring", dir);
    assert_int_not_equal(vg_keyring_rotate(kr, missing, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 1);
    assert_int_equal(vg_keyring_rotate(kr, NULL, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 2);
    vg_keyring_free(kr);
}

static void test_keyring_loads_checked_in_fixture(void **state)
{
    /* git does not keep mode 0600, so the fixture is copied first */
    FILE *in = fopen(VG_FIXTURES "/log/keyring", "r");
    assert_non_null(in);
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    write_text(path, text, 0600);
    vg_keyring_t *kr = NULL;
    assert_int_equal(vg_keyring_load(path, &kr, err, sizeof err), 0);
    assert_int_equal(vg_keyring_active_id(kr), 1);
    vg_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyring_seal_open_roundtrip),
        cmocka_unit_test(test_keyring_seals_with_fresh_nonce_each_time),
        cmocka_unit_test(test_keyring_forked_child_never_reuses_parent_nonces),
        cmocka_unit_test(test_keyring_open_fails_with_wrong_key),
        cmocka_unit_test(test_keyring_open_fails_on_any_tampered_byte),
        cmocka_unit_test(test_keyring_open_fails_with_other_associated_data),
        cmocka_unit_test(test_keyring_unknown_key_id_is_enokey),
        cmocka_unit_test(test_keyring_open_rejects_input_shorter_than_overhead),
        cmocka_unit_test(test_keyring_from_bytes_opens_what_the_same_bytes_sealed),
        cmocka_unit_test_setup_teardown(test_keyring_create_writes_private_file_that_loads,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_create_refuses_existing_path, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_load_refuses_group_readable_file,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_load_refuses_other_writable_file,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_load_ignores_comments_and_blank_lines,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_load_rejects_malformed_lines_naming_them,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_load_rejects_duplicate_ids, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_load_rejects_file_without_keys, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_rotation_keeps_old_keys_for_old_data,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_failed_rotation_leaves_ring_unchanged,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keyring_loads_checked_in_fixture, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_spool.c - the mirror's forward batches and their spool: what the
 * mirror's site read while the primary was away is kept sealed, in order,
 * bounded, across a restart, and dropped only once the primary has it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "sense/fwd.h"

static char dir[64], path[128], err[512];
static vg_keyring_t *kr;

static int setup(void **unused)
{
    snprintf(dir, sizeof dir, "/tmp/vg-spool-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/spool.vgq", dir);
    kr = vg_keyring_new_ephemeral();
    return 0;
}

static int teardown(void **unused)
{
    unlink(path);
    rmdir(dir);
    vg_keyring_free(kr);
    return 0;
}

struct seen {
    int n_readings, n_devices;
    char last_name[64];
    double last_value;
    int last_up;
};

static void count(void *ctx, const struct vg_fwd_entry *e)
{
    struct seen *s = ctx;
    if (e->kind == 1) {
        s->n_readings++;
        s->last_value = e->value;
    } else {
        s->n_devices++;
        s->last_up = e->up;
    }
    snprintf(s->last_name, sizeof s->last_name, "%s", e->name);
}

static void test_batch_roundtrips_readings_and_device_states(void **unused)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_fwd_add_reading(&b, "dc2-hall-a-t1", 1764770000000, 22.4);
    vg_fwd_add_device(&b, "dc2-pdu-1", 1764770000001, 0, "no answer within 2000 ms");
    vg_fwd_add_reading(&b, "dc2-hall-a-t2", 1764770000002, -3.5);
    struct seen s = {0};
    assert_int_equal(vg_fwd_decode(b.data, b.len, count, &s, err, sizeof err), 0);
    assert_int_equal(s.n_readings, 2);
    assert_int_equal(s.n_devices, 1);
    assert_string_equal(s.last_name, "dc2-hall-a-t2");
    assert_true(s.last_value == -3.5);
    vg_buf_release(&b);
}

static void test_malformed_batch_is_refused_whole(void **unused)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_fwd_add_reading(&b, "dc2-t1", 1, 1.0);
    vg_fwd_add_reading(&b, "dc2-t2", 2, 2.0);
    struct seen s = {0};
    /* cut the last entry short: nothing at all is delivered */
    assert_int_equal(vg_fwd_decode(b.data, b.len - 3, count, &s, err, sizeof err), -EINVAL);
    assert_int_equal(s.n_readings, 0);
    assert_non_null(strstr(err, "entry at byte"));
    /* a name outside names.h */
    vg_buf_t bad = VG_BUF_INIT;
    vg_fwd_add_reading(&bad, "Bad Name", 1, 1.0);
    assert_int_equal(vg_fwd_decode(bad.data, bad.len, count, &s, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "bad name"));
    /* a NaN value */
    vg_buf_t nan_b = VG_BUF_INIT;
    vg_fwd_add_reading(&nan_b, "dc2-t1", 1, NAN);
    assert_int_equal(vg_fwd_decode(nan_b.data, nan_b.len, count, &s, err, sizeof err),
                     -EINVAL);
    assert_int_equal(s.n_readings, 0);
    vg_buf_release(&b);
    vg_buf_release(&bad);
    vg_buf_release(&nan_b);
}

static void push_text(vg_spool_t *sp, const char *text, uint64_t *seq)
{
    assert_int_equal(vg_spool_push(sp, (const uint8_t *)text, strlen(text), seq, err,
                                   sizeof err),
                     0);
}

static void test_spool_keeps_unacked_batches_in_order_across_restart(void **unused)
{
    vg_spool_t *sp;
    uint64_t s1, s2, s3;
    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), 0);
    push_text(sp, "first", &s1);
    push_text(sp, "second", &s2);
    push_text(sp, "third", &s3);
    assert_true(s1 < s2 && s2 < s3);
    vg_spool_ack(sp, s1);
    vg_spool_close(sp); /* as if the mirror stopped here */

    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), 0);
    const uint8_t *data;
    size_t len;
    uint64_t seq;
    /* "first" may come back (ack not yet compacted) but order holds */
    assert_int_equal(vg_spool_next(sp, s1, &data, &len, &seq), 0);
    assert_int_equal(seq, s2);
    assert_memory_equal(data, "second", len);
    assert_int_equal(vg_spool_next(sp, s2, &data, &len, &seq), 0);
    assert_memory_equal(data, "third", len);
    vg_spool_ack(sp, s3);
    assert_int_equal(vg_spool_next(sp, 0, &data, &len, &seq), -ENOENT);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0); /* everything delivered: the file is empty */
    vg_spool_close(sp);
}

static void test_spool_file_holds_no_plaintext(void **unused)
{
    vg_spool_t *sp;
    uint64_t seq;
    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), 0);
    push_text(sp, "marker-7f3a9c-dc2-hall-b", &seq);
    vg_spool_close(sp);
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 0);
    assert_null(memmem(buf, n, "marker-7f3a9c", 13));
}

static void test_spool_is_bounded_and_drops_oldest(void **unused)
{
    vg_spool_t *sp;
    uint64_t seq;
    char text[1000];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_int_equal(vg_spool_open(path, kr, 10000, &sp, err, sizeof err), 0);
    for (int i = 0; i < 50; i++)
        push_text(sp, text, &seq);
    struct vg_spool_stats st;
    vg_spool_stats(sp, &st);
    assert_true(st.bytes <= 10000);
    assert_int_equal(st.dropped_batches, 50 - st.batches);
    const uint8_t *data;
    size_t len;
    uint64_t first;
    assert_int_equal(vg_spool_next(sp, 0, &data, &len, &first), 0);
    assert_int_equal(first, seq - st.batches + 1); /* the newest are the ones kept */
    vg_spool_close(sp);
}

static void test_torn_spool_tail_is_cut_and_earlier_batches_kept(void **unused)
{
    vg_spool_t *sp;
    uint64_t seq;
    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), 0);
    push_text(sp, "kept", &seq);
    push_text(sp, "torn-away", &seq);
    vg_spool_close(sp);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 5), 0);
    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), 0);
    const uint8_t *data;
    size_t len;
    assert_int_equal(vg_spool_next(sp, 0, &data, &len, &seq), 0);
    assert_memory_equal(data, "kept", 4);
    assert_int_equal(vg_spool_next(sp, seq, &data, &len, &seq), -ENOENT);
    vg_spool_close(sp);
}

static void test_corrupt_spool_frame_in_middle_is_an_error(void **unused)
{
    vg_spool_t *sp;
    uint64_t seq;
    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), 0);
    push_text(sp, "one", &seq);
    push_text(sp, "two", &seq);
    vg_spool_close(sp);
    FILE *f = fopen(path, "r+b");
    fseek(f, 20, SEEK_SET); /* inside the first frame's ciphertext */
    fputc('!', f);
    fclose(f);
    assert_int_equal(vg_spool_open(path, kr, 1 << 20, &sp, err, sizeof err), -VG_ECORRUPT);
    assert_non_null(strstr(err, "offset 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_roundtrips_readings_and_device_states),
        cmocka_unit_test(test_malformed_batch_is_refused_whole),
        cmocka_unit_test_setup_teardown(test_spool_keeps_unacked_batches_in_order_across_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_file_holds_no_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_is_bounded_and_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_spool_tail_is_cut_and_earlier_batches_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_spool_frame_in_middle_is_an_error, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

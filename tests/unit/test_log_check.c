/*
 * test_log_check.c - the read-only scan behind vigild verify and inspect
 * (vg_log_check, vg_log_check_frames, vg_snapshot_list/load): it judges
 * the checked-in fixtures exactly as recovery does (torn tail, zero fill,
 * damage in the middle, index gap), reports instead of cutting, changes no
 * byte of any file, hands out every record with its file and offset, also
 * those a snapshot covers, and reads while a log is open elsewhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/log.h"
#include "store/snapshot.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[8192];
static char base[64];     /* per-test temp dir */
static char log_dir[128]; /* base/log */

static const uint8_t fixture_key[VG_KEY_BYTES] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

static int setup(void **state)
{
    snprintf(base, sizeof base, "/tmp/vg-test-check-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(log_dir, sizeof log_dir, "%s/log", base);
    err[0] = '\0';
    *state = vg_keyring_new_from_bytes(fixture_key, 1);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    vg_keyring_free(*state);
    return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *p = malloc(1 << 16);
    *len = fread(p, 1, 1 << 16, f);
    fclose(f);
    return p;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

/* Copies tests/fixtures/log/<name> to log_dir. */
static void copy_fixture(const char *name)
{
    char from_dir[512], from[1024], to[1024];
    snprintf(from_dir, sizeof from_dir, "%s/log/%s", VG_FIXTURES, name);
    assert_int_equal(mkdir(log_dir, 0700), 0);
    DIR *d = opendir(from_dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len;
        snprintf(from, sizeof from, "%s/%s", from_dir, de->d_name);
        snprintf(to, sizeof to, "%s/%s", log_dir, de->d_name);
        uint8_t *p = read_file(from, &len);
        write_file(to, p, len);
        free(p);
    }
    closedir(d);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

struct seen {
    uint64_t n, first, last;
    uint64_t offsets[16];
    char last_path[1024];
};

static int collect(void *ctx, const char *path, uint64_t offset, const vg_record_t *rec)
{
    struct seen *s = ctx;
    char want[32];
    snprintf(want, sizeof want, "record %llu fixture", (unsigned long long)rec->index);
    if (rec->payload_len != 16 || memcmp(rec->payload, want, 16) != 0)
        fail_msg("record %llu: wrong payload", (unsigned long long)rec->index);
    if (s->n && rec->index != s->last + 1)
        fail_msg("record %llu after %llu", (unsigned long long)rec->index,
                 (unsigned long long)s->last);
    if (s->n == 0)
        s->first = rec->index;
    if (s->n < VG_ARRAY_LEN(s->offsets))
        s->offsets[s->n] = offset;
    s->last = rec->index;
    s->n++;
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    return 0;
}

static int check_fixture(const vg_keyring_t *kr, const char *name, uint64_t after,
                         struct seen *s, struct vg_log_check *chk)
{
    copy_fixture(name);
    memset(s, 0, sizeof *s);
    err[0] = '\0';
    return vg_log_check(log_dir, kr, after, collect, s, chk, err, sizeof err);
}

static void seg_path(char *out, size_t outlen, uint64_t first)
{
    snprintf(out, outlen, "%s/%020llu.vgl", log_dir, (unsigned long long)first);
}

static void test_check_clean_fixture_hands_out_every_record_with_its_place(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    char path[256];
    assert_int_equal(check_fixture(*state, "clean", 0, &s, &chk), 0);
    assert_int_equal(s.n, 9);
    assert_int_equal(chk.n_records, 9);
    assert_int_equal(chk.n_segments, 3);
    assert_int_equal(chk.first_index, 1);
    assert_int_equal(chk.last_index, 9);
    assert_int_equal(chk.tail, VG_TAIL_NONE);
    /* 32-byte header, then frames of 84 bytes */
    assert_int_equal(s.offsets[0], 32);
    assert_int_equal(s.offsets[1], 116);
    assert_int_equal(s.offsets[3], 32);
    seg_path(path, sizeof path, 7);
    assert_string_equal(s.last_path, path);
}

static void test_check_reports_torn_tail_and_cuts_nothing(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    char path[256];
    assert_int_equal(check_fixture(*state, "torn-tail", 0, &s, &chk), 0);
    assert_int_equal(s.n, 8);
    assert_int_equal(chk.tail, VG_TAIL_TORN);
    seg_path(path, sizeof path, 7);
    assert_string_equal(chk.tail_path, path);
    assert_int_equal(chk.tail_offset, 200);
    assert_int_equal(chk.tail_bytes, 54);
    assert_int_equal(file_size(path), 254); /* recovery would have cut it to 200 */
}

static void test_check_reports_zero_fill_as_such(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    char path[256];
    assert_int_equal(check_fixture(*state, "zero-tail", 0, &s, &chk), 0);
    assert_int_equal(s.n, 9);
    assert_int_equal(chk.tail, VG_TAIL_ZERO);
    assert_int_equal(chk.tail_offset, 284);
    assert_int_equal(chk.tail_bytes, 600);
    seg_path(path, sizeof path, 7);
    assert_int_equal(file_size(path), 884);
}

static void test_check_names_file_and_byte_of_damage_in_the_middle(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    char where[512];
    assert_int_equal(check_fixture(*state, "corrupt-middle", 0, &s, &chk), -VG_ECORRUPT);
    snprintf(where, sizeof where, "'%s/00000000000000000007.vgl' is corrupt at byte 116",
             log_dir);
    if (!strstr(err, where))
        fail_msg("'%s' not in '%s'", where, err);
    assert_int_equal(s.n, 7); /* what came before is still handed out */
    assert_int_equal(chk.n_records, 7);
}

static void test_check_refuses_index_gap(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    assert_int_equal(check_fixture(*state, "index-gap", 0, &s, &chk), -VG_ECORRUPT);
    assert_non_null(strstr(err, "00000000000000000007.vgl"));
    assert_non_null(strstr(err, "index gap"));
}

static void test_check_reads_segments_a_snapshot_covers(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    /* recovery after a snapshot at 6 decrypts only segment 7; the check
     * reads all, and a log may start before the snapshot */
    assert_int_equal(check_fixture(*state, "clean", 6, &s, &chk), 0);
    assert_int_equal(s.n, 9);
    assert_int_equal(s.first, 1);
}

static void test_check_refuses_log_starting_after_snapshot(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    char path[256];
    copy_fixture("clean");
    seg_path(path, sizeof path, 1);
    assert_int_equal(unlink(path), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(vg_log_check(log_dir, *state, 0, collect, &s, &chk, err, sizeof err),
                     -VG_ECORRUPT);
    assert_non_null(strstr(err, "log starts at index 4"));
    assert_int_equal(vg_log_check(log_dir, *state, 3, NULL, NULL, &chk, err, sizeof err), 0);
    assert_int_equal(chk.n_records, 6);
}

static void test_check_wrong_keyring_is_damage_not_a_tail(void **state)
{
    struct seen s;
    struct vg_log_check chk;
    vg_keyring_t *other = vg_keyring_new_ephemeral();
    copy_fixture("clean");
    memset(&s, 0, sizeof s);
    assert_int_equal(vg_log_check(log_dir, other, 0, collect, &s, &chk, err, sizeof err),
                     -VG_ECORRUPT);
    assert_non_null(strstr(err, "wrong keyring?"));
    vg_keyring_free(other);
}

static void test_check_reads_a_log_another_holder_has_open(void **state)
{
    struct vg_log_check chk;
    vg_log_t *log = NULL;
    vg_log_opts_t opts = {log_dir, *state, 0};
    copy_fixture("clean");
    assert_int_equal(vg_log_open(&opts, 0, NULL, NULL, &log, err, sizeof err), 0);
    assert_int_equal(vg_log_check(log_dir, *state, 0, NULL, NULL, &chk, err, sizeof err), 0);
    assert_int_equal(chk.n_records, 9);
    vg_log_close(log);
    /* and it left no lock behind: the log opens again */
    assert_int_equal(vg_log_open(&opts, 0, NULL, NULL, &log, err, sizeof err), 0);
    vg_log_close(log);
}

/* What a forced failover keeps aside: the frames as on disk, no header. */
static void make_frames(const char *out, uint64_t from_seg, size_t cut)
{
    char path[256];
    size_t len;
    seg_path(path, sizeof path, from_seg);
    uint8_t *p = read_file(path, &len);
    write_file(out, p + 32, len - 32 - cut);
    free(p);
}

static void test_check_frames_reads_bare_frames_from_their_first_index(void **state)
{
    struct seen s = {0};
    struct vg_log_check chk;
    char frames[256];
    copy_fixture("clean");
    snprintf(frames, sizeof frames, "%s/tail.vgl", base);
    make_frames(frames, 4, 0);
    assert_int_equal(vg_log_check_frames(frames, *state, collect, &s, &chk, err, sizeof err),
                     0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.first, 4);
    assert_int_equal(s.offsets[0], 0);
    assert_int_equal(s.offsets[1], 84);
    assert_string_equal(s.last_path, frames);
    make_frames(frames, 4, 10);
    memset(&s, 0, sizeof s);
    assert_int_equal(vg_log_check_frames(frames, *state, collect, &s, &chk, err, sizeof err),
                     0);
    assert_int_equal(s.n, 2);
    assert_int_equal(chk.tail, VG_TAIL_TORN);
    assert_int_equal(chk.tail_offset, 168);
}

static void test_snapshot_list_and_load_reach_every_snapshot(void **state)
{
    uint64_t *indexes = NULL, epoch = 0;
    size_t n = 0, len = 0;
    uint8_t *data = NULL;
    assert_int_equal(mkdir(log_dir, 0700), 0);
    assert_int_equal(vg_snapshot_write(log_dir, *state, 12, 2, (const uint8_t *)"twelve", 6,
                                       err, sizeof err),
                     0);
    assert_int_equal(
        vg_snapshot_write(log_dir, *state, 5, 1, (const uint8_t *)"five", 4, err, sizeof err),
        0);
    assert_int_equal(vg_snapshot_list(log_dir, &indexes, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(indexes[0], 5);
    assert_int_equal(indexes[1], 12);
    free(indexes);
    assert_int_equal(vg_snapshot_load(log_dir, *state, 5, &epoch, &data, &len, err, sizeof err),
                     0);
    assert_int_equal(epoch, 1);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "five", 4);
    free(data);
    /* a damaged older snapshot is named with the byte where the fault is */
    char path[256];
    snprintf(path, sizeof path, "%s/snap-%020llu.vgs", log_dir, 5ULL);
    size_t flen;
    uint8_t *p = read_file(path, &flen);
    p[8] ^= 1; /* the index in the header */
    write_file(path, p, flen);
    free(p);
    assert_int_equal(vg_snapshot_load(log_dir, *state, 5, &epoch, &data, &len, err, sizeof err),
                     -VG_ECORRUPT);
    assert_non_null(strstr(err, "at byte 8"));
    assert_null(data);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_check_clean_fixture_hands_out_every_record_with_its_place),
        T(test_check_reports_torn_tail_and_cuts_nothing),
        T(test_check_reports_zero_fill_as_such),
        T(test_check_names_file_and_byte_of_damage_in_the_middle),
        T(test_check_refuses_index_gap),
        T(test_check_reads_segments_a_snapshot_covers),
        T(test_check_refuses_log_starting_after_snapshot),
        T(test_check_wrong_keyring_is_damage_not_a_tail),
        T(test_check_reads_a_log_another_holder_has_open),
        T(test_check_frames_reads_bare_frames_from_their_first_index),
        T(test_snapshot_list_and_load_reach_every_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_log.c - the durable log as a user of it sees it: what was appended
 * and synced comes back after a restart, in order; a crash's torn tail is
 * cut and the log goes on; damage anywhere else stops recovery with the
 * segment file and byte offset; snapshots let old segments go; the writer
 * thread shares one fsync between many records.
 *
 * The checked-in fixtures under tests/fixtures/log/ (sealed with the fixture
 * key) are read too; VG_REGEN_FIXTURES=1 rewrites them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/say.h"
#include "store/log.h"
#include "store/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_HEADER 32

static char err[1024];
static char base[64];     /* per-test temp dir */
static char log_dir[128]; /* base/log */

static const uint8_t fixture_key[VG_KEY_BYTES] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};
#define FIXTURE_SEGMENT_BYTES 284 /* 3 frames of "fixture record N" */

/* ---- helpers ---- */

static int setup(void **state)
{
    snprintf(base, sizeof base, "/tmp/vg-test-log-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(log_dir, sizeof log_dir, "%s/log", base);
    err[0] = '\0';
    *state = vg_keyring_new_ephemeral();
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

struct replayed {
    uint64_t n, first, last;
    uint32_t key_ids[64]; /* of the first 64 records */
    int fail_at;          /* replay returns -42 at this index */
};

static void payload_for(uint64_t index, char *out, size_t outlen)
{
    snprintf(out, outlen, "record %llu", (unsigned long long)index);
}

static int replay_check(void *ctx, const vg_record_t *rec)
{
    struct replayed *r = ctx;
    char want[64];
    if (r->fail_at && rec->index == (uint64_t)r->fail_at)
        return -42;
    payload_for(rec->index, want, sizeof want);
    if (rec->payload_len < strlen(want) || memcmp(rec->payload, want, strlen(want)) != 0)
        fail_msg("record %llu has the wrong payload", (unsigned long long)rec->index);
    if (r->n == 0)
        r->first = rec->index;
    else if (rec->index != r->last + 1)
        fail_msg("record %llu replayed after %llu", (unsigned long long)rec->index,
                 (unsigned long long)r->last);
    if (r->n < VG_ARRAY_LEN(r->key_ids))
        r->key_ids[r->n] = rec->key_id;
    r->last = rec->index;
    r->n++;
    return 0;
}

static int open_log(const vg_keyring_t *kr, uint64_t after, size_t segment_bytes,
                    struct replayed *r, vg_log_t **log)
{
    vg_log_opts_t opts = {log_dir, kr, segment_bytes};
    if (r)
        memset(r, 0, sizeof *r);
    err[0] = '\0';
    return vg_log_open(&opts, after, r ? replay_check : NULL, r, log, err, sizeof err);
}

static vg_log_t *must_open(const vg_keyring_t *kr, uint64_t after, size_t segment_bytes,
                           struct replayed *r)
{
    vg_log_t *log = NULL;
    int rc = open_log(kr, after, segment_bytes, r, &log);
    if (rc != 0)
        fail_msg("vg_log_open: %d: %s", rc, err);
    return log;
}

/* Appends records first..last with "record N" payloads padded to pad bytes. */
static void append_range(vg_log_t *log, uint64_t first, uint64_t last, size_t pad)
{
    char payload[4096];
    for (uint64_t i = first; i <= last; i++) {
        memset(payload, '.', sizeof payload);
        payload_for(i, payload, sizeof payload);
        size_t len = strlen(payload) > pad ? strlen(payload) : pad;
        uint64_t index = 0;
        assert_int_equal(vg_log_append(log, 1, VG_REC_OBJ_PUT, payload, len, &index), 0);
        assert_int_equal(index, i);
    }
}

/* A closed log of records 1..n. */
static void make_log(const vg_keyring_t *kr, uint64_t n, size_t segment_bytes)
{
    vg_log_t *log = must_open(kr, 0, segment_bytes, NULL);
    append_range(log, 1, n, 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_log_close(log);
}

static void seg_file(char *out, size_t outlen, uint64_t first_index)
{
    snprintf(out, outlen, "%s/%020llu.vgl", log_dir, (unsigned long long)first_index);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = vg_malloc(*len);
    assert_int_equal(fread(p, 1, *len, f), *len);
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

/* Byte offset of the k-th frame (0-based) in a segment file's bytes. */
static size_t frame_at(const uint8_t *p, size_t len, int k)
{
    size_t off = SEG_HEADER;
    for (int i = 0; i < k; i++) {
        assert_true(off + 4 <= len);
        off += 4 + vg_get_u32(p + off);
    }
    return off;
}

static void flip_bit(const char *path, size_t offset)
{
    size_t len;
    uint8_t *p = read_file(path, &len);
    assert_true(offset < len);
    p[offset] ^= 0x10;
    write_file(path, p, len);
    free(p);
}

static int count_files(const char *suffix)
{
    DIR *d = opendir(log_dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), slen = strlen(suffix);
        n += len > slen && strcmp(de->d_name + len - slen, suffix) == 0;
    }
    if (d)
        closedir(d);
    return n;
}

static void assert_err_contains(const char *part)
{
    if (!strstr(err, part))
        fail_msg("error '%s' does not contain '%s'", err, part);
}

/* ---- open, append, recover ---- */

static void test_log_opens_missing_dir_empty_and_starts_at_one(void **state)
{
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    struct stat st;
    assert_int_equal(stat(log_dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(vg_log_last_index(log), 0);
    assert_int_equal(vg_log_durable_index(log), 0);
    assert_int_equal(vg_log_first_index(log), 1);
    append_range(log, 1, 1, 0);
    assert_int_equal(vg_log_durable_index(log), 0); /* queued, not yet durable */
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_durable_index(log), 1);
    vg_log_close(log);
}

static void test_log_roundtrip_replays_every_record_in_order(void **state)
{
    struct replayed r;
    make_log(*state, 100, 0);
    vg_log_t *log = must_open(*state, 0, 0, &r);
    assert_int_equal(r.n, 100);
    assert_int_equal(r.first, 1);
    assert_int_equal(r.last, 100);
    assert_int_equal(vg_log_last_index(log), 100);
    assert_int_equal(vg_log_durable_index(log), 100);
    append_range(log, 101, 101, 0);
    vg_log_close(log);
    log = must_open(*state, 0, 0, &r);
    assert_int_equal(r.last, 101);
    vg_log_close(log);
}

static void test_log_replays_only_records_after_snapshot_index(void **state)
{
    struct replayed r;
    make_log(*state, 100, 0);
    vg_log_t *log = must_open(*state, 40, 0, &r);
    assert_int_equal(r.n, 60);
    assert_int_equal(r.first, 41);
    vg_log_close(log);
}

static void test_log_replay_error_fails_open_with_its_code(void **state)
{
    struct replayed r = {0};
    vg_log_t *log = NULL;
    vg_log_opts_t opts = {log_dir, *state, 0};
    make_log(*state, 10, 0);
    r.fail_at = 3;
    assert_int_equal(vg_log_open(&opts, 0, replay_check, &r, &log, err, sizeof err), -42);
    assert_null(log);
    assert_int_equal(r.n, 2);
}

static void test_log_refuses_epoch_going_back(void **state)
{
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    assert_int_equal(vg_log_append(log, 3, VG_REC_NOOP, "", 0, NULL), 0);
    assert_int_equal(vg_log_append(log, 2, VG_REC_NOOP, "", 0, NULL), -EINVAL);
    assert_int_equal(vg_log_last_index(log), 1);
    vg_log_close(log);
}

static void test_log_refuses_second_open_of_same_dir(void **state)
{
    vg_log_t *first = must_open(*state, 0, 0, NULL), *second = NULL;
    assert_int_equal(open_log(*state, 0, 0, NULL, &second), -EBUSY);
    assert_err_contains(log_dir);
    vg_log_close(first);
}

/* ---- torn tails ---- */

static void test_log_cuts_torn_tail_at_every_offset_of_last_frame(void **state)
{
    char path[256];
    size_t len;
    make_log(*state, 5, 0);
    seg_file(path, sizeof path, 1);
    uint8_t *orig = read_file(path, &len);
    size_t last = frame_at(orig, len, 4);
    vg_say_set_level(VG_SAY_ERROR); /* one warning per cut otherwise */
    for (size_t cut = last; cut < len; cut++) {
        struct replayed r;
        write_file(path, orig, cut);
        vg_log_t *log = must_open(*state, 0, 0, &r);
        assert_int_equal(r.n, 4);
        assert_int_equal(file_size(path), (off_t)last);
        append_range(log, 5, 5, 0); /* the log goes on where it was cut */
        vg_log_close(log);
        log = must_open(*state, 0, 0, &r);
        assert_int_equal(r.n, 5);
        vg_log_close(log);
    }
    vg_say_set_level(VG_SAY_INFO);
    free(orig);
}

static void test_log_cuts_zero_filled_tail(void **state)
{
    char path[256];
    struct replayed r;
    static const uint8_t zeros[4096];
    make_log(*state, 3, 0);
    seg_file(path, sizeof path, 1);
    off_t good = file_size(path);
    FILE *f = fopen(path, "ab");
    fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    vg_log_t *log = must_open(*state, 0, 0, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(file_size(path), good);
    append_range(log, 4, 4, 0);
    vg_log_close(log);
}

static void test_log_cuts_final_frame_failing_authentication(void **state)
{
    char path[256];
    size_t len;
    struct replayed r;
    make_log(*state, 5, 0);
    seg_file(path, sizeof path, 1);
    uint8_t *p = read_file(path, &len);
    size_t last = frame_at(p, len, 4);
    free(p);
    flip_bit(path, len - 3); /* in the tag of record 5 */
    vg_log_t *log = must_open(*state, 0, 0, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(file_size(path), (off_t)last);
    vg_log_close(log);
}

static void test_log_removes_newest_segment_with_torn_header(void **state)
{
    char path[256];
    struct replayed r;
    make_log(*state, 3, 0);
    seg_file(path, sizeof path, 4);
    write_file(path, (const uint8_t *)"VGLSEG", 6); /* crash while creating it */
    vg_log_t *log = must_open(*state, 0, 0, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(access(path, F_OK), -1);
    append_range(log, 4, 4, 0);
    vg_log_close(log);
}

/* ---- corruption ---- */

static void test_log_refuses_corruption_in_middle(void **state)
{
    char path[256], where[64];
    size_t len;
    make_log(*state, 10, 0);
    seg_file(path, sizeof path, 1);
    uint8_t *p = read_file(path, &len);
    size_t fifth = frame_at(p, len, 4);
    free(p);
    flip_bit(path, fifth + 4 + 24 + 24 + 2); /* ciphertext of record 5 */
    vg_log_t *log = NULL;
    assert_int_equal(open_log(*state, 0, 0, NULL, &log), -VG_ECORRUPT);
    assert_null(log);
    assert_err_contains("00000000000000000001.vgl");
    snprintf(where, sizeof where, "at byte %zu:", fifth);
    assert_err_contains(where);
    assert_int_equal(file_size(path), (off_t)len); /* nothing was cut */
}

static void test_log_refuses_damaged_length_in_middle(void **state)
{
    char path[256], where[64];
    size_t len;
    make_log(*state, 10, 0);
    seg_file(path, sizeof path, 1);
    uint8_t *p = read_file(path, &len);
    size_t third = frame_at(p, len, 2);
    p[third + 2] = 0x7f; /* frame now seems to run past the end of the file */
    write_file(path, p, len);
    free(p);
    vg_log_t *log = NULL;
    assert_int_equal(open_log(*state, 0, 0, NULL, &log), -VG_ECORRUPT);
    snprintf(where, sizeof where, "at byte %zu:", third);
    assert_err_contains(where);
    assert_int_equal(file_size(path), (off_t)len);
}

static void test_log_refuses_torn_end_of_older_segment(void **state)
{
    char path[256];
    make_log(*state, 30, 512);
    seg_file(path, sizeof path, 1);
    assert_int_equal(truncate(path, file_size(path) - 5), 0);
    vg_log_t *log = NULL;
    assert_int_equal(open_log(*state, 0, 512, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("00000000000000000001.vgl");
}

static void test_log_refuses_swapped_records(void **state)
{
    char path[256];
    size_t len;
    make_log(*state, 6, 0); /* "record 3" and "record 4": same frame size */
    seg_file(path, sizeof path, 1);
    uint8_t *p = read_file(path, &len);
    size_t a = frame_at(p, len, 2), b = frame_at(p, len, 3), n = b - a;
    uint8_t tmp[256];
    assert_int_equal(frame_at(p, len, 4) - b, n);
    memcpy(tmp, p + a, n);
    memmove(p + a, p + b, n);
    memcpy(p + b, tmp, n);
    write_file(path, p, len);
    free(p);
    vg_log_t *log = NULL;
    assert_int_equal(open_log(*state, 0, 0, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("record 4 where 3 was expected");
}

static void test_log_refuses_index_gap_across_segments(void **state)
{
    char path[256];
    struct replayed r;
    make_log(*state, 40, 512);
    vg_log_t *log = must_open(*state, 0, 512, &r);
    struct vg_log_stats st;
    vg_log_get_stats(log, &st);
    assert_true(st.n_segments >= 3);
    vg_log_close(log);
    /* remove the second segment: find it as the second .vgl by name */
    DIR *d = opendir(log_dir);
    struct dirent *de;
    uint64_t firsts[64];
    size_t n = 0;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".vgl") && n < 64)
            firsts[n++] = strtoull(de->d_name, NULL, 10);
    closedir(d);
    uint64_t second = UINT64_MAX, lowest = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        lowest = firsts[i] < lowest ? firsts[i] : lowest;
    for (size_t i = 0; i < n; i++)
        if (firsts[i] > lowest && firsts[i] < second)
            second = firsts[i];
    seg_file(path, sizeof path, second);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(open_log(*state, 0, 512, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("index gap");
}

static void test_log_refuses_log_starting_after_snapshot_index(void **state)
{
    char path[256], moved[256];
    make_log(*state, 3, 0);
    seg_file(path, sizeof path, 1);
    snprintf(moved, sizeof moved, "%s/x", base);
    assert_int_equal(rename(path, moved), 0);
    vg_log_t *log = must_open(*state, 10, 0, NULL); /* an empty log after snapshot 10 */
    append_range(log, 11, 12, 0);
    vg_log_close(log);
    assert_int_equal(open_log(*state, 5, 0, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("00000000000000000011.vgl");
}

/* ---- segments and snapshots ---- */

static void test_log_rolls_over_across_many_segments(void **state)
{
    struct replayed r;
    struct vg_log_stats st;
    vg_log_t *log = must_open(*state, 0, 4096, NULL);
    for (int batch = 0; batch < 20; batch++) { /* rollover inside and across batches */
        append_range(log, (uint64_t)batch * 100 + 1, (uint64_t)batch * 100 + 100, 100);
        assert_int_equal(vg_log_sync(log), 0);
    }
    vg_log_get_stats(log, &st);
    assert_true(st.n_segments >= 40);
    assert_int_equal(st.n_records_written, 2000);
    vg_log_close(log);
    log = must_open(*state, 0, 4096, &r);
    assert_int_equal(r.n, 2000);
    assert_int_equal(count_files(".vgl"), (int)st.n_segments);
    vg_log_close(log);
}

static void test_log_snapshot_compacts_and_recovery_resumes_after_it(void **state)
{
    struct replayed r;
    struct vg_log_stats st;
    vg_log_t *log = must_open(*state, 0, 2048, NULL);
    append_range(log, 1, 500, 0);
    char *data = vg_strdup("{\"state\":\"as of 300\"}");
    assert_int_equal(vg_log_snapshot(log, 300, 1, (uint8_t *)data, strlen(data)), 0);
    append_range(log, 501, 520, 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_log_get_stats(log, &st);
    assert_int_equal(st.snapshot_index, 300);
    uint64_t first = vg_log_first_index(log);
    assert_true(first > 1 && first <= 301);
    vg_log_close(log);

    uint64_t index, epoch;
    uint8_t *snap;
    size_t len;
    assert_int_equal(
        vg_snapshot_load_latest(log_dir, *state, &index, &epoch, &snap, &len, err, sizeof err),
        0);
    assert_int_equal(index, 300);
    assert_memory_equal(snap, "{\"state\":\"as of 300\"}", len);
    free(snap);
    log = must_open(*state, index, 2048, &r);
    assert_int_equal(r.first, 301);
    assert_int_equal(r.last, 520);
    append_range(log, 521, 521, 0);
    vg_log_close(log);
}

static void test_log_opens_dir_holding_only_a_snapshot(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    append_range(log, 1, 50, 0);
    assert_int_equal(vg_log_snapshot(log, 50, 1, (uint8_t *)vg_strdup("{}"), 2), 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_log_close(log);
    assert_int_equal(count_files(".vgl"), 0); /* every record is in the snapshot */
    assert_int_equal(count_files(".vgs"), 1);

    assert_int_equal(open_log(*state, 0, 0, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("snapshot 50");
    log = must_open(*state, 50, 0, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(vg_log_last_index(log), 50);
    assert_int_equal(vg_log_first_index(log), 51);
    append_range(log, 51, 52, 0);
    vg_log_close(log);
    log = must_open(*state, 50, 0, &r);
    assert_int_equal(r.first, 51);
    assert_int_equal(r.last, 52);
    vg_log_close(log);
}

static void test_log_snapshot_prunes_older_snapshots(void **state)
{
    vg_log_t *log = must_open(*state, 0, 1024, NULL);
    append_range(log, 1, 100, 0);
    assert_int_equal(vg_log_snapshot(log, 40, 1, (uint8_t *)vg_strdup("a"), 1), 0);
    assert_int_equal(vg_log_snapshot(log, 90, 1, (uint8_t *)vg_strdup("b"), 1), 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_log_close(log);
    assert_int_equal(count_files(".vgs"), 1);
    uint64_t latest;
    assert_int_equal(vg_snapshot_latest_index(log_dir, &latest, err, sizeof err), 0);
    assert_int_equal(latest, 90);
}

static void test_log_compact_after_snapshot_written_elsewhere(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(*state, 0, 1024, NULL);
    append_range(log, 1, 100, 0);
    assert_int_equal(vg_log_sync(log), 0);
    int before = count_files(".vgl");
    assert_int_equal(
        vg_snapshot_write(log_dir, *state, 60, 1, (const uint8_t *)"s", 1, err, sizeof err), 0);
    assert_int_equal(vg_log_compact(log, 60), 0);
    assert_int_equal(vg_log_sync(log), 0);
    assert_true(count_files(".vgl") < before);
    assert_true(vg_log_first_index(log) > 1 && vg_log_first_index(log) <= 61);
    vg_log_close(log);
    log = must_open(*state, 60, 1024, &r);
    assert_int_equal(r.first, 61);
    assert_int_equal(r.last, 100);
    vg_log_close(log);
}

static void test_log_compact_keeps_segments_without_snapshot_file(void **state)
{
    vg_log_t *log = must_open(*state, 0, 1024, NULL);
    append_range(log, 1, 100, 0);
    assert_int_equal(vg_log_sync(log), 0);
    int before = count_files(".vgl");
    vg_say_set_level((enum vg_say_level)(VG_SAY_ERROR + 1)); /* the expected error */
    assert_int_equal(vg_log_compact(log, 60), 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_say_set_level(VG_SAY_INFO);
    assert_int_equal(count_files(".vgl"), before);
    assert_int_equal(vg_log_first_index(log), 1);
    assert_int_equal(vg_log_compact(log, 101), -EINVAL);
    vg_log_close(log);
}

static void test_log_snapshot_refuses_index_not_yet_appended(void **state)
{
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    append_range(log, 1, 3, 0);
    assert_int_equal(vg_log_snapshot(log, 4, 1, (uint8_t *)vg_strdup("x"), 1), -EINVAL);
    assert_int_equal(vg_log_snapshot(log, 0, 1, (uint8_t *)vg_strdup("x"), 1), -EINVAL);
    vg_log_close(log);
}

/* ---- the writer thread ---- */

static void wait_durable(vg_log_t *log, uint64_t index)
{
    uint64_t deadline = vg_mono_ms() + 30000;
    while (vg_log_durable_index(log) < index && !vg_log_failed(log)) {
        struct pollfd pfd = {vg_log_notify_fd(log), POLLIN, 0};
        assert_true(vg_mono_ms() < deadline);
        if (poll(&pfd, 1, 100) > 0)
            vg_log_notify_drain(log);
    }
}

static void test_log_writer_group_commits_concurrent_appends(void **state)
{
    struct vg_log_stats st;
    struct replayed r;
    enum { N = 20000 };
    vg_log_t *log = must_open(*state, 0, 1 << 20, NULL);
    assert_int_equal(vg_log_start_writer(log), 0);
    assert_int_equal(vg_log_start_writer(log), -EALREADY);
    append_range(log, 1, N, 100);
    wait_durable(log, N);
    assert_int_equal(vg_log_durable_index(log), N);
    vg_log_get_stats(log, &st);
    assert_int_equal(st.n_records_written, N);
    assert_true(st.n_fsyncs > 0);
    assert_true(st.n_fsyncs < st.n_records_written);
    vg_log_close(log);
    log = must_open(*state, 0, 1 << 20, &r);
    assert_int_equal(r.n, N);
    vg_log_close(log);
}

static void test_log_notify_fd_becomes_readable_when_durable_advances(void **state)
{
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    assert_int_equal(vg_log_start_writer(log), 0);
    struct pollfd pfd = {vg_log_notify_fd(log), POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    append_range(log, 1, 1, 0);
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    vg_log_notify_drain(log);
    assert_int_equal(vg_log_durable_index(log), 1);
    assert_int_equal(poll(&pfd, 1, 0), 0);
    vg_log_close(log);
}

static void test_log_sync_with_writer_waits_for_everything_queued(void **state)
{
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    assert_int_equal(vg_log_start_writer(log), 0);
    append_range(log, 1, 1000, 0);
    assert_int_equal(vg_log_snapshot(log, 1000, 1, (uint8_t *)vg_strdup("s"), 1), 0);
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_durable_index(log), 1000);
    struct vg_log_stats st;
    vg_log_get_stats(log, &st);
    assert_int_equal(st.snapshot_index, 1000);
    vg_log_close(log);
}

static void test_log_close_flushes_queued_records(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    assert_int_equal(vg_log_start_writer(log), 0);
    append_range(log, 1, 1000, 0);
    vg_log_close(log);
    log = must_open(*state, 0, 0, &r);
    assert_int_equal(r.n, 1000);
    vg_log_close(log);
}

static void test_log_write_failure_stops_appends(void **state)
{
    struct rlimit saved, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_IGN); /* write fails with EFBIG instead of killing us */
    vg_log_t *log = must_open(*state, 0, 0, NULL);
    small = saved;
    small.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    vg_say_set_level((enum vg_say_level)(VG_SAY_ERROR + 1)); /* the expected error */
    append_range(log, 1, 100, 100);
    int rc = vg_log_sync(log);
    vg_say_set_level(VG_SAY_INFO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    assert_int_equal(rc, -EIO);
    assert_true(vg_log_failed(log));
    assert_int_equal(vg_log_durable_index(log), 0);
    assert_int_equal(vg_log_append(log, 1, VG_REC_NOOP, "", 0, NULL), -EIO);
    vg_log_close(log);
    signal(SIGXFSZ, SIG_DFL);
}

static void test_log_keyring_rotation_keeps_old_records_readable(void **state)
{
    char key_path[256], old_key_path[256], seg[256];
    struct replayed r;
    vg_keyring_t *kr = NULL;
    size_t len;
    snprintf(key_path, sizeof key_path, "%s/keyring", base);
    snprintf(old_key_path, sizeof old_key_path, "%s/keyring.old", base);
    assert_int_equal(vg_keyring_create(key_path, err, sizeof err), 0);
    uint8_t *old_keys = read_file(key_path, &len);
    write_file(old_key_path, old_keys, len);
    free(old_keys);
    assert_int_equal(vg_keyring_load(key_path, &kr, err, sizeof err), 0);
    vg_log_t *log = must_open(kr, 0, 0, NULL);
    append_range(log, 1, 10, 0);
    assert_int_equal(vg_keyring_rotate(kr, key_path, err, sizeof err), 0);
    append_range(log, 11, 20, 0);
    vg_log_close(log);
    vg_keyring_free(kr);

    assert_int_equal(vg_keyring_load(key_path, &kr, err, sizeof err), 0);
    log = must_open(kr, 0, 0, &r);
    assert_int_equal(r.n, 20);
    assert_int_equal(r.key_ids[0], 1);
    assert_int_equal(r.key_ids[9], 1);
    assert_int_equal(r.key_ids[10], 2);
    assert_int_equal(r.key_ids[19], 2);
    vg_log_close(log);
    vg_keyring_free(kr);

    /* A keyring without the new key, or a wrong one, must not make the
     * records it cannot open look like a torn tail: refused, nothing cut. */
    seg_file(seg, sizeof seg, 1);
    off_t size = file_size(seg);
    assert_int_equal(chmod(old_key_path, 0600), 0);
    assert_int_equal(vg_keyring_load(old_key_path, &kr, err, sizeof err), 0);
    assert_int_equal(open_log(kr, 0, 0, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("unknown key 2");
    vg_keyring_free(kr);
    kr = vg_keyring_new_ephemeral();
    assert_int_equal(open_log(kr, 0, 0, NULL, &log), -VG_ECORRUPT);
    assert_err_contains("wrong keyring?");
    vg_keyring_free(kr);
    assert_int_equal(file_size(seg), size);
}

/* ---- checked-in fixtures ---- */

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

static int open_fixture(const char *name, struct replayed *r, vg_log_t **log)
{
    copy_fixture(name);
    vg_keyring_t *kr = vg_keyring_new_from_bytes(fixture_key, 1);
    int rc = open_log(kr, 0, FIXTURE_SEGMENT_BYTES, r, log);
    if (rc == 0) {
        append_range(*log, r->last + 1, r->last + 1, 0); /* still writable */
        vg_log_close(*log);
        *log = NULL;
    }
    vg_keyring_free(kr);
    return rc;
}

static void test_log_fixture_clean_log_replays_all(void **state)
{
    struct replayed r;
    vg_log_t *log;
    assert_int_equal(open_fixture("clean", &r, &log), 0);
    assert_int_equal(r.n, 9);
}

/* Runs fn with stderr going to a file, and returns what was written. */
static void capture_stderr(char *out, size_t outlen,
                           int (*fn)(const char *, struct replayed *, vg_log_t **),
                           const char *name, struct replayed *r, int *rc)
{
    char path[256];
    vg_log_t *log;
    snprintf(path, sizeof path, "%s/stderr", base);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    *rc = fn(name, r, &log);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len;
    uint8_t *p = read_file(path, &len);
    snprintf(out, outlen, "%.*s", (int)len, (const char *)p);
    free(p);
}

static void test_log_fixture_torn_tail_is_cut_with_warning(void **state)
{
    struct replayed r;
    char said[2048];
    int rc;
    capture_stderr(said, sizeof said, open_fixture, "torn-tail", &r, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r.n, 8);
    if (!strstr(said, "00000000000000000007.vgl") || !strstr(said, "cutting torn tail"))
        fail_msg("no warning about the cut: '%s'", said);
}

static void test_log_fixture_zero_filled_tail_is_cut(void **state)
{
    struct replayed r;
    char said[2048];
    int rc;
    capture_stderr(said, sizeof said, open_fixture, "zero-tail", &r, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r.n, 9);
    if (!strstr(said, "cutting zero-filled tail"))
        fail_msg("no warning about the cut: '%s'", said);
}

static void test_log_fixture_corrupt_middle_is_refused(void **state)
{
    struct replayed r;
    vg_log_t *log = NULL;
    char where[256];
    assert_int_equal(open_fixture("corrupt-middle", &r, &log), -VG_ECORRUPT);
    /* record 8 is the second frame of segment 7: header 32 + frame 84 */
    snprintf(where, sizeof where, "'%s/00000000000000000007.vgl' is corrupt at byte 116",
             log_dir);
    assert_err_contains(where);
}

static void test_log_fixture_index_gap_is_refused(void **state)
{
    struct replayed r;
    vg_log_t *log = NULL;
    assert_int_equal(open_fixture("index-gap", &r, &log), -VG_ECORRUPT);
    assert_err_contains("00000000000000000007.vgl");
    assert_err_contains("index gap");
}

/* ---- fixture generation (VG_REGEN_FIXTURES=1) ---- */

static void save_fixture(const char *name, uint64_t first, const uint8_t *p, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/log/%s", VG_FIXTURES, name);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/log/%s/%020llu.vgl", VG_FIXTURES, name,
             (unsigned long long)first);
    write_file(path, p, len);
}

static void test_log_regenerates_fixtures_on_request(void **state)
{
    if (!getenv("VG_REGEN_FIXTURES"))
        skip();
    vg_keyring_t *kr = vg_keyring_new_from_bytes(fixture_key, 1);
    vg_log_t *log = must_open(kr, 0, FIXTURE_SEGMENT_BYTES, NULL);
    char payload[32];
    for (uint64_t i = 1; i <= 9; i++) {
        snprintf(payload, sizeof payload, "record %llu fixture", (unsigned long long)i);
        assert_int_equal(vg_log_append(log, 1, VG_REC_OBJ_PUT, payload, 16, NULL), 0);
    }
    vg_log_close(log);
    vg_keyring_free(kr);
    uint8_t *seg[3];
    size_t len[3];
    for (int s = 0; s < 3; s++) {
        char path[256];
        seg_file(path, sizeof path, 1 + 3 * (uint64_t)s);
        seg[s] = read_file(path, &len[s]);
        assert_int_equal(len[s], FIXTURE_SEGMENT_BYTES);
    }
    static const uint8_t zeros[600];
    uint8_t zero_tail[FIXTURE_SEGMENT_BYTES + sizeof zeros];
    memcpy(zero_tail, seg[2], len[2]);
    memcpy(zero_tail + len[2], zeros, sizeof zeros);
    for (int s = 0; s < 3; s++)
        save_fixture("clean", 1 + 3 * (uint64_t)s, seg[s], len[s]);
    save_fixture("torn-tail", 1, seg[0], len[0]);
    save_fixture("torn-tail", 4, seg[1], len[1]);
    save_fixture("torn-tail", 7, seg[2], len[2] - 30);
    save_fixture("zero-tail", 1, seg[0], len[0]);
    save_fixture("zero-tail", 4, seg[1], len[1]);
    save_fixture("zero-tail", 7, zero_tail, sizeof zero_tail);
    save_fixture("index-gap", 1, seg[0], len[0]);
    save_fixture("index-gap", 7, seg[2], len[2]);
    seg[2][116 + 4 + 24 + 24 + 5] ^= 0x04; /* ciphertext of record 8 */
    save_fixture("corrupt-middle", 1, seg[0], len[0]);
    save_fixture("corrupt-middle", 4, seg[1], len[1]);
    save_fixture("corrupt-middle", 7, seg[2], len[2]);
    for (int s = 0; s < 3; s++)
        free(seg[s]);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_log_opens_missing_dir_empty_and_starts_at_one),
        T(test_log_roundtrip_replays_every_record_in_order),
        T(test_log_replays_only_records_after_snapshot_index),
        T(test_log_replay_error_fails_open_with_its_code),
        T(test_log_refuses_epoch_going_back),
        T(test_log_refuses_second_open_of_same_dir),
        T(test_log_cuts_torn_tail_at_every_offset_of_last_frame),
        T(test_log_cuts_zero_filled_tail),
        T(test_log_cuts_final_frame_failing_authentication),
        T(test_log_removes_newest_segment_with_torn_header),
        T(test_log_refuses_corruption_in_middle),
        T(test_log_refuses_damaged_length_in_middle),
        T(test_log_refuses_torn_end_of_older_segment),
        T(test_log_refuses_swapped_records),
        T(test_log_refuses_index_gap_across_segments),
        T(test_log_refuses_log_starting_after_snapshot_index),
        T(test_log_rolls_over_across_many_segments),
        T(test_log_snapshot_compacts_and_recovery_resumes_after_it),
        T(test_log_opens_dir_holding_only_a_snapshot),
        T(test_log_snapshot_prunes_older_snapshots),
        T(test_log_compact_after_snapshot_written_elsewhere),
        T(test_log_compact_keeps_segments_without_snapshot_file),
        T(test_log_snapshot_refuses_index_not_yet_appended),
        T(test_log_writer_group_commits_concurrent_appends),
        T(test_log_notify_fd_becomes_readable_when_durable_advances),
        T(test_log_sync_with_writer_waits_for_everything_queued),
        T(test_log_close_flushes_queued_records),
        T(test_log_write_failure_stops_appends),
        T(test_log_keyring_rotation_keeps_old_records_readable),
        T(test_log_regenerates_fixtures_on_request),
        T(test_log_fixture_clean_log_replays_all),
        T(test_log_fixture_torn_tail_is_cut_with_warning),
        T(test_log_fixture_zero_filled_tail_is_cut),
        T(test_log_fixture_corrupt_middle_is_refused),
        T(test_log_fixture_index_gap_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

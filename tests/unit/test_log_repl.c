/*
 * test_log_repl.c - the log operations mirroring is built on, as the
 * replication layer sees them: the primary reads its durable frames back
 * byte for byte, the mirror stores them and ends up with the same log, a
 * rejoining old primary cuts its divergent tail, and a mirror too far
 * behind starts over after a snapshot. Crashes part way through a
 * truncation (the compiled-in test hook) leave a log that recovers.
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
#include <sys/stat.h>
#include <unistd.h>

#define SEG_HEADER 32

static char err[1024];
static char base[64];
static char dir_a[128]; /* "primary" */
static char dir_b[128]; /* "mirror" */

/* ---- helpers ---- */

static int setup(void **state)
{
    snprintf(base, sizeof base, "/tmp/vg-test-logrepl-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(dir_a, sizeof dir_a, "%s/a", base);
    snprintf(dir_b, sizeof dir_b, "%s/b", base);
    err[0] = '\0';
    vg_log_test_crash_after_ops = -1;
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
    vg_log_test_crash_after_ops = -1;
    return 0;
}

/* What a replay saw: records must come in order, "record N" payloads. */
struct replayed {
    uint64_t n, first, last;
};

static int replay_check(void *ctx, const vg_record_t *rec)
{
    struct replayed *r = ctx;
    char want[64];
    snprintf(want, sizeof want, "record %llu", (unsigned long long)rec->index);
    if (rec->payload_len < strlen(want) || memcmp(rec->payload, want, strlen(want)) != 0)
        fail_msg("record %llu has the wrong payload", (unsigned long long)rec->index);
    if (r->n > 0 && rec->index != r->last + 1)
        fail_msg("record %llu replayed after %llu", (unsigned long long)rec->index,
                 (unsigned long long)r->last);
    if (r->n++ == 0)
        r->first = rec->index;
    r->last = rec->index;
    return 0;
}

static vg_log_t *must_open(const char *dir, const vg_keyring_t *kr, uint64_t after,
                           size_t segment_bytes, struct replayed *r)
{
    vg_log_opts_t opts = {dir, kr, segment_bytes};
    vg_log_t *log = NULL;
    if (r)
        memset(r, 0, sizeof *r);
    int rc = vg_log_open(&opts, after, r ? replay_check : NULL, r, &log, err, sizeof err);
    if (rc != 0)
        fail_msg("vg_log_open '%s': %d: %s", dir, rc, err);
    return log;
}

/* Appends records first..last of the given epoch, "record N" padded to pad. */
static void append_range(vg_log_t *log, uint64_t epoch, uint64_t first, uint64_t last,
                         size_t pad)
{
    static char payload[300000];
    for (uint64_t i = first; i <= last; i++) {
        int n = snprintf(payload, sizeof payload, "record %llu", (unsigned long long)i);
        size_t len = (size_t)n > pad ? (size_t)n : pad;
        assert_true(len <= sizeof payload);
        memset(payload + n, '.', len - (size_t)n);
        uint64_t index = 0;
        assert_int_equal(vg_log_append(log, epoch, VG_REC_OBJ_PUT, payload, len, &index), 0);
        assert_int_equal(index, i);
    }
}

static void seg_file(const char *dir, uint64_t first_index, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%020llu.vgl", dir, (unsigned long long)first_index);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = vg_malloc(*len + 1);
    assert_int_equal(fread(p, 1, *len, f), *len);
    fclose(f);
    return p;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* First indexes of the segment files in dir, sorted; returns how many. */
static size_t list_segs(const char *dir, uint64_t *firsts, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len == 24 && strcmp(de->d_name + 20, ".vgl") == 0 && n < max)
            firsts[n++] = strtoull(de->d_name, NULL, 10);
    }
    if (d)
        closedir(d);
    qsort(firsts, n, sizeof *firsts, cmp_u64);
    return n;
}

/* Every record frame of the log in dir, in order, as the files hold them. */
static void frames_on_disk(const char *dir, vg_buf_t *out)
{
    uint64_t firsts[4096];
    size_t n = list_segs(dir, firsts, VG_ARRAY_LEN(firsts));
    for (size_t i = 0; i < n; i++) {
        char path[256];
        size_t len;
        seg_file(dir, firsts[i], path, sizeof path);
        uint8_t *p = read_file(path, &len);
        assert_true(len >= SEG_HEADER);
        vg_buf_add(out, p + SEG_HEADER, len - SEG_HEADER);
        free(p);
    }
}

/* Decodes frames p[0..n) and checks that they are records first..last with
 * "record N" payloads. */
static void check_frames(const vg_keyring_t *kr, const uint8_t *p, size_t n, uint64_t first,
                         uint64_t last)
{
    uint64_t want = first;
    size_t off = 0;
    while (off < n) {
        vg_record_t rec;
        size_t used;
        char text[64];
        assert_int_equal(vg_record_decode(kr, p + off, n - off, &rec, &used, err, sizeof err),
                         0);
        assert_int_equal(rec.index, want);
        snprintf(text, sizeof text, "record %llu", (unsigned long long)want);
        assert_true(rec.payload_len >= strlen(text));
        assert_memory_equal(rec.payload, text, strlen(text));
        vg_record_release(&rec);
        off += used;
        want++;
    }
    assert_int_equal(want, last + 1);
}

/* Reads everything durable from from_index in calls of max_bytes. */
static uint64_t read_all(vg_log_t *log, uint64_t from_index, size_t max_bytes, vg_buf_t *out)
{
    uint64_t next = from_index, last = 0;
    for (;;) {
        size_t before = out->len;
        assert_int_equal(vg_log_read(log, next, max_bytes, out, &last, err, sizeof err), 0);
        if (last < next) {
            assert_int_equal(out->len, before);
            assert_int_equal(last, next - 1);
            return last;
        }
        next = last + 1;
    }
}

static void copy_log(vg_log_t *from, uint64_t from_index, vg_log_t *to)
{
    vg_buf_t frames = VG_BUF_INIT;
    read_all(from, from_index, 1 << 16, &frames);
    size_t off = 0;
    while (off < frames.len) {
        size_t frame_bytes = 4 + vg_get_u32(frames.data + off);
        assert_int_equal(vg_log_append_frame(to, frames.data + off, frame_bytes, NULL), 0);
        off += frame_bytes;
    }
    vg_buf_release(&frames);
}

/* The sealed frame of record index of a log (one read of max 0 bytes). */
static void frame_of(vg_log_t *log, uint64_t index, vg_buf_t *out)
{
    uint64_t last;
    vg_buf_reset(out);
    assert_int_equal(vg_log_read(log, index, 0, out, &last, err, sizeof err), 0);
    assert_int_equal(last, index);
}

static void quiet(void)
{
    vg_say_set_level((enum vg_say_level)(VG_SAY_ERROR + 1));
}

static void loud(void)
{
    vg_say_set_level(VG_SAY_INFO);
}

/* ---- vg_log_read ---- */

static void test_read_returns_exact_on_disk_bytes_that_decode_to_the_records(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 0, NULL);
    append_range(log, 1, 1, 100, 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_buf_t got = VG_BUF_INIT, disk = VG_BUF_INIT;
    uint64_t last = 0;
    assert_int_equal(vg_log_read(log, 1, 1 << 20, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 100);
    frames_on_disk(dir_a, &disk);
    assert_int_equal(got.len, disk.len);
    assert_memory_equal(got.data, disk.data, disk.len);
    check_frames(*state, got.data, got.len, 1, 100);

    vg_buf_reset(&got); /* from the middle, after what the caller holds */
    vg_buf_add(&got, "prefix", 6);
    assert_int_equal(vg_log_read(log, 42, 1 << 20, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 100);
    assert_memory_equal(got.data, "prefix", 6);
    check_frames(*state, got.data + 6, got.len - 6, 42, 100);
    vg_buf_release(&got);
    vg_buf_release(&disk);
    vg_log_close(log);
}

static void test_read_crosses_segment_boundaries(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 1024, NULL);
    append_range(log, 1, 1, 600, 20);
    assert_int_equal(vg_log_sync(log), 0);
    struct vg_log_stats st;
    vg_log_get_stats(log, &st);
    assert_true(st.n_segments > 20);
    vg_buf_t got = VG_BUF_INIT, disk = VG_BUF_INIT;
    frames_on_disk(dir_a, &disk);
    uint64_t last = 0;
    assert_int_equal(vg_log_read(log, 1, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 600); /* one call, every segment */
    assert_int_equal(got.len, disk.len);
    assert_memory_equal(got.data, disk.data, disk.len);

    /* Small sequential reads give the same bytes, never more than asked
     * for, and always whole frames. */
    vg_buf_t part = VG_BUF_INIT, all = VG_BUF_INIT;
    for (uint64_t next = 1; next <= 600; next = last + 1) {
        vg_buf_reset(&part);
        assert_int_equal(vg_log_read(log, next, 300, &part, &last, err, sizeof err), 0);
        assert_true(last >= next);
        assert_true(part.len <= 300);
        check_frames(*state, part.data, part.len, next, last);
        vg_buf_add(&all, part.data, part.len);
    }
    assert_int_equal(all.len, disk.len);
    assert_memory_equal(all.data, disk.data, disk.len);
    vg_buf_release(&part);
    vg_buf_release(&all);
    vg_buf_release(&got);
    vg_buf_release(&disk);
    vg_log_close(log);
}

static void test_read_finds_any_index_in_large_segments(void **state)
{
    /* 64 KiB-spaced marks, set by the writer, by recovery, and by reads of
     * segments recovery skipped: every start index must come out right. */
    vg_log_t *log = must_open(dir_a, *state, 0, 1 << 20, NULL);
    append_range(log, 1, 1, 3000, 1000);
    assert_int_equal(vg_log_sync(log), 0);
    vg_buf_t one = VG_BUF_INIT;
    for (int pass = 0; pass < 3; pass++) { /* written, recovered, skipped by recovery */
        for (uint64_t i = 3000; i >= 1 && i <= 3000; i -= 7) { /* backwards: no cursor */
            frame_of(log, i, &one);
            check_frames(*state, one.data, one.len, i, i);
        }
        vg_log_close(log);
        log = must_open(dir_a, *state, pass == 0 ? 0 : 2900, 1 << 20, NULL);
    }
    vg_buf_release(&one);
    vg_log_close(log);
}

static void test_read_stops_at_durable_index(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 0, NULL);
    append_range(log, 1, 1, 10, 0);
    assert_int_equal(vg_log_sync(log), 0);
    append_range(log, 1, 11, 15, 0); /* queued, not durable */
    vg_buf_t got = VG_BUF_INIT;
    uint64_t last = 0;
    assert_int_equal(vg_log_read(log, 1, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 10);
    check_frames(*state, got.data, got.len, 1, 10);
    vg_buf_reset(&got);
    assert_int_equal(vg_log_read(log, 11, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 10);
    assert_int_equal(got.len, 0);
    assert_int_equal(vg_log_read(log, 99, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 98);
    assert_int_equal(got.len, 0);
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_read(log, 11, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 15);
    check_frames(*state, got.data, got.len, 11, 15);
    assert_int_equal(vg_log_read(log, 0, SIZE_MAX, &got, &last, err, sizeof err), -EINVAL);
    vg_buf_release(&got);
    vg_log_close(log);
}

static void test_read_of_compacted_range_says_erange(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 2048, NULL);
    append_range(log, 1, 1, 500, 0);
    assert_int_equal(vg_log_snapshot(log, 300, 1, (uint8_t *)vg_strdup("s"), 1), 0);
    assert_int_equal(vg_log_sync(log), 0);
    uint64_t first = vg_log_first_index(log), last = 0;
    assert_true(first > 1 && first <= 301);
    vg_buf_t got = VG_BUF_INIT;
    assert_int_equal(vg_log_read(log, 1, SIZE_MAX, &got, &last, err, sizeof err), -ERANGE);
    assert_int_equal(vg_log_read(log, first - 1, SIZE_MAX, &got, &last, err, sizeof err),
                     -ERANGE);
    assert_int_equal(got.len, 0);
    assert_int_equal(vg_log_read(log, first, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 500);
    check_frames(*state, got.data, got.len, first, 500);
    vg_buf_release(&got);
    vg_log_close(log);
}

static void test_read_takes_one_frame_larger_than_max_bytes(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 0, NULL);
    append_range(log, 1, 1, 2, 10);
    append_range(log, 1, 3, 3, 250000); /* larger than a read chunk */
    append_range(log, 1, 4, 6, 10);
    assert_int_equal(vg_log_sync(log), 0);
    vg_buf_t got = VG_BUF_INIT;
    uint64_t last = 0;
    assert_int_equal(vg_log_read(log, 1, 0, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 1); /* max_bytes 0: exactly one record */
    assert_int_equal(vg_log_read(log, 2, 100, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 2); /* record 3 would pass 100 bytes */
    assert_int_equal(vg_log_read(log, 3, 100, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 3); /* alone larger than asked: still returned */
    assert_int_equal(vg_log_read(log, 4, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 6);
    check_frames(*state, got.data, got.len, 1, 6);
    vg_buf_reset(&got);
    assert_int_equal(vg_log_read(log, 2, 1 << 20, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 6);
    check_frames(*state, got.data, got.len, 2, 6);
    vg_buf_release(&got);
    vg_log_close(log);
}

static void test_read_reports_segment_damaged_after_open(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 0, NULL);
    append_range(log, 1, 1, 20, 0);
    assert_int_equal(vg_log_sync(log), 0);
    char path[256];
    seg_file(dir_a, 1, path, sizeof path);
    size_t len;
    uint8_t *p = read_file(path, &len);
    size_t off = SEG_HEADER;
    for (int k = 0; k < 5; k++)
        off += 4 + vg_get_u32(p + off);
    int fd = open(path, O_WRONLY);
    uint8_t bad_index[8];
    vg_put_u64(bad_index, 77);
    assert_int_equal(pwrite(fd, bad_index, 8, (off_t)(off + 12)), 8); /* record 6 says 77 */
    close(fd);
    free(p);
    vg_buf_t got = VG_BUF_INIT;
    vg_buf_add(&got, "keep", 4);
    uint64_t last = 0;
    assert_int_equal(vg_log_read(log, 1, SIZE_MAX, &got, &last, err, sizeof err), -VG_ECORRUPT);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "record 77 where 6 was expected"));
    assert_int_equal(got.len, 4); /* nothing appended */
    assert_int_equal(last, 0);
    vg_log_close(log);

    /* A segment cut short under the open log: a durable record is gone. */
    log = must_open(dir_b, *state, 0, 0, NULL);
    append_range(log, 1, 1, 20, 0);
    assert_int_equal(vg_log_sync(log), 0);
    seg_file(dir_b, 1, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 10), 0);
    assert_int_equal(vg_log_read(log, 15, SIZE_MAX, &got, &last, err, sizeof err),
                     -VG_ECORRUPT);
    assert_non_null(strstr(err, "segment ends inside record 20"));
    assert_int_equal(got.len, 4);
    vg_buf_release(&got);
    vg_log_close(log);
}

static void test_read_streams_while_writer_appends_and_compacts(void **state)
{
    enum { N = 20000 };
    vg_log_t *log = must_open(dir_a, *state, 0, 8192, NULL);
    assert_int_equal(vg_log_start_writer(log), 0);
    vg_buf_t got = VG_BUF_INIT;
    uint64_t next = 1, last = 0, appended = 0;
    while (next <= N) {
        if (appended < N) {
            uint64_t upto = appended + 50 > N ? N : appended + 50;
            append_range(log, 1, appended + 1, upto, 60);
            appended = upto;
            if (appended % 2000 == 0) /* compaction runs behind the reader */
                assert_int_equal(vg_log_snapshot(log, next > 1 ? next - 1 : 1, 1,
                                                 (uint8_t *)vg_strdup("s"), 1),
                                 0);
        }
        vg_buf_reset(&got);
        int rc = vg_log_read(log, next, 4096, &got, &last, err, sizeof err);
        if (rc != 0)
            fail_msg("read from %llu: %d: %s", (unsigned long long)next, rc, err);
        assert_true(last <= vg_log_durable_index(log));
        if (last >= next)
            check_frames(*state, got.data, got.len, next, last);
        next = last + 1;
    }
    vg_buf_release(&got);
    vg_log_close(log);
}

/* ---- vg_log_append_frame ---- */

static void test_append_frame_reproduces_byte_identical_log(void **state)
{
    struct replayed r;
    vg_log_t *a = must_open(dir_a, *state, 0, 1500, NULL);
    append_range(a, 1, 1, 120, 30);
    append_range(a, 3, 121, 300, 0); /* a new primary's epoch */
    assert_int_equal(vg_log_sync(a), 0);
    vg_log_t *b = must_open(dir_b, *state, 0, 1500, NULL);
    copy_log(a, 1, b);
    assert_int_equal(vg_log_last_index(b), 300);
    assert_int_equal(vg_log_last_epoch(b), 3);
    assert_int_equal(vg_log_durable_index(b), 0);
    assert_int_equal(vg_log_sync(b), 0);
    assert_int_equal(vg_log_durable_index(b), 300);
    vg_log_close(a);
    vg_log_close(b);

    uint64_t segs_a[64], segs_b[64];
    size_t n = list_segs(dir_a, segs_a, 64);
    assert_true(n > 3);
    assert_int_equal(list_segs(dir_b, segs_b, 64), n);
    for (size_t i = 0; i < n; i++) { /* same names, same bytes, headers included */
        char pa[256], pb[256];
        size_t la, lb;
        assert_int_equal(segs_a[i], segs_b[i]);
        seg_file(dir_a, segs_a[i], pa, sizeof pa);
        seg_file(dir_b, segs_b[i], pb, sizeof pb);
        uint8_t *fa = read_file(pa, &la), *fb = read_file(pb, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(fa, fb, la);
        free(fa);
        free(fb);
    }
    b = must_open(dir_b, *state, 0, 1500, &r);
    assert_int_equal(r.n, 300);
    assert_int_equal(vg_log_last_epoch(b), 3);
    vg_log_close(b);
}

static void test_append_frame_is_durable_like_append(void **state)
{
    vg_log_t *a = must_open(dir_a, *state, 0, 0, NULL);
    append_range(a, 2, 1, 3, 0);
    assert_int_equal(vg_log_sync(a), 0);
    vg_log_t *b = must_open(dir_b, *state, 0, 0, NULL);
    assert_int_equal(vg_log_start_writer(b), 0);
    vg_log_set_deferred(b, 1);
    vg_buf_t frame = VG_BUF_INIT;
    struct pollfd pfd = {vg_log_notify_fd(b), POLLIN, 0};
    for (uint64_t i = 1; i <= 3; i++) {
        uint64_t index = 0;
        frame_of(a, i, &frame);
        assert_int_equal(vg_log_append_frame(b, frame.data, frame.len, &index), 0);
        assert_int_equal(index, i);
        vg_log_flush(b);
        while (vg_log_durable_index(b) < i) {
            assert_true(poll(&pfd, 1, 10000) == 1);
            vg_log_notify_drain(b);
        }
    }
    vg_buf_release(&frame);
    vg_log_close(a);
    vg_log_close(b);
}

static void test_append_frame_refuses_gaps_lower_epochs_and_tampering(void **state)
{
    vg_log_t *a = must_open(dir_a, *state, 0, 0, NULL);
    append_range(a, 5, 1, 3, 0);
    assert_int_equal(vg_log_sync(a), 0);
    vg_log_t *b = must_open(dir_b, *state, 0, 0, NULL);
    vg_buf_t f1 = VG_BUF_INIT, f2 = VG_BUF_INIT, f3 = VG_BUF_INIT, bad = VG_BUF_INIT;
    frame_of(a, 1, &f1);
    frame_of(a, 2, &f2);
    frame_of(a, 3, &f3);
    quiet();
    assert_int_equal(vg_log_append_frame(b, f2.data, f2.len, NULL), -EINVAL); /* gap */
    assert_int_equal(vg_log_append_frame(b, f1.data, f1.len, NULL), 0);
    assert_int_equal(vg_log_append_frame(b, f1.data, f1.len, NULL), -EINVAL); /* again */
    assert_int_equal(vg_log_append_frame(b, f3.data, f3.len, NULL), -EINVAL); /* gap */

    vg_buf_add(&bad, f2.data, f2.len); /* one bit of the ciphertext */
    bad.data[bad.len - 20] ^= 1;
    assert_int_equal(vg_log_append_frame(b, bad.data, bad.len, NULL), -EBADMSG);
    vg_buf_reset(&bad); /* the header says another epoch: AD no longer matches */
    vg_buf_add(&bad, f2.data, f2.len);
    vg_put_u64(bad.data + 4, 9);
    assert_int_equal(vg_log_append_frame(b, bad.data, bad.len, NULL), -EBADMSG);
    vg_buf_reset(&bad); /* cut short */
    vg_buf_add(&bad, f2.data, f2.len - 1);
    assert_int_equal(vg_log_append_frame(b, bad.data, bad.len, NULL), -EINVAL);
    vg_buf_reset(&bad); /* trailing bytes */
    vg_buf_add(&bad, f2.data, f2.len);
    vg_buf_add(&bad, "x", 1);
    assert_int_equal(vg_log_append_frame(b, bad.data, bad.len, NULL), -EINVAL);
    vg_buf_reset(&bad); /* two frames at once */
    vg_buf_add(&bad, f2.data, f2.len);
    vg_buf_add(&bad, f3.data, f3.len);
    assert_int_equal(vg_log_append_frame(b, bad.data, bad.len, NULL), -EINVAL);

    /* Record 2 sealed by another cluster: same key id, another key; and
     * under a key id this keyring lacks. */
    static const uint8_t key[VG_KEY_BYTES] = {7};
    vg_keyring_t *same_id = vg_keyring_new_from_bytes(key, vg_keyring_active_id(*state));
    vg_keyring_t *other_id = vg_keyring_new_from_bytes(key, 4242);
    vg_buf_t foreign = VG_BUF_INIT;
    vg_record_t rec = {5, 2, VG_REC_NOOP, vg_keyring_active_id(same_id), NULL, 0};
    assert_int_equal(vg_record_encode(same_id, &rec, &foreign), 0);
    assert_int_equal(vg_log_append_frame(b, foreign.data, foreign.len, NULL), -EBADMSG);
    vg_buf_reset(&foreign);
    rec.key_id = 4242;
    assert_int_equal(vg_record_encode(other_id, &rec, &foreign), 0);
    assert_int_equal(vg_log_append_frame(b, foreign.data, foreign.len, NULL), -ENOKEY);
    assert_int_equal(vg_log_last_index(b), 1); /* nothing refused changed the log */

    /* A record of a lower epoch than the log's last one is fenced off. */
    assert_int_equal(vg_log_append(b, 7, VG_REC_NOOP, "", 0, NULL), 0);
    vg_buf_reset(&foreign);
    rec = (vg_record_t){6, 3, VG_REC_NOOP, vg_keyring_active_id(*state), NULL, 0};
    assert_int_equal(vg_record_encode(*state, &rec, &foreign), 0);
    assert_int_equal(vg_log_append_frame(b, foreign.data, foreign.len, NULL), -EINVAL);
    loud();
    assert_int_equal(vg_log_last_index(b), 2);
    assert_int_equal(vg_log_last_epoch(b), 7);
    rec.epoch = 7; /* the same record at the log's epoch is fine */
    vg_buf_reset(&foreign);
    assert_int_equal(vg_record_encode(*state, &rec, &foreign), 0);
    assert_int_equal(vg_log_append_frame(b, foreign.data, foreign.len, NULL), 0);
    assert_int_equal(vg_log_sync(b), 0);
    assert_int_equal(vg_log_durable_index(b), 3);
    vg_buf_release(&foreign);
    vg_keyring_free(same_id);
    vg_keyring_free(other_id);
    vg_buf_release(&f1);
    vg_buf_release(&f2);
    vg_buf_release(&f3);
    vg_buf_release(&bad);
    vg_log_close(a);
    vg_log_close(b);
}

static void test_epoch_at_finds_each_records_epoch(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 1024, NULL);
    append_range(log, 1, 1, 100, 0);
    append_range(log, 4, 101, 200, 0);
    assert_int_equal(vg_log_sync(log), 0);
    append_range(log, 6, 201, 205, 0); /* queued */
    uint64_t epoch = 0;
    assert_int_equal(vg_log_epoch_at(log, 1, &epoch), 0);
    assert_int_equal(epoch, 1);
    assert_int_equal(vg_log_epoch_at(log, 100, &epoch), 0);
    assert_int_equal(epoch, 1);
    assert_int_equal(vg_log_epoch_at(log, 101, &epoch), 0);
    assert_int_equal(epoch, 4);
    assert_int_equal(vg_log_epoch_at(log, 205, &epoch), 0); /* the last one: known */
    assert_int_equal(epoch, 6);
    assert_int_equal(vg_log_epoch_at(log, 203, &epoch), -EAGAIN);
    assert_int_equal(vg_log_epoch_at(log, 0, &epoch), -ERANGE);
    assert_int_equal(vg_log_epoch_at(log, 206, &epoch), -ERANGE);
    assert_int_equal(vg_log_snapshot(log, 150, 4, (uint8_t *)vg_strdup("s"), 1), 0);
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_epoch_at(log, 203, &epoch), 0);
    assert_int_equal(epoch, 6);
    assert_true(vg_log_first_index(log) > 1);
    assert_int_equal(vg_log_epoch_at(log, 1, &epoch), -ERANGE);
    vg_log_close(log);
}

/* ---- vg_log_truncate_after ---- */

static void test_truncate_after_then_append_continues(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(dir_a, *state, 0, 0, NULL);
    append_range(log, 1, 1, 60, 0);
    append_range(log, 2, 61, 100, 0); /* the old primary's uncommitted tail */
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_truncate_after(log, 70, err, sizeof err), 0);
    assert_int_equal(vg_log_last_index(log), 70);
    assert_int_equal(vg_log_durable_index(log), 70);
    assert_int_equal(vg_log_last_epoch(log), 2);
    assert_int_equal(vg_log_truncate_after(log, 55, err, sizeof err), 0);
    assert_int_equal(vg_log_last_index(log), 55);
    assert_int_equal(vg_log_last_epoch(log), 1); /* back to record 55's epoch */
    assert_int_equal(vg_log_truncate_after(log, 80, err, sizeof err), 0); /* nothing after */
    assert_int_equal(vg_log_last_index(log), 55);

    vg_buf_t got = VG_BUF_INIT;
    uint64_t last = 0;
    assert_int_equal(vg_log_read(log, 50, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 55);
    append_range(log, 3, 56, 90, 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_buf_reset(&got);
    assert_int_equal(vg_log_read(log, 50, SIZE_MAX, &got, &last, err, sizeof err), 0);
    assert_int_equal(last, 90);
    check_frames(*state, got.data, got.len, 50, 90);
    vg_log_close(log);

    log = must_open(dir_a, *state, 0, 0, &r);
    assert_int_equal(r.n, 90);
    assert_int_equal(vg_log_last_epoch(log), 3);
    uint64_t epoch;
    assert_int_equal(vg_log_epoch_at(log, 55, &epoch), 0);
    assert_int_equal(epoch, 1);
    assert_int_equal(vg_log_epoch_at(log, 56, &epoch), 0);
    assert_int_equal(epoch, 3);
    vg_buf_release(&got);
    vg_log_close(log);
}

static void test_truncate_across_several_segments_recovers_truncated(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(dir_a, *state, 0, 1024, NULL);
    append_range(log, 1, 1, 500, 0);
    assert_int_equal(vg_log_sync(log), 0);
    vg_buf_t before = VG_BUF_INIT, after = VG_BUF_INIT;
    uint64_t last = 0, segs[256];
    assert_int_equal(vg_log_read(log, 1, SIZE_MAX, &before, &last, err, sizeof err), 0);
    size_t n_before = list_segs(dir_a, segs, 256);
    assert_int_equal(vg_log_truncate_after(log, 123, err, sizeof err), 0);
    size_t n_after = list_segs(dir_a, segs, 256);
    assert_true(n_after < n_before / 2);
    assert_true(segs[n_after - 1] <= 123);
    struct vg_log_stats st;
    vg_log_get_stats(log, &st);
    assert_int_equal(st.n_segments, n_after);
    vg_log_close(log);

    log = must_open(dir_a, *state, 0, 1024, &r);
    assert_int_equal(r.n, 123);
    assert_int_equal(vg_log_last_index(log), 123);
    assert_int_equal(vg_log_read(log, 1, SIZE_MAX, &after, &last, err, sizeof err), 0);
    assert_int_equal(last, 123);
    assert_memory_equal(after.data, before.data, after.len); /* an exact prefix */
    append_range(log, 1, 124, 400, 0);
    vg_log_close(log);
    log = must_open(dir_a, *state, 0, 1024, &r);
    assert_int_equal(r.n, 400);
    vg_buf_release(&before);
    vg_buf_release(&after);
    vg_log_close(log);
}

static void test_truncate_at_segment_start_removes_that_segment(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(dir_a, *state, 0, 1024, NULL);
    append_range(log, 1, 1, 100, 0);
    assert_int_equal(vg_log_sync(log), 0);
    uint64_t segs[64];
    size_t n = list_segs(dir_a, segs, 64);
    assert_true(n >= 3);
    uint64_t cut = segs[2] - 1; /* keep segments 0 and 1 whole */
    assert_int_equal(vg_log_truncate_after(log, cut, err, sizeof err), 0);
    assert_int_equal(list_segs(dir_a, segs, 64), 2);
    append_range(log, 1, cut + 1, cut + 5, 0);
    vg_log_close(log);
    log = must_open(dir_a, *state, 0, 1024, &r);
    assert_int_equal(r.last, cut + 5);
    assert_int_equal(r.n, cut + 5);
    vg_log_close(log);

    /* Down to nothing: a log without snapshot may be emptied. */
    log = must_open(dir_a, *state, 0, 1024, NULL);
    assert_int_equal(vg_log_truncate_after(log, 0, err, sizeof err), 0);
    assert_int_equal(vg_log_last_index(log), 0);
    assert_int_equal(list_segs(dir_a, segs, 64), 0);
    append_range(log, 1, 1, 3, 0);
    vg_log_close(log);
    log = must_open(dir_a, *state, 0, 1024, &r);
    assert_int_equal(r.n, 3);
    vg_log_close(log);
}

static void test_truncate_refused_when_snapshot_holds_later_records(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 2048, NULL);
    append_range(log, 1, 1, 400, 0);
    assert_int_equal(vg_log_snapshot(log, 300, 1, (uint8_t *)vg_strdup("s"), 1), 0);
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_truncate_after(log, 299, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "snapshot 300"));
    assert_int_equal(vg_log_truncate_after(log, 10, err, sizeof err), -EINVAL);
    assert_int_equal(vg_log_last_index(log), 400);
    assert_false(vg_log_failed(log));
    assert_int_equal(vg_log_truncate_after(log, 300, err, sizeof err), 0); /* keeps 300 */
    assert_int_equal(vg_log_last_index(log), 300);
    vg_log_close(log);

    /* After a restart the snapshot the log was opened at still counts, and
     * so does one written into the directory by someone else. */
    struct replayed r;
    log = must_open(dir_a, *state, 300, 2048, &r);
    assert_int_equal(r.n, 0);
    append_range(log, 1, 301, 350, 0);
    assert_int_equal(vg_log_truncate_after(log, 299, err, sizeof err), -EINVAL);
    assert_int_equal(
        vg_snapshot_write(dir_a, *state, 320, 1, (const uint8_t *)"s", 1, err, sizeof err), 0);
    assert_int_equal(vg_log_truncate_after(log, 319, err, sizeof err), -EINVAL);
    assert_int_equal(vg_log_truncate_after(log, 320, err, sizeof err), 0);
    vg_log_close(log);
}

static void test_truncate_with_writer_running_then_writer_goes_on(void **state)
{
    struct replayed r;
    vg_log_t *log = must_open(dir_a, *state, 0, 4096, NULL);
    assert_int_equal(vg_log_start_writer(log), 0);
    append_range(log, 1, 1, 5000, 20); /* much of it still queued */
    assert_int_equal(vg_log_truncate_after(log, 2500, err, sizeof err), 0);
    assert_int_equal(vg_log_durable_index(log), 2500);
    append_range(log, 2, 2501, 3000, 20);
    assert_int_equal(vg_log_sync(log), 0);
    assert_int_equal(vg_log_durable_index(log), 3000);
    vg_log_close(log);
    log = must_open(dir_a, *state, 0, 4096, &r);
    assert_int_equal(r.n, 3000);
    vg_log_close(log);
}

static void test_truncate_crash_between_steps_recovers_a_prefix(void **state)
{
    /* Truncating 400 records in 1 KiB segments back to 123 takes many file
     * operations; a crash before any of them must leave a log that opens
     * cleanly, holds at least records 1..123 intact, and can be truncated
     * again. */
    for (int step = 0;; step++) {
        struct replayed r;
        nftw(dir_a, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        vg_log_t *log = must_open(dir_a, *state, 0, 1024, NULL);
        append_range(log, 1, 1, 400, 0);
        assert_int_equal(vg_log_sync(log), 0);
        vg_log_test_crash_after_ops = step;
        int rc = vg_log_truncate_after(log, 123, err, sizeof err);
        vg_log_test_crash_after_ops = -1;
        if (rc == 0) { /* no crash: every step was taken */
            assert_true(step > 3);
            vg_log_close(log);
            break;
        }
        assert_int_equal(rc, -EINTR);
        assert_true(vg_log_failed(log));
        assert_int_equal(vg_log_append(log, 1, VG_REC_NOOP, "", 0, NULL), -EIO);
        vg_log_close(log);

        log = must_open(dir_a, *state, 0, 1024, &r);
        assert_int_equal(r.first, 1);
        assert_true(r.last >= 123 && r.last <= 400);
        assert_int_equal(vg_log_truncate_after(log, 123, err, sizeof err), 0);
        vg_log_close(log);
        log = must_open(dir_a, *state, 0, 1024, &r);
        assert_int_equal(r.last, 123);
        vg_log_close(log);
    }
}

/* ---- vg_log_reset_to ---- */

static void test_reset_to_snapshot_continues_after_it(void **state)
{
    struct replayed r;
    vg_log_t *a = must_open(dir_a, *state, 0, 2048, NULL); /* the primary */
    append_range(a, 2, 1, 600, 0);
    assert_int_equal(vg_log_sync(a), 0);
    vg_log_t *b = must_open(dir_b, *state, 0, 2048, NULL); /* far behind */
    append_range(b, 1, 1, 100, 0);
    assert_int_equal(vg_log_sync(b), 0);

    assert_int_equal(vg_log_reset_to(b, 500), 0);
    assert_int_equal(vg_log_last_index(b), 500);
    assert_int_equal(vg_log_durable_index(b), 500);
    assert_int_equal(vg_log_first_index(b), 501);
    uint64_t segs[64], last = 0, epoch;
    assert_int_equal(list_segs(dir_b, segs, 64), 0);
    vg_buf_t got = VG_BUF_INIT;
    assert_int_equal(vg_log_read(b, 100, SIZE_MAX, &got, &last, err, sizeof err), -ERANGE);
    assert_int_equal(vg_log_epoch_at(b, 500, &epoch), -ERANGE);
    assert_int_equal(vg_log_truncate_after(b, 499, err, sizeof err), -EINVAL);
    assert_int_equal(
        vg_snapshot_write(dir_b, *state, 500, 2, (const uint8_t *)"s", 1, err, sizeof err), 0);
    copy_log(a, 501, b);
    assert_int_equal(vg_log_last_index(b), 600);
    vg_log_close(b);

    b = must_open(dir_b, *state, 500, 2048, &r);
    assert_int_equal(r.first, 501);
    assert_int_equal(r.last, 600);
    vg_buf_release(&got);
    vg_log_close(b);
    vg_log_close(a);
}

static void test_reset_to_refused_below_a_local_snapshot(void **state)
{
    vg_log_t *log = must_open(dir_a, *state, 0, 0, NULL);
    append_range(log, 1, 1, 100, 0);
    assert_int_equal(vg_log_snapshot(log, 80, 1, (uint8_t *)vg_strdup("s"), 1), 0);
    assert_int_equal(vg_log_sync(log), 0);
    quiet();
    assert_int_equal(vg_log_reset_to(log, 50), -EINVAL);
    loud();
    assert_int_equal(vg_log_reset_to(log, 0), -EINVAL);
    assert_int_equal(vg_log_last_index(log), 100);
    assert_false(vg_log_failed(log));
    assert_int_equal(vg_log_reset_to(log, 80), 0);
    assert_int_equal(vg_log_last_index(log), 80);
    vg_log_close(log);
}

static void test_reset_to_crash_part_way_leaves_an_older_state(void **state)
{
    /* The order vg_log_reset_to asks for: reset, then write the snapshot.
     * A crash inside the reset leaves the old log's prefix, which opens. */
    for (int step = 0; step < 4; step++) {
        struct replayed r;
        nftw(dir_a, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        vg_log_t *log = must_open(dir_a, *state, 0, 1024, NULL);
        append_range(log, 1, 1, 200, 0);
        assert_int_equal(vg_log_sync(log), 0);
        vg_log_test_crash_after_ops = step;
        quiet();
        assert_int_equal(vg_log_reset_to(log, 1000), -EINTR);
        loud();
        vg_log_test_crash_after_ops = -1;
        vg_log_close(log);
        log = must_open(dir_a, *state, 0, 1024, &r);
        assert_int_equal(r.first, 1);
        assert_true(r.last <= 200 && r.last >= 100);
        vg_log_close(log);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_read_returns_exact_on_disk_bytes_that_decode_to_the_records),
        T(test_read_crosses_segment_boundaries),
        T(test_read_finds_any_index_in_large_segments),
        T(test_read_stops_at_durable_index),
        T(test_read_of_compacted_range_says_erange),
        T(test_read_takes_one_frame_larger_than_max_bytes),
        T(test_read_reports_segment_damaged_after_open),
        T(test_read_streams_while_writer_appends_and_compacts),
        T(test_append_frame_reproduces_byte_identical_log),
        T(test_append_frame_is_durable_like_append),
        T(test_append_frame_refuses_gaps_lower_epochs_and_tampering),
        T(test_epoch_at_finds_each_records_epoch),
        T(test_truncate_after_then_append_continues),
        T(test_truncate_across_several_segments_recovers_truncated),
        T(test_truncate_at_segment_start_removes_that_segment),
        T(test_truncate_refused_when_snapshot_holds_later_records),
        T(test_truncate_with_writer_running_then_writer_goes_on),
        T(test_truncate_crash_between_steps_recovers_a_prefix),
        T(test_reset_to_snapshot_continues_after_it),
        T(test_reset_to_refused_below_a_local_snapshot),
        T(test_reset_to_crash_part_way_leaves_an_older_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

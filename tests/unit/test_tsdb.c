/*
 * test_tsdb.c - the time-series store as its users see it: series ids stay
 * put, points come back exactly as appended from memory and disk, rollups
 * hold min/max/avg/count, retention drops old chunks, synced points survive
 * a crash, a torn WAL tail is cut while damage elsewhere stops the open,
 * nothing readable lands on disk, and syncs on a loop share fsyncs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsdb/tsdb.h"

#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0     1699999200000LL /* 2023-11-14T22:00:00Z, a whole hour */
#define MINUTE 60000LL
#define HOUR   3600000LL
#define DAY    (24 * HOUR)

static char err[1024];
static char dir[64];
static vg_keyring_t *kr;

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg-test-tsdb-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    kr = vg_keyring_new_ephemeral();
    err[0] = 0;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    vg_keyring_free(kr);
    return 0;
}

static vg_tsdb_t *must_open(const struct vg_tsdb_opts *opts)
{
    vg_tsdb_t *db = NULL;
    int rc = vg_tsdb_open(dir, kr, opts, NULL, &db, err, sizeof err);
    if (rc != 0)
        fail_msg("vg_tsdb_open: %d: %s", rc, err);
    return db;
}

struct got {
    int64_t t[8192];
    double min[8192], max[8192], avg[8192];
    uint64_t count[8192];
    size_t n;
};

static void collect(void *ctx, int64_t t, double min, double max, double avg, uint64_t count)
{
    struct got *g = ctx;
    assert_true(g->n < VG_ARRAY_LEN(g->t));
    g->t[g->n] = t;
    g->min[g->n] = min;
    g->max[g->n] = max;
    g->avg[g->n] = avg;
    g->count[g->n] = count;
    g->n++;
}

static struct got *query(vg_tsdb_t *db, const char *name, int64_t from, int64_t to,
                         int64_t step)
{
    static struct got g;
    memset(&g, 0, sizeof g);
    int rc = vg_tsdb_query(db, name, from, to, step, collect, &g, err, sizeof err);
    if (rc != 0)
        fail_msg("vg_tsdb_query: %d: %s", rc, err);
    return &g;
}

/* Point i of the test series: every 10 s, a value with one decimal. */
static int64_t time_of(int i)
{
    return T0 + 10000LL * i;
}

static double value_of(int i)
{
    return (double)(200 + (i * 7) % 13) / 10.0;
}

static void append_points(vg_tsdb_t *db, const char *name, int from, int to)
{
    uint32_t id = vg_tsdb_series(db, name);
    assert_int_not_equal(id, VG_TSDB_NO_SERIES);
    for (int i = from; i < to; i++)
        assert_int_equal(vg_tsdb_append(db, id, time_of(i), value_of(i)), 0);
}

static void assert_points(vg_tsdb_t *db, const char *name, int from, int to)
{
    struct got *g = query(db, name, time_of(from), time_of(to), 0);
    assert_int_equal(g->n, to - from);
    for (int i = from; i < to; i++) {
        assert_int_equal(g->t[i - from], time_of(i));
        assert_true(g->avg[i - from] == value_of(i) && g->count[i - from] == 1);
    }
}

static void test_series_ids_are_dense_and_stable(void **state)
{
    vg_tsdb_t *db = must_open(NULL);
    assert_int_equal(vg_tsdb_series(db, "rack1.temp"), 0);
    assert_int_equal(vg_tsdb_series(db, "rack2.temp"), 1);
    assert_int_equal(vg_tsdb_series(db, "rack1.temp"), 0);
    assert_int_equal(vg_tsdb_series(db, "Bad Name"), VG_TSDB_NO_SERIES);
    assert_int_equal(vg_tsdb_find(db, "rack3.temp"), VG_TSDB_NO_SERIES);
    for (int i = 0; i < 5000; i++) { /* the hash table grows */
        char name[32];
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(vg_tsdb_series(db, name), 2 + i);
    }
    append_points(db, "rack2.temp", 0, 3);
    vg_tsdb_close(db);
    db = must_open(NULL);
    assert_int_equal(vg_tsdb_find(db, "rack2.temp"), 1);
    assert_int_equal(vg_tsdb_find(db, "s4999"), 5001);
    assert_points(db, "rack2.temp", 0, 3);
    vg_tsdb_close(db);
}

static void test_append_rejects_out_of_order_and_counts_it(void **state)
{
    vg_tsdb_t *db = must_open(NULL);
    uint32_t id = vg_tsdb_series(db, "door.1");
    int64_t t;
    double v;
    assert_int_equal(vg_tsdb_last(db, id, &t, &v), -ENOENT);
    assert_int_equal(vg_tsdb_append(db, id, T0, 1), 0);
    assert_int_equal(vg_tsdb_append(db, id, T0, 0), -EINVAL);
    assert_int_equal(vg_tsdb_append(db, id, T0 - 1, 0), -EINVAL);
    assert_int_equal(vg_tsdb_append(db, id, T0 + 1, NAN), -EINVAL);
    assert_int_equal(vg_tsdb_append(db, 99, T0 + 1, 0), -ENOENT);
    assert_int_equal(vg_tsdb_last(db, id, &t, &v), 0);
    assert_true(t == T0 && v == 1);
    struct vg_tsdb_stats st;
    vg_tsdb_stats(db, &st);
    assert_int_equal(st.points_appended, 1);
    assert_int_equal(st.points_out_of_order, 2);
    assert_int_equal(st.points_not_finite, 1);
    assert_int_equal(
        vg_tsdb_query(db, "no.such", 0, T0, 0, collect, &(struct got){0}, err, sizeof err),
        -ENOENT);
    assert_non_null(strstr(err, "no.such"));
    vg_tsdb_close(db);
}

static void test_rollup_1m_min_max_avg_count(void **state)
{
    vg_tsdb_t *db = must_open(NULL);
    uint32_t id = vg_tsdb_series(db, "pdu.power");
    /* minute 0: 1, 2, 3, ..., 6 (every 10 s); minute 1: 10 and 20 */
    for (int i = 0; i < 6; i++)
        vg_tsdb_append(db, id, T0 + 10000LL * i, i + 1);
    vg_tsdb_append(db, id, T0 + MINUTE, 10);
    vg_tsdb_append(db, id, T0 + MINUTE + 30000, 20);
    struct got *g = query(db, "pdu.power", T0, T0 + 2 * MINUTE, MINUTE);
    assert_int_equal(g->n, 2);
    assert_true(g->t[0] == T0 && g->min[0] == 1 && g->max[0] == 6 && g->avg[0] == 3.5 &&
                g->count[0] == 6);
    assert_true(g->t[1] == T0 + MINUTE && g->min[1] == 10 && g->max[1] == 20 &&
                g->avg[1] == 15 && g->count[1] == 2);
    /* five-minute buckets merge 1m rows; after maintenance they come from disk */
    assert_int_equal(vg_tsdb_maintain(db, T0 + 3 * HOUR, err, sizeof err), 0);
    g = query(db, "pdu.power", T0 - 5 * MINUTE, T0 + 5 * MINUTE, 5 * MINUTE);
    int64_t bucket = T0 - T0 % (5 * MINUTE);
    assert_int_equal(g->n, 1);
    assert_true(g->t[0] == bucket && g->min[0] == 1 && g->max[0] == 20 && g->count[0] == 8);
    assert_true(g->avg[0] == (21.0 + 30.0) / 8);
    g = query(db, "pdu.power", T0 - DAY, T0 + DAY, HOUR); /* from the 1h tier */
    assert_int_equal(g->n, 1);
    assert_true(g->min[0] == 1 && g->max[0] == 20 && g->count[0] == 8);
    g = query(db, "pdu.power", T0, T0 + HOUR, 30000); /* raw, in 30 s buckets */
    assert_int_equal(g->n, 4);
    assert_true(g->count[0] == 3 && g->count[1] == 3 && g->count[2] == 1 && g->count[3] == 1);
    vg_tsdb_close(db);
}

static void test_query_merges_disk_and_memory(void **state)
{
    vg_tsdb_t *db = must_open(NULL);
    append_points(db, "crac.supply", 0, 1000); /* 2.8 hours: crosses a chunk window */
    assert_int_equal(vg_tsdb_maintain(db, time_of(1000), err, sizeof err), 0);
    append_points(db, "crac.supply", 1000, 1500);
    assert_points(db, "crac.supply", 0, 1500);
    assert_points(db, "crac.supply", 10, 1200);
    struct vg_tsdb_stats st;
    vg_tsdb_stats(db, &st);
    assert_true(st.points_on_disk > 0 && st.points_on_disk < 1000);
    vg_tsdb_close(db);
    db = must_open(NULL);
    assert_points(db, "crac.supply", 0, 1500);
    vg_tsdb_close(db);
}

static size_t count_files(const char *prefix)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; (de = readdir(d));)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_retention_drops_old_raw_chunks(void **state)
{
    struct vg_tsdb_opts opts = {.retention_ms = {DAY, 3 * DAY, 0}};
    vg_tsdb_t *db = must_open(&opts);
    uint32_t id = vg_tsdb_series(db, "ups.charge");
    for (int64_t t = T0; t < T0 + 2 * DAY; t += MINUTE) {
        assert_int_equal(vg_tsdb_append(db, id, t, 100), 0);
        if (t % HOUR == 0)
            assert_int_equal(vg_tsdb_maintain(db, t, err, sizeof err), 0);
    }
    assert_int_equal(vg_tsdb_maintain(db, T0 + 2 * DAY, err, sizeof err), 0);
    /* raw keeps one day (12 two-hour chunks and the open one), 1m all of it */
    struct got *g = query(db, "ups.charge", T0, T0 + 2 * DAY, 0);
    assert_true(g->n > 0 && g->t[0] >= T0 + DAY - 2 * HOUR && g->t[0] <= T0 + DAY);
    assert_int_equal(g->t[g->n - 1], T0 + 2 * DAY - MINUTE);
    assert_true(count_files("raw-") <= 13);
    g = query(db, "ups.charge", T0, T0 + 2 * DAY, HOUR);
    assert_int_equal(g->t[0], T0 - T0 % HOUR);
    vg_tsdb_close(db);
}

/* Runs fn(db) in a child process that then dies without closing db. */
static void crash_after(void (*fn)(vg_tsdb_t *db))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        vg_tsdb_t *db = NULL;
        if (vg_tsdb_open(dir, kr, NULL, NULL, &db, err, sizeof err) != 0)
            _exit(1);
        fn(db);
        _exit(0); /* no close */
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void sync_some_then_crash(vg_tsdb_t *db)
{
    append_points(db, "chiller.1", 0, 500);
    vg_tsdb_sync(db, NULL, NULL);
    vg_tsdb_maintain(db, time_of(500), err, sizeof err); /* a chunk file and a checkpoint */
    append_points(db, "chiller.2", 0, 300);
    append_points(db, "chiller.1", 500, 900);
    vg_tsdb_sync(db, NULL, NULL);
    append_points(db, "chiller.1", 900, 950); /* never synced: may be lost */
}

static void test_reopen_replays_wal_after_crash(void **state)
{
    crash_after(sync_some_then_crash);
    vg_tsdb_t *db = must_open(NULL);
    assert_points(db, "chiller.1", 0, 900);
    assert_points(db, "chiller.2", 0, 300);
    vg_tsdb_close(db);
}

/* The newest WAL segment's path into out. */
static void newest_wal(char *out, size_t outlen) /* outlen >= 512 */
{
    char best[256] = "";
    DIR *d = opendir(dir);
    for (struct dirent *de; (de = readdir(d));)
        if (strncmp(de->d_name, "wal-", 4) == 0 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    closedir(d);
    snprintf(out, outlen, "%s/%s", dir, best);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A process appends and syncs two batches and dies without closing;
 * returns the WAL segment and the offset where the second frame starts. */
static void sync_two_batches(vg_tsdb_t *db)
{
    append_points(db, "ahu.3", 0, 100);
    vg_tsdb_sync(db, NULL, NULL);
    append_points(db, "ahu.3", 100, 200);
    vg_tsdb_sync(db, NULL, NULL);
}

static off_t two_synced_batches(char *wal, size_t wallen)
{
    uint8_t len[4];
    crash_after(sync_two_batches);
    newest_wal(wal, wallen);
    int fd = open(wal, O_RDONLY);
    assert_int_equal(pread(fd, len, 4, 32), 4);
    close(fd);
    return 32 + 8 + (off_t)(len[0] | len[1] << 8 | len[2] << 16 | (uint32_t)len[3] << 24);
}

static void test_torn_wal_tail_is_cut(void **state)
{
    char wal[512];
    off_t second = two_synced_batches(wal, sizeof wal);
    assert_int_equal(truncate(wal, file_size(wal) - 5), 0);
    vg_tsdb_t *db = must_open(NULL);
    assert_points(db, "ahu.3", 0, 100);
    assert_int_equal(file_size(wal), second);
    append_points(db, "ahu.3", 100, 150); /* and the store goes on */
    vg_tsdb_close(db);
    db = must_open(NULL);
    assert_points(db, "ahu.3", 0, 150);
    vg_tsdb_close(db);
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void test_corrupt_wal_frame_in_middle_is_an_error(void **state)
{
    char wal[512];
    two_synced_batches(wal, sizeof wal);
    flip_byte(wal, 32 + 8 + 30); /* inside the first frame; the second follows */
    vg_tsdb_t *db = NULL;
    assert_int_equal(vg_tsdb_open(dir, kr, NULL, NULL, &db, err, sizeof err), -VG_ECORRUPT);
    assert_non_null(strstr(err, wal));
    assert_non_null(strstr(err, "offset 32"));
}

static void test_corrupt_chunk_in_middle_is_an_error(void **state)
{
    char path[512] = "";
    vg_tsdb_t *db = must_open(NULL);
    append_points(db, "room.a", 0, 800);
    append_points(db, "room.b", 0, 800);
    append_points(db, "room.c", 0, 800);
    assert_int_equal(vg_tsdb_maintain(db, time_of(2000), err, sizeof err), 0);
    vg_tsdb_close(db);
    DIR *d = opendir(dir);
    for (struct dirent *de; (de = readdir(d));)
        if (strncmp(de->d_name, "raw-", 4) == 0 && !path[0])
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    closedir(d);
    flip_byte(path, file_size(path) / 2); /* room.b's chunk, mid-file */
    db = must_open(NULL);
    assert_points(db, "room.a", 0, 700); /* other chunks still read */
    struct got g = {0};
    assert_int_equal(
        vg_tsdb_query(db, "room.b", T0, time_of(800), 0, collect, &g, err, sizeof err),
        -VG_ECORRUPT);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "offset"));
    vg_tsdb_close(db);
    flip_byte(path, file_size(path) - 30); /* now the index too: the open fails */
    assert_int_equal(vg_tsdb_open(dir, kr, NULL, NULL, &db, err, sizeof err), -VG_ECORRUPT);
    assert_non_null(strstr(err, path));
}

static int file_contains(const char *path, const void *needle, size_t n)
{
    static uint8_t buf[1 << 22];
    int fd = open(path, O_RDONLY);
    ssize_t len = read(fd, buf, sizeof buf);
    close(fd);
    for (ssize_t i = 0; i + (ssize_t)n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0)
            return 1;
    return 0;
}

static void test_no_plaintext_on_disk(void **state)
{
    static const char marker[] = "zz-marker-7f3a.series";
    const double value = 4242.4242;
    vg_tsdb_t *db = must_open(NULL);
    uint32_t id = vg_tsdb_series(db, marker);
    for (int i = 0; i < 2000; i++)
        vg_tsdb_append(db, id, time_of(i), value);
    vg_tsdb_sync(db, NULL, NULL);
    vg_tsdb_maintain(db, time_of(1000), err, sizeof err);
    vg_tsdb_sync(db, NULL, NULL);
    size_t n_files = 0;
    for (int round = 0; round < 2; round++) { /* open, then closed */
        DIR *d = opendir(dir);
        for (struct dirent *de; (de = readdir(d));) {
            char path[512];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            n_files++;
            assert_false(file_contains(path, marker, strlen(marker)));
            assert_false(file_contains(path, "marker", 6));
            assert_false(file_contains(path, &value, sizeof value));
        }
        closedir(d);
        if (round == 0)
            vg_tsdb_close(db);
    }
    assert_true(n_files >= 6); /* wal, chunk files, checkpoint were all looked at */
}

static int n_done, last_code;

static void on_done(void *ctx, int code)
{
    n_done++;
    last_code = code;
    if (n_done == 200)
        event_base_loopbreak(ctx);
}

static void test_sync_on_loop_calls_back_and_shares_fsyncs(void **state)
{
    struct event_base *base = event_base_new();
    vg_tsdb_t *db = NULL;
    assert_int_equal(vg_tsdb_open(dir, kr, NULL, base, &db, err, sizeof err), 0);
    uint32_t id = vg_tsdb_series(db, "loop.s");
    n_done = 0;
    for (int i = 0; i < 200; i++) {
        vg_tsdb_append(db, id, time_of(i), value_of(i));
        assert_int_equal(vg_tsdb_sync(db, on_done, base), 0);
    }
    assert_int_equal(n_done, 0); /* only ever on the loop */
    event_base_dispatch(base);
    assert_int_equal(n_done, 200);
    assert_int_equal(last_code, 0);
    struct vg_tsdb_stats st;
    vg_tsdb_stats(db, &st);
    print_message("200 syncs, %llu fsyncs\n", (unsigned long long)st.n_fsyncs);
    assert_true(st.n_fsyncs < 200);
    vg_tsdb_close(db);
    event_base_free(base);
    db = must_open(NULL);
    assert_points(db, "loop.s", 0, 200);
    vg_tsdb_close(db);
}

static void test_small_series_cost_little_memory(void **state)
{
    vg_tsdb_t *db = must_open(NULL);
    for (int i = 0; i < 100000; i++) {
        char name[32];
        snprintf(name, sizeof name, "site.zone%d.temp", i);
        uint32_t id = vg_tsdb_series(db, name);
        for (int j = 0; j < 3; j++)
            vg_tsdb_append(db, id, time_of(j), value_of(i + j));
    }
    struct vg_tsdb_stats st;
    vg_tsdb_stats(db, &st);
    print_message("100000 series of 3 points: %llu bytes each\n",
                  (unsigned long long)(st.memory_bytes / 100000));
    assert_true(st.memory_bytes / 100000 <= 1024);
    vg_tsdb_close(db);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_series_ids_are_dense_and_stable),
        T(test_append_rejects_out_of_order_and_counts_it),
        T(test_rollup_1m_min_max_avg_count),
        T(test_query_merges_disk_and_memory),
        T(test_retention_drops_old_raw_chunks),
        T(test_reopen_replays_wal_after_crash),
        T(test_torn_wal_tail_is_cut),
        T(test_corrupt_wal_frame_in_middle_is_an_error),
        T(test_corrupt_chunk_in_middle_is_an_error),
        T(test_no_plaintext_on_disk),
        T(test_sync_on_loop_calls_back_and_shares_fsyncs),
        T(test_small_series_cost_little_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_tsdb_size.c - what realistic sensor data costs on disk: a fleet of
 * 1000 sensors (temperatures, humidity, UPS charge, door contacts; see
 * tsdb_gen.h) read every 10 s for a day, then flushed. Raw chunk files,
 * with sealing, framing and their indexes, must stay at or under one byte
 * a reading, and every reading must come back exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsdb/tsdb.h"
#include "tsdb_gen.h"

#include <ftw.h>
#include <sys/stat.h>

#define N_SENSORS 1000
#define DAY_MS    (24 * 3600 * 1000LL)
#define START_MS  1699920000000LL /* midnight */

static char dir[64];
static char err[1024];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

struct check {
    struct gen g;
    uint64_t n, mismatches;
};

static void check_point(void *ctx, int64_t t, double min, double max, double avg,
                        uint64_t count)
{
    struct check *c = ctx;
    int64_t want_t;
    double want = gen_next(&c->g, &want_t);
    if (t != want_t || memcmp(&avg, &want, sizeof want) != 0 || count != 1)
        c->mismatches++;
    c->n++;
}

static void test_bytes_per_reading_at_most_one(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg-test-tsdb-size-XXXXXX");
    assert_non_null(mkdtemp(dir));
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_tsdb_t *db = NULL;
    static struct gen gens[N_SENSORS];
    uint32_t ids[N_SENSORS];
    assert_int_equal(vg_tsdb_open(dir, kr, NULL, NULL, &db, err, sizeof err), 0);
    for (uint32_t i = 0; i < N_SENSORS; i++) {
        char name[32];
        snprintf(name, sizeof name, "dc1.sensor%u", i);
        ids[i] = vg_tsdb_series(db, name);
        gen_init(&gens[i], i, START_MS);
    }
    uint64_t n_readings = 0;
    for (int64_t step = START_MS; step < START_MS + DAY_MS; step += 10000) {
        for (uint32_t i = 0; i < N_SENSORS; i++) {
            int64_t t;
            double v = gen_next(&gens[i], &t);
            assert_int_equal(vg_tsdb_append(db, ids[i], t, v), 0);
            n_readings++;
        }
        if ((step - START_MS) % (600 * 1000) == 0) {
            vg_tsdb_sync(db, NULL, NULL);
            assert_int_equal(vg_tsdb_maintain(db, step, err, sizeof err), 0);
        }
    }
    assert_int_equal(vg_tsdb_maintain(db, START_MS + DAY_MS + 3600 * 1000, err, sizeof err), 0);
    struct vg_tsdb_stats st;
    vg_tsdb_stats(db, &st);
    double per_reading = (double)st.bytes_on_disk[VG_TSDB_RAW] / (double)n_readings;
    print_message("%llu readings: raw %.3f bytes/reading (%llu chunks), 1m %llu bytes, "
                  "1h %llu bytes, memory %llu bytes/series\n",
                  (unsigned long long)n_readings, per_reading,
                  (unsigned long long)st.chunks_on_disk,
                  (unsigned long long)st.bytes_on_disk[VG_TSDB_1M],
                  (unsigned long long)st.bytes_on_disk[VG_TSDB_1H],
                  (unsigned long long)(st.memory_bytes / N_SENSORS));
    assert_int_equal(st.points_on_disk, n_readings);
    assert_true(per_reading <= 1.0);
    for (uint32_t i = 0; i < N_SENSORS; i++) {
        char name[32];
        struct check c = {.n = 0};
        snprintf(name, sizeof name, "dc1.sensor%u", i);
        gen_init(&c.g, i, START_MS);
        assert_int_equal(vg_tsdb_query(db, name, START_MS, START_MS + DAY_MS, 0, check_point,
                                       &c, err, sizeof err),
                         0);
        assert_int_equal(c.n, DAY_MS / 10000);
        assert_int_equal(c.mismatches, 0);
    }
    vg_tsdb_close(db);
    vg_keyring_free(kr);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_per_reading_at_most_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tsdb_ingest.c - ingest speed and size of the time-series store: a fleet
 * of sensors (tests/unit/tsdb_gen.h: temperatures, humidity, UPS charge,
 * door contacts, every 10 s) appended time step by time step on one
 * thread, a vg_tsdb_sync every 1000 appends (the writer thread seals and
 * fsyncs the WAL meanwhile, as in vigild) and vg_tsdb_maintain every
 * simulated 10 minutes. Reports appends/s for the append path alone and
 * for the whole run until everything is durable and flushed, fsyncs, raw
 * bytes per reading on disk and memory per series.
 *
 * Usage: bench_tsdb_ingest [-s sensors] [-H hours] [-d dir]
 * Without -d the store goes to a fresh directory under /tmp, removed
 * afterwards. Measures, never checks.
 */
#include <event2/event.h>
#include <ftw.h>
#include <getopt.h>
#include <sys/stat.h>

#include "core/vg.h"
#include "tsdb/tsdb.h"
#include "../tests/unit/tsdb_gen.h"

#define START_MS 1699920000000LL

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

int main(int argc, char **argv)
{
    uint32_t n_sensors = 10000, hours = 6;
    char tmpdir[64] = "", err[1024];
    const char *dir = NULL;
    for (int c; (c = getopt(argc, argv, "s:H:d:")) != -1;) {
        if (c == 's')
            n_sensors = (uint32_t)strtoul(optarg, NULL, 10);
        else if (c == 'H')
            hours = (uint32_t)strtoul(optarg, NULL, 10);
        else if (c == 'd')
            dir = optarg;
        else
            return fprintf(stderr, "usage: %s [-s sensors] [-H hours] [-d dir]\n", argv[0]), 2;
    }
    if (!dir) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/vg-bench-tsdb-XXXXXX");
        if (!mkdtemp(tmpdir))
            return perror("mkdtemp"), 1;
        dir = tmpdir;
    }
    struct event_base *base = event_base_new();
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_tsdb_t *db = NULL;
    if (vg_tsdb_open(dir, kr, NULL, base, &db, err, sizeof err) < 0)
        return fprintf(stderr, "%s\n", err), 1;
    struct gen *gens = vg_calloc(n_sensors, sizeof *gens);
    uint32_t *ids = vg_calloc(n_sensors, sizeof *ids);
    for (uint32_t i = 0; i < n_sensors; i++) {
        char name[32];
        snprintf(name, sizeof name, "dc1.sensor%u", i);
        ids[i] = vg_tsdb_series(db, name);
        gen_init(&gens[i], i, START_MS);
    }
    uint64_t n = 0, append_us = 0, t_start = vg_mono_us();
    for (int64_t step = START_MS; step < START_MS + hours * 3600000LL; step += 10000) {
        uint64_t t0 = vg_mono_us();
        for (uint32_t i = 0; i < n_sensors; i++) {
            int64_t t;
            double v = gen_next(&gens[i], &t);
            vg_tsdb_append(db, ids[i], t, v);
            if (++n % 1000 == 0)
                vg_tsdb_sync(db, NULL, NULL);
        }
        append_us += vg_mono_us() - t0;
        event_base_loop(base, EVLOOP_NONBLOCK);
        if ((step - START_MS) % 600000 == 0 && vg_tsdb_maintain(db, step, err, sizeof err) < 0)
            return fprintf(stderr, "%s\n", err), 1;
    }
    if (vg_tsdb_maintain(db, START_MS + hours * 3600000LL + 7200000, err, sizeof err) < 0)
        return fprintf(stderr, "%s\n", err), 1;
    struct vg_tsdb_stats st;
    vg_tsdb_stats(db, &st);
    uint64_t total_us = vg_mono_us() - t_start;
    printf("%llu appends from %u sensors: %.0f appends/s appending (%.0f ns each), "
           "%.0f appends/s with maintenance, until flushed\n",
           (unsigned long long)n, n_sensors, n * 1e6 / (double)append_us,
           append_us * 1e3 / (double)n, n * 1e6 / (double)total_us);
    printf("raw %.3f bytes/reading on disk, %llu chunks, %llu wal fsyncs, memory %llu "
           "bytes/series\n",
           (double)st.bytes_on_disk[VG_TSDB_RAW] / (double)st.points_on_disk,
           (unsigned long long)st.chunks_on_disk, (unsigned long long)st.n_fsyncs,
           (unsigned long long)(st.memory_bytes / n_sensors));
    vg_tsdb_close(db);
    event_base_free(base);
    vg_keyring_free(kr);
    free(gens);
    free(ids);
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/*
 * log_append.c - raw throughput of the encrypted log: one owner thread
 * appends N records (default 1,000,000 of 100 bytes) as fast as it can while
 * the group-commit writer thread writes and fdatasyncs them, the way vigild
 * runs it. Reports records/s and MB/s until everything is durable, the
 * number of fsyncs and how many records shared each one.
 *
 * Usage: bench_log_append [-n records] [-s payload_bytes] [-m segment_MiB]
 *                         [-d dir]
 * Without -d the log goes to a fresh directory under $TMPDIR (else /tmp),
 * removed afterwards; a -d directory is kept. Measures, never checks: the
 * exit status is non-zero only if the log itself fails.
 */
#include <dirent.h>
#include <getopt.h>
#include <poll.h>
#include <unistd.h>

#include "core/vg.h"
#include "store/log.h"

struct bench_opts {
    uint64_t n_records;
    size_t payload_bytes;
    size_t segment_mib;
    const char *dir;
};

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    int c;
    *o = (struct bench_opts){1000000, 100, 64, NULL};
    while ((c = getopt(argc, argv, "n:s:m:d:h")) != -1) {
        switch (c) {
        case 'n':
            o->n_records = strtoull(optarg, NULL, 10);
            break;
        case 's':
            o->payload_bytes = strtoul(optarg, NULL, 10);
            break;
        case 'm':
            o->segment_mib = strtoul(optarg, NULL, 10);
            break;
        case 'd':
            o->dir = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-n records] [-s payload_bytes] [-m segment_MiB] "
                    "[-d dir]\n",
                    argv[0]);
            return -EINVAL;
        }
    }
    if (o->n_records == 0 || o->payload_bytes > VG_RECORD_MAX_PAYLOAD || o->segment_mib == 0) {
        fprintf(stderr, "%s: -n and -m must be positive, -s at most %u\n", argv[0],
                VG_RECORD_MAX_PAYLOAD);
        return -EINVAL;
    }
    return 0;
}

/* Removes the log's files and the directory made for this run. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(dirfd(d), de->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
}

static void wait_durable(vg_log_t *log, uint64_t index)
{
    struct pollfd pfd = {vg_log_notify_fd(log), POLLIN, 0};
    while (vg_log_durable_index(log) < index && !vg_log_failed(log)) {
        if (poll(&pfd, 1, 1000) > 0)
            vg_log_notify_drain(log);
    }
}

/* Appends, waits until all is durable, prints the figures. */
static int measure(const struct bench_opts *o, vg_log_t *log)
{
    uint8_t *payload = vg_malloc(o->payload_bytes);
    memset(payload, 'v', o->payload_bytes);
    uint64_t last = 0, start = vg_mono_us();
    int rc = 0;
    for (uint64_t i = 0; i < o->n_records && rc == 0; i++)
        rc = vg_log_append(log, 1, VG_REC_NOOP, payload, o->payload_bytes, &last);
    double queued_s = (double)(vg_mono_us() - start) / 1e6;
    wait_durable(log, last);
    double durable_s = (double)(vg_mono_us() - start) / 1e6;
    free(payload);
    if (rc != 0 || vg_log_failed(log)) {
        fprintf(stderr, "bench_log_append: the log failed (%s)\n", strerror(rc ? -rc : EIO));
        return rc ? rc : -EIO;
    }
    struct vg_log_stats st;
    vg_log_get_stats(log, &st);
    double n = (double)o->n_records, mb = n * (double)o->payload_bytes / 1e6;
    double disk_mb = n * (double)(o->payload_bytes + VG_RECORD_FRAME_OVERHEAD) / 1e6;
    printf("log append: %llu records of %zu bytes, XChaCha20-Poly1305 sealed, "
           "writer thread, %zu MiB segments\n",
           (unsigned long long)o->n_records, o->payload_bytes, o->segment_mib);
    printf("  queued in   %8.3f s  %10.0f records/s\n", queued_s, n / queued_s);
    printf("  durable in  %8.3f s  %10.0f records/s  %7.1f MB/s payload  %7.1f MB/s on disk\n",
           durable_s, n / durable_s, mb / durable_s, disk_mb / durable_s);
    printf("  fsyncs      %8llu    %10.1f records per fsync, %llu segments\n",
           (unsigned long long)st.n_fsyncs, n / (double)(st.n_fsyncs ? st.n_fsyncs : 1),
           (unsigned long long)st.n_segments);
    return 0;
}

static int run(const struct bench_opts *o, const char *dir)
{
    char err[512];
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_log_opts_t lo = {dir, kr, o->segment_mib << 20};
    vg_log_t *log = NULL;
    int rc = vg_log_open(&lo, 0, NULL, NULL, &log, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bench_log_append: %s\n", err);
        goto out;
    }
    rc = vg_log_start_writer(log);
    if (rc != 0) {
        fprintf(stderr, "bench_log_append: cannot start the writer: %s\n", strerror(-rc));
        goto out;
    }
    rc = measure(o, log);
out:
    vg_log_close(log);
    vg_keyring_free(kr);
    return rc;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    char tmp[4096];
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    const char *dir = o.dir;
    if (!dir) {
        const char *parent = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/vg-bench-log-XXXXXX",
                 parent && *parent ? parent : "/tmp");
        if (!mkdtemp(tmp)) {
            fprintf(stderr, "bench_log_append: cannot create '%s': %s\n", tmp, strerror(errno));
            return 1;
        }
        dir = tmp;
    }
    int rc = run(&o, dir);
    if (!o.dir)
        remove_dir(dir);
    return rc == 0 ? 0 : 1;
}

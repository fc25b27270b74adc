/*
 * lineproto_parse.c - lines per second of the line-protocol parser on the
 * typical push body: `dc1-hall-a-t17 value=22.4 1764770000000` (ms
 * precision), into a reused batch (the API's all-or-nothing path) and with
 * a no-op callback (validation only). Also a multi-field telegraf-style line
 * whose names are composed ("<measurement>.<field>"). Target: >= 5M lines/s
 * per core (the whole write path must do 1M readings/s).
 *
 *     bench_lineproto_parse [lines-per-batch] [seconds-per-case]
 */
#include "core/buf.h"
#include "sense/lineproto.h"

static int noop(void *ctx, const struct vg_lp_reading *r)
{
    *(size_t *)ctx += r->sensor_len + (size_t)(r->time_ms & 1) + (r->value > 0);
    return 0;
}

static void build_body(vg_buf_t *body, size_t n_lines, int multi)
{
    for (size_t i = 0; i < n_lines; i++) {
        if (multi)
            vg_buf_printf(
                body, "crac-%zu,site=dc1 supply=%zu.%zu,return=2%zu.5,running=t %llu\n", i % 40,
                10 + i % 7, i % 10, i % 10, 1764770000000ULL + (unsigned long long)i);
        else
            vg_buf_printf(body, "dc1-hall-a-t%zu value=%zu.%zu %llu\n", i % 500, 15 + i % 15,
                          i % 10, 1764770000000ULL + (unsigned long long)i);
    }
}

static void run(const char *what, const vg_buf_t *body, size_t n_lines, size_t per_line,
                double seconds, int batch_mode)
{
    struct vg_lp_batch b;
    vg_lp_batch_init(&b);
    struct vg_lp_error e;
    size_t sink = 0, n_batches = 0;
    uint64_t start = vg_mono_us(), now;
    do {
        for (int k = 0; k < 16; k++) {
            int rc;
            if (batch_mode) {
                vg_lp_batch_reset(&b);
                rc =
                    vg_lp_parse_batch((const char *)body->data, body->len, VG_LP_MS, 0, &b, &e);
                sink += b.n_readings;
            } else {
                rc = vg_lp_parse((const char *)body->data, body->len, VG_LP_MS, 0, noop, &sink,
                                 &e);
            }
            if (rc) {
                fprintf(stderr, "parse failed: %s\n", e.reason);
                exit(1);
            }
            n_batches++;
        }
        now = vg_mono_us();
    } while ((double)(now - start) < seconds * 1e6);
    double s = (double)(now - start) / 1e6;
    double lines = (double)n_batches * (double)n_lines;
    printf("%-28s %6.2f M lines/s  %6.2f M readings/s  %5.1f MB/s  (%zu)\n", what,
           lines / s / 1e6, lines * (double)per_line / s / 1e6,
           (double)n_batches * (double)body->len / s / 1e6, sink & 1);
    vg_lp_batch_release(&b);
}

int main(int argc, char **argv)
{
    size_t n_lines = argc > 1 ? (size_t)atol(argv[1]) : 5000;
    double seconds = argc > 2 ? atof(argv[2]) : 2;
    vg_buf_t plain = VG_BUF_INIT, multi = VG_BUF_INIT;
    build_body(&plain, n_lines, 0);
    build_body(&multi, n_lines, 1);
    printf("%zu lines per batch, %.0f s per case\n", n_lines, seconds);
    run("single value, batch", &plain, n_lines, 1, seconds, 1);
    run("single value, callback", &plain, n_lines, 1, seconds, 0);
    run("3 fields composed, batch", &multi, n_lines, 3, seconds, 1);
    vg_buf_release(&plain);
    vg_buf_release(&multi);
    return 0;
}

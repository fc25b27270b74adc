/*
 * rules_eval.c - cost of the rule engine at the daemon's scale: memory per
 * sensor and time per reading, for N sensors (default 100,000: 70 % inlet
 * temperatures in A1 halls with the ASHRAE inlet and forecast packs, the
 * rest humidity, door and UPS sensors with theirs).
 *
 *   bench_rules_eval [n_sensors]
 *
 * Prints retained heap bytes per sensor after load (mallinfo2), mean ns
 * per reading that changes nothing (the hot path), and p50/p99/max of
 * single readings timed one by one (clock overhead included).
 */
#include <malloc.h>
#include <math.h>
#include <time.h>

#include "rules/rules.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static const char *type_of(int i)
{
    int k = i % 10;
    return k < 7 ? "temperature" : k == 7 ? "humidity" : k == 8 ? "door-contact" : "ups-runtime";
}

static double ok_value(int i, int step)
{
    int k = i % 10;
    double wobble = 0.01 * (step % 7);
    return k < 7 ? 22 + wobble : k == 7 ? 45 + wobble : k == 8 ? 0 : 1800 + wobble;
}

static void noop(void *ctx, const struct vg_rule_change *c)
{
    (*(long *)ctx)++;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    int n_zones = n / 500 + 1;
    json_t *zones = json_array(), *devices = json_array(), *sensors = json_array();
    for (int z = 0; z < n_zones; z++) {
        char name[32];
        snprintf(name, sizeof name, "hall-%d", z);
        json_array_append_new(zones, json_pack("{s:s,s:{s:s,s:s,s:s}}", "name", name, "spec",
                                               "site", z % 2 ? "dc2" : "dc1", "type",
                                               "server-room", "ashrae_class", "A1"));
        snprintf(name, sizeof name, "dev-%d", z);
        json_array_append_new(devices, json_pack("{s:s,s:{s:s,s:s,s:i}}", "name", name, "spec",
                                                 "site", z % 2 ? "dc2" : "dc1", "driver",
                                                 "snmp", "interval_ms", 10000));
    }
    for (int i = 0; i < n; i++) {
        char name[32], zone[32], dev[32];
        snprintf(name, sizeof name, "dc-hall-s%06d", i);
        snprintf(zone, sizeof zone, "hall-%d", i / 500);
        snprintf(dev, sizeof dev, "dev-%d", i / 500);
        json_array_append_new(sensors, json_pack("{s:s,s:{s:s,s:s,s:s}}", "name", name, "spec",
                                                 "zone", zone, "device", dev, "type",
                                                 type_of(i)));
    }
    vg_rules_t *rules = vg_rules_new();
    struct mallinfo2 before = mallinfo2();
    int64_t t0 = now_ns();
    char err[256];
    if (vg_rules_load(rules, zones, sensors, devices, NULL, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    int64_t load_ns = now_ns() - t0;
    struct mallinfo2 after = mallinfo2();
    json_decref(zones), json_decref(devices), json_decref(sensors);

    int *idx = malloc(sizeof *idx * (size_t)n);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "dc-hall-s%06d", i);
        idx[i] = vg_rules_sensor(rules, name);
    }
    long n_changes = 0;
    int64_t t = 0;
    for (int round = 0; round < 20; round++, t += 10000) /* fill the trend windows */
        for (int i = 0; i < n; i++)
            vg_rules_reading(rules, idx[i], t, ok_value(i, round), noop, &n_changes);

    long rounds = 30, readings = rounds * n;
    t0 = now_ns();
    for (int round = 0; round < rounds; round++, t += 10000)
        for (int i = 0; i < n; i++)
            vg_rules_reading(rules, idx[i], t, ok_value(i, round), noop, &n_changes);
    double mean_ns = (double)(now_ns() - t0) / (double)readings;

    int n_timed = n < 200000 ? n : 200000;
    int64_t *lat = malloc(sizeof *lat * (size_t)n_timed);
    for (int i = 0; i < n_timed; i++) {
        int64_t a = now_ns();
        vg_rules_reading(rules, idx[i], t, ok_value(i, 3), noop, &n_changes);
        lat[i] = now_ns() - a;
    }
    qsort(lat, (size_t)n_timed, sizeof *lat, cmp_i64);
    t += 10000;
    t0 = now_ns();
    vg_rules_tick(rules, t, noop, &n_changes); /* nothing is due */
    int64_t tick_ns = now_ns() - t0;
    /* readings that change a state: an inlet toggling across 27 degC */
    int n_flips = 10000;
    int64_t *flip = malloc(sizeof *flip * (size_t)n_flips);
    long changes_before = n_changes;
    for (int i = 0; i < n_flips; i++) {
        t += 10000;
        int64_t a = now_ns();
        vg_rules_reading(rules, idx[0], t, i % 2 ? 22 : 28.5, noop, &n_changes);
        flip[i] = now_ns() - a;
    }
    qsort(flip, (size_t)n_flips, sizeof *flip, cmp_i64);
    long flip_changes = n_changes - changes_before;

    printf("sensors %d, load %.0f ms, retained heap %.0f bytes/sensor\n", n, load_ns / 1e6,
           (double)(after.uordblks + after.hblkhd - before.uordblks - before.hblkhd) / n);
    printf("reading, no change: %.1f ns mean over %ld readings\n", mean_ns, readings);
    printf("single reading: p50 %lld ns, p99 %lld ns, max %lld ns (clock included)\n",
           (long long)lat[n_timed / 2], (long long)lat[n_timed * 99 / 100],
           (long long)lat[n_timed - 1]);
    printf("reading with a change: p50 %lld ns, p99 %lld ns (%ld changes in %d readings)\n",
           (long long)flip[n_flips / 2], (long long)flip[n_flips * 99 / 100], flip_changes,
           n_flips);
    free(flip);
    printf("tick over all sensors: %.2f ms; changes reported: %ld\n", tick_ns / 1e6, n_changes);
    free(lat);
    free(idx);
    vg_rules_free(rules);
    return 0;
}

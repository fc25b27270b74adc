/*
 * tsdb_gen.h - realistic sensor readings for the time-series store's tests
 * and benchmark: a temperature read every 10 s at 0.1 degree resolution
 * that wanders slowly with noise, a humidity in whole percent, a UPS charge
 * that sits at 100 for hours, and a door contact that is 0 or 1. Seeded,
 * so every run sees the same data.
 */
#ifndef VG_TSDB_GEN_H
#define VG_TSDB_GEN_H

#include <stdint.h>

enum gen_kind { GEN_TEMP, GEN_HUMIDITY, GEN_UPS, GEN_DOOR, GEN_N_KINDS };

struct gen {
    uint64_t rng;
    enum gen_kind kind;
    int64_t level; /* tenths of a degree, percent, or contact state */
    int64_t t, interval_ms;
};

static uint64_t gen_rand(struct gen *g)
{
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 2685821657736338717ull;
}

/* Sensor i of a fleet: 60% temperatures, 20% humidity, 10% UPS, 10% doors. */
static void gen_init(struct gen *g, uint32_t i, int64_t start_ms)
{
    static const enum gen_kind mix[10] = {GEN_TEMP, GEN_TEMP, GEN_TEMP,     GEN_TEMP,
                                          GEN_TEMP, GEN_TEMP, GEN_HUMIDITY, GEN_HUMIDITY,
                                          GEN_UPS,  GEN_DOOR};
    g->rng = 0x9e3779b97f4a7c15ull * (i + 1);
    g->kind = mix[i % 10];
    g->level = g->kind == GEN_TEMP       ? 180 + (int64_t)(gen_rand(g) % 80)
               : g->kind == GEN_HUMIDITY ? 35 + (int64_t)(gen_rand(g) % 20)
               : g->kind == GEN_UPS      ? 100
                                         : 0;
    g->interval_ms = 10000;
    g->t = start_ms + (int64_t)(i % 10) * 1000; /* sensors are polled out of phase */
}

/* The next reading; advances g->t after it. */
static double gen_next(struct gen *g, int64_t *t)
{
    uint64_t r = gen_rand(g) % 1000;
    double v;
    *t = g->t;
    g->t += g->interval_ms;
    switch (g->kind) {
    case GEN_TEMP: { /* slow drift plus +-0.1 of noise */
        if (r < 20)
            g->level += r < 10 ? -1 : 1;
        int64_t noise = (int64_t)(gen_rand(g) % 4) - 1; /* -1, 0, 0, 1 */
        noise = noise == 2 ? 0 : noise;
        v = (double)(g->level + noise) / 10.0;
        break;
    }
    case GEN_HUMIDITY:
        if (r < 30)
            g->level += r < 15 ? -1 : 1;
        v = (double)g->level;
        break;
    case GEN_UPS: /* a short outage now and then, then recharging */
        if (g->level == 100 && r == 0)
            g->level = 90;
        else if (g->level < 100 && r < 100)
            g->level++;
        v = (double)g->level;
        break;
    default:
        if (r < 2)
            g->level = !g->level;
        v = (double)g->level;
        break;
    }
    return v;
}

#endif

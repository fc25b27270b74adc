/*
 * trend.h - a fixed-size window of recent samples of one sensor and the
 * least-squares line through them, for rate-of-change and prediction rules.
 *
 * VG_TREND_SLOTS samples at most, spaced at least min_gap_ms apart (the
 * widest window of the sensor's rules / VG_TREND_SLOTS): a reading closer
 * than that to the previous sample replaces it, so the newest sample is
 * always the latest reading and a fast sensor does not flush the window.
 * Times are kept as 32-bit offsets from a base that moves forward.
 */
#ifndef VG_RULES_TREND_H
#define VG_RULES_TREND_H

#include "core/vg.h"

#define VG_TREND_SLOTS 16

struct vg_trend {
    int64_t base_ms;
    int32_t min_gap_ms;
    uint8_t head; /* next slot to write */
    uint8_t n;    /* samples held */
    int32_t dt_ms[VG_TREND_SLOTS];
    float value[VG_TREND_SLOTS];
};

void vg_trend_init(struct vg_trend *tr, int64_t window_ms);

/* Adds a sample; one older than the newest is ignored. */
void vg_trend_push(struct vg_trend *tr, int64_t time_ms, double value);

/* Least-squares line through the samples no older than window_ms before
 * the newest: slope in units per second and the line's value at the newest
 * sample's time. Needs 4 samples spanning at least a quarter of the
 * window; returns 0, or -EAGAIN when there are not enough. */
int vg_trend_fit(const struct vg_trend *tr, int64_t window_ms, double *slope_per_s,
                 double *value_now);

#endif

/*
 * trend.c - sample window and least-squares slope (see trend.h).
 *
 * Pure arithmetic on at most VG_TREND_SLOTS points, no allocation: it runs
 * on the reading path of every sensor a trend rule watches.
 */
#include "rules/trend.h"

#define REBASE_AFTER_MS (1 << 30) /* about 12 days */
#define MIN_SAMPLES     4

void vg_trend_init(struct vg_trend *tr, int64_t window_ms)
{
    memset(tr, 0, sizeof *tr);
    int64_t gap = window_ms / VG_TREND_SLOTS;
    tr->min_gap_ms = (int32_t)(gap > 0 ? gap : 1);
}

static int newest(const struct vg_trend *tr)
{
    return (tr->head + VG_TREND_SLOTS - 1) % VG_TREND_SLOTS;
}

/* Moves the base to the newest sample; offsets too old to matter clamp. */
static void rebase(struct vg_trend *tr, int64_t time_ms)
{
    int64_t shift = time_ms - tr->base_ms;
    for (int i = 0; i < VG_TREND_SLOTS; i++) {
        int64_t dt = tr->dt_ms[i] - shift;
        tr->dt_ms[i] = (int32_t)(dt < INT32_MIN ? INT32_MIN : dt);
    }
    tr->base_ms = time_ms;
}

void vg_trend_push(struct vg_trend *tr, int64_t time_ms, double value)
{
    if (tr->n == 0) {
        tr->base_ms = time_ms;
    } else {
        int64_t last = tr->base_ms + tr->dt_ms[newest(tr)];
        if (time_ms < last)
            return;
        if (time_ms - tr->base_ms > REBASE_AFTER_MS)
            rebase(tr, time_ms);
        /* closer than the gap to the one before the newest: replace the newest */
        if (tr->n >= 2) {
            int prev = (tr->head + VG_TREND_SLOTS - 2) % VG_TREND_SLOTS;
            if (time_ms - (tr->base_ms + tr->dt_ms[prev]) < tr->min_gap_ms)
                tr->head = (uint8_t)newest(tr), tr->n--;
        }
    }
    tr->dt_ms[tr->head] = (int32_t)(time_ms - tr->base_ms);
    tr->value[tr->head] = (float)value;
    tr->head = (uint8_t)((tr->head + 1) % VG_TREND_SLOTS);
    if (tr->n < VG_TREND_SLOTS)
        tr->n++;
}

int vg_trend_fit(const struct vg_trend *tr, int64_t window_ms, double *slope_per_s,
                 double *value_now)
{
    if (tr->n < MIN_SAMPLES)
        return -EAGAIN;
    int last = newest(tr);
    double t_end = tr->dt_ms[last];
    double sum_t = 0, sum_v = 0, sum_tt = 0, sum_tv = 0, t_first = t_end;
    int n = 0;
    for (int k = 0; k < tr->n; k++) {
        int i = (last + VG_TREND_SLOTS - k) % VG_TREND_SLOTS;
        double t = (tr->dt_ms[i] - t_end) / 1000.0; /* seconds, <= 0 */
        if (-t * 1000.0 > (double)window_ms)
            break;
        double v = tr->value[i];
        sum_t += t, sum_v += v, sum_tt += t * t, sum_tv += t * v;
        t_first = tr->dt_ms[i];
        n++;
    }
    if (n < MIN_SAMPLES || (t_end - t_first) * 4 < (double)window_ms)
        return -EAGAIN;
    double denom = n * sum_tt - sum_t * sum_t;
    if (denom <= 0)
        return -EAGAIN;
    double slope = (n * sum_tv - sum_t * sum_v) / denom;
    *slope_per_s = slope;
    *value_now = (sum_v - slope * sum_t) / n; /* the line at t = 0, the newest sample */
    return 0;
}

/*
 * sparkline.c - `vigil series` as text: a series of readings drawn as one
 * line of block characters, with min, max, avg and last below it.
 *
 * Assumes series of up to some hundred thousand points (the API's row
 * limit), drawn into a terminal's width: everything here is linear in the
 * number of points. Must never print: it appends to buffers, so that the
 * unit tests see what an operator sees. Values from the server may be
 * anything a double can hold; NaN and infinities are gaps, and scaling is
 * done so that no subtraction can overflow.
 */
#include "cli/sparkline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vg.h"

#define N_LEVELS   8
#define FLAT_LEVEL 3 /* ▄: a constant series, drawn at mid height */

static const char *const blocks[N_LEVELS] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

/* ---- the line ---------------------------------------------------------- */

static int is_shown(const double *values, const int *present, size_t i)
{
    return (!present || present[i]) && isfinite(values[i]);
}

/* The average of the values of [begin, end) that are shown; 0 if none is. */
static int run_average(const double *values, const int *present, size_t begin, size_t end,
                       double *avg)
{
    double sum = 0;
    size_t n_shown = 0;
    for (size_t i = begin; i < end; i++)
        if (is_shown(values, present, i)) {
            sum += values[i] / (double)(end - begin); /* divided first: no overflow */
            n_shown++;
        }
    if (n_shown == 0)
        return 0;
    *avg = sum * ((double)(end - begin) / (double)n_shown);
    if (!isfinite(*avg)) /* only for values near DBL_MAX: average the slow way */
        for (size_t i = begin, k = 0; i < end; i++)
            if (is_shown(values, present, i))
                *avg = k++ ? *avg + (values[i] - *avg) / (double)k : values[i];
    return 1;
}

static size_t level_of(double v, double lo, double hi)
{
    if (!(hi > lo))
        return FLAT_LEVEL;
    /* halves first, so that hi - lo cannot overflow to infinity */
    double frac = (v / 2 - lo / 2) / (hi / 2 - lo / 2);
    double level = floor(frac * N_LEVELS);
    if (!(level >= 0)) /* also NaN, which cannot happen, but must not index */
        return 0;
    return level >= N_LEVELS - 1 ? N_LEVELS - 1 : (size_t)level;
}

void vg_sparkline(vg_buf_t *out, const double *values, const int *present, size_t n,
                  size_t width)
{
    if (n == 0 || width == 0)
        return;
    size_t n_cols = n < width ? n : width;
    double *col_value = vg_calloc(n_cols, sizeof *col_value);
    int *col_shown = vg_calloc(n_cols, sizeof *col_shown);
    double lo = INFINITY, hi = -INFINITY;

    for (size_t c = 0; c < n_cols; c++) {
        size_t begin = c * n / n_cols, end = (c + 1) * n / n_cols;
        col_shown[c] = run_average(values, present, begin, end, &col_value[c]);
        if (col_shown[c]) {
            lo = fmin(lo, col_value[c]);
            hi = fmax(hi, col_value[c]);
        }
    }
    for (size_t c = 0; c < n_cols; c++)
        vg_buf_adds(out, col_shown[c] ? blocks[level_of(col_value[c], lo, hi)] : " ");
    free(col_value);
    free(col_shown);
}

/* ---- the grid ---------------------------------------------------------- */

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t median_interval(const int64_t *times, size_t n)
{
    if (n < 2)
        return 1;
    int64_t *gaps = vg_calloc(n - 1, sizeof *gaps);
    for (size_t i = 1; i < n; i++)
        gaps[i - 1] = times[i] - times[i - 1];
    qsort(gaps, n - 1, sizeof *gaps, compare_i64);
    int64_t median = gaps[(n - 1) / 2];
    free(gaps);
    return median > 0 ? median : 1;
}

/* In raw readings, a hole of one slot between two readings is jitter of
 * the sensor's interval, not missing data: it gets the slot before it. */
static void fill_short_holes(struct vg_sparkline_grid *grid)
{
    for (size_t i = 1; i + 1 < grid->n; i++)
        if (!grid->present[i] && grid->present[i - 1] && grid->present[i + 1]) {
            grid->values[i] = grid->values[i - 1];
            grid->present[i] = 1;
        }
}

void vg_sparkline_grid(struct vg_sparkline_grid *grid, const int64_t *times,
                       const double *values, size_t n, int64_t interval_ms, size_t max_slots)
{
    memset(grid, 0, sizeof *grid);
    if (n == 0 || max_slots == 0)
        return;
    int64_t interval = interval_ms > 0 ? interval_ms : median_interval(times, n);
    uint64_t span = (uint64_t)(times[n - 1] - times[0]);
    if (span / (uint64_t)interval + 1 > max_slots)
        interval = (int64_t)(span / max_slots + 1);
    grid->n = (size_t)(span / (uint64_t)interval) + 1;
    grid->values = vg_calloc(grid->n, sizeof *grid->values);
    grid->present = vg_calloc(grid->n, sizeof *grid->present);

    for (size_t i = 0; i < n; i++) {
        /* rounded to the nearest slot, so that jitter does not shift readings */
        uint64_t offset = (uint64_t)(times[i] - times[0]) + (uint64_t)interval / 2;
        size_t slot = (size_t)(offset / (uint64_t)interval);
        if (slot >= grid->n)
            slot = grid->n - 1;
        if (!isfinite(values[i]))
            continue;
        int k = ++grid->present[slot]; /* counts until the end of the loop */
        grid->values[slot] += (values[i] - grid->values[slot]) / k;
    }
    for (size_t s = 0; s < grid->n; s++)
        grid->present[s] = grid->present[s] > 0;
    if (interval_ms <= 0)
        fill_short_holes(grid); /* a bucket missing from a step is a real gap */
}

void vg_sparkline_grid_release(struct vg_sparkline_grid *grid)
{
    free(grid->values);
    free(grid->present);
    memset(grid, 0, sizeof *grid);
}

/* ---- text -------------------------------------------------------------- */

void vg_sparkline_time(int64_t ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outlen, "%lld", (long long)ms);
}

void vg_sparkline_step(int64_t step_ms, char *out, size_t outlen)
{
    static const struct {
        int64_t ms;
        const char *suffix;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};

    if (step_ms == 0) {
        snprintf(out, outlen, "raw");
        return;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(units); i++)
        if (step_ms % units[i].ms == 0) {
            snprintf(out, outlen, "%lld%s", (long long)(step_ms / units[i].ms),
                     units[i].suffix);
            return;
        }
    snprintf(out, outlen, "%lldms", (long long)step_ms);
}

static void add_clean(vg_buf_t *out, const char *text)
{
    for (const char *p = text; *p; p++)
        vg_buf_add(out, (unsigned char)*p < 0x20 || *p == 0x7f ? "?" : p, 1);
}

/* The readings of a series answer, as parallel arrays. */
struct readings {
    size_t n;
    int64_t *times;
    double *values; /* the value, or the bucket's average */
    double min, max, sum;
    unsigned long long count;
};

/* Takes one point; 0 when it is not an array of numbers of the right size. */
static int take_point(struct readings *r, const json_t *point, int aggregated)
{
    size_t want = aggregated ? 5 : 2;
    if (!json_is_array(point) || json_array_size(point) != want)
        return 0;
    for (size_t i = 0; i < want; i++)
        if (!json_is_number(json_array_get(point, i)))
            return 0;
    double at = json_number_value(json_array_get(point, 0));
    double value = json_number_value(json_array_get(point, aggregated ? 3 : 1));
    double count = aggregated ? json_number_value(json_array_get(point, 4)) : 1;
    if (!isfinite(value) || !(count >= 1))
        return 0;
    r->times[r->n] = (int64_t)at;
    r->values[r->n++] = value;
    r->min = fmin(r->min, json_number_value(json_array_get(point, 1)));
    r->max = fmax(r->max, json_number_value(json_array_get(point, aggregated ? 2 : 1)));
    r->sum += value * count;
    r->count += (unsigned long long)count;
    return 1;
}

static void take_points(struct readings *r, const json_t *points, int aggregated)
{
    size_t n = json_array_size(points);
    r->times = vg_calloc(n ? n : 1, sizeof *r->times);
    r->values = vg_calloc(n ? n : 1, sizeof *r->values);
    r->min = INFINITY;
    r->max = -INFINITY;
    for (size_t i = 0; i < n; i++)
        take_point(r, json_array_get(points, i), aggregated);
}

static void add_header(vg_buf_t *out, const json_t *answer, const struct readings *r)
{
    char from[32], to[32], step[32];
    int64_t step_ms = (int64_t)json_integer_value(json_object_get(answer, "step"));
    vg_sparkline_time((int64_t)json_integer_value(json_object_get(answer, "from")), from,
                      sizeof from);
    vg_sparkline_time((int64_t)json_integer_value(json_object_get(answer, "to")), to,
                      sizeof to);
    vg_sparkline_step(step_ms, step, sizeof step);
    const char *sensor = json_string_value(json_object_get(answer, "sensor"));
    add_clean(out, sensor ? sensor : "?");
    vg_buf_printf(out, "  %s .. %s  step %s  %zu %s\n", from, to, step, r->n,
                  step_ms ? (r->n == 1 ? "bucket" : "buckets")
                          : (r->n == 1 ? "point" : "points"));
}

static void add_summary(vg_buf_t *out, const struct readings *r)
{
    char last_at[32];
    vg_sparkline_time(r->times[r->n - 1], last_at, sizeof last_at);
    vg_buf_printf(out, "min %.6g  max %.6g  avg %.6g  last %.6g (%s)  count %llu\n", r->min,
                  r->max, r->sum / (double)r->count, r->values[r->n - 1], last_at, r->count);
}

void vg_sparkline_series(vg_buf_t *out, const json_t *answer, size_t width)
{
    const char *columns = json_string_value(json_object_get(answer, "columns"));
    int aggregated = columns && strcmp(columns, "time,value") != 0;
    struct readings r = {0};
    take_points(&r, json_object_get(answer, "points"), aggregated);

    add_header(out, answer, &r);
    if (r.n == 0) {
        vg_buf_adds(out, "no readings in this range\n");
    } else {
        struct vg_sparkline_grid grid;
        int64_t step_ms = (int64_t)json_integer_value(json_object_get(answer, "step"));
        vg_sparkline_grid(&grid, r.times, r.values, r.n, step_ms, width * 64);
        vg_sparkline(out, grid.values, grid.present, grid.n, width);
        vg_buf_adds(out, "\n");
        vg_sparkline_grid_release(&grid);
        add_summary(out, &r);
    }
    free(r.times);
    free(r.values);
}

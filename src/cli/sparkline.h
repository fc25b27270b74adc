/*
 * sparkline.h - the text of `vigil series`: a time series drawn as one line
 * of Unicode blocks (▁▂▃▄▅▆▇█) for a terminal, with its summary, made from
 * the answer of GET /api/v1/series (docs/api.md). Pure: every function
 * appends to a buffer the caller owns and prints nothing, so the unit tests
 * check exactly what an operator reads.
 */
#ifndef VG_CLI_SPARKLINE_H
#define VG_CLI_SPARKLINE_H

#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"

/*
 * Appends values[0..n) as at most width block characters (UTF-8, 3 bytes
 * each), scaled from the smallest value shown (▁) to the largest (█); a
 * series whose values are all equal is drawn at mid height (▄). An entry
 * whose present[i] is 0 (present may be NULL: all present), or whose value
 * is NaN or infinite, is a gap, drawn as a space. With more values than
 * width, each character is the average of a run of consecutive values (the
 * runs differ in length by one at most; a run of gaps is a gap); with fewer,
 * one character per value. Appends nothing when n or width is 0.
 */
void vg_sparkline(vg_buf_t *out, const double *values, const int *present, size_t n,
                  size_t width);

/* Points on a regular grid: values[i] is the average of the readings in
 * slot i, present[i] 0 for a slot without any. Owned by the grid. */
struct vg_sparkline_grid {
    double *values;
    int *present;
    size_t n;
};

/*
 * Puts n readings (times in ms, ascending) on slots of interval_ms from the
 * first reading's time, so that time without readings becomes gaps. An
 * interval <= 0 (raw readings) is taken as the median distance between
 * readings, and a hole of a single slot between two readings is filled
 * with the reading before it (jitter, not a gap). The grid
 * is widened so that it has at most max_slots slots. Release with
 * vg_sparkline_grid_release (also after n == 0, which gives no slots).
 */
void vg_sparkline_grid(struct vg_sparkline_grid *grid, const int64_t *times,
                       const double *values, size_t n, int64_t interval_ms, size_t max_slots);
void vg_sparkline_grid_release(struct vg_sparkline_grid *grid);

/*
 * Appends the table view of a series answer ({"sensor","from","to","step",
 * "columns","points"}): a header line (sensor, range in UTC, step, number of
 * points), the sparkline of the values (the bucket averages when the series
 * is aggregated) at most width wide, and a line with min, max, avg, last and
 * count (readings: the buckets' counts added up). Points that are not
 * arrays of numbers are skipped; no points give "no readings in this range".
 * Text from the server is shown with control characters as '?'.
 */
void vg_sparkline_series(vg_buf_t *out, const json_t *answer, size_t width);

/* "2026-01-01T10:05:00Z" for a time in ms since the epoch. */
void vg_sparkline_time(int64_t ms, char *out, size_t outlen);

/* "raw" for 0, else "10s", "1m", "1h", "1d" when whole, else "1500ms". */
void vg_sparkline_step(int64_t step_ms, char *out, size_t outlen);

#endif

/*
 * schedule.c - who is on call when: walks a checked Schedule
 * (schedule_spec.c) through time, one stretch at a time.
 *
 * At an instant the answer is, in order: the override covering it; else
 * the person whose turn it is in the one layer whose weekly window holds
 * the local time (layers never overlap), or nobody before that layer's
 * start; then a swap covering the instant hands that person's time to
 * another. Turns of days and weeks are counted in local calendar days, so
 * a 09:00 hand-off stays at 09:00 across daylight saving; turns of hours
 * are elapsed time. The walk jumps from one possible change (a hand-off, a
 * window edge, an override or swap edge, a clock change) to the next and
 * merges equal neighbours, so its cost follows the number of shifts, not
 * the length of the range; it is bounded in steps all the same.
 */
#include "oncall/schedule_int.h"

#include "oncall/tz_int.h"

#define WALK_STEPS_MAX   200000
#define TIME_MAX_S       ((int64_t)1 << 36) /* about year 4147 */
#define ONCALL_HORIZON_S (31 * 86400)
#define NEVER            INT64_MAX

/* One stretch as the walk sees it: constant until next (s). */
struct seg {
    const char *person, *layer;
    int64_t next;
};

static void sooner(int64_t *next, int64_t candidate)
{
    if (candidate < *next)
        *next = candidate;
}

static int layer_days(const struct sched_layer *l)
{
    return l->turn * (l->unit == 'w' ? 7 : 1);
}

/* The k-th hand-off of a day or week layer: the same local time, k turns
 * of calendar days after the first. */
static int64_t handoff(const struct sched *s, const struct sched_layer *l, int64_t k)
{
    return vg_tz_from_local(s->tz, l->year, l->month, (int)(l->day + k * layer_days(l)),
                            l->hour, l->minute, 0);
}

/* Which turn of l is running at t (-1 before its start), and when the
 * next one begins. */
static int64_t layer_turn(const struct sched *s, const struct sched_layer *l, int64_t t,
                          int64_t *next)
{
    if (t < l->start) {
        *next = l->start;
        return -1;
    }
    if (l->unit == 'h') {
        int64_t period = (int64_t)l->turn * 3600;
        int64_t k = (t - l->start) / period;
        *next = l->start + (k + 1) * period;
        return k;
    }
    /* a first guess by elapsed time, corrected by the calendar */
    int64_t k = (t - l->start) / ((int64_t)layer_days(l) * 86400);
    while (handoff(s, l, k + 1) <= t)
        k++;
    while (k > 0 && handoff(s, l, k) > t)
        k--;
    *next = handoff(s, l, k + 1);
    return k;
}

/* The span covering t, if any; and the nearest span edge after t. */
static const struct sched_span *span_at(const struct sched_span *spans, size_t n, int64_t t,
                                        int64_t *next)
{
    const struct sched_span *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (spans[i].start > t)
            sooner(next, spans[i].start);
        else if (spans[i].end > t)
            sooner(next, spans[i].end);
        if (!found && spans[i].start <= t && t < spans[i].end)
            found = &spans[i];
    }
    return found;
}

/* The first instant in (lo, hi] whose offset differs from lo's. */
static int64_t clock_change(const vg_tz_t *tz, int64_t lo, int64_t hi)
{
    int32_t before = vg_tz_offset(tz, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (vg_tz_offset(tz, mid) == before)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* The next instant after t at which another layer (or none) may apply:
 * the next edge of the weekly windows, or a clock change before it. */
static int64_t next_window_edge(const struct sched *s, int64_t t, const struct vg_tz_local *lt)
{
    int minute = lt->weekday * 1440 + lt->hour * 60 + lt->minute, delta = 1;
    uint8_t owner = s->owner[minute];
    while (delta < SCHED_WEEK_MINUTES &&
           s->owner[(minute + delta) % SCHED_WEEK_MINUTES] == owner)
        delta++;
    if (delta == SCHED_WEEK_MINUTES)
        return NEVER;
    int64_t edge = t - lt->second + (int64_t)delta * 60;
    if (vg_tz_offset(s->tz, edge) != lt->offset)
        return clock_change(s->tz, t, edge);
    return edge;
}

/* The person of the layer owning t, "" for nobody. */
static const char *layer_person(const struct sched *s, int64_t t, const struct vg_tz_local *lt,
                                struct seg *out)
{
    uint8_t owner = s->owner[lt->weekday * 1440 + lt->hour * 60 + lt->minute];
    if (owner == SCHED_NOBODY)
        return "";
    const struct sched_layer *l = &s->layers[owner];
    int64_t next, turn = layer_turn(s, l, t, &next);
    sooner(&out->next, next);
    if (turn < 0)
        return "";
    out->layer = l->name;
    return l->people[turn % (int64_t)l->n_people];
}

static void segment_at(const struct sched *s, int64_t t, struct seg *out)
{
    struct vg_tz_local lt;
    *out = (struct seg){"", "", NEVER};
    vg_tz_to_local(s->tz, t, &lt);
    sooner(&out->next, next_window_edge(s, t, &lt));
    const struct sched_span *o = span_at(s->overrides, s->n_overrides, t, &out->next);
    int64_t swap_next = NEVER;
    const char *person = layer_person(s, t, &lt, out);
    for (size_t i = 0; i < s->n_swaps; i++) {
        const struct sched_span *w = &s->swaps[i];
        span_at(w, 1, t, &swap_next);
        if (*person && w->start <= t && t < w->end && strcmp(w->person, person) == 0)
            person = w->to;
    }
    sooner(&out->next, swap_next);
    if (o) {
        person = o->person;
        out->layer = "override";
    }
    out->person = person;
    if (!*person)
        out->layer = "";
}

static void fill(struct vg_shift *shift, const struct seg *seg, int64_t start_ms,
                 int64_t end_ms)
{
    shift->start_ms = start_ms;
    shift->end_ms = end_ms;
    snprintf(shift->person, sizeof shift->person, "%s", seg->person);
    snprintf(shift->layer, sizeof shift->layer, "%s", seg->layer);
}

int vg_sched_walk(const struct sched *s, int64_t from_ms, int64_t to_ms,
                  int (*emit)(const struct vg_shift *shift, void *ctx), void *ctx, char *err,
                  size_t errlen)
{
    struct vg_shift cur = {0};
    int have = 0, rc;
    if (from_ms < 0 || to_ms > TIME_MAX_S * 1000 || from_ms >= to_ms)
        return vg_err(err, errlen, -EINVAL, "time range must be non-empty, from 1970 on");
    for (size_t steps = 0; from_ms < to_ms; steps++) {
        struct seg seg;
        if (steps == WALK_STEPS_MAX)
            return vg_err(err, errlen, -E2BIG, "time range too long: more than %d changes",
                          WALK_STEPS_MAX);
        segment_at(s, vg_tz_floor_div(from_ms, 1000), &seg);
        int64_t end_ms = seg.next > to_ms / 1000 ? to_ms : seg.next * 1000;
        if (have && strcmp(cur.person, seg.person) == 0 && strcmp(cur.layer, seg.layer) == 0) {
            cur.end_ms = end_ms;
        } else {
            if (have && (rc = emit(&cur, ctx)) != 0)
                return rc;
            fill(&cur, &seg, from_ms, end_ms);
            have = 1;
        }
        from_ms = end_ms;
    }
    return have ? emit(&cur, ctx) : 0;
}

/* ---- the public calls ---- */

struct collect {
    struct vg_shift *shifts;
    size_t n, max;
};

static int collect_shift(const struct vg_shift *shift, void *ctx)
{
    struct collect *c = ctx;
    if (c->n == c->max)
        return -E2BIG;
    c->shifts[c->n++] = *shift;
    return 0;
}

int vg_schedule_shifts(const json_t *spec, int64_t from_ms, int64_t to_ms, size_t max,
                       struct vg_shift **out, size_t *n, char *err, size_t errlen)
{
    struct sched *s = NULL;
    struct collect c = {NULL, 0, max};
    *out = NULL;
    *n = 0;
    int rc = vg_sched_parse(spec, &s, err, errlen, NULL, 0);
    if (rc)
        return rc;
    c.shifts = vg_calloc(max ? max : 1, sizeof *c.shifts);
    rc = vg_sched_walk(s, from_ms, to_ms, collect_shift, &c, err, errlen);
    if (rc == -E2BIG && c.n == max)
        vg_err(err, errlen, rc, "more than %zu shifts in the time range", max);
    free(s);
    if (rc) {
        free(c.shifts);
        return rc;
    }
    *out = c.shifts;
    *n = c.n;
    return 0;
}

struct find {
    int64_t at_ms;
    struct vg_shift *out;
};

static int find_shift(const struct vg_shift *shift, void *ctx)
{
    struct find *f = ctx;
    if (shift->end_ms <= f->at_ms)
        return 0;
    *f->out = *shift;
    return 1;
}

int vg_schedule_oncall(const json_t *spec, int64_t at_ms, struct vg_shift *out, char *err,
                       size_t errlen)
{
    struct sched *s = NULL;
    struct find f = {at_ms, out};
    int64_t horizon_ms = (int64_t)ONCALL_HORIZON_S * 1000;
    int rc = vg_sched_parse(spec, &s, err, errlen, NULL, 0);
    if (rc)
        return rc;
    int64_t from_ms = at_ms > horizon_ms ? at_ms - horizon_ms : 0;
    rc = vg_sched_walk(s, from_ms, at_ms + horizon_ms, find_shift, &f, err, errlen);
    free(s);
    if (rc == 1)
        return 0;
    return rc ? rc : vg_err(err, errlen, -EINVAL, "time out of range");
}

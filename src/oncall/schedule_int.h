/*
 * schedule_int.h - a Schedule spec as the evaluator holds it once checked:
 * what schedule_spec.c builds from the JSON and schedule.c and
 * schedule_ics.c read. Not for use outside src/oncall/schedule*.c.
 */
#ifndef VG_SCHEDULE_INT_H
#define VG_SCHEDULE_INT_H

#include "oncall/schedule.h"
#include "oncall/tz.h"

#define SCHED_LAYERS_MAX       16
#define SCHED_PEOPLE_MAX       64
#define SCHED_RESTRICTIONS_MAX 32
#define SCHED_OVERRIDES_MAX    256
#define SCHED_SWAPS_MAX        256
#define SCHED_WEEK_MINUTES     (7 * 24 * 60) /* minute 0 is Monday 00:00 local */
#define SCHED_NOBODY           0xff          /* no layer applies at this minute */

struct sched_layer {
    char name[VG_NAME_MAX + 1];
    size_t n_people;
    char people[SCHED_PEOPLE_MAX][VG_NAME_MAX + 1];
    int year, month, day, hour, minute; /* local time of the first hand-off */
    int64_t start;                      /* that hand-off, s since the epoch */
    char unit;                          /* 'h', 'd' or 'w' */
    int turn;                           /* units per person */
};

/* An override (person) or a swap (person is 'from', to is 'to'). */
struct sched_span {
    char person[VG_NAME_MAX + 1];
    char to[VG_NAME_MAX + 1];
    int64_t start, end; /* [start, end), s since the epoch */
};

struct sched {
    const vg_tz_t *tz;
    size_t n_layers, n_overrides, n_swaps;
    struct sched_layer layers[SCHED_LAYERS_MAX];
    struct sched_span overrides[SCHED_OVERRIDES_MAX];
    struct sched_span swaps[SCHED_SWAPS_MAX];
    /* the layer that applies at each local minute of the week (layers
     * never overlap, so there is at most one), or SCHED_NOBODY */
    uint8_t owner[SCHED_WEEK_MINUTES];
};

/* Checks spec and builds *out (malloc'd, caller frees) from it; on a fault
 * -EINVAL with err and field as vg_schedule_check describes. */
int vg_sched_parse(const json_t *spec, struct sched **out, char *err, size_t errlen,
                   char *field, size_t fieldlen);

/* Calls emit for each merged shift of [from_ms, to_ms), in order, until
 * emit returns nonzero (then returns that). -E2BIG when the range needs
 * too many steps. */
int vg_sched_walk(const struct sched *s, int64_t from_ms, int64_t to_ms,
                  int (*emit)(const struct vg_shift *shift, void *ctx), void *ctx, char *err,
                  size_t errlen);

#endif

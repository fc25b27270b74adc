/*
 * tz_int.h - what tz.c (TZif files, the cache) and tz_rule.c (the POSIX TZ
 * rule of a file's footer, and civil-calendar arithmetic) share. Not for
 * use outside src/oncall/tz*.c.
 */
#ifndef VG_TZ_INT_H
#define VG_TZ_INT_H

#include <stdint.h>

/* One end of daylight saving time: a day of the year and a time of day. */
struct vg_tz_when {
    char form;    /* 'J' (Jn, no Feb 29), 'N' (n, zero-based), 'M' (Mm.w.d) */
    int day;      /* J: 1..365, N: 0..365, M: weekday 0 = Sunday .. 6 */
    int week;     /* M: 1..5 (5 = the last) */
    int month;    /* M: 1..12 */
    int32_t secs; /* local time of day, -167h..167h */
};

/* A footer rule like "CET-1CEST,M3.5.0,M10.5.0/3", offsets east of UTC. */
struct vg_tz_rule {
    int32_t std_offset, dst_offset;
    int has_dst;
    struct vg_tz_when start, end;
};

/* Parses a POSIX TZ string; 0 or -EINVAL. */
int vg_tz_rule_parse(const char *text, struct vg_tz_rule *out);

/* Seconds east of UTC the rule gives at instant t. */
int32_t vg_tz_rule_offset(const struct vg_tz_rule *rule, int64_t t);

/* Days since 1970-01-01 of a proleptic Gregorian date; month may be out
 * of 1..12 (it carries into year), day is added as it is. */
int64_t vg_tz_days_from_civil(int64_t year, int month, int64_t day);

/* The date of a day number. */
void vg_tz_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Floor division for negative instants. */
static inline int64_t vg_tz_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

#endif

/*
 * tz_rule.c - the POSIX TZ string at the end of a TZif file (RFC 8536
 * section 3.3, with the version 3 extensions: hours up to 167 and negative
 * times of day), which gives the offsets for every instant after the
 * file's last transition, and the civil-calendar arithmetic it needs.
 *
 * Input is a file's footer: bounded (tz.c caps it), maybe malformed. The
 * parser reads only within the string and refuses anything it does not
 * fully understand rather than guess an offset.
 */
#include "oncall/tz_int.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>

#define HOUR 3600
#define DAY  86400

int64_t vg_tz_days_from_civil(int64_t year, int month, int64_t day)
{
    /* carry the month into the year first, then count from March */
    year += vg_tz_floor_div(month - 1, 12);
    month = (int)(month - 1 - 12 * vg_tz_floor_div(month - 1, 12)) + 1;
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = vg_tz_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + (day - 1);
}

void vg_tz_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = vg_tz_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

static int is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* ---- parsing ---- */

static int parse_number(const char **p, int lo, int hi, int *out)
{
    int n = 0, digits = 0;
    while (isdigit((unsigned char)**p) && digits < 4) {
        n = n * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    if (!digits || n < lo || n > hi)
        return -EINVAL;
    *out = n;
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh up to max_hours, as seconds (sign kept). */
static int parse_hms(const char **p, int max_hours, int32_t *out)
{
    int sign = 1, h = 0, m = 0, s = 0;
    if (**p == '+' || **p == '-')
        sign = *(*p)++ == '-' ? -1 : 1;
    if (parse_number(p, 0, max_hours, &h))
        return -EINVAL;
    if (**p == ':' && (++*p, parse_number(p, 0, 59, &m)))
        return -EINVAL;
    if (**p == ':' && (++*p, parse_number(p, 0, 59, &s)))
        return -EINVAL;
    *out = sign * (h * HOUR + m * 60 + s);
    return 0;
}

/* An abbreviation: <...> or three or more letters. */
static int parse_abbr(const char **p)
{
    const char *start = *p;
    if (**p == '<') {
        while (**p && **p != '>')
            (*p)++;
        if (**p != '>' || *p - start < 4)
            return -EINVAL;
        (*p)++;
        return 0;
    }
    while (isalpha((unsigned char)**p))
        (*p)++;
    return *p - start >= 3 ? 0 : -EINVAL;
}

static int parse_when(const char **p, struct vg_tz_when *w)
{
    int rc;
    w->secs = 2 * HOUR; /* the POSIX default */
    if (**p == 'M') {
        (*p)++;
        w->form = 'M';
        rc = parse_number(p, 1, 12, &w->month);
        if (!rc)
            rc = *(*p)++ == '.' ? parse_number(p, 1, 5, &w->week) : -EINVAL;
        if (!rc)
            rc = *(*p)++ == '.' ? parse_number(p, 0, 6, &w->day) : -EINVAL;
    } else if (**p == 'J') {
        (*p)++;
        w->form = 'J';
        rc = parse_number(p, 1, 365, &w->day);
    } else {
        w->form = 'N';
        rc = parse_number(p, 0, 365, &w->day);
    }
    if (!rc && **p == '/')
        (*p)++, rc = parse_hms(p, 167, &w->secs);
    return rc;
}

int vg_tz_rule_parse(const char *text, struct vg_tz_rule *out)
{
    const char *p = text;
    int32_t west;
    *out = (struct vg_tz_rule){0};
    if (parse_abbr(&p) || parse_hms(&p, 24, &west))
        return -EINVAL;
    out->std_offset = out->dst_offset = -west;
    if (*p == '\0')
        return 0;
    if (parse_abbr(&p))
        return -EINVAL;
    out->has_dst = 1;
    out->dst_offset = out->std_offset + HOUR;
    if (*p != ',' && *p != '\0') {
        if (parse_hms(&p, 24, &west))
            return -EINVAL;
        out->dst_offset = -west;
    }
    /* a DST zone without rules would need a guessed default: refused */
    if (*p++ != ',' || parse_when(&p, &out->start) || *p++ != ',' || parse_when(&p, &out->end))
        return -EINVAL;
    return *p == '\0' ? 0 : -EINVAL;
}

/* ---- evaluation ---- */

/* Day number (since the epoch) on which w falls in year. */
static int64_t when_day(const struct vg_tz_when *w, int64_t year)
{
    int64_t jan1 = vg_tz_days_from_civil(year, 1, 1);
    if (w->form == 'J')
        return jan1 + w->day - 1 + (is_leap(year) && w->day >= 60);
    if (w->form == 'N')
        return jan1 + w->day;
    int64_t first = vg_tz_days_from_civil(year, w->month, 1);
    int64_t next_month = vg_tz_days_from_civil(year, w->month + 1, 1);
    int first_wday = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (w->day - first_wday + 7) % 7 + 7 * (w->week - 1);
    while (day >= next_month)
        day -= 7;
    return day;
}

int32_t vg_tz_rule_offset(const struct vg_tz_rule *rule, int64_t t)
{
    if (!rule->has_dst)
        return rule->std_offset;
    int year, month, day;
    vg_tz_civil_from_days(vg_tz_floor_div(t + rule->std_offset, DAY), &year, &month, &day);
    /* the start is given in standard time, the end in daylight time */
    int64_t start = when_day(&rule->start, year) * DAY + rule->start.secs - rule->std_offset;
    int64_t end = when_day(&rule->end, year) * DAY + rule->end.secs - rule->dst_offset;
    int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? rule->dst_offset : rule->std_offset;
}

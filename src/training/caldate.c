/*
 * caldate.c - "YYYY-MM-DD" to and from day numbers (caldate.h).
 *
 * Pure arithmetic, no libc time functions: timegm() and friends depend on
 * the process's time zone settings and accept 2026-02-30 by rolling it over
 * to March, which is exactly the typo a training import must refuse. The
 * conversion is the usual era-based one (400-year cycles of 146097 days).
 */
#include "training/caldate.h"

#include <errno.h>
#include <stdio.h>

#include "core/vg.h"

static int is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

static int32_t day_from_civil(int year, int month, int day)
{
    int y = month <= 2 ? year - 1 : year;
    int era = y / 400; /* years here are >= 1999: no negative division */
    int yoe = y - era * 400;
    int doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_day(int32_t day, int *year, int *month, int *mday)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

/* n digits of text as a number, or -1 if one is not a digit. */
static int digits(const char *text, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

int vg_caldate_parse(const char *text, size_t len, int32_t *day, char *why, size_t whylen)
{
    if (len != VG_CALDATE_LEN || text[4] != '-' || text[7] != '-')
        return vg_err(why, whylen, -EINVAL, "expected YYYY-MM-DD");
    int year = digits(text, 4), month = digits(text + 5, 2), mday = digits(text + 8, 2);
    if (year < 0 || month < 0 || mday < 0)
        return vg_err(why, whylen, -EINVAL, "expected YYYY-MM-DD");
    if (year < VG_CALDATE_MIN_YEAR || year > VG_CALDATE_MAX_YEAR)
        return vg_err(why, whylen, -EINVAL, "year %d is outside %d..%d", year,
                      VG_CALDATE_MIN_YEAR, VG_CALDATE_MAX_YEAR);
    if (month < 1 || month > 12)
        return vg_err(why, whylen, -EINVAL, "month %d does not exist", month);
    if (mday < 1 || mday > days_in_month(year, month))
        return vg_err(why, whylen, -EINVAL, "%s %d has %d days", month_names[month - 1], year,
                      days_in_month(year, month));
    *day = day_from_civil(year, month, mday);
    return 0;
}

void vg_caldate_format(int32_t day, char *out, size_t outlen)
{
    int year, month, mday;
    civil_from_day(day, &year, &month, &mday);
    snprintf(out, outlen, "%04d-%02d-%02d", year, month, mday);
}

int32_t vg_caldate_of_ms(int64_t now_ms)
{
    int64_t ms_per_day = 86400000;
    int64_t day = now_ms >= 0 ? now_ms / ms_per_day : (now_ms - ms_per_day + 1) / ms_per_day;
    return (int32_t)day;
}

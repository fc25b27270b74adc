/*
 * timefmt.c - UTC times of manifests (timefmt.h). No locale, no TZ: the
 * date arithmetic is done here (days from civil), so it is the same in
 * every thread and on every machine.
 */
#include "core/timefmt.h"

#include <stdio.h>
#include <time.h>

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int vg_time_parse_utc(const char *s, int64_t *ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec = 0;
    size_t len = strlen(s);
    if ((len != 17 && len != 20) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[len - 1] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi))
        return -EINVAL;
    if (len == 20 && (s[16] != ':' || digits(s + 17, 2, &sec)))
        return -EINVAL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 2000 || y > 2100 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || sec > 59)
        return -EINVAL;
    *ms = ((days_from_civil(y, mo, d) * 86400) + h * 3600 + mi * 60 + sec) * 1000;
    return 0;
}

void vg_time_format_utc(int64_t ms, char out[32])
{
    struct tm tm;
    /* years 0..9999 only: an absurd time still gives a valid timestamp */
    if (ms < 0 || ms > 253402300799999LL)
        ms = 0;
    time_t secs = (time_t)(ms / 1000);
    gmtime_r(&secs, &tm);
    char text[96]; /* what the compiler cannot prove fits; 24 bytes do */
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    snprintf(out, 32, "%.31s", text);
}

/*
 * caldate.h - calendar dates in UTC as day numbers, for training records.
 *
 * A date is the number of days since 1970-01-01 (proleptic Gregorian), so
 * "365 days after" is an addition and comparing dates is comparing ints.
 * Only "YYYY-MM-DD" between VG_CALDATE_MIN and VG_CALDATE_MAX is accepted:
 * a training record outside those years is a typo, not history.
 */
#ifndef VG_CALDATE_H
#define VG_CALDATE_H

#include <stddef.h>
#include <stdint.h>

#define VG_CALDATE_MIN_YEAR 2000
#define VG_CALDATE_MAX_YEAR 2100
#define VG_CALDATE_LEN      10 /* "YYYY-MM-DD" */

/* Parses exactly "YYYY-MM-DD" (len bytes, no NUL needed) into *day: 0, or
 * -EINVAL with why ("month 13 does not exist", "February 2026 has 28
 * days") when it is not a real date in the accepted years. */
int vg_caldate_parse(const char *text, size_t len, int32_t *day, char *why, size_t whylen);

/* Writes day as "YYYY-MM-DD" into out (at least VG_CALDATE_LEN + 1 bytes). */
void vg_caldate_format(int32_t day, char *out, size_t outlen);

/* The UTC calendar day holding the instant now_ms (ms since the epoch). */
int32_t vg_caldate_of_ms(int64_t now_ms);

#endif

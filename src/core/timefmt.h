/*
 * timefmt.h - UTC times as people write them in manifests and the API:
 * "2026-12-08T08:00:00Z" (RFC 3339, UTC only; seconds optional).
 */
#ifndef VG_TIMEFMT_H
#define VG_TIMEFMT_H

#include <stdint.h>

#include "core/vg.h"

/* ms since the epoch of s; -EINVAL unless s is exactly YYYY-MM-DDTHH:MM[:SS]Z
 * with a real calendar date between the years 2000 and 2100. */
int vg_time_parse_utc(const char *s, int64_t *ms);

/* RFC 3339 UTC with milliseconds ("2026-05-01T12:00:00.000Z") of ms since
 * the epoch; a time outside the years 0..9999 gives the epoch's. */
void vg_time_format_utc(int64_t ms, char out[32]);

#endif

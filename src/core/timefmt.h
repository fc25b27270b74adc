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

#endif

/*
 * tz.h - time zones for on-call schedules: UTC offsets and local wall-clock
 * times of a named IANA zone ("Europe/Amsterdam"), correct across daylight
 * saving, read from the system's compiled zone files (TZif, RFC 8536) under
 * /usr/share/zoneinfo (or $VIGIL_ZONEINFO), including the POSIX TZ rule of
 * the file's footer for instants past its last transition.
 *
 * Never touches the process's TZ or calls localtime(): vigild's threads
 * share one environment, and a schedule in Tokyo must not move a log line
 * written in Amsterdam. Zones are loaded once and kept (a small cache);
 * the functions are safe to call from the event loop only.
 */
#ifndef VG_TZ_H
#define VG_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct vg_tz vg_tz_t;

/* The zone named name ("UTC", "Europe/Amsterdam"), loaded once and cached
 * for the life of the process (never freed by the caller). -ENOENT with a
 * message naming the zone when it does not exist; -EINVAL for a name that
 * is not a zone name (absolute, "..", control bytes) or a malformed file. */
int vg_tz_get(const char *name, const vg_tz_t **out, char *err, size_t errlen);

/* Seconds east of UTC in force at instant t (seconds since the epoch). */
int32_t vg_tz_offset(const vg_tz_t *tz, int64_t t);

/* Local wall-clock time at instant t. */
struct vg_tz_local {
    int year, month, day;     /* month 1..12, day 1..31 */
    int hour, minute, second;
    int weekday;              /* 0 = Monday .. 6 = Sunday */
    int32_t offset;           /* seconds east of UTC */
};
void vg_tz_to_local(const vg_tz_t *tz, int64_t t, struct vg_tz_local *out);

/* The instant at which the zone's clocks show the given wall-clock time.
 * A time skipped by a spring-forward gap maps to the instant the gap ends
 * (02:30 on a night 02:00 jumps to 03:00 gives 03:00); a time shown twice
 * (autumn) maps to its first occurrence. Fields may be out of range and
 * are normalised (day 32 is the 1st of the next month), so adding days to
 * a local date is adding to day. */
int64_t vg_tz_from_local(const vg_tz_t *tz, int year, int month, int day, int hour, int minute,
                         int second);

#endif

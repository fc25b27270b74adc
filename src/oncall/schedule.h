/*
 * schedule.h - who is on call when: the rotations, restrictions, overrides
 * and swaps of a Schedule object's spec, evaluated for an instant or a
 * range, and rendered as an iCalendar feed (RFC 5545).
 *
 * A Schedule spec (docs/oncall.md has the full form):
 *
 *   timezone: Europe/Amsterdam          the zone of every local time below
 *   layers:                             at any instant at most one applies
 *     - name: days
 *       people: [alice, bob]            Person names, in rotation order
 *       start: "2026-01-05T09:00"       local time of the first hand-off
 *       turn: 1w                        Nh, Nd or Nw (days and weeks keep
 *                                       the hand-off at the same local time
 *                                       across daylight saving)
 *       restrictions:                   optional: when the layer applies
 *         - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00"}
 *     - name: nights ... (a "to" before "from" runs past midnight;
 *                         "to" may be "24:00", the end of the day)
 *   overrides:                          optional, win over every layer
 *     - {person: carol, start: "2026-12-24T18:00", end: "2026-12-27T09:00"}
 *   swaps:                              optional: during [start, end) the
 *     - {from: alice, to: bob, start: ..., end: ...}   shifts of 'from'
 *                                                       are 'to''s
 *
 * Two layers that could apply at the same instant are refused (a schedule
 * must say plainly who is on call), as are overlapping overrides. Pure: no
 * clock, no I/O but the zone files (tz.h); all times are ms since the epoch.
 */
#ifndef VG_SCHEDULE_H
#define VG_SCHEDULE_H

#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/names.h"

/* Checks a Schedule spec (the Schema kind's check hook calls it). On a
 * fault returns -EINVAL, err names what is wrong and field the dotted path
 * ("spec.layers[1].restrictions[0].from"). */
int vg_schedule_check(const json_t *spec, char *err, size_t errlen, char *field,
                      size_t fieldlen);

/* One stretch of time with one person on call ("" when nobody is). */
struct vg_shift {
    int64_t start_ms, end_ms;        /* [start, end) */
    char person[VG_NAME_MAX + 1];
    char layer[VG_NAME_MAX + 1];     /* the layer, or "override" */
};

/* The shifts covering [from_ms, to_ms), in order, contiguous, adjacent
 * shifts of one person from one layer merged; gaps with nobody on call are
 * shifts with person "". *out is malloc'd (caller frees) and holds at most
 * max shifts (-E2BIG past that). spec must have passed vg_schedule_check. */
int vg_schedule_shifts(const json_t *spec, int64_t from_ms, int64_t to_ms, size_t max,
                       struct vg_shift **out, size_t *n, char *err, size_t errlen);

/* Who is on call at at_ms (person "" when nobody), and from and until
 * when; start_ms and end_ms are clipped to 31 days either side of at_ms. */
int vg_schedule_oncall(const json_t *spec, int64_t at_ms, struct vg_shift *out, char *err,
                       size_t errlen);

/* The shifts of [from_ms, to_ms) as an iCalendar feed for calendar apps:
 * one VEVENT per shift with someone on call, UTC times, a stable UID per
 * (schedule, start, person), CRLF lines folded at 75 octets, text escaped.
 * now_ms is the DTSTAMP. */
int vg_schedule_ics(const char *schedule_name, const json_t *spec, int64_t from_ms,
                    int64_t to_ms, int64_t now_ms, vg_buf_t *out, char *err, size_t errlen);

#endif

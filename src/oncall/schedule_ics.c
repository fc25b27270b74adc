/*
 * schedule_ics.c - a schedule's shifts as an iCalendar feed (RFC 5545) that
 * calendar apps subscribe to: one VEVENT per shift with someone on call.
 *
 * Times are written in UTC ("Z" form, section 3.3.5), so the feed needs no
 * VTIMEZONE and a calendar shows each shift in its reader's own zone. Text
 * values are escaped (section 3.3.11) and content lines folded at 75
 * octets, never inside a UTF-8 character (section 3.1); lines end in CRLF.
 * The UID is built from the schedule, the start and the person, so a
 * calendar that polls the feed updates events instead of duplicating them.
 */
#include "oncall/schedule_int.h"

#include "oncall/tz_int.h"

#define ICS_SHIFTS_MAX 4096
#define FOLD_OCTETS    75

/* Appends one content line, folded, with its CRLF. */
static void add_line(vg_buf_t *out, const char *line, size_t len)
{
    size_t used = 0, limit = FOLD_OCTETS;
    while (len - used > limit) {
        size_t cut = used + limit;
        while (cut > used && ((unsigned char)line[cut] & 0xc0) == 0x80)
            cut--; /* back to the start of the character */
        vg_buf_add(out, line + used, cut - used);
        vg_buf_add(out, "\r\n ", 3);
        used = cut;
        limit = FOLD_OCTETS - 1; /* the leading space counts */
    }
    vg_buf_add(out, line + used, len - used);
    vg_buf_add(out, "\r\n", 2);
}

static void add_linef(vg_buf_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_linef(vg_buf_t *out, const char *fmt, ...)
{
    vg_buf_t line = VG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    add_line(out, (const char *)line.data, line.len);
    vg_buf_release(&line);
}

/* TEXT escaping: backslash, semicolon, comma and newlines. */
static void add_text(vg_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == ';' || *s == ',')
            vg_buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            vg_buf_adds(b, "\\n");
        else if (*s != '\r')
            vg_buf_add(b, s, 1);
    }
}

/* 20261025T010000Z */
static void format_utc(char out[40], int64_t ms)
{
    int64_t t = vg_tz_floor_div(ms, 1000), days = vg_tz_floor_div(t, 86400);
    int64_t secs = t - days * 86400;
    int year, month, day;
    vg_tz_civil_from_days(days, &year, &month, &day);
    snprintf(out, 40, "%04d%02d%02dT%02d%02d%02dZ", year % 10000, month, day,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

static void add_event(vg_buf_t *out, const char *schedule, const struct vg_shift *shift,
                      const char *stamp)
{
    char start[40], end[40];
    vg_buf_t summary = VG_BUF_INIT, uid = VG_BUF_INIT;
    format_utc(start, shift->start_ms);
    format_utc(end, shift->end_ms);
    add_line(out, "BEGIN:VEVENT", 12);
    vg_buf_printf(&uid, "UID:%s-", start);
    add_text(&uid, shift->person);
    vg_buf_adds(&uid, "@");
    add_text(&uid, schedule);
    vg_buf_adds(&uid, ".schedule.vigil");
    add_line(out, (const char *)uid.data, uid.len);
    vg_buf_release(&uid);
    add_linef(out, "DTSTAMP:%s", stamp);
    add_linef(out, "DTSTART:%s", start);
    add_linef(out, "DTEND:%s", end);
    vg_buf_adds(&summary, "SUMMARY:On call: ");
    add_text(&summary, shift->person);
    vg_buf_adds(&summary, " (");
    add_text(&summary, schedule);
    vg_buf_adds(&summary, ")");
    add_line(out, (const char *)summary.data, summary.len);
    vg_buf_release(&summary);
    add_line(out, "END:VEVENT", 10);
}

int vg_schedule_ics(const char *schedule_name, const json_t *spec, int64_t from_ms,
                    int64_t to_ms, int64_t now_ms, vg_buf_t *out, char *err, size_t errlen)
{
    struct vg_shift *shifts = NULL;
    size_t n = 0;
    char stamp[40];
    vg_buf_t name = VG_BUF_INIT;
    int rc = vg_schedule_shifts(spec, from_ms, to_ms, ICS_SHIFTS_MAX, &shifts, &n, err, errlen);
    if (rc)
        return rc;
    format_utc(stamp, now_ms);
    add_line(out, "BEGIN:VCALENDAR", 15);
    add_line(out, "VERSION:2.0", 11);
    add_linef(out, "PRODID:-//vigil//on-call schedules %s//EN", VG_VERSION);
    add_line(out, "CALSCALE:GREGORIAN", 18);
    vg_buf_adds(&name, "X-WR-CALNAME:On call: ");
    add_text(&name, schedule_name);
    add_line(out, (const char *)name.data, name.len);
    vg_buf_release(&name);
    for (size_t i = 0; i < n; i++)
        if (shifts[i].person[0])
            add_event(out, schedule_name, &shifts[i], stamp);
    add_line(out, "END:VCALENDAR", 13);
    free(shifts);
    return 0;
}

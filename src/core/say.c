/*
 * say.c - leveled diagnostics on stderr. Lines carry a journald priority
 * prefix ("<3>") when stderr is the journal, a timestamp otherwise.
 * Every line is cleaned (core/text.h) so input quoted in it cannot forge
 * a line of its own.
 */
#include "say.h"

#include "core/text.h"

#include <time.h>
#include <unistd.h>

static enum vg_say_level min_level = VG_SAY_INFO;

void vg_say_set_level(enum vg_say_level lvl)
{
    min_level = lvl;
}

enum vg_say_level vg_say_level_of(const char *severity)
{
    if (!strcmp(severity, "critical"))
        return VG_SAY_ERROR;
    return !strcmp(severity, "warning") ? VG_SAY_WARN : VG_SAY_INFO;
}

void vg_say(enum vg_say_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    static const int prio[] = {7, 6, 4, 3};
    if (lvl < min_level)
        return;
    /* lines may quote what a client or a device sent: one line each, valid
     * UTF-8, cut on a character boundary, control bytes shown as \xNN */
    char raw[2048], line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof raw ? sizeof raw - 1 : (size_t)n;
    vg_text_clean(line, sizeof line, raw, len, 0);
    if (getenv("JOURNAL_STREAM")) {
        fprintf(stderr, "<%d>%s\n", prio[lvl], line);
        return;
    }
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
    fprintf(stderr, "%sZ %s %s\n", ts, names[lvl], line);
}

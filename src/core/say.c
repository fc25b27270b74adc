/*
 * say.c - leveled diagnostics on stderr. Lines carry a journald priority
 * prefix ("<3>") when stderr is the journal, a timestamp otherwise.
 */
#include "say.h"

#include <time.h>
#include <unistd.h>

static enum vg_say_level min_level = VG_SAY_INFO;

void vg_say_set_level(enum vg_say_level lvl)
{
    min_level = lvl;
}

void vg_say(enum vg_say_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    static const int prio[] = {7, 6, 4, 3};
    if (lvl < min_level)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
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

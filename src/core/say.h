/*
 * say.h - the daemon's diagnostic log (to stderr, which journald captures).
 *
 * Never pass secrets (keys, tokens, passwords) to these functions.
 */
#ifndef VG_SAY_H
#define VG_SAY_H

#include "vg.h"

enum vg_say_level { VG_SAY_DEBUG, VG_SAY_INFO, VG_SAY_WARN, VG_SAY_ERROR };

void vg_say_set_level(enum vg_say_level lvl);
void vg_say(enum vg_say_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The level an event of severity ("critical", "warning", else info) is
 * logged at, so that a cluster event and its log line agree. */
enum vg_say_level vg_say_level_of(const char *severity);

#define vg_debug(...) vg_say(VG_SAY_DEBUG, __VA_ARGS__)
#define vg_info(...) vg_say(VG_SAY_INFO, __VA_ARGS__)
#define vg_warn(...) vg_say(VG_SAY_WARN, __VA_ARGS__)
#define vg_error(...) vg_say(VG_SAY_ERROR, __VA_ARGS__)

#endif

/*
 * options.c - option values shared by vigild's subcommands: log levels and
 * bounded numbers, each refused with a message naming the flag.
 */
#include "vigild/vigild.h"

#include "core/say.h"

int vg_opt_log_level(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < (int)VG_ARRAY_LEN(names); i++) {
        if (!strcmp(s, names[i])) {
            vg_say_set_level((enum vg_say_level)i);
            return 0;
        }
    }
    fprintf(stderr, "vigild: unknown log level '%s' (debug, info, warn, error)\n", s);
    return 2;
}

int vg_opt_number(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || errno || v < min || v > max) {
        fprintf(stderr, "vigild: %s '%s' is not a number from %llu to %llu\n", flag, s,
                (unsigned long long)min, (unsigned long long)max);
        return 2;
    }
    *out = v;
    return 0;
}

/*
 * kind_silence.c - the Silence and MaintenanceWindow kinds: quiet periods.
 *
 * An incident a silence or a maintenance window covers is still opened,
 * recorded and resolved, but nobody is paged while it is covered; its
 * escalation goes on when the period ends (incidents service, engine.c).
 * A Silence matches by labels, site, zone, severity or key prefix; a
 * MaintenanceWindow covers a site, or some of its zones. Times are UTC.
 */
#include "schema/schema.h"

#include "core/names.h"
#include "core/timefmt.h"

#define PERIOD_MAX_MS (366LL * 86400 * 1000) /* a silence is not forever */

static const struct vg_field silence_fields[] = {
    {"starts", VG_F_STRING, 1, NULL, 0, 32, "start, UTC: 2026-12-08T08:00:00Z"},
    {"ends", VG_F_STRING, 1, NULL, 0, 32, "end, UTC, after start and at most 366 days later"},
    {"comment", VG_F_STRING, 1, NULL, 0, 512, "why: shown on the incidents it silences"},
    {"match", VG_F_OBJECT, 1, NULL, 0, 0,
     "what it silences, all given must hold: site, zone (names), severity (list), labels "
     "(object of strings), key_prefix (an incident key's start, e.g. rule/rack-hot/)"},
    {.name = NULL},
};

static const struct vg_field window_fields[] = {
    {"site", VG_F_NAME, 1, NULL, 0, 0, "the Site under maintenance"},
    {"zones", VG_F_STRING_LIST, 0, NULL, 0, 64, "only these zones of it (default: all)"},
    {"starts", VG_F_STRING, 1, NULL, 0, 32, "start, UTC: 2026-12-08T08:00:00Z"},
    {"ends", VG_F_STRING, 1, NULL, 0, 32, "end, UTC, after start and at most 366 days later"},
    {"comment", VG_F_STRING, 1, NULL, 0, 512, "what is being done: shown on the incidents"},
    {.name = NULL},
};

static int check_period(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    int64_t starts, ends;
    if (vg_time_parse_utc(json_string_value(json_object_get(spec, "starts")), &starts))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.starts",
                              "must be a UTC time like 2026-12-08T08:00:00Z");
    if (vg_time_parse_utc(json_string_value(json_object_get(spec, "ends")), &ends))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.ends",
                              "must be a UTC time like 2026-12-08T12:00:00Z");
    if (ends <= starts || ends - starts > PERIOD_MAX_MS)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.ends",
                              "must be after starts and at most 366 days later");
    return 0;
}

static int check_match(const json_t *m, char *err, size_t errlen, char *field, size_t fieldlen)
{
    static const char *const severities[] = {"critical", "error", "warning", "info", NULL};
    const char *k;
    json_t *v;
    char path[160], why[128];
    if (!json_object_size(m))
        return vg_schema_fail(
            err, errlen, field, fieldlen, "spec.match",
            "say what it silences: site, zone, severity, labels or key_prefix");
    json_object_foreach((json_t *)m, k, v)
    {
        snprintf(path, sizeof path, "spec.match.%.40s", k);
        if ((!strcmp(k, "site") || !strcmp(k, "zone")) &&
            (!json_is_string(v) || vg_name_check(json_string_value(v), why, sizeof why)))
            return vg_schema_fail(err, errlen, field, fieldlen, path, "must be an object name");
        else if (!strcmp(k, "key_prefix") &&
                 (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 300))
            return vg_schema_fail(err, errlen, field, fieldlen, path,
                                  "must be 1 to 300 characters");
        else if (!strcmp(k, "severity")) {
            size_t i, j;
            json_t *s;
            if (!json_is_array(v) || !json_array_size(v))
                return vg_schema_fail(err, errlen, field, fieldlen, path,
                                      "must be a list of critical, error, warning, info");
            json_array_foreach(v, i, s)
            {
                for (j = 0; severities[j] &&
                            (!json_is_string(s) || strcmp(severities[j], json_string_value(s)));
                     j++)
                    ;
                if (!severities[j])
                    return vg_schema_fail(err, errlen, field, fieldlen, path,
                                          "must be a list of critical, error, warning, info");
            }
        } else if (!strcmp(k, "labels")) {
            const char *lk;
            json_t *lv;
            if (!json_is_object(v) || !json_object_size(v))
                return vg_schema_fail(err, errlen, field, fieldlen, path,
                                      "must be an object of strings");
            json_object_foreach(v, lk, lv)
            {
                if (!json_is_string(lv))
                    return vg_schema_fail(err, errlen, field, fieldlen, path,
                                          "must be an object of strings");
            }
        } else if (strcmp(k, "site") && strcmp(k, "zone") && strcmp(k, "key_prefix"))
            return vg_schema_fail(err, errlen, field, fieldlen, path,
                                  "unknown: use site, zone, severity, labels or key_prefix");
    }
    return 0;
}

static int silence_check(const json_t *spec, char *err, size_t errlen, char *field,
                         size_t fieldlen)
{
    int rc = check_period(spec, err, errlen, field, fieldlen);
    return rc ? rc : check_match(json_object_get(spec, "match"), err, errlen, field, fieldlen);
}

const struct vg_kind vg_kind_silence = {
    "Silence",
    "a quiet period: incidents it matches are recorded and resolved, but nobody is paged "
    "until it ends",
    silence_fields,
    silence_check,
    NULL,
    NULL, /* no secrets in lists */
    NULL,
};

const struct vg_kind vg_kind_maintenance = {
    "MaintenanceWindow",
    "planned work at a site (or some of its zones): its incidents page nobody until it ends",
    window_fields,
    check_period,
    NULL,
    NULL, /* no secrets in lists */
    NULL,
};

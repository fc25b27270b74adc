/*
 * kind_site.c - the Site kind: one data centre building that vigil watches.
 *
 * vigil runs across two sites (DESIGN.md section 1); the Site object says
 * where each one is and what part it plays (primary, dr, witness), so that
 * pages, failover decisions and reports can name it. Zones refer to a Site
 * by name. Only the location is required: a site must be findable.
 *
 * The time zone is checked for the shape of an IANA name ("Europe/Brussels",
 * "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+1"), not against the tz
 * database: members may run different tzdata versions, and validation must
 * give the same answer on both (records are applied on every member).
 */
#include "schema/schema.h"

#define TZ_MAX_SEGMENTS    3
#define TZ_MAX_SEGMENT_LEN 30

static const char *const site_roles[] = {"primary", "dr", "witness", NULL};

static const struct vg_field site_fields[] = {
    {"location", VG_F_STRING, 1, NULL, 0, 128,
     "where the site is, for people: city and country or campus, e.g. \"Brussels, BE\""},
    {"address", VG_F_STRING, 0, NULL, 0, 512,
     "street address for couriers, auditors and emergency services"},
    {"timezone", VG_F_STRING, 0, NULL, 0, 64,
     "IANA time zone of the site, e.g. Europe/Brussels; schedules use it"},
    {"role", VG_F_ENUM, 0, site_roles, 0, 0,
     "part the site plays: primary (serves production), dr (disaster recovery) or witness"},
    {"tier", VG_F_INT, 0, NULL, 1, 4, "Uptime Institute tier of the facility, 1 to 4"},
    {"contacts", VG_F_STRING_LIST, 0, NULL, 0, 32,
     "people or addresses to reach at the site (facility desk, security guard)"},
    {.name = NULL}, /* end of table */
};

static int tz_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '+';
}

/* Segments separated by '/', each starting with an uppercase letter. */
static int timezone_shaped(const char *tz)
{
    int n_segments = 0;
    const char *segment = tz;
    for (;;) {
        const char *end = segment;
        while (tz_char(*end))
            end++;
        size_t len = (size_t)(end - segment);
        if (len == 0 || len > TZ_MAX_SEGMENT_LEN || !(*segment >= 'A' && *segment <= 'Z'))
            return 0;
        if (++n_segments > TZ_MAX_SEGMENTS)
            return 0;
        if (*end == '\0')
            return 1;
        if (*end != '/')
            return 0;
        segment = end + 1;
    }
}

static int site_check(const json_t *spec, char *err, size_t errlen, char *field,
                      size_t fieldlen)
{
    const char *tz = json_string_value(json_object_get(spec, "timezone"));
    if (!tz || timezone_shaped(tz))
        return 0;
    if (field && fieldlen)
        snprintf(field, fieldlen, "spec.timezone");
    return vg_err(err, errlen, -EINVAL,
                  "spec.timezone: not an IANA time zone name (like 'Europe/Brussels', "
                  "'America/New_York' or 'UTC')");
}

const struct vg_kind vg_kind_site = {
    "Site",      "a data centre site: where it is, the part it plays and who to call there",
    site_fields, site_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

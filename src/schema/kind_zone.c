/*
 * kind_zone.c - the Zone kind: one room or area inside a Site.
 *
 * Sensors, doors and cameras are placed in zones, and physical access is
 * granted per zone (DESIGN.md section 6): the type says what the room holds,
 * two_person_rule makes its doors open only for two authorised badges, and
 * ashrae_class is the thermal envelope the room is run to, which the default
 * temperature and humidity rules follow. The site is named, not embedded, so
 * a zone can be declared before or after its Site. plan places the zone on
 * its floor's drawn plan in the dashboard (plan.c).
 */
#include "schema/schema.h"

static const char *const zone_types[] = {
    "server-room",   "power-room", "battery-room", "generator",
    "cooling-plant", "office",     "loading-dock", "corridor",
    "meet-me-room",  "outdoor",    NULL,
};

static const char *const ashrae_classes[] = {"A1", "A2", "A3", "A4", NULL};

static const struct vg_field zone_fields[] = {
    {"site", VG_F_NAME, 1, NULL, 0, 0, "name of the Site the zone is in"},
    {"type", VG_F_ENUM, 0, zone_types, 0, 0,
     "what the zone holds; drives default monitoring rules and access policy"},
    {"floor", VG_F_INT, 0, NULL, -10, 200,
     "floor number: 0 is the ground floor, below 0 basements"},
    {"area_m2", VG_F_NUMBER, 0, NULL, 0, 1000000,
     "floor area in square metres, greater than 0"},
    {"two_person_rule", VG_F_BOOL, 0, NULL, 0, 0,
     "doors into the zone open only when two authorised badges are presented"},
    {"ashrae_class", VG_F_ENUM, 0, ashrae_classes, 0, 0,
     "ASHRAE thermal class the room is run to (A1 is the narrowest envelope)"},
    {"plan", VG_F_OBJECT, 0, NULL, 0, 0,
     "where the zone is drawn on its floor's plan: {x, y, w, h} in metres, x and y of its "
     "top-left corner from the plan's top-left, w and h its width and depth (greater than 0), "
     "each at most 10000; zones without a plan are shown as cards"},
    {.name = NULL}, /* end of table */
};

/* The table's range is inclusive; a zone of zero area (or size on its plan)
 * is a typo, not a room. */
static int zone_check(const json_t *spec, char *err, size_t errlen, char *field,
                      size_t fieldlen)
{
    const json_t *plan = json_object_get(spec, "plan");
    if (plan && vg_schema_check_plan(plan, "spec.plan", 1, err, errlen, field, fieldlen))
        return -EINVAL;
    const json_t *area = json_object_get(spec, "area_m2");
    if (!area || json_number_value(area) > 0)
        return 0;
    if (field && fieldlen)
        snprintf(field, fieldlen, "spec.area_m2");
    return vg_err(err, errlen, -EINVAL, "spec.area_m2: must be greater than 0");
}

const struct vg_kind vg_kind_zone = {
    "Zone",
    "a room or area of a site: sensors, doors and access rules are attached to zones",
    zone_fields,
    zone_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

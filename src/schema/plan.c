/*
 * plan.c - the floor-plan geometry shared by Zone (spec.plan) and Sensor
 * (spec.position) (schema.h). Only shape and range are checked here: a
 * zone's floor and a sensor's zone may be declared in any order, so
 * whether a sensor lies inside its zone is the dashboard's to draw (it
 * keeps the dot on the zone's edge), not a reason to refuse a manifest.
 */
#include "schema/schema.h"

const struct vg_field vg_plan_rect_fields[] = {
    {"x", VG_F_NUMBER, 1, NULL, 0, VG_PLAN_MAX_M, "metres from the plan's left edge"},
    {"y", VG_F_NUMBER, 1, NULL, 0, VG_PLAN_MAX_M, "metres from the plan's top edge"},
    {"w", VG_F_NUMBER, 1, NULL, 0, VG_PLAN_MAX_M, "width in metres, greater than 0"},
    {"h", VG_F_NUMBER, 1, NULL, 0, VG_PLAN_MAX_M, "depth in metres, greater than 0"},
    {.name = NULL},
};

const struct vg_field vg_plan_point_fields[] = {
    {"x", VG_F_NUMBER, 1, NULL, 0, VG_PLAN_MAX_M, "metres from the zone's left edge"},
    {"y", VG_F_NUMBER, 1, NULL, 0, VG_PLAN_MAX_M, "metres from the zone's top edge"},
    {.name = NULL},
};

int vg_schema_check_plan(const json_t *obj, const char *path, int with_size, char *err,
                         size_t errlen, char *field, size_t fieldlen)
{
    int rc = vg_schema_check_fields(with_size ? vg_plan_rect_fields : vg_plan_point_fields, obj,
                                    path, err, errlen, field, fieldlen);
    if (rc || !with_size)
        return rc;
    static const char *const sizes[] = {"w", "h"};
    for (size_t i = 0; i < 2; i++)
        if (json_number_value(json_object_get(obj, sizes[i])) <= 0) {
            char sub[VG_SCHEMA_PATH_MAX];
            vg_schema_path(sub, sizeof sub, "%s.%s", path, sizes[i]);
            return vg_schema_fail(err, errlen, field, fieldlen, sub, "must be greater than 0");
        }
    return 0;
}

/*
 * kind_team.c - the Team kind: the people who share a duty, and the
 * Schedule that says which of them is on call. Members and schedule are
 * names only (objects may be applied in any order); the manifest's own
 * description says what the team does.
 */
#include "schema/schema.h"

#include "core/names.h"

static const struct vg_field team_fields[] = {
    {"members", VG_F_STRING_LIST, 1, NULL, 0, 256, "names of the Persons in the team"},
    {"schedule", VG_F_NAME, 0, NULL, 0, 0, "name of the Schedule of the team's on-call duty"},
    {.name = NULL},
};

static int team_check(const json_t *spec, char *err, size_t errlen, char *field,
                      size_t fieldlen)
{
    const json_t *members = json_object_get(spec, "members");
    char path[VG_SCHEMA_PATH_MAX], why[256];
    if (json_array_size(members) == 0)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.members",
                              "must name at least one Person");
    for (size_t i = 0; i < json_array_size(members); i++) {
        if (!vg_name_check(json_string_value(json_array_get(members, i)), why, sizeof why))
            continue;
        vg_schema_path(path, sizeof path, "spec.members[%zu]", i);
        return vg_schema_fail(err, errlen, field, fieldlen, path, "%s", why);
    }
    return 0;
}

const struct vg_kind vg_kind_team = {
    "Team",      "people who share a duty, and the Schedule that says who of them is on call",
    team_fields, team_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

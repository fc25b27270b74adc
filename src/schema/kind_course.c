/*
 * kind_course.c - the Course kind: a training course some staff must
 * complete again every renewal_days (security awareness, badge policy,
 * battery-room safety). Who must take it is named, not embedded: people
 * and teams are Person and Team names, and all: true means everyone. The
 * status of each person is computed by src/training/training.c; an overdue
 * course opens a warning incident for the person's manager (incidents
 * service). The course's own text goes in the manifest's description.
 */
#include "schema/schema.h"

#include "core/names.h"

#define TITLE_MAX         200
#define REQUIRED_LIST_MAX 1024 /* people or teams one course names */

static const struct vg_field course_fields[] = {
    {"title", VG_F_STRING, 1, NULL, 0, TITLE_MAX, "the course's title as people know it"},
    {"renewal_days", VG_F_INT, 1, NULL, 1, 3650,
     "a completion counts for this many days; then the course is due again"},
    {"grace_days", VG_F_INT, 0, NULL, 0, 365,
     "days after the due date before the course is overdue (default 0)"},
    {"required_for", VG_F_OBJECT, 1, NULL, 0, 0,
     "who must take it: {people: [PERSON...], teams: [TEAM...], all: true}, at least one"},
    {.name = NULL},
};

/* A list of names (Person or Team); *n_names gets its length. */
static int check_names(const json_t *list, const char *path, const char *what, size_t *n_names,
                       char *err, size_t errlen, char *field, size_t fieldlen)
{
    char msg[320];
    if (!json_is_array(list))
        return vg_schema_fail(err, errlen, field, fieldlen, path, "expected a list of names");
    if (json_array_size(list) > REQUIRED_LIST_MAX) {
        snprintf(msg, sizeof msg, "%zu names, at most %d allowed", json_array_size(list),
                 REQUIRED_LIST_MAX);
        return vg_schema_fail(err, errlen, field, fieldlen, path, "%s", msg);
    }
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        char item[96], why[256];
        snprintf(item, sizeof item, "%s[%zu]", path, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(msg, sizeof msg, "expected the name of a %s", what);
            return vg_schema_fail(err, errlen, field, fieldlen, item, "%s", msg);
        }
        if (vg_name_check(json_string_value(v), why, sizeof why))
            return vg_schema_fail(err, errlen, field, fieldlen, item, "%s", why);
    }
    *n_names = json_array_size(list);
    return 0;
}

static int course_check(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    const json_t *req = json_object_get(spec, "required_for");
    const char *path = "spec.required_for";
    if (!json_is_object(req))
        return vg_schema_fail(err, errlen, field, fieldlen, path,
                              "expected {people, teams, all}");
    const char *key;
    const json_t *v;
    size_t n_people = 0, n_teams = 0;
    json_object_foreach((json_t *)req, key, v)
    {
        int rc = 0;
        if (strcmp(key, "people") == 0)
            rc = check_names(v, "spec.required_for.people", "Person", &n_people, err, errlen,
                             field, fieldlen);
        else if (strcmp(key, "teams") == 0)
            rc = check_names(v, "spec.required_for.teams", "Team", &n_teams, err, errlen, field,
                             fieldlen);
        else if (strcmp(key, "all") == 0 && !json_is_boolean(v))
            rc = vg_schema_fail(err, errlen, field, fieldlen, "spec.required_for.all",
                                "expected boolean");
        else if (strcmp(key, "all") != 0)
            rc = vg_schema_fail(err, errlen, field, fieldlen, path,
                                "unknown field (people, teams, all)");
        if (rc)
            return rc;
    }
    if (!n_people && !n_teams && !json_is_true(json_object_get(req, "all")))
        return vg_schema_fail(err, errlen, field, fieldlen, path,
                              "names nobody: give people, teams or all: true");
    return 0;
}

const struct vg_kind vg_kind_course = {
    "Course",
    "a training course that people (named, by team, or all) must complete every renewal_days",
    course_fields,
    course_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

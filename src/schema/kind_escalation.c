/*
 * kind_escalation.c - the EscalationPolicy kind: whom an incident pages,
 * in which order, and how long each step waits before the next.
 *
 * match picks the incidents the policy is for (by severity, site and
 * labels; a policy without match takes any). Each step notifies people,
 * teams, schedules (whoever is on call then) or outside contacts, each
 * target naming exactly one of them, and the engine of the incidents
 * service moves on after wait_minutes if nobody acknowledged; repeat runs
 * the steps again that many times. A step that names nobody is refused:
 * an escalation that pages no one must not look as if it does.
 */
#include "schema/schema.h"

#include "core/names.h"

static const char *const severities[] = {"critical", "error", "warning", "info", NULL};

static const struct vg_field policy_fields[] = {
    {"match", VG_F_OBJECT, 0, NULL, 0, 0,
     "which incidents: {severity: [critical|error|warning|info], site, labels}; none: all"},
    {"steps", VG_F_LIST, 1, NULL, 0, 16,
     "list of {notify: [{person|team|schedule|contact: name}], wait_minutes: 0..1440}"},
    {"repeat", VG_F_INT, 0, NULL, 0, 10,
     "times the steps run again after the last (default 0)"},
    {.name = NULL},
};

static const struct vg_field match_fields[] = {
    {"severity", VG_F_STRING_LIST, 0, NULL, 0, 4, "severities the policy is for"},
    {"site", VG_F_NAME, 0, NULL, 0, 0, "name of the Site the policy is for"},
    {"labels", VG_F_OBJECT, 0, NULL, 0, 0, "labels the incident must carry, all of them"},
    {.name = NULL},
};

static const struct vg_field step_fields[] = {
    {"notify", VG_F_LIST, 1, NULL, 0, 16, "whom the step pages"},
    {"wait_minutes", VG_F_INT, 0, NULL, 0, 1440,
     "minutes without an acknowledgement before the next step (default 0)"},
    {.name = NULL},
};

static const struct vg_field target_fields[] = {
    {"person", VG_F_NAME, 0, NULL, 0, 0, "a Person"},
    {"team", VG_F_NAME, 0, NULL, 0, 0, "a Team: its schedule's person on call"},
    {"schedule", VG_F_NAME, 0, NULL, 0, 0, "a Schedule: the person on call"},
    {"contact", VG_F_NAME, 0, NULL, 0, 0, "a Contact outside the team"},
    {.name = NULL},
};

static int check_match_labels(const json_t *labels, char *err, size_t errlen, char *field,
                              size_t fieldlen)
{
    const char *key;
    const json_t *value;
    char path[VG_SCHEMA_PATH_MAX], why[256];
    json_object_foreach((json_t *)labels, key, value)
    {
        vg_schema_path(path, sizeof path, "spec.match.labels");
        if (vg_label_key_check(key, why, sizeof why))
            return vg_schema_fail(err, errlen, field, fieldlen, path, "%s", why);
        vg_schema_path(path, sizeof path, "spec.match.labels.%s", key);
        if (!json_is_string(value) ||
            vg_label_value_check(json_string_value(value), why, sizeof why))
            return vg_schema_fail(err, errlen, field, fieldlen, path, "%s",
                                  json_is_string(value) ? why : "expected a string");
    }
    return 0;
}

static int check_match(const json_t *match, char *err, size_t errlen, char *field,
                       size_t fieldlen)
{
    char path[VG_SCHEMA_PATH_MAX];
    int rc =
        vg_schema_check_fields(match_fields, match, "spec.match", err, errlen, field, fieldlen);
    if (rc)
        return rc;
    const json_t *severity = json_object_get(match, "severity");
    for (size_t i = 0; i < json_array_size(severity); i++) {
        const char *s = json_string_value(json_array_get(severity, i));
        size_t k = 0;
        while (severities[k] && strcmp(severities[k], s) != 0)
            k++;
        vg_schema_path(path, sizeof path, "spec.match.severity[%zu]", i);
        if (!severities[k])
            return vg_schema_fail(err, errlen, field, fieldlen, path,
                                  "expected one of critical, error, warning, info");
    }
    const json_t *labels = json_object_get(match, "labels");
    return labels ? check_match_labels(labels, err, errlen, field, fieldlen) : 0;
}

static int check_target(const json_t *target, const char *path, char *err, size_t errlen,
                        char *field, size_t fieldlen)
{
    int rc = vg_schema_check_fields(target_fields, target, path, err, errlen, field, fieldlen);
    size_t n_named = 0;
    for (const struct vg_field *f = target_fields; !rc && f->name; f++)
        n_named += json_is_string(json_object_get(target, f->name));
    if (!rc && n_named != 1)
        rc = vg_schema_fail(err, errlen, field, fieldlen, path,
                            "%s: give exactly one of person, team, schedule or contact",
                            n_named ? "names more than one target" : "names nobody");
    return rc;
}

static int check_step(const json_t *step, const char *path, char *err, size_t errlen,
                      char *field, size_t fieldlen)
{
    char sub[VG_SCHEMA_PATH_MAX];
    int rc = vg_schema_check_fields(step_fields, step, path, err, errlen, field, fieldlen);
    const json_t *notify = json_object_get(step, "notify");
    vg_schema_path(sub, sizeof sub, "%s.notify", path);
    if (!rc && json_array_size(notify) == 0)
        rc = vg_schema_fail(err, errlen, field, fieldlen, sub,
                            "the step names nobody: list at least one person, team, schedule "
                            "or contact");
    for (size_t i = 0; !rc && i < json_array_size(notify); i++) {
        vg_schema_path(sub, sizeof sub, "%s.notify[%zu]", path, i);
        rc = check_target(json_array_get(notify, i), sub, err, errlen, field, fieldlen);
    }
    return rc;
}

static int policy_check(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    const json_t *match = json_object_get(spec, "match");
    const json_t *steps = json_object_get(spec, "steps");
    char path[VG_SCHEMA_PATH_MAX];
    int rc = match ? check_match(match, err, errlen, field, fieldlen) : 0;
    if (!rc && json_array_size(steps) == 0)
        rc = vg_schema_fail(err, errlen, field, fieldlen, "spec.steps",
                            "must hold at least one step");
    for (size_t i = 0; !rc && i < json_array_size(steps); i++) {
        vg_schema_path(path, sizeof path, "spec.steps[%zu]", i);
        rc = check_step(json_array_get(steps, i), path, err, errlen, field, fieldlen);
    }
    return rc;
}

const struct vg_kind vg_kind_escalation_policy = {
    "EscalationPolicy",
    "whom an incident pages, step by step, until someone acknowledges it",
    policy_fields,
    policy_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

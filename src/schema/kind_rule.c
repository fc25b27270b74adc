/*
 * kind_rule.c - the Rule kind: one alert rule of the rule engine
 * (src/rules, DESIGN.md section 4), beyond the built-in packs.
 *
 * A rule watches one sensor (spec.sensor), every sensor a match selects
 * (spec.match {type, zone, site}: one instance per sensor), or is a
 * composite of other rules (spec.all / spec.any). It has exactly one
 * condition: a band (above / below, with optional critical_above /
 * critical_below and hysteresis clear_below / clear_above), equals (for
 * state sensors), rate_per_min over window_s, predict {threshold,
 * within_s, window_s, falling} or fuel {burn_lph_full, tank_litres,
 * idle_fraction, load_sensor, below_hours, critical_hours}. Mixing
 * conditions, or a clear level on the unsafe side of its raise level, is
 * refused here with the field named, so the engine never has to guess.
 */
#include "schema/schema.h"

#include <math.h>

#include "core/names.h"
#include "rules/rules.h"
#include "sense/stype.h"

static const char *const severities[] = {"warning", "critical", "info", NULL};

static const struct vg_field rule_fields[] = {
    {"sensor", VG_F_NAME, 0, NULL, 0, 0, "name of the Sensor the rule watches"},
    {"match", VG_F_OBJECT, 0, NULL, 0, 0,
     "{type, zone, site}: applies to every matching sensor, one instance each"},
    {"severity", VG_F_ENUM, 0, severities, 0, 0,
     "warning (default), critical, or info (a part of composites that never alerts)"},
    {"above", VG_F_NUMBER, 0, NULL, 0, 0, "raise when the value is above this"},
    {"below", VG_F_NUMBER, 0, NULL, 0, 0, "raise when the value is below this"},
    {"critical_above", VG_F_NUMBER, 0, NULL, 0, 0, "escalate to critical above this"},
    {"critical_below", VG_F_NUMBER, 0, NULL, 0, 0, "escalate to critical below this"},
    {"clear_below", VG_F_NUMBER, 0, NULL, 0, 0,
     "an above-rule clears only below this (default: above)"},
    {"clear_above", VG_F_NUMBER, 0, NULL, 0, 0,
     "a below-rule clears only above this (default: below)"},
    {"equals", VG_F_NUMBER, 0, NULL, 0, 0, "raise when a state sensor has this value"},
    {"hold_s", VG_F_INT, 0, NULL, 0, 86400,
     "the condition must last this long before the rule raises (default 0)"},
    {"rate_per_min", VG_F_NUMBER, 0, NULL, 0, 0,
     "raise when the value changes this much per minute (negative: falling)"},
    {"window_s", VG_F_INT, 0, NULL, 10, 86400,
     "rate_per_min: the window of the slope (default 300)"},
    {"predict", VG_F_OBJECT, 0, NULL, 0, 0,
     "{threshold, within_s, window_s, falling}: raise when the trend reaches threshold "
     "within_s"},
    {"fuel", VG_F_OBJECT, 0, NULL, 0, 0,
     "{burn_lph_full, tank_litres, idle_fraction, load_sensor, below_hours, critical_hours}"},
    {"depends_on", VG_F_STRING_LIST, 0, NULL, 0, 32,
     "names of rules that suppress this one while they fire"},
    {"all", VG_F_STRING_LIST, 0, NULL, 0, 32, "composite: fires while all of these rules fire"},
    {"any", VG_F_STRING_LIST, 0, NULL, 0, 32,
     "composite: fires while any of these rules fires"},
    {"message", VG_F_STRING, 0, NULL, 0, 256,
     "text of the alert; {rule} {sensor} {device} {zone} {site} {value} {predicted}"},
    {.name = NULL}, /* end of table */
};

static const json_t *get(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* ---- nested objects: match, predict, fuel ---- */

enum sub_type { SUB_NUMBER, SUB_POSITIVE, SUB_FRACTION, SUB_NAME, SUB_BOOL, SUB_STYPE };

struct sub_field {
    const char *key;
    enum sub_type type;
    int required;
};

static int check_sub_value(const struct vg_report *r, const char *path, const json_t *v,
                           enum sub_type type)
{
    char why[256];
    switch (type) {
    case SUB_BOOL:
        return json_is_boolean(v) ? 0 : vg_report_fail(r, path, "expected boolean");
    case SUB_NAME:
    case SUB_STYPE:
        if (!json_is_string(v))
            return vg_report_fail(r, path, "expected string");
        if (type == SUB_STYPE && vg_stype_lookup(json_string_value(v)) < 0)
            return vg_report_fail(r, path, "not a sensor type (see `vigil explain Sensor`)");
        if (type == SUB_NAME && vg_name_check(json_string_value(v), why, sizeof why))
            return vg_report_fail(r, path, "%s", why);
        return 0;
    default:
        break;
    }
    if (!json_is_number(v))
        return vg_report_fail(r, path, "expected number");
    double x = json_number_value(v);
    if (type == SUB_POSITIVE && !(x > 0))
        return vg_report_fail(r, path, "must be greater than 0");
    if (type == SUB_FRACTION && !(x >= 0 && x <= 1))
        return vg_report_fail(r, path, "must be between 0 and 1");
    return 0;
}

static int check_sub(const struct vg_report *r, const char *name, const json_t *obj,
                     const struct sub_field *fields, size_t n_fields)
{
    char path[128], allowed[256] = "";
    for (size_t i = 0, used = 0; i < n_fields; i++)
        used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "",
                                 fields[i].key);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < n_fields && strcmp(fields[i].key, key) != 0)
            i++;
        snprintf(path, sizeof path, "spec.%s.%.32s", name, key);
        if (i == n_fields)
            return vg_report_fail(r, path, "unknown field (%s)", allowed);
        int rc = check_sub_value(r, path, v, fields[i].type);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n_fields; i++) {
        snprintf(path, sizeof path, "spec.%s.%s", name, fields[i].key);
        if (fields[i].required && !get(obj, fields[i].key))
            return vg_report_fail(r, path, "required");
    }
    return 0;
}

static int check_match(const struct vg_report *r, const json_t *match)
{
    static const struct sub_field fields[] = {
        {"type", SUB_STYPE, 0}, {"zone", SUB_NAME, 0}, {"site", SUB_NAME, 0}};
    if (json_object_size(match) == 0)
        return vg_report_fail(r, "spec.match", "give at least one of type, zone, site");
    return check_sub(r, "match", match, fields, VG_ARRAY_LEN(fields));
}

static int check_predict(const struct vg_report *r, const json_t *predict)
{
    static const struct sub_field fields[] = {{"threshold", SUB_NUMBER, 1},
                                              {"within_s", SUB_POSITIVE, 1},
                                              {"window_s", SUB_POSITIVE, 0},
                                              {"falling", SUB_BOOL, 0}};
    int rc = check_sub(r, "predict", predict, fields, VG_ARRAY_LEN(fields));
    const json_t *window = get(predict, "window_s");
    /* short windows suit fast sensors (and the simulator run faster than time) */
    if (!rc && window && (json_number_value(window) < 10 || json_number_value(window) > 86400))
        return vg_report_fail(r, "spec.predict.window_s", "must be 10 to 86400 seconds");
    return rc;
}

static int check_fuel(const struct vg_report *r, const json_t *fuel)
{
    static const struct sub_field fields[] = {
        {"burn_lph_full", SUB_POSITIVE, 1}, {"tank_litres", SUB_POSITIVE, 0},
        {"idle_fraction", SUB_FRACTION, 0}, {"load_sensor", SUB_NAME, 0},
        {"below_hours", SUB_POSITIVE, 1},   {"critical_hours", SUB_POSITIVE, 0}};
    int rc = check_sub(r, "fuel", fuel, fields, VG_ARRAY_LEN(fields));
    const json_t *crit = get(fuel, "critical_hours");
    if (!rc && crit && json_number_value(crit) >= json_number_value(get(fuel, "below_hours")))
        return vg_report_fail(r, "spec.fuel.critical_hours",
                              "must be less than spec.fuel.below_hours");
    return rc;
}

/* ---- the condition ---- */

static const char *const band_keys[] = {
    "above", "below", "critical_above", "critical_below", "clear_below", "clear_above", NULL};

/* The groups of fields that make a condition; a rule has exactly one. */
static const struct {
    const char *name;
    const char *const *keys;
} conditions[] = {
    {"above/below", band_keys},
    {"equals", (const char *const[]){"equals", NULL}},
    {"rate_per_min", (const char *const[]){"rate_per_min", "window_s", NULL}},
    {"predict", (const char *const[]){"predict", NULL}},
    {"fuel", (const char *const[]){"fuel", NULL}},
    {"all/any", (const char *const[]){"all", "any", NULL}},
};

/* Index of the one condition group, or -1 after failing. */
static int condition_of(const struct vg_report *r, const json_t *spec)
{
    int found = -1;
    for (size_t g = 0; g < VG_ARRAY_LEN(conditions); g++)
        for (const char *const *k = conditions[g].keys; *k; k++) {
            if (!get(spec, *k))
                continue;
            char path[64];
            snprintf(path, sizeof path, "spec.%s", *k);
            if (found >= 0 && found != (int)g)
                return vg_report_fail(r, path, "a rule has one condition; %s is already given",
                                      conditions[found].name),
                       -1;
            found = (int)g;
        }
    if (found < 0)
        vg_report_fail(r, "spec",
                       "no condition: give above/below, equals, rate_per_min, predict, fuel "
                       "or all/any");
    return found;
}

static double num(const json_t *spec, const char *key)
{
    const json_t *v = get(spec, key);
    return v ? json_number_value(v) : NAN;
}

/* Each level pairs with the one it refines; clear must be on the safe side. */
static int check_band(const struct vg_report *r, const json_t *spec)
{
    double above = num(spec, "above"), below = num(spec, "below");
    double crit_above = num(spec, "critical_above"), crit_below = num(spec, "critical_below");
    double clear_below = num(spec, "clear_below"), clear_above = num(spec, "clear_above");
    if (isnan(above) && isnan(below))
        return vg_report_fail(r, "spec.above", "required (or below) with %s",
                              !isnan(crit_above)    ? "critical_above"
                              : !isnan(crit_below)  ? "critical_below"
                              : !isnan(clear_below) ? "clear_below"
                                                    : "clear_above");
    if (!isnan(clear_below) && isnan(above))
        return vg_report_fail(r, "spec.clear_below", "only with above");
    if (!isnan(clear_below) && clear_below > above)
        return vg_report_fail(
            r, "spec.clear_below",
            "%.15g is above spec.above %.15g: an above-rule must clear below where it "
            "raises",
            clear_below, above);
    if (!isnan(clear_above) && isnan(below))
        return vg_report_fail(r, "spec.clear_above", "only with below");
    if (!isnan(clear_above) && clear_above < below)
        return vg_report_fail(
            r, "spec.clear_above",
            "%.15g is below spec.below %.15g: a below-rule must clear above where it "
            "raises",
            clear_above, below);
    if (!isnan(crit_above) && !(crit_above > above))
        return vg_report_fail(r, "spec.critical_above",
                              "needs above, and must be greater than it");
    if (!isnan(crit_below) && !(crit_below < below))
        return vg_report_fail(r, "spec.critical_below",
                              "needs below, and must be less than it");
    if (!isnan(above) && !isnan(below)) {
        double lo = isnan(clear_above) ? below : clear_above;
        double hi = isnan(clear_below) ? above : clear_below;
        if (!(lo < hi))
            return vg_report_fail(r, "spec.below", "the band between below and above is empty");
    }
    return 0;
}

static int check_condition(const struct vg_report *r, const json_t *spec, int group)
{
    switch (group) {
    case 0:
        return check_band(r, spec);
    case 2:
        if (!get(spec, "rate_per_min"))
            return vg_report_fail(r, "spec.window_s", "only with rate_per_min");
        if (num(spec, "rate_per_min") == 0)
            return vg_report_fail(r, "spec.rate_per_min", "must not be 0");
        return 0;
    case 3:
        return check_predict(r, get(spec, "predict"));
    case 4:
        return check_fuel(r, get(spec, "fuel"));
    case 5:
        if (get(spec, "all") && get(spec, "any"))
            return vg_report_fail(r, "spec.any", "a composite is all or any, not both");
        if (!json_array_size(get(spec, "all") ? get(spec, "all") : get(spec, "any")))
            return vg_report_fail(r, get(spec, "all") ? "spec.all" : "spec.any",
                                  "names no rule");
        return 0;
    }
    return 0;
}

static int check_names(const struct vg_report *r, const json_t *spec, const char *key)
{
    size_t i;
    const json_t *item;
    json_array_foreach(get(spec, key), i, item)
    {
        char why[256], path[64];
        snprintf(path, sizeof path, "spec.%s[%zu]", key, i);
        if (vg_name_check(json_string_value(item), why, sizeof why))
            return vg_report_fail(r, path, "%s", why);
    }
    return 0;
}

/* What the rule watches: a composite watches rules, the others a sensor or a match. */
static int check_target(const struct vg_report *r, const json_t *spec, int composite)
{
    const json_t *sensor = get(spec, "sensor"), *match = get(spec, "match");
    if (composite && (sensor || match))
        return vg_report_fail(
            r, sensor ? "spec.sensor" : "spec.match",
            "a composite (all/any) is built from rules and watches no sensor");
    if (composite)
        return 0;
    if (sensor && match)
        return vg_report_fail(r, "spec.match", "give sensor or match, not both");
    if (!sensor && !match)
        return vg_report_fail(r, "spec.sensor",
                              "required (or match): the sensor the rule watches");
    return match ? check_match(r, match) : 0;
}

static int rule_check(const json_t *spec, char *err, size_t errlen, char *field,
                      size_t fieldlen)
{
    const struct vg_report r = {err, errlen, field, fieldlen};
    int group = condition_of(&r, spec);
    if (group < 0)
        return -EINVAL;
    int rc = check_target(&r, spec, group == 5);
    if (!rc)
        rc = check_condition(&r, spec, group);
    static const char *const lists[] = {"depends_on", "all", "any"};
    for (size_t i = 0; !rc && i < VG_ARRAY_LEN(lists); i++)
        rc = check_names(&r, spec, lists[i]);
    const json_t *message = get(spec, "message");
    char why[256];
    if (!rc && message && vg_rules_message_check(json_string_value(message), why, sizeof why))
        rc = vg_report_fail(&r, "spec.message", "%s", why);
    return rc;
}

const struct vg_kind vg_kind_rule = {
    "Rule",
    "an alert rule on sensors (threshold, rate, prediction, fuel) or a composite of rules",
    rule_fields,
    rule_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

/*
 * kind_failover_policy.c - the FailoverPolicy kind: which facility
 * conditions at the primary's site make vigil move the primary role to the
 * other site by a planned switchover (the protect service, docs/protect.md).
 *
 * Every field is optional: a policy that leaves one out gets the default a
 * datacentre team would choose (said in each help line), so `kind:
 * FailoverPolicy, name: default, spec: {}` turns the protection on. The
 * conditions are read from the built-in rule packs' alerts; the numbers
 * here can only narrow what those alerts already say (docs/protect.md).
 */
#include "schema/schema.h"

#include "core/names.h"

static const struct vg_field policy_fields[] = {
    {"enabled", VG_F_BOOL, 0, NULL, 0, 0,
     "false keeps the policy without acting on it (default true)"},
    {"sites", VG_F_STRING_LIST, 0, NULL, 0, 64,
     "the primary sites the policy covers (default: every site)"},
    {"hold_s", VG_F_INT, 0, NULL, 0, 3600,
     "seconds a condition must hold without a break before vigil acts (default 30)"},
    {"cooldown_s", VG_F_INT, 0, NULL, 0, 604800,
     "seconds after a switchover or failover during which no automatic switchover happens "
     "(default 3600); after it an operator decides about moving back"},
    {"fire", VG_F_BOOL, 0, NULL, 0, 0,
     "act on a confirmed fire: a smoke detector with VESDA at action or fire level, or gas "
     "suppression discharged (default true)"},
    {"water", VG_F_BOOL, 0, NULL, 0, 0,
     "act on water detected in a server room (default true)"},
    {"power", VG_F_BOOL, 0, NULL, 0, 0,
     "act on mains lost with the generator not running or low on fuel (default true)"},
    {"fuel_below_hours", VG_F_NUMBER, 0, NULL, 0, 168,
     "with mains lost, act when the generator's fuel lasts less than this (default 4)"},
    {"ups", VG_F_BOOL, 0, NULL, 0, 0,
     "act on a UPS on battery with little runtime left (default true)"},
    {"ups_below_minutes", VG_F_NUMBER, 0, NULL, 0, 240,
     "act when a UPS on battery has less runtime than this (default 10)"},
    {"heat", VG_F_BOOL, 0, NULL, 0, 0,
     "act when an inlet temperature is forecast to pass the ASHRAE allowable maximum, or "
     "has passed it (default true)"},
    {"heat_within_minutes", VG_F_NUMBER, 0, NULL, 0, 240,
     "act when the forecast says the allowable maximum is reached within this (default 15)"},
    {"mirror_ignore_rules", VG_F_STRING_LIST, 0, NULL, 0, 64,
     "rules whose critical alerts at the mirror's site do not block a switchover (default: "
     "door-forced)"},
    {"drill_every_days", VG_F_NUMBER, 0, NULL, 0, 3650,
     "a DR drill must have passed within this many days, or an incident 'DR drill overdue' "
     "opens (default: no schedule; fractions allowed, e.g. 91 for quarterly)"},
    {"member_sites", VG_F_OBJECT, 0, NULL, 0, 0,
     "the site of each cluster member, {member: site}, when members are not named after "
     "their sites and there are more than two Sites"},
    {.name = NULL}, /* end of table */
};

static int check_names(const json_t *list, const char *what, char *err, size_t errlen,
                       char *field, size_t fieldlen)
{
    char path[VG_SCHEMA_PATH_MAX], why[256];
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (!vg_name_check(json_string_value(json_array_get(list, i)), why, sizeof why))
            continue;
        vg_schema_path(path, sizeof path, "spec.%s[%zu]", what, i);
        return vg_schema_fail(err, errlen, field, fieldlen, path, "%s", why);
    }
    return 0;
}

static int policy_check(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    int rc = check_names(json_object_get(spec, "sites"), "sites", err, errlen, field, fieldlen);
    if (!rc)
        rc = check_names(json_object_get(spec, "mirror_ignore_rules"), "mirror_ignore_rules",
                         err, errlen, field, fieldlen);
    if (rc)
        return rc;
    const char *member;
    json_t *site;
    char path[VG_SCHEMA_PATH_MAX], why[256];
    json_object_foreach((json_t *)json_object_get(spec, "member_sites"), member, site)
    {
        vg_schema_path(path, sizeof path, "spec.member_sites");
        if (vg_name_check(member, why, sizeof why))
            return vg_schema_fail(err, errlen, field, fieldlen, path, "member: %s", why);
        vg_schema_path(path, sizeof path, "spec.member_sites.%s", member);
        if (!json_is_string(site))
            return vg_schema_fail(err, errlen, field, fieldlen, path,
                                  "expected the name of a Site");
        if (vg_name_check(json_string_value(site), why, sizeof why))
            return vg_schema_fail(err, errlen, field, fieldlen, path, "%s", why);
    }
    return 0;
}

const struct vg_kind vg_kind_failover_policy = {
    "FailoverPolicy",
    "which facility conditions at the primary's site move the primary role to the other "
    "site by a planned switchover, with the guard rails around it",
    policy_fields,
    policy_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

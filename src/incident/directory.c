/*
 * directory.c - the on-call objects as the engine reads them: people,
 * teams, schedules, escalation policies and outside contacts by name, and
 * where each sensor is (its zone and site) for routing. Rebuilt from the
 * state when one of those kinds changes; read on every tick, so lookups are
 * by name in a JSON object, never a scan of the state.
 */
#include "incident/incident_int.h"

#include "core/say.h"
#include "core/timefmt.h"

static int has_string(const json_t *list, const char *s);

void vg_directory_init(struct vg_directory *d)
{
    memset(d, 0, sizeof *d);
    d->person = json_object();
    d->team = json_object();
    d->schedule = json_object();
    d->policy = json_object();
    d->contact = json_object();
    d->policy_names = json_array();
    d->sensor_zone = json_object();
    d->zone_site = json_object();
    d->silence = json_object();
    d->maintenance = json_object();
    d->sensor = json_object();
    d->rule = json_object();
}

void vg_directory_release(struct vg_directory *d)
{
    json_t **all[] = {&d->person,      &d->team,         &d->schedule,    &d->policy,
                      &d->contact,     &d->policy_names, &d->sensor_zone, &d->zone_site,
                      &d->silence,     &d->maintenance,  &d->sensor,      &d->rule};
    for (size_t i = 0; i < VG_ARRAY_LEN(all); i++) {
        json_decref(*all[i]);
        *all[i] = NULL;
    }
}

/* {name: spec} of every object of kind (secrets included: a routing key is
 * needed to page), names sorted into names when given. */
static void load_kind(const vg_state_t *st, const char *kind, json_t *by_name, json_t *names)
{
    json_t *items = NULL;
    char err[256];
    json_object_clear(by_name);
    if (vg_state_list_unredacted(st, kind, NULL, &items, err, sizeof err)) {
        vg_warn("cannot list %s objects: %s", kind, err);
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        json_t *spec = json_object_get(o, "spec");
        if (!name || !json_is_object(spec))
            continue;
        json_object_set(by_name, name, spec);
        if (names)
            json_array_append_new(names, json_string(name));
    }
    json_decref(items);
}

/* A string field of every object of kind: {name: spec[field]}. */
static void load_refs(const vg_state_t *st, const char *kind, const char *field, json_t *out)
{
    json_t *specs = json_object();
    load_kind(st, kind, specs, NULL);
    json_object_clear(out);
    const char *name;
    json_t *spec;
    json_object_foreach(specs, name, spec)
    {
        json_t *v = json_object_get(spec, field);
        if (json_is_string(v))
            json_object_set(out, name, v);
    }
    json_decref(specs);
}

void vg_directory_load(struct vg_directory *d, const vg_state_t *st)
{
    load_kind(st, "Person", d->person, NULL);
    load_kind(st, "Team", d->team, NULL);
    load_kind(st, "Schedule", d->schedule, NULL);
    load_kind(st, "Contact", d->contact, NULL);
    json_array_clear(d->policy_names);
    load_kind(st, "EscalationPolicy", d->policy, d->policy_names);
    load_refs(st, "Sensor", "zone", d->sensor_zone);
    load_refs(st, "Zone", "site", d->zone_site);
    load_kind(st, "Silence", d->silence, NULL);
    load_kind(st, "MaintenanceWindow", d->maintenance, NULL);
    load_kind(st, "Sensor", d->sensor, NULL);
    load_kind(st, "Rule", d->rule, NULL);
}

static int in_period(const json_t *spec, int64_t now)
{
    int64_t starts, ends;
    return !vg_time_parse_utc(json_string_value(json_object_get(spec, "starts")) ?: "", &starts) &&
           !vg_time_parse_utc(json_string_value(json_object_get(spec, "ends")) ?: "", &ends) &&
           now >= starts && now < ends;
}

static int str_is(const json_t *o, const char *k, const char *want)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v && want && !strcmp(v, want);
}

static int silence_matches(const json_t *m, const json_t *inc)
{
    const char *key = json_string_value(json_object_get(inc, "key"));
    const char *prefix = json_string_value(json_object_get(m, "key_prefix"));
    const json_t *labels = json_object_get(inc, "labels");
    if ((json_object_get(m, "site") && !str_is(inc, "site", json_string_value(json_object_get(m, "site")))) ||
        (json_object_get(m, "zone") && !str_is(inc, "zone", json_string_value(json_object_get(m, "zone")))) ||
        (prefix && strncmp(key ? key : "", prefix, strlen(prefix))))
        return 0;
    json_t *sev = json_object_get(m, "severity");
    if (sev && !has_string(sev, json_string_value(json_object_get(inc, "severity"))))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(m, "labels"), k, v)
    {
        if (!str_is(labels, k, json_string_value(v)))
            return 0;
    }
    return 1;
}

const char *vg_directory_silenced(const struct vg_directory *d, const json_t *inc, int64_t now,
                                  int64_t *until)
{
    const char *name;
    json_t *spec;
    json_object_foreach(d->silence, name, spec)
    {
        if (in_period(spec, now) && silence_matches(json_object_get(spec, "match"), inc)) {
            vg_time_parse_utc(json_string_value(json_object_get(spec, "ends")), until);
            return name;
        }
    }
    json_object_foreach(d->maintenance, name, spec)
    {
        json_t *zones = json_object_get(spec, "zones");
        if (in_period(spec, now) && str_is(inc, "site", json_string_value(json_object_get(spec, "site"))) &&
            (!json_array_size(zones) || has_string(zones, json_string_value(json_object_get(inc, "zone"))))) {
            vg_time_parse_utc(json_string_value(json_object_get(spec, "ends")), until);
            return name;
        }
    }
    return NULL;
}

static int has_string(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && s && !strcmp(json_string_value(v), s))
            return 1;
    }
    return 0;
}

static int matches(const json_t *match, const char *severity, const char *site,
                   const json_t *labels)
{
    json_t *sev = json_object_get(match, "severity");
    if (sev && !has_string(sev, severity))
        return 0;
    const char *want_site = json_string_value(json_object_get(match, "site"));
    if (want_site && (!site || strcmp(want_site, site)))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(match, "labels"), k, v)
    {
        const char *have = json_string_value(json_object_get(labels, k));
        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
            return 0;
    }
    return 1;
}

const char *vg_directory_route(const struct vg_directory *d, const char *severity,
                               const char *site, const json_t *labels)
{
    size_t i;
    json_t *name;
    /* policies that say what they take first, by name; then a catch-all */
    for (int catch_all = 0; catch_all < 2; catch_all++) {
        json_array_foreach(d->policy_names, i, name)
        {
            const char *n = json_string_value(name);
            json_t *match = json_object_get(json_object_get(d->policy, n), "match");
            if (!catch_all && match && matches(match, severity, site, labels))
                return n;
            if (catch_all && !match)
                return n;
        }
    }
    return NULL;
}

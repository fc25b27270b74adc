/*
 * agent_spec.c - Service objects read into the agents' form, and the steps
 * of a move in their order (agents.h). Pure: no I/O, so unit tests pin the
 * order down.
 */
#include "agents/agents.h"

#include <sodium.h>

#define DEFAULT_ORDER    100
#define DEFAULT_TIMEOUT  10
#define DEFAULT_RETRIES  2
#define DEFAULT_HOOK_S   30
#define DEFAULT_HEALTH_S 30

static int int_or(const json_t *spec, const char *key, int dflt)
{
    const json_t *v = json_object_get(spec, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static char **argv_of(const json_t *list)
{
    size_t n = json_array_size(list);
    if (!n)
        return NULL;
    char **argv = vg_calloc(n + 1, sizeof *argv);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(list, i));
        argv[i] = vg_strdup(s ? s : "");
    }
    return argv;
}

static void argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static int parse_sites(const json_t *sites, struct vg_agent_spec *out, char *err, size_t errlen)
{
    size_t i;
    const json_t *site;
    json_array_foreach(sites, i, site)
    {
        const char *name = json_string_value(json_object_get(site, "name"));
        if (!name || strlen(name) > VG_NAME_MAX || out->n_sites == VG_AGENT_SITES_MAX)
            return vg_err(err, errlen, -EINVAL, "service '%s': site %zu is not usable",
                          out->name, i);
        struct vg_agent_site *s = &out->sites[out->n_sites++];
        snprintf(s->name, sizeof s->name, "%s", name);
        const char *conninfo = json_string_value(json_object_get(site, "conninfo"));
        const char *url = json_string_value(json_object_get(site, "health_url"));
        s->conninfo = conninfo ? vg_strdup(conninfo) : NULL;
        s->health_url = url ? vg_strdup(url) : NULL;
        if (out->kind == VG_AGENT_POSTGRESQL && !s->conninfo)
            return vg_err(err, errlen, -EINVAL,
                          "service '%s': site '%s' has no connection string", out->name, name);
    }
    return 0;
}

int vg_agent_spec_parse(const json_t *object, struct vg_agent_spec *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *name = json_string_value(json_object_get(object, "name"));
    const json_t *spec = json_object_get(object, "spec");
    const char *agent = json_string_value(json_object_get(spec, "agent"));
    if (!name || strlen(name) > VG_NAME_MAX || !agent)
        return vg_err(err, errlen, -EINVAL, "a Service without a name or an agent");
    snprintf(out->name, sizeof out->name, "%s", name);
    if (!strcmp(agent, "postgresql"))
        out->kind = VG_AGENT_POSTGRESQL;
    else if (!strcmp(agent, "exec"))
        out->kind = VG_AGENT_EXEC;
    else
        return vg_err(err, errlen, -EINVAL, "service '%s': unknown agent", name);
    const json_t *order = json_object_get(spec, "order");
    out->order = json_is_integer(order) ? json_integer_value(order) : DEFAULT_ORDER;
    out->timeout_s = int_or(spec, "timeout_s", DEFAULT_TIMEOUT);
    out->retries = int_or(spec, "retries", DEFAULT_RETRIES);
    out->hook_timeout_s = int_or(spec, "hook_timeout_s", DEFAULT_HOOK_S);
    out->health_timeout_s = int_or(spec, "health_timeout_s", DEFAULT_HEALTH_S);
    out->before = argv_of(json_object_get(spec, "before"));
    out->after = argv_of(json_object_get(spec, "after"));
    int rc = parse_sites(json_object_get(spec, "sites"), out, err, errlen);
    if (rc)
        vg_agent_spec_release(out);
    return rc;
}

void vg_agent_spec_release(struct vg_agent_spec *spec)
{
    for (size_t i = 0; i < spec->n_sites; i++) {
        if (spec->sites[i].conninfo)
            sodium_memzero(spec->sites[i].conninfo, strlen(spec->sites[i].conninfo));
        free(spec->sites[i].conninfo);
        free(spec->sites[i].health_url);
    }
    argv_free(spec->before);
    argv_free(spec->after);
    memset(spec, 0, sizeof *spec);
}

static int by_order(const void *a, const void *b)
{
    const struct vg_agent_spec *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

void vg_agent_specs_from(const json_t *objects, struct vg_agent_spec **out, size_t *n)
{
    size_t cap = json_array_size(objects);
    if (cap > VG_AGENT_SERVICES_MAX)
        cap = VG_AGENT_SERVICES_MAX;
    struct vg_agent_spec *specs = vg_calloc(cap ? cap : 1, sizeof *specs);
    size_t got = 0, i;
    const json_t *obj;
    json_array_foreach(objects, i, obj)
    {
        char err[256];
        if (got == cap)
            break;
        if (vg_agent_spec_parse(obj, &specs[got], err, sizeof err) == 0)
            got++;
    }
    qsort(specs, got, sizeof *specs, by_order);
    *out = specs;
    *n = got;
}

void vg_agent_specs_free(struct vg_agent_spec *specs, size_t n)
{
    for (size_t i = 0; specs && i < n; i++)
        vg_agent_spec_release(&specs[i]);
    free(specs);
}

const struct vg_agent_site *vg_agent_site(const struct vg_agent_spec *spec, const char *site)
{
    for (size_t i = 0; site && i < spec->n_sites; i++)
        if (!strcmp(spec->sites[i].name, site))
            return &spec->sites[i];
    return NULL;
}

const char *vg_agent_step_name(enum vg_agent_step_kind kind)
{
    static const char *const names[] = {"before",      "fence", "promote",
                                        "write_check", "after", "health"};
    return (size_t)kind < VG_ARRAY_LEN(names) ? names[kind] : "unknown";
}

const char *vg_pg_role_name(enum vg_pg_role role)
{
    static const char *const names[] = {"unreachable", "standby", "primary", "fenced"};
    return (size_t)role < VG_ARRAY_LEN(names) ? names[role] : "unknown";
}

static void add(struct vg_agent_step *out, size_t cap, size_t *n, enum vg_agent_step_kind kind,
                size_t service, const char *site)
{
    if (*n < cap)
        out[*n] = (struct vg_agent_step){kind, service, site};
    (*n)++;
}

size_t vg_agent_plan(const struct vg_agent_spec *specs, size_t n, const char *new_primary,
                     struct vg_agent_step *out, size_t cap)
{
    size_t steps = 0;
    for (size_t i = 0; i < n; i++) {
        const struct vg_agent_spec *s = &specs[i];
        const struct vg_agent_site *here = vg_agent_site(s, new_primary);
        if (!here)
            continue;
        if (s->before)
            add(out, cap, &steps, VG_STEP_BEFORE, i, here->name);
        if (s->kind == VG_AGENT_POSTGRESQL) {
            for (size_t j = 0; j < s->n_sites; j++)
                if (&s->sites[j] != here)
                    add(out, cap, &steps, VG_STEP_FENCE, i, s->sites[j].name);
            add(out, cap, &steps, VG_STEP_PROMOTE, i, here->name);
            add(out, cap, &steps, VG_STEP_WRITE_CHECK, i, here->name);
        }
        if (s->after)
            add(out, cap, &steps, VG_STEP_AFTER, i, here->name);
        if (here->health_url)
            add(out, cap, &steps, VG_STEP_HEALTH, i, here->name);
    }
    return steps;
}

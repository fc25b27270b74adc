/*
 * kind_service_spec.c - the Service kind: a company service (a database,
 * an application) that vigil moves with the primary role, in a declared
 * order, through one agent (docs/services.md). Each site's endpoints are
 * one element of "sites"; a PostgreSQL connection string holds a password,
 * so it is a secret: stored for the agent, never shown nor logged. (Not
 * kind_service.c: the build takes *_service.c for services' runtime halves.)
 */
#include "schema/contact_methods.h" /* the URL check webhooks use */

#include <libpq-fe.h>
#include <sodium.h>

#define PATH_LEN     VG_SCHEMA_PATH_MAX
#define SITES_MAX    8
#define HOOK_ARGS    64
#define CONNINFO_MAX 1024
#define URL_MAX      2048

static const char *const agents[] = {"postgresql", "exec", NULL};

static const struct vg_field site_fields[] = {
    {"name", VG_F_NAME, 1, NULL, 0, 0, "the site (a node's site:) this endpoint is at"},
    {"conninfo", VG_F_STRING, 0, NULL, 0, CONNINFO_MAX,
     "postgresql: libpq connection string of the site's server (a secret)"},
    {"health_url", VG_F_STRING, 0, NULL, 0, URL_MAX,
     "http(s) URL that answers 2xx when the service works at this site"},
    {.name = NULL},
};

static const struct vg_field service_fields[] = {
    {"agent", VG_F_ENUM, 1, agents, 0, 0, "how the service is moved: postgresql or exec"},
    {"order", VG_F_INT, 0, NULL, 0, 1000000,
     "services move in increasing order (default 100; equal orders by name)"},
    {"sites", VG_F_LIST, 1, NULL, 0, SITES_MAX,
     "list of {name, conninfo, health_url}: the service's endpoints per site"},
    {"before", VG_F_STRING_LIST, 0, NULL, 0, HOOK_ARGS,
     "program and arguments run before the move (absolute path first)"},
    {"after", VG_F_STRING_LIST, 0, NULL, 0, HOOK_ARGS,
     "program and arguments run after the move (absolute path first)"},
    {"timeout_s", VG_F_INT, 0, NULL, 1, 600, "deadline of one attempt of a step (default 10)"},
    {"retries", VG_F_INT, 0, NULL, 0, 10,
     "attempts of a failed step after the first (default 2)"},
    {"hook_timeout_s", VG_F_INT, 0, NULL, 1, 3600,
     "deadline of one run of a hook (default 30)"},
    {"health_timeout_s", VG_F_INT, 0, NULL, 1, 3600,
     "how long a move waits for the health check at the new site (default 30)"},
    {.name = NULL},
};

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* libpq's own parser decides; its message is not passed on, since it
 * quotes the string, password included. (A {"secret": true} placeholder is
 * the stored value by the time this runs, or a stand-in that parses:
 * vg_schema_secret_standins.) */
static int conninfo_parses(const char *conninfo)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    if (errmsg) {
        sodium_memzero(errmsg, strlen(errmsg));
        PQfreemem(errmsg);
    }
    PQconninfoFree(opts);
    return opts != NULL;
}

static int check_site(const json_t *site, const char *agent, const char *path, char *err,
                      size_t errlen, char *field, size_t fieldlen)
{
    char sub[PATH_LEN];
    int rc = vg_schema_check_fields(site_fields, site, path, err, errlen, field, fieldlen);
    if (rc)
        return rc;
    const char *conninfo = str(site, "conninfo"), *url = str(site, "health_url");
    vg_schema_path(sub, sizeof sub, "%s.conninfo", path);
    if (!strcmp(agent, "postgresql") && !conninfo)
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "a postgresql service needs each site's connection string");
    if (strcmp(agent, "postgresql") && conninfo)
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "only a postgresql service takes a connection string");
    if (conninfo && !conninfo_parses(conninfo))
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "not a libpq connection string (key=value pairs or a "
                              "postgresql:// URI)");
    vg_schema_path(sub, sizeof sub, "%s.health_url", path);
    if (url && !vg_contact_url_shaped(url))
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "expected an http:// or https:// URL with a host");
    return 0;
}

static int check_hook(const json_t *spec, const char *name, char *err, size_t errlen,
                      char *field, size_t fieldlen)
{
    const json_t *argv = json_object_get(spec, name);
    if (!argv)
        return 0;
    const char *program = json_string_value(json_array_get(argv, 0));
    char sub[PATH_LEN];
    vg_schema_path(sub, sizeof sub, "spec.%s", name);
    if (!program || program[0] != '/')
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "a hook is a list whose first item is an absolute path to the "
                              "program");
    return 0;
}

static int service_check(const json_t *spec, char *err, size_t errlen, char *field,
                         size_t fieldlen)
{
    const char *agent = str(spec, "agent");
    const json_t *sites = json_object_get(spec, "sites");
    char path[PATH_LEN];
    if (json_array_size(sites) == 0)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.sites",
                              "must not be empty: a service is somewhere");
    for (size_t i = 0; i < json_array_size(sites); i++) {
        const json_t *site = json_array_get(sites, i);
        vg_schema_path(path, sizeof path, "spec.sites[%zu]", i);
        int rc = check_site(site, agent, path, err, errlen, field, fieldlen);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(str(json_array_get(sites, j), "name"), str(site, "name"))) {
                vg_schema_path(path, sizeof path, "spec.sites[%zu].name", i);
                return vg_schema_fail(err, errlen, field, fieldlen, path,
                                      "site '%s' is listed already", str(site, "name"));
            }
    }
    int rc = check_hook(spec, "before", err, errlen, field, fieldlen);
    if (!rc)
        rc = check_hook(spec, "after", err, errlen, field, fieldlen);
    if (!rc && !strcmp(agent, "exec") && !json_object_get(spec, "before") &&
        !json_object_get(spec, "after"))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.before",
                              "an exec service needs a before or an after hook: they move it");
    return rc;
}

static const char *const *site_secrets(const json_t *site)
{
    static const char *const keys[] = {"conninfo", NULL};
    (void)site;
    return keys;
}

const struct vg_kind vg_kind_service = {
    .name = "Service",
    .help = "a company service (a database, an application) that vigil moves with the "
            "primary role: promoted at the new primary's site, fenced at the old one",
    .fields = service_fields,
    .check = service_check,
    .secret_list = "sites",
    .element_secrets = site_secrets,
};

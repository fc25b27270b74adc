/*
 * contact_methods.c - checks the contact_methods of a Person or a Contact.
 *
 * A method is what the page-delivery service will act on at 3 a.m., so
 * everything it needs is required up front and anything belonging to
 * another type is refused rather than silently ignored: a webhook has an
 * http(s) url and a payload format (a PagerDuty routing key with format
 * pagerduty), an e-mail method an address, an exec method an argv whose
 * program is an absolute path (no PATH lookup in the daemon).
 *
 * The routing key is not marked secret: secrets.c handles credentials that
 * are keys of one object of the spec, not keys inside list elements.
 */
#include "schema/contact_methods.h"

#define PATH_LEN VG_SCHEMA_PATH_MAX

static const char *const method_types[] = {"webhook", "email", "exec", NULL};
static const char *const webhook_formats[] = {"generic", "pagerduty", "slack", NULL};

static const struct vg_field method_fields[] = {
    {"name", VG_F_NAME, 1, NULL, 0, 0, "what notification rules call this method"},
    {"type", VG_F_ENUM, 1, method_types, 0, 0, "webhook, email or exec"},
    {"url", VG_F_STRING, 0, NULL, 0, 2048, "webhook: the http:// or https:// URL to POST to"},
    {"format", VG_F_ENUM, 0, webhook_formats, 0, 0,
     "webhook: the payload, generic (default), pagerduty or slack"},
    {"routing_key", VG_F_STRING, 0, NULL, 0, 128, "webhook, format pagerduty: the routing key"},
    {"address", VG_F_STRING, 0, NULL, 0, 254, "email: the address to write to"},
    {"command", VG_F_STRING_LIST, 0, NULL, 0, 32,
     "exec: the program (an absolute path) and its arguments"},
    {.name = NULL},
};

/* Which fields each type takes beyond name and type. */
static const char *const webhook_keys[] = {"url", "format", "routing_key", NULL};
static const char *const email_keys[] = {"address", NULL};
static const char *const exec_keys[] = {"command", NULL};

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int vg_contact_email_shaped(const char *address)
{
    const char *at = strchr(address, '@');
    return at && at > address && at[1] && !strchr(at + 1, '@') && strchr(at + 1, '.') &&
           !strpbrk(address, " <>\"");
}

static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Refuses the fields of another type. */
static int only_own_fields(const json_t *method, const char *type, const char *path,
                           const char *const *own, char *err, size_t errlen, char *field,
                           size_t fieldlen)
{
    char sub[PATH_LEN];
    for (const struct vg_field *f = method_fields + 2; f->name; f++) {
        if (in_list(f->name, own) || !json_object_get(method, f->name) ||
            json_is_null(json_object_get(method, f->name)))
            continue;
        vg_schema_path(sub, sizeof sub, "%s.%s", path, f->name);
        return vg_schema_fail(err, errlen, field, fieldlen, sub, "not a field of a%s %s method",
                              type[0] == 'e' ? "n" : "", type);
    }
    return 0;
}

int vg_contact_url_shaped(const char *url)
{
    size_t scheme = strncmp(url, "https://", 8) == 0  ? 8
                    : strncmp(url, "http://", 7) == 0 ? 7
                                                      : 0;
    return scheme && url[scheme] && url[scheme] != '/' && !strchr(url, ' ');
}

static int check_webhook(const json_t *m, const char *path, char *err, size_t errlen,
                         char *field, size_t fieldlen)
{
    char sub[PATH_LEN];
    const char *url = str(m, "url"), *format = str(m, "format");
    vg_schema_path(sub, sizeof sub, "%s.url", path);
    if (!url)
        return vg_schema_fail(err, errlen, field, fieldlen, sub, "a webhook needs a url");
    if (!vg_contact_url_shaped(url))
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "expected an http:// or https:// URL with a host");
    int pagerduty = format && strcmp(format, "pagerduty") == 0;
    vg_schema_path(sub, sizeof sub, "%s.routing_key", path);
    if (pagerduty && !str(m, "routing_key"))
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "format pagerduty needs the routing key of the service");
    if (!pagerduty && str(m, "routing_key"))
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "only a webhook of format pagerduty takes a routing key");
    return 0;
}

static int check_typed(const json_t *m, const char *path, char *err, size_t errlen, char *field,
                       size_t fieldlen)
{
    const char *type = str(m, "type");
    char sub[PATH_LEN];
    if (strcmp(type, "webhook") == 0)
        return check_webhook(m, path, err, errlen, field, fieldlen);
    if (strcmp(type, "email") == 0) {
        const char *address = str(m, "address");
        vg_schema_path(sub, sizeof sub, "%s.address", path);
        if (!address || !vg_contact_email_shaped(address))
            return vg_schema_fail(err, errlen, field, fieldlen, sub,
                                  "an email method needs an address like name@example.org");
        return 0;
    }
    const json_t *command = json_object_get(m, "command");
    const char *program = json_string_value(json_array_get(command, 0));
    vg_schema_path(sub, sizeof sub, "%s.command", path);
    if (!program || program[0] != '/')
        return vg_schema_fail(err, errlen, field, fieldlen, sub,
                              "an exec method needs a command whose first item is an "
                              "absolute path to the program");
    return 0;
}

static int check_method(const json_t *m, const char *path, char *err, size_t errlen,
                        char *field, size_t fieldlen)
{
    int rc = vg_schema_check_fields(method_fields, m, path, err, errlen, field, fieldlen);
    if (rc)
        return rc;
    const char *type = str(m, "type");
    const char *const *own = type[0] == 'w'   ? webhook_keys
                             : type[1] == 'm' ? email_keys
                                              : exec_keys;
    rc = only_own_fields(m, type, path, own, err, errlen, field, fieldlen);
    return rc ? rc : check_typed(m, path, err, errlen, field, fieldlen);
}

int vg_contact_methods_check(const json_t *spec, char *err, size_t errlen, char *field,
                             size_t fieldlen)
{
    const json_t *methods = json_object_get(spec, "contact_methods");
    char path[PATH_LEN];
    for (size_t i = 0; i < json_array_size(methods); i++) {
        const json_t *m = json_array_get(methods, i);
        vg_schema_path(path, sizeof path, "spec.contact_methods[%zu]", i);
        int rc = check_method(m, path, err, errlen, field, fieldlen);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(str(json_array_get(methods, j), "name"), str(m, "name")) == 0) {
                vg_schema_path(path, sizeof path, "spec.contact_methods[%zu].name", i);
                return vg_schema_fail(err, errlen, field, fieldlen, path,
                                      "'%s' names another method already", str(m, "name"));
            }
    }
    return 0;
}

int vg_contact_methods_has(const json_t *spec, const char *name)
{
    const json_t *methods = json_object_get(spec, "contact_methods");
    for (size_t i = 0; i < json_array_size(methods); i++) {
        const char *own = str(json_array_get(methods, i), "name");
        if (own && strcmp(own, name) == 0)
            return 1;
    }
    return 0;
}

const char *const *vg_contact_method_secrets(const json_t *method)
{
    static const char *const webhook[] = {"url", "routing_key", NULL};
    const char *type = json_string_value(json_object_get(method, "type"));
    return type && !strcmp(type, "webhook") ? webhook : NULL;
}

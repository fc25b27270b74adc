/*
 * cmd_routes.c - `vigild routes`: the REST API's route table as the
 * router uses it (method, path, who may call it), for operators writing
 * proxies and firewall rules, and for the test that keeps docs/api.md
 * complete.
 */
#include "vigild/vigild.h"

#include <jansson.h>

#include "api/api_int.h"
#include "vigild/options.h"

static const char *method_name(enum evhttp_cmd_type m)
{
    return m == EVHTTP_REQ_GET      ? "GET"
           : m == EVHTTP_REQ_PUT    ? "PUT"
           : m == EVHTTP_REQ_POST   ? "POST"
           : m == EVHTTP_REQ_DELETE ? "DELETE"
                                    : "?";
}

/* The roles allowed, as "admin,operator" or "none" for public routes. */
static json_t *roles_of(const struct vg_route *r)
{
    static const enum vg_role all[] = {VG_ROLE_ADMIN, VG_ROLE_OPERATOR, VG_ROLE_VIEWER,
                                       VG_ROLE_AUDITOR, VG_ROLE_EXTERNAL_REVIEWER};
    json_t *roles = json_array();
    if (r->flags & VG_ROUTE_PUBLIC)
        return roles;
    for (size_t i = 0; i < VG_ARRAY_LEN(all); i++)
        if (vg_role_allows(all[i], r->perm))
            json_array_append_new(roles, json_string(vg_role_name(all[i])));
    return roles;
}

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, int *as_json)
{
    static const char *const formats[] = {"json", NULL};
    const char *output = NULL;
    const struct vg_opt_def opts[] = {
        VG_OPT_FORMAT('o', "output", &output, formats, NULL,
                      "one JSON object per route and line, instead of the table"),
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "routes",
        .usage = "vigild routes [-o json]",
        .about = "Lists the REST API's routes: method, path and the roles that may\n"
                 "call each (none: no token needed). See docs/api.md.\n",
        .opts = opts,
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    *as_json = output != NULL;
    return rc;
}

int vg_cmd_routes(int argc, char **argv)
{
    int as_json;
    int rc = parse_args(argc, argv, &as_json);
    if (rc != VG_OPT_PROCEED)
        return rc;
    for (size_t t = 0; t == 0 || vg_services[t - 1]; t++) { /* ours, then each service's */
        const struct vg_route *table = t ? vg_services[t - 1]->routes : vg_api_routes;
        const char *owner = t ? vg_services[t - 1]->name : "api";
        for (const struct vg_route *r = table; r && r->pattern; r++) {
            json_t *roles = roles_of(r);
            if (as_json) {
                json_t *row =
                    json_pack("{s:s, s:s, s:O, s:b, s:s}", "method", method_name(r->method),
                              "path", r->pattern, "roles", roles, "primary_only",
                              (r->flags & VG_ROUTE_PRIMARY) != 0, "service", owner);
                char *text = json_dumps(row, JSON_COMPACT);
                printf("%s\n", text);
                free(text);
                json_decref(row);
            } else {
                char *names = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&names, &len);
                for (size_t i = 0; i < json_array_size(roles); i++)
                    fprintf(m, "%s%s", i ? "," : "",
                            json_string_value(json_array_get(roles, i)));
                fclose(m);
                printf("%-7s %-34s %s\n", method_name(r->method), r->pattern,
                       len ? names : "none (no token)");
                free(names);
            }
            json_decref(roles);
        }
    }
    return 0;
}

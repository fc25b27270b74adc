/*
 * cmd_services.c - `vigild services`: the services vigild runs (the rows of
 * vg_services[]), with the kinds they act on, the record types they own,
 * their routes and their `vigil` commands.
 */
#include "vigild/vigild.h"

#include <jansson.h>

#include "service/service.h"
#include "store/record.h"
#include "vigild/options.h"

static json_t *names(const char *const *list)
{
    json_t *out = json_array();
    for (size_t i = 0; list && list[i]; i++)
        json_array_append_new(out, json_string(list[i]));
    return out;
}

static json_t *describe(const struct vg_service *svc)
{
    json_t *types = json_array();
    for (const uint16_t *t = svc->data ? svc->data->record_types : NULL; t && *t; t++)
        json_array_append_new(types, json_string(vg_record_type_name(*t)));
    json_t *routes = json_array();
    for (const struct vg_route *r = svc->routes; r && r->pattern; r++)
        json_array_append_new(routes, json_string(r->pattern));
    return json_pack("{s:s, s:o, s:o, s:s?, s:o, s:o}", "name", svc->name, "kinds",
                     names(svc->kinds), "records", types, "snapshot_slice",
                     svc->data ? svc->data->name : NULL, "routes", routes, "cli",
                     names(svc->cli));
}

static void print_list(const char *label, const json_t *list)
{
    printf("  %-9s", label);
    for (size_t i = 0; i < json_array_size(list); i++)
        printf("%s%s", i ? ", " : "", json_string_value(json_array_get(list, i)));
    printf("%s\n", json_array_size(list) ? "" : "-");
}

int vg_cmd_services(int argc, char **argv)
{
    static const char *const formats[] = {"json", NULL};
    const char *output = NULL;
    const struct vg_opt_def opts[] = {
        VG_OPT_FORMAT('o', "output", &output, formats, NULL,
                      "one JSON object per service and line, instead of the text"),
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "services",
        .usage = "vigild services [-o json]",
        .about = "Lists the services vigild runs beside the member and the cluster runtime\n"
                 "(docs/architecture.md): the kinds each acts on, the record types it\n"
                 "owns, its API routes and its vigil commands.\n",
        .opts = opts,
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc != VG_OPT_PROCEED)
        return rc;
    for (size_t i = 0; vg_services[i]; i++) {
        json_t *d = describe(vg_services[i]);
        if (output) {
            char *text = json_dumps(d, JSON_COMPACT);
            printf("%s\n", text);
            free(text);
        } else {
            printf("%s\n", vg_services[i]->name);
            print_list("kinds", json_object_get(d, "kinds"));
            print_list("records", json_object_get(d, "records"));
            print_list("routes", json_object_get(d, "routes"));
            print_list("vigil", json_object_get(d, "cli"));
        }
        json_decref(d);
    }
    return 0;
}

/*
 * fuzz_inbound.c - libFuzzer target for the inbound alert parsers
 * (incident/inbound.h): Alertmanager webhook bodies and PagerDuty events,
 * which come straight from the network. The first byte picks the parser.
 *
 * Traps when their promises break: a refusal names a field and leaves no
 * changes; an acceptance gives one change per alert, each with an action,
 * a dedup key of the right prefix and, for a trigger, a known severity and
 * a summary; every change can be written out as JSON (what the log stores).
 */
#include <stddef.h>
#include <stdint.h>

#include "incident/inbound.h"

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static int known_severity(const char *s)
{
    return s && (!strcmp(s, "critical") || !strcmp(s, "error") || !strcmp(s, "warning") ||
                 !strcmp(s, "info"));
}

static void check_change(const json_t *c, const char *prefix)
{
    const char *action = json_string_value(json_object_get(c, "action"));
    const char *key = json_string_value(json_object_get(c, "key"));
    require(action && key && !strncmp(key, prefix, strlen(prefix)));
    if (!strcmp(action, "trigger")) {
        require(known_severity(json_string_value(json_object_get(c, "severity"))));
        require(json_is_string(json_object_get(c, "summary")));
        require(json_is_object(json_object_get(c, "labels")));
    }
    char *text = json_dumps(c, JSON_COMPACT);
    require(text != NULL);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data + 1, size - 1, 0, &jerr);
    if (!body)
        return 0;
    char err[300] = "", field[128] = "";
    if (data[0] & 1) {
        json_t *changes = (json_t *)1;
        int rc = vg_inbound_alertmanager(body, &changes, err, sizeof err, field, sizeof field);
        if (rc) {
            require(rc == -EINVAL && changes == NULL && field[0] && err[0]);
        } else {
            require(json_array_size(changes) == json_array_size(json_object_get(body, "alerts")));
            size_t i;
            json_t *c;
            json_array_foreach(changes, i, c) check_change(c, "am/");
        }
        json_decref(changes == (json_t *)1 ? NULL : changes);
    } else {
        json_t *change = (json_t *)1;
        int rc = vg_inbound_pagerduty(body, "k0", &change, err, sizeof err, field, sizeof field);
        if (rc)
            require(rc == -EINVAL && change == NULL && field[0] && err[0]);
        else
            check_change(change, "pd/");
        json_decref(change == (json_t *)1 ? NULL : change);
    }
    json_decref(body);
    return 0;
}

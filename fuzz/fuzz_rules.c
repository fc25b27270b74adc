/*
 * fuzz_rules.c - libFuzzer target for the rule engine: arbitrary objects
 * and events must never crash it, leak, or make it nondeterministic.
 *
 * Input is one JSON object {zones, devices, sensors, rules, events}; each
 * event is [sensor_index, time_ms, value] (a reading), ["tick", time_ms]
 * or ["device", name, up, time_ms]. The same input is run on two engines
 * and must report the same changes (checked with a running hash) and the
 * same status; a reload in between must not crash either.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void hash_change(void *ctx, const struct vg_rule_change *c)
{
    uint64_t *h = ctx;
    const char *parts[] = {c->id, c->rule, c->from, c->to, c->message,
                           c->sensor ? c->sensor : "-"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        for (const char *p = parts[i]; *p; p++)
            *h = (*h ^ (unsigned char)*p) * 1099511628211ULL;
    *h ^= (uint64_t)c->time_ms;
}

static void run_events(vg_rules_t *r, const json_t *events, uint64_t *h)
{
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev) {
        const json_t *a = json_array_get(ev, 0), *b = json_array_get(ev, 1);
        if (json_is_integer(a) && json_is_integer(b))
            vg_rules_reading(r, (int)json_integer_value(a), json_integer_value(b),
                             json_number_value(json_array_get(ev, 2)), hash_change, h);
        else if (json_is_string(a) && strcmp(json_string_value(a), "tick") == 0)
            vg_rules_tick(r, json_integer_value(b), hash_change, h);
        else if (json_is_string(a) && json_is_string(b))
            vg_rules_device(r, json_string_value(b), json_is_true(json_array_get(ev, 2)),
                            json_integer_value(json_array_get(ev, 3)), hash_change, h);
    }
}

static char *run(const json_t *doc, uint64_t *h)
{
    vg_rules_t *r = vg_rules_new();
    const json_t *z = json_object_get(doc, "zones"), *d = json_object_get(doc, "devices");
    const json_t *s = json_object_get(doc, "sensors"), *ru = json_object_get(doc, "rules");
    if (vg_rules_load(r, z, s, d, ru, NULL, 0) == 0) {
        run_events(r, json_object_get(doc, "events"), h);
        vg_rules_load(r, z, s, d, ru, NULL, 0);
        run_events(r, json_object_get(doc, "events"), h);
    }
    json_t *status = vg_rules_status(r);
    char *text = json_dumps(status, JSON_COMPACT);
    json_decref(status);
    vg_rules_free(r);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    uint64_t h1 = 0, h2 = 0;
    char *a = run(doc, &h1), *b = run(doc, &h2);
    require(h1 == h2 && a && b && strcmp(a, b) == 0);
    free(a), free(b);
    json_decref(doc);
    return 0;
}

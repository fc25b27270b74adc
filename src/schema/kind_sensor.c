/*
 * kind_sensor.c - the Sensor kind: one measured quantity or state in a zone.
 *
 * A sensor names its device and where on the device its value is
 * (spec.source, e.g. {oid: ...} or {register: 40, format: s16}); the
 * device's driver checks that source when the collector builds the device,
 * since the device may be declared after the sensor. Here the source's
 * common fields are type-checked so obvious mistakes are refused at once.
 *
 * A dew-point sensor may instead be derived: {derive: {temperature: NAME,
 * humidity: NAME}}. A power-kw sensor says whether it measures the whole
 * facility or the IT load (scope), which gives the site's PUE. position
 * places it inside its zone's rectangle on the dashboard's floor plan:
 * metres, not a rack name, so a sensor on a wall, a pipe or a door, where
 * there is no rack, has a place too (plan.c).
 */
#include "schema/schema.h"

#include "sense/stype.h"

static const char *type_list[VG_ST__COUNT + 1];
static const char *const scopes[] = {"facility", "it", NULL};

static const struct vg_field sensor_fields[] = {
    {"zone", VG_F_NAME, 1, NULL, 0, 0, "name of the Zone the sensor is in"},
    {"device", VG_F_NAME, 0, NULL, 0, 0,
     "name of the Device it is read from (not for derived sensors)"},
    {"type", VG_F_ENUM, 1, type_list, 0, 0, "what it measures (see `vigil explain Sensor`)"},
    {"unit", VG_F_STRING, 0, NULL, 0, 16, "unit shown to people (default from the type)"},
    {"source", VG_F_OBJECT, 0, NULL, 0, 0,
     "where the value is on the device: oid, register, topic+path, variable, ..."},
    {"scale", VG_F_NUMBER, 0, NULL, 0, 0, "value = raw * scale + offset (default 1)"},
    {"offset", VG_F_NUMBER, 0, NULL, 0, 0, "added after scaling (default 0)"},
    {"stale_after_s", VG_F_INT, 0, NULL, 1, 86400,
     "no value for this long makes the sensor stale (default 3 device intervals)"},
    {"scope", VG_F_ENUM, 0, scopes, 0, 0, "power-kw only: facility total or IT load (PUE)"},
    {"derive", VG_F_OBJECT, 0, NULL, 0, 0,
     "dew-point only: {temperature: SENSOR, humidity: SENSOR}"},
    {"builtin_rules", VG_F_BOOL, 0, NULL, 0, 0,
     "apply the built-in rule pack of the type (default true)"},
    {"position", VG_F_OBJECT, 0, NULL, 0, 0,
     "where the sensor is drawn on the floor plan: {x, y} in metres from the top-left corner "
     "of its Zone's plan rectangle, each 0 to 10000"},
    {.name = NULL},
};

/* Common source keys: their JSON types; drivers check meaning later. */
static int check_source(const json_t *source, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    static const struct {
        const char *key;
        json_type type;
    } keys[] = {
        {"oid", JSON_STRING},      {"register", JSON_INTEGER},  {"table", JSON_STRING},
        {"format", JSON_STRING},   {"word_order", JSON_STRING}, {"topic", JSON_STRING},
        {"path", JSON_STRING},     {"variable", JSON_STRING},   {"unit_id", JSON_INTEGER},
        {"quantity", JSON_STRING}, {"map", JSON_OBJECT},        {"field", JSON_STRING},
        {"bit", JSON_INTEGER},
    };
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)source, key, v)
    {
        size_t i = 0;
        while (i < VG_ARRAY_LEN(keys) && strcmp(keys[i].key, key) != 0)
            i++;
        char path[128];
        snprintf(path, sizeof path, "spec.source.%.64s", key);
        if (i == VG_ARRAY_LEN(keys))
            return vg_schema_fail(
                err, errlen, field, fieldlen, path,
                "unknown field (oid, register, table, format, word_order, topic, path, "
                "variable, unit_id, quantity, map, field, bit)");
        if (json_typeof(v) != keys[i].type)
            return vg_schema_fail(err, errlen, field, fieldlen, path, "%s",
                                  keys[i].type == JSON_STRING    ? "expected string"
                                  : keys[i].type == JSON_INTEGER ? "expected integer"
                                                                 : "expected object");
    }
    return 0;
}

static int check_derive(const json_t *spec, const json_t *derive, char *err, size_t errlen,
                        char *field, size_t fieldlen)
{
    if (strcmp(json_string_value(json_object_get(spec, "type")), "dew-point") != 0)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.derive",
                              "only a dew-point sensor can be derived");
    const char *need[] = {"temperature", "humidity"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *v = json_object_get(derive, need[i]);
        char path[64];
        snprintf(path, sizeof path, "spec.derive.%s", need[i]);
        if (!json_is_string(v) || !json_string_length(v))
            return vg_schema_fail(err, errlen, field, fieldlen, path,
                                  "required: a Sensor name");
    }
    if (json_object_size(derive) != 2)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.derive",
                              "takes exactly temperature and humidity");
    if (json_object_get(spec, "device") || json_object_get(spec, "source"))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.derive",
                              "a derived sensor has no device or source");
    return 0;
}

static int sensor_check(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    const json_t *position = json_object_get(spec, "position");
    if (position &&
        vg_schema_check_plan(position, "spec.position", 0, err, errlen, field, fieldlen))
        return -EINVAL;
    const json_t *derive = json_object_get(spec, "derive");
    if (derive)
        return check_derive(spec, derive, err, errlen, field, fieldlen);
    if (!json_object_get(spec, "device"))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.device",
                              "required (the Device the sensor is read from)");
    const json_t *scale = json_object_get(spec, "scale");
    if (scale && json_number_value(scale) == 0)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.scale", "must not be 0");
    if (json_object_get(spec, "scope") &&
        strcmp(json_string_value(json_object_get(spec, "type")), "power-kw") != 0)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.scope",
                              "only for power-kw sensors");
    const json_t *source = json_object_get(spec, "source");
    return source ? check_source(source, err, errlen, field, fieldlen) : 0;
}

__attribute__((constructor)) static void fill_type_list(void)
{
    const char *const *names = vg_stype_names();
    for (size_t i = 0; i <= VG_ST__COUNT; i++)
        type_list[i] = names[i];
}

const struct vg_kind vg_kind_sensor = {
    "Sensor",      "one measured quantity or state in a zone, read from a device (or derived)",
    sensor_fields, sensor_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

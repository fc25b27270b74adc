/*
 * kind_device.c - the Device kind: one thing vigil talks to (a PDU, a UPS,
 * a BMS gateway, an MQTT broker's sensors, the simulator) at one site.
 *
 * The driver says which protocol; options are the driver's own settings and
 * are checked by the driver itself (driver.h), so a typo in an SNMP
 * community or a Modbus word order is refused when the manifest is applied,
 * not discovered at 3 a.m. The options a driver marks secret (driver.h) are
 * the Device's credentials (schema.h): never shown, kept across applies.
 */
#include "schema/schema.h"

#include "sense/driver.h"

static const char *const *driver_names(void)
{
    return vg_driver_names();
}

static const char *driver_list[16];

static const struct vg_field device_fields[] = {
    {"site", VG_F_NAME, 1, NULL, 0, 0, "name of the Site the device is in"},
    {"zone", VG_F_NAME, 0, NULL, 0, 0, "name of the Zone the device is in"},
    {"driver", VG_F_ENUM, 1, driver_list, 0, 0,
     "protocol: snmp, snmp-trap, modbus, mqtt, nut, push or sim"},
    {"address", VG_F_STRING, 0, NULL, 0, 255,
     "host:port of the device, broker or upsd (listen address for snmp-trap)"},
    {"interval_ms", VG_F_INT, 0, NULL, 100, 86400000, "time between polls (default 10000)"},
    {"timeout_ms", VG_F_INT, 0, NULL, 10, 600000, "time one attempt may take (default 2000)"},
    {"retries", VG_F_INT, 0, NULL, 0, 10,
     "further attempts after a failed one, with backoff (default 2)"},
    {"options", VG_F_OBJECT, 0, NULL, 0, 0, "driver settings (see the driver's documentation)"},
    {.name = NULL},
};

static int device_check(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    const struct vg_driver *drv =
        vg_driver_lookup(json_string_value(json_object_get(spec, "driver")));
    if (!drv)
        VG_BUG("driver enum and table disagree");
    const json_t *options = json_object_get(spec, "options");
    json_t *empty = NULL;
    if (!options)
        options = empty = json_object();
    char why[512];
    int rc = drv->check(options, NULL, why, sizeof why);
    json_decref(empty);
    if (!rc)
        return 0;
    char path[128];
    snprintf(path, sizeof path, "spec.%.*s", (int)strcspn(why, ":"), why);
    if (field && fieldlen)
        snprintf(field, fieldlen, "%s", path);
    return vg_err(err, errlen, -EINVAL, "spec.%s", why);
}

/* A Device's credentials are the options its driver marks secret. */
static const char *const *device_secrets(const json_t *spec, const char **within)
{
    const struct vg_driver *drv =
        vg_driver_lookup(json_string_value(json_object_get(spec, "driver")));
    *within = "options";
    return drv ? drv->secret_options : NULL;
}

/* The driver enum is the driver table, filled on first use. */
__attribute__((constructor)) static void fill_driver_list(void)
{
    const char *const *names = driver_names();
    size_t i = 0;
    for (; names[i] && i < VG_ARRAY_LEN(driver_list) - 1; i++)
        driver_list[i] = names[i];
    driver_list[i] = NULL;
}

const struct vg_kind vg_kind_device = {
    "Device",
    "a device vigil reads sensors from: its site, protocol driver, address and timing",
    device_fields,
    device_check,
    device_secrets,
    NULL, /* no secrets in lists */
    NULL,
};

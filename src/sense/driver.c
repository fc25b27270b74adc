/*
 * driver.c - the driver table and the small parsing helpers drivers share.
 *
 * A driver file defines `const struct vg_driver vg_drv_<name>`; adding one
 * is adding it to the table below.
 */
#include "sense/driver.h"

#include "core/netaddr.h"

extern const struct vg_driver vg_drv_modbus;
extern const struct vg_driver vg_drv_mqtt;
extern const struct vg_driver vg_drv_nut;
extern const struct vg_driver vg_drv_push;
extern const struct vg_driver vg_drv_sim;
extern const struct vg_driver vg_drv_snmp;
extern const struct vg_driver vg_drv_snmp_trap;

/* One row per driver file (drv_<name>.c). */
static const struct vg_driver *const drivers[] = {
    &vg_drv_modbus,
    &vg_drv_mqtt,
    &vg_drv_nut,
    &vg_drv_push,
    &vg_drv_sim,
    &vg_drv_snmp,
    &vg_drv_snmp_trap,
    NULL,
};

const struct vg_driver *vg_driver_lookup(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; drivers[i]; i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

const char *const *vg_driver_names(void)
{
    static const char *names[VG_ARRAY_LEN(drivers)];
    if (!names[0])
        for (size_t i = 0; drivers[i]; i++)
            names[i] = drivers[i]->name;
    return names;
}

int vg_drv_opt_string(const json_t *obj, const char *prefix, const char *key, int required,
                      const char **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return vg_err(err, errlen, -EINVAL, "%s.%s: required", prefix, key);
        return -ENOENT;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return vg_err(err, errlen, -EINVAL, "%s.%s: expected a non-empty string", prefix, key);
    *out = json_string_value(v);
    return 0;
}

int vg_drv_opt_int(const json_t *obj, const char *prefix, const char *key, int required,
                   long long min, long long max, long long *out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return vg_err(err, errlen, -EINVAL, "%s.%s: required", prefix, key);
        return -ENOENT;
    }
    if (!json_is_integer(v))
        return vg_err(err, errlen, -EINVAL, "%s.%s: expected an integer", prefix, key);
    long long n = json_integer_value(v);
    if (n < min || n > max)
        return vg_err(err, errlen, -EINVAL, "%s.%s: %lld is out of range %lld..%lld", prefix,
                      key, n, min, max);
    *out = n;
    return 0;
}

int vg_drv_host_port(const char *address, uint16_t default_port, char *host, size_t hostlen,
                     uint16_t *port, char *err, size_t errlen)
{
    if (!address || !*address)
        return vg_err(err, errlen, -EINVAL, "address: required (host or host:port)");
    if (!vg_addr_split(address, host, hostlen, port))
        return 0;
    /* no port given: a bare host name or IPv4 address */
    if (!strchr(address, ':') && strlen(address) < hostlen) {
        snprintf(host, hostlen, "%s", address);
        *port = default_port;
        return 0;
    }
    return vg_err(err, errlen, -EINVAL, "address: '%s' is not host or host:port", address);
}

int vg_drv_check_keys(const json_t *obj, const char *prefix, const char *driver,
                       const char *const *allowed, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i])
            continue;
        char list[256] = "";
        size_t used = 0;
        for (i = 0; allowed[i] && used < sizeof list; i++) {
            int n =
                snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", allowed[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        return vg_err(err, errlen, -EINVAL, "%s.%.64s: not used by the %s driver (%s)", prefix,
                      key, driver, list);
    }
    return 0;
}

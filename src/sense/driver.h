/*
 * driver.h - the one small interface every sensor protocol plugs into.
 *
 * A Device object names a driver ("snmp", "modbus", "mqtt", "nut", "sim",
 * "snmp-trap", "push"); its Sensor objects each name one point on it
 * (spec.source: an OID, a register, a topic, a NUT variable...). The
 * collector (collect.c) builds a vg_device from those objects and runs it
 * on a thread of its own:
 *
 *     init(dev)            once; a failed init leaves nothing to close and
 *                          is retried at the interval like a failed poll
 *     poll(dev) ...        every dev->interval_ms for polled drivers, with
 *                          dev->timeout_ms per attempt and dev->retries
 *                          retries (exponential backoff) on failure
 *     close(dev)           once, on the same thread
 *
 * Drivers report what they read through the sink: one call per value, or a
 * rejection naming the point and the reason ("oid 1.3.6.1.4.1.99.1.3: no
 * such object", "register 40: short reply, 1 of 2 registers"). A rejected
 * value is counted and never stored; the sensor keeps its previous state
 * and goes stale if nothing good arrives. poll() returns 0 when the device
 * answered (even if some points were rejected), or a negative code with a
 * message in err when the device could not be reached or spoke nonsense as
 * a whole (-ETIMEDOUT, -ECONNREFUSED, -EPROTO): that makes the device
 * unreachable and its sensors stale, and affects nothing else.
 *
 * Passive drivers (MQTT, SNMP traps) set .passive: they receive values on
 * their own (a library thread or a socket read inside poll with timeout);
 * poll() is still called every interval so they can check their connection
 * and reconnect. A sink is thread-safe: any thread may call it.
 *
 * Values are already converted: drivers apply vg_point_value() (scale and
 * offset) so every driver treats them the same.
 *
 * Adding a protocol is adding one drv_<name>.c defining a const struct
 * vg_driver and one row in the table of driver.c.
 */
#ifndef VG_DRIVER_H
#define VG_DRIVER_H

#include <jansson.h>

#include "core/vg.h"

/* One sensor on a device. All pointers borrowed from the objects the
 * device was built from, valid until close(). */
struct vg_point {
    const char *sensor;   /* Sensor object name */
    int type;             /* enum vg_stype */
    const json_t *source; /* spec.source, driver-specific; never NULL (may be {}) */
    double scale;         /* value = raw * scale + offset (defaults 1, 0) */
    double offset;
    void *drv; /* the driver's per-point data, freed by close() */
};

struct vg_device {
    const char *name;      /* Device object name */
    const char *driver;    /* driver name */
    const char *site;      /* Site name */
    const char *address;   /* spec.address ("host:port", or "" when none) */
    const json_t *options; /* spec.options, driver-specific; never NULL (may be {}) */
    uint32_t interval_ms;  /* between polls */
    uint32_t timeout_ms;   /* per attempt */
    uint32_t retries;      /* further attempts after a failed one */
    struct vg_point *points;
    size_t n_points;
    void *drv; /* the driver's per-device state, freed by close() */
};

struct vg_sink {
    /* A good value for points[point], taken at time_ms (wall clock, ms). */
    void (*value)(struct vg_sink *sink, size_t point, int64_t time_ms, double value);
    /* A bad value: point is SIZE_MAX when it is about the device as a whole
     * (a garbage trap, an unparseable message on a topic nobody maps). */
    void (*reject)(struct vg_sink *sink, size_t point, const char *reason);
    void *ctx;
};

struct vg_driver {
    const char *name;
    const char *help; /* one line for `vigil explain Device` */
    int passive;
    /* Option keys that are credentials (community, passphrases, passwords),
     * NULL-terminated, or NULL for none. The API never shows their values
     * and keeps the stored value when a manifest leaves one out
     * (schema.h, vg_schema_redact); a driver must never put them into a
     * message, a log line or a rejection either. */
    const char *const *secret_options;
    /* Checks spec.options (never NULL) of a Device manifest, and, if source
     * is not NULL, one Sensor's spec.source for a device of this driver.
     * Failure: -EINVAL, err starts with the dotted field ("options.community"). */
    int (*check)(const json_t *options, const json_t *source, char *err, size_t errlen);
    int (*init)(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen);
    int (*poll)(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen);
    void (*close)(struct vg_device *dev);
};

/* Looks a driver up by name; NULL if unknown. */
const struct vg_driver *vg_driver_lookup(const char *name);

/* NULL-terminated list of the driver names (the Device kind's enum). */
const char *const *vg_driver_names(void);

static inline double vg_point_value(const struct vg_point *p, double raw)
{
    return raw * p->scale + p->offset;
}

/* Helpers for drivers' check functions: the source/option field as a string
 * / integer, with range; -EINVAL naming prefix.key when present but wrong,
 * -ENOENT when absent (and not required). */
int vg_drv_opt_string(const json_t *obj, const char *prefix, const char *key, int required,
                      const char **out, char *err, size_t errlen);
int vg_drv_opt_int(const json_t *obj, const char *prefix, const char *key, int required,
                   long long min, long long max, long long *out, char *err, size_t errlen);

/* Refuses any key of obj not in allowed (NULL-terminated): -EINVAL with
 * "PREFIX.KEY: not used by the DRIVER driver (allowed, ...)", so a typo in a
 * manifest is never silently ignored. */
int vg_drv_check_keys(const json_t *obj, const char *prefix, const char *driver,
                      const char *const *allowed, char *err, size_t errlen);

/* Splits "host:port" (or "[v6]:port", or "host" with default_port). */
int vg_drv_host_port(const char *address, uint16_t default_port, char *host, size_t hostlen,
                     uint16_t *port, char *err, size_t errlen);

#endif

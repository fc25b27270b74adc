/*
 * drv_push.c - the "push" driver: devices that send their readings to
 * vigil's HTTP API instead of being polled (scripts, Telegraf, gateways
 * that speak InfluxDB line protocol or JSON).
 *
 * Readings arrive through POST /api/v1/write (line protocol, lineproto.h)
 * and POST /api/v1/readings (JSON, pushjson.h) and name their Sensor
 * directly, so the device needs no address and a sensor no source: the
 * driver accepts options {} and source {} only, so that a setting which
 * would have no effect is refused instead of silently ignored. It is
 * passive and has nothing to connect to: init, poll and close do nothing
 * and poll always succeeds. A pushed sensor goes stale when nothing
 * arrives for stale_after_s, like any other.
 */
#include "sense/driver.h"

static int push_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)options, key, v)
    {
        return vg_err(err, errlen, -EINVAL,
                      "options.%.64s: the push driver takes no options (readings arrive "
                      "through POST /api/v1/write and /api/v1/readings)",
                      key);
    }
    json_object_foreach((json_t *)source, key, v)
    {
        return vg_err(err, errlen, -EINVAL,
                      "source.%.64s: not used by the push driver (readings name the sensor)",
                      key);
    }
    return 0;
}

static int push_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    return 0;
}

static int push_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    return 0;
}

static void push_close(struct vg_device *dev)
{
}

const struct vg_driver vg_drv_push = {
    .name = "push",
    .help = "readings pushed to the HTTP API (POST /api/v1/write or /api/v1/readings)",
    .passive = 1,
    .check = push_check,
    .init = push_init,
    .poll = push_poll,
    .close = push_close,
};

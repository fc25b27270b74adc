/*
 * collect.h - runs the devices of a site: one thread per device, polling at
 * its interval with timeout, retries and backoff (driver.h), and hands what
 * the drivers read to one consumer through a bounded queue.
 *
 * Built from Device and Sensor objects as the state holds them. A sensor
 * whose source its device's driver refuses, a device whose driver is
 * unknown, or a sensor naming a device that does not exist is left out and
 * listed in problems(): one bad manifest never stops the others.
 *
 * Threads: vg_collector_new/start/drain/free are called from one consumer
 * thread (the daemon's loop). Device threads only touch their device and
 * the queue. A slow or dead device only delays its own thread.
 */
#ifndef VG_COLLECT_H
#define VG_COLLECT_H

#include <jansson.h>

#include "sense/driver.h"

typedef struct vg_collector vg_collector_t;

enum vg_collected_kind {
    VG_COL_VALUE,  /* a good value of points[point] */
    VG_COL_REJECT, /* a bad value (point may be SIZE_MAX: the device as a whole) */
    VG_COL_POLLED, /* one poll cycle ended: code 0 answered, < 0 failed (text says why) */
};

struct vg_collected {
    enum vg_collected_kind kind;
    uint32_t device; /* index, see vg_collector_device */
    size_t point;
    int64_t time_ms;
    double value;
    int code;
    char text[240]; /* reason (REJECT) or error (POLLED with code < 0) */
};

/* Builds the devices (no thread runs yet). site: only devices of this
 * site, or all when NULL. devices and sensors are arrays of objects; the
 * collector keeps a reference to devices and, of each sensor it polls, a
 * copy of its name and a reference to its spec.source. Never fails on bad objects (see
 * problems); -ENOMEM style failures only. */
int vg_collector_new(const json_t *devices, const json_t *sensors, const char *site,
                     vg_collector_t **out);

/* Starts one thread per device. wake (may be NULL) is called from a device
 * thread when the queue goes from empty to non-empty. */
int vg_collector_start(vg_collector_t *c, void (*wake)(void *ctx), void *ctx, char *err,
                       size_t errlen);

/* Moves up to max queued items into items; returns how many. */
size_t vg_collector_drain(vg_collector_t *c, struct vg_collected *items, size_t max);

/* Stops and joins the threads, closes the drivers, frees. NULL is fine. */
void vg_collector_free(vg_collector_t *c);

size_t vg_collector_n_devices(const vg_collector_t *c);
const struct vg_device *vg_collector_device(const vg_collector_t *c, uint32_t idx);

/* Configuration problems found when building: array of strings, borrowed. */
const json_t *vg_collector_problems(const vg_collector_t *c);

/* Items dropped because the queue was full (the consumer fell behind). */
uint64_t vg_collector_dropped(const vg_collector_t *c);

#define VG_COLLECT_QUEUE_MAX 65536

#endif

/*
 * collect.c - device threads and the queue between them and the consumer.
 *
 * Each device thread runs init, then poll every interval_ms: a failed poll
 * is retried up to `retries` times with a backoff that doubles from 100 ms
 * (capped at the interval), and one POLLED item reports the cycle's
 * outcome. A device whose init fails is retried the same way at its
 * interval, since "connection refused" in init is as transient as in poll.
 * Stopping wakes every thread at once through its condition variable.
 */
#include "sense/collect.h"

#include <pthread.h>
#include <time.h>

#include "core/say.h"
#include "sense/stype.h"

#define BACKOFF_FIRST_MS 100
#define DEFAULT_INTERVAL_MS 10000
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_RETRIES 2

struct devrun {
    struct vg_collector *owner;
    uint32_t idx;
    struct vg_device dev;
    const struct vg_driver *drv;
    struct vg_sink sink;
    pthread_t thread;
    int started;
};

struct vg_collector {
    json_t *devices, *problems;
    /* {device name: [its sensors]} while building (linear), then NULL: the
     * sensor objects are not kept, only each point's name and source, so a
     * collector of 100,000 sensors does not hold 100,000 objects */
    json_t *by_device;
    struct devrun *runs;
    size_t n_runs;
    pthread_mutex_t lock; /* queue, stop */
    pthread_cond_t stop_cond;
    int stopping;
    struct vg_collected *queue;
    size_t q_head, q_len; /* ring of VG_COLLECT_QUEUE_MAX */
    uint64_t dropped;
    void (*wake)(void *ctx);
    void *wake_ctx;
};

static int64_t wall_ms(void)
{
    return (int64_t)vg_wall_ms();
}

/* ---- queue ---- */

static void push(struct vg_collector *c, const struct vg_collected *item)
{
    int was_empty;
    pthread_mutex_lock(&c->lock);
    if (c->q_len == VG_COLLECT_QUEUE_MAX) {
        c->dropped++;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->queue[(c->q_head + c->q_len) % VG_COLLECT_QUEUE_MAX] = *item;
    was_empty = c->q_len++ == 0;
    pthread_mutex_unlock(&c->lock);
    if (was_empty && c->wake)
        c->wake(c->wake_ctx);
}

size_t vg_collector_drain(vg_collector_t *c, struct vg_collected *items, size_t max)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->q_len < max ? c->q_len : max;
    for (size_t i = 0; i < n; i++)
        items[i] = c->queue[(c->q_head + i) % VG_COLLECT_QUEUE_MAX];
    c->q_head = (c->q_head + n) % VG_COLLECT_QUEUE_MAX;
    c->q_len -= n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static void sink_value(struct vg_sink *sink, size_t point, int64_t time_ms, double value)
{
    struct devrun *run = sink->ctx;
    struct vg_collected item = {.kind = VG_COL_VALUE, .device = run->idx, .point = point,
                                .time_ms = time_ms, .value = value};
    push(run->owner, &item);
}

static void sink_reject(struct vg_sink *sink, size_t point, const char *reason)
{
    struct devrun *run = sink->ctx;
    struct vg_collected item = {.kind = VG_COL_REJECT, .device = run->idx, .point = point,
                                .time_ms = wall_ms()};
    snprintf(item.text, sizeof item.text, "%s", reason);
    push(run->owner, &item);
}

static void post_polled(struct devrun *run, int code, const char *err)
{
    struct vg_collected item = {.kind = VG_COL_POLLED, .device = run->idx, .point = SIZE_MAX,
                                .time_ms = wall_ms(), .code = code};
    snprintf(item.text, sizeof item.text, "%s", code ? err : "");
    push(run->owner, &item);
}

/* ---- device threads ---- */

/* Sleeps up to ms; returns 1 if the collector is stopping. */
static int nap(struct vg_collector *c, uint64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->stopping)
        if (pthread_cond_timedwait(&c->stop_cond, &c->lock, &until) == ETIMEDOUT)
            break;
    int stopping = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return stopping;
}

static int stopping(struct vg_collector *c)
{
    pthread_mutex_lock(&c->lock);
    int s = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* One cycle: the first attempt plus retries with backoff. */
static int attempt_cycle(struct devrun *run, int (*step)(struct devrun *, char *, size_t),
                         char *err, size_t errlen)
{
    uint64_t backoff = BACKOFF_FIRST_MS;
    int rc = step(run, err, errlen);
    for (uint32_t i = 0; rc && i < run->dev.retries; i++) {
        if (nap(run->owner, backoff))
            return rc;
        if (backoff * 2 <= run->dev.interval_ms)
            backoff *= 2;
        rc = step(run, err, errlen);
    }
    return rc;
}

static int step_init(struct devrun *run, char *err, size_t errlen)
{
    return run->drv->init(&run->dev, &run->sink, err, errlen);
}

static int step_poll(struct devrun *run, char *err, size_t errlen)
{
    return run->drv->poll(&run->dev, &run->sink, err, errlen);
}

static void *device_main(void *arg)
{
    struct devrun *run = arg;
    char err[512];
    int ready = 0;
    while (!stopping(run->owner)) {
        uint64_t start = vg_mono_ms();
        err[0] = '\0';
        int rc;
        if (!ready) {
            rc = attempt_cycle(run, step_init, err, sizeof err);
            ready = rc == 0;
            if (ready)
                rc = attempt_cycle(run, step_poll, err, sizeof err);
        } else {
            rc = attempt_cycle(run, step_poll, err, sizeof err);
        }
        if (rc && !err[0])
            snprintf(err, sizeof err, "%s", strerror(-rc > 0 ? -rc : EIO));
        post_polled(run, rc, err);
        uint64_t spent = vg_mono_ms() - start;
        if (nap(run->owner, spent < run->dev.interval_ms ? run->dev.interval_ms - spent : 0))
            break;
    }
    if (ready)
        run->drv->close(&run->dev);
    return NULL;
}

/* ---- building ---- */

static uint32_t spec_u32(const json_t *spec, const char *key, uint32_t dflt)
{
    const json_t *v = json_object_get(spec, key);
    return json_is_integer(v) ? (uint32_t)json_integer_value(v) : dflt;
}

static double spec_num(const json_t *spec, const char *key, double dflt)
{
    const json_t *v = json_object_get(spec, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const json_t *spec_obj(const json_t *spec, const char *key, const json_t *empty)
{
    const json_t *v = json_object_get(spec, key);
    return json_is_object(v) ? v : empty;
}

static const char *obj_name(const json_t *obj)
{
    return json_string_value(json_object_get(obj, "name"));
}

static void problem(struct vg_collector *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct vg_collector *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vg_warn("%s", msg);
    json_array_append_new(c->problems, json_string(msg));
}

static void add_points(struct vg_collector *c, struct devrun *run, const json_t *empty)
{
    size_t i;
    const json_t *sensor;
    json_array_foreach(json_object_get(c->by_device, run->dev.name), i, sensor) {
        const json_t *spec = json_object_get(sensor, "spec");
        const json_t *source = spec_obj(spec, "source", empty);
        char why[512];
        if (run->drv->check(run->dev.options, source, why, sizeof why)) {
            problem(c, "sensor '%s': %s", obj_name(sensor), why);
            continue;
        }
        struct vg_point *p = &run->dev.points[run->dev.n_points++];
        p->sensor = vg_strdup(obj_name(sensor));
        p->type = vg_stype_lookup(json_string_value(json_object_get(spec, "type")));
        p->source = json_incref((json_t *)source); /* outlives the sensor object */
        p->scale = spec_num(spec, "scale", 1);
        p->offset = spec_num(spec, "offset", 0);
    }
}

static int build_device(struct vg_collector *c, const json_t *device, const json_t *empty)
{
    const json_t *spec = json_object_get(device, "spec");
    const char *driver = json_string_value(json_object_get(spec, "driver"));
    const struct vg_driver *drv = vg_driver_lookup(driver);
    if (!drv) {
        problem(c, "device '%s': driver '%s' is not available in this build", obj_name(device),
                driver ? driver : "");
        return 0;
    }
    struct devrun *run = &c->runs[c->n_runs];
    memset(run, 0, sizeof *run);
    run->owner = c;
    run->idx = (uint32_t)c->n_runs;
    run->drv = drv;
    run->sink = (struct vg_sink){sink_value, sink_reject, run};
    struct vg_device *d = &run->dev;
    d->name = obj_name(device);
    d->driver = drv->name;
    d->site = json_string_value(json_object_get(spec, "site"));
    const char *addr = json_string_value(json_object_get(spec, "address"));
    d->address = addr ? addr : "";
    d->options = spec_obj(spec, "options", empty);
    d->interval_ms = spec_u32(spec, "interval_ms", DEFAULT_INTERVAL_MS);
    d->timeout_ms = spec_u32(spec, "timeout_ms", DEFAULT_TIMEOUT_MS);
    d->retries = spec_u32(spec, "retries", DEFAULT_RETRIES);
    d->points = vg_calloc(json_array_size(json_object_get(c->by_device, d->name)) + 1,
                          sizeof *d->points);
    add_points(c, run, empty);
    c->n_runs++;
    return 0;
}

/* Groups the sensors by the device they name. */
static void group_sensors(struct vg_collector *c, const json_t *sensors)
{
    size_t i;
    json_t *sensor;
    json_array_foreach(sensors, i, sensor) {
        const char *dev =
            json_string_value(json_object_get(json_object_get(sensor, "spec"), "device"));
        if (!dev)
            continue;
        json_t *list = json_object_get(c->by_device, dev);
        if (!list) {
            list = json_array();
            json_object_set_new(c->by_device, dev, list);
        }
        json_array_append(list, sensor);
    }
}

/* Sensors that name a device that does not exist. */
static void orphan_sensors(struct vg_collector *c)
{
    json_t *known = json_object();
    size_t i;
    const json_t *device;
    json_array_foreach(c->devices, i, device)
        json_object_set_new(known, obj_name(device), json_true());
    const char *dev;
    json_t *list, *sensor;
    json_object_foreach(c->by_device, dev, list) {
        if (json_object_get(known, dev))
            continue;
        json_array_foreach(list, i, sensor)
            problem(c, "sensor '%s': device '%s' does not exist", obj_name(sensor), dev);
    }
    json_decref(known);
}

int vg_collector_new(const json_t *devices, const json_t *sensors, const char *site,
                     vg_collector_t **out)
{
    struct vg_collector *c = vg_calloc(1, sizeof *c);
    c->devices = json_incref((json_t *)devices);
    c->problems = json_array();
    c->by_device = json_object();
    group_sensors(c, sensors);
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->stop_cond, &attr);
    pthread_condattr_destroy(&attr);
    c->queue = vg_malloc(VG_COLLECT_QUEUE_MAX * sizeof *c->queue);
    c->runs = vg_calloc(json_array_size(devices) + 1, sizeof *c->runs);
    /* one shared empty object for absent options/source; owned via problems' sibling */
    static json_t *empty;
    if (!empty)
        empty = json_object();
    size_t i;
    const json_t *device;
    json_array_foreach(devices, i, device) {
        const char *dsite =
            json_string_value(json_object_get(json_object_get(device, "spec"), "site"));
        if (site && (!dsite || strcmp(site, dsite) != 0))
            continue;
        build_device(c, device, empty);
    }
    if (!site) /* a site's collector: the other sites' devices are not ours */
        orphan_sensors(c);
    json_decref(c->by_device);
    c->by_device = NULL;
    *out = c;
    return 0;
}

int vg_collector_start(vg_collector_t *c, void (*wake)(void *ctx), void *ctx, char *err,
                       size_t errlen)
{
    c->wake = wake;
    c->wake_ctx = ctx;
    for (size_t i = 0; i < c->n_runs; i++) {
        int rc = pthread_create(&c->runs[i].thread, NULL, device_main, &c->runs[i]);
        if (rc)
            return vg_err(err, errlen, -rc, "cannot start a thread for device '%s': %s",
                          c->runs[i].dev.name, strerror(rc));
        c->runs[i].started = 1;
    }
    return 0;
}

void vg_collector_free(vg_collector_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_broadcast(&c->stop_cond);
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < c->n_runs; i++) {
        if (c->runs[i].started)
            pthread_join(c->runs[i].thread, NULL);
        for (size_t k = 0; k < c->runs[i].dev.n_points; k++) {
            struct vg_point *p = &c->runs[i].dev.points[k];
            free((char *)p->sensor);
            json_decref((json_t *)p->source);
        }
        free(c->runs[i].dev.points);
    }
    free(c->runs);
    free(c->queue);
    pthread_cond_destroy(&c->stop_cond);
    pthread_mutex_destroy(&c->lock);
    json_decref(c->devices);
    json_decref(c->problems);
    free(c);
}

size_t vg_collector_n_devices(const vg_collector_t *c)
{
    return c->n_runs;
}

const struct vg_device *vg_collector_device(const vg_collector_t *c, uint32_t idx)
{
    return idx < c->n_runs ? &c->runs[idx].dev : NULL;
}

const json_t *vg_collector_problems(const vg_collector_t *c)
{
    return c->problems;
}

uint64_t vg_collector_dropped(const vg_collector_t *c)
{
    pthread_mutex_lock((pthread_mutex_t *)&c->lock);
    uint64_t n = c->dropped;
    pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
    return n;
}

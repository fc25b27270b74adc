/*
 * drv_sim.c - the "sim" driver: a Device whose sensors read the physical
 * model of sim.c instead of hardware, for the demo and the tests.
 *
 * Each device owns one model (one site's hall, cooling and power chain).
 * Its clock is the real one scaled by options.speed: every poll advances
 * the model by the real time elapsed since init x speed and reports every
 * sensor at the poll's wall-clock time. A Sensor says what it reads with
 * source {quantity: NAME}; a missing or unknown quantity, or one that does
 * not match the sensor's type, is rejected on every poll for that sensor
 * alone. The model never fails, so poll always returns 0. Several inlet
 * sensors of one device differ by a fixed placement offset derived from the
 * sensor's name (sim.h); the Sensor's own scale and offset apply on top.
 * The model starts at time 0 in normal operation on every init (a restart
 * of vigild restarts the plant). vg_sim_trigger may change the speed of a
 * running model (a demo hurries a scenario along): the clock is rebased at
 * the change, so simulated time never jumps.
 *
 * Running devices are kept in a registry so that vg_sim_trigger (called by
 * the API from any thread) can start a scenario on one. Lock order: the
 * registry, then a device. A device is reachable only between init and
 * close; close takes it out of the registry before freeing it.
 */
#include "sense/driver.h"

#include <pthread.h>

#include "sense/sim.h"
#include "sense/stype.h"

struct sim_point {
    int quantity; /* enum vg_sim_quantity, or -1: rejected with reason */
    uint64_t key; /* vg_sim_key of the sensor name */
    char reason[128];
};

struct sim_device {
    struct sim_device *next; /* registry */
    char *name;
    pthread_mutex_t lock; /* sim */
    struct vg_sim *sim;
    double speed;
    uint64_t base_mono_ms; /* the clock reads base_sim_s here, then runs at speed */
    double base_sim_s;
    struct sim_point *points;
    double *values; /* poll's scratch, one per point */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_device *registry;

static int check_source(const json_t *source, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)source, key, v)
    {
        if (strcmp(key, "quantity") != 0)
            return vg_err(err, errlen, -EINVAL,
                          "source.%.64s: not used by the sim driver (it reads quantity)", key);
    }
    const char *name = NULL;
    int rc = vg_drv_opt_string(source, "source", "quantity", 1, &name, err, errlen);
    if (rc)
        return rc;
    if (vg_sim_quantity_lookup(name) < 0)
        return vg_err(err, errlen, -EINVAL, "source.quantity: '%.64s' is not one of %s", name,
                      vg_sim_quantity_list());
    return 0;
}

static int sim_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    int rc = vg_sim_check_options(options, err, errlen);
    if (!rc && source)
        rc = check_source(source, err, errlen);
    return rc;
}

/* What a point reads, or why it cannot be read. */
static void resolve_point(const struct vg_point *p, struct sim_point *sp)
{
    sp->quantity = -1;
    sp->key = vg_sim_key(p->sensor);
    if (check_source(p->source, sp->reason, sizeof sp->reason))
        return;
    int q = vg_sim_quantity_lookup(json_string_value(json_object_get(p->source, "quantity")));
    int want = vg_sim_quantity_stype((enum vg_sim_quantity)q);
    if (want != p->type) {
        snprintf(sp->reason, sizeof sp->reason,
                 "source.quantity: '%s' is a %s, the sensor is a %s",
                 vg_sim_quantity_name((enum vg_sim_quantity)q), vg_stype_info(want)->name,
                 vg_stype_info(p->type)->name);
        return;
    }
    sp->quantity = q;
}

static int registry_add(struct sim_device *sd, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&registry_lock);
    for (struct sim_device *it = registry; it; it = it->next)
        if (strcmp(it->name, sd->name) == 0)
            rc = vg_err(err, errlen, -EEXIST, "sim device '%s' is already running", sd->name);
    if (!rc) {
        sd->next = registry;
        registry = sd;
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

static void registry_remove(struct sim_device *sd)
{
    pthread_mutex_lock(&registry_lock);
    for (struct sim_device **it = &registry; *it; it = &(*it)->next)
        if (*it == sd) {
            *it = sd->next;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
}

static void device_free(struct sim_device *sd)
{
    if (!sd)
        return;
    vg_sim_free(sd->sim);
    pthread_mutex_destroy(&sd->lock);
    free(sd->points);
    free(sd->values);
    free(sd->name);
    free(sd);
}

/* Brings the model to the present; with sd->lock held. */
static void advance(struct sim_device *sd)
{
    double target_s =
        sd->base_sim_s + (double)(vg_mono_ms() - sd->base_mono_ms) / 1000.0 * sd->speed;
    vg_sim_step(sd->sim, target_s - vg_sim_time(sd->sim));
}

static int sim_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct sim_device *sd = vg_calloc(1, sizeof *sd);
    sd->name = vg_strdup(dev->name);
    pthread_mutex_init(&sd->lock, NULL);
    int rc = vg_sim_new(dev->options, vg_sim_option_seed(dev->options, dev->name), &sd->sim,
                        err, errlen);
    if (rc)
        goto fail;
    sd->speed = vg_sim_option_speed(dev->options);
    sd->points = vg_calloc(dev->n_points ? dev->n_points : 1, sizeof *sd->points);
    sd->values = vg_calloc(dev->n_points ? dev->n_points : 1, sizeof *sd->values);
    for (size_t i = 0; i < dev->n_points; i++)
        resolve_point(&dev->points[i], &sd->points[i]);
    sd->base_mono_ms = vg_mono_ms();
    rc = registry_add(sd, err, errlen);
    if (rc)
        goto fail;
    dev->drv = sd;
    return 0;
fail:
    device_free(sd);
    return rc;
}

static int sim_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct sim_device *sd = dev->drv;
    pthread_mutex_lock(&sd->lock);
    advance(sd);
    for (size_t i = 0; i < dev->n_points; i++)
        if (sd->points[i].quantity >= 0)
            sd->values[i] = vg_sim_read(sd->sim, (enum vg_sim_quantity)sd->points[i].quantity,
                                        sd->points[i].key);
    pthread_mutex_unlock(&sd->lock);
    int64_t now_ms = (int64_t)vg_wall_ms();
    for (size_t i = 0; i < dev->n_points; i++) {
        if (sd->points[i].quantity < 0)
            sink->reject(sink, i, sd->points[i].reason);
        else
            sink->value(sink, i, now_ms, vg_point_value(&dev->points[i], sd->values[i]));
    }
    return 0;
}

static void sim_close(struct vg_device *dev)
{
    struct sim_device *sd = dev->drv;
    if (!sd)
        return;
    registry_remove(sd);
    device_free(sd);
    dev->drv = NULL;
}

/* With sd->lock held: the new speed from now on (advance first). */
static void set_speed(struct sim_device *sd, double speed)
{
    sd->base_sim_s = vg_sim_time(sd->sim);
    sd->base_mono_ms = vg_mono_ms();
    sd->speed = speed;
}

int vg_sim_trigger(const char *device, const char *scenario, double speed, double *speed_now,
                   char *err, size_t errlen)
{
    if (speed < 0 || speed > VG_SIM_MAX_SPEED || (!scenario && speed == 0))
        return vg_err(err, errlen, -EINVAL,
                      speed ? "speed: must be > 0 and <= %g" : "give a scenario or a speed",
                      VG_SIM_MAX_SPEED);
    int rc = -ENOENT;
    pthread_mutex_lock(&registry_lock);
    struct sim_device *sd = registry;
    while (sd && strcmp(sd->name, device ? device : "") != 0)
        sd = sd->next;
    if (sd) {
        pthread_mutex_lock(&sd->lock);
        advance(sd);
        rc = scenario ? vg_sim_set_scenario(sd->sim, scenario, err, errlen) : 0;
        if (!rc && speed > 0)
            set_speed(sd, speed);
        if (speed_now)
            *speed_now = sd->speed;
        pthread_mutex_unlock(&sd->lock);
    } else {
        vg_err(err, errlen, rc, "no running sim device '%.64s'", device ? device : "");
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

const struct vg_driver vg_drv_sim = {
    .name = "sim",
    .help = "simulated site (hall, cooling, mains, ATS, UPS, generator, fire, doors) for demos "
            "and tests; source {quantity: NAME}",
    .passive = 0,
    .check = sim_check,
    .init = sim_init,
    .poll = sim_poll,
    .close = sim_close,
};

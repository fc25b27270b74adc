/*
 * monitor_service.c - the facility monitor as a service (service.h): the
 * first row of vg_services[]. Its data half is the alert facts
 * (alerts.c); its routes are the facility endpoints (api/routes_monitor.c).
 */
#include "monitor/alerts.h"
#include "monitor/monitor.h"

#include "api/api_int.h" /* its routes' handlers */

static int start(const struct vg_service_env *env, void **instance, char *err, size_t errlen)
{
    struct vg_monitor_opts opts = {.site = env->site, .no_collect = env->no_collect};
    vg_monitor_t *mon = NULL;
    int rc = vg_monitor_start(env->base, env->member, env->cluster, &opts, &mon, err, errlen);
    *instance = mon;
    return rc;
}

static void stop(void *instance)
{
    vg_monitor_free(instance);
}

static void on_role(void *instance, enum vg_service_role role)
{
    vg_monitor_set_role(instance, role == VG_SERVICE_PRIMARY);
}

static void on_commit(void *instance, const vg_change_t *change)
{
    vg_monitor_on_commit(instance, change);
}

static void metrics(void *instance, vg_buf_t *out)
{
    vg_monitor_metrics(instance, out);
}

static int disk_full(void *instance)
{
    return vg_monitor_disk_full(instance);
}

static int channel(void *instance, struct vg_cluster_channel *out)
{
    *out = vg_monitor_channel(instance);
    return 0;
}

#define GET  EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST

static const struct vg_route routes[] = {
    {POST, "/api/v1/write", VG_PERM_WRITE, VG_ROUTE_PRIMARY, vg_api_push_lp},
    {POST, "/api/v1/readings", VG_PERM_WRITE, VG_ROUTE_PRIMARY, vg_api_push_json},
    {GET, "/api/v1/series", VG_PERM_READ, 0, vg_api_series},
    {GET, "/api/v1/sensors", VG_PERM_READ, 0, vg_api_sensors},
    {GET, "/api/v1/facility", VG_PERM_READ, 0, vg_api_facility},
    {GET, "/api/v1/rules", VG_PERM_READ, 0, vg_api_rules},
    {GET, "/api/v1/alerts", VG_PERM_READ, 0, vg_api_alerts},
    /* a scenario changes the site's simulator, not the log: any member */
    {POST, "/api/v1/sim/{device}", VG_PERM_WRITE, 0, vg_api_sim},
    {0, NULL, 0, 0, NULL},
};

static const char *const kinds[] = {"Site", "Zone", "Device", "Sensor", "Rule", NULL};
static const char *const cli[] = {"sensors", "facility", "series", "alerts",
                                  "push",    "sim",      NULL};

const struct vg_service vg_monitor_service = {
    .name = "monitor",
    .kinds = kinds,
    .data = &vg_alerts_data,
    .start = start,
    .stop = stop,
    .on_role = on_role,
    .on_commit = on_commit,
    .metrics = metrics,
    .disk_full = disk_full,
    .channel = channel,
    .routes = routes,
    .cli = cli,
};

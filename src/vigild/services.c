/*
 * services.c - the service table: every capability vigild runs beside the
 * member and the cluster runtime, in start order (service.h). Adding a
 * service is adding its row here (and its data half's row in
 * src/service/service_data.c).
 */
#include "service/service.h"

extern const struct vg_service vg_agents_service;   /* src/agents/agents_service.c */
extern const struct vg_service vg_monitor_service;  /* src/monitor/monitor_service.c */
extern const struct vg_service vg_incident_service; /* src/incident/incident_service.c */
extern const struct vg_service vg_protect_service;  /* src/protect/protect_service.c */
extern const struct vg_service vg_web_service;      /* src/web/web_service.c */

const struct vg_service *const vg_services[] = {
    &vg_agents_service,   /* company services moved with the primary role; first, so
                             that a member that is not primary fences its site's
                             databases before anything else */
    &vg_monitor_service,  /* facility monitoring: devices, readings, rules, alerts */
    &vg_incident_service, /* incidents, escalation, paging, on-call */
    &vg_protect_service,  /* planned switchover away from a site in trouble */
    &vg_web_service,      /* the dashboard: its files and its live stream */
    NULL,
};

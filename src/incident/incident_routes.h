/*
 * incident_routes.h - the incidents service's routes (incident_routes.c).
 */
#ifndef VG_INCIDENT_ROUTES_H
#define VG_INCIDENT_ROUTES_H

#include "service/service.h"

extern const struct vg_route vg_incident_routes[];

struct vg_call;
void vg_api_incidents(struct vg_call *call);
void vg_api_incident(struct vg_call *call);
void vg_api_incident_ack(struct vg_call *call);
void vg_api_incident_resolve(struct vg_call *call);
void vg_api_incident_note(struct vg_call *call);
void vg_api_ack_link_show(struct vg_call *call);
void vg_api_ack_link(struct vg_call *call);
void vg_api_oncall(struct vg_call *call);
void vg_api_oncall_shifts(struct vg_call *call);
void vg_api_oncall_ics(struct vg_call *call);
void vg_api_inbound_alertmanager(struct vg_call *call);
void vg_api_inbound_pagerduty(struct vg_call *call);

#endif

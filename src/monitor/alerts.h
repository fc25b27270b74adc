/*
 * alerts.h - the committed alert facts: the facility monitor's slice of the
 * state (service.h), built from VG_REC_ALERT records on both members.
 *
 * The monitor is their one owner: its rule engine writes the records on the
 * primary, this slice is what they mean once committed, and the API's
 * alert views, the facility view and a new primary's rule seeding read it.
 */
#ifndef VG_ALERTS_H
#define VG_ALERTS_H

#include "service/service.h"

/* Newest changes kept for /api/v1/alerts. */
#define VG_ALERT_LOG_CAP 2000

extern const struct vg_service_data vg_alerts_data;

/* {instance id: latest change} for every instance not "ok". Borrowed. */
json_t *vg_alerts_active(const vg_state_t *st);
/* Rule state changes, oldest first, at most VG_ALERT_LOG_CAP. Borrowed. */
json_t *vg_alerts_log(const vg_state_t *st);

#endif

/*
 * inbound.h - alerts from other monitoring systems (inbound.c): an
 * Alertmanager webhook body (version 4) and a PagerDuty Events API v2 event,
 * checked whole and turned into incident changes.
 *
 * A change: {"action": "trigger"|"acknowledge"|"resolve", "key": dedup key,
 * "severity", "summary", "labels", "site"?} (severity, summary and labels
 * for a trigger only; "dedup_key" too for PagerDuty).
 */
#ifndef VG_INBOUND_H
#define VG_INBOUND_H

#include <jansson.h>

#include "core/vg.h"

#define VG_INBOUND_ALERTS_MAX 1000 /* alerts in one Alertmanager request */
#define VG_INBOUND_LABELS_MAX 64   /* labels or annotations of one alert */

/* *changes: a new array, one change per alert, in order. On a fault
 * returns -EINVAL, err naming it and field its path ("alerts[2].status"),
 * and *changes is NULL. */
int vg_inbound_alertmanager(const json_t *body, json_t **changes, char *err, size_t errlen,
                            char *field, size_t fieldlen);

/* *change: a new object. new_key is the dedup key a trigger without one
 * is given (PagerDuty makes one up and answers it). */
int vg_inbound_pagerduty(const json_t *body, const char *new_key, json_t **change, char *err,
                         size_t errlen, char *field, size_t fieldlen);

#endif

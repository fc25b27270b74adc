/*
 * drill.h - the pure parts of a DR drill (docs/protect.md, "Drills"):
 * reading a phase's outcome from the cluster's events, and writing a
 * drill's report for people. The runtime (drill_routes.c) gathers the
 * events and stores the report; nothing here reads a clock or the network,
 * so tests/unit/test_drill.c gives the inputs directly.
 *
 * A drill's report (a JSON object, kept in the protect slice):
 *   {id, state: "running"|"passed"|"failed", why?, reason, by, switch_back,
 *    started, ended?, from, phase: "switchover"|"switch_back"|"done",
 *    steps: [{name, from, to, epoch?, started, ended?, duration_ms?,
 *             vigil_ms?, result, message?, services: [{service, site,
 *             rto_ms, result}]}],
 *    data_loss: {markers_written, markers_lost}, marks: [{phase, index}]}
 * Times are ms since the epoch, as the acting primary's clock saw them.
 */
#ifndef VG_PROTECT_DRILL_H
#define VG_PROTECT_DRILL_H

#include <jansson.h>

#include "core/buf.h"

/* The start of the reason of a drill's switchover in the cluster's event
 * (cluster.c writes "planned switchover by ACTOR: REASON"; a drill's actor
 * is "drill"): such a switchover starts no protect cooldown. */
#define VG_DRILL_REASON_PREFIX "planned switchover by drill:"

/* An event's "time" (RFC 3339, UTC, with milliseconds) in ms, or 0. */
int64_t vg_drill_event_ms(const char *t);

/* What the events say of the role move into epoch that a drill step
 * started at started_ms, filled into step (borrowed, changed in place):
 * vigil_ms (started → the cluster's switchover event of that epoch),
 * services (per service at the new site: rto_ms, started → its last step of
 * that epoch, and its result) and, once the agents' move of that epoch is
 * done (or with_services is 0 and the role event is there), ended,
 * duration_ms and result ("ok", or "failed" with message). Returns 1 when
 * the step is complete, 0 while waiting. */
int vg_drill_measure(const json_t *events, uint64_t epoch, int with_services, json_t *step);

/* The report as Markdown, appended to out. Total: a report missing fields
 * prints "?" for them. */
void vg_drill_markdown(const json_t *drill, vg_buf_t *out);

#endif

/*
 * incidents.h - the committed incidents: the incidents service's slice of
 * the state (service.h), built from VG_REC_INCIDENT records on both members.
 *
 * An incident is one condition (its dedup key: "rule/<alert id>",
 * "cluster/mirroring", "am/<fingerprint>") from the moment it triggers until
 * it resolves, with everything that happened to it on its timeline. Only the
 * acting primary writes these records (the engine, engine.c, and the API);
 * what they mean is decided here, deterministically, so both sites and a new
 * primary agree on who was paged, who acknowledged and which step of the
 * escalation is next.
 *
 * Record payloads (all carry "time", ms since the epoch, set by the writer):
 *   open      {key, severity, summary, source, site?, zone?, labels?, policy?,
 *              ref?, event_index?}    a key already open is a re-trigger
 *   ack       {id, by, via: "api"|"link", link?}   link: the nonce of a
 *              signed link, refused when already used
 *   resolve   {id, by, reason, event_index?}
 *   note      {id, by, text}
 *   escalate  {id, step, round, pages: [page intent]}
 *   notify    {id, reason: "resolve"|"ack", pages: [page intent]}
 *   paged     {id, key, ok, permanent, attempts, status, detail}
 *   silenced  {id, by, until}
 *   handoff   {schedule, person, key, until?}   someone else is on call now
 *   handoff_paged {schedule, key, ok, detail}   the notice to them went out
 * A page intent: {key, target, method, channel, event, due}. Its key is the
 * idempotency key every delivery of it carries; "paged" is its outcome.
 */
#ifndef VG_INCIDENTS_H
#define VG_INCIDENTS_H

#include "service/service.h"

#define VG_INCIDENT_KEEP_RESOLVED 5000 /* resolved incidents kept, newest */
#define VG_INCIDENT_TIMELINE_MAX  500  /* entries per incident; then the oldest go */
#define VG_INCIDENT_PAGES_MAX     1000 /* page intents per incident */
#define VG_INCIDENT_CHANGES       8192 /* changed ids remembered for the engine */

extern const struct vg_service_data vg_incidents_data;

/* {"<id>": incident} of every incident kept, open or resolved. Borrowed. */
json_t *vg_incidents_all(const vg_state_t *st);
/* The incident with id, or NULL. Borrowed. */
json_t *vg_incidents_get(const vg_state_t *st, uint64_t id);
/* The id of the open incident with dedup key, or 0. */
uint64_t vg_incidents_open_id(const vg_state_t *st, const char *key);
/* The highest cluster event index an incident record has acted on. */
uint64_t vg_incidents_event_cursor(const vg_state_t *st);
/* {schedule: {person, key, state: pending|delivered|failed, time, until?}}:
 * the last hand-off notice of each schedule. Borrowed. */
json_t *vg_incidents_handoffs(const vg_state_t *st);
/* Incidents not resolved. */
size_t vg_incidents_n_open(const vg_state_t *st);
/* Calls fn with the id of every incident changed by the records applied
 * since *seq (an id may come more than once; it may no longer exist), and
 * moves *seq on. 1 when the changes since *seq are no longer all known
 * (more than VG_INCIDENT_CHANGES, or a state loaded since): the caller
 * must look at every incident. */
int vg_incidents_changed(const vg_state_t *st, uint64_t *seq, void (*fn)(void *, uint64_t),
                         void *ctx);

#endif

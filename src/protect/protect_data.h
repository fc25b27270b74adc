/*
 * protect_data.h - the protect service's slice of the state (service.h),
 * built from VG_REC_PROTECT records on both members: the operator's
 * freeze, the last switchover the service started (its cooldown) and the
 * decisions it recorded. Being records, they survive a failover: the new
 * primary reads the same freeze and the same cooldown.
 *
 * Record payloads (all carry "time", ms since the epoch, set by the writer):
 *   freeze    {by, reason}
 *   unfreeze  {by}
 *   decision  {decision: "switchover"|"declined"|"failed", site, to?,
 *              condition, since, code?, reason, member}
 *   drill     {drill: {id, state, ...}}: a DR drill's report as it stands
 *             (docs/protect.md, "Drills"), replacing the one with its id
 *   drill_mark {id, phase}: a data-loss marker written before a drill's
 *             switchover, gathered into the drill's "marks"
 * A malformed payload changes nothing.
 */
#ifndef VG_PROTECT_DATA_H
#define VG_PROTECT_DATA_H

#include "service/service.h"

#define VG_PROTECT_LOG_CAP    200  /* decisions kept, newest */
#define VG_PROTECT_REASON_MAX 1000 /* characters of a freeze's reason */
#define VG_PROTECT_DRILL_CAP  50   /* drill reports kept, newest */

extern const struct vg_service_data vg_protect_data;

/* All borrowed, NULL when there is none. */
json_t *vg_protect_frozen(const vg_state_t *st);          /* {by, reason, time, index} */
json_t *vg_protect_last_switchover(const vg_state_t *st); /* a decision, "failed": true
                                                             once it failed */
json_t *vg_protect_last_decision(const vg_state_t *st);
json_t *vg_protect_decisions(const vg_state_t *st); /* [decision], oldest first; never NULL */
json_t *vg_protect_drills(const vg_state_t *st);    /* [drill], oldest first; never NULL */
json_t *vg_protect_drill(const vg_state_t *st, const char *id); /* or NULL */

#endif

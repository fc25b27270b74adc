/*
 * agents_worker.h - the thread that runs the agents' blocking actions one
 * after the other (agents.h), so the event loop never waits for a database,
 * a hook or a health URL. The loop posts jobs and takes reports; the worker
 * touches nothing of the loop's.
 *
 * Reports are JSON objects, handed over whole (the worker keeps no
 * reference):
 *   {"type":"move","phase":"start"|"done","site","epoch","reason","services",
 *    "failed","duration_ms","time"}
 *   {"type":"step","service","site","step","result":"ok"|"failed"|"unreachable"|
 *    "skipped","message","duration_ms","attempts","time","epoch","reason",
 *    "enforced"?,"output"?}
 *   {"type":"probe","service","site","role","role_detail","health",
 *    "health_detail","time"}
 */
#ifndef VG_AGENTS_WORKER_H
#define VG_AGENTS_WORKER_H

#include "agents/agents.h"

#define VG_AGENTS_REPORTS_MAX 4096 /* reports waiting for the loop; past it the oldest go */

enum vg_agents_job_kind {
    VG_AGENTS_MOVE,  /* move every service to this site (the acting primary's) */
    VG_AGENTS_PROBE, /* each endpoint's role and health; fence what must not write */
};

struct vg_agents_job {
    enum vg_agents_job_kind kind;
    struct vg_agent_spec *specs; /* owned by the job (vg_agent_specs_free) */
    size_t n_specs;
    char site[VG_NAME_MAX + 1]; /* this vigild's site */
    int primary;                /* posted by the acting primary */
    uint64_t term;              /* which stretch as acting primary (below) */
    uint64_t epoch;
    char reason[64]; /* switchover, failover, forced, resumed, applied, ... */
};

typedef struct vg_agents_worker vg_agents_worker_t;

int vg_agents_worker_new(vg_agents_worker_t **out, char *err, size_t errlen);
/* Waits for the step under way to end, drops the rest; NULL is fine. */
void vg_agents_worker_free(vg_agents_worker_t *w);

/* Takes job (heap, freed by the worker). A move goes before every probe; a
 * probe is dropped while another waits. */
void vg_agents_worker_post(vg_agents_worker_t *w, struct vg_agents_job *job);
/* Frees a job that was never posted. */
void vg_agents_job_free(struct vg_agents_job *job);

/* The term of this member as acting primary (counted up each time it
 * becomes one), or 0 while it is not: a move posted in another term stops
 * before its next step. (Not the epoch: a mirror lost or restored changes
 * the epoch, and the move under way must go on.) */
void vg_agents_worker_set_primary(vg_agents_worker_t *w, uint64_t term);

/* Readable when reports wait (an eventfd). */
int vg_agents_worker_fd(const vg_agents_worker_t *w);
/* The waiting reports, oldest first (a new array), and clears the fd. */
json_t *vg_agents_worker_take(vg_agents_worker_t *w);
/* 1 while a job runs or waits. */
int vg_agents_worker_busy(vg_agents_worker_t *w);

#endif

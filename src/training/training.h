/*
 * training.h - who must complete which training course, and who is late.
 *
 * Pure: no I/O, no clock, no state; the caller passes the objects (as
 * vg_state_list returns them: [{kind, name, spec, ...}]) and the time. The
 * API (training_routes.c) and the incidents service, which opens a warning
 * incident for each overdue course routed to the person's manager, both
 * call vg_training_status, so they always agree on who is overdue.
 *
 * Who must take a course (spec.required_for): the people it names, the
 * members of the teams it names (a Team that does not exist adds nobody),
 * and with all: true everyone: every Person object, or, while no Person is
 * declared, everyone named by a Completion, by a course's people or by a
 * Team. Completions of a course for a person who need not take it are
 * ignored; the latest completion of a required one counts.
 *
 * Status of a (person, course), with calendar days in UTC:
 *   due_on = latest completed_on + renewal_days
 *   "ok"        today is more than VG_TRAINING_SOON_DAYS before due_on
 *   "due-soon"  from VG_TRAINING_SOON_DAYS before due_on to due_on +
 *               grace_days (late, but within the grace)
 *   "overdue"   after due_on + grace_days: the incidents service raises
 *   "never"     never completed: due at once (due_on is null). Listed to
 *               be chased, no incident: a new course or a new hire would
 *               otherwise page every manager at once.
 */
#ifndef VG_TRAINING_H
#define VG_TRAINING_H

#include <jansson.h>
#include <stdint.h>

#define VG_TRAINING_SOON_DAYS 30

/* The statuses, in the order summaries list them; NULL-terminated. */
extern const char *const vg_training_statuses[];

/*
 * Computes the status of every (person, course) that applies. Any of the
 * arrays may be NULL (none of that kind); objects that are malformed (no
 * name, no spec, a date that does not parse) are skipped. On success *out
 * is a new array sorted by person then course, of
 *   {person, course, title, status, completed_on, due_on, manager,
 *    evidence}
 * where completed_on and due_on are "YYYY-MM-DD" or null, manager is the
 * Person's spec.manager or null, evidence the latest completion's or null.
 * Returns 0 (the caller decrefs *out); nothing is borrowed from the inputs.
 */
int vg_training_status(const json_t *courses, const json_t *completions, const json_t *people,
                       const json_t *teams, int64_t now_ms, json_t **out);

/* {"ok": N, "due-soon": N, "overdue": N, "never": N} over items (as above).
 * New reference. */
json_t *vg_training_summary(const json_t *items);

/* 1 if status is one of vg_training_statuses. */
int vg_training_status_known(const char *status);

#endif

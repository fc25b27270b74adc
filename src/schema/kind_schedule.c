/*
 * kind_schedule.c - the Schedule kind: who is on call when. The spec's
 * form and rules are oncall/schedule.h's (docs/oncall.md); this file only
 * declares its fields, whose lists the schedule's own check reads.
 */
#include "schema/schema.h"

#include "oncall/schedule.h"

static const struct vg_field schedule_fields[] = {
    {"timezone", VG_F_STRING, 1, NULL, 0, 64,
     "IANA time zone of every local time of the schedule, e.g. Europe/Amsterdam"},
    {"layers", VG_F_LIST, 1, NULL, 0, 16,
     "list of {name, people, start, turn, restrictions}: rotations, at most one applying at "
     "any time"},
    {"overrides", VG_F_LIST, 0, NULL, 0, 256,
     "list of {person, start, end}: who is on call instead, whatever the layers say"},
    {"swaps", VG_F_LIST, 0, NULL, 0, 256,
     "list of {from, to, start, end}: from's shifts in [start, end) are to's"},
    {.name = NULL},
};

const struct vg_kind vg_kind_schedule = {
    "Schedule",
    "who is on call when: rotations with weekly windows, overrides and swaps",
    schedule_fields,
    vg_schedule_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

/*
 * kind_completion.c - the Completion kind: one person completed one course
 * on one day. Records are facts, imported from the training provider's
 * export (`vigil training import`), one object each, so a wrong line can be
 * deleted on its own; the latest completion of a person's course is the
 * one that counts. The object's name is free; the importer names them
 * "PERSON--COURSE--DATE" (hashed when that is too long).
 */
#include "schema/schema.h"

#include "core/text.h"
#include "training/caldate.h"

#define EVIDENCE_MAX 256

static const struct vg_field completion_fields[] = {
    {"person", VG_F_NAME, 1, NULL, 0, 0, "name of the Person who completed the course"},
    {"course", VG_F_NAME, 1, NULL, 0, 0, "name of the Course completed"},
    {"completed_on", VG_F_STRING, 1, NULL, 0, 32,
     "the day it was completed, YYYY-MM-DD (UTC), from 2000-01-01 to 2100-12-31"},
    {"evidence", VG_F_STRING, 0, NULL, 0, EVIDENCE_MAX,
     "where the proof is: a certificate id, a file name, a ticket"},
    {.name = NULL},
};

/* The message starts with the quoted value, so an importer can put its
 * line number and column in front ("line 7, completed_on: ..."). */
static int completion_check(const json_t *spec, char *err, size_t errlen, char *field,
                            size_t fieldlen)
{
    const json_t *v = json_object_get(spec, "completed_on");
    const char *text = json_string_value(v);
    char why[128];
    int32_t day;
    if (vg_caldate_parse(text, json_string_length(v), &day, why, sizeof why) == 0)
        return 0;
    if (field && fieldlen)
        snprintf(field, fieldlen, "spec.completed_on");
    char shown[40];
    vg_text_clean(shown, sizeof shown, text, json_string_length(v), 0);
    return vg_err(err, errlen, -EINVAL, "spec.completed_on: '%s' is not a date (%s)", shown,
                  why);
}

const struct vg_kind vg_kind_completion = {
    "Completion",
    "one person's completion of one training course on a given day",
    completion_fields,
    completion_check,
    NULL, /* no secrets */
    NULL, /* no secrets in lists */
    NULL,
};

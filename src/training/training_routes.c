/*
 * training_routes.c - GET /api/v1/training: every required course of every
 * person with its status (training.h), filtered by person, course and
 * status (statuses separated by commas), and a summary of the counts of
 * what is listed. Read-only and computed from the member's state on each
 * request: a mirror answers too, from what it holds. The summary counts the
 * filtered items, so ?person=ann gives ann's own counts.
 */
#include "training/training_routes.h"

#include "api/api_int.h"
#include "core/text.h"
#include "state/state.h"
#include "training/training.h"

#define STATUS_ARG_MAX 64

/* 1 if the status of item is in the comma-separated list (NULL: any). */
static int status_wanted(const char *list, const char *status)
{
    if (!list)
        return 1;
    size_t n = strlen(status);
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, ",");
        if (len == n && strncmp(s, status, n) == 0)
            return 1;
        s += len + (s[len] == ',');
    }
    return 0;
}

/* 0, or answers 400 naming the status that is not one. */
static int check_statuses(struct vg_call *call, const char *list)
{
    char one[STATUS_ARG_MAX + 1], shown[96];
    for (const char *s = list; s && *s;) {
        size_t len = strcspn(s, ",");
        snprintf(one, sizeof one, "%.*s", (int)(len < STATUS_ARG_MAX ? len : STATUS_ARG_MAX),
                 s);
        if (len > STATUS_ARG_MAX || !vg_training_status_known(one)) {
            vg_text_clean(shown, sizeof shown, s, len, 0);
            vg_api_reply_error(call->srv, call->req, 400, "status",
                               "status: '%s' is not one of ok, due-soon, overdue, never",
                               shown);
            return -EINVAL;
        }
        s += len + (s[len] == ',');
    }
    return 0;
}

/* Objects of kind in the state; an empty array if there are none. */
static json_t *list_kind(const vg_state_t *st, const char *kind)
{
    json_t *items = NULL;
    if (vg_state_list(st, kind, NULL, &items, NULL, 0))
        return json_array(); /* only a selector can fail, and there is none */
    return items;
}

static int item_matches(const json_t *item, const char *person, const char *course,
                        const char *statuses)
{
    const char *p = json_string_value(json_object_get(item, "person"));
    const char *c = json_string_value(json_object_get(item, "course"));
    return (!person || strcmp(person, p) == 0) && (!course || strcmp(course, c) == 0) &&
           status_wanted(statuses, json_string_value(json_object_get(item, "status")));
}

/* The items of the state's training objects that match the query. */
static json_t *training_items(const vg_state_t *st, int64_t now_ms, const char *person,
                              const char *course, const char *statuses)
{
    json_t *courses = list_kind(st, "Course"), *completions = list_kind(st, "Completion");
    json_t *people = list_kind(st, "Person"), *teams = list_kind(st, "Team");
    json_t *all = NULL, *items = json_array();
    vg_training_status(courses, completions, people, teams, now_ms, &all);
    size_t i;
    json_t *item;
    json_array_foreach(all, i, item)
    {
        if (item_matches(item, person, course, statuses))
            json_array_append(items, item);
    }
    json_decref(all);
    json_decref(courses);
    json_decref(completions);
    json_decref(people);
    json_decref(teams);
    return items;
}

void vg_api_training(struct vg_call *call)
{
    const char *person = evhttp_find_header(&call->query, "person");
    const char *course = evhttp_find_header(&call->query, "course");
    const char *statuses = evhttp_find_header(&call->query, "status");
    if (check_statuses(call, statuses))
        return;
    const vg_state_t *st = vg_member_state(call->srv->member);
    json_t *items = training_items(st, (int64_t)vg_wall_ms(), person, course, statuses);
    json_t *summary = vg_training_summary(items);
    json_t *body = json_pack("{s:o, s:o}", "items", items, "summary", summary);
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

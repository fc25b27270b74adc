/*
 * training.c - the status of every required training course (training.h).
 *
 * Inputs are a few thousand objects at most (staff, courses, a few
 * completions each), listed from the state on each request or tick, so the
 * indexes are plain JSON objects built per call: no cache to invalidate.
 * Must never trust the objects beyond what the schema guarantees: every
 * field is type-checked again and a bad one skips its object.
 */
#include "training/training.h"

#include <stdlib.h>
#include <string.h>

#include "core/vg.h"
#include "training/caldate.h"

const char *const vg_training_statuses[] = {"ok", "due-soon", "overdue", "never", NULL};

/* What one call builds from its inputs; every member is owned. */
struct index {
    json_t *managers; /* person -> manager name */
    json_t *members;  /* team -> [person] */
    json_t *everyone; /* person -> true: who all: true means */
    json_t *latest;   /* course -> person -> the latest Completion's spec */
    int32_t today;
};

static const char *name_of(const json_t *obj)
{
    return json_string_value(json_object_get(obj, "name"));
}

static const char *spec_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "spec"), key));
}

static void add_names(json_t *set, const json_t *list)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v))
            json_object_set_new(set, json_string_value(v), json_true());
    }
}

static int32_t spec_day(const json_t *spec)
{
    const json_t *v = json_object_get(spec, "completed_on");
    int32_t day;
    if (!json_is_string(v) ||
        vg_caldate_parse(json_string_value(v), json_string_length(v), &day, NULL, 0))
        return INT32_MIN;
    return day;
}

static void index_people(struct index *ix, const json_t *people)
{
    size_t i;
    const json_t *p;
    json_array_foreach(people, i, p)
    {
        const char *name = name_of(p), *manager = spec_str(p, "manager");
        if (!name)
            continue;
        json_object_set_new(ix->everyone, name, json_true());
        if (manager)
            json_object_set_new(ix->managers, name, json_string(manager));
    }
}

static void index_teams(struct index *ix, const json_t *teams)
{
    size_t i;
    const json_t *t;
    json_array_foreach(teams, i, t)
    {
        const json_t *members = json_object_get(json_object_get(t, "spec"), "members");
        if (name_of(t) && json_is_array(members))
            json_object_set(ix->members, name_of(t), (json_t *)members);
    }
}

/* Keeps, per course and person, the completion with the latest date. */
static void index_completions(struct index *ix, const json_t *completions)
{
    size_t i;
    const json_t *c;
    json_array_foreach(completions, i, c)
    {
        json_t *spec = json_object_get(c, "spec");
        const char *person = spec_str(c, "person"), *course = spec_str(c, "course");
        int32_t day = spec_day(spec);
        if (!person || !course || day == INT32_MIN)
            continue;
        json_t *by_person = json_object_get(ix->latest, course);
        if (!by_person) {
            by_person = json_object();
            json_object_set_new(ix->latest, course, by_person);
        }
        const json_t *seen = json_object_get(by_person, person);
        if (!seen || spec_day(seen) < day)
            json_object_set(by_person, person, spec);
    }
}

/* Without Person objects, "everyone" is everyone the other objects name. */
static void infer_everyone(struct index *ix, const json_t *courses)
{
    const char *course, *person;
    json_t *by_person, *spec, *list;
    json_object_foreach(ix->latest, course, by_person)
    {
        json_object_foreach(by_person, person, spec)
            json_object_set_new(ix->everyone, person, json_true());
    }
    const char *team;
    json_object_foreach(ix->members, team, list) add_names(ix->everyone, list);
    size_t i;
    const json_t *c;
    json_array_foreach(courses, i, c)
    {
        const json_t *req = json_object_get(json_object_get(c, "spec"), "required_for");
        add_names(ix->everyone, json_object_get(req, "people"));
    }
}

/* The set {person: true} of who must take the course. New reference. */
static json_t *required_people(const struct index *ix, const json_t *course)
{
    const json_t *req = json_object_get(json_object_get(course, "spec"), "required_for");
    json_t *set = json_object();
    add_names(set, json_object_get(req, "people"));
    size_t i;
    const json_t *team;
    json_array_foreach(json_object_get(req, "teams"), i, team)
    {
        if (json_is_string(team))
            add_names(set, json_object_get(ix->members, json_string_value(team)));
    }
    if (json_is_true(json_object_get(req, "all")))
        json_object_update(set, ix->everyone);
    return set;
}

static const char *status_of(int32_t today, int32_t due, int64_t grace_days)
{
    if ((int64_t)today > (int64_t)due + grace_days)
        return "overdue";
    if ((int64_t)today >= (int64_t)due - VG_TRAINING_SOON_DAYS)
        return "due-soon";
    return "ok";
}

static json_t *date_or_null(int32_t day)
{
    char text[VG_CALDATE_LEN + 8];
    if (day == INT32_MIN)
        return json_null();
    vg_caldate_format(day, text, sizeof text);
    return json_string(text);
}

static json_t *str_or_null(const json_t *v)
{
    return json_is_string(v) ? json_string(json_string_value(v)) : json_null();
}

/* The item of one person for one course. */
static json_t *item_for(const struct index *ix, const json_t *course, const char *person)
{
    const json_t *cspec = json_object_get(course, "spec");
    const json_t *done = json_object_get(json_object_get(ix->latest, name_of(course)), person);
    int64_t renewal = json_integer_value(json_object_get(cspec, "renewal_days"));
    int64_t grace = json_integer_value(json_object_get(cspec, "grace_days"));
    int32_t last = done ? spec_day(done) : INT32_MIN, due = INT32_MIN;
    const char *status = "never";
    if (last != INT32_MIN) {
        due = (int32_t)(last + renewal);
        status = status_of(ix->today, due, grace);
    }
    return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "person", person, "course",
                     name_of(course), "title", str_or_null(json_object_get(cspec, "title")),
                     "status", status, "completed_on", date_or_null(last), "due_on",
                     date_or_null(due), "manager",
                     str_or_null(json_object_get(ix->managers, person)), "evidence",
                     str_or_null(json_object_get(done, "evidence")));
}

/* A course the schema would refuse (no name, renewal out of range) is skipped. */
static int course_usable(const json_t *course)
{
    const json_t *renewal = json_object_get(json_object_get(course, "spec"), "renewal_days");
    return name_of(course) && json_is_integer(renewal) && json_integer_value(renewal) >= 1 &&
           json_integer_value(renewal) <= 3650;
}

static int cmp_item(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int by_person = strcmp(json_string_value(json_object_get(x, "person")),
                           json_string_value(json_object_get(y, "person")));
    if (by_person)
        return by_person;
    return strcmp(json_string_value(json_object_get(x, "course")),
                  json_string_value(json_object_get(y, "course")));
}

/* Sorts the items of array in place (person, then course). */
static void sort_items(json_t *array)
{
    size_t n = json_array_size(array);
    if (n < 2)
        return;
    json_t **v = vg_malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(array, i));
    qsort(v, n, sizeof *v, cmp_item);
    json_array_clear(array);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(array, v[i]);
    free(v);
}

static void index_release(struct index *ix)
{
    json_decref(ix->managers);
    json_decref(ix->members);
    json_decref(ix->everyone);
    json_decref(ix->latest);
}

int vg_training_status(const json_t *courses, const json_t *completions, const json_t *people,
                       const json_t *teams, int64_t now_ms, json_t **out)
{
    struct index ix = {json_object(), json_object(), json_object(), json_object(),
                       vg_caldate_of_ms(now_ms)};
    index_people(&ix, people);
    index_teams(&ix, teams);
    index_completions(&ix, completions);
    if (json_object_size(ix.everyone) == 0)
        infer_everyone(&ix, courses);
    json_t *items = json_array();
    size_t i;
    const json_t *course;
    json_array_foreach(courses, i, course)
    {
        if (!course_usable(course))
            continue;
        json_t *who = required_people(&ix, course);
        const char *person;
        json_t *yes;
        json_object_foreach(who, person, yes)
            json_array_append_new(items, item_for(&ix, course, person));
        json_decref(who);
    }
    sort_items(items);
    index_release(&ix);
    *out = items;
    return 0;
}

json_t *vg_training_summary(const json_t *items)
{
    json_t *summary = json_object();
    for (size_t s = 0; vg_training_statuses[s]; s++)
        json_object_set_new(summary, vg_training_statuses[s], json_integer(0));
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *status = json_string_value(json_object_get(item, "status"));
        json_t *count = status ? json_object_get(summary, status) : NULL;
        if (count)
            json_integer_set(count, json_integer_value(count) + 1);
    }
    return summary;
}

int vg_training_status_known(const char *status)
{
    for (size_t s = 0; status && vg_training_statuses[s]; s++)
        if (strcmp(status, vg_training_statuses[s]) == 0)
            return 1;
    return 0;
}

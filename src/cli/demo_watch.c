/*
 * demo_watch.c - waiting for a demo scenario's outcomes (demo_watch.h).
 *
 * Everything is read through the members' API, as a person would see it:
 * each member's own view of the cluster, and the alerts, incidents and
 * events of the acting primary (the mirror's copy may lag). Requests are
 * silent here: a member that does not answer is a fact to observe (it was
 * killed), not an error to print. One poll every 500 ms for up to the
 * caller's wait; the plan holds at most a dozen outcomes, so a poll is a
 * handful of requests.
 */
#include "cli/demo_watch.h"

#include <stdarg.h>
#include <time.h>

#include "core/timefmt.h"

#define POLL_MS 500

int vg_demo_expect(struct vg_demo_plan *p, enum vg_demo_oc kind, const char *site, int member,
                   int after, const char *fmt, ...)
{
    if (p->n_oc >= VG_DEMO_MAX_OC)
        VG_BUG("demo plan '%s' has too many outcomes", p->name);
    struct vg_demo_outcome *o = &p->oc[p->n_oc];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    snprintf(o->site, sizeof o->site, "%s", site ? site : "");
    o->member = member;
    o->after = after;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->what, sizeof o->what, fmt, ap);
    va_end(ap);
    return p->n_oc++;
}

json_t *vg_demo_get(struct vg_cli *cli, int member, const char *path)
{
    vg_client_t *client;
    char err[512];
    struct vg_resp resp = VG_RESP_INIT;
    json_t *out = NULL;
    if (vg_cli_client(cli, &client))
        return NULL;
    if (!vg_client_request_at(client, (size_t)member, "GET", path, NULL, NULL, &resp, err,
                              sizeof err) &&
        resp.status == 200 && resp.json)
        out = json_incref(resp.json);
    vg_resp_release(&resp);
    return out;
}

/* What one poll saw; every pointer may be NULL (not answered). */
struct seen {
    json_t *view[VG_DEMO_MEMBERS]; /* GET /api/v1/cluster of each member */
    int primary;                   /* acting primary, or -1 */
    json_t *alerts, *incidents, *events;
};

static int acting(const json_t *view)
{
    return view && json_is_true(json_object_get(view, "acting"));
}

int vg_demo_primary(struct vg_cli *cli, const struct vg_demo *d)
{
    int primary = -1;
    for (int i = 0; i < VG_DEMO_MEMBERS && primary < 0; i++) {
        json_t *view = vg_demo_get(cli, i, "/api/v1/cluster");
        if (acting(view))
            primary = i;
        json_decref(view);
    }
    return primary;
}

static void seen_release(struct seen *s)
{
    for (int i = 0; i < VG_DEMO_MEMBERS; i++)
        json_decref(s->view[i]);
    json_decref(s->alerts);
    json_decref(s->incidents);
    json_decref(s->events);
}

static void poll_once(struct vg_cli *cli, const struct vg_demo *d, struct seen *s)
{
    memset(s, 0, sizeof *s);
    s->primary = -1;
    for (int i = 0; i < VG_DEMO_MEMBERS; i++) {
        s->view[i] = vg_demo_get(cli, i, "/api/v1/cluster");
        if (acting(s->view[i]) && s->primary < 0)
            s->primary = i;
    }
    /* facts of the log: from the acting primary, else whoever answers */
    int from = s->primary;
    for (int i = 0; from < 0 && i < VG_DEMO_MEMBERS; i++)
        if (s->view[i])
            from = i;
    if (from < 0)
        return;
    s->alerts = vg_demo_get(cli, from, "/api/v1/alerts");
    s->incidents = vg_demo_get(cli, from, "/api/v1/incidents?status=all&limit=100");
    s->events = vg_demo_get(cli, from, "/api/v1/events?limit=200");
}

/* The site of an alert: its sensor's (demo sensors are named SITE-...), or
 * the suffix of a site composite's id (RULE/SITE). */
static int alert_at_site(const json_t *a, const char *site)
{
    const char *sensor = json_string_value(json_object_get(a, "sensor"));
    const char *id = json_string_value(json_object_get(a, "id"));
    size_t n = strlen(site);
    if (sensor)
        return !strncmp(sensor, site, n) && sensor[n] == '-';
    const char *slash = id ? strrchr(id, '/') : NULL;
    return slash && !strcmp(slash + 1, site);
}

static int level_matches(const char *to, const char *level)
{
    if (!to)
        return 0;
    if (level)
        return !strcmp(to, level);
    return !strcmp(to, "warning") || !strcmp(to, "critical") || !strcmp(to, "suppressed");
}

static int check_alert(const struct seen *s, struct vg_demo_outcome *o)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(s->alerts, "active"), i, a)
    {
        const char *to = json_string_value(json_object_get(a, "to"));
        if (strcmp(vg_cli_str(a, "rule", ""), o->rule) || !level_matches(to, o->level) ||
            !alert_at_site(a, o->site))
            continue;
        snprintf(o->detail, sizeof o->detail, "%s %s: %.160s", vg_cli_str(a, "id", "?"), to,
                 vg_cli_str(a, "message", ""));
        return 1;
    }
    return 0;
}

/* An incident of the plan: at the site, for one of its rules (key
 * rule/RULE/...), open or opened since the start. */
static int plan_incident(const struct vg_demo_plan *p, const struct vg_demo_outcome *o,
                         const json_t *inc)
{
    const char *key = vg_cli_str(inc, "key", "");
    json_int_t opened = json_integer_value(json_object_get(inc, "opened"));
    /* opened by this scenario: one still open from an earlier one proves nothing */
    if (strcmp(vg_cli_str(inc, "site", ""), o->site) || opened < p->start_ms - 1000)
        return 0;
    for (int r = 0; p->rules[r]; r++) {
        size_t n = strlen(p->rules[r]);
        if (!strncmp(key, "rule/", 5) && !strncmp(key + 5, p->rules[r], n) && key[5 + n] == '/')
            return 1;
    }
    return 0;
}

static int check_incident(const struct vg_demo_plan *p, const struct seen *s,
                          struct vg_demo_outcome *o)
{
    size_t i;
    const json_t *inc;
    json_array_foreach(json_object_get(s->incidents, "items"), i, inc)
    {
        if (!plan_incident(p, o, inc))
            continue;
        snprintf(o->detail, sizeof o->detail, "incident %lld (%s): %.160s",
                 (long long)json_integer_value(json_object_get(inc, "id")),
                 vg_cli_str(inc, "severity", "?"), vg_cli_str(inc, "summary", ""));
        return 1;
    }
    return 0;
}

/* A delivered page of one of the plan's incidents. */
static int check_page(struct vg_cli *cli, const struct vg_demo_plan *p, const struct seen *s,
                      struct vg_demo_outcome *o)
{
    size_t i;
    const json_t *inc;
    int found = 0;
    json_array_foreach(json_object_get(s->incidents, "items"), i, inc)
    {
        if (found || !plan_incident(p, o, inc))
            continue;
        /* an incident grouped into another is paged with that one */
        const json_t *group = json_object_get(inc, "group_of");
        json_int_t id =
            json_integer_value(json_is_integer(group) ? group : json_object_get(inc, "id"));
        char path[96];
        snprintf(path, sizeof path, "/api/v1/incidents/%lld", (long long)id);
        json_t *full = vg_demo_get(cli, s->primary >= 0 ? s->primary : 0, path);
        const char *key;
        const json_t *pg;
        json_object_foreach(json_object_get(full, "pages"), key, pg)
        {
            const char *state = vg_cli_str(pg, "state", "");
            if (!found && !strcmp(state, "pending"))
                snprintf(o->detail, sizeof o->detail,
                         "a page to %s is pending (at most 10 pages a minute go to one "
                         "contact method)",
                         vg_cli_str(pg, "target", "?"));
            if (found || strcmp(state, "delivered"))
                continue;
            snprintf(o->detail, sizeof o->detail, "%s paged by %s (%s, incident %lld)",
                     vg_cli_str(pg, "target", "?"), vg_cli_str(pg, "channel", "?"),
                     vg_cli_str(pg, "detail", ""), (long long)id);
            found = 1;
        }
        json_decref(full);
    }
    return found;
}

/* An event's time ("2026-12-07T19:42:47.788Z"; timefmt takes no fraction). */
static int event_time(const char *text, int64_t *ms)
{
    char whole[24];
    const char *dot = strchr(text, '.');
    if (!dot || dot - text != 19)
        return vg_time_parse_utc(text, ms);
    snprintf(whole, sizeof whole, "%.19sZ", text);
    int rc = vg_time_parse_utc(whole, ms);
    if (!rc)
        *ms += strtol(dot + 1, NULL, 10) % 1000;
    return rc;
}

static int check_planned(const struct vg_demo_plan *p, const struct seen *s,
                         struct vg_demo_outcome *o)
{
    size_t i;
    const json_t *ev;
    json_array_foreach(json_object_get(s->events, "items"), i, ev)
    {
        int64_t at = 0;
        const char *kind = o->kind == VG_OC_PLANNED ? "protect_switchover" : "protect_declined";
        if (strcmp(vg_cli_str(ev, "kind", ""), kind) ||
            strcmp(vg_cli_str(ev, "site", ""), o->site) ||
            event_time(vg_cli_str(ev, "time", ""), &at) || at < p->start_ms - 1000)
            continue;
        snprintf(o->detail, sizeof o->detail, "%.200s", vg_cli_str(ev, "message", ""));
        return 1;
    }
    return 0;
}

static int in_sync(const json_t *view, const char *member)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(view, "sync"), i, v)
    {
        if (!strcmp(json_string_value(v), member))
            return 1;
    }
    return 0;
}

static int check_cluster(const struct vg_demo *d, const struct seen *s,
                         struct vg_demo_outcome *o)
{
    int m = o->member, other = 1 - o->member;
    const char *other_name = d->m[other].node.name;
    switch (o->kind) {
    case VG_OC_PRIMARY:
        return s->primary == m;
    case VG_OC_DOWN:
        return !vg_demo_member_pid(d, m) && !s->view[m];
    case VG_OC_ALONE:
        return acting(s->view[m]) && !in_sync(s->view[m], other_name);
    case VG_OC_NO_TAKEOVER:
        return s->view[m] && !acting(s->view[m]);
    case VG_OC_WITNESS:
        for (int i = 0; i < VG_DEMO_MEMBERS; i++)
            if (!json_is_true(
                    json_object_get(json_object_get(s->view[i], "witness"), "reachable")))
                return 0;
        return 1;
    default: /* VG_OC_IN_SYNC */
        if (s->primary < 0 || !s->view[1 - s->primary])
            return 0;
        return in_sync(s->view[s->primary], d->m[0].node.name) &&
               in_sync(s->view[s->primary], d->m[1].node.name);
    }
}

static int check(struct vg_cli *cli, const struct vg_demo *d, const struct vg_demo_plan *p,
                 const struct seen *s, struct vg_demo_outcome *o)
{
    switch (o->kind) {
    case VG_OC_ALERT:
        return check_alert(s, o);
    case VG_OC_INCIDENT:
        return check_incident(p, s, o);
    case VG_OC_PAGE:
        return check_page(cli, p, s, o);
    case VG_OC_PLANNED:
    case VG_OC_DECLINED:
        return check_planned(p, s, o);
    default:
        return check_cluster(d, s, o);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One poll: marks what showed; returns how many are still missing. */
static int poll_outcomes(struct vg_cli *cli, const struct vg_demo *d, struct vg_demo_plan *p,
                         long elapsed_ms, int quiet)
{
    struct seen s;
    int missing = 0;
    poll_once(cli, d, &s);
    for (int i = 0; i < p->n_oc; i++) {
        struct vg_demo_outcome *o = &p->oc[i];
        if (o->seen)
            continue;
        if ((o->after < 0 || p->oc[o->after].seen) && check(cli, d, p, &s, o)) {
            o->seen = 1;
            o->after_ms = elapsed_ms;
            if (!quiet)
                printf("  %5.1fs  ok  %s%s%s\n", (double)elapsed_ms / 1000, o->what,
                       o->detail[0] ? ": " : "", o->detail);
            fflush(stdout);
        } else {
            missing++;
        }
    }
    seen_release(&s);
    return missing;
}

int vg_demo_wait(struct vg_cli *cli, const struct vg_demo *d, struct vg_demo_plan *p,
                 long wait_s, int quiet)
{
    uint64_t start = vg_mono_ms();
    int missing;
    for (;;) {
        long elapsed = (long)(vg_mono_ms() - start);
        missing = poll_outcomes(cli, d, p, elapsed, quiet);
        if (!missing || elapsed >= wait_s * 1000)
            break;
        sleep_ms(POLL_MS);
    }
    if (!quiet) {
        for (int i = 0; i < p->n_oc; i++)
            if (!p->oc[i].seen)
                printf("  %5ld s  NOT SEEN  %s%s%s\n", wait_s, p->oc[i].what,
                       p->oc[i].detail[0] ? ": " : "", p->oc[i].detail);
        if (missing)
            printf("%d of %d outcomes did not show within %ld s\n", missing, p->n_oc, wait_s);
        else
            printf("all %d outcomes showed\n", p->n_oc);
    }
    return missing ? VG_EXIT_ERROR : VG_EXIT_OK;
}

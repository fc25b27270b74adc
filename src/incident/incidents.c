/*
 * incidents.c - apply and snapshot of the incidents (incidents.h). Runs
 * inside every state's apply: deterministic, no I/O, no clock. A payload
 * that does not fit its op is kept out (the record still advances the
 * index), never trusted: it was written by a primary of this cluster, so a
 * malformed one is a bug to see in the log, not a reason to stop a site.
 */
#include "incident/incidents.h"

#include "core/jsonout.h"
#include "store/record.h"

/* A condition that clears and comes back within this time reopens its
 * incident (flapping) instead of paging afresh. */
#define FLAP_WINDOW_MS (10 * 60 * 1000LL)
/* Incidents of one source, site and policy opened within this time of the
 * first are grouped into it: one page, with a count. */
#define GROUP_WINDOW_MS (60 * 1000LL)

struct incidents {
    json_t *all;       /* {"<id>": incident} */
    json_t *recent;    /* {dedup key: id} resolved, for flapping */
    json_t *heads;     /* {group: id} the incident a group's newcomers join */
    json_t *handoffs;  /* {schedule: {person, key, state, ...}} the last hand-off notice */
    json_t *open_keys; /* {dedup key: id} of incidents not resolved */
    json_t *resolved;  /* [id] resolved, oldest first (for pruning) */
    uint64_t next_id;
    uint64_t event_cursor;
    /* the ids that records changed, newest last: the engine's way to look
     * only at those (not part of snapshots: a loaded state starts empty) */
    uint64_t changed[VG_INCIDENT_CHANGES];
    uint64_t n_changed; /* ever; changed[n % VG_INCIDENT_CHANGES] is the next */
};

static void *slice_new(void)
{
    struct incidents *s = vg_calloc(1, sizeof *s);
    s->all = json_object();
    s->open_keys = json_object();
    s->resolved = json_array();
    s->recent = json_object();
    s->heads = json_object();
    s->handoffs = json_object();
    s->next_id = 1;
    return s;
}

static void slice_free(void *slice)
{
    struct incidents *s = slice;
    if (!s)
        return;
    json_decref(s->all);
    json_decref(s->open_keys);
    json_decref(s->resolved);
    json_decref(s->recent);
    json_decref(s->heads);
    json_decref(s->handoffs);
    free(s);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_int_t num(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int is_severity(const char *s)
{
    return s && (!strcmp(s, "critical") || !strcmp(s, "error") || !strcmp(s, "warning") ||
                 !strcmp(s, "info"));
}

static json_t *find(struct incidents *s, const json_t *p)
{
    json_t *id = json_object_get(p, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return NULL;
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(id));
    return json_object_get(s->all, key);
}

/* One line of the timeline: {time, what, by?, ...extra}. extra is stolen. */
static void timeline(json_t *inc, json_int_t time, const char *what, const char *by,
                     json_t *extra)
{
    json_t *t = json_object_get(inc, "timeline");
    json_t *e = json_pack("{s:I,s:s}", "time", time, "what", what);
    if (by)
        json_object_set_new(e, "by", json_string(by));
    if (extra)
        json_object_update(e, extra);
    json_decref(extra);
    json_array_append_new(t, e);
    /* the first line (triggered) stays; the oldest after it go */
    if (json_array_size(t) > VG_INCIDENT_TIMELINE_MAX)
        json_array_remove(t, 1);
}

static void track_event(struct incidents *s, const json_t *p)
{
    json_int_t ev = num(p, "event_index");
    if (ev > 0 && (uint64_t)ev > s->event_cursor)
        s->event_cursor = (uint64_t)ev;
}

static void retrigger(json_t *inc, const json_t *p, json_int_t time)
{
    const char *sev = str(p, "severity"), *was = str(inc, "severity");
    json_t *extra = json_pack("{s:s}", "severity", sev);
    if (was && strcmp(was, sev))
        json_object_set_new(extra, "was", json_string(was));
    json_object_set_new(inc, "severity", json_string(sev));
    json_object_set(inc, "summary", json_object_get(p, "summary"));
    json_object_set_new(inc, "count", json_integer(num(inc, "count") + 1));
    static const char *const readings[] = {"value", "predicted_s", NULL};
    for (size_t i = 0; readings[i]; i++)
        if (json_is_number(json_object_get(p, readings[i])))
            json_object_set(inc, readings[i], json_object_get(p, readings[i]));
    timeline(inc, time, "retriggered", NULL, extra);
}

static json_t *by_id(struct incidents *s, json_int_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    return json_object_get(s->all, key);
}

static void drop_resolved_entry(struct incidents *s, json_int_t id)
{
    size_t i;
    json_t *v;
    json_array_foreach(s->resolved, i, v)
    {
        if (json_integer_value(v) == id) {
            json_array_remove(s->resolved, i);
            return;
        }
    }
}

/* The condition came back soon after it cleared: the same incident again. */
static int reopen(struct incidents *s, const json_t *p, json_int_t time)
{
    const char *key = str(p, "key");
    json_t *rid = json_object_get(s->recent, key);
    json_t *inc = rid ? by_id(s, json_integer_value(rid)) : NULL;
    json_int_t resolved_at = inc ? num(inc, "resolved_at") : 0;
    if (!inc || strcmp(str(inc, "status"), "resolved") || time - resolved_at > FLAP_WINDOW_MS)
        return 0;
    json_int_t id = json_integer_value(rid);
    json_object_set_new(inc, "status",
                        json_string(json_object_get(inc, "acked_by") ? "acknowledged" : "triggered"));
    json_object_set(inc, "severity", json_object_get(p, "severity"));
    json_object_set(inc, "summary", json_object_get(p, "summary"));
    json_object_set_new(inc, "count", json_integer(num(inc, "count") + 1));
    json_object_set_new(inc, "flaps", json_integer(num(inc, "flaps") + 1));
    json_object_del(inc, "resolved_at");
    json_object_del(inc, "resolved_by");
    char detail[96];
    snprintf(detail, sizeof detail, "flapping: it cleared %lld s before", (long long)((time - resolved_at) / 1000));
    timeline(inc, time, "reopened", NULL, json_pack("{s:s,s:O}", "detail", detail, "severity", json_object_get(p, "severity")));
    json_object_set_new(s->open_keys, key, json_integer(id));
    json_object_del(s->recent, key);
    drop_resolved_entry(s, id);
    return 1;
}

/* Joins inc (new, id) to the group of its source, site and policy when
 * the group's head opened within the window and still waits for someone.
 * Only incidents of a site group: one cause is one place (a mains loss
 * in dc1); alerts from elsewhere without a site page each on their own. */
static void group(struct incidents *s, json_t *inc, uint64_t id, json_int_t time)
{
    const char *policy = str(inc, "policy"), *site = str(inc, "site");
    if (!policy || !site)
        return;
    char g[400];
    snprintf(g, sizeof g, "%s|%s|%s", str(inc, "source"), site, policy);
    json_t *hid = json_object_get(s->heads, g);
    json_t *head = hid ? by_id(s, json_integer_value(hid)) : NULL;
    if (!head || strcmp(str(head, "status"), "triggered") ||
        time - num(head, "opened") > GROUP_WINDOW_MS) {
        json_object_set_new(s->heads, g, json_integer((json_int_t)id));
        return;
    }
    json_object_set(inc, "group_of", hid);
    json_t *children = json_object_get(head, "children");
    if (!children)
        json_object_set_new(head, "children", children = json_array());
    if (json_array_size(children) < VG_INCIDENT_PAGES_MAX)
        json_array_append_new(children, json_integer((json_int_t)id));
    json_object_set_new(head, "grouped", json_integer(num(head, "grouped") + 1));
    timeline(head, time, "grouped", NULL,
             json_pack("{s:I,s:s}", "incident", (json_int_t)id, "detail", str(inc, "summary")));
    timeline(inc, time, "grouped", NULL,
             json_pack("{s:O,s:s}", "incident", hid, "detail", "paged with the incident it joined"));
}

static void first_step(json_t *inc, uint64_t id, const json_t *p, json_int_t time);

static int apply_open(struct incidents *s, const json_t *p)
{
    const char *key = str(p, "key"), *sev = str(p, "severity"), *summary = str(p, "summary");
    const char *source = str(p, "source");
    json_int_t time = num(p, "time");
    if (!key || !*key || !is_severity(sev) || !summary || !source)
        return 0;
    track_event(s, p);
    json_t *open = json_object_get(s->open_keys, key);
    if (open) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(open));
        json_t *inc = json_object_get(s->all, id);
        if (inc)
            retrigger(inc, p, time);
        return 0;
    }
    if (reopen(s, p, time))
        return 0;
    uint64_t id = s->next_id++;
    json_t *inc = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:i,s:i,s:I,s:o,s:o}", "id",
                            (json_int_t)id, "key", key, "status", "triggered", "severity", sev,
                            "summary", summary, "source", source, "opened", time, "count",
                            (json_int_t)1, "step", -1, "round", 0, "stepped_at", (json_int_t)0,
                            "pages", json_object(), "timeline", json_array());
    static const char *const copied[] = {"site",   "zone",  "labels",      "policy",
                                         "ref",    "direct", "value",      "predicted_s",
                                         NULL};
    for (size_t i = 0; copied[i]; i++) {
        json_t *v = json_object_get(p, copied[i]);
        if (v && !json_is_null(v))
            json_object_set(inc, copied[i], v);
    }
    json_t *extra = json_pack("{s:s,s:s}", "severity", sev, "summary", summary);
    if (str(p, "policy"))
        json_object_set(extra, "policy", json_object_get(p, "policy"));
    timeline(inc, time, "triggered", NULL, extra);
    if (!str(p, "policy") && !str(p, "direct"))
        timeline(inc, time, "unrouted", NULL,
                 json_pack("{s:s}", "detail", "no escalation policy matches: nobody is paged"));
    char idk[24];
    snprintf(idk, sizeof idk, "%llu", (unsigned long long)id);
    json_object_set_new(s->all, idk, inc);
    json_object_set_new(s->open_keys, key, json_integer((json_int_t)id));
    group(s, inc, id, time);
    first_step(inc, id, p, time);
    return 0;
}

static int link_used(const json_t *inc, const char *nonce)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(inc, "used_links"), i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), nonce))
            return 1;
    }
    return 0;
}

static int apply_ack(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    const char *by = str(p, "by"), *via = str(p, "via"), *nonce = str(p, "link");
    if (!inc || !by || !via || strcmp(str(inc, "status"), "triggered"))
        return 0;
    if (nonce) {
        if (link_used(inc, nonce))
            return 0;
        json_t *used = json_object_get(inc, "used_links");
        if (!used)
            json_object_set_new(inc, "used_links", used = json_array());
        json_array_append_new(used, json_string(nonce));
    }
    json_int_t time = num(p, "time");
    json_object_set_new(inc, "status", json_string("acknowledged"));
    json_object_set_new(inc, "acked_at", json_integer(time));
    json_object_set_new(inc, "acked_by", json_string(by));
    timeline(inc, time, "acknowledged", by, json_pack("{s:s}", "via", via));
    size_t i;
    json_t *cid;
    json_array_foreach(json_object_get(inc, "children"), i, cid)
    {
        json_t *child = by_id(s, json_integer_value(cid));
        if (child && !strcmp(str(child, "status"), "triggered")) {
            json_object_set_new(child, "status", json_string("acknowledged"));
            json_object_set_new(child, "acked_at", json_integer(time));
            json_object_set_new(child, "acked_by", json_string(by));
            timeline(child, time, "acknowledged", by, json_pack("{s:s}", "via", "its group"));
        }
    }
    return 0;
}

static void prune_resolved(struct incidents *s)
{
    while (json_array_size(s->resolved) > VG_INCIDENT_KEEP_RESOLVED) {
        char id[24];
        snprintf(id, sizeof id, "%lld",
                 (long long)json_integer_value(json_array_get(s->resolved, 0)));
        json_t *gone = json_object_get(s->all, id);
        const char *key = gone ? str(gone, "key") : NULL;
        json_t *r = key ? json_object_get(s->recent, key) : NULL;
        if (r && json_integer_value(r) == json_integer_value(json_array_get(s->resolved, 0)))
            json_object_del(s->recent, key);
        json_object_del(s->all, id);
        json_array_remove(s->resolved, 0);
    }
}

static int apply_resolve(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    const char *by = str(p, "by"), *reason = str(p, "reason");
    if (!inc || !by || !reason || !strcmp(str(inc, "status"), "resolved"))
        return 0;
    track_event(s, p);
    json_int_t time = num(p, "time");
    json_object_set_new(inc, "status", json_string("resolved"));
    json_object_set_new(inc, "resolved_at", json_integer(time));
    json_object_set_new(inc, "resolved_by", json_string(by));
    timeline(inc, time, "resolved", by, json_pack("{s:s}", "reason", reason));
    json_object_del(s->open_keys, str(inc, "key"));
    json_object_set(s->recent, str(inc, "key"), json_object_get(inc, "id"));
    json_array_append(s->resolved, json_object_get(inc, "id"));
    prune_resolved(s);
    return 0;
}

static int apply_note(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    const char *by = str(p, "by"), *text = str(p, "text");
    if (!inc || !by || !text)
        return 0;
    timeline(inc, num(p, "time"), "note", by, json_pack("{s:s}", "text", text));
    return 0;
}

static int valid_intent(const json_t *pg);
static void add_pages(json_t *inc, const json_t *list);

/* The first escalation step an open record carries: its intents' keys
 * get the new incident's id in front. */
static void first_step(json_t *inc, uint64_t id, const json_t *p, json_int_t time)
{
    const json_t *esc = json_object_get(p, "escalate");
    json_t *list = json_object_get(esc, "pages");
    if (!json_is_array(list) || json_object_get(inc, "group_of"))
        return;
    json_t *keyed = json_array();
    size_t i;
    json_t *pg;
    json_array_foreach(list, i, pg)
    {
        const char *suffix = str(pg, "suffix");
        if (!suffix)
            continue;
        char key[512];
        snprintf(key, sizeof key, "inc%llu-%s", (unsigned long long)id, suffix);
        json_t *c = json_deep_copy(pg);
        json_object_del(c, "suffix");
        json_object_set_new(c, "key", json_string(key));
        json_array_append_new(keyed, c);
    }
    json_object_set_new(inc, "step", json_integer(0));
    json_object_set_new(inc, "round", json_integer(0));
    json_object_set_new(inc, "stepped_at", json_integer(time));
    add_pages(inc, keyed);
    json_t *who = json_array();
    json_array_foreach(keyed, i, pg) json_array_append(who, json_object_get(pg, "target"));
    timeline(inc, time, "escalated", NULL,
             json_pack("{s:i,s:i,s:o}", "step", 0, "round", 0, "notify", who));
    json_decref(keyed);
}

static int valid_intent(const json_t *pg)
{
    return str(pg, "key") && str(pg, "target") && str(pg, "method") && str(pg, "channel") &&
           str(pg, "event") && json_is_integer(json_object_get(pg, "due"));
}

/* Adds page intents; an intent whose key is already there is not added
 * again (a record written twice by a primary that lost its answer). */
static void add_pages(json_t *inc, const json_t *list)
{
    json_t *pages = json_object_get(inc, "pages");
    size_t i;
    json_t *pg;
    json_array_foreach(list, i, pg)
    {
        if (!valid_intent(pg) || json_object_get(pages, str(pg, "key")) ||
            json_object_size(pages) >= VG_INCIDENT_PAGES_MAX)
            continue;
        json_t *copy = json_deep_copy(pg);
        json_object_set_new(copy, "state", json_string("pending"));
        json_object_set_new(pages, str(pg, "key"), copy);
    }
}

static int apply_escalate(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    json_t *step = json_object_get(p, "step"), *round = json_object_get(p, "round");
    json_t *list = json_object_get(p, "pages");
    if (!inc || !json_is_integer(step) || !json_is_integer(round) || !json_is_array(list) ||
        strcmp(str(inc, "status"), "triggered"))
        return 0;
    json_int_t time = num(p, "time");
    json_object_set(inc, "step", step);
    json_object_set(inc, "round", round);
    json_object_del(inc, "silenced_by");
    json_object_set_new(inc, "stepped_at", json_integer(time));
    add_pages(inc, list);
    json_t *who = json_array();
    size_t i;
    json_t *pg;
    json_array_foreach(list, i, pg)
    {
        if (str(pg, "target"))
            json_array_append(who, json_object_get(pg, "target"));
    }
    timeline(inc, time, "escalated", NULL,
             json_pack("{s:O,s:O,s:o}", "step", step, "round", round, "notify", who));
    return 0;
}

static int apply_notify(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    const char *reason = str(p, "reason");
    json_t *list = json_object_get(p, "pages");
    if (!inc || !reason || !json_is_array(list))
        return 0;
    add_pages(inc, list);
    if (!strcmp(reason, "resolve"))
        json_object_set_new(inc, "resolve_noticed", json_true());
    else if (!strcmp(reason, "ack"))
        json_object_set_new(inc, "ack_noticed", json_true());
    return 0;
}

static int apply_silenced(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    const char *by = str(p, "by");
    if (!inc || !by || !strcmp(str(inc, "status"), "resolved"))
        return 0;
    json_object_set_new(inc, "silenced_by", json_string(by));
    json_object_set(inc, "silenced_until", json_object_get(p, "until"));
    timeline(inc, num(p, "time"), "silenced", NULL,
             json_pack("{s:s,s:I}", "detail", by, "until", num(p, "until")));
    return 0;
}

static int apply_paged(struct incidents *s, const json_t *p)
{
    json_t *inc = find(s, p);
    const char *key = str(p, "key");
    json_t *pg = inc && key ? json_object_get(json_object_get(inc, "pages"), key) : NULL;
    if (!pg || strcmp(str(pg, "state"), "pending"))
        return 0;
    int ok = json_is_true(json_object_get(p, "ok"));
    int skipped = json_is_true(json_object_get(p, "skipped"));
    json_object_set_new(pg, "state", json_string(ok ? "delivered" : skipped ? "skipped" : "failed"));
    static const char *const copied[] = {"attempts", "status", "detail", "permanent", NULL};
    for (size_t i = 0; copied[i]; i++)
        if (json_object_get(p, copied[i]))
            json_object_set(pg, copied[i], json_object_get(p, copied[i]));
    json_object_set(pg, "done", json_object_get(p, "time"));
    json_t *extra = json_pack("{s:s,s:s,s:s,s:s,s:b}", "target", str(pg, "target"), "method",
                              str(pg, "method"), "channel", str(pg, "channel"), "event",
                              str(pg, "event"), "ok", ok);
    static const char *const shown[] = {"attempts", "detail", NULL};
    for (size_t i = 0; shown[i]; i++)
        if (json_object_get(p, shown[i]))
            json_object_set(extra, shown[i], json_object_get(p, shown[i]));
    timeline(inc, num(p, "time"), skipped ? "not notified" : "notified", NULL, extra);
    return 0;
}

/* Someone else is on call in a schedule now: the notice to them is owed
 * (its key is the idempotency key of the page that tells them). */
static int apply_handoff(struct incidents *s, const json_t *p)
{
    const char *schedule = str(p, "schedule"), *person = str(p, "person"), *key = str(p, "key");
    if (!schedule || !person || !key)
        return 0;
    json_t *h = json_pack("{s:s,s:s,s:s,s:I}", "person", person, "key", key, "state", "pending",
                          "time", num(p, "time"));
    if (json_object_get(p, "until"))
        json_object_set(h, "until", json_object_get(p, "until"));
    json_object_set_new(s->handoffs, schedule, h);
    return 0;
}

static int apply_handoff_paged(struct incidents *s, const json_t *p)
{
    json_t *h = json_object_get(s->handoffs, str(p, "schedule") ?: "");
    const char *key = str(p, "key");
    if (!h || !key || strcmp(str(h, "key"), key) || strcmp(str(h, "state"), "pending"))
        return 0;
    json_object_set_new(h, "state", json_string(json_is_true(json_object_get(p, "ok"))
                                                    ? "delivered" : "failed"));
    if (str(p, "detail"))
        json_object_set(h, "detail", json_object_get(p, "detail"));
    return 0;
}

static int apply_op(struct incidents *s, const char *op, const json_t *payload);

static void changed(struct incidents *s, json_int_t id)
{
    if (id > 0)
        s->changed[s->n_changed++ % VG_INCIDENT_CHANGES] = (uint64_t)id;
}

/* The incidents an applied record changed: its own, a group's members
 * (acknowledged or resolved with their head), or the one an open created,
 * re-triggered or reopened. */
static void note_changed(struct incidents *s, const json_t *p)
{
    const char *op = str(p, "op");
    if (!strcmp(op, "open")) {
        changed(s, json_integer_value(json_object_get(s->open_keys, str(p, "key") ?: "")));
        return;
    }
    json_t *inc = find(s, p);
    if (!inc)
        return;
    changed(s, num(inc, "id"));
    size_t i;
    json_t *cid;
    json_array_foreach(json_object_get(inc, "children"), i, cid) changed(s, json_integer_value(cid));
}

static int apply(void *slice, uint64_t index, uint16_t type, json_t *payload)
{
    (void)index;
    (void)type;
    struct incidents *s = slice;
    const char *op = str(payload, "op");
    if (!json_is_object(payload) || !op || !json_is_integer(json_object_get(payload, "time")))
        return 0;
    int rc = apply_op(s, op, payload);
    note_changed(s, payload);
    return rc;
}

static int apply_op(struct incidents *s, const char *op, const json_t *payload)
{
    static const struct {
        const char *op;
        int (*fn)(struct incidents *, const json_t *);
    } ops[] = {
        {"open", apply_open},         {"ack", apply_ack},       {"resolve", apply_resolve},
        {"note", apply_note},         {"escalate", apply_escalate}, {"notify", apply_notify},
        {"paged", apply_paged},       {"silenced", apply_silenced},
        {"handoff", apply_handoff},   {"handoff_paged", apply_handoff_paged},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(ops); i++)
        if (!strcmp(op, ops[i].op))
            return ops[i].fn(s, payload);
    return 0;
}

static void dump(const void *slice, vg_buf_t *out)
{
    const struct incidents *s = slice;
    vg_buf_printf(out, "{\"next_id\":%llu,\"event_cursor\":%llu,\"incidents\":",
                  (unsigned long long)s->next_id, (unsigned long long)s->event_cursor);
    vg_json_dump(s->all, out);
    vg_buf_adds(out, ",\"open_keys\":");
    vg_json_dump(s->open_keys, out);
    vg_buf_adds(out, ",\"resolved\":");
    vg_json_dump(s->resolved, out);
    vg_buf_adds(out, ",\"recent\":");
    vg_json_dump(s->recent, out);
    vg_buf_adds(out, ",\"heads\":");
    vg_json_dump(s->heads, out);
    vg_buf_adds(out, ",\"handoffs\":");
    vg_json_dump(s->handoffs, out);
    vg_buf_adds(out, "}");
}

/* A snapshot from before the incidents service has no slice: empty. */
static int load(void *slice, const json_t *d, char *err, size_t errlen)
{
    struct incidents *s = slice;
    json_t *all = json_object_get(d, "incidents"), *keys = json_object_get(d, "open_keys");
    json_t *resolved = json_object_get(d, "resolved"), *next = json_object_get(d, "next_id");
    json_t *cursor = json_object_get(d, "event_cursor");
    json_t *recent = json_object_get(d, "recent"), *heads = json_object_get(d, "heads");
    json_t *handoffs = json_object_get(d, "handoffs");
    if (!all && !keys && !resolved)
        return 0;
    if (!json_is_object(all) || !json_is_object(keys) || !json_is_array(resolved) ||
        !json_is_integer(next) || json_integer_value(next) < 1 ||
        (cursor && !json_is_integer(cursor)) || (recent && !json_is_object(recent)) ||
        (heads && !json_is_object(heads)) || (handoffs && !json_is_object(handoffs)))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: incidents");
    json_decref(s->all);
    json_decref(s->open_keys);
    json_decref(s->resolved);
    s->all = vg_json_copy(all);
    s->open_keys = vg_json_copy(keys);
    s->resolved = vg_json_copy(resolved);
    if (recent) {
        json_decref(s->recent);
        s->recent = vg_json_copy(recent);
    }
    if (heads) {
        json_decref(s->heads);
        s->heads = vg_json_copy(heads);
    }
    if (handoffs) {
        json_decref(s->handoffs);
        s->handoffs = vg_json_copy(handoffs);
    }
    s->next_id = (uint64_t)json_integer_value(next);
    s->event_cursor = cursor ? (uint64_t)json_integer_value(cursor) : 0;
    return 0;
}

static const uint16_t types[] = {VG_REC_INCIDENT, 0};

const struct vg_service_data vg_incidents_data = {
    .name = "incidents",
    .record_types = types,
    .slice_new = slice_new,
    .slice_free = slice_free,
    .apply = apply,
    .dump = dump,
    .load = load,
};

static const struct incidents *slice_of(const vg_state_t *st)
{
    return vg_state_slice(st, &vg_incidents_data);
}

json_t *vg_incidents_all(const vg_state_t *st)
{
    return slice_of(st)->all;
}

json_t *vg_incidents_get(const vg_state_t *st, uint64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)id);
    return json_object_get(slice_of(st)->all, key);
}

uint64_t vg_incidents_open_id(const vg_state_t *st, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(slice_of(st)->open_keys, key));
}

uint64_t vg_incidents_event_cursor(const vg_state_t *st)
{
    return slice_of(st)->event_cursor;
}

json_t *vg_incidents_handoffs(const vg_state_t *st)
{
    return slice_of(st)->handoffs;
}

size_t vg_incidents_n_open(const vg_state_t *st)
{
    return json_object_size(slice_of(st)->open_keys);
}

int vg_incidents_changed(const vg_state_t *st, uint64_t *seq, void (*fn)(void *, uint64_t),
                         void *ctx)
{
    const struct incidents *s = slice_of(st);
    int lost = *seq > s->n_changed || s->n_changed - *seq > VG_INCIDENT_CHANGES;
    if (!lost)
        for (uint64_t i = *seq; i < s->n_changed; i++)
            fn(ctx, s->changed[i % VG_INCIDENT_CHANGES]);
    *seq = s->n_changed;
    return lost;
}

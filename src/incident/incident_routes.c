/*
 * incident_routes.c - the incidents service's HTTP routes: incidents and
 * their timelines, acknowledge/resolve/note, who is on call, the schedule
 * as an iCalendar file, and the acknowledge link a page carries (public:
 * the sealed token is the credential; a GET only shows what a POST does,
 * so a chat app previewing the link acknowledges nothing).
 */
#include "incident/incident_routes.h"

#include <event2/buffer.h>
#include <limits.h>
#include <sodium.h>

#include "api/api_int.h"
#include "core/say.h"
#include "core/text.h"
#include "core/utf8.h"
#include "incident/inbound.h"
#include "training/training_routes.h"
#include "incident/incident_int.h"
#include "oncall/schedule.h"
#include "store/record.h"

#define LIST_DEFAULT 100
#define LIST_MAX     10000
#define NOTE_MAX     2000 /* characters of a note */
#define SHIFTS_MAX   5000

/* 1 if s holds a control byte other than newline and tab. */
static int has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return 1;
    return 0;
}

/* 1 if s holds more than max characters (code points). */
static int utf8_len_over(const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80 && ++n > max)
            return 1;
    return 0;
}

static struct vg_incident_svc *svc_of(struct vg_call *call)
{
    return call->service;
}

static const vg_state_t *state_of(struct vg_call *call)
{
    return vg_member_state(call->srv->member);
}

static void reply_new(struct vg_call *call, int code, json_t *body)
{
    vg_api_reply_json(call->srv, call->req, code, body);
    json_decref(body);
}

/* A decimal query value in [lo, hi]; 0 if absent, -EINVAL (answered 400). */
static int query_num(struct vg_call *call, const char *name, long long lo, long long hi,
                     long long *out)
{
    const char *v = evhttp_find_header(&call->query, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        vg_api_reply_error(call->srv, call->req, 400, name,
                           "%s: must be a whole number from %lld to %lld", name, lo, hi);
        return -EINVAL;
    }
    *out = n;
    return 1;
}

/* The incident named by the path, or NULL (answered 404). */
static json_t *path_incident(struct vg_call *call, uint64_t *id)
{
    const char *s = call->args[0];
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    json_t *inc = NULL;
    if (*s >= '1' && *s <= '9' && !*end && !errno)
        inc = vg_incidents_get(state_of(call), n);
    if (!inc) {
        char shown[80];
        vg_text_clean(shown, sizeof shown, s, strlen(s), 0);
        vg_api_reply_error(call->srv, call->req, 404, "id", "no incident '%s'", shown);
        return NULL;
    }
    *id = (uint64_t)n;
    return inc;
}

/* An incident as listed: everything but its timeline and pages. */
static json_t *brief(const json_t *inc)
{
    json_t *b = json_deep_copy(inc);
    json_object_del(b, "timeline");
    json_object_del(b, "pages");
    json_object_del(b, "used_links");
    return b;
}

void vg_api_incidents(struct vg_call *call)
{
    const char *status = evhttp_find_header(&call->query, "status");
    const char *site = evhttp_find_header(&call->query, "site");
    long long limit = LIST_DEFAULT;
    if (query_num(call, "limit", 1, LIST_MAX, &limit) < 0)
        return;
    if (status && strcmp(status, "open") && strcmp(status, "triggered") &&
        strcmp(status, "acknowledged") && strcmp(status, "resolved") && strcmp(status, "all")) {
        vg_api_reply_error(call->srv, call->req, 400, "status",
                           "status: must be open, triggered, acknowledged, resolved or all");
        return;
    }
    json_t *all = vg_incidents_all(state_of(call));
    json_t *items = json_array();
    /* ids grow with time: walk from the newest */
    size_t n = json_object_size(all);
    const char **ids = vg_calloc(n + 1, sizeof *ids);
    size_t k = 0;
    const char *id;
    json_t *inc;
    json_object_foreach(all, id, inc) ids[k++] = id;
    for (size_t i = k; i-- > 0 && json_array_size(items) < (size_t)limit;) {
        inc = json_object_get(all, ids[i]);
        const char *st = json_string_value(json_object_get(inc, "status"));
        const char *isite = json_string_value(json_object_get(inc, "site"));
        if (status && strcmp(status, "all") &&
            (!strcmp(status, "open") ? !strcmp(st, "resolved") : strcmp(status, st)))
            continue;
        if (site && (!isite || strcmp(site, isite)))
            continue;
        json_array_append_new(items, brief(inc));
    }
    free(ids);
    reply_new(call, 200,
              json_pack("{s:o,s:I}", "items", items, "open",
                        (json_int_t)vg_incidents_n_open(state_of(call))));
}

void vg_api_incident(struct vg_call *call)
{
    uint64_t id;
    json_t *inc = path_incident(call, &id);
    if (!inc)
        return;
    json_t *copy = json_deep_copy(inc);
    json_object_del(copy, "used_links");
    reply_new(call, 200, copy);
}

static void on_changed(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code) {
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
        return;
    }
    json_t *inc = vg_incidents_get(vg_member_state(pc->srv->member), pc->ref);
    json_t *b = inc ? json_deep_copy(inc) : json_object();
    json_object_del(b, "used_links");
    vg_api_reply_json(pc->srv, pc->req, 200, b);
    json_decref(b);
}

/* Who did it, as the timeline shows: the token's name, else its id. */
static void actor_name(struct vg_call *call, char *out, size_t outlen)
{
    if (call->person[0]) { /* logged in to the dashboard with a password */
        snprintf(out, outlen, "%s", call->person);
        return;
    }
    snprintf(out, outlen, "token:%s", call->actor);
    json_t *tokens = vg_state_tokens(state_of(call));
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        const char *name = json_string_value(json_object_get(t, "name"));
        if (id && name && !strcmp(id, call->actor)) {
            snprintf(out, outlen, "%s", name);
            break;
        }
    }
    json_decref(tokens);
}

/* ack, resolve and note share their shape: check, write, answer the
 * incident as committed. */
static void change(struct vg_call *call, const char *op)
{
    uint64_t id;
    json_t *inc = path_incident(call, &id);
    if (!inc)
        return;
    json_t *body = NULL;
    if (evbuffer_get_length(evhttp_request_get_input_buffer(call->req)) &&
        !(body = vg_api_body_json(call)))
        return;
    if (body && !json_is_object(body)) {
        json_decref(body);
        vg_api_reply_error(call->srv, call->req, 400, NULL, "the body must be a JSON object");
        return;
    }
    const char *status = json_string_value(json_object_get(inc, "status"));
    const char *text = json_string_value(json_object_get(body, "text"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    json_t *bad = NULL;
    if (!strcmp(op, "note")) {
        json_t *t = json_object_get(body, "text");
        if (!json_is_string(t) || !*text || utf8_len_over(text, NOTE_MAX) ||
            has_control(text) || strlen(text) != json_string_length(t))
            bad = json_string("text: required, 1 to 2000 characters, no control characters "
                              "but newlines and tabs");
    } else if (json_object_get(body, "reason") &&
               (!json_is_string(json_object_get(body, "reason")) ||
                utf8_len_over(reason, NOTE_MAX) || has_control(reason) ||
                strlen(reason) != json_string_length(json_object_get(body, "reason"))))
        bad = json_string("reason: a string of at most 2000 characters, no control characters");
    if (bad) {
        vg_api_reply_error(call->srv, call->req, 400, !strcmp(op, "note") ? "text" : "reason",
                           "%s", json_string_value(bad));
        json_decref(bad);
        json_decref(body);
        return;
    }
    if ((!strcmp(op, "ack") && strcmp(status, "triggered")) ||
        (!strcmp(op, "resolve") && !strcmp(status, "resolved"))) {
        vg_api_reply_error(call->srv, call->req, 409, "status",
                           "incident %llu is %s already", (unsigned long long)id, status);
        json_decref(body);
        return;
    }
    char by[160];
    actor_name(call, by, sizeof by);
    json_t *p = json_pack("{s:s,s:I,s:s,s:I}", "op", op, "id", (json_int_t)id, "by", by, "time",
                          vg_incident_now_ms());
    if (!strcmp(op, "ack"))
        json_object_set_new(p, "via", json_string("api"));
    else if (!strcmp(op, "resolve"))
        json_object_set_new(p, "reason", json_string(reason ? reason : "resolved by hand"));
    else
        json_object_set_new(p, "text", json_string(text));
    vg_api_submit_ref(call, VG_REC_INCIDENT, p, on_changed, id);
    json_decref(p);
    json_decref(body);
}

void vg_api_incident_ack(struct vg_call *call)
{
    change(call, "ack");
}

void vg_api_incident_resolve(struct vg_call *call)
{
    change(call, "resolve");
}

void vg_api_incident_note(struct vg_call *call)
{
    change(call, "note");
}

/* ---- the acknowledge link ---- */

static void html_escape(const char *s, vg_buf_t *out)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': vg_buf_adds(out, "&lt;"); break;
        case '>': vg_buf_adds(out, "&gt;"); break;
        case '&': vg_buf_adds(out, "&amp;"); break;
        case '"': vg_buf_adds(out, "&quot;"); break;
        case '\'': vg_buf_adds(out, "&#39;"); break;
        default: vg_buf_add(out, s, 1);
        }
    }
}

static void reply_page(struct vg_call *call, int code, const char *title, const char *text,
                       const char *form_action)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_adds(&b, "<!doctype html><html><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width\">"
                    "<title>vigil</title><style>body{font:18px system-ui;margin:2em;"
                    "max-width:40em}button{font-size:1.2em;padding:.6em 1.4em}</style>"
                    "</head><body><h1>");
    html_escape(title, &b);
    vg_buf_adds(&b, "</h1><p>");
    html_escape(text, &b);
    vg_buf_adds(&b, "</p>");
    if (form_action) {
        vg_buf_adds(&b, "<form method=\"post\" action=\"");
        html_escape(form_action, &b);
        vg_buf_adds(&b, "\"><button type=\"submit\">Acknowledge</button></form>");
    }
    vg_buf_adds(&b, "</body></html>\n");
    vg_api_reply_text(call->srv, call->req, code, "text/html; charset=utf-8", (const char *)b.data, b.len);
    vg_buf_release(&b);
}

/* The incident a link acknowledges, or NULL (answered with a page). */
static json_t *link_incident(struct vg_call *call, uint64_t *id, char *nonce, size_t noncelen)
{
    int64_t expires;
    if (vg_acklink_open(call->srv->member, call->args[0], id, nonce, noncelen, &expires)) {
        reply_page(call, 404, "Link not valid",
                   "This acknowledge link is not one vigil sent, or it was cut.", NULL);
        return NULL;
    }
    json_t *inc = vg_incidents_get(state_of(call), *id);
    if (!inc) {
        reply_page(call, 404, "No such incident", "The incident is no longer kept.", NULL);
        return NULL;
    }
    if (expires < vg_incident_now_ms()) {
        reply_page(call, 410, "Link expired",
                   "This acknowledge link has expired; use the vigil CLI or API.", NULL);
        return NULL;
    }
    const json_t *used = json_object_get(inc, "used_links");
    size_t i;
    json_t *v;
    json_array_foreach(used, i, v)
    {
        if (!strcmp(json_string_value(v), nonce)) {
            reply_page(call, 410, "Link already used",
                       "This acknowledge link was used already; each works once.", NULL);
            return NULL;
        }
    }
    return inc;
}

void vg_api_ack_link_show(struct vg_call *call)
{
    uint64_t id;
    char nonce[40], title[96], text[700];
    json_t *inc = link_incident(call, &id, nonce, sizeof nonce);
    if (!inc)
        return;
    const char *status = json_string_value(json_object_get(inc, "status"));
    snprintf(title, sizeof title, "Incident %llu (%s)", (unsigned long long)id,
             json_string_value(json_object_get(inc, "severity")));
    snprintf(text, sizeof text, "%s. Status: %s.",
             json_string_value(json_object_get(inc, "summary")), status);
    char action[300];
    snprintf(action, sizeof action, "/ack/%s", call->args[0]);
    reply_page(call, 200, title, text, !strcmp(status, "triggered") ? action : NULL);
}

static void on_link_acked(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code) {
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
        return;
    }
    json_t *inc = vg_incidents_get(vg_member_state(pc->srv->member), pc->ref);
    const char *by = json_string_value(json_object_get(inc, "acked_by"));
    char text[300];
    snprintf(text, sizeof text, "Incident %llu is acknowledged%s%s. Escalation has stopped.",
             (unsigned long long)pc->ref, by ? " by " : "", by ? by : "");
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_adds(&b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>vigil</title>"
                    "</head><body style=\"font:18px system-ui;margin:2em\"><h1>Acknowledged</h1>"
                    "<p>");
    html_escape(text, &b);
    vg_buf_adds(&b, "</p></body></html>\n");
    vg_api_reply_text(pc->srv, pc->req, 200, "text/html; charset=utf-8", (const char *)b.data, b.len);
    vg_buf_release(&b);
}

void vg_api_ack_link(struct vg_call *call)
{
    uint64_t id;
    char nonce[40];
    json_t *inc = link_incident(call, &id, nonce, sizeof nonce);
    if (!inc)
        return;
    if (strcmp(json_string_value(json_object_get(inc, "status")), "triggered")) {
        reply_page(call, 409, "Nothing to acknowledge", "The incident is not waiting for anyone.",
                   NULL);
        return;
    }
    /* whoever holds a page's link is whoever it was sent to */
    json_t *p = json_pack("{s:s,s:I,s:s,s:s,s:s,s:I}", "op", "ack", "id", (json_int_t)id, "by",
                          "acknowledge link", "via", "link", "link", nonce, "time",
                          vg_incident_now_ms());
    svc_of(call)->n_acks_link++;
    vg_api_submit_ref(call, VG_REC_INCIDENT, p, on_link_acked, id);
    json_decref(p);
}

/* ---- who is on call ---- */

static const json_t *schedule_spec(struct vg_call *call, const char *name, json_t **owned)
{
    *owned = vg_state_get(state_of(call), "Schedule", name);
    const json_t *spec = json_object_get(*owned, "spec");
    if (!spec) {
        char shown[80];
        vg_text_clean(shown, sizeof shown, name, strlen(name), 0);
        vg_api_reply_error(call->srv, call->req, 404, "schedule", "no schedule '%s'", shown);
    }
    return spec;
}

static json_t *shift_json(const char *schedule, const struct vg_shift *s)
{
    return json_pack("{s:s,s:s?,s:s,s:I,s:I}", "schedule", schedule, "person",
                     s->person[0] ? s->person : NULL, "layer", s->layer, "start",
                     (json_int_t)s->start_ms, "end", (json_int_t)s->end_ms);
}

void vg_api_oncall(struct vg_call *call)
{
    const char *only = evhttp_find_header(&call->query, "schedule");
    long long at = vg_incident_now_ms();
    if (query_num(call, "at", 0, 253402300799999LL, &at) < 0)
        return;
    json_t *items = json_array(), *list = NULL;
    char err[256];
    if (vg_state_list(state_of(call), "Schedule", NULL, &list, err, sizeof err)) {
        vg_api_reply_error(call->srv, call->req, 500, NULL, "%s", err);
        json_decref(items);
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        if (only && strcmp(only, name))
            continue;
        struct vg_shift s;
        if (vg_schedule_oncall(json_object_get(o, "spec"), at, &s, err, sizeof err) == 0)
            json_array_append_new(items, shift_json(name, &s));
    }
    json_decref(list);
    if (only && !json_array_size(items)) {
        json_decref(items);
        json_t *owned;
        if (schedule_spec(call, only, &owned))
            vg_api_reply_error(call->srv, call->req, 500, NULL, "schedule '%s': %s", only, err);
        json_decref(owned);
        return;
    }
    reply_new(call, 200, json_pack("{s:I,s:o}", "at", (json_int_t)at, "items", items));
}

/* from/to of a shifts query: default the next 7 days, at most 366 days. */
static int shift_range(struct vg_call *call, long long *from, long long *to)
{
    *from = vg_incident_now_ms();
    *to = 0;
    if (query_num(call, "from", 0, 253402300799999LL, from) < 0 ||
        query_num(call, "to", 0, 253402300799999LL, to) < 0)
        return -EINVAL;
    if (!*to)
        *to = *from + 7 * 86400000LL;
    if (*to <= *from || *to - *from > 366 * 86400000LL) {
        vg_api_reply_error(call->srv, call->req, 400, "to",
                           "to: must be after from, at most 366 days later");
        return -EINVAL;
    }
    return 0;
}

void vg_api_oncall_shifts(struct vg_call *call)
{
    const char *name = evhttp_find_header(&call->query, "schedule");
    long long from, to;
    if (!name) {
        vg_api_reply_error(call->srv, call->req, 400, "schedule", "schedule: required");
        return;
    }
    if (shift_range(call, &from, &to))
        return;
    json_t *owned;
    const json_t *spec = schedule_spec(call, name, &owned);
    if (!spec)
        return;
    struct vg_shift *shifts = NULL;
    size_t n = 0;
    char err[256];
    if (vg_schedule_shifts(spec, from, to, SHIFTS_MAX, &shifts, &n, err, sizeof err)) {
        vg_api_reply_error(call->srv, call->req, 400, "to", "%s", err);
        json_decref(owned);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, shift_json(name, &shifts[i]));
    free(shifts);
    json_decref(owned);
    reply_new(call, 200, json_pack("{s:s,s:I,s:I,s:o}", "schedule", name, "from",
                                   (json_int_t)from, "to", (json_int_t)to, "items", items));
}

void vg_api_oncall_ics(struct vg_call *call)
{
    const char *name = call->args[0];
    long long from, to;
    if (shift_range(call, &from, &to))
        return;
    json_t *owned;
    const json_t *spec = schedule_spec(call, name, &owned);
    if (!spec)
        return;
    vg_buf_t b = VG_BUF_INIT;
    char err[256];
    /* a calendar wants some past too: a week back */
    if (vg_schedule_ics(name, spec, from - 7 * 86400000LL, to, vg_incident_now_ms(), &b, err,
                        sizeof err))
        vg_api_reply_error(call->srv, call->req, 400, NULL, "%s", err);
    else
        vg_api_reply_text(call->srv, call->req, 200, "text/calendar; charset=utf-8", (const char *)b.data,
                          b.len);
    vg_buf_release(&b);
    json_decref(owned);
}

/* ---- alerts from other systems ---- */

/* The record a change makes, or NULL when it changes nothing (a trigger of
 * an incident open at that severity, an ack of one not waiting). */
static json_t *change_record(struct vg_call *call, const json_t *c, const char *source,
                             int64_t now)
{
    const vg_state_t *st = state_of(call);
    const char *action = json_string_value(json_object_get(c, "action"));
    const char *key = json_string_value(json_object_get(c, "key"));
    uint64_t open = vg_incidents_open_id(st, key);
    json_t *inc = open ? vg_incidents_get(st, open) : NULL;
    const char *status = json_string_value(json_object_get(inc, "status"));
    if (!strcmp(action, "trigger")) {
        const char *sev = json_string_value(json_object_get(c, "severity"));
        if (inc && !strcmp(json_string_value(json_object_get(inc, "severity")), sev))
            return NULL;
        json_t *p = json_pack("{s:s,s:s,s:O,s:s,s:O}", "key", key, "severity", sev, "summary",
                              json_object_get(c, "summary"), "source", source, "labels",
                              json_object_get(c, "labels"));
        if (json_object_get(c, "site"))
            json_object_set(p, "site", json_object_get(c, "site"));
        vg_incident_prepare_open(svc_of(call), p, now);
        return p;
    }
    if (!inc || (!strcmp(action, "acknowledge") && strcmp(status, "triggered")))
        return NULL;
    char by[64];
    snprintf(by, sizeof by, "%s event", source);
    if (!strcmp(action, "acknowledge"))
        return json_pack("{s:s,s:I,s:s,s:s,s:I}", "op", "ack", "id", (json_int_t)open, "by", by,
                         "via", source, "time", (json_int_t)now);
    return json_pack("{s:s,s:I,s:s,s:s,s:I}", "op", "resolve", "id", (json_int_t)open, "by", by,
                     "reason", "resolved at the source", "time", (json_int_t)now);
}

/* Writes the records of changes; the answer goes once the last commits
 * (records commit in order), or at once when nothing changes. */
static void write_changes(struct vg_call *call, const json_t *changes, const char *source,
                          int code, json_t *answer)
{
    int64_t now = vg_incident_now_ms();
    json_t *records = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        json_t *r = change_record(call, c, source, now);
        if (r)
            json_array_append_new(records, r);
    }
    size_t n = json_array_size(records);
    for (i = 0; i + 1 < n; i++) {
        int rc = vg_member_submit(call->srv->member, VG_REC_INCIDENT, json_array_get(records, i),
                                  NULL, NULL, NULL);
        if (rc) {
            vg_api_reply_apply_error(call->srv, call->req, rc, NULL);
            json_decref(answer);
            json_decref(records);
            return;
        }
    }
    if (n)
        vg_api_submit_answer(call, VG_REC_INCIDENT, json_array_get(records, n - 1), code, answer);
    else {
        vg_api_reply_json(call->srv, call->req, code, answer);
        json_decref(answer);
    }
    json_decref(records);
}

void vg_api_inbound_alertmanager(struct vg_call *call)
{
    json_t *body = vg_api_body_json(call), *changes = NULL;
    if (!body)
        return;
    char err[300], field[128] = "";
    if (vg_inbound_alertmanager(body, &changes, err, sizeof err, field, sizeof field))
        vg_api_reply_error(call->srv, call->req, 400, field, "%s", err);
    else
        write_changes(call, changes, "alertmanager", 200,
                      json_pack("{s:I}", "accepted", (json_int_t)json_array_size(changes)));
    json_decref(changes);
    json_decref(body);
}

void vg_api_inbound_pagerduty(struct vg_call *call)
{
    json_t *body = vg_api_body_json(call), *change = NULL;
    if (!body)
        return;
    char err[300], field[128] = "", fresh[40];
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(fresh, sizeof fresh, raw, sizeof raw);
    if (vg_inbound_pagerduty(body, fresh, &change, err, sizeof err, field, sizeof field)) {
        /* PagerDuty's own error shape, with vigil's "error" beside it */
        json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:[s]}", "error", err, "field", field, "status",
                              "invalid event", "message", "Event object is invalid", "errors",
                              err);
        vg_api_reply_json(call->srv, call->req, 400, e);
        json_decref(e);
    } else {
        json_t *changes = json_pack("[O]", change);
        write_changes(call, changes, "pagerduty", 202,
                      json_pack("{s:s,s:s,s:O}", "status", "success", "message",
                                "Event processed", "dedup_key",
                                json_object_get(change, "dedup_key")));
        json_decref(changes);
    }
    json_decref(change);
    json_decref(body);
}

#define GET  EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST

const struct vg_route vg_incident_routes[] = {
    {GET, "/api/v1/incidents", VG_PERM_READ, 0, vg_api_incidents},
    {GET, "/api/v1/incidents/{id}", VG_PERM_READ, 0, vg_api_incident},
    {POST, "/api/v1/incidents/{id}/ack", VG_PERM_WRITE, VG_ROUTE_PRIMARY, vg_api_incident_ack},
    {POST, "/api/v1/incidents/{id}/resolve", VG_PERM_WRITE, VG_ROUTE_PRIMARY,
     vg_api_incident_resolve},
    {POST, "/api/v1/incidents/{id}/notes", VG_PERM_WRITE, VG_ROUTE_PRIMARY,
     vg_api_incident_note},
    {GET, "/api/v1/oncall", VG_PERM_READ, 0, vg_api_oncall},
    {GET, "/api/v1/training", VG_PERM_READ, 0, vg_api_training},
    {GET, "/api/v1/oncall/shifts", VG_PERM_READ, 0, vg_api_oncall_shifts},
    /* calendar apps subscribe by URL alone: ?access_token= (a viewer token) */
    {GET, "/api/v1/schedules/{name}/calendar.ics", VG_PERM_READ, VG_ROUTE_QUERY_TOKEN,
     vg_api_oncall_ics},
    {POST, "/api/v1/inbound/alertmanager", VG_PERM_WRITE, VG_ROUTE_PRIMARY,
     vg_api_inbound_alertmanager},
    {POST, "/api/v1/inbound/pagerduty", VG_PERM_WRITE, VG_ROUTE_PRIMARY,
     vg_api_inbound_pagerduty},
    /* the sealed token is the credential */
    {GET, "/ack/{token}", 0, VG_ROUTE_PUBLIC, vg_api_ack_link_show},
    {POST, "/ack/{token}", 0, VG_ROUTE_PUBLIC | VG_ROUTE_PRIMARY, vg_api_ack_link},
    {0, NULL, 0, 0, NULL},
};

/*
 * page_body.c - what a page says: the JSON of a webhook (generic, PagerDuty
 * Events v2, Slack-compatible), the text of an email or of an exec's stdin,
 * and the RFC 5322 message around an email's text.
 *
 * Every field comes from outside (a sensor's name, a rule's summary, a
 * label), so every builder here is total: each string is cleaned to valid
 * UTF-8 with control bytes shown as \xNN and cut to a bound before it
 * reaches jansson, and nothing put in a mail header can end the header
 * line. Pure: no clock, no I/O.
 */
#include "page/page_int.h"

#include <sodium.h>
#include <time.h>

#include "core/jsonout.h"
#include "core/text.h"
#include "core/timefmt.h"
#include "core/utf8.h"

static const char *const event_names[] = {"trigger", "acknowledge", "resolve", "notice"};

const char *vg_page_event_name(enum vg_page_event e)
{
    return (unsigned)e < VG_ARRAY_LEN(event_names) ? event_names[e] : "notice";
}

char *vg_page_clean(const char *s, size_t cap, unsigned flags)
{
    if (!s)
        return NULL;
    char *out = vg_malloc(cap);
    vg_text_clean(out, cap, s, strlen(s), flags);
    return out;
}

char *vg_page_key_clean(const char *key)
{
    char *out = vg_malloc(VG_PAGE_KEY_MAX);
    size_t n = 0;
    for (const char *c = key ? key : ""; *c && n + 1 < VG_PAGE_KEY_MAX; c++)
        out[n++] = (*c > 0x20 && *c < 0x7f) ? *c : '_';
    out[n] = '\0';
    return out;
}

void vg_page_time(int64_t ms, char out[32])
{
    vg_time_format_utc(ms, out);
}

/* A JSON string of s cleaned, or null when s is NULL. */
static json_t *jtext(const char *s, size_t cap, unsigned flags)
{
    char *clean = vg_page_clean(s, cap, flags);
    json_t *v = clean ? json_string(clean) : json_null();
    free(clean);
    return v ? v : json_null(); /* json_string never refuses cleaned text */
}

static void set_text(json_t *obj, const char *key, const char *s, size_t cap)
{
    json_object_set_new(obj, key, jtext(s, cap, 0));
}

/* Labels as an object of cleaned strings (numbers and booleans as text);
 * anything else in a label is dropped. */
static json_t *labels_json(const json_t *labels)
{
    json_t *out = json_object();
    const char *name;
    json_t *value;
    size_t n = 0;
    if (!json_is_object(labels))
        return out;
    json_object_foreach((json_t *)labels, name, value) {
        if (n++ == VG_PAGE_LABELS_MAX)
            break;
        char *text = json_is_string(value) ? vg_strdup(json_string_value(value))
                     : (json_is_number(value) || json_is_boolean(value))
                         ? json_dumps(value, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10))
                         : NULL;
        if (!text)
            continue;
        char *clean_name = vg_page_clean(name, VG_PAGE_FIELD_MAX, 0);
        json_object_set_new(out, clean_name, jtext(text, VG_PAGE_FIELD_MAX, 0));
        free(clean_name);
        free(text);
    }
    return out;
}

static json_t *body_generic(const struct vg_page *pg)
{
    char when[32];
    vg_page_time(pg->time_ms, when);
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(vg_page_event_name(pg->event)));
    set_text(o, "incident", pg->incident, VG_PAGE_FIELD_MAX);
    set_text(o, "dedup_key", pg->dedup, VG_PAGE_FIELD_MAX);
    set_text(o, "summary", pg->summary ? pg->summary : "", VG_PAGE_SUMMARY_MAX);
    set_text(o, "severity", pg->severity, VG_PAGE_FIELD_MAX);
    set_text(o, "site", pg->site, VG_PAGE_FIELD_MAX);
    set_text(o, "zone", pg->zone, VG_PAGE_FIELD_MAX);
    json_object_set_new(o, "labels", labels_json(pg->labels));
    set_text(o, "ack_url", pg->ack_url, VG_PAGE_URL_MAX);
    json_object_set_new(o, "details",
                        jtext(pg->details, VG_PAGE_DETAILS_MAX, VG_TEXT_KEEP_NEWLINES));
    json_object_set_new(o, "time", json_string(when));
    set_text(o, "recipient", pg->recipient, VG_PAGE_FIELD_MAX);
    char *key = vg_page_key_clean(pg->key);
    json_object_set_new(o, "key", json_string(key));
    free(key);
    return o;
}

/* PagerDuty knows four severities; an unknown one pages as an error. */
static const char *pd_severity(const char *s)
{
    static const char *const known[] = {"critical", "error", "warning", "info"};
    for (size_t i = 0; s && i < VG_ARRAY_LEN(known); i++)
        if (strcmp(s, known[i]) == 0)
            return known[i];
    return "error";
}

static json_t *pd_payload(const struct vg_page *pg)
{
    char when[32];
    vg_page_time(pg->time_ms, when);
    json_t *o = json_object();
    set_text(o, "summary", pg->summary && *pg->summary ? pg->summary : "vigil page",
             VG_PAGE_SUMMARY_MAX);
    set_text(o, "source", pg->site ? pg->site : "vigil", VG_PAGE_FIELD_MAX);
    json_object_set_new(o, "severity", json_string(pd_severity(pg->severity)));
    json_object_set_new(o, "timestamp", json_string(when));
    if (pg->zone)
        set_text(o, "component", pg->zone, VG_PAGE_FIELD_MAX);
    json_t *custom = labels_json(pg->labels);
    if (pg->details)
        json_object_set_new(custom, "details",
                            jtext(pg->details, VG_PAGE_DETAILS_MAX, VG_TEXT_KEEP_NEWLINES));
    json_object_set_new(o, "custom_details", custom);
    return o;
}

static json_t *body_pagerduty(const struct vg_page *pg)
{
    static const char *const actions[] = {"trigger", "acknowledge", "resolve", "trigger"};
    json_t *o = json_object();
    set_text(o, "routing_key", pg->routing_key ? pg->routing_key : "", VG_PAGE_FIELD_MAX);
    json_object_set_new(o, "event_action", json_string(actions[(unsigned)pg->event % 4]));
    /* the incident's key, so PagerDuty folds trigger, ack and resolve into
     * one alert; a notice has none and uses the page's own */
    set_text(o, "dedup_key", pg->dedup ? pg->dedup : pg->key ? pg->key : "", VG_PAGE_FIELD_MAX);
    if (pg->event == VG_PAGE_TRIGGER || pg->event == VG_PAGE_NOTICE) {
        json_object_set_new(o, "payload", pd_payload(pg));
        set_text(o, "client", "vigil", VG_PAGE_FIELD_MAX);
    }
    if (pg->ack_url) {
        json_t *link = json_object();
        set_text(link, "href", pg->ack_url, VG_PAGE_URL_MAX);
        json_object_set_new(link, "text", json_string("Acknowledge in vigil"));
        json_object_set_new(o, "links", json_pack("[o]", link));
    }
    return o;
}

/* Slack's mrkdwn: &, < and > are escaped; in a link target '|' too. */
static void slack_escape(vg_buf_t *out, const char *clean, int in_link)
{
    for (const char *c = clean; *c; c++) {
        if (*c == '&')
            vg_buf_adds(out, "&amp;");
        else if (*c == '<')
            vg_buf_adds(out, "&lt;");
        else if (*c == '>')
            vg_buf_adds(out, "&gt;");
        else if (*c == '|' && in_link)
            vg_buf_adds(out, "%7C");
        else
            vg_buf_add(out, c, 1);
    }
}

static void slack_add(vg_buf_t *out, const char *s, size_t cap, int in_link)
{
    char *clean = vg_page_clean(s, cap, 0);
    slack_escape(out, clean, in_link);
    free(clean);
}

static json_t *slack_section(const char *mrkdwn)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn", "text",
                     mrkdwn);
}

static json_t *body_slack(const struct vg_page *pg)
{
    vg_buf_t head = VG_BUF_INIT, text = VG_BUF_INIT, place = VG_BUF_INIT, ack = VG_BUF_INIT;
    vg_page_headline(pg, VG_PAGE_SUMMARY_MAX, &head);
    slack_add(&text, (const char *)head.data, head.len + 4, 0); /* room not to cut */
    vg_buf_adds(&place, "*");
    vg_buf_add(&place, text.data, text.len);
    vg_buf_adds(&place, "*");
    if (pg->site || pg->zone) {
        vg_buf_adds(&place, "\n");
        slack_add(&place, pg->site ? pg->site : "-", VG_PAGE_FIELD_MAX, 0);
        vg_buf_adds(&place, " / ");
        slack_add(&place, pg->zone ? pg->zone : "-", VG_PAGE_FIELD_MAX, 0);
    }
    json_t *blocks = json_pack("[o]", slack_section((const char *)place.data));
    if (pg->ack_url) {
        vg_buf_adds(&ack, "<");
        slack_add(&ack, pg->ack_url, VG_PAGE_URL_MAX, 1);
        vg_buf_adds(&ack, "|Acknowledge>");
        json_array_append_new(blocks, slack_section((const char *)ack.data));
        vg_buf_adds(&text, " ");
        vg_buf_add(&text, ack.data, ack.len);
    }
    json_t *o = json_pack("{s:s, s:o}", "text", (const char *)text.data, "blocks", blocks);
    vg_buf_release(&head), vg_buf_release(&text), vg_buf_release(&place), vg_buf_release(&ack);
    return o;
}

void vg_page_headline(const struct vg_page *pg, size_t summary_cap, vg_buf_t *out)
{
    if (pg->event == VG_PAGE_ACKNOWLEDGE || pg->event == VG_PAGE_RESOLVE) {
        vg_buf_adds(out, pg->event == VG_PAGE_ACKNOWLEDGE ? "ACKNOWLEDGED" : "RESOLVED");
    } else {
        char *sev = vg_page_clean(pg->severity ? pg->severity : "info", 32, 0);
        for (char *c = sev; *c; c++)
            *c = (*c >= 'a' && *c <= 'z') ? (char)(*c - 'a' + 'A') : *c;
        vg_buf_adds(out, sev);
        free(sev);
    }
    char *inc = vg_page_clean(pg->incident, VG_PAGE_FIELD_MAX, 0);
    char *sum = vg_page_clean(pg->summary ? pg->summary : "", summary_cap, 0);
    vg_buf_printf(out, "%s%s%s%s", inc ? " " : "", inc ? inc : "", inc ? ":" : "",
                  *sum ? " " : "");
    vg_buf_adds(out, sum);
    free(inc);
    free(sum);
}

static void text_line(vg_buf_t *out, const char *label, const char *value)
{
    if (!value)
        return;
    char *clean = vg_page_clean(value, VG_PAGE_URL_MAX, 0);
    vg_buf_printf(out, "%-10s%s\n", label, clean);
    free(clean);
}

static void text_labels(vg_buf_t *out, const json_t *labels)
{
    json_t *clean = labels_json(labels);
    const char *name;
    json_t *value;
    const char *sep = "Labels:   ";
    json_object_foreach(clean, name, value) {
        vg_buf_printf(out, "%s%s=%s", sep, name, json_string_value(value));
        sep = ", ";
    }
    if (json_object_size(clean))
        vg_buf_adds(out, "\n");
    json_decref(clean);
}

/* The text of an email or of an exec's stdin, '\n' line ends. */
static void body_text(const struct vg_page *pg, vg_buf_t *out)
{
    char when[32];
    vg_page_time(pg->time_ms, when);
    vg_page_headline(pg, VG_PAGE_SUMMARY_MAX, out);
    vg_buf_adds(out, "\n\n");
    text_line(out, "Event:", vg_page_event_name(pg->event));
    text_line(out, "Incident:", pg->incident);
    text_line(out, "Severity:", pg->severity);
    text_line(out, "Site:", pg->site);
    text_line(out, "Zone:", pg->zone);
    text_line(out, "Time:", when);
    text_labels(out, pg->labels);
    text_line(out, "For:", pg->recipient);
    if (pg->details) {
        char *details = vg_page_clean(pg->details, VG_PAGE_DETAILS_MAX, VG_TEXT_KEEP_NEWLINES);
        vg_buf_printf(out, "\n%s\n", details);
        free(details);
    }
    if (pg->ack_url) {
        char *ack = vg_page_clean(pg->ack_url, VG_PAGE_URL_MAX, 0);
        vg_buf_printf(out, "\nAcknowledge: %s\n", ack);
        free(ack);
    }
    char *key = vg_page_key_clean(pg->key);
    vg_buf_printf(out, "\nPage key: %s\n", key);
    free(key);
}

void vg_page_body(const struct vg_page *page, vg_buf_t *out)
{
    if (page->channel != VG_PAGE_WEBHOOK) {
        body_text(page, out);
        return;
    }
    json_t *body = page->format == VG_PAGE_PAGERDUTY ? body_pagerduty(page)
                   : page->format == VG_PAGE_SLACK   ? body_slack(page)
                                                     : body_generic(page);
    vg_json_dump(body, out);
    json_decref(body);
}

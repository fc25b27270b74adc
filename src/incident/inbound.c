/*
 * inbound.c - alerts from other monitoring systems, so an existing
 * Prometheus, Zabbix or anything that speaks PagerDuty pages through vigil:
 * Alertmanager's webhook body (version 4) and PagerDuty's Events API v2.
 *
 * Each is checked whole before anything is written (a malformed alert
 * among fifty refuses the request, naming it: "alerts[3].labels.severity")
 * and turned into incident changes by dedup key: "am/<fingerprint>" for
 * Alertmanager, "pd/<dedup_key>" for PagerDuty. Pure: the caller turns the
 * changes into records.
 */
#include "incident/inbound.h"

#include <sodium.h>

#include "core/utf8.h"

#define LABEL_VALUE_MAX 256
#define SUMMARY_MAX     1024

static int bad(char *err, size_t errlen, char *field, size_t fieldlen, const char *path,
               const char *why)
{
    snprintf(field, fieldlen, "%s", path);
    return vg_err(err, errlen, -EINVAL, "%s: %s", path, why);
}

/* A string that may be stored and shown: valid UTF-8 (jansson checked),
 * no NUL, no control byte but tab and newline, at most max bytes. */
static int clean_string(const json_t *v, size_t max)
{
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > max || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return 0;
    }
    return 1;
}

static const char *severity_of(const char *s)
{
    static const char *const known[] = {"critical", "error", "warning", "info", NULL};
    for (size_t i = 0; s && known[i]; i++)
        if (!strcasecmp(s, known[i]))
            return known[i];
    if (s && (!strcasecmp(s, "page") || !strcasecmp(s, "high") || !strcasecmp(s, "disaster")))
        return "critical";
    if (s && (!strcasecmp(s, "average") || !strcasecmp(s, "major")))
        return "error";
    if (s && (!strcasecmp(s, "minor") || !strcasecmp(s, "low")))
        return "warning";
    return "warning";
}

/* labels: an object of at most VG_INBOUND_LABELS_MAX strings. */
static int check_labels(const json_t *labels, const char *at, char *err, size_t errlen,
                        char *field, size_t fieldlen)
{
    char path[160];
    if (!labels)
        return 0;
    if (!json_is_object(labels) || json_object_size(labels) > VG_INBOUND_LABELS_MAX)
        return bad(err, errlen, field, fieldlen, at, "must be an object of at most 64 strings");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v)
    {
        snprintf(path, sizeof path, "%s.%.60s", at, k);
        if (strlen(k) > 128 || !clean_string(v, LABEL_VALUE_MAX))
            return bad(err, errlen, field, fieldlen, path,
                       "must be a string of at most 256 bytes without control characters");
    }
    return 0;
}

/* A fingerprint when Alertmanager sends none: a hash of the sorted labels. */
static void label_hash(const json_t *labels, char *out, size_t outlen)
{
    char *text = json_dumps(labels, JSON_SORT_KEYS | JSON_COMPACT);
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)(text ? text : ""),
                       text ? strlen(text) : 0, NULL, 0);
    free(text);
    sodium_bin2hex(out, outlen, h, sizeof h);
}

static json_t *am_change(const json_t *alert, const char *status, const char *fp)
{
    const json_t *labels = json_object_get(alert, "labels");
    const json_t *ann = json_object_get(alert, "annotations");
    const char *summary = json_string_value(json_object_get(ann, "summary"));
    if (!summary)
        summary = json_string_value(json_object_get(ann, "description"));
    if (!summary)
        summary = json_string_value(json_object_get(labels, "alertname"));
    char key[96];
    snprintf(key, sizeof key, "am/%s", fp);
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:o}", "action",
                          !strcmp(status, "firing") ? "trigger" : "resolve", "key", key,
                          "severity",
                          severity_of(json_string_value(json_object_get(labels, "severity"))),
                          "summary", summary ? summary : "alert from Alertmanager", "labels",
                          labels ? json_deep_copy(labels) : json_object());
    const char *site = json_string_value(json_object_get(labels, "site"));
    if (site)
        json_object_set_new(c, "site", json_string(site));
    return c;
}

static int check_am_alert(const json_t *a, size_t i, char *err, size_t errlen, char *field,
                          size_t fieldlen)
{
    char at[64], path[96];
    snprintf(at, sizeof at, "alerts[%zu]", i);
    if (!json_is_object(a))
        return bad(err, errlen, field, fieldlen, at, "must be an object");
    const char *status = json_string_value(json_object_get(a, "status"));
    snprintf(path, sizeof path, "%s.status", at);
    if (!status || (strcmp(status, "firing") && strcmp(status, "resolved")))
        return bad(err, errlen, field, fieldlen, path, "must be \"firing\" or \"resolved\"");
    snprintf(path, sizeof path, "%s.labels", at);
    int rc = check_labels(json_object_get(a, "labels"), path, err, errlen, field, fieldlen);
    snprintf(path, sizeof path, "%s.annotations", at);
    if (!rc)
        rc = check_labels(json_object_get(a, "annotations"), path, err, errlen, field,
                          fieldlen);
    json_t *fp = json_object_get(a, "fingerprint");
    snprintf(path, sizeof path, "%s.fingerprint", at);
    if (!rc && fp && (!clean_string(fp, 64) || !json_string_length(fp)))
        return bad(err, errlen, field, fieldlen, path, "must be a string of 1 to 64 bytes");
    for (const char *p = fp ? json_string_value(fp) : ""; !rc && *p; p++)
        if (!(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'z') &&
            !(*p >= 'A' && *p <= 'Z') && *p != '-' && *p != '_')
            return bad(err, errlen, field, fieldlen, path, "letters, digits, - and _ only");
    return rc;
}

int vg_inbound_alertmanager(const json_t *body, json_t **changes, char *err, size_t errlen,
                            char *field, size_t fieldlen)
{
    *changes = NULL;
    const json_t *alerts = json_object_get(body, "alerts");
    if (!json_is_object(body))
        return bad(err, errlen, field, fieldlen, "body", "must be a JSON object");
    if (!json_is_array(alerts))
        return bad(err, errlen, field, fieldlen, "alerts", "required: an array");
    if (json_array_size(alerts) > VG_INBOUND_ALERTS_MAX)
        return bad(err, errlen, field, fieldlen, "alerts", "at most 1000 alerts per request");
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        int rc = check_am_alert(a, i, err, errlen, field, fieldlen);
        if (rc)
            return rc;
    }
    *changes = json_array();
    json_array_foreach(alerts, i, a)
    {
        char fp[80];
        const char *given = json_string_value(json_object_get(a, "fingerprint"));
        if (given)
            snprintf(fp, sizeof fp, "%s", given);
        else {
            json_t *none = json_object();
            json_t *labels = json_object_get(a, "labels");
            label_hash(labels ? labels : none, fp, sizeof fp);
            json_decref(none);
        }
        json_array_append_new(*changes,
                              am_change(a, json_string_value(json_object_get(a, "status")), fp));
    }
    return 0;
}

static int check_pd(const json_t *body, const char **action, char *err, size_t errlen,
                    char *field, size_t fieldlen)
{
    if (!json_is_object(body))
        return bad(err, errlen, field, fieldlen, "body", "must be a JSON object");
    *action = json_string_value(json_object_get(body, "event_action"));
    if (!*action ||
        (strcmp(*action, "trigger") && strcmp(*action, "acknowledge") && strcmp(*action, "resolve")))
        return bad(err, errlen, field, fieldlen, "event_action",
                   "must be trigger, acknowledge or resolve");
    const json_t *dk = json_object_get(body, "dedup_key");
    if (dk && (!clean_string(dk, 255) || !json_string_length(dk)))
        return bad(err, errlen, field, fieldlen, "dedup_key",
                   "must be a string of 1 to 255 bytes without control characters");
    if (strcmp(*action, "trigger") && !dk)
        return bad(err, errlen, field, fieldlen, "dedup_key", "required to acknowledge or resolve");
    if (strcmp(*action, "trigger"))
        return 0;
    const json_t *p = json_object_get(body, "payload");
    if (!json_is_object(p))
        return bad(err, errlen, field, fieldlen, "payload", "required: an object");
    if (!clean_string(json_object_get(p, "summary"), SUMMARY_MAX) ||
        !json_string_length(json_object_get(p, "summary")))
        return bad(err, errlen, field, fieldlen, "payload.summary",
                   "required: 1 to 1024 bytes without control characters");
    if (!clean_string(json_object_get(p, "source"), LABEL_VALUE_MAX))
        return bad(err, errlen, field, fieldlen, "payload.source",
                   "required: a string of at most 256 bytes");
    const char *sev = json_string_value(json_object_get(p, "severity"));
    if (!sev || (strcmp(sev, "critical") && strcmp(sev, "error") && strcmp(sev, "warning") &&
                 strcmp(sev, "info")))
        return bad(err, errlen, field, fieldlen, "payload.severity",
                   "must be critical, error, warning or info");
    static const char *const opt[] = {"component", "group", "class", NULL};
    char path[64];
    for (size_t i = 0; opt[i]; i++) {
        const json_t *v = json_object_get(p, opt[i]);
        snprintf(path, sizeof path, "payload.%s", opt[i]);
        if (v && !clean_string(v, LABEL_VALUE_MAX))
            return bad(err, errlen, field, fieldlen, path, "must be a string of at most 256 bytes");
    }
    return 0;
}

int vg_inbound_pagerduty(const json_t *body, const char *new_key, json_t **change, char *err,
                         size_t errlen, char *field, size_t fieldlen)
{
    const char *action = NULL;
    *change = NULL;
    int rc = check_pd(body, &action, err, errlen, field, fieldlen);
    if (rc)
        return rc;
    const char *dk = json_string_value(json_object_get(body, "dedup_key"));
    char key[300];
    snprintf(key, sizeof key, "pd/%s", dk ? dk : new_key);
    const json_t *p = json_object_get(body, "payload");
    *change = json_pack("{s:s,s:s,s:s}", "action", action, "key", key, "dedup_key",
                        dk ? dk : new_key);
    if (!strcmp(action, "trigger")) {
        json_t *labels = json_pack("{s:O}", "source", json_object_get(p, "source"));
        static const char *const opt[] = {"component", "group", "class", NULL};
        for (size_t i = 0; opt[i]; i++)
            if (json_object_get(p, opt[i]))
                json_object_set(labels, opt[i], json_object_get(p, opt[i]));
        json_object_set(*change, "severity", json_object_get(p, "severity"));
        json_object_set(*change, "summary", json_object_get(p, "summary"));
        json_object_set_new(*change, "labels", labels);
    }
    return 0;
}

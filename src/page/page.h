/*
 * page.h - delivering one notification to one person or contact: a webhook
 * (generic JSON, a PagerDuty Events v2 body, a Slack-compatible body), an
 * email through an SMTP relay (libcurl), or a program run with the message
 * (an SMS gateway's command line).
 *
 * Deliveries run on the event loop without blocking it (libcurl's multi
 * interface driven by libevent; exec through a child with a deadline).
 * Each is retried with exponential backoff on a network error, a timeout,
 * a 5xx or 429 answer, or a 4xx SMTP reply; a permanent refusal (any other
 * HTTP 4xx, an SMTP 5xx, exit status 64..78) is not retried. Every attempt's
 * outcome is reported once, at the end, to the caller, which records it on
 * the incident's timeline. Each request carries the page's idempotency key
 * (header Idempotency-Key; PagerDuty's dedup_key is the incident's), so a
 * receiver can drop a page sent again after a failover.
 *
 * Ownership: vg_pager_send copies everything it needs from the page;
 * the callback gets a result valid only during the call.
 */
#ifndef VG_PAGE_H
#define VG_PAGE_H

#include <event2/event.h>
#include <jansson.h>

#include "core/buf.h"

enum vg_page_channel { VG_PAGE_WEBHOOK, VG_PAGE_EMAIL, VG_PAGE_EXEC };
enum vg_page_format { VG_PAGE_GENERIC, VG_PAGE_PAGERDUTY, VG_PAGE_SLACK };
/* what happened to the incident: PagerDuty's event_action, or a notice
 * (a hand-off, a refuel request, a test page) that is not an incident's */
enum vg_page_event { VG_PAGE_TRIGGER, VG_PAGE_ACKNOWLEDGE, VG_PAGE_RESOLVE, VG_PAGE_NOTICE };

struct vg_page {
    const char *key;      /* idempotency key, unique per delivery intent */
    enum vg_page_event event;
    const char *incident; /* incident id ("inc-17"), or NULL for a notice */
    const char *dedup;    /* the incident's dedup key */
    const char *summary;  /* one line: "dc1 hall-a inlet 31.2 C above 27 C" */
    const char *severity; /* critical, error, warning, info */
    const char *site, *zone; /* may be NULL */
    const json_t *labels;    /* object of strings, may be NULL */
    const char *ack_url;     /* signed acknowledge link, may be NULL */
    const char *details;     /* longer text for email and exec, may be NULL */
    const char *recipient;   /* the person's or contact's name, for the body */
    int64_t time_ms;         /* when the incident changed */

    enum vg_page_channel channel;
    const char *url;            /* webhook: http:// or https:// */
    enum vg_page_format format; /* webhook */
    const char *routing_key;    /* webhook, PagerDuty format */
    const char *to;             /* email address */
    const char *const *argv;    /* exec: program and arguments, NULL-ended */
};

struct vg_page_result {
    int ok;            /* delivered */
    int permanent;     /* failed without retrying (a 4xx, an SMTP 5xx, exit 64..78) */
    int attempts;
    int status;        /* last HTTP status, SMTP reply code or exit status; 0: none */
    char detail[256];  /* "HTTP 202", "connection refused", "exit status 1" */
};

/* May send more pages, or even vg_pager_free the pager. */
typedef void (*vg_page_done_fn)(void *arg, const struct vg_page_result *res);

struct vg_pager_opts {
    const char *smtp_url;  /* "smtp://127.0.0.1:25" or smtps://; NULL: email fails */
    const char *mail_from; /* envelope and From: address */
    int max_attempts;      /* default 5 */
    int timeout_ms;        /* per attempt, default 10000 */
    int backoff_ms;        /* first retry delay, doubled each time; default 500 */
    int max_inflight;      /* deliveries at once; past it vg_pager_send queues; 256 */
};

typedef struct vg_pager vg_pager_t;

int vg_pager_new(struct event_base *base, const struct vg_pager_opts *opts, vg_pager_t **out,
                 char *err, size_t errlen);
/* Cancels what is pending without calling back; NULL is fine. */
void vg_pager_free(vg_pager_t *p);

/* Starts delivering; done is called exactly once, later, from the loop
 * (never from inside vg_pager_send). -EINVAL with a message when the page
 * cannot be sent at all (no URL, email without a relay). */
int vg_pager_send(vg_pager_t *p, const struct vg_page *page, vg_page_done_fn done, void *arg,
                  char *err, size_t errlen);

/* Prometheus text: deliveries by channel and outcome, in flight, queued. */
void vg_pager_metrics(const vg_pager_t *p, vg_buf_t *out);

/* The body a webhook of page->format receives (JSON), or the text of an email
 * or exec message; pure, for tests and fuzzing. */
void vg_page_body(const struct vg_page *page, vg_buf_t *out);

#endif

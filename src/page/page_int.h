/*
 * page_int.h - what page.c (the queue and the retries), page_body.c (the
 * bodies), page_http.c (webhook and email over libcurl) and page_exec.c
 * (a program run with the message) share. Not for use outside src/page/.
 *
 * A job is one vg_pager_send: it owns copies of everything its attempts
 * need (the body, the target, the argv), so the caller's page can go away
 * as soon as vg_pager_send returns. A job is in exactly one state; the
 * pager's list of all jobs is what vg_pager_free walks.
 */
#ifndef VG_PAGE_INT_H
#define VG_PAGE_INT_H

#include <curl/curl.h>
#include <sys/types.h>

#include "page/page.h"

/* bounds on what a page carries into a body (longer text is cut on a
 * character boundary with "...") */
#define VG_PAGE_FIELD_MAX   256
#define VG_PAGE_SUMMARY_MAX 1024
#define VG_PAGE_DETAILS_MAX 8192
#define VG_PAGE_URL_MAX     2048
#define VG_PAGE_KEY_MAX     128
#define VG_PAGE_LABELS_MAX  64
/* jobs waiting for a slot or for their next attempt; past it -EAGAIN */
#define VG_PAGER_PENDING_MAX 10000
/* no backoff (nor Retry-After) waits longer than this */
#define VG_PAGER_BACKOFF_CAP_MS (5 * 60 * 1000)

enum vg_page_job_state {
    VG_JOB_QUEUED,    /* in the FIFO, waiting for a slot */
    VG_JOB_RUNNING,   /* an attempt is on the wire or the child runs */
    VG_JOB_BACKOFF,   /* waiting for its next attempt */
    VG_JOB_FINISHING, /* outcome known; the callback runs from the loop */
};

/* how an attempt ended */
enum vg_page_verdict { VG_PAGE_OK, VG_PAGE_RETRY, VG_PAGE_PERMANENT };

struct vg_page_job {
    struct vg_pager *pager;
    struct vg_page_job *prev, *next; /* all jobs of the pager */
    struct vg_page_job *qnext;       /* the FIFO, when QUEUED */
    enum vg_page_job_state state;
    enum vg_page_channel channel;
    char *key;           /* header-safe idempotency key */
    char *target;        /* webhook URL or email address (may hold secrets) */
    char *where;         /* the target as it may be logged: no userinfo, path, query */
    vg_buf_t body;       /* JSON, RFC 5322 message, or the exec's stdin */
    char **argv, **envp; /* exec */
    vg_page_done_fn done;
    void *arg;
    struct vg_page_result res;
    struct event *timer; /* backoff, then the deferred finish */
    int retry_after_ms;  /* a receiver's Retry-After, 0 if none */

    /* page_http.c */
    CURL *easy;
    struct curl_slist *headers, *rcpt;
    size_t upload_off;
    char curl_err[CURL_ERROR_SIZE];

    /* page_exec.c */
    pid_t pid;
    int pidfd, stdin_fd, timed_out;
    size_t stdin_off;
    struct event *ev_exit, *ev_stdin, *ev_deadline;
};

struct vg_page_sock; /* page_http.c: one per socket libcurl watches */

struct vg_pager {
    struct event_base *base;
    struct vg_pager_opts opts; /* defaults filled in */
    char *smtp_url, *smtp_where, *mail_from;
    struct vg_page_job *jobs;             /* all, in a doubly linked list */
    struct vg_page_job *fifo, *fifo_tail; /* QUEUED, oldest first */
    struct event *pump;                   /* starts queued jobs from the loop */
    size_t n_running, n_pending;          /* pending: QUEUED + BACKOFF */

    CURLM *multi;
    struct event *curl_timer;
    struct vg_page_sock *socks;

    uint64_t n_total[3][4]; /* [channel][outcome] */
    uint64_t n_attempts;
};

enum vg_page_outcome { VG_OUT_OK, VG_OUT_FAILED, VG_OUT_PERMANENT, VG_OUT_REFUSED };

/* page.c: an attempt ended; status and detail go into the result. Never
 * calls back: the outcome or the next attempt is scheduled on the loop. */
void vg_page_attempt_end(struct vg_page_job *job, enum vg_page_verdict verdict, int status,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* page_body.c */
/* A heap copy of s cleaned (core/text.h) and cut to cap - 1 bytes; NULL
 * when s is NULL. The caller frees it. */
char *vg_page_clean(const char *s, size_t cap, unsigned flags);
/* "trigger", "acknowledge", "resolve" or "notice" */
const char *vg_page_event_name(enum vg_page_event e);
/* The key as it goes into a header: printable ASCII only, '_' for the rest. */
char *vg_page_key_clean(const char *key);
/* RFC 3339 UTC with milliseconds, e.g. "2026-05-01T12:00:00.000Z". */
void vg_page_time(int64_t ms, char out[32]);
/* "CRITICAL inc-17: summary" (or ACKNOWLEDGED / RESOLVED): a subject's words. */
void vg_page_headline(const struct vg_page *page, size_t summary_cap, vg_buf_t *out);
/* The full RFC 5322 message of an email page, CRLF line ends: headers
 * hold no control byte whatever the page holds. date_ms: when sent. */
void vg_page_mail(const struct vg_page *page, const char *from, int64_t date_ms, vg_buf_t *out);

/* page_http.c */
int vg_page_http_init(struct vg_pager *p, char *err, size_t errlen);
void vg_page_http_release(struct vg_pager *p);
int vg_page_http_prepare(struct vg_page_job *job, const struct vg_page *page, char *err,
                         size_t errlen);
void vg_page_http_start(struct vg_page_job *job);
void vg_page_http_cancel(struct vg_page_job *job);
/* "https://host:port" of a URL: what of it may be logged */
char *vg_page_url_where(const char *url);

/* page_exec.c */
int vg_page_exec_prepare(struct vg_page_job *job, const struct vg_page *page, char *err,
                         size_t errlen);
void vg_page_exec_start(struct vg_page_job *job);
void vg_page_exec_cancel(struct vg_page_job *job);

#endif

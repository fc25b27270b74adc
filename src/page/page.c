/*
 * page.c - the pager: admits pages, keeps at most max_inflight attempts
 * running with a bounded FIFO behind them, retries with exponential
 * backoff, and reports each page's outcome exactly once.
 *
 * Workload: a handful of pages a minute, bursts of hundreds when a hall
 * overheats. Everything runs on the caller's event loop; nothing here may
 * block it or call back from inside vg_pager_send: every outcome goes
 * through the job's timer first. The channels (page_http.c, page_exec.c)
 * only start and cancel attempts and say how one ended.
 */
#include "page/page_int.h"

#include <sodium.h>

#include "core/say.h"

static const char *const channel_names[] = {"webhook", "email", "exec"};
static const char *const outcome_names[] = {"ok", "failed", "permanent", "refused"};

static void job_timer_cb(evutil_socket_t fd, short what, void *arg);

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vg_pager *p = arg;
    while (p->fifo && p->n_running < (size_t)p->opts.max_inflight) {
        struct vg_page_job *job = p->fifo;
        p->fifo = job->qnext;
        if (!p->fifo)
            p->fifo_tail = NULL;
        job->qnext = NULL;
        p->n_pending--;
        p->n_running++;
        p->n_attempts++;
        job->res.attempts++;
        job->state = VG_JOB_RUNNING;
        job->retry_after_ms = 0;
        if (job->channel == VG_PAGE_EXEC)
            vg_page_exec_start(job);
        else
            vg_page_http_start(job);
    }
}

int vg_pager_new(struct event_base *base, const struct vg_pager_opts *opts, vg_pager_t **out,
                 char *err, size_t errlen)
{
    struct vg_pager *p = vg_calloc(1, sizeof *p);
    p->base = base;
    p->opts = *opts;
    p->opts.max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 5;
    p->opts.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    p->opts.backoff_ms = opts->backoff_ms > 0 ? opts->backoff_ms : 500;
    p->opts.max_inflight = opts->max_inflight > 0 ? opts->max_inflight : 256;
    if (opts->smtp_url) {
        p->smtp_url = vg_strdup(opts->smtp_url);
        p->smtp_where = vg_page_url_where(opts->smtp_url);
    }
    p->mail_from = vg_strdup(opts->mail_from ? opts->mail_from : "vigil@localhost");
    p->opts.smtp_url = p->smtp_url;
    p->opts.mail_from = p->mail_from;
    p->pump = event_new(base, -1, 0, pump_cb, p);
    int rc = vg_page_http_init(p, err, errlen);
    if (rc) {
        vg_pager_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void job_free(struct vg_page_job *job)
{
    if (job->timer)
        event_free(job->timer);
    if (job->argv)
        for (char **a = job->argv; *a; a++)
            free(*a);
    if (job->envp)
        for (char **e = job->envp; *e; e++)
            free(*e);
    curl_slist_free_all(job->headers);
    curl_slist_free_all(job->rcpt);
    free(job->argv);
    free(job->envp);
    vg_buf_release(&job->body);
    free(job->key);
    if (job->target) /* a webhook URL may carry a token */
        sodium_memzero(job->target, strlen(job->target));
    free(job->target);
    free(job->where);
    free(job);
}

static void job_unlink(struct vg_page_job *job)
{
    struct vg_pager *p = job->pager;
    if (job->prev)
        job->prev->next = job->next;
    else
        p->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
}

void vg_pager_free(vg_pager_t *p)
{
    if (!p)
        return;
    while (p->jobs) {
        struct vg_page_job *job = p->jobs;
        if (job->state == VG_JOB_RUNNING && job->channel == VG_PAGE_EXEC)
            vg_page_exec_cancel(job);
        else if (job->state == VG_JOB_RUNNING)
            vg_page_http_cancel(job);
        job_unlink(job);
        job_free(job);
    }
    vg_page_http_release(p);
    if (p->pump)
        event_free(p->pump);
    free(p->smtp_url);
    free(p->smtp_where);
    free(p->mail_from);
    free(p);
}

static int check_page(const struct vg_pager *p, const struct vg_page *page, char *err,
                      size_t errlen)
{
    if (!page->key || !*page->key)
        return vg_err(err, errlen, -EINVAL, "page has no idempotency key");
    if ((unsigned)page->channel > VG_PAGE_EXEC)
        return vg_err(err, errlen, -EINVAL, "page has an unknown channel %d", page->channel);
    if (page->channel == VG_PAGE_EMAIL && !p->smtp_url)
        return vg_err(err, errlen, -EINVAL, "page '%s': email without an SMTP relay",
                      page->key);
    return 0;
}

static void fifo_push(struct vg_pager *p, struct vg_page_job *job, int at_head)
{
    job->state = VG_JOB_QUEUED;
    if (at_head) {
        job->qnext = p->fifo;
        p->fifo = job;
        if (!p->fifo_tail)
            p->fifo_tail = job;
    } else {
        if (p->fifo_tail)
            p->fifo_tail->qnext = job;
        else
            p->fifo = job;
        p->fifo_tail = job;
    }
    event_active(p->pump, 0, 0);
}

int vg_pager_send(vg_pager_t *p, const struct vg_page *page, vg_page_done_fn done, void *arg,
                  char *err, size_t errlen)
{
    int rc = check_page(p, page, err, errlen);
    if (rc)
        return rc;
    if (p->n_pending >= VG_PAGER_PENDING_MAX) {
        p->n_total[page->channel][VG_OUT_REFUSED]++;
        return vg_err(err, errlen, -EAGAIN, "page '%s': %d pages already wait", page->key,
                      VG_PAGER_PENDING_MAX);
    }
    struct vg_page_job *job = vg_calloc(1, sizeof *job);
    job->pager = p;
    job->channel = page->channel;
    job->key = vg_page_key_clean(page->key);
    job->done = done;
    job->arg = arg;
    job->pidfd = job->stdin_fd = -1;
    rc = page->channel == VG_PAGE_EXEC ? vg_page_exec_prepare(job, page, err, errlen)
                                       : vg_page_http_prepare(job, page, err, errlen);
    if (rc) {
        job_free(job);
        return rc;
    }
    job->timer = evtimer_new(p->base, job_timer_cb, job);
    job->next = p->jobs;
    if (p->jobs)
        p->jobs->prev = job;
    p->jobs = job;
    p->n_pending++;
    fifo_push(p, job, 0);
    return 0;
}

static int backoff_ms(const struct vg_page_job *job)
{
    int64_t delay = job->pager->opts.backoff_ms;
    for (int i = 1; i < job->res.attempts && delay < VG_PAGER_BACKOFF_CAP_MS; i++)
        delay *= 2;
    if (job->retry_after_ms > delay)
        delay = job->retry_after_ms;
    return (int)(delay < VG_PAGER_BACKOFF_CAP_MS ? delay : VG_PAGER_BACKOFF_CAP_MS);
}

static void timer_in(struct vg_page_job *job, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(job->timer, &tv);
}

void vg_page_attempt_end(struct vg_page_job *job, enum vg_page_verdict verdict, int status,
                         const char *fmt, ...)
{
    struct vg_pager *p = job->pager;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->res.detail, sizeof job->res.detail, fmt, ap);
    va_end(ap);
    job->res.status = status;
    job->res.ok = verdict == VG_PAGE_OK;
    job->res.permanent = verdict == VG_PAGE_PERMANENT;
    p->n_running--;
    event_active(p->pump, 0, 0);
    if (verdict == VG_PAGE_RETRY && job->res.attempts < p->opts.max_attempts) {
        vg_debug("page %s via %s %s: attempt %d: %s; retrying", job->key,
                 channel_names[job->channel], job->where, job->res.attempts, job->res.detail);
        job->state = VG_JOB_BACKOFF;
        p->n_pending++;
        timer_in(job, backoff_ms(job));
        return;
    }
    job->state = VG_JOB_FINISHING;
    timer_in(job, 0);
}

static void finish(struct vg_page_job *job)
{
    struct vg_pager *p = job->pager;
    enum vg_page_outcome out = job->res.ok          ? VG_OUT_OK
                               : job->res.permanent ? VG_OUT_PERMANENT
                                                    : VG_OUT_FAILED;
    p->n_total[job->channel][out]++;
    if (out != VG_OUT_OK)
        vg_warn("page %s via %s %s failed after %d attempt%s: %s", job->key,
                channel_names[job->channel], job->where, job->res.attempts,
                job->res.attempts == 1 ? "" : "s", job->res.detail);
    job_unlink(job);
    struct vg_page_result res = job->res;
    vg_page_done_fn done = job->done;
    void *arg = job->arg;
    job_free(job);
    if (done)
        done(arg, &res);
}

static void job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vg_page_job *job = arg;
    if (job->state == VG_JOB_FINISHING) {
        finish(job);
        return;
    }
    /* a retry is older than anything queued: it goes first */
    fifo_push(job->pager, job, 1);
}

void vg_pager_metrics(const vg_pager_t *p, vg_buf_t *out)
{
    vg_buf_adds(out, "# HELP vigil_pages_total Pages by channel and outcome (ok, failed after "
                     "every attempt, permanent refusal, refused because too many wait).\n"
                     "# TYPE vigil_pages_total counter\n");
    for (int c = 0; c < 3; c++)
        for (int o = 0; o < 4; o++)
            vg_buf_printf(out, "vigil_pages_total{channel=\"%s\",outcome=\"%s\"} %llu\n",
                          channel_names[c], outcome_names[o],
                          (unsigned long long)p->n_total[c][o]);
    vg_buf_printf(out,
                  "# HELP vigil_pages_inflight Page delivery attempts running now.\n"
                  "# TYPE vigil_pages_inflight gauge\nvigil_pages_inflight %zu\n"
                  "# HELP vigil_pages_queued Pages waiting for a free slot or for their next "
                  "attempt (at most %d).\n"
                  "# TYPE vigil_pages_queued gauge\nvigil_pages_queued %zu\n"
                  "# HELP vigil_page_attempts_total Page delivery attempts started.\n"
                  "# TYPE vigil_page_attempts_total counter\nvigil_page_attempts_total %llu\n",
                  p->n_running, VG_PAGER_PENDING_MAX, p->n_pending,
                  (unsigned long long)p->n_attempts);
}

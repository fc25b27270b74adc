/*
 * page_http.c - webhook (HTTP POST) and email (SMTP) attempts over
 * libcurl's multi socket interface, driven by libevent on the pager's
 * loop: libcurl says which sockets to watch and when to wake it
 * (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION), the loop tells it
 * what became ready (curl_multi_socket_action). Nothing here blocks.
 *
 * What an answer means (page.h): 2xx delivered; 408, 429, 5xx, a network
 * error or a timeout retried; any other HTTP answer refused for good. An
 * SMTP 4xx reply is retried, a 5xx is not. A URL's userinfo, path and
 * query may hold a token: only scheme, host and port are ever logged.
 */
#include "page/page_int.h"

struct vg_page_sock {
    struct vg_page_sock *prev, *next;
    struct vg_pager *pager;
    struct event *ev;
};

static void drain(struct vg_pager *p);

static void sock_unlink(struct vg_pager *p, struct vg_page_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        p->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->ev)
        event_free(s->ev);
    free(s);
}

static void sock_event_cb(evutil_socket_t fd, short events, void *arg)
{
    struct vg_pager *p = ((struct vg_page_sock *)arg)->pager; /* arg may go in the call */
    int flags = ((events & EV_READ) ? CURL_CSELECT_IN : 0) |
                ((events & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(p->multi, fd, flags, &running);
    drain(p);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct vg_pager *p = userp;
    struct vg_page_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            sock_unlink(p, s);
        return 0;
    }
    if (!s) {
        s = vg_calloc(1, sizeof *s);
        s->pager = p;
        s->next = p->socks;
        if (p->socks)
            p->socks->prev = s;
        p->socks = s;
        curl_multi_assign(p->multi, fd, s);
    }
    if (s->ev)
        event_free(s->ev);
    short flags = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                  ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    s->ev = event_new(p->base, fd, flags, sock_event_cb, s);
    event_add(s->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct vg_pager *p = userp;
    if (timeout_ms < 0) {
        evtimer_del(p->curl_timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(p->curl_timer, &tv);
    return 0;
}

static void curl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vg_pager *p = arg;
    int running;
    curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(p);
}

static int valid_address(const char *a)
{
    size_t len = a ? strlen(a) : 0;
    const char *at = a ? strrchr(a, '@') : NULL;
    if (len == 0 || len > 254 || !at || at == a || !at[1])
        return 0;
    for (const char *c = a; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || strchr("<>()[],;:\\\"", *c))
            return 0;
    return 1;
}

int vg_page_http_init(struct vg_pager *p, char *err, size_t errlen)
{
    if (p->smtp_url && strncmp(p->smtp_url, "smtp://", 7) &&
        strncmp(p->smtp_url, "smtps://", 8))
        return vg_err(err, errlen, -EINVAL, "SMTP relay '%s' is not smtp:// or smtps://",
                      p->smtp_where);
    if (p->smtp_url && !valid_address(p->mail_from))
        return vg_err(err, errlen, -EINVAL, "mail from '%s' is not an address", p->mail_from);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return vg_err(err, errlen, -ENOMEM, "cannot initialise libcurl");
    p->multi = curl_multi_init();
    if (!p->multi) {
        curl_global_cleanup();
        return vg_err(err, errlen, -ENOMEM, "cannot initialise libcurl");
    }
    p->curl_timer = evtimer_new(p->base, curl_timer_cb, p);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
    return 0;
}

void vg_page_http_release(struct vg_pager *p)
{
    if (!p->multi)
        return;
    /* the sockets' events go first, while their descriptors are open */
    for (struct vg_page_sock *s = p->socks; s; s = s->next) {
        event_free(s->ev);
        s->ev = NULL;
    }
    curl_multi_cleanup(p->multi);
    while (p->socks)
        sock_unlink(p, p->socks);
    event_free(p->curl_timer);
    curl_global_cleanup();
}

char *vg_page_url_where(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    vg_buf_t out = VG_BUF_INIT;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        vg_buf_printf(&out, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
    } else {
        vg_buf_adds(&out, "(unparsable URL)");
    }
    curl_free(scheme), curl_free(host), curl_free(port);
    curl_url_cleanup(u);
    char *where = vg_page_clean((const char *)out.data, VG_PAGE_FIELD_MAX, 0);
    vg_buf_release(&out);
    return where;
}

static int prepare_webhook(struct vg_page_job *job, const struct vg_page *page, char *err,
                           size_t errlen)
{
    const char *url = page->url;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return vg_err(err, errlen, -EINVAL,
                      "page '%s': webhook needs an http:// or https:// URL", job->key);
    if (page->format == VG_PAGE_PAGERDUTY && (!page->routing_key || !*page->routing_key))
        return vg_err(err, errlen, -EINVAL,
                      "page '%s': PagerDuty webhook without a routing key", job->key);
    job->target = vg_strdup(url);
    job->where = vg_page_url_where(url);
    vg_page_body(page, &job->body);
    char idem[VG_PAGE_KEY_MAX + 32];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", job->key);
    job->headers = curl_slist_append(NULL, "Content-Type: application/json");
    job->headers = curl_slist_append(job->headers, idem);
    job->headers = curl_slist_append(job->headers, "Expect:");
    return 0;
}

static int prepare_email(struct vg_page_job *job, const struct vg_page *page, char *err,
                         size_t errlen)
{
    if (!valid_address(page->to))
        return vg_err(err, errlen, -EINVAL, "page '%s': email address '%s' is not one",
                      job->key, page->to ? page->to : "");
    char rcpt[300];
    snprintf(rcpt, sizeof rcpt, "<%s>", page->to);
    job->target = vg_strdup(page->to);
    job->where = vg_page_clean(page->to, VG_PAGE_FIELD_MAX, 0);
    job->rcpt = curl_slist_append(NULL, rcpt);
    vg_page_mail(page, job->pager->mail_from, (int64_t)vg_wall_ms(), &job->body);
    return 0;
}

int vg_page_http_prepare(struct vg_page_job *job, const struct vg_page *page, char *err,
                         size_t errlen)
{
    if (page->channel == VG_PAGE_EMAIL)
        return prepare_email(job, page, err, errlen);
    return prepare_webhook(job, page, err, errlen);
}

static size_t discard_cb(char *ptr, size_t size, size_t n, void *arg)
{
    return size * n;
}

static size_t upload_cb(char *buf, size_t size, size_t n, void *arg)
{
    struct vg_page_job *job = arg;
    size_t left = job->body.len - job->upload_off, take = size * n < left ? size * n : left;
    memcpy(buf, job->body.data + job->upload_off, take);
    job->upload_off += take;
    return take;
}

static void setup_email(struct vg_page_job *job)
{
    struct vg_pager *p = job->pager;
    char from[300];
    snprintf(from, sizeof from, "<%s>", p->mail_from);
    job->upload_off = 0;
    curl_easy_setopt(job->easy, CURLOPT_URL, p->smtp_url);
    curl_easy_setopt(job->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(job->easy, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(job->easy, CURLOPT_MAIL_RCPT, job->rcpt);
    curl_easy_setopt(job->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(job->easy, CURLOPT_READFUNCTION, upload_cb);
    curl_easy_setopt(job->easy, CURLOPT_READDATA, job);
    curl_easy_setopt(job->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)job->body.len);
}

static void setup_webhook(struct vg_page_job *job)
{
    curl_easy_setopt(job->easy, CURLOPT_URL, job->target);
    curl_easy_setopt(job->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(job->easy, CURLOPT_POSTFIELDS, (const char *)job->body.data);
    curl_easy_setopt(job->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body.len);
    curl_easy_setopt(job->easy, CURLOPT_HTTPHEADER, job->headers);
    curl_easy_setopt(job->easy, CURLOPT_USERAGENT, "vigil/" VG_VERSION);
    curl_easy_setopt(job->easy, CURLOPT_WRITEFUNCTION, discard_cb);
}

void vg_page_http_start(struct vg_page_job *job)
{
    struct vg_pager *p = job->pager;
    job->easy = curl_easy_init();
    if (!job->easy) {
        vg_page_attempt_end(job, VG_PAGE_RETRY, 0, "cannot initialise libcurl");
        return;
    }
    curl_easy_setopt(job->easy, CURLOPT_PRIVATE, job);
    curl_easy_setopt(job->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(job->easy, CURLOPT_TIMEOUT_MS, (long)p->opts.timeout_ms);
    curl_easy_setopt(job->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)p->opts.timeout_ms);
    if (job->channel == VG_PAGE_EMAIL)
        setup_email(job);
    else
        setup_webhook(job);
    if (curl_multi_add_handle(p->multi, job->easy) != CURLM_OK) {
        curl_easy_cleanup(job->easy);
        job->easy = NULL;
        vg_page_attempt_end(job, VG_PAGE_RETRY, 0, "cannot start a libcurl transfer");
    }
}

void vg_page_http_cancel(struct vg_page_job *job)
{
    if (!job->easy)
        return;
    curl_multi_remove_handle(job->pager->multi, job->easy);
    curl_easy_cleanup(job->easy);
    job->easy = NULL;
}

/* A transfer that got no usable answer: what happened, in words that
 * hold no part of the URL. */
static void end_unanswered(struct vg_page_job *job, CURLcode rc, long code)
{
    long os_errno = 0;
    curl_easy_getinfo(job->easy, CURLINFO_OS_ERRNO, &os_errno);
    vg_page_http_cancel(job);
    int permanent = rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
                    rc == CURLE_LOGIN_DENIED;
    enum vg_page_verdict v = permanent ? VG_PAGE_PERMANENT : VG_PAGE_RETRY;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        vg_page_attempt_end(job, v, (int)code, "timed out after %d ms",
                            job->pager->opts.timeout_ms);
    else if (rc == CURLE_COULDNT_CONNECT && os_errno)
        vg_page_attempt_end(job, v, (int)code, "cannot connect: %s", strerror((int)os_errno));
    else
        vg_page_attempt_end(job, v, (int)code, "%s", curl_easy_strerror(rc));
}

static void end_smtp(struct vg_page_job *job, CURLcode rc, long code)
{
    if (rc == CURLE_OK || code < 400) {
        if (rc != CURLE_OK)
            end_unanswered(job, rc, code);
        else {
            vg_page_http_cancel(job);
            vg_page_attempt_end(job, VG_PAGE_OK, (int)code, "SMTP %ld", code);
        }
        return;
    }
    vg_page_http_cancel(job);
    vg_page_attempt_end(job, code >= 500 ? VG_PAGE_PERMANENT : VG_PAGE_RETRY, (int)code,
                        "SMTP %ld", code);
}

static void end_http(struct vg_page_job *job, CURLcode rc, long code)
{
    if (rc != CURLE_OK || code == 0) {
        end_unanswered(job, rc, code);
        return;
    }
    curl_off_t retry_after = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RETRY_AFTER, &retry_after);
    if (retry_after > 0)
        job->retry_after_ms = retry_after > VG_PAGER_BACKOFF_CAP_MS / 1000
                                  ? VG_PAGER_BACKOFF_CAP_MS
                                  : (int)retry_after * 1000;
    vg_page_http_cancel(job);
    enum vg_page_verdict v = (code >= 200 && code < 300)                   ? VG_PAGE_OK
                             : (code == 408 || code == 429 || code >= 500) ? VG_PAGE_RETRY
                                                                           : VG_PAGE_PERMANENT;
    vg_page_attempt_end(job, v, (int)code, "HTTP %ld", code);
}

static void drain(struct vg_pager *p)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(p->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode rc = msg->data.result;
        char *priv = NULL;
        long code = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct vg_page_job *job = (struct vg_page_job *)priv;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        if (job->channel == VG_PAGE_EMAIL)
            end_smtp(job, rc, code);
        else
            end_http(job, rc, code);
    }
}

/*
 * agents_worker.c - the agents' thread (agents_worker.h): a queue of jobs
 * (moves before probes), the steps of a move with their deadlines and
 * retries, and the probes that also fence what must not accept writes.
 *
 * A failed step is reported, and the steps after it of that service and
 * of every service after it in order are reported skipped: services move
 * in declared order because later ones depend on earlier ones. A fence of
 * an old primary that does not answer is no failure: its own site's
 * vigild fences it before anything else when it comes back, and the
 * acting primary's probes fence it as soon as it answers.
 */
#include "agents/agents_worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/text.h"
#include "core/timefmt.h"

#define PROBE_TIMEOUT_S 3
#define HEALTH_POLL_MS  300

struct queued {
    struct vg_agents_job *job;
    struct queued *next;
};

struct vg_agents_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queued *head; /* moves first, then at most one probe */
    int stop, running;
    json_t *reports; /* under mu */
    int notify_fd;
    _Atomic uint64_t primary_term;
};

void vg_agents_job_free(struct vg_agents_job *job)
{
    if (!job)
        return;
    vg_agent_specs_free(job->specs, job->n_specs);
    free(job);
}

static void report(vg_agents_worker_t *w, json_t *r)
{
    char when[32];
    vg_time_format_utc((int64_t)vg_wall_ms(), when);
    json_object_set_new(r, "time", json_string(when));
    pthread_mutex_lock(&w->mu);
    if (json_array_size(w->reports) >= VG_AGENTS_REPORTS_MAX)
        json_array_remove(w->reports, 0);
    json_array_append_new(w->reports, r);
    pthread_mutex_unlock(&w->mu);
    uint64_t one = 1;
    (void)!write(w->notify_fd, &one, sizeof one);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- one step ---- */

struct step_run {
    const struct vg_agents_job *job;
    const struct vg_agent_spec *spec;
    const struct vg_agent_site *site;
    enum vg_agent_step_kind kind;
    char msg[512];
    vg_buf_t output;
    int attempts;
};

static int run_hook(struct step_run *s, char **argv)
{
    char epoch[40], primary[96], reason[96], service[96], hook[32];
    snprintf(epoch, sizeof epoch, "VIGIL_EPOCH=%llu", (unsigned long long)s->job->epoch);
    snprintf(primary, sizeof primary, "VIGIL_NEW_PRIMARY=%s", s->job->site);
    snprintf(reason, sizeof reason, "VIGIL_REASON=%s", s->job->reason);
    snprintf(service, sizeof service, "VIGIL_SERVICE=%s", s->spec->name);
    snprintf(hook, sizeof hook, "VIGIL_HOOK=%s", vg_agent_step_name(s->kind));
    const char *env[] = {epoch, primary, reason, service, hook, NULL};
    vg_buf_reset(&s->output);
    return vg_agent_exec(argv, env, s->spec->hook_timeout_s, &s->output, s->msg, sizeof s->msg);
}

/* Polls the health URL until it answers 2xx or health_timeout_s pass. */
static int run_health(struct step_run *s)
{
    uint64_t deadline = vg_mono_ms() + (uint64_t)s->spec->health_timeout_s * 1000;
    for (;;) {
        int rc =
            vg_agent_http_check(s->site->health_url, s->spec->timeout_s, s->msg, sizeof s->msg);
        if (!rc || vg_mono_ms() >= deadline)
            return rc;
        sleep_ms(HEALTH_POLL_MS);
        s->attempts++;
    }
}

static int run_once(struct step_run *s)
{
    int t = s->spec->timeout_s;
    switch (s->kind) {
    case VG_STEP_BEFORE:
        return run_hook(s, s->spec->before);
    case VG_STEP_AFTER:
        return run_hook(s, s->spec->after);
    case VG_STEP_FENCE:
        return vg_agent_pg_fence(s->site->conninfo, t, s->msg, sizeof s->msg);
    case VG_STEP_PROMOTE:
        return vg_agent_pg_promote(s->site->conninfo, t, s->msg, sizeof s->msg);
    case VG_STEP_WRITE_CHECK:
        return vg_agent_pg_write_check(s->site->conninfo, t, s->msg, sizeof s->msg);
    case VG_STEP_HEALTH:
        return run_health(s);
    }
    return -EINVAL;
}

/* The step with its retries; the result's name. */
static const char *run_step(struct step_run *s)
{
    int rc = -EINVAL;
    for (s->attempts = 1;; s->attempts++) {
        rc = run_once(s);
        if (!rc)
            return "ok";
        /* an old primary that does not answer is fenced by its own site */
        if (s->kind == VG_STEP_FENCE && rc == -EHOSTUNREACH) {
            char why[512];
            snprintf(why, sizeof why,
                     "does not answer (%.300s): its site's vigild fences it before anything "
                     "else when it returns",
                     s->msg);
            snprintf(s->msg, sizeof s->msg, "%s", why);
            return "unreachable";
        }
        if (s->attempts > s->spec->retries || s->kind == VG_STEP_HEALTH)
            return "failed";
        sleep_ms(VG_AGENT_RETRY_MS);
    }
}

static json_t *step_report(const struct vg_agents_job *job, const char *service,
                           const char *site, const char *step, const char *result,
                           const char *msg, uint64_t duration_ms, int attempts)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:I, s:s}", "type", "step",
                     "service", service, "site", site, "step", step, "result", result,
                     "message", msg, "duration_ms", (json_int_t)duration_ms, "attempts",
                     attempts, "epoch", (json_int_t)job->epoch, "reason", job->reason);
}

static void report_step(vg_agents_worker_t *w, struct step_run *s, const char *result,
                        uint64_t duration_ms)
{
    json_t *r = step_report(s->job, s->spec->name, s->site->name, vg_agent_step_name(s->kind),
                            result, s->msg, duration_ms, s->attempts);
    if (s->kind == VG_STEP_BEFORE || s->kind == VG_STEP_AFTER) {
        char *text = vg_calloc(1, VG_AGENT_OUTPUT_MAX * 4 + 8);
        vg_text_clean(text, VG_AGENT_OUTPUT_MAX * 4 + 8, (const char *)s->output.data,
                      s->output.len, VG_TEXT_KEEP_NEWLINES);
        json_object_set_new(r, "output", json_string(text));
        free(text);
    }
    report(w, r);
}

/* ---- a move ---- */

static int still_primary(vg_agents_worker_t *w, const struct vg_agents_job *job)
{
    return atomic_load(&w->primary_term) == job->term && job->term != 0;
}

static void report_skipped(vg_agents_worker_t *w, const struct vg_agents_job *job,
                           const struct vg_agent_spec *spec, const char *why)
{
    report(w, step_report(job, spec->name, job->site, "move", "skipped", why, 0, 0));
}

static void run_move(vg_agents_worker_t *w, const struct vg_agents_job *job)
{
    uint64_t t0 = vg_mono_ms();
    report(w, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "type", "move", "phase", "start",
                        "site", job->site, "epoch", (json_int_t)job->epoch, "reason",
                        job->reason, "services", (json_int_t)job->n_specs));
    size_t n = vg_agent_plan(job->specs, job->n_specs, job->site, NULL, 0);
    struct vg_agent_step *steps = vg_calloc(n ? n : 1, sizeof *steps);
    vg_agent_plan(job->specs, job->n_specs, job->site, steps, n);
    const char *failed = NULL; /* the first service that failed */
    size_t n_failed = 0, skipped_upto = SIZE_MAX;
    char why[256];
    struct step_run s = {.job = job, .output = VG_BUF_INIT};
    for (size_t i = 0; i < n; i++) {
        const struct vg_agent_spec *spec = &job->specs[steps[i].service];
        if (skipped_upto == steps[i].service)
            continue;
        if (failed || !still_primary(w, job)) {
            if (failed)
                snprintf(why, sizeof why, "not moved: service '%s' before it failed", failed);
            else
                snprintf(why, sizeof why,
                         "not moved: this member stopped acting as "
                         "primary (epoch %llu)",
                         (unsigned long long)job->epoch);
            report_skipped(w, job, spec, why);
            skipped_upto = steps[i].service;
            n_failed++;
            continue;
        }
        s.spec = spec;
        s.site = vg_agent_site(spec, steps[i].site);
        s.kind = steps[i].kind;
        s.msg[0] = '\0';
        uint64_t t1 = vg_mono_ms();
        const char *result = run_step(&s);
        report_step(w, &s, result, vg_mono_ms() - t1);
        if (!strcmp(result, "failed")) {
            failed = spec->name;
            skipped_upto = steps[i].service;
            n_failed++;
        }
    }
    vg_buf_release(&s.output);
    free(steps);
    report(w, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "type", "move", "phase",
                        "done", "site", job->site, "epoch", (json_int_t)job->epoch, "reason",
                        job->reason, "services", (json_int_t)job->n_specs, "failed",
                        (json_int_t)n_failed, "duration_ms", (json_int_t)(vg_mono_ms() - t0)));
}

/* ---- probes ---- */

/* Fences an endpoint found accepting writes where it must not. */
static void enforce(vg_agents_worker_t *w, const struct vg_agents_job *job,
                    const struct vg_agent_spec *spec, const struct vg_agent_site *site)
{
    struct step_run s = {
        .job = job, .spec = spec, .site = site, .kind = VG_STEP_FENCE, .output = VG_BUF_INIT};
    uint64_t t0 = vg_mono_ms();
    const char *result = run_step(&s);
    char msg[sizeof s.msg];
    snprintf(msg, sizeof msg, "found accepting writes while %s: %.400s",
             job->primary ? "another site is primary" : "this site is not primary", s.msg);
    snprintf(s.msg, sizeof s.msg, "%s", msg);
    json_t *r = step_report(job, spec->name, site->name, "fence", result, s.msg,
                            vg_mono_ms() - t0, s.attempts);
    json_object_set_new(r, "enforced", json_true());
    report(w, r);
}

static void probe_site(vg_agents_worker_t *w, const struct vg_agents_job *job,
                       const struct vg_agent_spec *spec, const struct vg_agent_site *site)
{
    char role_msg[512] = "", health_msg[512] = "";
    const char *role = "n/a", *health = "n/a";
    int mine = !strcmp(site->name, job->site);
    if (spec->kind == VG_AGENT_POSTGRESQL) {
        enum vg_pg_role r;
        vg_agent_pg_probe(site->conninfo, PROBE_TIMEOUT_S, &r, role_msg, sizeof role_msg);
        role = vg_pg_role_name(r);
        if (r == VG_PG_PRIMARY && job->primary && mine) {
            char msg[512];
            if (vg_agent_pg_sync_restore(site->conninfo, PROBE_TIMEOUT_S, msg, sizeof msg) == 1)
                report(w, step_report(job, spec->name, site->name, "sync_restore", "ok", msg, 0,
                                      1));
        }
        /* only the acting primary's site may hold a writable server; a
         * probe posted before this member's role changed must not act on
         * the old role (it would fence the new primary's server) */
        if (r == VG_PG_PRIMARY && (job->primary ? !mine : mine) &&
            atomic_load(&w->primary_term) == job->term) {
            enforce(w, job, spec, site);
            vg_agent_pg_probe(site->conninfo, PROBE_TIMEOUT_S, &r, role_msg, sizeof role_msg);
            role = vg_pg_role_name(r);
        }
    }
    if (site->health_url) {
        int t = spec->timeout_s < PROBE_TIMEOUT_S ? spec->timeout_s : PROBE_TIMEOUT_S;
        health = vg_agent_http_check(site->health_url, t, health_msg, sizeof health_msg)
                     ? "failing"
                     : "ok";
    }
    report(w, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "probe", "service",
                        spec->name, "site", site->name, "role", role, "role_detail", role_msg,
                        "health", health, "health_detail", health_msg));
}

static void run_probe(vg_agents_worker_t *w, const struct vg_agents_job *job)
{
    for (size_t i = 0; i < job->n_specs; i++)
        for (size_t j = 0; j < job->specs[i].n_sites; j++)
            probe_site(w, job, &job->specs[i], &job->specs[i].sites[j]);
}

/* ---- the thread and its queue ---- */

static void *worker_main(void *arg)
{
    vg_agents_worker_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->head)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        struct queued *q = w->head;
        w->head = q->next;
        w->running = 1;
        pthread_mutex_unlock(&w->mu);
        if (q->job->kind == VG_AGENTS_MOVE)
            run_move(w, q->job);
        else
            run_probe(w, q->job);
        vg_agents_job_free(q->job);
        free(q);
        pthread_mutex_lock(&w->mu);
        w->running = 0;
    }
    pthread_mutex_unlock(&w->mu);
    vg_agent_pg_close_all();
    return NULL;
}

int vg_agents_worker_new(vg_agents_worker_t **out, char *err, size_t errlen)
{
    vg_agents_worker_t *w = vg_calloc(1, sizeof *w);
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->notify_fd < 0) {
        int rc = vg_err(err, errlen, -errno, "cannot make an eventfd: %s", strerror(errno));
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->reports = json_array();
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc) {
        json_decref(w->reports);
        close(w->notify_fd);
        free(w);
        return vg_err(err, errlen, -rc, "cannot start the agents' thread: %s", strerror(rc));
    }
    *out = w;
    return 0;
}

void vg_agents_worker_free(vg_agents_worker_t *w)
{
    if (!w)
        return;
    atomic_store(&w->primary_term, 0); /* a move stops at its next step */
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->head) {
        struct queued *q = w->head;
        w->head = q->next;
        vg_agents_job_free(q->job);
        free(q);
    }
    json_decref(w->reports);
    close(w->notify_fd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

void vg_agents_worker_post(vg_agents_worker_t *w, struct vg_agents_job *job)
{
    pthread_mutex_lock(&w->mu);
    struct queued **at = &w->head;
    if (job->kind == VG_AGENTS_MOVE) {
        while (*at && (*at)->job->kind == VG_AGENTS_MOVE)
            at = &(*at)->next;
    } else {
        while (*at && (*at)->job->kind == VG_AGENTS_MOVE)
            at = &(*at)->next;
        if (*at) { /* a probe waits already */
            pthread_mutex_unlock(&w->mu);
            vg_agents_job_free(job);
            return;
        }
    }
    struct queued *q = vg_calloc(1, sizeof *q);
    q->job = job;
    q->next = *at;
    *at = q;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void vg_agents_worker_set_primary(vg_agents_worker_t *w, uint64_t term)
{
    atomic_store(&w->primary_term, term);
}

int vg_agents_worker_fd(const vg_agents_worker_t *w)
{
    return w->notify_fd;
}

json_t *vg_agents_worker_take(vg_agents_worker_t *w)
{
    uint64_t n;
    (void)!read(w->notify_fd, &n, sizeof n);
    pthread_mutex_lock(&w->mu);
    json_t *out = w->reports;
    w->reports = json_array();
    pthread_mutex_unlock(&w->mu);
    return out;
}

int vg_agents_worker_busy(vg_agents_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    int busy = w->running || w->head;
    pthread_mutex_unlock(&w->mu);
    return busy;
}

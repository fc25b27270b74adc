/*
 * page_exec.c - a page delivered by running a program (an SMS gateway's
 * command line): argv as given, no shell, the message on stdin and the
 * page in VIGIL_* environment variables. Exit status 0 is delivered,
 * 64..78 (sysexits.h: bad usage, unknown user, ...) refused for good,
 * anything else retried; past the deadline the child's process group is
 * killed and the attempt retried.
 *
 * The child is watched through a pidfd on the loop and reaped by its pid
 * alone: no SIGCHLD handler and no waitpid(-1), which would steal the
 * status of vigild's other children (snapshot writers). Where pidfds are
 * missing, a short timer polls waitpid(pid, WNOHANG). stdin is one end of
 * a socket pair so that a child that never reads cannot raise SIGPIPE.
 */
#include "page/page_int.h"

#include "core/spawn.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ; /* build_env copies it */

#define EXEC_ARGS_MAX 64
#define EXEC_POLL_MS  50 /* waitpid polling without a pidfd */

static char *env_pair(const char *name, const char *value, size_t cap)
{
    char *clean = vg_page_clean(value ? value : "", cap, 0);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s=%s", name, clean);
    free(clean);
    return (char *)vg_buf_detach(&b, NULL);
}

/* vigild's environment without its own VIGIL_* variables, then the page's */
static char **build_env(const struct vg_page *pg, const char *key)
{
    size_t n_env = 0, n = 0;
    while (environ && environ[n_env])
        n_env++;
    char **env = vg_calloc(n_env + 16, sizeof *env);
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(environ[i], "VIGIL_", 6) != 0)
            env[n++] = vg_strdup(environ[i]);
    char when[32];
    vg_page_time(pg->time_ms, when);
    env[n++] = env_pair("VIGIL_EVENT", vg_page_event_name(pg->event), VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_INCIDENT", pg->incident, VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_DEDUP_KEY", pg->dedup, VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_SEVERITY", pg->severity, VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_SUMMARY", pg->summary, VG_PAGE_SUMMARY_MAX);
    env[n++] = env_pair("VIGIL_SITE", pg->site, VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_ZONE", pg->zone, VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_ACK_URL", pg->ack_url, VG_PAGE_URL_MAX);
    env[n++] = env_pair("VIGIL_RECIPIENT", pg->recipient, VG_PAGE_FIELD_MAX);
    env[n++] = env_pair("VIGIL_TIME", when, sizeof when);
    env[n++] = env_pair("VIGIL_KEY", key, VG_PAGE_KEY_MAX);
    return env;
}

int vg_page_exec_prepare(struct vg_page_job *job, const struct vg_page *page, char *err,
                         size_t errlen)
{
    size_t n = 0;
    while (page->argv && page->argv[n])
        n++;
    if (n == 0 || !*page->argv[0])
        return vg_err(err, errlen, -EINVAL, "page '%s': exec without a program", job->key);
    if (n > EXEC_ARGS_MAX)
        return vg_err(err, errlen, -EINVAL, "page '%s': exec with more than %d arguments",
                      job->key, EXEC_ARGS_MAX);
    job->argv = vg_calloc(n + 1, sizeof *job->argv);
    for (size_t i = 0; i < n; i++)
        job->argv[i] = vg_strdup(page->argv[i]);
    job->envp = build_env(page, job->key);
    job->where = vg_page_clean(page->argv[0], VG_PAGE_FIELD_MAX, 0);
    vg_page_body(page, &job->body);
    return 0;
}

/* Closes what an attempt holds but the child itself. */
static void release_attempt(struct vg_page_job *job)
{
    if (job->ev_stdin)
        event_free(job->ev_stdin);
    if (job->ev_exit)
        event_free(job->ev_exit);
    if (job->ev_deadline)
        event_free(job->ev_deadline);
    job->ev_stdin = job->ev_exit = job->ev_deadline = NULL;
    if (job->stdin_fd >= 0)
        close(job->stdin_fd);
    if (job->pidfd >= 0)
        close(job->pidfd);
    job->stdin_fd = job->pidfd = -1;
    job->pid = 0;
}

static void stdin_done(struct vg_page_job *job)
{
    event_free(job->ev_stdin);
    job->ev_stdin = NULL;
    close(job->stdin_fd);
    job->stdin_fd = -1;
}

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vg_page_job *job = arg;
    ssize_t n = send(fd, job->body.data + job->stdin_off, job->body.len - job->stdin_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        job->stdin_off += (size_t)n;
    if (n < 0 || job->stdin_off == job->body.len)
        stdin_done(job); /* a child that stops reading just gets EOF early */
}

static void exited(struct vg_page_job *job, int st)
{
    int timed_out = job->timed_out;
    release_attempt(job);
    if (timed_out)
        vg_page_attempt_end(job, VG_PAGE_RETRY, 0, "killed after the %d ms deadline",
                            job->pager->opts.timeout_ms);
    else if (WIFSIGNALED(st))
        vg_page_attempt_end(job, VG_PAGE_RETRY, 128 + WTERMSIG(st), "killed by signal %d",
                            WTERMSIG(st));
    else if (WEXITSTATUS(st) == 0)
        vg_page_attempt_end(job, VG_PAGE_OK, 0, "exit status 0");
    else
        vg_page_attempt_end(job,
                            WEXITSTATUS(st) >= 64 && WEXITSTATUS(st) <= 78 ? VG_PAGE_PERMANENT
                                                                           : VG_PAGE_RETRY,
                            WEXITSTATUS(st), "exit status %d", WEXITSTATUS(st));
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vg_page_job *job = arg;
    int st = 0;
    pid_t got = waitpid(job->pid, &st, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR))
        return;
    if (got < 0) { /* someone else reaped it: the outcome is unknown */
        release_attempt(job);
        vg_page_attempt_end(job, VG_PAGE_RETRY, 0, "lost the child's exit status");
        return;
    }
    exited(job, st);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vg_page_job *job = arg;
    job->timed_out = 1;
    vg_spawn_kill(job->pid);
}

static int spawn(struct vg_page_job *job, int child_stdin)
{
    return vg_spawn(&job->pid, job->argv, job->envp, child_stdin, -1, -1);
}

static void watch(struct vg_page_job *job)
{
    struct event_base *base = job->pager->base;
    int ms = job->pager->opts.timeout_ms;
    struct timeval deadline = {ms / 1000, (ms % 1000) * 1000};
    struct timeval poll = {0, EXEC_POLL_MS * 1000};
    job->pidfd = (int)syscall(SYS_pidfd_open, job->pid, 0);
    if (job->pidfd >= 0) {
        job->ev_exit = event_new(base, job->pidfd, EV_READ | EV_PERSIST, exit_cb, job);
        event_add(job->ev_exit, NULL);
    } else {
        job->ev_exit = event_new(base, -1, EV_PERSIST, exit_cb, job);
        event_add(job->ev_exit, &poll);
    }
    job->ev_stdin = event_new(base, job->stdin_fd, EV_WRITE | EV_PERSIST, stdin_cb, job);
    event_add(job->ev_stdin, NULL);
    job->ev_deadline = evtimer_new(base, deadline_cb, job);
    evtimer_add(job->ev_deadline, &deadline);
}

void vg_page_exec_start(struct vg_page_job *job)
{
    int sv[2];
    job->timed_out = 0;
    job->stdin_off = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        vg_page_attempt_end(job, VG_PAGE_RETRY, 0, "cannot make a socket pair: %s",
                            strerror(errno));
        return;
    }
    int rc = spawn(job, sv[1]);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        job->pid = 0;
        int missing = rc == ENOENT || rc == EACCES || rc == ENOEXEC || rc == ENOTDIR;
        vg_page_attempt_end(job, missing ? VG_PAGE_PERMANENT : VG_PAGE_RETRY, 0,
                            "cannot run '%s': %s", job->where, strerror(rc));
        return;
    }
    job->stdin_fd = sv[0];
    shutdown(sv[0], SHUT_RD);
    watch(job);
}

void vg_page_exec_cancel(struct vg_page_job *job)
{
    if (job->pid > 0) {
        vg_spawn_kill(job->pid);
        while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    release_attempt(job);
}

/*
 * agent_exec.c - a service's hook run by the agents' worker thread
 * (agents.h): argv as given, no shell, in its own process group, with the
 * move in VIGIL_* variables, its output (stdout and stderr together) kept
 * up to VG_AGENT_OUTPUT_MAX bytes for the move's event, killed past its
 * deadline. The process start is vigild's one way to start a program
 * (core/spawn.h); the child is reaped by its pid only.
 */
#include "agents/agents.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/spawn.h"

extern char **environ; /* copied without its VIGIL_* variables */

#define EXEC_POLL_MS 50 /* waitpid polling where pidfds are missing */

static char **build_env(const char *const extra[])
{
    size_t n_env = 0, n_extra = 0, n = 0;
    while (environ && environ[n_env])
        n_env++;
    while (extra && extra[n_extra])
        n_extra++;
    char **env = vg_calloc(n_env + n_extra + 1, sizeof *env);
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(environ[i], "VIGIL_", 6) != 0)
            env[n++] = environ[i];
    for (size_t i = 0; i < n_extra; i++)
        env[n++] = (char *)extra[i];
    return env; /* the strings are borrowed: free the array only */
}

/* Reads what the pipe has; keeps the first VG_AGENT_OUTPUT_MAX bytes.
 * 1 at end of file. */
static int drain(int fd, vg_buf_t *output)
{
    char chunk[4096];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got == 0)
            return 1;
        if (got < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : 1;
        size_t room = output->len < VG_AGENT_OUTPUT_MAX ? VG_AGENT_OUTPUT_MAX - output->len : 0;
        vg_buf_add(output, chunk, (size_t)got < room ? (size_t)got : room);
    }
}

/* Waits for the child, reading its output, until it ends or the deadline
 * passes (then kills it). Returns its wait status; *timed_out set. */
static int watch(pid_t pid, int out_fd, int timeout_s, vg_buf_t *output, int *timed_out)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), st = 0, eof = 0;
    uint64_t deadline = vg_mono_ms() + (uint64_t)timeout_s * 1000;
    *timed_out = 0;
    for (;;) {
        pid_t got = waitpid(pid, &st, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            break;
        uint64_t now = vg_mono_ms();
        if (now >= deadline && !*timed_out) {
            *timed_out = 1;
            vg_spawn_kill(pid);
        }
        struct pollfd fds[2] = {{eof ? -1 : out_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
        int wait_ms = *timed_out ? EXEC_POLL_MS : (int)(deadline - now);
        if (pidfd < 0 && wait_ms > EXEC_POLL_MS)
            wait_ms = EXEC_POLL_MS;
        if (poll(fds, 2, wait_ms) > 0 && fds[0].revents && !eof)
            eof = drain(out_fd, output);
    }
    if (!eof)
        drain(out_fd,
              output); /* what it wrote last; a helper holding the pipe is not awaited */
    if (pidfd >= 0)
        close(pidfd);
    return st;
}

int vg_agent_exec(char *const argv[], const char *const env_extra[], int timeout_s,
                  vg_buf_t *output, char *msg, size_t msglen)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return vg_err(msg, msglen, -errno, "cannot make a pipe: %s", strerror(errno));
    char **env = build_env(env_extra);
    pid_t pid = 0;
    int rc = vg_spawn(&pid, argv, env, -1, fds[1], fds[1]);
    free(env);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        return vg_err(msg, msglen, -rc, "cannot run '%s': %s", argv[0], strerror(rc));
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    int timed_out;
    int st = watch(pid, fds[0], timeout_s, output, &timed_out);
    close(fds[0]);
    if (timed_out)
        return vg_err(msg, msglen, -ETIMEDOUT, "killed after the %d s deadline", timeout_s);
    if (WIFSIGNALED(st))
        return vg_err(msg, msglen, -EIO, "killed by signal %d", WTERMSIG(st));
    if (WEXITSTATUS(st))
        return vg_err(msg, msglen, -EIO, "exit status %d", WEXITSTATUS(st));
    snprintf(msg, msglen, "exit status 0");
    return 0;
}

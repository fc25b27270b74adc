/*
 * spawn.h - starting a program the way vigild runs every outside program
 * (a page's SMS gateway, a service's hook): argv as given and no shell, in
 * its own process group (so a deadline can kill it and whatever it
 * started), with a clean signal mask and default dispositions, and no
 * descriptor of vigild's but the ones named here.
 *
 * The caller watches and reaps the child by its pid alone (never
 * waitpid(-1), which would steal other children's statuses).
 */
#ifndef VG_SPAWN_H
#define VG_SPAWN_H

#include <sys/types.h>

/* Starts argv[0] (looked up in PATH when it has no '/') with envp. The
 * child's stdin is in_fd (-1: /dev/null), its stdout out_fd (-1:
 * /dev/null), its stderr err_fd (-1: vigild's own). The descriptors stay
 * the caller's. Returns 0 with *pid set, or a positive errno (ENOENT: no
 * such program) as posix_spawn does. */
int vg_spawn(pid_t *pid, char *const argv[], char *const envp[], int in_fd, int out_fd,
             int err_fd);

/* Kills the child's process group and the child (SIGKILL); it still has
 * to be reaped. */
void vg_spawn_kill(pid_t pid);

#endif

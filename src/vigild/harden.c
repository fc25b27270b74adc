/*
 * harden.c - what vigild does to its own process before it holds a key:
 * no core dumps and no dumpable state.
 *
 * A core file, or a debugger attached by another process of the same user,
 * would carry the data keys and the decrypted state out of the process;
 * the keys' own pages are left out of dumps (sodium_malloc) but the state
 * is not. So every subcommand that opens data asks for this first, and the
 * long-running ones (run, witness) keep it unless the operator passes
 * --allow-core-dumps to debug a crash.
 *
 * Must never: carry on silently when the limit cannot be set; a process
 * that was asked to keep no dumps and could not must not start.
 */
#include "vigild/vigild.h"

#include <sys/prctl.h>
#include <sys/resource.h>

int vg_proc_harden(int allow_core_dumps, char *err, size_t errlen)
{
    if (allow_core_dumps)
        return 0;
    /* hard limit too: nothing later in the process can raise it again */
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) < 0)
        return vg_err(err, errlen, -errno, "cannot turn core dumps off (RLIMIT_CORE): %s",
                      strerror(errno));
    /* also keeps same-user processes from ptrace and /proc/PID/mem */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return vg_err(err, errlen, -errno, "cannot make the process non-dumpable: %s",
                      strerror(errno));
    return 0;
}

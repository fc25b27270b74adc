/*
 * demo_local.c - the local side of `vigil demo` (demo.h): finding the demo
 * on this machine, and the faults it plays that no API can (a member killed,
 * the member link cut).
 *
 * Everything here acts on processes and nftables rules of the demo only: a
 * pid is signalled only when /proc says it is a vigild running the demo's
 * own node file, and the nftables table is named after the demo's link
 * ports, so a demo never disturbs another on the same machine.
 */
#include "cli/demo.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/netaddr.h"
#include "core/spawn.h"

extern char **environ;

static const char *const member_names[VG_DEMO_MEMBERS] = {"dc1", "dc2"};

static int load_member(struct vg_demo *d, int i)
{
    struct vg_demo_member *m = &d->m[i];
    char err[1024];
    snprintf(m->node_path, sizeof m->node_path, "%s/%s.yaml", d->dir, member_names[i]);
    if (vg_node_load(m->node_path, &m->node, err, sizeof err))
        return vg_cli_fail(VG_EXIT_ERROR, "the demo in '%s' is incomplete: %s", d->dir, err);
    snprintf(m->url, sizeof m->url, "%s://%s", m->node.api_tls ? "https" : "http",
             m->node.listen);
    return 0;
}

int vg_demo_open(struct vg_demo *d, const char *dir)
{
    memset(d, 0, sizeof *d);
    if (!dir)
        dir = getenv("VIGIL_DEMO_DIR");
    if (!dir || !*dir)
        return vg_cli_fail(
            VG_EXIT_USAGE,
            "not in a demo: VIGIL_DEMO_DIR is not set (run 'bash scripts/demo.sh' "
            "and paste the export line it prints, or give --dir)");
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return vg_cli_fail(VG_EXIT_USAGE, "not in a demo: '%s' is not a directory (%s)", dir,
                           strerror(errno ? errno : ENOTDIR));
    if (snprintf(d->dir, sizeof d->dir, "%s", dir) >= (int)sizeof d->dir)
        return vg_cli_fail(VG_EXIT_USAGE, "the demo directory '%.64s...' is too long", dir);
    for (int i = 0; i < VG_DEMO_MEMBERS; i++) {
        int rc = load_member(d, i);
        if (rc)
            return rc;
    }
    snprintf(d->servers, sizeof d->servers, "%s,%s", d->m[0].url, d->m[1].url);
    snprintf(d->ca, sizeof d->ca, "%s", d->m[0].node.tls_ca);
    snprintf(d->token_file, sizeof d->token_file, "%s/token", d->dir);
    return 0;
}

void vg_demo_use(struct vg_demo *d, struct vg_cli *cli)
{
    cli->servers = d->servers;
    if (!cli->cacert && (d->m[0].node.api_tls || d->m[1].node.api_tls))
        cli->cacert = d->ca;
    if (!cli->token && !cli->token_file && access(d->token_file, R_OK) == 0)
        cli->token_file = d->token_file;
}

int vg_demo_member_of_site(const struct vg_demo *d, const char *site)
{
    for (int i = 0; i < VG_DEMO_MEMBERS; i++)
        if (!strcmp(d->m[i].node.site, site))
            return i;
    return -1;
}

/* 1 when /proc/pid/cmdline is "... vigild run ... --node PATH" for this
 * member's node file (compared as real paths). */
static int is_member_process(const struct vg_demo_member *m, pid_t pid)
{
    char path[64], cmdline[4096], want[PATH_MAX], got[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t len = fread(cmdline, 1, sizeof cmdline - 1, f);
    fclose(f);
    cmdline[len] = 0;
    if (!strstr(cmdline, "vigild") || !realpath(m->node_path, want))
        return 0;
    for (size_t at = 0; at < len; at += strlen(cmdline + at) + 1)
        if (realpath(cmdline + at, got) && !strcmp(got, want))
            return 1;
    return 0;
}

pid_t vg_demo_member_pid(const struct vg_demo *d, int i)
{
    char path[VG_NODE_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.pid", d->dir, d->m[i].node.name);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 1)
        pid = 0;
    fclose(f);
    return pid && is_member_process(&d->m[i], (pid_t)pid) ? (pid_t)pid : 0;
}

int vg_demo_kill(const struct vg_demo *d, int i)
{
    pid_t pid = vg_demo_member_pid(d, i);
    if (!pid)
        return vg_cli_fail(VG_EXIT_ERROR,
                           "member %s is not running (no live vigild in %s/%s.pid)",
                           d->m[i].node.name, d->dir, d->m[i].node.name);
    if (kill(pid, SIGKILL))
        return vg_cli_fail(VG_EXIT_ERROR, "cannot kill member %s (pid %ld): %s",
                           d->m[i].node.name, (long)pid, strerror(errno));
    return 0;
}

/* The vigild next to this vigil, else "vigild" from PATH. */
static void find_vigild(char *out, size_t outlen)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(out, outlen, "%s/vigild", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, outlen, "vigild");
}

static int write_pid_file(const struct vg_demo *d, int i, pid_t pid)
{
    char path[VG_NODE_PATH_MAX + 32], tmp[VG_NODE_PATH_MAX + 40];
    snprintf(path, sizeof path, "%s/%s.pid", d->dir, d->m[i].node.name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%ld\n", (long)pid) < 0 || fclose(f) || rename(tmp, path))
        return vg_cli_fail(VG_EXIT_ERROR, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int vg_demo_restart(const struct vg_demo *d, int i)
{
    const struct vg_demo_member *m = &d->m[i];
    char vigild[PATH_MAX + 8], log[VG_NODE_PATH_MAX + 32];
    find_vigild(vigild, sizeof vigild);
    snprintf(log, sizeof log, "%s/%s.log", d->dir, m->node.name);
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot open '%s': %s", log, strerror(errno));
    char *argv[] = {vigild, "run", "--node", (char *)m->node_path, NULL};
    pid_t pid;
    int err = vg_spawn(&pid, argv, environ, -1, fd, fd);
    close(fd);
    if (err)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot start '%s' for member %s: %s", vigild,
                           m->node.name, strerror(err));
    return write_pid_file(d, i, pid);
}

/* ---- the member link ---------------------------------------------------- */

static void table_name(const struct vg_demo *d, char *out, size_t outlen)
{
    char host[256];
    uint16_t p0 = 0, p1 = 0;
    vg_addr_split(d->m[0].node.peer_listen, host, sizeof host, &p0);
    vg_addr_split(d->m[1].node.peer_listen, host, sizeof host, &p1);
    snprintf(out, outlen, "vigil_demo_%u_%u", p0, p1);
}

/* Runs nft with one script; its exit status, or -errno when it could not
 * be run. quiet: its stderr goes to /dev/null. */
static int run_nft(const char *script, int quiet)
{
    char *argv[] = {"nft", (char *)script, NULL};
    int devnull = quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
    pid_t pid;
    int err = vg_spawn(&pid, argv, environ, -1, -1, quiet ? devnull : STDERR_FILENO);
    if (devnull >= 0)
        close(devnull);
    if (err)
        return -err;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int need_root(const char *what)
{
    if (geteuid() != 0)
        return vg_cli_fail(VG_EXIT_DENIED,
                           "%s needs root: it adds nftables rules dropping the member link's "
                           "ports on loopback (run this command as root, or with sudo -E)",
                           what);
    return 0;
}

int vg_demo_partition(const struct vg_demo *d)
{
    int rc = need_root("partition");
    if (rc)
        return rc;
    char table[64], host[256], script[1024];
    uint16_t p0 = 0, p1 = 0;
    table_name(d, table, sizeof table);
    vg_addr_split(d->m[0].node.peer_listen, host, sizeof host, &p0);
    vg_addr_split(d->m[1].node.peer_listen, host, sizeof host, &p1);
    snprintf(
        script, sizeof script,
        "add table inet %s; add chain inet %s out { type filter hook output priority 0; }; "
        "flush chain inet %s out; "
        "add rule inet %s out tcp dport { %u, %u } drop; "
        "add rule inet %s out tcp sport { %u, %u } drop",
        table, table, table, table, p0, p1, table, p0, p1);
    rc = run_nft(script, 0);
    if (rc == -ENOENT)
        return vg_cli_fail(VG_EXIT_ERROR, "partition needs nft (nftables), not found in PATH");
    if (rc)
        return vg_cli_fail(VG_EXIT_ERROR,
                           "nft could not add the rules cutting the member link "
                           "(exit %d)",
                           rc);
    return 0;
}

int vg_demo_unpartition(const struct vg_demo *d, int *was_cut)
{
    char table[64], script[128];
    table_name(d, table, sizeof table);
    if (was_cut)
        *was_cut = 0;
    if (geteuid() != 0)
        return 0; /* nothing can have been cut without root */
    snprintf(script, sizeof script, "list table inet %s", table);
    if (run_nft(script, 1) != 0)
        return 0;
    snprintf(script, sizeof script, "delete table inet %s", table);
    int rc = run_nft(script, 0);
    if (rc)
        return vg_cli_fail(VG_EXIT_ERROR, "nft could not delete table inet %s (exit %d)", table,
                           rc);
    if (was_cut)
        *was_cut = 1;
    return 0;
}

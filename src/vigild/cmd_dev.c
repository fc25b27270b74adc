/*
 * cmd_dev.c - `vigild dev`: from nothing to a working API in one command,
 * for a first try. A standalone member in a fresh temporary directory on
 * loopback, its admin token and the export line printed, everything removed
 * when it stops. Not for data anyone wants to keep: the directory goes.
 */
#include "vigild/vigild.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/token.h"
#include "vigild/options.h"

#define DEV_PORT  7700
#define DEV_TRIES 20 /* ports tried from DEV_PORT up */

/* 1 when nothing listens on 127.0.0.1:port (bind succeeds). */
static int port_free(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int vg_cmd_dev(int argc, char **argv)
{
    uint64_t port = 0;
    int keep = 0, collect = 0;
    const struct vg_opt_def opts[] = {
        VG_OPT_NUMBER("port", "N", &port, 1, 65535, "the first free from 7700",
                      "API port on 127.0.0.1"),
        VG_OPT_FLAG(0, "keep", &keep, "keep the data directory when it stops (its path is "
                                      "printed)"),
        VG_OPT_FLAG(0, "collect", &collect, "run the devices of applied manifests (default: "
                                            "pushed readings only)"),
        VG_OPT_LOG_LEVEL,
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "dev",
        .usage = "vigild dev [--port N] [--keep] [--collect]",
        .about = "Starts a throw-away standalone member for a first try: a new data directory\n"
                 "under $TMPDIR (or /tmp), plain HTTP on 127.0.0.1, the admin token and the\n"
                 "export line for vigil printed. Ctrl-C stops it and removes the directory.\n",
        .notes = "Not for data anyone wants to keep; see 'vigild init' and 'vigild run'.\n",
        .opts = opts,
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc != VG_OPT_PROCEED)
        return rc;
    if (first < argc)
        return vg_opt_usage_error(&cmd, "unexpected argument '%s'", argv[first]);
    if (!port) {
        for (unsigned p = DEV_PORT; p < DEV_PORT + DEV_TRIES && !port; p++)
            if (port_free(p))
                port = p;
        if (!port) {
            fprintf(stderr, "vigild: ports %d-%d on 127.0.0.1 are all taken: give --port N\n",
                    DEV_PORT, DEV_PORT + DEV_TRIES - 1);
            return 1;
        }
    } else if (!port_free((unsigned)port)) {
        fprintf(stderr, "vigild: 127.0.0.1:%llu is taken: give another --port\n",
                (unsigned long long)port);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096], token[VG_TOKEN_LEN + 1], err[1024], listen[64];
    snprintf(dir, sizeof dir, "%s/vigil-dev.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "vigild: cannot create a directory in '%s': %s\n",
                tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return 1;
    }
    if (vg_init_standalone(dir, token, err, sizeof err)) {
        fprintf(stderr, "vigild: dev: %s\n", err);
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    snprintf(listen, sizeof listen, "127.0.0.1:%llu", (unsigned long long)port);
    printf("vigil dev member (standalone, plain HTTP on loopback)\n"
           "  data:  %s (%s when it stops)\n"
           "  API:   http://%s\n"
           "  token: %s (admin)\n\n"
           "In another shell:\n"
           "  export VIGIL_SERVER=http://%s VIGIL_TOKEN=%s\n"
           "  vigil status\n\n"
           "Ctrl-C stops it.\n\n",
           dir, keep ? "kept" : "removed", listen, token, listen, token);
    fflush(stdout);
    sodium_memzero(token, sizeof token);
    char *run_argv[] = {"run", "--data", dir, "--listen", listen, collect ? NULL : "--no-collect",
                        NULL};
    rc = vg_cmd_run(collect ? 5 : 6, run_argv);
    if (!keep && nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf(stderr, "vigild: could not remove '%s' entirely: %s\n", dir, strerror(errno));
    return rc;
}

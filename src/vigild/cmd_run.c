/*
 * cmd_run.c - `vigild run`: recover the member, serve the API, and shut down
 * cleanly on SIGTERM: stop taking writes, wait for the ones in flight to
 * commit (bounded), flush the log, exit 0.
 */
#include "vigild/vigild.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>

#include "api/server.h"
#include "core/netaddr.h"
#include "core/say.h"
#include "cluster/cluster.h"
#include "member/member.h"
#include "service/service.h"
#include "cluster/node.h"

#define DRAIN_DEADLINE_MS 10000

struct run_ctx {
    struct event_base *base;
    vg_server_t *server;
    vg_cluster_t *cluster;
    vg_services_t *services;
    struct vg_service_env env; /* site and no_collect from the options */
    const char *node_file;
    int bootstrap;
    int allow_core_dumps;
    struct vg_node node;
    struct event *drain_ev;
    uint64_t drain_deadline;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: vigild run --data DIR [--listen HOST:PORT] [options]\n"
        "       vigild run --node FILE [--bootstrap] [options]\n\n"
        "Serves a vigil member from DIR (made by 'vigild init'), standalone, or as a\n"
        "member of a two-site cluster described by a node file (see vigild(8) and\n"
        "docs/cluster.md): data dir, API address, peer, witness, TLS and timing.\n\n"
        "  --data DIR            data directory (standalone)\n"
        "  --node FILE           cluster member: settings from this node file\n"
        "  --bootstrap           with --node: if the witness has no configuration yet\n"
        "                        (epoch 0), ask to become the first primary\n"
        "  --listen HOST:PORT    API address (default 127.0.0.1:7700)\n"
        "  --tls-cert FILE       PEM certificate chain for HTTPS (TLS 1.3)\n"
        "  --tls-key FILE        PEM private key for HTTPS\n"
        "  --insecure            allow plain HTTP on a non-loopback address\n"
        "  --key-file FILE       keyring to use instead of DIR/keyring\n"
        "  --snapshot-every N    records between state snapshots (default 10000)\n"
        "  --segment-bytes N     log segment size before rollover (default 64 MiB)\n"
        "  --http-timeout S      close connections idle or stalled for S seconds (default 30)\n"
        "  --request-deadline S  a whole request must arrive within S seconds of the\n"
        "                        connection opening or of the previous answer (default 15)\n"
        "  --max-connections N   open API connections; past it 503 and close (default 4096)\n"
        "  --max-pending-writes N  writes waiting to commit; past it 503 with Retry-After\n"
        "                        (default 10000)\n"
        "  --max-watchers N      open watch streams; past it 429 (default 256)\n"
        "  --site NAME           collect only the devices of this site (standalone;\n"
        "                        a node file's site otherwise)\n"
        "  --no-collect          run no device: store pushed readings only\n"
        "  --allow-core-dumps    keep the core file limit and dumpable state vigild\n"
        "                        was started with (default: none: a core file would\n"
        "                        hold the decrypted state)\n"
        "  --log-level LEVEL     debug, info, warn or error (default info)\n\n"
        "Plain HTTP is only served on loopback unless --insecure is given.\n"
        "SIGTERM or SIGINT: finish writes in flight, flush, exit 0.\n");
}

/* Connections are bounded by --max-connections, and descriptors must not
 * run out before that bound does: raise the soft limit to the hard one,
 * and lower the bound if even that is too small. */
static void fit_connections_to_fd_limit(struct vg_server_opts *so)
{
    size_t want = so->max_conns ? so->max_conns : VG_API_DEFAULT_MAX_CONNS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* the log, the time series, devices and peers need descriptors too */
    size_t reserve = 256;
    if (rl.rlim_cur != RLIM_INFINITY && want + reserve > rl.rlim_cur) {
        size_t fit = rl.rlim_cur > 2 * reserve ? rl.rlim_cur - reserve : rl.rlim_cur / 2;
        vg_warn("descriptor limit %llu is too small for %zu connections: serving at most %zu",
                (unsigned long long)rl.rlim_cur, want, fit);
        so->max_conns = fit;
    }
}

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
    struct run_ctx *ctx = arg;
    size_t left = vg_server_drain(ctx->server);
    if (left == 0 || vg_mono_ms() > ctx->drain_deadline) {
        if (left)
            vg_warn("shutting down with %zu writes still uncommitted", left);
        event_base_loopexit(ctx->base, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct run_ctx *ctx = arg;
    if (ctx->drain_ev)
        return;
    vg_info("signal %d: draining and shutting down", (int)sig);
    vg_sd_notify("STOPPING=1");
    ctx->drain_deadline = vg_mono_ms() + DRAIN_DEADLINE_MS;
    ctx->drain_ev = event_new(ctx->base, -1, EV_PERSIST, check_drained, ctx);
    struct timeval every = {0, 10000};
    event_add(ctx->drain_ev, &every);
    check_drained(-1, 0, ctx);
}

/* A node file gives the data dir, the API address and its certificate
 * (used for HTTPS whenever the API is not on loopback). */
static int apply_node(struct vg_member_opts *mo, struct vg_server_opts *so, struct run_ctx *ctx)
{
    char err[1024];
    if (vg_node_load(ctx->node_file, &ctx->node, err, sizeof err)) {
        fprintf(stderr, "vigild: %s\n", err);
        return 2;
    }
    mo->data_dir = ctx->node.data;
    if (!ctx->env.site && ctx->node.site[0])
        ctx->env.site = ctx->node.site;
    if (ctx->node.keyring[0] && !mo->key_file)
        mo->key_file = ctx->node.keyring;
    so->listen = ctx->node.listen;
    char host[256];
    uint16_t port;
    if (!vg_addr_split(so->listen, host, sizeof host, &port) && !vg_addr_is_loopback(host) &&
        !so->tls_cert) {
        so->tls_cert = ctx->node.tls_cert;
        so->tls_key = ctx->node.tls_key;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct vg_member_opts *mo,
                      struct vg_server_opts *so, struct run_ctx *ctx)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"tls-cert", required_argument, 0, 'c'},
                                         {"tls-key", required_argument, 0, 'k'},
                                         {"insecure", no_argument, 0, 'i'},
                                         {"key-file", required_argument, 0, 'K'},
                                         {"snapshot-every", required_argument, 0, 'S'},
                                         {"segment-bytes", required_argument, 0, 'B'},
                                         {"http-timeout", required_argument, 0, 'T'},
                                         {"request-deadline", required_argument, 0, 'D'},
                                         {"max-connections", required_argument, 0, 'M'},
                                         {"max-pending-writes", required_argument, 0, 'P'},
                                         {"max-watchers", required_argument, 0, 'W'},
                                         {"log-level", required_argument, 0, 'L'},
                                         {"node", required_argument, 0, 'N'},
                                         {"bootstrap", no_argument, 0, 'b'},
                                         {"site", required_argument, 0, 's'},
                                         {"no-collect", no_argument, 0, 'C'},
                                         {"allow-core-dumps", no_argument, 0, 'A'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            mo->data_dir = optarg;
            break;
        case 'l':
            so->listen = optarg;
            break;
        case 'c':
            so->tls_cert = optarg;
            break;
        case 'k':
            so->tls_key = optarg;
            break;
        case 'i':
            so->insecure = 1;
            break;
        case 'K':
            mo->key_file = optarg;
            break;
        case 'S':
            if (vg_opt_number("--snapshot-every", optarg, 0, UINT64_MAX, &mo->snapshot_every))
                return 2;
            break;
        case 'B':
            if (vg_opt_number("--segment-bytes", optarg, 0, SIZE_MAX, &v))
                return 2;
            mo->segment_bytes = (size_t)v;
            break;
        case 'T':
            if (vg_opt_number("--http-timeout", optarg, 0, 3600, &v))
                return 2;
            so->timeout_s = (int)v;
            break;
        case 'D':
            if (vg_opt_number("--request-deadline", optarg, 1, 3600, &v))
                return 2;
            so->request_deadline_s = (unsigned)v;
            break;
        case 'M':
            if (vg_opt_number("--max-connections", optarg, 1, 1000000, &v))
                return 2;
            so->max_conns = (size_t)v;
            break;
        case 'P':
            if (vg_opt_number("--max-pending-writes", optarg, 1, 10000000, &v))
                return 2;
            so->max_pending = (size_t)v;
            break;
        case 'W':
            if (vg_opt_number("--max-watchers", optarg, 1, 100000, &v))
                return 2;
            so->max_watchers = (size_t)v;
            break;
        case 'L':
            if (vg_opt_log_level(optarg))
                return 2;
            break;
        case 'N':
            ctx->node_file = optarg;
            break;
        case 'b':
            ctx->bootstrap = 1;
            break;
        case 's':
            ctx->env.site = optarg;
            break;
        case 'C':
            ctx->env.no_collect = 1;
            break;
        case 'A':
            ctx->allow_core_dumps = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !mo->data_dir == !ctx->node_file ||
        (ctx->bootstrap && !ctx->node_file)) {
        usage(stderr);
        return 2;
    }
    return ctx->node_file ? apply_node(mo, so, ctx) : 0;
}

int vg_cmd_run(int argc, char **argv)
{
    struct vg_member_opts mo = {0};
    struct vg_server_opts so = {.listen = "127.0.0.1:7700"};
    struct run_ctx ctx = {0};
    int rc = parse_args(argc, argv, &mo, &so, &ctx);
    if (rc)
        return rc < 0 ? 0 : rc;
    char err[1024];
    if (vg_proc_harden(ctx.allow_core_dumps, err, sizeof err)) {
        vg_error("cannot start: %s", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    fit_connections_to_fd_limit(&so);
    evthread_use_pthreads(); /* device threads wake the loop */
    ctx.base = event_base_new();
    event_base_priority_init(ctx.base, VG_MEMBER_PRIORITIES);
    vg_member_t *member = NULL;
    int status = 1;
    if (ctx.node_file) {
        /* recover only what is known committed: the rest waits for the primary */
        mo.limit_replay = 1;
        if (vg_cluster_recovery_limit(&ctx.node, mo.key_file, &mo.replay_limit, err,
                                      sizeof err)) {
            vg_error("cannot start: %s", err);
            goto out;
        }
    }
    if (vg_member_open(&mo, ctx.base, &member, err, sizeof err)) {
        vg_error("cannot start: %s", err);
        goto out;
    }
    vg_info("recovered '%s': %zu objects, commit index %llu", mo.data_dir,
            vg_state_n_objects(vg_member_state(member)),
            (unsigned long long)vg_state_applied_index(vg_member_state(member)));
    if (ctx.node_file) {
        if (vg_cluster_start(ctx.base, member, &ctx.node, ctx.bootstrap, &ctx.cluster, err,
                             sizeof err)) {
            vg_error("cannot start the cluster member: %s", err);
            goto out;
        }
        so.cluster = ctx.cluster;
    }
    ctx.env.base = ctx.base;
    ctx.env.member = member;
    ctx.env.cluster = ctx.cluster;
    if (vg_services_start(&ctx.env, &ctx.services, err, sizeof err)) {
        vg_error("cannot start: %s", err);
        goto out;
    }
    so.services = vg_services_running(ctx.services, &so.n_services);
    if (vg_server_start(ctx.base, member, &so, &ctx.server, err, sizeof err)) {
        vg_error("cannot serve: %s", err);
        goto out;
    }
    struct event *sigterm = evsignal_new(ctx.base, SIGTERM, on_signal, &ctx);
    struct event *sigint = evsignal_new(ctx.base, SIGINT, on_signal, &ctx);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    vg_sd_notify("READY=1\nSTATUS=serving");
    event_base_dispatch(ctx.base);
    event_free(sigterm);
    event_free(sigint);
    status = vg_cluster_exit_code(ctx.cluster);
    if (vg_member_failed(member) && !status)
        status = 1;
out:
    if (ctx.drain_ev)
        event_free(ctx.drain_ev);
    vg_server_free(ctx.server);
    vg_services_stop(ctx.services);
    vg_cluster_free(ctx.cluster);
    vg_member_close(member);
    event_base_free(ctx.base);
    if (status == 0)
        vg_info("stopped cleanly");
    return status;
}

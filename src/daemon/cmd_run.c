/*
 * cmd_run.c - `vigild run`: recover the member, serve the API, and shut down
 * cleanly on SIGTERM: stop taking writes, wait for the ones in flight to
 * commit (bounded), flush the log, exit 0.
 */
#include "daemon/daemon.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>

#include "api/server.h"
#include "core/say.h"
#include "daemon/member.h"

#define DRAIN_DEADLINE_MS 10000

struct run_ctx {
    struct event_base *base;
    vg_server_t *server;
    struct event *drain_ev;
    uint64_t drain_deadline;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: vigild run --data DIR [--listen HOST:PORT] [options]\n\n"
        "Serves a vigil member from DIR (made by 'vigild init').\n\n"
        "  --data DIR            data directory\n"
        "  --listen HOST:PORT    API address (default 127.0.0.1:7700)\n"
        "  --tls-cert FILE       PEM certificate chain for HTTPS (TLS 1.3)\n"
        "  --tls-key FILE        PEM private key for HTTPS\n"
        "  --insecure            allow plain HTTP on a non-loopback address\n"
        "  --key-file FILE       keyring to use instead of DIR/keyring\n"
        "  --snapshot-every N    records between state snapshots (default 10000)\n"
        "  --segment-bytes N     log segment size before rollover (default 64 MiB)\n"
        "  --http-timeout S      close connections idle or stalled for S seconds (default 30)\n"
        "  --log-level LEVEL     debug, info, warn or error (default info)\n\n"
        "Plain HTTP is only served on loopback unless --insecure is given.\n"
        "SIGTERM or SIGINT: finish writes in flight, flush, exit 0.\n");
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

static int parse_args(int argc, char **argv, struct vg_member_opts *mo,
                      struct vg_server_opts *so)
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
                                         {"log-level", required_argument, 0, 'L'},
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
        case 'L':
            if (vg_opt_log_level(optarg))
                return 2;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!mo->data_dir || optind != argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

int vg_cmd_run(int argc, char **argv)
{
    struct vg_member_opts mo = {0};
    struct vg_server_opts so = {.listen = "127.0.0.1:7700"};
    int rc = parse_args(argc, argv, &mo, &so);
    if (rc)
        return rc < 0 ? 0 : rc;
    signal(SIGPIPE, SIG_IGN);
    struct run_ctx ctx = {.base = event_base_new()};
    event_base_priority_init(ctx.base, VG_MEMBER_PRIORITIES);
    vg_member_t *member = NULL;
    char err[1024];
    int status = 1;
    if (vg_member_open(&mo, ctx.base, &member, err, sizeof err)) {
        vg_error("cannot start: %s", err);
        goto out;
    }
    vg_info("recovered '%s': %zu objects, commit index %llu", mo.data_dir,
            vg_state_n_objects(vg_member_state(member)),
            (unsigned long long)vg_state_applied_index(vg_member_state(member)));
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
    status = 0;
out:
    if (ctx.drain_ev)
        event_free(ctx.drain_ev);
    vg_server_free(ctx.server);
    vg_member_close(member);
    event_base_free(ctx.base);
    if (status == 0)
        vg_info("stopped cleanly");
    return status;
}

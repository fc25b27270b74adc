/*
 * cmd_run.c - `vigild run`: recover the member, serve the API, and shut down
 * cleanly on SIGTERM: stop taking writes, wait for the ones in flight to
 * commit (bounded), flush the log, exit 0.
 */
#include "vigild/vigild.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/server.h"
#include "core/netaddr.h"
#include "core/say.h"
#include "cluster/cluster.h"
#include "member/member.h"
#include "service/service.h"
#include "cluster/node.h"
#include "vigild/options.h"

#define DRAIN_DEADLINE_MS 10000
#define DEFAULT_LISTEN    "127.0.0.1:7700"

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
 * (used for HTTPS whenever the API is not on loopback, or api_tls asks). */
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
    int off_loopback =
        !vg_addr_split(so->listen, host, sizeof host, &port) && !vg_addr_is_loopback(host);
    if ((off_loopback || ctx->node.api_tls) && !so->tls_cert) {
        so->tls_cert = ctx->node.tls_cert;
        so->tls_key = ctx->node.tls_key;
    }
    return 0;
}

/* Numbers as parsed, before they go into the options of their module. */
struct run_numbers {
    uint64_t snapshot_every, segment_bytes, http_timeout, request_deadline;
    uint64_t max_conns, max_pending, max_watchers;
    uint64_t minute_ms;
};

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_table(int argc, char **argv, struct vg_member_opts *mo,
                       struct vg_server_opts *so, struct run_ctx *ctx, struct run_numbers *n)
{
    const struct vg_opt_def opts[] = {
        VG_OPT_STRING(0, "data", "DIR", &mo->data_dir, 0, NULL, "data directory (standalone)"),
        VG_OPT_STRING(0, "node", "FILE", &ctx->node_file, 0, NULL,
                      "cluster member: settings from this node file"),
        VG_OPT_FLAG(0, "bootstrap", &ctx->bootstrap,
                    "with --node: if the witness has no configuration yet (epoch 0), ask to "
                    "become the first primary"),
        VG_OPT_STRING(0, "listen", "HOST:PORT", &so->listen, 0, DEFAULT_LISTEN, "API address"),
        VG_OPT_STRING(0, "tls-cert", "FILE", &so->tls_cert, 0, NULL,
                      "PEM certificate chain for HTTPS (TLS 1.3)"),
        VG_OPT_STRING(0, "tls-key", "FILE", &so->tls_key, 0, NULL, "PEM private key for HTTPS"),
        VG_OPT_FLAG(0, "insecure", &so->insecure, "allow plain HTTP on a non-loopback address"),
        VG_OPT_STRING(0, "key-file", "FILE", &mo->key_file, 0, NULL,
                      "keyring to use instead of DIR/keyring"),
        VG_OPT_NUMBER("snapshot-every", "N", &n->snapshot_every, 0, UINT64_MAX, "10000",
                      "records between state snapshots"),
        VG_OPT_NUMBER("segment-bytes", "N", &n->segment_bytes, 0, SIZE_MAX, "64 MiB",
                      "log segment size before rollover"),
        VG_OPT_NUMBER("http-timeout", "S", &n->http_timeout, 0, 3600, "30",
                      "close connections idle or stalled for S seconds"),
        VG_OPT_NUMBER("request-deadline", "S", &n->request_deadline, 1, 3600, "15",
                      "a whole request must arrive within S seconds of the connection opening "
                      "or of the previous answer"),
        VG_OPT_NUMBER("max-connections", "N", &n->max_conns, 1, 1000000, "4096",
                      "open API connections; past it 503 and close"),
        VG_OPT_NUMBER("max-pending-writes", "N", &n->max_pending, 1, 10000000, "10000",
                      "writes waiting to commit; past it 503 with Retry-After"),
        VG_OPT_NUMBER("max-watchers", "N", &n->max_watchers, 1, 100000, "256",
                      "open watch streams; past it 429"),
        VG_OPT_STRING(0, "site", "NAME", &ctx->env.site, 0, NULL,
                      "collect only the devices of this site (standalone; a node file's site "
                      "otherwise)"),
        VG_OPT_FLAG(0, "no-collect", &ctx->env.no_collect,
                    "run no device: store pushed readings only"),
        VG_OPT_STRING(0, "public-url", "URL", &ctx->env.public_url, 0, NULL,
                      "how people reach this API, for the acknowledge links pages carry "
                      "(default: the --listen address)"),
        VG_OPT_STRING(0, "smtp", "URL", &ctx->env.smtp_url, 0, NULL,
                      "mail relay for email pages: smtp://HOST:PORT or smtps://HOST:PORT"),
        VG_OPT_STRING(0, "mail-from", "ADDRESS", &ctx->env.mail_from, 0, "vigil@localhost",
                      "From: address of email pages"),
        VG_OPT_NUMBER("escalation-minute-ms", "MS", &n->minute_ms, 1, 60000, "60000",
                      "length of a minute in escalation and notification delays: shorter only "
                      "for drills and tests"),
        VG_OPT_FLAG(0, "allow-core-dumps", &ctx->allow_core_dumps,
                    "keep the core file limit and dumpable state vigild was started with "
                    "(default: none: a core file would hold the decrypted state)"),
        VG_OPT_LOG_LEVEL,
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "run",
        .usage = "vigild run --data DIR [--listen HOST:PORT] [options]\n"
                 "       vigild run --node FILE [--bootstrap] [options]",
        .about = "Serves a vigil member from DIR (made by 'vigild init'), standalone, or as a\n"
                 "member of a two-site cluster described by a node file (see vigild(8) and\n"
                 "docs/cluster.md): data dir, API address, peer, witness, TLS and timing.\n",
        .notes = "Plain HTTP is only served on loopback unless --insecure is given.\n"
                 "SIGTERM or SIGINT: finish writes in flight, flush, exit 0.\n",
        .opts = opts,
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc != VG_OPT_PROCEED)
        return rc;
    if (!mo->data_dir == !ctx->node_file)
        return vg_opt_usage_error(&cmd, "give either --data DIR or --node FILE");
    if (ctx->bootstrap && !ctx->node_file)
        return vg_opt_usage_error(&cmd, "--bootstrap goes with --node");
    return VG_OPT_PROCEED;
}

/* 0 to run, -1 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, struct vg_member_opts *mo,
                      struct vg_server_opts *so, struct run_ctx *ctx)
{
    struct run_numbers n = {
        .http_timeout = (uint64_t)so->timeout_s,
        .request_deadline = so->request_deadline_s,
        .max_conns = so->max_conns,
        .max_pending = so->max_pending,
        .max_watchers = so->max_watchers,
        .snapshot_every = mo->snapshot_every,
        .segment_bytes = mo->segment_bytes,
        .minute_ms = 60000,
    };
    int rc = parse_table(argc, argv, mo, so, ctx, &n);
    if (rc != VG_OPT_PROCEED)
        return rc == 0 ? -1 : rc;
    mo->snapshot_every = n.snapshot_every;
    mo->segment_bytes = (size_t)n.segment_bytes;
    so->timeout_s = (int)n.http_timeout;
    so->request_deadline_s = (unsigned)n.request_deadline;
    so->max_conns = (size_t)n.max_conns;
    so->max_pending = (size_t)n.max_pending;
    so->max_watchers = (size_t)n.max_watchers;
    ctx->env.minute_ms = n.minute_ms;
    return ctx->node_file ? apply_node(mo, so, ctx) : 0;
}

/* A newcomer's first mistake: a directory vigild init never made. Says
 * what to run, rather than which file could not be opened. */
static int not_a_data_dir(const char *dir, const char *key_file)
{
    struct stat st;
    char path[4096];
    if (stat(dir, &st) != 0) {
        vg_error("cannot start: data directory '%s' does not exist; create it with 'vigild "
                 "init --data %s'",
                 dir, dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/log", dir);
    int has_log = access(path, F_OK) == 0;
    snprintf(path, sizeof path, "%s/keyring", dir);
    if (!has_log && !key_file && access(path, F_OK) != 0) {
        vg_error("cannot start: '%s' is not a vigil data directory (no keyring, no log); "
                 "initialise it with 'vigild init --data %s'",
                 dir, dir);
        return 1;
    }
    return 0;
}

int vg_cmd_run(int argc, char **argv)
{
    struct vg_member_opts mo = {0};
    struct vg_server_opts so = {.listen = DEFAULT_LISTEN};
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
    if (!ctx.node_file && not_a_data_dir(mo.data_dir, mo.key_file))
        goto out;
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
    char public_url[300];
    if (!ctx.env.public_url) {
        snprintf(public_url, sizeof public_url, "%s://%s", so.tls_cert ? "https" : "http",
                 so.listen);
        ctx.env.public_url = public_url;
    }
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

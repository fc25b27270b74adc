/*
 * cmd_witness.c - `vigild witness`: the tie-breaker in the third place.
 * Opens (or makes) its data directory and keyring, loads the sealed
 * configuration, serves the witness API (docs/cluster.md) and exits 0 on
 * SIGTERM or SIGINT. There is nothing to drain: every change was durable
 * before it was answered.
 */
#include "vigild/vigild.h"

#include "core/fsutil.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>

#include "core/say.h"
#include "witness/witness_server.h"
#include "witness/witness_store.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigild witness --data DIR --listen HOST:PORT\n"
            "                      (--tls-cert FILE --tls-key FILE --tls-ca FILE |\n"
            "                       --insecure-no-tls) [--dead-after-ms N]\n"
            "                      [--allow-core-dumps]\n\n"
            "Serves the cluster witness: it keeps the configuration (epoch, primary,\n"
            "sync set) sealed in DIR and changes it only by the rules of docs/cluster.md.\n"
            "It never holds data or the data key.\n\n"
            "  --data DIR           witness directory (made with mode 0700 if missing; its\n"
            "                       own keyring DIR/keyring is made on first start)\n"
            "  --listen HOST:PORT   address to serve on\n"
            "  --tls-cert FILE      PEM certificate chain of the witness\n"
            "  --tls-key FILE       PEM private key of the witness\n"
            "  --tls-ca FILE        cluster CA: clients must present a certificate from it;\n"
            "                       its common name is the member's name\n"
            "  --insecure-no-tls    plain HTTP, member named in the body; loopback only\n"
            "  --dead-after-ms N    a primary unheard this long may be replaced (default %d)\n"
            "  --allow-core-dumps   keep the core file limit and dumpable state the witness\n"
            "                       was started with (default: none: a core file would\n"
            "                       hold the witness key)\n"
            "  --log-level LEVEL    debug, info, warn or error (default info)\n\n"
            "SIGTERM or SIGINT: exit 0.\n",
            VG_WITNESS_DEAD_AFTER_MS);
}

/* 0 to run, -1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, const char **dir, struct vg_witness_server_opts *o,
                      int *allow_core_dumps)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"tls-cert", required_argument, 0, 'c'},
                                         {"tls-key", required_argument, 0, 'k'},
                                         {"tls-ca", required_argument, 0, 'a'},
                                         {"insecure-no-tls", no_argument, 0, 'i'},
                                         {"dead-after-ms", required_argument, 0, 'D'},
                                         {"log-level", required_argument, 0, 'L'},
                                         {"allow-core-dumps", no_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *dir = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'c':
            o->tls_cert = optarg;
            break;
        case 'k':
            o->tls_key = optarg;
            break;
        case 'a':
            o->tls_ca = optarg;
            break;
        case 'i':
            o->insecure_no_tls = 1;
            break;
        case 'D':
            if (vg_opt_number("--dead-after-ms", optarg, 1, 3600000, &o->dead_after_ms))
                return 2;
            break;
        case 'L':
            if (vg_opt_log_level(optarg))
                return 2;
            break;
        case 'C':
            *allow_core_dumps = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!*dir || !o->listen || optind != argc) {
        usage(stderr);
        return 2;
    }
    int some_tls = o->tls_cert || o->tls_key || o->tls_ca;
    if (o->insecure_no_tls ? some_tls : !(o->tls_cert && o->tls_key && o->tls_ca)) {
        fprintf(stderr, "vigild: give --tls-cert, --tls-key and --tls-ca, or "
                        "--insecure-no-tls alone\n");
        return 2;
    }
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    vg_info("signal %d: shutting down", (int)sig);
    vg_sd_notify("STOPPING=1");
    event_base_loopexit(arg, NULL);
}

int vg_cmd_witness(int argc, char **argv)
{
    const char *dir = NULL;
    struct vg_witness_server_opts o = {.dead_after_ms = VG_WITNESS_DEAD_AFTER_MS};
    int allow_core_dumps = 0;
    int rc = parse_args(argc, argv, &dir, &o, &allow_core_dumps);
    if (rc)
        return rc < 0 ? 0 : rc;
    char err[1024];
    if (vg_proc_harden(allow_core_dumps, err, sizeof err)) {
        vg_error("cannot start: %s", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    vg_witness_store_t *store = NULL;
    vg_witness_server_t *server = NULL;
    vg_witness_cfg_t cfg;
    int status = 1;
    if ((rc = vg_mkdir_p(dir, 0700))) {
        vg_error("cannot create witness directory '%s': %s", dir, strerror(-rc));
        goto out;
    }
    if (vg_witness_store_open(dir, &store, &cfg, err, sizeof err)) {
        vg_error("cannot start: %s", err);
        goto out;
    }
    if (cfg.epoch)
        vg_info("loaded configuration: epoch %llu, primary '%s'", (unsigned long long)cfg.epoch,
                vg_witness_cfg_primary(&cfg));
    else
        vg_info("not bootstrapped yet (epoch 0)");
    if (vg_witness_server_start(base, store, &cfg, &o, &server, err, sizeof err)) {
        vg_error("cannot serve: %s", err);
        goto out;
    }
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    vg_sd_notify("READY=1\nSTATUS=witness serving");
    event_base_dispatch(base);
    event_free(sigterm);
    event_free(sigint);
    status = vg_witness_server_failed(server) ? 1 : 0;
out:
    vg_witness_server_free(server);
    vg_witness_store_free(store);
    event_base_free(base);
    if (status == 0)
        vg_info("stopped cleanly");
    return status;
}

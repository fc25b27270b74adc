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
#include <signal.h>

#include "core/say.h"
#include "witness/witness_server.h"
#include "witness/witness_store.h"
#include "vigild/options.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, const char **dir, struct vg_witness_server_opts *o,
                      int *allow_core_dumps)
{
    const struct vg_opt_def opts[] = {
        VG_OPT_STRING(0, "data", "DIR", dir, VG_OPT_REQUIRED, NULL,
                      "witness directory (made with mode 0700 if missing; its own keyring "
                      "DIR/keyring is made on first start)"),
        VG_OPT_STRING(0, "listen", "HOST:PORT", &o->listen, VG_OPT_REQUIRED, NULL,
                      "address to serve on"),
        VG_OPT_STRING(0, "tls-cert", "FILE", &o->tls_cert, 0, NULL,
                      "PEM certificate chain of the witness"),
        VG_OPT_STRING(0, "tls-key", "FILE", &o->tls_key, 0, NULL,
                      "PEM private key of the witness"),
        VG_OPT_STRING(0, "tls-ca", "FILE", &o->tls_ca, 0, NULL,
                      "cluster CA: clients must present a certificate from it; its common "
                      "name is the member's name"),
        VG_OPT_FLAG(0, "insecure-no-tls", &o->insecure_no_tls,
                    "plain HTTP, member named in the body; loopback only"),
        VG_OPT_NUMBER("dead-after-ms", "N", &o->dead_after_ms, 1, 3600000,
                      STR(VG_WITNESS_DEAD_AFTER_MS),
                      "a primary unheard this long may be replaced"),
        VG_OPT_FLAG(0, "allow-core-dumps", allow_core_dumps,
                    "keep the core file limit and dumpable state the witness was started "
                    "with (default: none: a core file would hold the witness key)"),
        VG_OPT_LOG_LEVEL,
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "witness",
        .usage = "vigild witness --data DIR --listen HOST:PORT\n"
                 "                      (--tls-cert FILE --tls-key FILE --tls-ca FILE |\n"
                 "                       --insecure-no-tls) [--dead-after-ms N]\n"
                 "                      [--allow-core-dumps]",
        .about =
            "Serves the cluster witness: it keeps the configuration (epoch, primary,\n"
            "sync set) sealed in DIR and changes it only by the rules of docs/cluster.md.\n"
            "It never holds data or the data key.\n",
        .notes = "SIGTERM or SIGINT: exit 0.\n",
        .opts = opts,
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc != VG_OPT_PROCEED)
        return rc;
    int some_tls = o->tls_cert || o->tls_key || o->tls_ca;
    if (o->insecure_no_tls ? some_tls : !(o->tls_cert && o->tls_key && o->tls_ca))
        return vg_opt_usage_error(&cmd, "give --tls-cert, --tls-key and --tls-ca, or "
                                        "--insecure-no-tls alone");
    return VG_OPT_PROCEED;
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
    if (rc != VG_OPT_PROCEED)
        return rc;
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

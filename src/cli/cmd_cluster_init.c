/*
 * cmd_cluster_init.c - `vigil cluster init DIR`: everything a trial of two
 * sites and a witness on one machine needs, written before it is used: the
 * cluster CA and one certificate each (127.0.0.1 and localhost), both node
 * files with relative paths, and start.sh, which initialises the data
 * directories in the right order and runs the three processes. The order
 * and the files are what a newcomer otherwise has to get right by hand.
 */
#include "cli/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include "cli/pki.h"
#include "core/fsutil.h"

#define DEFAULT_BASE_PORT 7700

struct init_args {
    const char *dir;
    unsigned base_port;
};

enum { OPT_BASE_PORT = 1000 };

static const struct vg_opt init_opts[] = {
    {OPT_BASE_PORT, "base-port", "N",
     "first of the ports: dc1's API N, its link N+1, the witness N+2, dc2's API N+10 and "
     "link N+11 (default 7700)"},
    {0, NULL, NULL, NULL},
};

static int on_init_opt(void *ctx, int id, const char *arg)
{
    struct init_args *a = ctx;
    if (id != OPT_BASE_PORT)
        return VG_EXIT_USAGE;
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || errno || v < 1024 || v > 65000)
        return vg_cli_usage(NULL, "--base-port wants a number from 1024 to 65000, not '%s'",
                            arg);
    a->base_port = (unsigned)v;
    return VG_EXIT_OK;
}

static int write_text(const char *dir, const char *name, const char *text, unsigned mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = vg_write_file_sync(path, text, strlen(text));
    if (rc)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot write '%s': %s", path, strerror(-rc));
    if (chmod(path, mode) < 0)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot chmod '%s': %s", path, strerror(errno));
    return VG_EXIT_OK;
}

static int write_node(const char *dir, const char *me, const char *other, unsigned api,
                      unsigned link, unsigned other_link, unsigned witness)
{
    char text[1024], name[16];
    snprintf(text, sizeof text,
             "# %s's node file, written by vigil cluster init (docs/cluster.md, \"The node\n"
             "# file\"). Relative paths are taken from this file's folder.\n"
             "name: %s\n"
             "site: %s\n"
             "data: %s\n"
             "listen: 127.0.0.1:%u\n"
             "peer_listen: 127.0.0.1:%u\n"
             "peer: {name: %s, address: 127.0.0.1:%u}\n"
             "witness: {name: witness, address: 127.0.0.1:%u}\n"
             "tls: {cert: pki/%s.crt, key: pki/%s.key, ca: pki/ca.crt}\n",
             me, me, me, me, api, link, other, other_link, witness, me, me);
    snprintf(name, sizeof name, "%s.yaml", me);
    return write_text(dir, name, text, 0644);
}

static int write_start(const char *dir, unsigned p)
{
    char text[4096];
    snprintf(text, sizeof text,
             "#!/usr/bin/env bash\n"
             "# Starts the trial cluster written by vigil cluster init: initialises the data\n"
             "# directories the first time (dc2 with dc1's keyring: both sites hold the same\n"
             "# data key), then the witness, dc1 (the first primary) and dc2 (its mirror).\n"
             "# Logs go to *.log here; Ctrl-C stops all three. VIGILD picks the binary.\n"
             "set -euo pipefail\n"
             "cd \"$(dirname \"$0\")\"\n"
             "VIGILD=${VIGILD:-vigild}\n"
             "if [[ ! -e dc1/keyring ]]; then\n"
             "    \"$VIGILD\" init --data dc1 -o json >dc1.init.json\n"
             "    \"$VIGILD\" init --data dc2 --key-file dc1/keyring --mirror >/dev/null\n"
             "    echo \"admin token (also in dc1.init.json): $(sed 's/.*\"admin_token\":\"\\([^\"]*\\)\".*/\\1/' dc1.init.json)\"\n"
             "fi\n"
             "trap 'kill $(jobs -p) 2>/dev/null; wait; exit' INT TERM\n"
             "\"$VIGILD\" witness --data witness --listen 127.0.0.1:%u --tls-cert pki/witness.crt \\\n"
             "    --tls-key pki/witness.key --tls-ca pki/ca.crt >>witness.log 2>&1 &\n"
             "sleep 0.3\n"
             "\"$VIGILD\" run --node dc1.yaml --bootstrap >>dc1.log 2>&1 &\n"
             "\"$VIGILD\" run --node dc2.yaml >>dc2.log 2>&1 &\n"
             "echo \"API: dc1 http://127.0.0.1:%u, dc2 http://127.0.0.1:%u (plain HTTP on loopback);\"\n"
             "echo \"member link and witness (127.0.0.1:%u): mutual TLS with pki/\"\n"
             "echo \"export VIGIL_SERVER=http://127.0.0.1:%u,http://127.0.0.1:%u VIGIL_TOKEN=<the admin token>\"\n"
             "echo \"Ctrl-C stops the three.\"\n"
             "wait\n",
             p + 2, p, p + 10, p + 2, p, p + 10);
    return write_text(dir, "start.sh", text, 0755);
}

static int issue(const char *pki, const char *name)
{
    static const char *const ips[] = {"127.0.0.1"};
    static const char *const dns[] = {"localhost"};
    struct vg_pki_issue_req req = {.dir = pki, .name = name, .days = VG_PKI_LEAF_DAYS,
                                   .dns = dns, .n_dns = 1, .ips = ips, .n_ips = 1};
    json_t *result = NULL;
    char err[1024];
    int rc = vg_pki_issue(&req, &result, err, sizeof err);
    json_decref(result);
    return rc < 0 ? vg_cli_fail(VG_EXIT_ERROR, "certificate for %s: %s", name, err) : 0;
}

static int run_init(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct init_args a = {.base_port = DEFAULT_BASE_PORT};
    int first, rc = vg_cli_parse(cli, cmd, argc, argv, on_init_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first == argc)
        return vg_cli_usage(cmd, "give the DIR to write the trial cluster into");
    if (argc - first > 1)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first + 1]);
    a.dir = argv[first];
    if (mkdir(a.dir, 0700) < 0)
        return vg_cli_fail(errno == EEXIST ? VG_EXIT_CONFLICT : VG_EXIT_ERROR,
                           "cannot create '%s': %s (give a folder that does not exist yet)",
                           a.dir, strerror(errno));
    char pki[4096];
    snprintf(pki, sizeof pki, "%s/pki", a.dir);
    struct vg_pki_ca_req ca = {.dir = pki, .name = VG_PKI_CA_NAME, .days = VG_PKI_CA_DAYS};
    json_t *result = NULL;
    char err[1024];
    rc = vg_pki_init(&ca, &result, err, sizeof err);
    json_decref(result);
    if (rc < 0)
        return vg_cli_fail(VG_EXIT_ERROR, "cluster CA: %s", err);
    unsigned p = a.base_port;
    if ((rc = issue(pki, "dc1")) || (rc = issue(pki, "dc2")) || (rc = issue(pki, "witness")) ||
        (rc = write_node(a.dir, "dc1", "dc2", p, p + 1, p + 11, p + 2)) ||
        (rc = write_node(a.dir, "dc2", "dc1", p + 10, p + 11, p + 1, p + 2)) ||
        (rc = write_start(a.dir, p)))
        return rc;
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML) {
        json_t *out = json_pack("{s:s,s:[s,s,s],s:s,s:s,s:s}", "dir", a.dir, "members", "dc1",
                                "dc2", "witness", "start", "start.sh", "dc1", "dc1.yaml", "dc2",
                                "dc2.yaml");
        rc = vg_cli_print_value(cli, out);
        json_decref(out);
        return rc;
    }
    printf("wrote %s: pki/ (CA, dc1, dc2, witness on 127.0.0.1), dc1.yaml, dc2.yaml, start.sh\n\n"
           "  bash %s/start.sh            # initialises dc1 and dc2, runs the witness and both\n"
           "                                # members; prints the admin token the first time\n"
           "  vigil --server http://127.0.0.1:%u,http://127.0.0.1:%u --token TOKEN cluster status\n\n"
           "The API is plain HTTP on loopback (vigild wants --tls-cert off it); the member\n"
           "link and the witness speak mutual TLS with the certificates in pki/.\n",
           a.dir, a.dir, p, p + 10);
    return VG_EXIT_OK;
}

const struct vg_cmd vg_cmd_cluster_init = {
    .name = "init",
    .run = run_init,
    .usage = "DIR [--base-port N] [options]",
    .summary = "write a trial cluster on this machine: certificates, node files, start.sh",
    .help = "Writes into DIR (which must not exist) what a two-site cluster with its witness "
            "on this machine needs: the cluster CA and a certificate each for dc1, dc2 and the "
            "witness (127.0.0.1 and localhost), dc1.yaml and dc2.yaml (paths relative to DIR) "
            "and start.sh, which initialises both data directories the first time (dc2 with "
            "dc1's keyring), then runs the witness, dc1 as the first primary and dc2 as its "
            "mirror, with their logs in DIR. Ports: dc1's API --base-port (7700), its link +1, "
            "the witness +2, dc2's API +10 and link +11. For real sites see docs/cluster.md.",
    .opts = init_opts,
    .parent = "cluster",
};

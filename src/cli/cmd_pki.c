/*
 * cmd_pki.c - `vigil pki init|issue|show`: the cluster CA and the
 * certificates members, the witness and clients use for mutual TLS
 * (docs/cluster.md). The OpenSSL and file work is in pki.c; this file
 * parses options and prints results.
 *
 * These commands never talk to a server. They print the paths they wrote
 * (or, for show, what a certificate says); notes such as a validity cut to
 * the CA's go to stderr as "vigil: warning: ...". Private keys are never
 * printed, not even with -o json.
 */
#include "cli/cli.h"
#include "cli/pki.h"

enum { OPT_DIR = 256, OPT_DAYS, OPT_NAME, OPT_IP, OPT_DNS, OPT_FORCE };

#define MAX_ALT_NAMES 32 /* of each kind, --dns and --ip */

struct pki_args {
    const struct vg_cmd *cmd;
    const char *dir;
    const char *ca_name;
    unsigned days;
    const char *dns[MAX_ALT_NAMES];
    size_t n_dns;
    const char *ips[MAX_ALT_NAMES];
    size_t n_ips;
    int force;
};

#define DIR_HELP "the CA's directory (default " VG_PKI_DEFAULT_DIR ")"

static const struct vg_opt init_opts[] = {
    {OPT_DIR, "dir", "DIR", DIR_HELP ", created with mode 0700 if missing"},
    {OPT_DAYS, "days", "N", "validity of the CA certificate in days (default 3650)"},
    {OPT_NAME, "name", "CA-NAME", "the CA's common name (default '" VG_PKI_CA_NAME "')"},
    {0, NULL, NULL, NULL},
};

static const struct vg_opt issue_opts[] = {
    {OPT_DIR, "dir", "DIR", DIR_HELP "; NAME.key and NAME.crt are written there"},
    {OPT_DAYS, "days", "N", "validity in days (default 825; never beyond the CA's own expiry)"},
    {OPT_IP, "ip", "ADDRESS", "an IPv4 or IPv6 address the holder is reached at (repeatable)"},
    {OPT_DNS, "dns", "HOST", "another host name of the holder (repeatable)"},
    {OPT_FORCE, "force", NULL, "replace an existing NAME.key and NAME.crt"},
    {0, NULL, NULL, NULL},
};

static int add_alt_name(struct pki_args *a, const char **list, size_t *n, const char *opt,
                        const char *arg)
{
    if (*n == MAX_ALT_NAMES)
        return vg_cli_usage(a->cmd, "at most %d %s options", MAX_ALT_NAMES, opt);
    list[(*n)++] = arg;
    return VG_EXIT_OK;
}

static int on_opt(void *ctx, int id, const char *arg)
{
    struct pki_args *a = ctx;
    unsigned long long days;
    int rc;

    switch (id) {
    case OPT_DIR:
        if (!*arg)
            return vg_cli_usage(a->cmd, "--dir must not be empty");
        a->dir = arg;
        return VG_EXIT_OK;
    case OPT_DAYS:
        if ((rc = vg_cli_parse_uint("--days", arg, &days)) != 0)
            return rc;
        if (days < 1 || days > VG_PKI_MAX_DAYS)
            return vg_cli_usage(a->cmd, "--days must be between 1 and %d", VG_PKI_MAX_DAYS);
        a->days = (unsigned)days;
        return VG_EXIT_OK;
    case OPT_NAME:
        a->ca_name = arg;
        return VG_EXIT_OK;
    case OPT_IP:
        return add_alt_name(a, a->ips, &a->n_ips, "--ip", arg);
    case OPT_DNS:
        return add_alt_name(a, a->dns, &a->n_dns, "--dns", arg);
    case OPT_FORCE:
        a->force = 1;
        return VG_EXIT_OK;
    default:
        VG_BUG("option %d has no handler", id);
    }
}

/* ---- output ------------------------------------------------------------ */

/* "DNS:dc1, IP:10.0.0.1", or "-" when the certificate has none. */
static void alt_names_text(const json_t *cert, vg_buf_t *out)
{
    static const struct {
        const char *key, *prefix;
    } kinds[] = {{"dns", "DNS:"}, {"ip", "IP:"}};
    size_t i, start = out->len;
    json_t *name;

    for (size_t k = 0; k < VG_ARRAY_LEN(kinds); k++) {
        json_array_foreach(json_object_get(cert, kinds[k].key), i, name)
        {
            vg_buf_printf(out, "%s%s%s", out->len > start ? ", " : "", kinds[k].prefix,
                          json_string_value(name));
        }
    }
    if (out->len == start)
        vg_buf_adds(out, "-");
}

static void list_text(const json_t *list, vg_buf_t *out)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        vg_buf_printf(out, "%s%s", i ? ", " : "", json_string_value(item));
    }
}

static void print_init(const json_t *r)
{
    printf("%s  private key of the CA (mode 0600): keep it secret, off the members\n",
           vg_cli_str(r, "key", "?"));
    printf("%s  CA certificate %s, valid until %s\n", vg_cli_str(r, "cert", "?"),
           vg_cli_str(r, "subject", "?"), vg_cli_str(r, "not_after", "?"));
}

static void print_issue(const json_t *r)
{
    vg_buf_t names = VG_BUF_INIT;
    alt_names_text(r, &names);
    printf("%s  private key (mode 0600)\n", vg_cli_str(r, "key", "?"));
    printf("%s  certificate %s (%s), valid until %s\n", vg_cli_str(r, "cert", "?"),
           vg_cli_str(r, "subject", "?"), (const char *)names.data,
           vg_cli_str(r, "not_after", "?"));
    vg_buf_release(&names);
}

static void print_show(const json_t *r)
{
    vg_buf_t names = VG_BUF_INIT, usage = VG_BUF_INIT;
    const json_t *eku = json_object_get(r, "ext_key_usage");

    alt_names_text(r, &names);
    list_text(json_object_get(r, "key_usage"), &usage);
    if (eku) {
        vg_buf_adds(&usage, usage.len ? ", " : "");
        list_text(eku, &usage);
    }
    printf("file:        %s\n", vg_cli_str(r, "file", "?"));
    printf("subject:     %s\n", vg_cli_str(r, "subject", "?"));
    printf("issuer:      %s\n", vg_cli_str(r, "issuer", "?"));
    printf("serial:      %s\n", vg_cli_str(r, "serial", "?"));
    printf("not before:  %s\n", vg_cli_str(r, "not_before", "?"));
    printf("not after:   %s%s\n", vg_cli_str(r, "not_after", "?"),
           json_is_true(json_object_get(r, "expired")) ? " (expired)" : "");
    printf("names:       %s\n", (const char *)names.data);
    printf("CA:          %s\n", json_is_true(json_object_get(r, "ca")) ? "yes" : "no");
    printf("usage:       %s\n", usage.len ? (const char *)usage.data : "any");
    printf("sha256:      %s\n", vg_cli_str(r, "sha256", "?"));
    vg_buf_release(&names);
    vg_buf_release(&usage);
}

/* Reports a failure of pki.c, or prints its result in the -o format
 * (warnings to stderr, not into the result); takes result. */
static int finish(struct vg_cli *cli, int rc, json_t *result, const char *err,
                  void (*print_text)(const json_t *))
{
    size_t i;
    json_t *warning;

    if (rc < 0)
        return vg_cli_fail(rc == -EINVAL ? VG_EXIT_INVALID : VG_EXIT_ERROR, "%s", err);
    json_array_foreach(json_object_get(result, "warnings"), i, warning)
    {
        fprintf(stderr, "vigil: warning: %s\n", json_string_value(warning));
    }
    json_object_del(result, "warnings");
    rc = VG_EXIT_OK;
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        rc = vg_cli_print_value(cli, result);
    else
        print_text(result);
    json_decref(result);
    return rc;
}

/* ---- commands ---------------------------------------------------------- */

static int run_init(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct pki_args args = {.cmd = cmd,
                            .dir = VG_PKI_DEFAULT_DIR,
                            .ca_name = VG_PKI_CA_NAME,
                            .days = VG_PKI_CA_DAYS};
    char err[1024];
    json_t *result;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);

    struct vg_pki_ca_req req = {.dir = args.dir, .name = args.ca_name, .days = args.days};
    rc = vg_pki_init(&req, &result, err, sizeof err);
    return finish(cli, rc, result, err, print_init);
}

static int run_issue(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct pki_args args = {.cmd = cmd, .dir = VG_PKI_DEFAULT_DIR, .days = VG_PKI_LEAF_DAYS};
    char err[1024];
    json_t *result;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first == argc)
        return vg_cli_usage(cmd, "give the NAME of the member, witness or client");
    if (argc - first > 1)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first + 1]);

    struct vg_pki_issue_req req = {
        .dir = args.dir,
        .name = argv[first],
        .days = args.days,
        .dns = args.dns,
        .n_dns = args.n_dns,
        .ips = args.ips,
        .n_ips = args.n_ips,
        .force = args.force,
    };
    rc = vg_pki_issue(&req, &result, err, sizeof err);
    return finish(cli, rc, result, err, print_issue);
}

static int run_show(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    char err[1024];
    json_t *result;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 1)
        return vg_cli_usage(cmd, "give one certificate FILE");
    rc = vg_pki_show(argv[first], &result, err, sizeof err);
    return finish(cli, rc, result, err, print_show);
}

static const struct vg_cmd cmd_init = {
    .name = "init",
    .run = run_init,
    .flags = VG_CMD_OFFLINE,
    .usage = "[--dir DIR] [--days N] [--name CA-NAME] [options]",
    .summary = "create the cluster CA",
    .help = "Creates DIR (mode 0700) with the cluster CA: ca.key, its EC P-256 private key "
            "(mode 0600, unencrypted PEM), and ca.crt, its self-signed certificate "
            "(CA:TRUE, keyCertSign and cRLSign, a random 128-bit serial). Never replaces an "
            "existing CA. Keep ca.key on the machine that issues certificates, not on the "
            "members; give ca.crt to every member, the witness and clients (vigild "
            "--tls-ca, vigil --cacert). -o json prints {\"dir\", \"key\", \"cert\", "
            "\"subject\", \"serial\", \"not_after\", ...}.",
    .opts = init_opts,
    .parent = "pki",
};

static const struct vg_cmd cmd_issue = {
    .name = "issue",
    .run = run_issue,
    .flags = VG_CMD_OFFLINE,
    .usage = "NAME [--dir DIR] [--days N] [--ip ADDRESS]... [--dns HOST]... [--force] "
             "[options]",
    .summary = "issue a certificate for a member, the witness or a client",
    .help = "Creates NAME.key (EC P-256, mode 0600, unencrypted PEM) and NAME.crt signed by "
            "the CA in DIR, for mutual TLS: common name NAME (peers take the member's name "
            "from it), subjectAltName DNS:NAME plus every --dns and --ip, CA:FALSE, "
            "digitalSignature, serverAuth and clientAuth. NAME follows the rules of object "
            "names: 1-63 of a-z, 0-9, '.', '-' and '_', starting and ending with a letter "
            "or digit (exit 7 otherwise). Refuses to replace an existing NAME.key or "
            "NAME.crt unless --force. Give NAME.key, NAME.crt and ca.crt to NAME only; "
            "vigild reads the key unattended at start, so protect it with the file mode. "
            "-o json prints {\"key\", \"cert\", \"ca_cert\", \"subject\", \"dns\", \"ip\", "
            "\"not_after\", ...}.",
    .opts = issue_opts,
    .parent = "pki",
};

static const struct vg_cmd cmd_show = {
    .name = "show",
    .run = run_show,
    .flags = VG_CMD_OFFLINE,
    .usage = "FILE [options]",
    .summary = "show what a certificate says",
    .help = "Prints the subject, issuer, serial, validity, subjectAltNames, whether it is a "
            "CA, its usages and SHA-256 fingerprint of the PEM certificate in FILE. -o json "
            "prints {\"file\", \"subject\", \"issuer\", \"serial\", \"not_before\", "
            "\"not_after\", \"expired\", \"ca\", \"dns\", \"ip\", \"key_usage\", "
            "\"ext_key_usage\", \"sha256\"}. Exit 7 if FILE is not a PEM certificate.",
    .parent = "pki",
};

static const struct vg_cmd *const pki_cmds[] = {&cmd_init, &cmd_issue, &cmd_show, NULL};

const struct vg_cmd vg_cmd_pki = {
    .name = "pki",
    .flags = VG_CMD_OFFLINE,
    .usage = "init|issue|show [arguments]",
    .summary = "create the cluster CA and certificates for mutual TLS",
    .help = "Members, the witness and clients of a vigil cluster authenticate each other "
            "with certificates of one cluster CA (docs/cluster.md). 'vigil pki init' creates "
            "the CA, 'vigil pki issue NAME' a key and certificate for each of them. Works "
            "on local files only; talks to no server.",
    .subcmds = pki_cmds,
};

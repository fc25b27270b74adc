/*
 * opts.c - command-line option parsing shared by all vigil commands.
 *
 * Each command declares its options as a vg_opt table (which also feeds its
 * --help); this file merges it with the common options (-o, --server,
 * --token, ...) and runs GNU getopt_long, so options may come before or
 * after the operands: `vigil get site dc1 -o json`. Messages are our own
 * (opterr = 0) so that every usage error has the same shape and exit code 2.
 */
#include "cli/cli.h"

#include <getopt.h>

enum { OPT_TOKEN = 256, OPT_TOKEN_FILE, OPT_CACERT, OPT_TIMEOUT };

#define MAX_OPTS      32
#define MAX_TIMEOUT_S 86400

const struct vg_opt vg_cli_common_opts[] = {
    {'o', "output", "FORMAT", "output format: table (default), wide, json or yaml"},
    {'s', "server", "URL[,URL...]",
     "API server, or a comma-separated list to try in order (env VIGIL_SERVER; "
     "default " VG_CLIENT_DEFAULT_SERVER ")"},
    {OPT_TOKEN, "token", "TOKEN",
     "API token (env VIGIL_TOKEN; prefer the environment or --token-file: "
     "arguments are visible to other users in ps)"},
    {OPT_TOKEN_FILE, "token-file", "FILE", "read the API token from FILE"},
    {OPT_CACERT, "cacert", "FILE",
     "CA certificates (PEM) to verify https servers (env VIGIL_CACERT)"},
    {OPT_TIMEOUT, "timeout", "SECONDS", "give up on a request after SECONDS (default 30)"},
    {'h', "help", NULL, "show help"},
    {0, NULL, NULL, NULL},
};

static const struct vg_opt *find_in(const struct vg_opt *opts, int id)
{
    for (size_t i = 0; opts && opts[i].name; i++)
        if (opts[i].id == id)
            return &opts[i];
    return NULL;
}

/* Appends opts to the getopt tables; returns the new count. */
static size_t add_opts(const struct vg_opt *opts, struct option *longs, size_t n,
                       vg_buf_t *shorts)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        if (n + 1 >= MAX_OPTS)
            VG_BUG("too many options for one command");
        longs[n++] = (struct option){
            opts[i].name, opts[i].arg ? required_argument : no_argument, NULL, opts[i].id};
        if (opts[i].id < 256) {
            char letter = (char)opts[i].id;
            vg_buf_add(shorts, &letter, 1);
            if (opts[i].arg)
                vg_buf_adds(shorts, ":");
        }
    }
    return n;
}

static int bad_option(const struct vg_cmd *cmd, const struct vg_opt *own, char **argv, int c)
{
    if (c == ':') {
        const struct vg_opt *o = find_in(own, optopt);
        if (!o)
            o = find_in(vg_cli_common_opts, optopt);
        return vg_cli_usage(cmd, "option '--%s' needs an argument %s", o ? o->name : "?",
                            o ? o->arg : "");
    }
    if (optopt > 0 && optopt < 256)
        return vg_cli_usage(cmd, "unknown option '-%c'", optopt);
    return vg_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
}

/*
 * The parser behind vg_cli_parse; own are the options besides the common
 * ones. With stop_at_operand, parsing ends at the first operand (the command
 * name, for the options before it).
 */
int vg_cli_parse_opts(struct vg_cli *cli, const struct vg_cmd *cmd, const struct vg_opt *own,
                      int stop_at_operand, int argc, char **argv, vg_opt_fn on_opt, void *ctx,
                      int *first)
{
    struct option longs[MAX_OPTS];
    vg_buf_t shorts = VG_BUF_INIT;
    int rc = VG_CLI_PROCEED, c;

    vg_buf_adds(&shorts, stop_at_operand ? "+:" : ":");
    size_t n = add_opts(own, longs, 0, &shorts);
    n = add_opts(vg_cli_common_opts, longs, n, &shorts);
    longs[n] = (struct option){NULL, 0, NULL, 0};

    opterr = 0;
    optind = 0; /* glibc: start over, a previous parse may have run */
    while (rc == VG_CLI_PROCEED &&
           (c = getopt_long(argc, argv, (const char *)shorts.data, longs, NULL)) != -1) {
        if (c == '?' || c == ':') {
            rc = bad_option(cmd, own, argv, c);
        } else if (c == 'h') {
            vg_cli_help(cmd, stdout);
            rc = VG_EXIT_OK;
        } else if (find_in(own, c)) {
            rc = on_opt ? on_opt(ctx, c, optarg) : VG_EXIT_USAGE;
        } else {
            rc = vg_cli_common_opt(cli, c, optarg);
        }
        if (rc == VG_EXIT_OK && c != 'h')
            rc = VG_CLI_PROCEED;
    }
    *first = optind;
    vg_buf_release(&shorts);
    return rc;
}

int vg_cli_parse(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv,
                 vg_opt_fn on_opt, void *ctx, int *first)
{
    return vg_cli_parse_opts(cli, cmd, cmd->opts, 0, argc, argv, on_opt, ctx, first);
}

static int parse_output(struct vg_cli *cli, const char *arg)
{
    static const struct {
        const char *name;
        enum vg_output output;
    } formats[] = {{"table", VG_OUT_TABLE},
                   {"wide", VG_OUT_WIDE},
                   {"json", VG_OUT_JSON},
                   {"yaml", VG_OUT_YAML},
                   {"yml", VG_OUT_YAML}};
    for (size_t i = 0; i < VG_ARRAY_LEN(formats); i++) {
        if (strcmp(arg, formats[i].name) == 0) {
            cli->output = formats[i].output;
            return VG_EXIT_OK;
        }
    }
    return vg_cli_usage(NULL, "unknown output format '%s' (table, wide, json or yaml)", arg);
}

int vg_cli_common_opt(struct vg_cli *cli, int id, const char *arg)
{
    unsigned long long seconds;
    int rc;

    switch (id) {
    case 'o':
        return parse_output(cli, arg);
    case 's':
        cli->servers = arg;
        return VG_EXIT_OK;
    case OPT_TOKEN: /* the last of --token and --token-file wins */
        cli->token = arg;
        cli->token_file = NULL;
        return VG_EXIT_OK;
    case OPT_TOKEN_FILE:
        cli->token_file = arg;
        cli->token = NULL;
        return VG_EXIT_OK;
    case OPT_CACERT:
        cli->cacert = arg;
        return VG_EXIT_OK;
    case OPT_TIMEOUT:
        if ((rc = vg_cli_parse_uint("--timeout", arg, &seconds)) != 0)
            return rc;
        if (seconds < 1 || seconds > MAX_TIMEOUT_S)
            return vg_cli_usage(NULL, "--timeout must be between 1 and %d seconds",
                                MAX_TIMEOUT_S);
        cli->timeout_s = (long)seconds;
        return VG_EXIT_OK;
    default:
        VG_BUG("option %d has no handler", id);
    }
}

int vg_cli_parse_uint(const char *opt, const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || text[0] == '+' || text[0] == ' ')
        return vg_cli_usage(NULL, "%s wants a non-negative integer, not '%s'", opt, text);
    *out = v;
    return VG_EXIT_OK;
}

static void say_error(const char *fmt, va_list ap)
{
    fputs("vigil: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int vg_cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_error(fmt, ap);
    va_end(ap);
    return code;
}

int vg_cli_usage(const struct vg_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_error(fmt, ap);
    va_end(ap);
    if (cmd && cmd->parent)
        fprintf(stderr, "usage: vigil %s %s %s\nTry 'vigil help %s %s'.\n", cmd->parent,
                cmd->name, cmd->usage, cmd->parent, cmd->name);
    else if (cmd)
        fprintf(stderr, "usage: vigil %s %s\nTry 'vigil help %s'.\n", cmd->name, cmd->usage,
                cmd->name);
    else
        fprintf(stderr, "Try 'vigil help'.\n");
    return VG_EXIT_USAGE;
}

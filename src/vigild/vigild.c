/*
 * vigild.c - entry point of the daemon: a table of subcommands.
 */
#include "vigild/vigild.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand commands[] = {
    {"init", vg_cmd_init, "create a data directory, keyring and first admin token"},
    {"run", vg_cmd_run, "serve a member (standalone)"},
    {"dev", vg_cmd_dev, "a throw-away member on loopback for a first try: data, token, API"},
    {"witness", vg_cmd_witness, "serve the cluster witness (the tie-breaker)"},
    {"probe", vg_cmd_probe, "read devices from a manifest file once and print the values"},
    {"services", vg_cmd_services, "list the services vigild runs: kinds, records, routes, commands"},
    {"routes", vg_cmd_routes, "list the REST API's routes and the roles that may call them"},
    {"inspect", vg_cmd_inspect,
     "decrypt a data dir's log, snapshots and set-aside records "
     "as JSON lines"},
    {"verify", vg_cmd_verify, "check every sealed frame and snapshot of a data dir, read-only"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vigild <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'vigild <command> --help' describes each command. See vigild(8).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vigild %s\n", VG_VERSION);
        return 0;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vigild: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

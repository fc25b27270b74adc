/*
 * cli.h - what the files of the `vigil` command line share: exit codes, the
 * command table's row type, option parsing, output and error helpers.
 *
 * Convention (differs from the rest of vigil on purpose): the helpers here
 * and every command return a process exit code (VG_EXIT_*), 0 on success,
 * and have already told the person what went wrong on stderr. A CLI's
 * failures end in an exit code, so carrying -errno up only to translate it
 * at the top would lose the context (which object, which server) on the way.
 *
 * Output: results go to stdout in the format of -o; messages and errors go
 * to stderr as "vigil: ...". The API token is never printed (only `vigil
 * token create` prints the new token it was given).
 */
#ifndef VG_CLI_H
#define VG_CLI_H

#include <jansson.h>
#include <time.h>

#include "cli/client.h"
#include "core/buf.h"
#include "core/vg.h"

/* Exit codes, documented in vigil(1) and `vigil --help`. */
enum vg_exit {
    VG_EXIT_OK = 0,
    VG_EXIT_ERROR = 1,       /* anything else: I/O, server error (5xx), bug */
    VG_EXIT_USAGE = 2,       /* bad command line */
    VG_EXIT_NOT_FOUND = 3,   /* 404 */
    VG_EXIT_CONFLICT = 4,    /* 409: If-Match revision did not match */
    VG_EXIT_DENIED = 5,      /* 401 or 403 */
    VG_EXIT_UNREACHABLE = 6, /* no answer from any server */
    VG_EXIT_INVALID = 7,     /* input rejected: bad manifest, 400/413/422 */
};

enum vg_output { VG_OUT_TABLE, VG_OUT_WIDE, VG_OUT_JSON, VG_OUT_YAML };

/* Options every command takes, and the client built from them. */
struct vg_cli {
    const char *servers;
    const char *token;
    const char *token_file;
    const char *cacert;
    long timeout_s;
    enum vg_output output;
    char *token_buf; /* token read from token_file; wiped and freed at exit */
    vg_client_t *client;
    json_t *kinds;    /* GET /api/v1/kinds, fetched once */
    int mirror_noted; /* the "served by a mirror" note was printed */
};

/* One option of a command: id is the short option letter, or a number
 * >= 256 for a long-only option; arg names the argument (NULL: a flag). */
struct vg_opt {
    int id;
    const char *name;
    const char *arg;
    const char *help;
};

#define VG_CMD_OFFLINE 0x1 /* never talks to a server (help, version) */

struct vg_cmd;
typedef int (*vg_cmd_fn)(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv);

/* A row of the command table (git's git.c): name, handler, flags, and the
 * text `vigil help NAME` shows. A group (token) has subcommands instead of
 * a handler. */
struct vg_cmd {
    const char *name;
    vg_cmd_fn run;
    unsigned flags;
    const char *usage;                   /* arguments after "vigil NAME " */
    const char *summary;                 /* one line for the command list */
    const char *help;                    /* paragraphs for `vigil help NAME` */
    const struct vg_opt *opts;           /* the command's own, {0} ends */
    const struct vg_cmd *const *subcmds; /* NULL-terminated, or NULL */
    const char *parent;                  /* "token" for "token create" */
};

extern const struct vg_cmd vg_cmd_apply, vg_cmd_get, vg_cmd_delete, vg_cmd_watch, vg_cmd_token,
    vg_cmd_status, vg_cmd_pki, vg_cmd_cluster, vg_cmd_switchover, vg_cmd_failover,
    vg_cmd_events;
extern const struct vg_cmd vg_cmd_series, vg_cmd_sensors, vg_cmd_facility, vg_cmd_alerts,
    vg_cmd_push, vg_cmd_sim;
extern const struct vg_cmd vg_cmd_incidents, vg_cmd_incident, vg_cmd_ack, vg_cmd_resolve,
    vg_cmd_note, vg_cmd_oncall, vg_cmd_explain;
extern const struct vg_cmd vg_cmd_training, vg_cmd_services, vg_cmd_passwd;
extern const struct vg_cmd vg_cmd_protect;
extern const struct vg_cmd vg_cmd_drill;
extern const struct vg_cmd vg_cmd_demo;

/* Special value of vg_cli_parse: go on with the command. */
#define VG_CLI_PROCEED (-1)

typedef int (*vg_opt_fn)(void *ctx, int id, const char *arg);

/*
 * Parses argv (argv[0] is the command name) against cmd->opts plus the
 * common options, which may come anywhere. on_opt (may be NULL if the command
 * has no options) gets each of the command's own options and returns 0 or an
 * exit code. On VG_CLI_PROCEED, argv[*first..argc) are the operands.
 * Otherwise returns the exit code to end with: 0 after --help, 2 after a
 * usage error (already printed).
 */
int vg_cli_parse(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv,
                 vg_opt_fn on_opt, void *ctx, int *first);

/* Like vg_cli_parse with an explicit option table (cmd may be NULL: the
 * options before the command name); with stop_at_operand, parsing ends at
 * the first operand. */
int vg_cli_parse_opts(struct vg_cli *cli, const struct vg_cmd *cmd, const struct vg_opt *own,
                      int stop_at_operand, int argc, char **argv, vg_opt_fn on_opt, void *ctx,
                      int *first);

/* The options every command takes (opts.c), for help texts. */
extern const struct vg_opt vg_cli_common_opts[];

/* The top-level command named name, or NULL (vigil.c's table). */
const struct vg_cmd *vg_cli_find_command(const char *name);

/* Parses the shared options' values; 0 or an exit code (message printed). */
int vg_cli_common_opt(struct vg_cli *cli, int id, const char *arg);

/* Prints "vigil: <message>" and the command's usage line to stderr; 2. */
int vg_cli_usage(const struct vg_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the full help of cmd to out. */
void vg_cli_help(const struct vg_cmd *cmd, FILE *out);

/* Prints "vigil: <message>" to stderr and returns code. */
int vg_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a non-negative decimal integer option value; 0 or 2 (printed). */
int vg_cli_parse_uint(const char *opt, const char *text, unsigned long long *out);

/* ---- talking to the server (request.c) --------------------------------- */

/* Sends a request. Returns 0 when a server answered with 2xx. Otherwise
 * prints "vigil: <what>: <server's error> (field: F)" (what may be NULL) and
 * returns the exit code the status maps to; 6 when no server answered.
 * A read served by a mirror that is behind the primary prints one note on
 * stderr per run (stdout stays the result alone). */
int vg_cli_call(struct vg_cli *cli, const char *what, const char *method, const char *path,
                const json_t *body, const char *if_match, struct vg_resp *resp);

/* Like vg_cli_call, but to server number `server` (0-based) of the list
 * only, never another: see vg_client_request_at. */
int vg_cli_call_at(struct vg_cli *cli, size_t server, const char *what, const char *method,
                   const char *path, const json_t *body, struct vg_resp *resp);

/* Like vg_cli_call, but any HTTP answer returns 0 and is left to the caller. */
int vg_cli_send(struct vg_cli *cli, const char *method, const char *path, const json_t *body,
                const char *if_match, struct vg_resp *resp);

/* Like vg_cli_send with a text body (len > 0 bytes of content_type). */
int vg_cli_send_text(struct vg_cli *cli, const char *method, const char *path,
                     const char *content_type, const char *text, size_t len,
                     struct vg_resp *resp);

/* Appends what a non-2xx answer says: the server's message (and field), or
 * the start of a non-JSON body, or the status; control characters as '?'. */
void vg_cli_describe_answer(const struct vg_resp *resp, vg_buf_t *msg);

/* Reports a non-2xx answer as vg_cli_call does; returns the exit code. */
int vg_cli_fail_resp(struct vg_cli *cli, const char *what, const struct vg_resp *resp);

/* The exit code for an HTTP status (0 for 2xx). */
int vg_cli_exit_for_status(long status);

/* The client, made on first use from the options. 0 or an exit code. */
int vg_cli_client(struct vg_cli *cli, vg_client_t **out);

/* The server's kinds (GET /api/v1/kinds "items"), fetched once; borrowed. */
int vg_cli_kinds(struct vg_cli *cli, const json_t **kinds);

/*
 * Maps a kind as typed (site, sites, Site, zones, escalationpolicies) to the
 * server's spelling, using GET /api/v1/kinds. 0 with kind filled, or an exit
 * code (7 for an unknown kind, message lists the known ones).
 */
int vg_cli_kind(struct vg_cli *cli, const char *typed, char *kind, size_t kindlen);

/* ---- output (output.c; the text of tables and cells is format.c's) ------ */

/* Prints v as indented JSON, or as YAML (an array with many_docs = 1 is
 * printed as one document per element). 0 or 1. */
int vg_cli_print_json(const json_t *v);
int vg_cli_print_yaml(const json_t *v, int many_docs);

/* Prints v in the -o format, for json and yaml only; 0 or 1. */
int vg_cli_print_value(const struct vg_cli *cli, const json_t *v);

/* "site/dc1": the lowercased kind and the name, as printed in results. */
void vg_cli_object_ref(const json_t *obj, const char *kind, const char *name, char *out,
                       size_t outlen);

/* A table printed with aligned columns, for the table and wide formats.
 * Cells are copied, with control characters shown as '?'. */
struct vg_table;
struct vg_table *vg_table_new(size_t n_cols, const char *const *headers);
void vg_table_add(struct vg_table *t, const char *const *cells); /* copies */
void vg_table_format(const struct vg_table *t, vg_buf_t *out);   /* appends */
void vg_table_print(const struct vg_table *t, FILE *out);
void vg_table_free(struct vg_table *t);

/* The SGR parameters ("31" for red) to show a data cell in, or NULL for
 * none; the caller decides whether the output is a terminal. */
typedef const char *(*vg_table_colour_fn)(size_t col, const char *cell);
void vg_table_set_colour(struct vg_table *t, vg_table_colour_fn colour);

/* The string member key of obj, or fallback when absent or not a string. */
const char *vg_cli_str(const json_t *obj, const char *key, const char *fallback);

/* How long ago an RFC 3339 UTC time was: "42s", "5m", "3h", "12d"; "-" when
 * the time is missing or unreadable. _at: as seen at now. */
void vg_cli_age(const char *rfc3339, char *out, size_t outlen);
void vg_cli_age_at(const char *rfc3339, time_t now, char *out, size_t outlen);

/* Labels as "k=v,k2=v2", or "<none>". */
void vg_cli_labels(const json_t *labels, vg_buf_t *out);

/* A scalar as text (strings bare, numbers and booleans as JSON), others as
 * compact JSON. */
void vg_cli_scalar(const json_t *v, vg_buf_t *out);

#endif

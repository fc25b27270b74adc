/*
 * cmd_passwd.c - `vigil passwd PERSON`: sets the password a person logs in
 * to the dashboard with, and the role they act with there (admin only).
 *
 * The password is read from the terminal without echo, twice, or as one
 * line from standard input when that is not a terminal (scripts). It goes
 * to the server over the API's connection (HTTPS off loopback) and is
 * wiped here once sent; the server stores only its Argon2id hash.
 */
#include "cli/cli.h"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

enum { OPT_ROLE = 256, OPT_DELETE };

struct passwd_args {
    const char *role;
    int delete;
};

static const struct vg_opt passwd_opts[] = {
    {OPT_ROLE, "role", "ROLE",
     "the role the person acts with on the dashboard: viewer (default), operator, admin, "
     "auditor or external-reviewer"},
    {OPT_DELETE, "delete", NULL, "remove the person's login instead"},
    {0, NULL, NULL, NULL},
};

static int on_opt(void *ctx, int id, const char *arg)
{
    struct passwd_args *a = ctx;
    if (id == OPT_ROLE)
        a->role = arg;
    else
        a->delete = 1;
    return VG_EXIT_OK;
}

/* One line into buf (no newline), without echo on a terminal; -1 at EOF. */
static int read_secret(const char *prompt, char *buf, size_t len)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!got)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int run_passwd(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct passwd_args args = {0};
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_t path = VG_BUF_INIT;
    char pw[1100] = "", again[1100] = "";
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 1)
        return vg_cli_usage(cmd, "give the name of the Person");
    vg_buf_adds(&path, "/api/v1/logins/");
    vg_client_escape(&path, argv[first]);
    if (args.delete) {
        rc = vg_cli_call(cli, "cannot remove the login", "DELETE", (const char *)path.data,
                         NULL, NULL, &resp);
        if (rc == 0)
            fprintf(stderr, "vigil: %s can no longer log in to the dashboard\n", argv[first]);
        goto out;
    }
    if (read_secret("New password: ", pw, sizeof pw)) {
        rc = vg_cli_fail(VG_EXIT_USAGE, "no password given");
        goto out;
    }
    if (isatty(STDIN_FILENO) &&
        (read_secret("Again: ", again, sizeof again) || strcmp(pw, again) != 0)) {
        rc = vg_cli_fail(VG_EXIT_USAGE, "the two passwords differ");
        goto out;
    }
    json_t *body = json_pack("{s:s}", "password", pw);
    if (args.role)
        json_object_set_new(body, "role", json_string(args.role));
    rc = vg_cli_call(cli, "cannot set the password", "PUT", (const char *)path.data, body, NULL,
                     &resp);
    sodium_memzero((char *)json_string_value(json_object_get(body, "password")), strlen(pw));
    json_decref(body);
    if (rc == 0)
        fprintf(stderr, "vigil: %s logs in to the dashboard as %s\n", argv[first],
                vg_cli_str(resp.json, "role", "?"));
out:
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(again, sizeof again);
    vg_buf_release(&path);
    vg_resp_release(&resp);
    return rc;
}

const struct vg_cmd vg_cmd_passwd = {
    .name = "passwd",
    .run = run_passwd,
    .usage = "PERSON [--role ROLE] [--delete] [options]",
    .summary = "set the password a person logs in to the dashboard with",
    .help = "Sets the dashboard password of PERSON (a Person object) and the role they act "
            "with there (--role, default viewer). The password is read from the terminal "
            "without echo, twice, or as one line from standard input; it must be 10 to 1024 "
            "bytes. The server keeps only its Argon2id hash; changing it ends the person's "
            "open sessions. --delete removes the login. Needs an admin token.",
    .opts = passwd_opts,
};

/*
 * request.c - the CLI's side of a request: building the client from the
 * options, turning HTTP answers into messages and exit codes, and mapping the
 * kinds people type to the server's kinds.
 *
 * Error text comes from the server ({"error": ..., "field": ...}, see
 * docs/api.md) and is printed as "vigil: <what>: <error> (field: <field>)".
 * It is untrusted: control characters are replaced before it reaches the
 * terminal.
 *
 * A read answered by a mirror (Vigil-Role: mirror) that is behind the
 * primary (Vigil-Lag > 0) may be stale: one note per run says so on stderr,
 * never on stdout, which scripts parse.
 */
#include "cli/cli.h"

#include <ctype.h>
#include <strings.h>

#define CONNECT_TIMEOUT_MS 5000
#define MAX_TOKEN_FILE     4096
#define MAX_SHOWN_BODY     200

/* ---- the client -------------------------------------------------------- */

static int read_token_file(struct vg_cli *cli)
{
    FILE *f = fopen(cli->token_file, "r");
    if (!f)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot open token file '%s': %s", cli->token_file,
                           strerror(errno));
    char *buf = vg_calloc(1, MAX_TOKEN_FILE + 1);
    size_t n = fread(buf, 1, MAX_TOKEN_FILE, f);
    int failed = ferror(f);
    fclose(f);
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = 0;
    cli->token_buf = buf; /* wiped by the caller of main's cleanup */
    if (failed)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot read token file '%s'", cli->token_file);
    if (n == 0)
        return vg_cli_fail(VG_EXIT_USAGE, "token file '%s' is empty", cli->token_file);
    cli->token = buf;
    return VG_EXIT_OK;
}

/* A token goes into a header line: refuse anything that could break it. */
static int check_token(const char *token)
{
    for (const char *p = token; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return vg_cli_fail(VG_EXIT_USAGE,
                               "the API token contains spaces or control characters");
    return VG_EXIT_OK;
}

int vg_cli_client(struct vg_cli *cli, vg_client_t **out)
{
    char err[512];
    int rc;

    if (cli->client) {
        *out = cli->client;
        return VG_EXIT_OK;
    }
    if (cli->token_file && (rc = read_token_file(cli)) != 0)
        return rc;
    if (cli->token && (rc = check_token(cli->token)) != 0)
        return rc;
    long timeout_ms = cli->timeout_s * 1000;
    struct vg_client_opts opts = {
        .servers = cli->servers,
        .token = cli->token,
        .cacert = cli->cacert,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS,
    };
    if (vg_client_new(&opts, &cli->client, err, sizeof err) < 0)
        return vg_cli_fail(VG_EXIT_USAGE, "%s", err);
    const char *cleartext = vg_client_cleartext_server(cli->client);
    if (cleartext && cli->token)
        fprintf(stderr, "vigil: warning: the token is sent unencrypted to %s; use https\n",
                cleartext);
    *out = cli->client;
    return VG_EXIT_OK;
}

/* ---- answers ----------------------------------------------------------- */

int vg_cli_exit_for_status(long status)
{
    if (status >= 200 && status < 300)
        return VG_EXIT_OK;
    switch (status) {
    case 401:
    case 403:
        return VG_EXIT_DENIED;
    case 404:
    case 410:
        return VG_EXIT_NOT_FOUND;
    case 409:
    case 412:
        return VG_EXIT_CONFLICT;
    case 503:
        return VG_EXIT_UNREACHABLE;
    default:
        return status >= 400 && status < 500 && status != 405 ? VG_EXIT_INVALID : VG_EXIT_ERROR;
    }
}

/* Appends untrusted text, at most max bytes, with control characters shown as '?'. */
static void add_clean(vg_buf_t *b, const char *s, size_t len, size_t max)
{
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        char c = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        vg_buf_add(b, &c, 1);
    }
    if (len > max)
        vg_buf_adds(b, "...");
}

void vg_cli_describe_answer(const struct vg_resp *resp, vg_buf_t *msg)
{
    const char *error = vg_cli_str(resp->json, "error", NULL);
    const char *field = vg_cli_str(resp->json, "field", NULL);

    if (error) {
        add_clean(msg, error, strlen(error), 1024);
    } else if (resp->body.len) {
        const char *body = (const char *)resp->body.data;
        size_t len = strcspn(body, "\r\n");
        vg_buf_printf(msg, "HTTP %ld: ", resp->status);
        add_clean(msg, body, len, MAX_SHOWN_BODY);
    } else {
        vg_buf_printf(msg, "HTTP %ld with no explanation", resp->status);
    }
    if (field && !strstr((const char *)msg->data, field)) {
        vg_buf_adds(msg, " (field: ");
        add_clean(msg, field, strlen(field), 128);
        vg_buf_adds(msg, ")");
    }
}

int vg_cli_fail_resp(struct vg_cli *cli, const char *what, const struct vg_resp *resp)
{
    vg_buf_t msg = VG_BUF_INIT;
    vg_cli_describe_answer(resp, &msg);
    if (what)
        vg_cli_fail(0, "%s: %s", what, (const char *)msg.data);
    else
        vg_cli_fail(0, "%s", (const char *)msg.data);
    vg_buf_release(&msg);
    if (resp->status == 401 && (!cli->token || !*cli->token))
        fprintf(stderr,
                "vigil: no API token given: use VIGIL_TOKEN, --token-file or --token\n");
    return vg_cli_exit_for_status(resp->status);
}

static void note_mirror(struct vg_cli *cli, const char *method, const struct vg_resp *resp)
{
    if (cli->mirror_noted || strcmp(method, "GET") != 0 || strcmp(resp->role, "mirror") != 0 ||
        resp->lag == 0)
        return;
    cli->mirror_noted = 1;
    fprintf(stderr, "vigil: note: served by mirror %s, %llu record%s behind the primary\n",
            resp->member[0] ? resp->member : vg_client_server(cli->client), resp->lag,
            resp->lag == 1 ? "" : "s");
}

/* Sends to any server of the list (server < 0) or to that one only. */
static int send_to(struct vg_cli *cli, long server, const char *method, const char *path,
                   const json_t *body, const char *if_match, struct vg_resp *resp)
{
    vg_client_t *client;
    char err[2048];
    int rc = vg_cli_client(cli, &client);
    if (rc)
        return rc;
    if (server < 0)
        rc = vg_client_request(client, method, path, body, if_match, resp, err, sizeof err);
    else if ((size_t)server < vg_client_n_servers(client))
        rc = vg_client_request_at(client, (size_t)server, method, path, body, if_match, resp,
                                  err, sizeof err);
    else
        VG_BUG("server %ld of %zu", server, vg_client_n_servers(client));
    if (rc < 0)
        return vg_cli_fail(VG_EXIT_UNREACHABLE, "%s", err);
    note_mirror(cli, method, resp);
    return VG_EXIT_OK;
}

int vg_cli_send_text(struct vg_cli *cli, const char *method, const char *path,
                     const char *content_type, const char *text, size_t len,
                     struct vg_resp *resp)
{
    vg_client_t *client;
    char err[2048];
    int rc = vg_cli_client(cli, &client);
    if (rc)
        return rc;
    rc = vg_client_request_text(client, method, path, content_type, text, len, resp, err,
                                sizeof err);
    if (rc < 0)
        return vg_cli_fail(VG_EXIT_UNREACHABLE, "%s", err);
    return VG_EXIT_OK;
}

int vg_cli_send(struct vg_cli *cli, const char *method, const char *path, const json_t *body,
                const char *if_match, struct vg_resp *resp)
{
    return send_to(cli, -1, method, path, body, if_match, resp);
}

/* Reports a non-2xx answer; the exit code, 0 for 2xx. */
static int check_answer(struct vg_cli *cli, const char *what, const struct vg_resp *resp)
{
    if (resp->status < 200 || resp->status >= 300)
        return vg_cli_fail_resp(cli, what, resp);
    return VG_EXIT_OK;
}

int vg_cli_call(struct vg_cli *cli, const char *what, const char *method, const char *path,
                const json_t *body, const char *if_match, struct vg_resp *resp)
{
    int rc = send_to(cli, -1, method, path, body, if_match, resp);
    return rc ? rc : check_answer(cli, what, resp);
}

int vg_cli_call_at(struct vg_cli *cli, size_t server, const char *what, const char *method,
                   const char *path, const json_t *body, struct vg_resp *resp)
{
    int rc = send_to(cli, (long)server, method, path, body, NULL, resp);
    return rc ? rc : check_answer(cli, what, resp);
}

/* ---- kinds ------------------------------------------------------------- */

/* site, Site, sites, SITES for Site; policies for Policy; switches for Switch. */
static int kind_matches(const char *kind, const char *typed)
{
    size_t k = strlen(kind), t = strlen(typed);

    if (k == 0 || t < k - 1 || strncasecmp(kind, typed, k - 1) != 0)
        return 0;
    if (t == k && strcasecmp(kind, typed) == 0)
        return 1;
    if (t >= k && strncasecmp(kind, typed, k) == 0 &&
        (strcasecmp(typed + k, "s") == 0 || strcasecmp(typed + k, "es") == 0))
        return 1;
    return tolower((unsigned char)kind[k - 1]) == 'y' && strcasecmp(typed + k - 1, "ies") == 0;
}

int vg_cli_kinds(struct vg_cli *cli, const json_t **kinds)
{
    if (cli->kinds) {
        *kinds = cli->kinds;
        return VG_EXIT_OK;
    }
    struct vg_resp resp = VG_RESP_INIT;
    int rc =
        vg_cli_call(cli, "cannot list the kinds", "GET", "/api/v1/kinds", NULL, NULL, &resp);
    if (rc == 0 && !json_is_array(json_object_get(resp.json, "items")))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's list of kinds is malformed");
    if (rc == 0)
        cli->kinds = json_incref(json_object_get(resp.json, "items"));
    vg_resp_release(&resp);
    *kinds = cli->kinds;
    return rc;
}

int vg_cli_kind(struct vg_cli *cli, const char *typed, char *kind, size_t kindlen)
{
    const json_t *kinds;
    size_t i;
    json_t *item;
    int rc;

    if ((rc = vg_cli_kinds(cli, &kinds)) != 0)
        return rc;
    json_array_foreach(kinds, i, item)
    {
        const char *name = vg_cli_str(item, "kind", NULL);
        if (name && *name && kind_matches(name, typed)) {
            snprintf(kind, kindlen, "%s", name);
            return VG_EXIT_OK;
        }
    }
    vg_buf_t known = VG_BUF_INIT;
    json_array_foreach(kinds, i, item)
    {
        vg_buf_printf(&known, "%s%s", i ? ", " : "", vg_cli_str(item, "kind", "?"));
    }
    /* alerts, incidents, events...: read with commands of their own */
    const struct vg_cmd *own = vg_cli_find_command(typed);
    if (!own && strlen(typed) > 1 && typed[strlen(typed) - 1] == 's') {
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)strlen(typed) - 1, typed);
        own = vg_cli_find_command(one);
    }
    if (own && own->summary)
        rc = vg_cli_fail(VG_EXIT_INVALID, "'%s' is not a kind of object: see 'vigil %s' (%s); kinds: %s",
                         typed, own->name, own->summary,
                         known.len ? (const char *)known.data : "none");
    else
        rc = vg_cli_fail(VG_EXIT_INVALID, "unknown kind '%s' (known: %s)", typed,
                         known.len ? (const char *)known.data : "none");
    vg_buf_release(&known);
    return rc;
}

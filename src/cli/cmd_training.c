/*
 * cmd_training.c - `vigil training status|import`: who is due or overdue
 * for which training course (GET /api/v1/training), and loading completions
 * from a training provider's CSV export.
 *
 * An import is checked whole before anything is sent (training_csv.c runs
 * the server's own schema check on each line), so a file with one bad line
 * writes nothing. It then sends one PUT per completion, with names fixed by
 * person, course and date: a run cut short by a network failure is finished
 * by running it again, which leaves the completions already stored as they
 * are (the server answers "unchanged").
 */
#include "cli/cli.h"

#include <errno.h>
#include <unistd.h>

#include "training/training_csv.h"

enum { OPT_PERSON = 256, OPT_COURSE, OPT_STATUS, OPT_OVERDUE };

#define IMPORT_MAX_BYTES (64u << 20) /* of CSV: well over a million lines */
#define SGR_RED          "31"
#define SGR_YELLOW       "33"
#define SGR_MAGENTA      "35"

/* ---- vigil training status --------------------------------------------- */

struct status_args {
    const char *person, *course, *status;
    int overdue;
};

static const struct vg_opt status_opts[] = {
    {OPT_PERSON, "person", "PERSON", "only the courses of PERSON"},
    {OPT_COURSE, "course", "COURSE", "only COURSE"},
    {OPT_OVERDUE, "overdue", NULL, "only overdue courses (past due date and grace)"},
    {OPT_STATUS, "status", "S[,S...]", "only these statuses: ok, due-soon, overdue, never"},
    {0, NULL, NULL, NULL},
};

static int on_status_opt(void *ctx, int id, const char *arg)
{
    struct status_args *a = ctx;
    if (id == OPT_PERSON)
        a->person = arg;
    else if (id == OPT_COURSE)
        a->course = arg;
    else if (id == OPT_STATUS)
        a->status = arg;
    else
        a->overdue = 1;
    return VG_EXIT_OK;
}

static int want_colour(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

static const char *status_sgr(size_t col, const char *cell)
{
    if (col != 2)
        return NULL;
    if (strcmp(cell, "overdue") == 0)
        return SGR_RED;
    if (strcmp(cell, "due-soon") == 0)
        return SGR_YELLOW;
    return strcmp(cell, "never") == 0 ? SGR_MAGENTA : NULL;
}

static void add_query(vg_buf_t *path, const char *key, const char *value)
{
    if (!value)
        return;
    vg_buf_printf(path, "%c%s=", strchr((const char *)path->data, '?') ? '&' : '?', key);
    vg_client_escape(path, value);
}

static void print_status_table(const json_t *items, int wide)
{
    static const char *const headers[] = {"PERSON", "COURSE",  "STATUS", "COMPLETED",
                                          "DUE",    "MANAGER", "TITLE",  "EVIDENCE"};
    struct vg_table *t = vg_table_new(wide ? 8 : 6, headers);
    if (want_colour())
        vg_table_set_colour(t, status_sgr);
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *cells[] = {
            vg_cli_str(it, "person", "?"),   vg_cli_str(it, "course", "?"),
            vg_cli_str(it, "status", "?"),   vg_cli_str(it, "completed_on", "-"),
            vg_cli_str(it, "due_on", "now"), vg_cli_str(it, "manager", "-"),
            vg_cli_str(it, "title", "-"),    vg_cli_str(it, "evidence", "-")};
        vg_table_add(t, cells);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
}

static long long count_of(const json_t *summary, const char *status)
{
    return (long long)json_integer_value(json_object_get(summary, status));
}

static int print_status(const struct vg_cli *cli, const json_t *answer)
{
    const json_t *items = json_object_get(answer, "items");
    const json_t *summary = json_object_get(answer, "summary");
    if (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)
        return vg_cli_print_value(cli, answer);
    if (json_array_size(items) == 0) {
        fprintf(stderr, "vigil: no required training matches\n");
        return VG_EXIT_OK;
    }
    print_status_table(items, cli->output == VG_OUT_WIDE);
    fprintf(stderr, "%lld overdue, %lld never completed, %lld due soon, %lld ok\n",
            count_of(summary, "overdue"), count_of(summary, "never"),
            count_of(summary, "due-soon"), count_of(summary, "ok"));
    return VG_EXIT_OK;
}

static int run_status(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct status_args args = {0};
    struct vg_resp resp = VG_RESP_INIT;
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_status_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s'", argv[first]);
    if (args.overdue && args.status)
        return vg_cli_usage(cmd, "give --overdue or --status, not both");
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_adds(&path, "/api/v1/training");
    add_query(&path, "person", args.person);
    add_query(&path, "course", args.course);
    add_query(&path, "status", args.overdue ? "overdue" : args.status);
    rc = vg_cli_call(cli, "cannot read the training status", "GET", (const char *)path.data,
                     NULL, NULL, &resp);
    if (rc == 0 && !json_is_array(json_object_get(resp.json, "items")))
        rc = vg_cli_fail(VG_EXIT_ERROR, "the server's training status is malformed");
    if (rc == 0)
        rc = print_status(cli, resp.json);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

/* ---- vigil training import --------------------------------------------- */

struct import {
    struct vg_cli *cli;
    const char *input_name; /* the file, or "stdin" */
    size_t n_new, n_changed, n_unchanged;
    int progress; /* a progress line is shown on stderr */
};

/* Reads all of in, at most IMPORT_MAX_BYTES; 0 or an exit code (printed). */
static int read_input(FILE *in, const char *name, vg_buf_t *text)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        if (text->len + n > IMPORT_MAX_BYTES)
            return vg_cli_fail(VG_EXIT_INVALID, "'%s' is larger than %u MiB; split it", name,
                               IMPORT_MAX_BYTES >> 20);
        vg_buf_add(text, chunk, n);
    }
    if (ferror(in))
        return vg_cli_fail(VG_EXIT_ERROR, "cannot read '%s': %s", name, strerror(errno));
    return VG_EXIT_OK;
}

static int report_bad_lines(const struct import *im, const json_t *errors)
{
    size_t i;
    const json_t *e;
    json_array_foreach(errors, i, e)
    {
        fprintf(stderr, "vigil: %s: %s\n", im->input_name, json_string_value(e));
    }
    return vg_cli_fail(VG_EXIT_INVALID, "%s: nothing imported; correct the lines above",
                       im->input_name);
}

static void show_progress(const struct import *im, size_t done, size_t total)
{
    if (im->progress)
        fprintf(stderr, "\rimporting completions: %zu/%zu", done, total);
    if (im->progress && done == total)
        fputc('\n', stderr);
}

/* PUTs one completion; 0 or an exit code (printed). */
static int put_completion(struct import *im, const json_t *manifest)
{
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_t path = VG_BUF_INIT;
    const char *name = json_string_value(json_object_get(manifest, "name"));
    vg_buf_adds(&path, "/api/v1/objects/Completion/");
    vg_client_escape(&path, name);
    char what[160];
    snprintf(what, sizeof what, "cannot store completion/%s", name);
    int rc = vg_cli_call(im->cli, what, "PUT", (const char *)path.data, manifest, NULL, &resp);
    if (rc == 0 && resp.status == 201)
        im->n_new++;
    else if (rc == 0 && strcmp(resp.result, "unchanged") == 0)
        im->n_unchanged++;
    else if (rc == 0)
        im->n_changed++;
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

static int print_import_totals(const struct import *im, size_t total)
{
    if (im->cli->output == VG_OUT_JSON || im->cli->output == VG_OUT_YAML) {
        json_t *answer =
            json_pack("{s:I, s:I, s:I, s:I}", "completions", (json_int_t)total, "new",
                      (json_int_t)im->n_new, "changed", (json_int_t)im->n_changed, "unchanged",
                      (json_int_t)im->n_unchanged);
        int rc = vg_cli_print_value(im->cli, answer);
        json_decref(answer);
        return rc;
    }
    printf("imported %zu completions from %s: %zu new, %zu changed, %zu unchanged\n", total,
           im->input_name, im->n_new, im->n_changed, im->n_unchanged);
    return VG_EXIT_OK;
}

static int import_text(struct import *im, const vg_buf_t *text)
{
    json_t *manifests = NULL, *errors = NULL;
    if (vg_training_csv_parse((const char *)text->data, text->len, &manifests, &errors)) {
        int rc = report_bad_lines(im, errors);
        json_decref(errors);
        return rc;
    }
    size_t total = json_array_size(manifests), i;
    im->progress = isatty(STDERR_FILENO) && total > 1;
    int rc = VG_EXIT_OK;
    for (i = 0; i < total && rc == VG_EXIT_OK; i++) {
        rc = put_completion(im, json_array_get(manifests, i));
        if (rc == VG_EXIT_OK)
            show_progress(im, i + 1, total);
    }
    if (rc && im->progress)
        fputc('\n', stderr);
    if (rc)
        vg_cli_fail(rc,
                    "%s: stored %zu of %zu completions before that; running the import "
                    "again is safe",
                    im->input_name, i - 1, total);
    else
        rc = print_import_totals(im, total);
    json_decref(manifests);
    return rc;
}

static int run_import(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 1)
        return vg_cli_usage(cmd, "give one CSV file, or '-' for standard input");
    const char *file = argv[first];
    int use_stdin = strcmp(file, "-") == 0;
    FILE *in = use_stdin ? stdin : fopen(file, "rb");
    if (!in)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot open '%s': %s", file, strerror(errno));
    struct import im = {.cli = cli, .input_name = use_stdin ? "stdin" : file};
    vg_buf_t text = VG_BUF_INIT;
    rc = read_input(in, im.input_name, &text);
    if (!use_stdin)
        fclose(in);
    if (rc == VG_EXIT_OK)
        rc = import_text(&im, &text);
    vg_buf_release(&text);
    return rc;
}

/* ---- the group --------------------------------------------------------- */

static const struct vg_cmd cmd_status = {
    .name = "status",
    .run = run_status,
    .usage = "[--person PERSON] [--course COURSE] [--overdue | --status S[,S...]] [options]",
    .summary = "who is due or overdue for which training course",
    .help = "Lists every required training course of every person: PERSON, COURSE, STATUS, "
            "the day it was last COMPLETED, the day it is DUE again and the person's MANAGER "
            "(-o wide adds the TITLE and the EVIDENCE). STATUS is ok, due-soon (due within "
            "30 days, or past due but within the course's grace_days), overdue (past the due "
            "date and the grace: the incidents service opens a warning incident for the "
            "manager) or never (never completed: due at once). The counts go to stderr. "
            "-o json prints {\"items\": [...], \"summary\": {...}} as the API answers it.",
    .opts = status_opts,
    .parent = "training",
};

static const struct vg_cmd cmd_import = {
    .name = "import",
    .run = run_import,
    .usage = "FILE.csv|- [options]",
    .summary = "store completions from a CSV export",
    .help = "Reads completions from FILE (or standard input for '-'): a header line naming "
            "the columns person, course, completed_on and optionally evidence, then one "
            "completion per line (completed_on as YYYY-MM-DD). Every line is checked first; "
            "if any is bad, each bad one is named by its line number and column on stderr, "
            "nothing is stored, and vigil exits 7. Otherwise each completion is stored as a "
            "Completion object named PERSON--COURSE--DATE (with a progress line at a "
            "terminal), and the totals are printed: new, changed (other evidence) and "
            "unchanged. Importing the same file again changes nothing. -o json prints "
            "{\"completions\", \"new\", \"changed\", \"unchanged\"}.",
    .parent = "training",
};

static const struct vg_cmd *const training_cmds[] = {&cmd_status, &cmd_import, NULL};

const struct vg_cmd vg_cmd_training = {
    .name = "training",
    .usage = "status|import [arguments]",
    .summary = "training courses: who is due or overdue, and importing completions",
    .help = "Tracks that everyone a Course names has completed it within its renewal period "
            "(docs/training.md). Courses and completions are objects (vigil apply, vigil get "
            "courses); these commands show the status and import completions in bulk.",
    .subcmds = training_cmds,
};

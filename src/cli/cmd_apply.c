/*
 * cmd_apply.c - `vigil apply -f FILE|DIR|-`: create or update the objects of
 * multi-document YAML manifests.
 *
 * Everything that can be checked without writing is checked for every
 * document before the first object is sent: YAML syntax, that each document
 * is a mapping with a known kind and a valid name, that no object is
 * declared twice, and the whole manifest (labels, description, spec) against
 * the schema vigild uses (vg_schema_validate, linked in from vgcore). Every
 * invalid document is reported, and a mistake in the last one changes
 * nothing.
 *
 * The server stays the judge: the local schema check runs only for kinds
 * whose schema, as GET /api/v1/kinds describes it, is exactly the local one,
 * so a CLI of another version never refuses what the server would accept.
 * For other kinds, and for the checks a schema description cannot show, the
 * server may still reject an object; apply then stops there (the objects
 * before it stay applied, in file order, which is the order their references
 * need: a Site before its Zones).
 */
#include "cli/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/names.h"
#include "core/yamljson.h"
#include "schema/schema.h"

#define MAX_MANIFEST_BYTES (16u << 20)
#define MAX_FILES          64 /* -f given this many times */

enum { OPT_DRY_RUN = 256 };

static const struct vg_opt apply_opts[] = {
    {'f', "filename", "FILE|DIR|-",
     "manifest file, directory (its *.yaml and *.yml files, sorted by name) or - for "
     "standard input; may be repeated"},
    {OPT_DRY_RUN, "dry-run", NULL,
     "check the manifests and say what would change, without changing anything (specs are "
     "checked only by this vigil's copy of the server's schema, not by the server)"},
    {0, NULL, NULL, NULL},
};

struct apply_args {
    const char *paths[MAX_FILES];
    size_t n_paths;
    int dry_run;
};

/* One object to apply and where it was declared. */
struct manifest {
    json_t *doc;
    char *source;
    size_t doc_no; /* 1-based, counting empty documents too */
};

struct manifests {
    struct manifest *items;
    size_t n;
    int n_errors;
};

static int on_apply_opt(void *ctx, int id, const char *arg)
{
    struct apply_args *a = ctx;
    if (id == OPT_DRY_RUN) {
        a->dry_run = 1;
        return VG_EXIT_OK;
    }
    if (a->n_paths == MAX_FILES)
        return vg_cli_usage(&vg_cmd_apply, "more than %d -f options", MAX_FILES);
    a->paths[a->n_paths++] = arg;
    return VG_EXIT_OK;
}

static void manifests_release(struct manifests *m)
{
    for (size_t i = 0; i < m->n; i++) {
        json_decref(m->items[i].doc);
        free(m->items[i].source);
    }
    free(m->items);
}

/* Prints "vigil: SOURCE: document N: ..." and counts an error. */
static void doc_error(struct manifests *m, const struct manifest *mf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void doc_error(struct manifests *m, const struct manifest *mf, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vigil: %s: document %zu: ", mf->source, mf->doc_no);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    m->n_errors++;
}

/* ---- reading ----------------------------------------------------------- */

static int read_fd(int fd, const char *source, vg_buf_t *out)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vg_cli_fail(VG_EXIT_ERROR, "cannot read '%s': %s", source, strerror(errno));
        if (n == 0)
            return VG_EXIT_OK;
        if (out->len + (size_t)n > MAX_MANIFEST_BYTES)
            return vg_cli_fail(VG_EXIT_INVALID, "'%s' is larger than %u bytes", source,
                               MAX_MANIFEST_BYTES);
        vg_buf_add(out, chunk, (size_t)n);
    }
}

/* Parses one file's documents into m; YAML errors are counted, not fatal. */
static int load_file(struct manifests *m, const char *path)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *source = is_stdin ? "<stdin>" : path;
    vg_buf_t text = VG_BUF_INIT;
    json_t *docs = NULL;
    char err[512];
    int rc = VG_EXIT_OK;

    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot open '%s': %s", path, strerror(errno));
    rc = read_fd(fd, source, &text);
    if (!is_stdin)
        close(fd);
    if (rc)
        goto out;
    if (vg_yamljson_parse((const char *)text.data, text.len, source, &docs, err, sizeof err) <
        0) {
        fprintf(stderr, "vigil: %s\n", err);
        m->n_errors++;
        goto out;
    }
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        if (json_is_null(doc))
            continue; /* an empty document, like a trailing "---" */
        m->items = vg_realloc(m->items, (m->n + 1) * sizeof *m->items);
        m->items[m->n++] = (struct manifest){json_incref(doc), vg_strdup(source), i + 1};
    }
out:
    json_decref(docs);
    vg_buf_release(&text);
    return rc;
}

static int has_yaml_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.yaml / *.yml file of dir (not hidden, not recursive), sorted. */
static int load_dir(struct manifests *m, const char *dir)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    int rc = VG_EXIT_OK;

    if (!d)
        return vg_cli_fail(VG_EXIT_ERROR, "cannot open directory '%s': %s", dir,
                           strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !has_yaml_suffix(e->d_name))
            continue;
        names = vg_realloc(names, (n + 1) * sizeof *names);
        vg_buf_t path = VG_BUF_INIT;
        vg_buf_printf(&path, "%s/%s", dir, e->d_name);
        names[n++] = (char *)vg_buf_detach(&path, NULL);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare_names);
    if (n == 0)
        rc = vg_cli_fail(VG_EXIT_INVALID, "no *.yaml or *.yml files in '%s'", dir);
    for (size_t i = 0; i < n; i++) {
        if (rc == VG_EXIT_OK)
            rc = load_file(m, names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int load_all(struct manifests *m, const struct apply_args *a)
{
    int n_stdin = 0;
    for (size_t i = 0; i < a->n_paths; i++) {
        const char *path = a->paths[i];
        struct stat st;
        int rc;
        if (strcmp(path, "-") == 0 && ++n_stdin > 1)
            return vg_cli_usage(&vg_cmd_apply, "'-f -' may be given only once");
        if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rc = load_dir(m, path);
        else
            rc = load_file(m, path);
        if (rc)
            return rc;
    }
    return VG_EXIT_OK;
}

/* ---- checking ---------------------------------------------------------- */

static int kind_is_known(const json_t *kinds, const char *kind, const char **near)
{
    size_t i;
    json_t *item;
    *near = NULL;
    json_array_foreach(kinds, i, item)
    {
        const char *known = vg_cli_str(item, "kind", "");
        if (strcmp(known, kind) == 0)
            return 1;
        if (strcasecmp(known, kind) == 0)
            *near = known;
    }
    return 0;
}

/* Checks one document's kind and name; kinds (may be NULL: not checked) are
 * the server's. Returns the number of errors found. */
static int check_one(struct manifests *m, const struct manifest *mf, const json_t *kinds)
{
    const json_t *doc = mf->doc;
    int n_errors_before = m->n_errors;
    char err[256];
    const char *near;

    if (!json_is_object(doc)) {
        doc_error(m, mf, "a manifest must be a mapping with kind and name");
        return 1;
    }
    const char *kind = vg_cli_str(doc, "kind", NULL);
    const char *name = vg_cli_str(doc, "name", NULL);
    if (!kind || !*kind)
        doc_error(m, mf, "%s 'kind' (field: kind)",
                  json_object_get(doc, "kind") ? "a string is needed for" : "missing");
    else if (kinds && !kind_is_known(kinds, kind, &near)) {
        vg_buf_t known = VG_BUF_INIT;
        size_t i;
        json_t *item;
        json_array_foreach(kinds, i, item)
            vg_buf_printf(&known, "%s%s", i ? ", " : "", vg_cli_str(item, "kind", "?"));
        doc_error(m, mf, "unknown kind '%s'%s%s%s (known: %s) (field: kind)", kind,
                  near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "",
                  known.len ? (const char *)known.data : "none");
        vg_buf_release(&known);
    }
    if (!name)
        doc_error(m, mf, "%s 'name' (field: name)",
                  json_object_get(doc, "name") ? "a string is needed for" : "missing");
    else if (vg_name_check(name, err, sizeof err) < 0)
        doc_error(m, mf, "%s (field: name)", err);
    return m->n_errors - n_errors_before;
}

/* The local schema of kind if the server describes that kind exactly as we
 * do (same fields, types, bounds and help, so the same vigil version), else
 * NULL: another version may accept fields or values we do not know. */
static const struct vg_kind *schema_shared_with_server(const json_t *kinds, const char *kind)
{
    const struct vg_kind *local = vg_schema_kind(kind);
    size_t i;
    json_t *item;

    if (!local)
        return NULL;
    json_array_foreach(kinds, i, item)
    {
        if (strcmp(vg_cli_str(item, "kind", ""), kind) != 0)
            continue;
        json_t *ours = vg_schema_describe(local);
        int same = json_equal(ours, item);
        json_decref(ours);
        return same ? local : NULL;
    }
    return NULL;
}

/* Runs vigild's own validator on a document whose kind and name are fine,
 * when the server's schema of its kind is ours. */
static void check_schema(struct manifests *m, const struct manifest *mf, const json_t *kinds)
{
    const char *kind = vg_cli_str(mf->doc, "kind", "");
    char err[512], field[256], ref[160];

    if (!schema_shared_with_server(kinds, kind))
        return; /* left to the server */
    if (vg_schema_validate(mf->doc, NULL, NULL, NULL, err, sizeof err, field, sizeof field) ==
        0)
        return;
    vg_cli_object_ref(mf->doc, NULL, NULL, ref, sizeof ref);
    if (*field)
        doc_error(m, mf, "%s: %s (field: %s)", ref, err, field);
    else
        doc_error(m, mf, "%s: %s", ref, err);
}

/* Every object at most once: two documents for one object are a mistake.
 * A set keyed "kind/name" keeps this linear for manifests of 100,000 objects. */
static void check_duplicates(struct manifests *m)
{
    json_t *seen = json_object();
    char key[256];
    for (size_t i = 0; i < m->n; i++) {
        const char *kind = vg_cli_str(m->items[i].doc, "kind", NULL);
        const char *name = vg_cli_str(m->items[i].doc, "name", NULL);
        if (!kind || !name)
            continue;
        snprintf(key, sizeof key, "%.100s/%.100s", kind, name);
        json_t *first = json_object_get(seen, key);
        if (!first) {
            json_object_set_new(seen, key, json_integer((json_int_t)i));
            continue;
        }
        const struct manifest *prev = &m->items[json_integer_value(first)];
        doc_error(m, &m->items[i], "%s '%s' is already declared in %s, document %zu", kind,
                  name, prev->source, prev->doc_no);
    }
    json_decref(seen);
}

static int check_all(struct vg_cli *cli, struct manifests *m)
{
    const json_t *kinds = NULL;
    int rc;

    if (m->n == 0 && m->n_errors == 0)
        return vg_cli_fail(VG_EXIT_INVALID, "no objects in the given manifests");
    /* with YAML errors already, the rest is still checked, but without
     * asking the server: the exit code must stay that of invalid input */
    if (m->n_errors == 0 && (rc = vg_cli_kinds(cli, &kinds)) != 0)
        return rc;
    for (size_t i = 0; i < m->n; i++)
        if (check_one(m, &m->items[i], kinds) == 0 && kinds)
            check_schema(m, &m->items[i], kinds);
    check_duplicates(m);
    if (m->n_errors)
        return vg_cli_fail(VG_EXIT_INVALID, "nothing applied: %d error%s in the manifests",
                           m->n_errors, m->n_errors == 1 ? "" : "s");
    return VG_EXIT_OK;
}

/* ---- applying ---------------------------------------------------------- */

static void object_path(vg_buf_t *path, const char *kind, const char *name)
{
    vg_buf_adds(path, "/api/v1/objects/");
    vg_client_escape(path, kind);
    vg_buf_adds(path, "/");
    vg_client_escape(path, name);
}

/* Absent, null, {} and "" all mean "not set" when comparing for a dry run. */
static int is_unset(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0);
}

static int manifest_unchanged(const json_t *stored, const json_t *doc)
{
    static const char *const fields[] = {"labels", "description", "spec"};
    for (size_t i = 0; i < VG_ARRAY_LEN(fields); i++) {
        const json_t *a = json_object_get(stored, fields[i]);
        const json_t *b = json_object_get(doc, fields[i]);
        if (!(is_unset(a) && is_unset(b)) && !(a && b && json_equal(a, b)))
            return 0;
    }
    return 1;
}

/* What a PUT would do, from a GET of the object. */
static int dry_run_one(struct vg_cli *cli, const char *what, const char *path,
                       const json_t *doc, const char **result, struct vg_resp *resp)
{
    int rc = vg_cli_send(cli, "GET", path, NULL, NULL, resp);
    if (rc)
        return rc;
    if (resp->status == 404) {
        *result = "created";
        return VG_EXIT_OK;
    }
    if (resp->status != 200)
        return vg_cli_fail_resp(cli, what, resp);
    /* as the server merges: a secret left out or given as {"secret": true}
     * keeps the stored one, which GET shows as {"secret": true} too */
    json_t *merged = NULL;
    if (vg_schema_validate_update(doc, NULL, NULL, resp->json, &merged, NULL, 0, NULL, 0))
        merged = json_incref((json_t *)doc);
    *result = manifest_unchanged(resp->json, merged) ? "unchanged" : "configured";
    json_decref(merged);
    return VG_EXIT_OK;
}

/* The manifest without the fields the server owns, so that the output of
 * `vigil get -o yaml` can be applied back as it is. */
static json_t *manifest_only(const json_t *doc)
{
    static const char *const server_owned[] = {"status", "revision", "created", "updated"};
    json_t *manifest = json_copy((json_t *)doc);
    for (size_t i = 0; i < VG_ARRAY_LEN(server_owned); i++)
        json_object_del(manifest, server_owned[i]);
    return manifest;
}

static int put_one(struct vg_cli *cli, const char *what, const char *path, const json_t *doc,
                   const char **result, struct vg_resp *resp)
{
    json_t *manifest = manifest_only(doc);
    int rc = vg_cli_send(cli, "PUT", path, manifest, NULL, resp);
    json_decref(manifest);
    if (rc)
        return rc;
    if (resp->status == 201) {
        *result = "created";
        return VG_EXIT_OK;
    }
    if (resp->status == 200) {
        *result = strcmp(resp->result, "unchanged") == 0 ? "unchanged" : "configured";
        return VG_EXIT_OK;
    }
    rc = vg_cli_fail_resp(cli, what, resp);
    return resp->status == 404 ? VG_EXIT_INVALID : rc; /* a PUT's 404 is an unknown kind */
}

static int apply_one(struct vg_cli *cli, const struct manifest *mf, int dry_run,
                     json_t *results)
{
    const char *kind = vg_cli_str(mf->doc, "kind", "");
    const char *name = vg_cli_str(mf->doc, "name", "");
    const char *result = NULL;
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_t path = VG_BUF_INIT, what = VG_BUF_INIT;
    char ref[160];

    vg_cli_object_ref(NULL, kind, name, ref, sizeof ref);
    vg_buf_printf(&what, "%s (%s, document %zu)", ref, mf->source, mf->doc_no);
    object_path(&path, kind, name);
    int rc =
        dry_run
            ? dry_run_one(cli, (char *)what.data, (char *)path.data, mf->doc, &result, &resp)
            : put_one(cli, (char *)what.data, (char *)path.data, mf->doc, &result, &resp);
    if (rc == VG_EXIT_OK) {
        json_t *revision = dry_run ? NULL : json_object_get(resp.json, "revision");
        json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:O*}", "kind", kind, "name",
                                                 name, "result", result, "revision", revision));
        if (cli->output == VG_OUT_TABLE || cli->output == VG_OUT_WIDE) {
            printf("%s %s%s\n", ref, result, dry_run ? " (dry run)" : "");
            fflush(stdout);
        }
    }
    vg_resp_release(&resp);
    vg_buf_release(&path);
    vg_buf_release(&what);
    return rc;
}

static int run_apply(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct apply_args args = {0};
    struct manifests m = {0};
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_apply_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "unexpected argument '%s' (manifests are given with -f)",
                            argv[first]);
    if (args.n_paths == 0)
        return vg_cli_usage(cmd, "give the manifests with -f FILE, -f DIR or -f -");

    json_t *results = json_array();
    if ((rc = load_all(&m, &args)) == 0 && (rc = check_all(cli, &m)) == 0)
        for (size_t i = 0; i < m.n && rc == 0; i++)
            rc = apply_one(cli, &m.items[i], args.dry_run, results);
    if (json_array_size(results) &&
        (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML)) {
        json_t *out = json_pack("{s:O, s:b}", "items", results, "dry_run", args.dry_run);
        int prc = vg_cli_print_value(cli, out);
        json_decref(out);
        if (rc == 0)
            rc = prc;
    }
    json_decref(results);
    manifests_release(&m);
    return rc;
}

const struct vg_cmd vg_cmd_apply = {
    .name = "apply",
    .run = run_apply,
    .usage = "-f FILE|DIR|- [-f ...] [--dry-run] [options]",
    .summary = "create or update objects from YAML manifests",
    .help = "Creates or updates the objects declared in YAML manifests: one object per "
            "document, documents separated by '---'. Each document is a mapping with kind, "
            "name and optionally labels, description and spec. Every document is checked "
            "(YAML syntax, kind, name, no object declared twice, and labels, description and "
            "spec against the server's schema when it is the same as this vigil's) before "
            "the first object is sent; every mistake is reported, naming the field, and "
            "nothing is applied. The server still checks each object; should it reject one, "
            "apply stops there and the objects before it stay applied. For each object "
            "prints 'KIND/NAME created', "
            "'configured' or 'unchanged'; with -o json or yaml, a list of results.",
    .opts = apply_opts,
};

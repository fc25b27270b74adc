/*
 * cmd_inspect.c - `vigild inspect DATA`: decrypts the log segments, the
 * snapshots and the records a forced failover set aside (DATA/diverged-*)
 * and prints them as JSON lines, so that an operator can read and recover
 * them with jq or a script.
 *
 * One line per log record: {"source","offset","index","epoch","type",
 * "key_id","time"?,"payload"} (payload_text or payload_hex instead of payload
 * when the plaintext is not JSON); one line per object of a snapshot:
 * {"source","snapshot","epoch","kind","name","object"}, per token
 * {...,"token"}, and per other section {...,"section","value"}.
 *
 * Workload: a whole data directory, streamed one record at a time (records
 * are read by vg_log_check, the same scan recovery runs). Must never write
 * or lock anything in DATA, print ciphertext as if it were content, or stop
 * at the first bad source: what can be read is printed, each problem goes
 * to standard error and the exit status says one was met.
 */
#include "vigild/vigild.h"

#include <jansson.h>
#include <time.h>

#include "core/jsonout.h"
#include "vigild/sources.h"
#include "store/log.h"
#include "store/snapshot.h"
#include "vigild/options.h"

struct inspect {
    const vg_keyring_t *keys;
    uint64_t from, to; /* indexes shown, inclusive */
    vg_buf_t line;
    int n_problems;
};

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, struct inspect *in, const char **data,
                      const char **key_file)
{
    static const char *const formats[] = {"json", NULL};
    const char *output = "json";
    const struct vg_opt_def opts[] = {
        VG_OPT_STRING(0, "key-file", "FILE", key_file, 0, "DATA/keyring", "keyring to use"),
        VG_OPT_NUMBER("from", "N", &in->from, 0, UINT64_MAX, NULL,
                      "only records and snapshots with index >= N"),
        VG_OPT_NUMBER("to", "N", &in->to, 0, UINT64_MAX, NULL,
                      "only records and snapshots with index <= N"),
        VG_OPT_FORMAT('o', "output", &output, formats, "json", "JSON lines, the only format"),
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "inspect",
        .usage = "vigild inspect DATA [--key-file FILE] [--from N] [--to N] [-o json]",
        .about =
            "Decrypts what a data directory holds and prints it as JSON lines (-o json is\n"
            "the only format), for reading or recovering records by hand:\n"
            "  DATA/log                 snapshots (a line per object, per token and per\n"
            "                           other section), then every log record\n"
            "  DATA/diverged-*/         what a forced failover set aside: a log moved\n"
            "                           aside (log/) or records cut off a log (tail.vgl)\n"
            "DATA may also be a log directory or one diverged-* directory by itself.\n\n"
            "A record line: {\"source\",\"offset\",\"index\",\"epoch\",\"type\",\"key_id\",\n"
            "\"time\",\"payload\"}; a snapshot line: "
            "{\"source\",\"snapshot\",\"epoch\",\"kind\",\n"
            "\"name\",\"object\"}. Example: the objects a failover set aside:\n"
            "  vigild inspect /var/lib/vigil | jq -c 'select(.source|test(\"diverged\"))'\n",
        .notes =
            "Changes nothing and takes no lock. Problems (damage, a torn tail) go to\n"
            "standard error; what can be read is still printed. Exit status 0, or 1 when a\n"
            "file could not be read whole, 2 for usage errors. 'vigild verify' checks.\n",
        .opts = opts,
        .n_operands = 1,
        .operand = "DATA",
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc == VG_OPT_PROCEED)
        *data = argv[first];
    return rc;
}

/* Prints o as one line and drops the reference. */
static void emit(struct inspect *in, json_t *o)
{
    vg_buf_reset(&in->line);
    vg_json_dump(o, &in->line);
    vg_buf_add(&in->line, "\n", 1);
    fwrite(in->line.data, 1, in->line.len, stdout);
    json_decref(o);
}

static void problem(struct inspect *in, const char *msg)
{
    fprintf(stderr, "vigild inspect: %s\n", msg);
    in->n_problems++;
}

static json_t *time_string(json_int_t ms)
{
    char text[64];
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    if (ms < 0 || !gmtime_r(&secs, &tm) ||
        !strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm))
        return json_null();
    size_t n = strlen(text);
    snprintf(text + n, sizeof text - n, ".%03dZ", (int)(ms % 1000));
    return json_string(text);
}

/* The plaintext as JSON if it is; else as text if it is UTF-8; else hex. */
static void add_payload(json_t *o, const uint8_t *p, size_t len)
{
    json_t *doc = json_loadb((const char *)p, len, 0, NULL);
    if (doc) {
        json_t *time = json_is_object(doc) ? json_object_get(doc, "time") : NULL;
        if (json_is_integer(time))
            json_object_set_new(o, "time", time_string(json_integer_value(time)));
        json_object_set_new(o, "payload", doc);
        return;
    }
    json_t *text = json_stringn((const char *)p, len);
    if (text) {
        json_object_set_new(o, "payload_text", text);
        return;
    }
    char *hex = vg_malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    hex[2 * len] = 0;
    json_object_set_new(o, "payload_hex", json_string(hex));
    free(hex);
}

static int print_record(void *ctx, const char *path, uint64_t offset, const vg_record_t *rec)
{
    struct inspect *in = ctx;
    if (rec->index < in->from || rec->index > in->to)
        return 0;
    const char *type = vg_record_type_name(rec->type);
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:I}", "source", path, "offset",
                          (json_int_t)offset, "index", (json_int_t)rec->index, "epoch",
                          (json_int_t)rec->epoch, "type", type ? type : "unknown", "key_id",
                          (json_int_t)rec->key_id);
    if (!o) /* a path that is not UTF-8 */
        o = json_pack("{s:I, s:I}", "index", (json_int_t)rec->index, "epoch",
                      (json_int_t)rec->epoch);
    if (!type)
        json_object_set_new(o, "type_id", json_integer(rec->type));
    add_payload(o, rec->payload, rec->payload_len);
    emit(in, o);
    return 0;
}

/* A line for a snapshot: where it is from, plus key: value. */
static json_t *snap_line(const char *path, uint64_t index, uint64_t epoch)
{
    json_t *o = json_object();
    json_t *source = json_string(path);
    json_object_set_new(o, "source", source ? source : json_string("?"));
    json_object_set_new(o, "snapshot", json_integer((json_int_t)index));
    json_object_set_new(o, "epoch", json_integer((json_int_t)epoch));
    return o;
}

static void print_state(struct inspect *in, const char *path, uint64_t index, uint64_t epoch,
                        json_t *doc)
{
    static const char *const sections[] = {"events", "cluster", "alerts", "alert_log"};
    const char *kind, *name;
    json_t *by_name, *obj;
    json_object_foreach(json_object_get(doc, "objects"), kind, by_name)
    {
        json_object_foreach(by_name, name, obj)
        {
            json_t *o = snap_line(path, index, epoch);
            json_object_set_new(o, "kind", json_string(kind));
            json_object_set_new(o, "name", json_string(name));
            json_object_set(o, "object", obj);
            emit(in, o);
        }
    }
    json_object_foreach(json_object_get(doc, "tokens"), name, obj)
    {
        json_t *o = snap_line(path, index, epoch);
        json_object_set(o, "token", obj);
        emit(in, o);
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(sections); i++) {
        json_t *v = json_object_get(doc, sections[i]);
        if (!v || (json_is_array(v) && json_array_size(v) == 0) ||
            (json_is_object(v) && json_object_size(v) == 0))
            continue;
        json_t *o = snap_line(path, index, epoch);
        json_object_set_new(o, "section", json_string(sections[i]));
        json_object_set(o, "value", v);
        emit(in, o);
    }
}

static void print_snapshot(struct inspect *in, const char *dir, uint64_t index)
{
    char path[4096 + 64], err[4096 + 512];
    uint64_t epoch;
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/snap-%020llu.vgs", dir, (unsigned long long)index);
    if (vg_snapshot_load(dir, in->keys, index, &epoch, &data, &len, err, sizeof err)) {
        problem(in, err);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, len, 0, &jerr);
    free(data);
    if (!json_is_object(doc)) {
        snprintf(err, sizeof err, "snapshot '%s' holds no JSON state: %s", path, jerr.text);
        problem(in, err);
    } else {
        print_state(in, path, index, epoch, doc);
    }
    json_decref(doc);
}

static void note_tail(struct inspect *in, const struct vg_log_check *chk)
{
    if (chk->tail == VG_TAIL_NONE)
        return;
    fprintf(stderr,
            "vigild inspect: note: '%s' ends in %s at byte %llu (%llu bytes), not a whole "
            "record: not shown\n",
            chk->tail_path, chk->tail == VG_TAIL_ZERO ? "zero fill" : "a torn tail",
            (unsigned long long)chk->tail_offset, (unsigned long long)chk->tail_bytes);
}

static void inspect_source(struct inspect *in, const struct vg_source *src)
{
    struct vg_log_check chk;
    char err[4096 + 512];
    int rc;
    if (src->is_frames) {
        rc = vg_log_check_frames(src->path, in->keys, print_record, in, &chk, err, sizeof err);
    } else {
        uint64_t *indexes = NULL, newest = 0;
        size_t n = 0;
        if (vg_snapshot_list(src->path, &indexes, &n, err, sizeof err))
            problem(in, err);
        for (size_t i = 0; i < n; i++) {
            newest = indexes[i];
            if (indexes[i] >= in->from && indexes[i] <= in->to)
                print_snapshot(in, src->path, indexes[i]);
        }
        free(indexes);
        rc = vg_log_check(src->path, in->keys, newest, print_record, in, &chk, err, sizeof err);
    }
    if (rc)
        problem(in, err);
    else
        note_tail(in, &chk);
}

int vg_cmd_inspect(int argc, char **argv)
{
    struct inspect in = {.to = UINT64_MAX, .line = VG_BUF_INIT};
    const char *data = NULL, *key_file = NULL;
    int rc = parse_args(argc, argv, &in, &data, &key_file);
    if (rc != VG_OPT_PROCEED)
        return rc;
    char err[4096 + 512] = "";
    vg_keyring_t *keys = NULL;
    struct vg_source *sources = NULL;
    size_t n_sources = 0;
    int status = 1;
    /* it prints decrypted state: no core file of it either */
    if (vg_proc_harden(0, err, sizeof err) ||
        vg_sources_keyring(data, key_file, &keys, err, sizeof err) ||
        vg_sources_list(data, &sources, &n_sources, err, sizeof err)) {
        fprintf(stderr, "vigild inspect: %s\n", err);
        goto out;
    }
    in.keys = keys;
    for (size_t i = 0; i < n_sources; i++)
        inspect_source(&in, &sources[i]);
    if (fflush(stdout) != 0 || ferror(stdout))
        fprintf(stderr, "vigild inspect: cannot write the output: %s\n", strerror(errno));
    else
        status = in.n_problems ? 1 : 0;
out:
    free(sources);
    vg_keyring_free(keys);
    vg_buf_release(&in.line);
    return status;
}

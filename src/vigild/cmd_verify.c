/*
 * cmd_verify.c - `vigild verify DATA`: authenticates every frame of every
 * log segment and every snapshot of a data directory (and what a forced
 * failover set aside), checks index continuity, and names the first
 * problem by file and byte offset.
 *
 * It reads with the very rules recovery applies (vg_log_check shares
 * log_recover.c's scan), so "verify says corrupt" and "vigild run refuses to
 * start" are the same judgement, and a torn tail is told apart from damage.
 *
 * Must never: change anything in DATA (every file is opened read-only), or
 * take a lock a running member needs: it takes none. On a running member
 * the newest frames may be caught half-written and show as a torn tail.
 */
#include "vigild/vigild.h"

#include <jansson.h>

#include "vigild/sources.h"
#include "store/log.h"
#include "store/snapshot.h"
#include "vigild/options.h"

/* exit statuses beyond 0, 1 (damage or unreadable) and 2 (usage) */
#define VERIFY_TORN_TAIL 3

struct verify {
    const vg_keyring_t *keys;
    uint64_t n_segments, n_records, n_snapshots, n_frame_files;
    int n_tails;
};

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, const char **data, const char **key_file)
{
    const struct vg_opt_def opts[] = {
        VG_OPT_STRING(0, "key-file", "FILE", key_file, 0, "DATA/keyring", "keyring to use"),
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "verify",
        .usage = "vigild verify DATA [--key-file FILE]",
        .about = "Checks, without changing anything, every sealed file of a data directory:\n"
                 "each frame of each log segment (authentication, length, index continuity\n"
                 "within and across segments, epochs never going back), each snapshot\n"
                 "(authentication, header, the state inside), and the records a forced\n"
                 "failover set aside in DATA/diverged-*/. DATA may also be a log directory or\n"
                 "one diverged-* directory by itself.\n",
        .notes =
            "Takes no lock: safe next to a running member, whose newest frames may then\n"
            "show as a torn tail while they are written. Stop the member for a final word.\n\n"
            "Exit status: 0 all authentic (one summary line on standard output);\n"
            "1 damage, naming the first bad file and byte offset (standard error);\n"
            "3 no damage, but a torn or zero-filled tail that 'vigild run' would cut\n"
            "(a write cut short by a crash); 2 usage error.\n",
        .opts = opts,
        .n_operands = 1,
        .operand = "DATA",
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc == VG_OPT_PROCEED)
        *data = argv[first];
    return rc;
}

/* The plaintext of an authentic snapshot must be the state it claims. */
static int check_state(const char *path, uint64_t index, const uint8_t *text, size_t len,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)text, len, 0, &jerr);
    json_int_t version = 0, applied = 0;
    json_t *objects = NULL;
    int rc = 0;
    if (!doc)
        rc = vg_err(err, errlen, -VG_ECORRUPT,
                    "snapshot '%s' is authentic but its state is not JSON (byte %d of the "
                    "opened state): %s",
                    path, jerr.position, jerr.text);
    else if (json_unpack(doc, "{s:I, s:I, s:o}", "version", &version, "applied_index", &applied,
                         "objects", &objects) ||
             version != 1 || (uint64_t)applied != index)
        rc = vg_err(err, errlen, -VG_ECORRUPT,
                    "snapshot '%s' is authentic but its state is not that of index %llu "
                    "(version %lld, applied_index %lld)",
                    path, (unsigned long long)index, (long long)version, (long long)applied);
    json_decref(doc);
    return rc;
}

/* Checks every snapshot of dir; *newest is the index of the newest. */
static int verify_snapshots(struct verify *v, const char *dir, uint64_t *newest, char *err,
                            size_t errlen)
{
    uint64_t *indexes = NULL;
    size_t n = 0;
    *newest = 0;
    int rc = vg_snapshot_list(dir, &indexes, &n, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t epoch;
        uint8_t *data = NULL;
        size_t len = 0;
        char path[4096 + 64];
        snprintf(path, sizeof path, "%s/snap-%020llu.vgs", dir, (unsigned long long)indexes[i]);
        rc = vg_snapshot_load(dir, v->keys, indexes[i], &epoch, &data, &len, err, errlen);
        if (rc == 0)
            rc = check_state(path, indexes[i], data, len, err, errlen);
        free(data);
        v->n_snapshots += rc == 0;
        *newest = indexes[i];
    }
    free(indexes);
    return rc;
}

static void report_tail(struct verify *v, const struct vg_log_check *chk)
{
    static const char *const what[] = {
        [VG_TAIL_TORN] = "ends in a torn tail (a frame cut short)",
        [VG_TAIL_ZERO] = "ends in zero fill",
        [VG_TAIL_TORN_HEADER] = "is a newest segment with a torn header",
    };
    if (chk->tail == VG_TAIL_NONE)
        return;
    v->n_tails++;
    fprintf(stderr,
            "vigild verify: '%s' %s at byte %llu (%llu bytes): a write cut short by a crash; "
            "'vigild run' cuts it at start\n",
            chk->tail_path, what[chk->tail], (unsigned long long)chk->tail_offset,
            (unsigned long long)chk->tail_bytes);
}

static int verify_source(struct verify *v, const struct vg_source *src, char *err,
                         size_t errlen)
{
    struct vg_log_check chk;
    uint64_t newest = 0;
    int rc;
    if (src->is_frames) {
        rc = vg_log_check_frames(src->path, v->keys, NULL, NULL, &chk, err, errlen);
        v->n_frame_files++;
    } else {
        if (vg_sources_in_use(src->path))
            fprintf(stderr,
                    "vigild verify: note: a running vigild holds '%s'; reading it anyway, "
                    "without a lock\n",
                    src->path);
        rc = verify_snapshots(v, src->path, &newest, err, errlen);
        if (rc == 0)
            rc = vg_log_check(src->path, v->keys, newest, NULL, NULL, &chk, err, errlen);
        if (rc == 0)
            v->n_segments += chk.n_segments;
    }
    if (rc == 0) {
        v->n_records += chk.n_records;
        report_tail(v, &chk);
    }
    return rc;
}

int vg_cmd_verify(int argc, char **argv)
{
    const char *data = NULL, *key_file = NULL;
    int rc = parse_args(argc, argv, &data, &key_file);
    if (rc != VG_OPT_PROCEED)
        return rc;
    char err[4096 + 512] = "";
    vg_keyring_t *keys = NULL;
    struct vg_source *sources = NULL;
    size_t n_sources = 0;
    struct verify v = {0};
    int status = 1;
    /* it decrypts everything: no core file either */
    if (vg_proc_harden(0, err, sizeof err) ||
        vg_sources_keyring(data, key_file, &keys, err, sizeof err) ||
        vg_sources_list(data, &sources, &n_sources, err, sizeof err))
        goto out;
    v.keys = keys;
    for (size_t i = 0; i < n_sources; i++)
        if (verify_source(&v, &sources[i], err, sizeof err))
            goto out;
    printf("verified '%s': %llu segments, %llu records, %llu snapshots, %llu set-aside frame "
           "files: %s\n",
           data, (unsigned long long)v.n_segments, (unsigned long long)v.n_records,
           (unsigned long long)v.n_snapshots, (unsigned long long)v.n_frame_files,
           v.n_tails ? "authentic and in sequence up to a torn tail"
                     : "all authentic and in sequence");
    status = v.n_tails ? VERIFY_TORN_TAIL : 0;
out:
    if (status == 1)
        fprintf(stderr, "vigild verify: %s\n", err);
    free(sources);
    vg_keyring_free(keys);
    return status;
}

/*
 * test_roundtrip.c - the property behind the schema's limits: whatever
 * vg_schema_validate accepts reads back unchanged after every way a member
 * rebuilds its state. Thousands of random manifests (a seeded PRNG, so every
 * run is the same) are sent through the API's own parser; some strings hold
 * escapes, NULs, control characters, lone surrogates and invalid UTF-8, some
 * values nest deep, some keys and strings sit at or past their limits, some
 * numbers are too big for JSON's readers. Some parsed trees are then spiked
 * in code with what the parser never produces (NUL in keys, invalid UTF-8).
 *
 * Each accepted manifest becomes a put record exactly as vigild makes it:
 * its text is logged, its tree applied. Then the state is rebuilt three
 * ways: from a sealed snapshot, by replaying the log, and by reading the
 * log's frames back as a mirror does. Every object must be equal in all
 * four states (json_equal, with keys compared whole) and carry exactly the
 * normalized manifest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/jsonout.h"
#include "schema/schema.h"
#include "state/state.h"
#include "store/log.h"
#include "store/snapshot.h"

#define ROUNDS          4
#define CASES_PER_ROUND 1500
#define SEED            0x76696769ull /* "vigi" */

/* ---- a deterministic PRNG (xorshift64*) ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static int chance(unsigned percent)
{
    return pick(100) < percent;
}

/* ---- what a case exercised, to show the test is not vacuous ---- */

struct features {
    int depth;        /* deepest free-form level emitted */
    size_t key_chars; /* longest key emitted */
    size_t str_chars; /* longest string emitted */
    int escapes;      /* \uXXXX escapes, pairs included */
    int big_numbers;  /* numbers at the edge of double or int64 */
};

static struct features feat;

/* ---- JSON text generation ---- */

static const char *const benign_pieces[] = {
    "a",
    "Z",
    "7",
    " ",
    "-",
    ".",
    "\\\"",
    "\\\\",
    "\\/",
    "\\u00e9",
    "\\u20ac",
    "\\ud83d\\ude00",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\\u0041",
};

static const char *const hostile_pieces[] = {
    "\\u0000",
    "\\u0001",
    "\\u001f",
    "\\u007f",
    "\\u0085",
    "\\n",
    "\\t",
    "\\r",
    "\\b",
    "\\ud800",
    "\\udc00",
    "\\ude00\\ud83d",
    "\\ud800\\u0041",
    "\xff",
    "\xc0\x80",
    "\xed\xa0\x80",
    "\xe2\x82",
    "\x01",
    "\t",
    "\\x41",
    "\\u12",
    "\xc2\x85",
};

/* The inside of a string literal of about n characters. */
static void gen_chars(vg_buf_t *b, size_t n, int hostile)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = hostile && chance(15)
                            ? hostile_pieces[pick(VG_ARRAY_LEN(hostile_pieces))]
                            : benign_pieces[pick(VG_ARRAY_LEN(benign_pieces))];
        if (strstr(p, "\\u"))
            feat.escapes++;
        vg_buf_adds(b, p);
    }
}

static size_t gen_length(void)
{
    unsigned r = pick(100);
    if (r < 70)
        return pick(13);
    if (r < 90)
        return pick(81);
    return VG_SCHEMA_STRING_MAX - 8 + pick(16); /* either side of the limit */
}

static void gen_string(vg_buf_t *b, size_t n)
{
    if (n > feat.str_chars)
        feat.str_chars = n;
    vg_buf_add(b, "\"", 1);
    gen_chars(b, n, chance(12));
    vg_buf_add(b, "\"", 1);
}

static void gen_key(vg_buf_t *b)
{
    unsigned r = pick(100);
    size_t n = r < 70   ? 1 + pick(8)
               : r < 80 ? pick(3)
                        : VG_SCHEMA_FREE_KEY_MAX - 6 + pick(12); /* around the limit */
    if (n > feat.key_chars)
        feat.key_chars = n;
    vg_buf_add(b, "\"", 1);
    gen_chars(b, n, chance(12));
    vg_buf_add(b, "\"", 1);
}

static void gen_number(vg_buf_t *b)
{
    static const char *const edges[] = {
        "0",
        "-0",
        "1",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1.5",
        "-0.0",
        "0.1",
        "1e308",
        "1.7976931348623157e308",
        "1e309",
        "1e400",
        "-1e400",
        "1e-400",
        "4.9e-324",
        "2.2250738585072014e-308",
        "1E5",
        "1e+2",
        "0.30000000000000004",
        "3.14159265358979323846264338327950288",
        "1.0",
        "01",
        "+1",
        ".5",
        "NaN",
        "1.",
    };
    unsigned r = pick(100);
    if (r < 40) {
        const char *e = edges[pick(VG_ARRAY_LEN(edges))];
        feat.big_numbers += strlen(e) > 15;
        vg_buf_adds(b, e);
    } else if (r < 70) {
        vg_buf_printf(b, "%lld", (long long)(rnd() >> pick(64)) * (chance(50) ? 1 : -1));
    } else {
        double x = (double)(int64_t)rnd() / (double)(1ull << pick(63));
        vg_buf_printf(b, "%.17g", x);
    }
}

static void gen_value(vg_buf_t *b, int depth, int max_depth);

/* Below level 2 containers hold at most 2 members, so that a value stays
 * small (fewer than one container child on average) however deep it goes. */
static size_t gen_n_members(int depth)
{
    unsigned r = pick(100);
    if (depth > 2)
        return pick(3);
    if (r < 75)
        return pick(5);
    if (r < 92)
        return pick(21);
    return VG_SCHEMA_FREE_MEMBERS - 3 + pick(6); /* around the limit */
}

/* An object at free-form level depth: keys and values at depth + 1. */
static void gen_object(vg_buf_t *b, int depth, int max_depth)
{
    size_t n = gen_n_members(depth);
    int scalars = n > 20;
    const char *dup = NULL;
    vg_buf_add(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            vg_buf_add(b, ",", 1);
        if (i && chance(2) && !dup) { /* a duplicate key: the parser refuses the body */
            dup = "\"dup\"";
            vg_buf_adds(b, "\"dup\":1,\"dup\"");
        } else {
            gen_key(b);
        }
        vg_buf_add(b, ":", 1);
        gen_value(b, scalars ? max_depth + 1 : depth + 1, max_depth);
    }
    vg_buf_add(b, "}", 1);
}

static void gen_array(vg_buf_t *b, int depth, int max_depth)
{
    size_t n = gen_n_members(depth);
    int scalars = n > 20;
    vg_buf_add(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            vg_buf_add(b, ",", 1);
        gen_value(b, scalars ? max_depth + 1 : depth + 1, max_depth);
    }
    vg_buf_add(b, "]", 1);
}

/* A value at free-form level depth; containers only while depth <= max_depth. */
static void gen_value(vg_buf_t *b, int depth, int max_depth)
{
    unsigned r = pick(100);
    if (depth <= max_depth && r < 45) {
        if (depth > feat.depth)
            feat.depth = depth;
        if (r < 30)
            gen_object(b, depth, max_depth);
        else
            gen_array(b, depth, max_depth);
        return;
    }
    r = pick(100);
    if (r < 45)
        gen_string(b, gen_length());
    else if (r < 85)
        gen_number(b);
    else
        vg_buf_adds(b, r < 90 ? "true" : r < 95 ? "false" : "null");
}

/* "key":"..." if the dice say so, with a leading comma. */
static void maybe_string_field(vg_buf_t *b, const char *key, unsigned percent)
{
    if (!chance(percent))
        return;
    vg_buf_printf(b, ",\"%s\":", key);
    gen_string(b, gen_length());
}

static void maybe_number_field(vg_buf_t *b, const char *key, unsigned percent)
{
    if (!chance(percent))
        return;
    vg_buf_printf(b, ",\"%s\":", key);
    gen_number(b);
}

static void gen_labels(vg_buf_t *b)
{
    static const char *const keys[] = {"env", "tier", "team/a", "x.y-z", "Rack_7"};
    size_t n = pick(4);
    vg_buf_adds(b, ",\"labels\":{");
    for (size_t i = 0; i < n; i++) {
        vg_buf_printf(b, "%s", i ? "," : "");
        if (chance(80))
            vg_buf_printf(b, "\"%s%zu\"", keys[pick(VG_ARRAY_LEN(keys))], i);
        else
            gen_key(b);
        vg_buf_add(b, ":", 1);
        if (chance(70))
            vg_buf_adds(b, chance(50) ? "\"prod\"" : "\"a-1.b_2\"");
        else
            gen_string(b, gen_length());
    }
    vg_buf_add(b, "}", 1);
}

static void gen_sensor_spec(vg_buf_t *b, int max_depth)
{
    vg_buf_adds(b, "\"zone\":\"z1\",\"device\":\"d1\",\"type\":\"temperature\"");
    if (chance(30)) {
        vg_buf_adds(b, ",\"unit\":");
        gen_string(b, pick(20));
    }
    if (chance(85)) {
        vg_buf_adds(b, ",\"source\":{\"oid\":");
        gen_string(b, gen_length());
        vg_buf_adds(b, ",\"map\":");
        if (chance(3)) {
            /* near jansson's parsing limit of 2048 levels: the record that
             * wraps it, and the snapshot, nest a few levels deeper */
            int levels = 2030 + (int)pick(20);
            vg_buf_adds(b, "{\"deep\":");
            for (int k = 0; k < levels; k++)
                vg_buf_add(b, "[", 1);
            for (int k = 0; k < levels; k++)
                vg_buf_add(b, "]", 1);
            vg_buf_add(b, "}", 1);
            if (levels > feat.depth)
                feat.depth = levels;
        } else {
            gen_object(b, 2, max_depth); /* spec.source is level 1 */
            if (2 > feat.depth)
                feat.depth = 2;
        }
        vg_buf_add(b, "}", 1);
    }
    maybe_number_field(b, "scale", 40);
    maybe_number_field(b, "offset", 40);
}

static void gen_manifest(vg_buf_t *b, unsigned i)
{
    static const char *const kinds[] = {"Sensor", "Sensor", "Sensor", "Site", "Device", "Zone"};
    const char *kind = kinds[pick(VG_ARRAY_LEN(kinds))];
    int max_depth = 1 + (int)pick(12); /* free-form levels; the limit is 8 */
    vg_buf_printf(b, "{\"kind\":\"%s\",\"name\":\"o%u\"", kind, i);
    if (chance(50))
        gen_labels(b);
    if (chance(40)) {
        vg_buf_adds(b, ",\"description\":");
        gen_string(b, gen_length());
    }
    if (chance(5)) { /* server-owned: accepted and ignored, whatever it holds */
        vg_buf_adds(b, ",\"status\":");
        gen_value(b, 1, 30);
    }
    vg_buf_adds(b, ",\"spec\":{");
    if (!strcmp(kind, "Sensor")) {
        gen_sensor_spec(b, max_depth);
    } else if (!strcmp(kind, "Site")) {
        vg_buf_adds(b, "\"location\":");
        gen_string(b, 1 + pick(140));
        maybe_string_field(b, "address", 40);
        if (chance(40)) {
            size_t n = pick(34);
            vg_buf_adds(b, ",\"contacts\":[");
            for (size_t k = 0; k < n; k++) {
                vg_buf_adds(b, k ? "," : "");
                gen_string(b, gen_length());
            }
            vg_buf_add(b, "]", 1);
        }
    } else if (!strcmp(kind, "Device")) {
        vg_buf_adds(b, "\"site\":\"dc1\",\"driver\":\"mqtt\"");
        maybe_string_field(b, "address", 50);
        vg_buf_adds(b, ",\"options\":{\"qos\":1");
        maybe_string_field(b, "client_id", 50);
        maybe_string_field(b, "username", 50);
        maybe_string_field(b, "ca_file", 30);
        vg_buf_add(b, "}", 1);
    } else {
        vg_buf_adds(b, "\"site\":\"dc1\"");
        maybe_number_field(b, "floor", 50);
        maybe_number_field(b, "area_m2", 50);
    }
    vg_buf_adds(b, "}}");
}

/* ---- spiking a parsed tree with what the parser never produces ---- */

static void spike(json_t *doc)
{
    json_t *spec = json_object_get(doc, "spec");
    json_t *map = json_object_get(json_object_get(spec, "source"), "map");
    json_t *target = json_is_object(map) ? map : spec;
    switch (pick(6)) {
    case 0:
        json_object_setn_new_nocheck(target, "on\0off", 6, json_integer(1));
        break;
    case 1:
        json_object_set_new(target, "nul", json_stringn("a\0b", 3));
        break;
    case 2:
        json_object_set_new(target, "utf8", json_stringn_nocheck("a\xed\xa0\x80", 4));
        break;
    case 3:
        json_object_set_new_nocheck(target, "\xc0\x80", json_integer(2));
        break;
    case 4:
        json_object_set_new(doc, "labels", json_pack("{s:o}", "env", json_stringn("p\0q", 3)));
        break;
    default:
        json_object_set_new(doc, "description", json_stringn_nocheck("\xff\xfe", 2));
        break;
    }
}

/* ---- one round: generate, apply, log, then rebuild three ways ---- */

struct accepted {
    char kind[16], name[16];
    json_t *sent; /* the manifest as the client sent it (spiked, if it was) */
};

struct round {
    char dir[64], log_dir[96], snap_dir[96];
    vg_keyring_t *kr;
    vg_state_t *primary;
    vg_log_t *log;
    struct accepted *acc;
    size_t n_acc, n_refused_parse, n_refused_schema, n_spiked, n_spiked_accepted;
};

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

/* json_equal, but keys compared whole: jansson's own looks keys up as C
 * strings, so "on\0off" and "on" would pass as the same key. */
static int same(const json_t *a, const json_t *b)
{
    if (!a || !b || json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        for (void *it = json_object_iter((json_t *)a); it;
             it = json_object_iter_next((json_t *)a, it)) {
            const json_t *other =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            if (!same(json_object_iter_value(it), other))
                return 0;
        }
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    return json_equal(a, b); /* strings by length and bytes, numbers by value */
}

/* A deep copy that keeps keys whole (json_deep_copy and vg_json_copy cut a
 * key at its first NUL), so that the test compares against what was sent. */
static json_t *copy_whole(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *out = json_object();
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            json_object_setn_new_nocheck(out, json_object_iter_key(it),
                                         json_object_iter_key_len(it),
                                         copy_whole(json_object_iter_value(it)));
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, copy_whole(json_array_get(v, i)));
        return out;
    }
    if (json_is_string(v))
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    return json_deep_copy(v);
}

/* The stored object carries exactly what was sent: kind, name, spec, and
 * labels and description unless empty (the state does not keep those). */
static void assert_carries(const json_t *stored, const struct accepted *a, uint64_t revision)
{
    if (!stored)
        fail_msg("%s '%s' is missing", a->kind, a->name);
    static const char *const fields[] = {"kind", "name", "spec", "labels", "description"};
    for (size_t i = 0; i < VG_ARRAY_LEN(fields); i++) {
        const json_t *want = json_object_get(a->sent, fields[i]);
        const json_t *have = json_object_get(stored, fields[i]);
        int empty = !want || (json_is_object(want) && json_object_size(want) == 0) ||
                    (json_is_string(want) && json_string_length(want) == 0);
        if (empty ? have != NULL : !same(want, have))
            fail_msg("%s '%s': %s differs from what was accepted", a->kind, a->name, fields[i]);
    }
    if (revision &&
        json_integer_value(json_object_get(stored, "revision")) != (json_int_t)revision)
        fail_msg("%s '%s' has the wrong revision", a->kind, a->name);
}

/* As vigild's write path: the record's text is logged, its tree applied.
 * Takes sent and normalized. */
static void put(struct round *r, json_t *sent, json_t *normalized, unsigned i)
{
    struct accepted *a = &r->acc[r->n_acc];
    snprintf(a->kind, sizeof a->kind, "%s",
             json_string_value(json_object_get(normalized, "kind")));
    snprintf(a->name, sizeof a->name, "%s",
             json_string_value(json_object_get(normalized, "name")));
    a->sent = sent;
    json_t *payload = json_pack("{s:o, s:s, s:I}", "object", normalized, "actor", "tester",
                                "time", (json_int_t)(1764115200000ll + i));
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(payload, &text);
    uint64_t index = 0;
    assert_int_equal(vg_log_append(r->log, 1, VG_REC_OBJ_PUT, text.data, text.len, &index), 0);
    vg_buf_release(&text);
    vg_apply_result_t res;
    assert_int_equal(vg_state_apply(r->primary, 1, index, VG_REC_OBJ_PUT, payload, &res), 0);
    assert_carries(res.object, a, index); /* what the client is answered */
    json_decref(res.object);
    json_decref(payload);
    r->n_acc++;
}

static void run_case(struct round *r, unsigned i)
{
    vg_buf_t text = VG_BUF_INIT;
    gen_manifest(&text, i);
    json_error_t jerr;
    /* the API's parser, with the API's flags (server.c) */
    json_t *doc = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
    vg_buf_release(&text);
    if (!doc) {
        r->n_refused_parse++;
        return;
    }
    int spiked = chance(15);
    if (spiked) {
        spike(doc);
        r->n_spiked++;
    }
    json_t *normalized = NULL;
    char err[512], field[128];
    int rc =
        vg_schema_validate(doc, NULL, NULL, &normalized, err, sizeof err, field, sizeof field);
    json_t *sent = copy_whole(doc);
    json_decref(doc);
    if (rc) {
        r->n_refused_schema++;
        assert_true(strlen(err) > 0);
        json_decref(sent);
        return;
    }
    r->n_spiked_accepted += spiked;
    put(r, sent, normalized, i);
}

static int replay_into(void *ctx, const vg_record_t *rec)
{
    char err[512];
    int rc = vg_state_apply_record(ctx, rec, NULL, err, sizeof err);
    if (rc)
        fail_msg("replay: %s", err);
    return rc;
}

static vg_state_t *from_snapshot(struct round *r)
{
    vg_buf_t text = VG_BUF_INIT;
    char err[512];
    vg_state_dump(r->primary, &text);
    uint64_t index = vg_state_applied_index(r->primary);
    if (vg_snapshot_write(r->snap_dir, r->kr, index, 1, text.data, text.len, err, sizeof err))
        fail_msg("snapshot: %s", err);
    vg_buf_release(&text);
    uint8_t *data = NULL;
    size_t len = 0;
    uint64_t got = 0, epoch = 0;
    if (vg_snapshot_load_latest(r->snap_dir, r->kr, &got, &epoch, &data, &len, err, sizeof err))
        fail_msg("snapshot load: %s", err);
    assert_int_equal(got, index);
    json_error_t jerr;
    json_t *dump = json_loadb((const char *)data, len, JSON_ALLOW_NUL, &jerr); /* as member.c */
    free(data);
    if (!dump)
        fail_msg("snapshot is not JSON: %s", jerr.text);
    vg_state_t *st = vg_state_new();
    if (vg_state_load(st, dump, err, sizeof err))
        fail_msg("snapshot does not load: %s", err);
    json_decref(dump);
    return st;
}

/* The mirror's way (member.c apply_from_log): frames read back, opened, applied. */
static vg_state_t *from_frames(struct round *r, vg_log_t *log)
{
    vg_state_t *st = vg_state_new();
    uint64_t next = 1, last_index = vg_log_last_index(log);
    char err[512];
    while (next <= last_index) {
        vg_buf_t frames = VG_BUF_INIT;
        uint64_t last = 0;
        if (vg_log_read(log, next, 4u << 20, &frames, &last, err, sizeof err))
            fail_msg("log read: %s", err);
        for (size_t off = 0; off < frames.len;) {
            vg_record_t rec;
            size_t used;
            if (vg_record_decode(r->kr, frames.data + off, frames.len - off, &rec, &used, err,
                                 sizeof err))
                fail_msg("frame does not open: %s", err);
            off += used;
            replay_into(st, &rec);
            vg_record_release(&rec);
        }
        vg_buf_release(&frames);
        next = last + 1;
    }
    return st;
}

static void assert_same_everywhere(struct round *r, vg_state_t *const *rebuilt, size_t n)
{
    static const char *const how[] = {"snapshot", "log replay", "mirror read-back"};
    for (size_t k = 0; k < n; k++)
        assert_int_equal(vg_state_n_objects(rebuilt[k]), vg_state_n_objects(r->primary));
    for (size_t i = 0; i < r->n_acc; i++) {
        const struct accepted *a = &r->acc[i];
        json_t *want = vg_state_get(r->primary, a->kind, a->name);
        assert_carries(want, a, 0);
        for (size_t k = 0; k < n; k++) {
            json_t *have = vg_state_get(rebuilt[k], a->kind, a->name);
            if (!have || !same(want, have))
                fail_msg("%s '%s' reads back differently after %s", a->kind, a->name, how[k]);
            json_decref(have);
        }
        json_decref(want);
    }
}

static void run_round(struct round *r, unsigned round_no)
{
    char err[512];
    snprintf(r->dir, sizeof r->dir, "/tmp/vg-test-roundtrip-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->log_dir, sizeof r->log_dir, "%s/log", r->dir);
    snprintf(r->snap_dir, sizeof r->snap_dir, "%s/snap", r->dir);
    assert_int_equal(mkdir(r->snap_dir, 0700), 0);
    r->kr = vg_keyring_new_ephemeral();
    r->primary = vg_state_new();
    r->acc = calloc(CASES_PER_ROUND, sizeof *r->acc);
    vg_log_opts_t opts = {r->log_dir, r->kr, 0};
    if (vg_log_open(&opts, 0, NULL, NULL, &r->log, err, sizeof err))
        fail_msg("log: %s", err);

    for (unsigned i = 0; i < CASES_PER_ROUND; i++)
        run_case(r, round_no * CASES_PER_ROUND + i);
    assert_int_equal(vg_log_sync(r->log), 0);
    vg_log_close(r->log);

    vg_state_t *rebuilt[3];
    rebuilt[0] = from_snapshot(r);
    rebuilt[1] = vg_state_new();
    vg_log_t *log = NULL;
    if (vg_log_open(&opts, 0, replay_into, rebuilt[1], &log, err, sizeof err))
        fail_msg("log replay: %s", err);
    rebuilt[2] = from_frames(r, log);
    vg_log_close(log);
    assert_same_everywhere(r, rebuilt, 3);

    for (size_t k = 0; k < 3; k++)
        vg_state_free(rebuilt[k]);
    for (size_t i = 0; i < r->n_acc; i++)
        json_decref(r->acc[i].sent);
    free(r->acc);
    vg_state_free(r->primary);
    vg_keyring_free(r->kr);
    nftw(r->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_every_accepted_manifest_reads_back_after_snapshot_replay_and_mirroring(void **unused)
{
    size_t n_acc = 0, n_parse = 0, n_schema = 0, n_spiked = 0, n_spiked_acc = 0;
    struct features seen = {0};
    rng = SEED;
    memset(&feat, 0, sizeof feat);
    for (unsigned round_no = 0; round_no < ROUNDS; round_no++) {
        struct round r = {0};
        run_round(&r, round_no);
        n_acc += r.n_acc;
        n_parse += r.n_refused_parse;
        n_schema += r.n_refused_schema;
        n_spiked += r.n_spiked;
        n_spiked_acc += r.n_spiked_accepted;
    }
    seen = feat;
    print_message("%u cases: %zu accepted and read back, %zu refused by the parser, %zu by the "
                  "schema (%zu spiked trees, %zu of them accepted)\n",
                  ROUNDS * CASES_PER_ROUND, n_acc, n_parse, n_schema, n_spiked, n_spiked_acc);
    /* not vacuous: many accepted, many refused at each gate, edges reached */
    assert_true(n_acc >= ROUNDS * CASES_PER_ROUND / 5);
    assert_true(n_parse >= ROUNDS * CASES_PER_ROUND / 20);
    assert_true(n_schema >= ROUNDS * CASES_PER_ROUND / 20);
    assert_int_equal(n_spiked_acc, 0);
    assert_true(seen.depth > VG_SCHEMA_FREE_DEPTH);
    assert_true(seen.key_chars > VG_SCHEMA_FREE_KEY_MAX);
    assert_true(seen.str_chars > VG_SCHEMA_STRING_MAX);
    assert_true(seen.escapes > 0 && seen.big_numbers > 0);
}

/* The edges themselves, accepted: a map at the depth limit, keys and strings
 * at their length limits, escapes and numbers that need care. */
static void test_manifests_at_the_limits_read_back(void **unused)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_adds(&b, "{\"kind\":\"Sensor\",\"name\":\"edge\",\"description\":\"tab\\there\\n\","
                    "\"labels\":{\"env\":\"prod\"},\"spec\":{\"zone\":\"z1\",\"device\":\"d1\","
                    "\"type\":\"temperature\",\"scale\":1e308,\"offset\":-4.9e-324,"
                    "\"source\":{\"oid\":\"\\u00e9\\ud83d\\ude00\\\"\\\\/\",\"map\":{\"k\":");
    /* spec.source is level 1, the map level 2, the array at the limit */
    for (int d = 3; d < VG_SCHEMA_FREE_DEPTH; d++)
        vg_buf_adds(&b, "{\"k\":");
    vg_buf_adds(&b, "[9223372036854775807,-9223372036854775808,-0.0,0.1,\"");
    for (int i = 0; i < VG_SCHEMA_STRING_MAX; i++)
        vg_buf_adds(&b, "\\u20ac");
    vg_buf_adds(&b, "\"]");
    for (int d = 3; d < VG_SCHEMA_FREE_DEPTH; d++)
        vg_buf_adds(&b, "}");
    vg_buf_adds(&b, ",\"");
    for (int i = 0; i < VG_SCHEMA_FREE_KEY_MAX; i++)
        vg_buf_adds(&b, "\xf0\x9f\x98\x80");
    vg_buf_adds(&b, "\":\"ok\"}}}}");
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    vg_buf_release(&b);
    if (!doc)
        fail_msg("edge manifest does not parse: %s", jerr.text);
    json_t *normalized = NULL;
    char err[512], field[128];
    if (vg_schema_validate(doc, NULL, NULL, &normalized, err, sizeof err, field, sizeof field))
        fail_msg("edge manifest refused: %s", err);

    struct round r = {0};
    snprintf(r.dir, sizeof r.dir, "/tmp/vg-test-roundtrip-XXXXXX");
    assert_non_null(mkdtemp(r.dir));
    snprintf(r.log_dir, sizeof r.log_dir, "%s/log", r.dir);
    snprintf(r.snap_dir, sizeof r.snap_dir, "%s/snap", r.dir);
    assert_int_equal(mkdir(r.snap_dir, 0700), 0);
    r.kr = vg_keyring_new_ephemeral();
    r.primary = vg_state_new();
    r.acc = calloc(1, sizeof *r.acc);
    vg_log_opts_t opts = {r.log_dir, r.kr, 0};
    if (vg_log_open(&opts, 0, NULL, NULL, &r.log, err, sizeof err))
        fail_msg("log: %s", err);
    put(&r, doc, normalized, 1);
    assert_int_equal(vg_log_sync(r.log), 0);
    vg_log_close(r.log);
    vg_state_t *rebuilt[2] = {from_snapshot(&r), vg_state_new()};
    vg_log_t *log = NULL;
    if (vg_log_open(&opts, 0, replay_into, rebuilt[1], &log, err, sizeof err))
        fail_msg("log replay: %s", err);
    vg_log_close(log);
    assert_same_everywhere(&r, rebuilt, 2);
    vg_state_free(rebuilt[0]);
    vg_state_free(rebuilt[1]);
    json_decref(r.acc[0].sent);
    free(r.acc);
    vg_state_free(r.primary);
    vg_keyring_free(r.kr);
    nftw(r.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A record whose payload does not parse is reported with its index, never
 * applied as something else: the member stops on it (member.c). */
static void test_record_that_does_not_parse_is_an_error_naming_its_index(void **unused)
{
    vg_state_t *st = vg_state_new();
    char err[512];
    static const char garbage[] = "{\"object\":{\"kind\":\"Site\"";
    vg_record_t rec = {.epoch = 1,
                       .index = 1,
                       .type = VG_REC_OBJ_PUT,
                       .payload = (uint8_t *)garbage,
                       .payload_len = sizeof garbage - 1};
    assert_int_equal(vg_state_apply_record(st, &rec, NULL, err, sizeof err), -VG_ECORRUPT);
    assert_non_null(strstr(err, "record 1 "));
    assert_non_null(strstr(err, "not JSON"));
    assert_int_equal(vg_state_applied_index(st), 0); /* nothing applied, not skipped */

    /* an empty payload (a NOOP) and a deterministic refusal are applied */
    vg_record_t noop = {.epoch = 1, .index = 1, .type = VG_REC_NOOP};
    assert_int_equal(vg_state_apply_record(st, &noop, NULL, err, sizeof err), 0);
    static const char del[] =
        "{\"kind\":\"Site\",\"name\":\"gone\",\"actor\":\"t\",\"time\":0}";
    vg_record_t miss = {.epoch = 1,
                        .index = 2,
                        .type = VG_REC_OBJ_DELETE,
                        .payload = (uint8_t *)del,
                        .payload_len = sizeof del - 1};
    vg_apply_result_t res;
    assert_int_equal(vg_state_apply_record(st, &miss, &res, err, sizeof err), 0);
    assert_int_equal(res.code, -ENOENT);
    assert_int_equal(vg_state_applied_index(st), 2);
    vg_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_every_accepted_manifest_reads_back_after_snapshot_replay_and_mirroring),
        cmocka_unit_test(test_manifests_at_the_limits_read_back),
        cmocka_unit_test(test_record_that_does_not_parse_is_an_error_naming_its_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

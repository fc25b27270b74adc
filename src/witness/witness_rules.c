/*
 * rules.c - the witness's configuration rules (DESIGN.md section 3) and the
 * strict JSON forms of the configuration, change requests and heartbeats.
 *
 * Workload: a handful of requests per second (heartbeats) and a change now
 * and then; clarity wins over speed everywhere.
 *
 * Must never: read a clock or do I/O (the server passes time in), accept a
 * change that breaks an invariant of C, or let a malformed request through
 * to vg_witness_decide: every field is type- and name-checked first.
 */
#include "witness/witness_rules.h"

#include <time.h>

#include "core/names.h"

static const char *const op_names[] = {"bootstrap", "promote", "degrade", "restore", "force"};
static const char *const role_names[] = {"primary", "mirror", "none"};

const char *vg_witness_op_name(enum vg_witness_op op)
{
    return (unsigned)op < VG_ARRAY_LEN(op_names) ? op_names[op] : "?";
}

const char *vg_witness_role_name(enum vg_witness_role role)
{
    return (unsigned)role < VG_ARRAY_LEN(role_names) ? role_names[role] : "?";
}

#define TIME_MAX_MS 253402300799999ull /* 9999-12-31T23:59:59.999Z */

/* --- the configuration ------------------------------------------------- */

void vg_witness_cfg_init(vg_witness_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->primary = -1;
}

int vg_witness_cfg_member(const vg_witness_cfg_t *cfg, const char *name)
{
    if (cfg->epoch == 0 || !name)
        return -1;
    for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
        if (strcmp(cfg->members[i], name) == 0)
            return i;
    return -1;
}

const char *vg_witness_cfg_primary(const vg_witness_cfg_t *cfg)
{
    return cfg->epoch ? cfg->members[cfg->primary] : NULL;
}

int vg_witness_cfg_in_sync(const vg_witness_cfg_t *cfg, const char *name)
{
    int i = vg_witness_cfg_member(cfg, name);
    return i >= 0 && (cfg->sync & (1u << i));
}

static int check_empty(const vg_witness_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->primary != -1 || cfg->sync || cfg->members[0][0] || cfg->members[1][0] ||
        cfg->changed_by[0] || cfg->reason[0] || cfg->changed_at_ms || cfg->forced)
        return vg_err(err, errlen, -EINVAL,
                      "epoch 0 (not bootstrapped) must hold nothing else");
    return 0;
}

int vg_witness_cfg_check(const vg_witness_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->epoch == 0)
        return check_empty(cfg, err, errlen);
    if (cfg->epoch > VG_WITNESS_EPOCH_MAX)
        return vg_err(err, errlen, -EINVAL, "epoch is out of range");
    for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
        if (vg_name_check(cfg->members[i], NULL, 0))
            return vg_err(err, errlen, -EINVAL, "member %d has an invalid name", i + 1);
    if (strcmp(cfg->members[0], cfg->members[1]) == 0)
        return vg_err(err, errlen, -EINVAL, "the two members have the same name");
    if (cfg->primary < 0 || cfg->primary >= VG_WITNESS_N_MEMBERS)
        return vg_err(err, errlen, -EINVAL, "the primary is not a member");
    if (cfg->sync == 0 || (cfg->sync & ~3u))
        return vg_err(err, errlen, -EINVAL, "the sync set is empty or names a non-member");
    if (!(cfg->sync & (1u << cfg->primary)))
        return vg_err(err, errlen, -EINVAL, "the primary is not in the sync set");
    if (vg_witness_cfg_member(cfg, cfg->changed_by) < 0)
        return vg_err(err, errlen, -EINVAL, "changed_by is not a member");
    if (cfg->changed_at_ms > TIME_MAX_MS)
        return vg_err(err, errlen, -EINVAL, "changed_at is after the year 9999");
    return 0;
}

/* --- RFC 3339 timestamps: "2024-05-01T12:00:00.123Z" -------------------- */

#define TIME_LEN 24

#define TIME_BUF 48 /* room for what snprintf might write for any struct tm */

static void format_time(uint64_t ms, char out[TIME_BUF])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, TIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Parses exactly the form format_time writes; -EINVAL for anything else,
 * including dates that do not exist (checked by formatting back). */
static int parse_time(const char *s, uint64_t *ms)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(s) != TIME_LEN)
        return -EINVAL;
    for (size_t i = 0; i < TIME_LEN; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -EINVAL;
    struct tm tm = {0};
    int frac;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac) != 7 ||
        tm.tm_year < 1970)
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t secs = timegm(&tm);
    if (secs < 0)
        return -EINVAL;
    uint64_t v = (uint64_t)secs * 1000u + (uint64_t)frac;
    char back[TIME_BUF];
    format_time(v, back);
    if (strcmp(back, s) != 0)
        return -EINVAL;
    *ms = v;
    return 0;
}

/* --- strict field access ------------------------------------------------- */

struct parse {
    const json_t *obj;
    const char **field;
    char *err;
    size_t errlen;
};

static int bad(struct parse *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct parse *p, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->field)
        *p->field = field;
    if (field)
        return vg_err(p->err, p->errlen, -EINVAL, "'%s' %s", field, msg);
    return vg_err(p->err, p->errlen, -EINVAL, "%s", msg);
}

/* A key as it may appear in a message: printable ASCII only (messages go
 * into JSON error bodies and logs), '?' for anything else, '...' if long. */
static void show_key(const char *key, char *out, size_t cap)
{
    size_t n = 0;
    for (; key[n] && n + 4 < cap; n++)
        out[n] = key[n] >= 0x20 && key[n] < 0x7f ? key[n] : '?';
    if (key[n]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static int start(struct parse *p, const char *const *allowed)
{
    if (p->field)
        *p->field = NULL;
    if (!json_is_object(p->obj))
        return bad(p, NULL, "body must be a JSON object");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)p->obj, key, value)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i]) {
            char shown[68];
            show_key(key, shown, sizeof shown);
            if (p->field)
                *p->field = key;
            return vg_err(p->err, p->errlen, -EINVAL, "unknown field '%s'", shown);
        }
    }
    return 0;
}

/* The value of key, or NULL if absent or JSON null. */
static const json_t *get(struct parse *p, const char *key)
{
    const json_t *v = json_object_get(p->obj, key);
    return json_is_null(v) ? NULL : v;
}

static int need(struct parse *p, const char *key, const json_t **out)
{
    *out = get(p, key);
    return *out ? 0 : bad(p, key, "is required");
}

static int take_u64(struct parse *p, const char *key, uint64_t *out)
{
    const json_t *v;
    int rc = need(p, key, &v);
    if (rc)
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(p, key, "must be a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A string value without embedded NULs, or NULL with an error. */
static const char *string_of(struct parse *p, const char *key, const json_t *v, int *rc)
{
    if (!json_is_string(v)) {
        *rc = bad(p, key, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        *rc = bad(p, key, "must not contain NUL characters");
        return NULL;
    }
    return s;
}

static int name_of(struct parse *p, const char *key, const json_t *v,
                   char out[VG_WITNESS_NAME_MAX + 1])
{
    int rc = 0;
    const char *s = string_of(p, key, v, &rc);
    if (!s)
        return rc;
    char why[160];
    if (vg_name_check(s, why, sizeof why))
        return bad(p, key, "is not a valid member name: %s", why);
    snprintf(out, VG_WITNESS_NAME_MAX + 1, "%s", s);
    return 0;
}

/* Optional name: "" when absent or null. */
static int take_name(struct parse *p, const char *key, int required,
                     char out[VG_WITNESS_NAME_MAX + 1])
{
    out[0] = '\0';
    const json_t *v = get(p, key);
    if (!v)
        return required ? bad(p, key, "is required") : 0;
    return name_of(p, key, v, out);
}

/* Optional free text: at most VG_WITNESS_REASON_MAX bytes, no control
 * characters (it ends up in log lines). "" when absent or null. */
static int take_text(struct parse *p, const char *key, char out[VG_WITNESS_REASON_MAX + 1])
{
    out[0] = '\0';
    const json_t *v = get(p, key);
    if (!v)
        return 0;
    int rc = 0;
    const char *s = string_of(p, key, v, &rc);
    if (!s)
        return rc;
    size_t len = strlen(s);
    if (len > VG_WITNESS_REASON_MAX)
        return bad(p, key, "is %zu bytes long, at most %d allowed", len, VG_WITNESS_REASON_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return bad(p, key, "must not contain control characters");
    memcpy(out, s, len + 1);
    return 0;
}

static int take_bool(struct parse *p, const char *key, bool *out)
{
    *out = false;
    const json_t *v = get(p, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad(p, key, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

/* An array of 1..2 distinct valid names (min..2). */
static int take_names(struct parse *p, const char *key, size_t min,
                      char out[VG_WITNESS_N_MEMBERS][VG_WITNESS_NAME_MAX + 1], size_t *n)
{
    const json_t *v;
    int rc = need(p, key, &v);
    if (rc)
        return rc;
    if (!json_is_array(v) || json_array_size(v) < min ||
        json_array_size(v) > VG_WITNESS_N_MEMBERS)
        return bad(p, key, "must be an array of %s%zu member names",
                   min < VG_WITNESS_N_MEMBERS ? "1 to " : "", (size_t)VG_WITNESS_N_MEMBERS);
    *n = json_array_size(v);
    for (size_t i = 0; i < *n; i++)
        if ((rc = name_of(p, key, json_array_get(v, i), out[i])))
            return rc;
    if (*n == 2 && strcmp(out[0], out[1]) == 0)
        return bad(p, key, "names '%s' twice", out[0]);
    return 0;
}

static int take_enum(struct parse *p, const char *key, const char *const *names, size_t n,
                     int *out)
{
    const json_t *v;
    int rc = need(p, key, &v);
    if (rc)
        return rc;
    const char *s = string_of(p, key, v, &rc);
    if (!s)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    char list[128] = "";
    for (size_t i = 0, at = 0; i < n && at < sizeof list; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", names[i]);
    return bad(p, key, "must be one of %s", list);
}

/* --- configuration JSON ------------------------------------------------- */

static json_t *name_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *vg_witness_cfg_to_json(const vg_witness_cfg_t *cfg)
{
    json_t *sync = json_array(), *members = json_array();
    char when[TIME_BUF];
    for (int i = 0; cfg->epoch && i < VG_WITNESS_N_MEMBERS; i++) {
        json_array_append_new(members, json_string(cfg->members[i]));
        if (cfg->sync & (1u << i))
            json_array_append_new(sync, json_string(cfg->members[i]));
    }
    format_time(cfg->changed_at_ms, when);
    json_t *obj = json_object();
    json_object_set_new(obj, "epoch", json_integer((json_int_t)cfg->epoch));
    json_object_set_new(obj, "primary", name_or_null(vg_witness_cfg_primary(cfg)));
    json_object_set_new(obj, "sync", sync);
    json_object_set_new(obj, "members", members);
    json_object_set_new(obj, "changed_by", name_or_null(cfg->changed_by));
    json_object_set_new(obj, "reason", cfg->epoch ? json_string(cfg->reason) : json_null());
    json_object_set_new(obj, "changed_at", cfg->epoch ? json_string(when) : json_null());
    json_object_set_new(obj, "forced", json_boolean(cfg->forced));
    return obj;
}

/* Every field of C must be present, even if null. */
static int require_all(struct parse *p, const char *const *fields)
{
    for (size_t i = 0; fields[i]; i++)
        if (!json_object_get(p->obj, fields[i]))
            return bad(p, fields[i], "is required");
    return 0;
}

static int cfg_names(struct parse *p, vg_witness_cfg_t *cfg)
{
    char names[VG_WITNESS_N_MEMBERS][VG_WITNESS_NAME_MAX + 1], primary[VG_WITNESS_NAME_MAX + 1];
    size_t n_members, n_sync;
    int rc;
    if ((rc = take_names(p, "members", 2, cfg->members, &n_members)) ||
        (rc = take_name(p, "primary", 1, primary)) ||
        (rc = take_names(p, "sync", 1, names, &n_sync)) ||
        (rc = take_name(p, "changed_by", 1, cfg->changed_by)))
        return rc;
    if ((cfg->primary = vg_witness_cfg_member(cfg, primary)) < 0)
        return bad(p, "primary", "'%s' is not one of the members", primary);
    for (size_t i = 0; i < n_sync; i++) {
        int m = vg_witness_cfg_member(cfg, names[i]);
        if (m < 0)
            return bad(p, "sync", "'%s' is not one of the members", names[i]);
        cfg->sync |= 1u << m;
    }
    if (!(cfg->sync & (1u << cfg->primary)))
        return bad(p, "sync", "does not hold the primary '%s'", primary);
    if (vg_witness_cfg_member(cfg, cfg->changed_by) < 0)
        return bad(p, "changed_by", "'%s' is not one of the members", cfg->changed_by);
    return 0;
}

static int cfg_change(struct parse *p, vg_witness_cfg_t *cfg)
{
    const json_t *v;
    int rc;
    if (!json_is_string(json_object_get(p->obj, "reason")))
        return bad(p, "reason", "must be a string");
    if ((rc = take_text(p, "reason", cfg->reason)) || (rc = need(p, "changed_at", &v)))
        return rc;
    const char *s = string_of(p, "changed_at", v, &rc);
    if (!s)
        return rc;
    if (parse_time(s, &cfg->changed_at_ms))
        return bad(p, "changed_at",
                   "must be an RFC 3339 UTC time like 2024-05-01T12:00:00.000Z");
    return 0;
}

/* At epoch 0, every name field must be null or empty. */
static int cfg_empty(struct parse *p)
{
    static const char *const nulls[] = {"primary", "changed_by", "reason", "changed_at", NULL};
    static const char *const arrays[] = {"sync", "members", NULL};
    for (size_t i = 0; nulls[i]; i++)
        if (!json_is_null(json_object_get(p->obj, nulls[i])))
            return bad(p, nulls[i], "must be null at epoch 0");
    for (size_t i = 0; arrays[i]; i++) {
        const json_t *v = json_object_get(p->obj, arrays[i]);
        if (!json_is_array(v) || json_array_size(v) != 0)
            return bad(p, arrays[i], "must be an empty array at epoch 0");
    }
    return 0;
}

int vg_witness_cfg_from_json(const json_t *obj, vg_witness_cfg_t *cfg, const char **field,
                             char *err, size_t errlen)
{
    static const char *const fields[] = {"epoch",      "primary",    "sync",
                                         "members",    "changed_by", "reason",
                                         "changed_at", "forced",     NULL};
    struct parse p = {obj, field, err, errlen};
    vg_witness_cfg_t c;
    vg_witness_cfg_init(&c);
    int rc;
    if ((rc = start(&p, fields)) || (rc = require_all(&p, fields)) ||
        (rc = take_u64(&p, "epoch", &c.epoch)))
        return rc;
    if (!json_is_boolean(json_object_get(obj, "forced")))
        return bad(&p, "forced", "must be true or false");
    if (c.epoch > VG_WITNESS_EPOCH_MAX)
        return bad(&p, "epoch", "is out of range");
    if (c.epoch == 0) {
        if ((rc = cfg_empty(&p)))
            return rc;
        if (json_is_true(json_object_get(obj, "forced")))
            return bad(&p, "forced", "must be false at epoch 0");
    } else {
        if ((rc = cfg_names(&p, &c)) || (rc = cfg_change(&p, &c)))
            return rc;
        c.forced = json_is_true(json_object_get(obj, "forced"));
    }
    if ((rc = vg_witness_cfg_check(&c, err, errlen)))
        return rc; /* unreachable after the checks above; kept as a backstop */
    *cfg = c;
    return 0;
}

/* --- change requests ----------------------------------------------------- */

static int request_fields(struct parse *p, vg_witness_request_t *r)
{
    int op, rc;
    size_t n;
    if ((rc = take_name(p, "member", 0, r->member)) ||
        (rc = take_u64(p, "expect_epoch", &r->expect_epoch)) ||
        (rc = take_enum(p, "op", op_names, VG_ARRAY_LEN(op_names), &op)))
        return rc;
    r->op = (enum vg_witness_op)op;
    if (r->expect_epoch > VG_WITNESS_EPOCH_MAX)
        return bad(p, "expect_epoch", "is out of range");
    if ((rc = take_name(p, "target", r->op != VG_WITNESS_OP_DEGRADE, r->target)) ||
        (rc = take_text(p, "reason", r->reason)) || (rc = take_bool(p, "force", &r->force)))
        return rc;
    if (r->op == VG_WITNESS_OP_BOOTSTRAP)
        return take_names(p, "members", 2, r->members, &n);
    if (get(p, "members"))
        return bad(p, "members", "is only for op 'bootstrap'");
    return 0;
}

int vg_witness_request_from_json(const json_t *obj, vg_witness_request_t *req,
                                 const char **field, char *err, size_t errlen)
{
    static const char *const fields[] = {"member", "expect_epoch", "op",      "target",
                                         "reason", "force",        "members", NULL};
    struct parse p = {obj, field, err, errlen};
    vg_witness_request_t r;
    memset(&r, 0, sizeof r);
    int rc;
    if ((rc = start(&p, fields)) || (rc = request_fields(&p, &r)))
        return rc;
    /* DESIGN.md section 3 rule 4: forcing is an explicit, separate act */
    if (r.force && r.op != VG_WITNESS_OP_FORCE)
        return bad(&p, "force", "is only for op 'force'");
    if (r.op == VG_WITNESS_OP_FORCE && !r.force)
        return bad(&p, "force", "must be true for op 'force' (it may lose committed data)");
    if (r.op == VG_WITNESS_OP_FORCE && !r.reason[0])
        return bad(&p, "reason", "is required for op 'force'");
    *req = r;
    return 0;
}

json_t *vg_witness_request_to_json(const vg_witness_request_t *req)
{
    json_t *obj = json_object();
    if (req->member[0])
        json_object_set_new(obj, "member", json_string(req->member));
    json_object_set_new(obj, "expect_epoch", json_integer((json_int_t)req->expect_epoch));
    json_object_set_new(obj, "op", json_string(vg_witness_op_name(req->op)));
    if (req->target[0])
        json_object_set_new(obj, "target", json_string(req->target));
    if (req->reason[0])
        json_object_set_new(obj, "reason", json_string(req->reason));
    if (req->force)
        json_object_set_new(obj, "force", json_true());
    if (req->op == VG_WITNESS_OP_BOOTSTRAP) {
        json_t *members = json_array();
        for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
            json_array_append_new(members, json_string(req->members[i]));
        json_object_set_new(obj, "members", members);
    }
    return obj;
}

/* --- heartbeats ---------------------------------------------------------- */

int vg_witness_heartbeat_from_json(const json_t *obj, vg_witness_heartbeat_t *hb,
                                   const char **field, char *err, size_t errlen)
{
    static const char *const fields[] = {"member", "epoch", "role", NULL};
    struct parse p = {obj, field, err, errlen};
    vg_witness_heartbeat_t h;
    memset(&h, 0, sizeof h);
    int role, rc;
    if ((rc = start(&p, fields)) || (rc = take_name(&p, "member", 0, h.member)) ||
        (rc = take_u64(&p, "epoch", &h.epoch)) ||
        (rc = take_enum(&p, "role", role_names, VG_ARRAY_LEN(role_names), &role)))
        return rc;
    if (h.epoch > VG_WITNESS_EPOCH_MAX)
        return bad(&p, "epoch", "is out of range");
    h.role = (enum vg_witness_role)role;
    *hb = h;
    return 0;
}

json_t *vg_witness_heartbeat_to_json(const vg_witness_heartbeat_t *hb)
{
    json_t *obj = json_object();
    if (hb->member[0])
        json_object_set_new(obj, "member", json_string(hb->member));
    json_object_set_new(obj, "epoch", json_integer((json_int_t)hb->epoch));
    json_object_set_new(obj, "role", json_string(vg_witness_role_name(hb->role)));
    return obj;
}

/* --- the rules ----------------------------------------------------------- */

static int conflict(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int conflict(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -VG_ECONFLICT;
}

static int stale(const vg_witness_cfg_t *cur, const vg_witness_request_t *req, char *err,
                 size_t errlen)
{
    if (req->expect_epoch == cur->epoch)
        return 0;
    return conflict(err, errlen, "stale expect_epoch %llu: the configuration is at epoch %llu",
                    (unsigned long long)req->expect_epoch, (unsigned long long)cur->epoch);
}

/* Index of name in a bootstrap request's members, or -1. */
static int bootstrap_member(const vg_witness_request_t *req, const char *name)
{
    for (int i = 0; i < VG_WITNESS_N_MEMBERS; i++)
        if (strcmp(req->members[i], name) == 0)
            return i;
    return -1;
}

/* Bootstrap (docs/cluster.md): the first configuration, made once, at
 * epoch 0. DESIGN.md section 3 "Configuration": primary in sync; the first
 * primary is alone in sync because nothing has been mirrored yet. */
static int decide_bootstrap(const vg_witness_cfg_t *cur, const vg_witness_request_t *req,
                            vg_witness_cfg_t *next, char *err, size_t errlen)
{
    if (cur->epoch != 0)
        return conflict(err, errlen,
                        "already bootstrapped (epoch %llu): bootstrap happens only once",
                        (unsigned long long)cur->epoch);
    if (bootstrap_member(req, req->member) < 0)
        return vg_err(err, errlen, -EPERM, "'%s' is not one of the members it bootstraps",
                      req->member);
    int primary = bootstrap_member(req, req->target);
    if (primary < 0)
        return vg_err(err, errlen, -EINVAL, "target '%s' is not one of 'members'", req->target);
    int rc = stale(cur, req, err, errlen);
    if (rc)
        return rc;
    vg_witness_cfg_init(next);
    memcpy(next->members, req->members, sizeof next->members);
    next->primary = primary;
    next->sync = 1u << primary;
    return 0;
}

/* DESIGN.md section 3, rule 1, promote q: q in sync, and either the
 * current primary asked (planned switchover: the old primary holds
 * everything, so it stays in sync) or the witness itself has not heard the
 * primary for dead_after (then only q is known to hold every committed
 * record). A mirror that merely lost its link to a primary the witness
 * still hears is refused. */
static int decide_promote(const vg_witness_cfg_t *cur, int caller, int target,
                          uint64_t ms_since_primary_heard, uint64_t dead_after_ms,
                          vg_witness_cfg_t *next, char *err, size_t errlen)
{
    const char *primary = cur->members[cur->primary];
    if (target == cur->primary)
        return conflict(err, errlen, "'%s' is already the primary", primary);
    if (!(cur->sync & (1u << target)))
        return conflict(err, errlen,
                        "'%s' is not in the sync set and may lack committed records: only a "
                        "force can promote it",
                        cur->members[target]);
    if (caller == cur->primary) {
        next->sync = (1u << target) | (1u << cur->primary);
    } else if (ms_since_primary_heard < dead_after_ms) {
        return conflict(
            err, errlen,
            "the witness heard the primary '%s' %llu ms ago (dead_after %llu ms): a "
            "broken link between the sites alone never causes a failover",
            primary, (unsigned long long)ms_since_primary_heard,
            (unsigned long long)dead_after_ms);
    } else {
        next->sync = 1u << target;
    }
    next->primary = target;
    return 0;
}

/* DESIGN.md section 3, rule 2, degrade: only the primary asks (its
 * mirror's acks stopped for ack_timeout); from then on it commits alone. */
static int decide_degrade(const vg_witness_cfg_t *cur, int caller, int target,
                          vg_witness_cfg_t *next, char *err, size_t errlen)
{
    const char *primary = cur->members[cur->primary];
    if (caller != cur->primary)
        return conflict(err, errlen, "only the primary '%s' may degrade", primary);
    if (target == cur->primary)
        return vg_err(err, errlen, -EINVAL,
                      "degrade drops the mirror from sync: target must name the mirror, not "
                      "the primary '%s'",
                      primary);
    if (cur->sync == (1u << cur->primary))
        return conflict(err, errlen, "already degraded: the sync set is just '%s'", primary);
    next->sync = 1u << cur->primary;
    return 0;
}

/* DESIGN.md section 3, rule 3, restore: only the primary asks, once the
 * mirror has caught up and streams live. */
static int decide_restore(const vg_witness_cfg_t *cur, int caller, int target,
                          vg_witness_cfg_t *next, char *err, size_t errlen)
{
    const char *primary = cur->members[cur->primary];
    if (caller != cur->primary)
        return conflict(err, errlen, "only the primary '%s' may restore", primary);
    if (target == cur->primary)
        return vg_err(err, errlen, -EINVAL,
                      "restore adds the mirror to sync: target must name the mirror, not the "
                      "primary '%s'",
                      primary);
    if (cur->sync & (1u << target))
        return conflict(err, errlen, "'%s' is already in the sync set", cur->members[target]);
    next->sync = cur->sync | (1u << target);
    return 0;
}

/* DESIGN.md section 3, rule 4, force: an operator promotes a member
 * outside rules 1-3 (the request parser has made sure "force": true and a
 * reason were given). */
static void decide_force(int target, vg_witness_cfg_t *next)
{
    next->primary = target;
    next->sync = 1u << target;
}

/* Checks shared by every op but bootstrap; fills caller and target. */
static int check_request(const vg_witness_cfg_t *cur, const vg_witness_request_t *req,
                         int *caller, int *target, char *err, size_t errlen)
{
    if (cur->epoch == 0)
        return conflict(err, errlen, "not bootstrapped: the first change must be 'bootstrap'");
    if ((*caller = vg_witness_cfg_member(cur, req->member)) < 0)
        return vg_err(err, errlen, -EPERM, "'%s' is not a member of this cluster (%s, %s)",
                      req->member, cur->members[0], cur->members[1]);
    *target = -1;
    if (req->target[0] && (*target = vg_witness_cfg_member(cur, req->target)) < 0)
        return vg_err(err, errlen, -EINVAL, "target '%s' is not a member (%s, %s)", req->target,
                      cur->members[0], cur->members[1]);
    if (*target < 0 && req->op != VG_WITNESS_OP_DEGRADE)
        return vg_err(err, errlen, -EINVAL, "op '%s' needs a target",
                      vg_witness_op_name(req->op));
    if (cur->epoch >= VG_WITNESS_EPOCH_MAX)
        return conflict(err, errlen, "the epoch cannot grow any further");
    return stale(cur, req, err, errlen);
}

static int decide_op(const vg_witness_cfg_t *cur, const vg_witness_request_t *req,
                     uint64_t ms_since_primary_heard, uint64_t dead_after_ms,
                     vg_witness_cfg_t *next, char *err, size_t errlen)
{
    int caller = -1, target = -1;
    int rc = check_request(cur, req, &caller, &target, err, errlen);
    if (rc)
        return rc;
    *next = *cur;
    switch (req->op) {
    case VG_WITNESS_OP_PROMOTE:
        return decide_promote(cur, caller, target, ms_since_primary_heard, dead_after_ms, next,
                              err, errlen);
    case VG_WITNESS_OP_DEGRADE:
        return decide_degrade(cur, caller, target, next, err, errlen);
    case VG_WITNESS_OP_RESTORE:
        return decide_restore(cur, caller, target, next, err, errlen);
    case VG_WITNESS_OP_FORCE:
        decide_force(target, next);
        return 0;
    case VG_WITNESS_OP_BOOTSTRAP:
        break;
    }
    VG_BUG("unexpected op %d", (int)req->op);
}

int vg_witness_decide(const vg_witness_cfg_t *cur, const vg_witness_request_t *req,
                      uint64_t ms_since_primary_heard, uint64_t dead_after_ms, uint64_t now_ms,
                      vg_witness_cfg_t *next, char *err, size_t errlen)
{
    vg_witness_cfg_t c;
    if (now_ms > TIME_MAX_MS)
        return vg_err(err, errlen, -ERANGE, "the wall clock is past the year 9999");
    int rc = req->op == VG_WITNESS_OP_BOOTSTRAP
                 ? decide_bootstrap(cur, req, &c, err, errlen)
                 : decide_op(cur, req, ms_since_primary_heard, dead_after_ms, &c, err, errlen);
    if (rc)
        return rc;
    /* every change: epoch + 1 (compare-and-set), recorded with who, why, when */
    c.epoch = cur->epoch + 1;
    snprintf(c.changed_by, sizeof c.changed_by, "%s", req->member);
    snprintf(c.reason, sizeof c.reason, "%s", req->reason);
    c.changed_at_ms = now_ms;
    c.forced = req->op == VG_WITNESS_OP_FORCE;
    char why[128];
    if (vg_witness_cfg_check(&c, why, sizeof why))
        VG_BUG("rule for '%s' made an invalid configuration: %s", vg_witness_op_name(req->op),
               why);
    *next = c;
    return 0;
}

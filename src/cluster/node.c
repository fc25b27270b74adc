/*
 * node.c - reading and checking a member's node file (node.h).
 *
 * The file is small and read once at start, so clarity wins over speed:
 * a table of fields per section, each with its type and a target buffer.
 */
#include "cluster/node.h"

#include <jansson.h>

#include "core/names.h"
#include "core/yamljson.h"

enum kind { TEXT, NAME, ADDRESS, PATH, MILLIS, FLAG };

struct field {
    const char *key;
    enum kind kind;
    int required;
    size_t offset; /* into struct vg_node */
    size_t size;   /* of the char array; 0 for MILLIS and FLAG */
};

#define F(key, kind, req, member)                                                              \
    {                                                                                          \
        key, kind, req, offsetof(struct vg_node, member),                                      \
            sizeof(((struct vg_node *)0)->member)                                              \
    }
#define T(key, member)                                                                         \
    {                                                                                          \
        key, MILLIS, 0, offsetof(struct vg_node, timing.member), 0                             \
    }

static const struct field top_fields[] = {
    F("name", NAME, 1, name),
    F("site", NAME, 1, site),
    F("data", PATH, 1, data),
    F("keyring", PATH, 0, keyring),
    F("listen", ADDRESS, 1, listen),
    F("peer_listen", ADDRESS, 1, peer_listen),
    {"api_tls", FLAG, 0, offsetof(struct vg_node, api_tls), 0},
    {NULL, TEXT, 0, 0, 0},
};
static const struct field peer_fields[] = {F("name", NAME, 1, peer_name),
                                           F("address", ADDRESS, 1, peer_address),
                                           {NULL, TEXT, 0, 0, 0}};
static const struct field witness_fields[] = {F("name", NAME, 0, witness_name),
                                              F("address", ADDRESS, 1, witness_address),
                                              {NULL, TEXT, 0, 0, 0}};
static const struct field tls_fields[] = {F("cert", PATH, 1, tls_cert),
                                          F("key", PATH, 1, tls_key),
                                          F("ca", PATH, 1, tls_ca),
                                          {NULL, TEXT, 0, 0, 0}};
static const struct field timing_fields[] = {T("heartbeat_ms", heartbeat_ms),
                                             T("ack_timeout_ms", ack_timeout_ms),
                                             T("lease_ms", lease_ms),
                                             T("dead_after_ms", dead_after_ms),
                                             {NULL, TEXT, 0, 0, 0}};

static const struct {
    const char *key;
    const struct field *fields;
} sections[] = {{"peer", peer_fields},
                {"witness", witness_fields},
                {"tls", tls_fields},
                {"timing", timing_fields}};

static int check_address(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return -EINVAL;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end || port < 1 || port > 65535 ? -EINVAL : 0;
}

static int set_text(const struct field *f, const char *where, const json_t *v, const char *dir,
                    struct vg_node *node, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (!s)
        return vg_err(err, errlen, -EINVAL, "%s: expected a string", where);
    char *dst = (char *)node + f->offset;
    char why[128];
    if (f->kind == NAME && vg_name_check(s, why, sizeof why))
        return vg_err(err, errlen, -EINVAL, "%s: %s", where, why);
    if (f->kind == ADDRESS && check_address(s))
        return vg_err(err, errlen, -EINVAL, "%s: '%s' is not HOST:PORT", where, s);
    int n = f->kind == PATH && s[0] != '/' && dir ? snprintf(dst, f->size, "%s/%s", dir, s)
                                                  : snprintf(dst, f->size, "%s", s);
    if (n < 0 || (size_t)n >= f->size || !*s)
        return vg_err(err, errlen, -EINVAL, "%s: empty or longer than %zu characters", where,
                      f->size - 1);
    return 0;
}

static int set_millis(const struct field *f, const char *where, const json_t *v,
                      struct vg_node *node, char *err, size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 600000)
        return vg_err(err, errlen, -EINVAL, "%s: expected milliseconds from 1 to 600000",
                      where);
    *(uint32_t *)((char *)node + f->offset) = (uint32_t)json_integer_value(v);
    return 0;
}

static int set_flag(const struct field *f, const char *where, const json_t *v,
                    struct vg_node *node, char *err, size_t errlen)
{
    if (!json_is_boolean(v))
        return vg_err(err, errlen, -EINVAL, "%s: expected true or false", where);
    *(int *)((char *)node + f->offset) = json_is_true(v);
    return 0;
}

/* Fills fields of one mapping; unknown keys and missing required ones fail. */
static int parse_fields(const json_t *map, const char *prefix, const struct field *fields,
                        const char *dir, struct vg_node *node, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    char where[128];
    json_object_foreach((json_t *)map, key, v)
    {
        const struct field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        snprintf(where, sizeof where, "%s%s", prefix, key);
        if (!f->key)
            return vg_err(err, errlen, -EINVAL, "%s: unknown field", where);
        int rc = f->kind == MILLIS ? set_millis(f, where, v, node, err, errlen)
                 : f->kind == FLAG ? set_flag(f, where, v, node, err, errlen)
                                   : set_text(f, where, v, dir, node, err, errlen);
        if (rc)
            return rc;
    }
    for (const struct field *f = fields; f->key; f++)
        if (f->required && !json_object_get(map, f->key))
            return vg_err(err, errlen, -EINVAL, "%s%s: required", prefix, f->key);
    return 0;
}

static int parse_sections(const json_t *doc, const char *dir, struct vg_node *node, char *err,
                          size_t errlen)
{
    json_t *top = json_object();
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)doc, key, v)
    {
        size_t i = 0;
        while (i < VG_ARRAY_LEN(sections) && strcmp(sections[i].key, key) != 0)
            i++;
        if (i == VG_ARRAY_LEN(sections)) {
            json_object_set(top, key, v);
            continue;
        }
        if (!json_is_object(v)) {
            rc = vg_err(err, errlen, -EINVAL, "%s: expected a mapping", key);
            goto out;
        }
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s.", key);
        if ((rc = parse_fields(v, prefix, sections[i].fields, dir, node, err, errlen)))
            goto out;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(sections); i++)
        if (sections[i].fields != timing_fields && !json_object_get(doc, sections[i].key) &&
            sections[i].fields[0].required) {
            rc = vg_err(err, errlen, -EINVAL, "%s: required", sections[i].key);
            goto out;
        }
    rc = parse_fields(top, "", top_fields, dir, node, err, errlen);
out:
    json_decref(top);
    return rc;
}

/* Leases must expire before the witness may declare the primary dead
 * (DESIGN.md section 3, "Leases"), with margin for heartbeats in flight. */
static int check_timing(const struct vg_node_timing *t, char *err, size_t errlen)
{
    if (t->lease_ms + 2 * t->heartbeat_ms > t->dead_after_ms)
        return vg_err(err, errlen, -EINVAL,
                      "timing: lease_ms (%u) + 2 heartbeats (%u) must not exceed dead_after_ms "
                      "(%u), or an isolated primary could still serve after a failover",
                      t->lease_ms, 2 * t->heartbeat_ms, t->dead_after_ms);
    if (t->ack_timeout_ms < 2 * t->heartbeat_ms)
        return vg_err(err, errlen, -EINVAL,
                      "timing: ack_timeout_ms (%u) must be at least two heartbeats (%u)",
                      t->ack_timeout_ms, 2 * t->heartbeat_ms);
    return 0;
}

int vg_node_parse(const char *text, size_t len, const char *source, const char *dir,
                  struct vg_node *node, char *err, size_t errlen)
{
    memset(node, 0, sizeof *node);
    node->timing = (struct vg_node_timing){VG_NODE_HEARTBEAT_MS, VG_NODE_ACK_TIMEOUT_MS,
                                           VG_NODE_LEASE_MS, VG_NODE_DEAD_AFTER_MS};
    snprintf(node->witness_name, sizeof node->witness_name, "witness");
    json_t *docs = NULL;
    int rc = vg_yamljson_parse(text, len, source, &docs, err, errlen);
    if (rc)
        return rc;
    if (json_array_size(docs) != 1 || !json_is_object(json_array_get(docs, 0))) {
        rc = vg_err(err, errlen, -EINVAL, "%s: expected one mapping", source ? source : "node");
        goto out;
    }
    rc = parse_sections(json_array_get(docs, 0), dir, node, err, errlen);
    if (!rc)
        rc = check_timing(&node->timing, err, errlen);
    if (!rc && !strcmp(node->name, node->peer_name))
        rc = vg_err(err, errlen, -EINVAL, "peer.name: must differ from name");
    if (!rc && !node->keyring[0])
        snprintf(node->keyring, sizeof node->keyring, "%.1000s/keyring", node->data);
out:
    json_decref(docs);
    return rc;
}

int vg_node_load(const char *path, struct vg_node *node, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vg_err(err, errlen, -errno, "cannot open node file '%s': %s", path,
                      strerror(errno));
    char text[65536];
    size_t n = fread(text, 1, sizeof text, f);
    int too_big = n == sizeof text;
    fclose(f);
    if (too_big)
        return vg_err(err, errlen, -EFBIG, "node file '%s' is larger than 64 KiB", path);
    char dir[VG_NODE_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return vg_node_parse(text, n, path, dir, node, err, errlen);
}

/*
 * state_query.c - read side of the state: listing with selectors, tokens,
 * the change history for watchers, and the snapshot dump/load.
 *
 * Shares struct vg_state with state.c through state_int.h.
 */
#include "state/state_int.h"

#include "service/service.h"

#include "core/jsonout.h"

#include "schema/schema.h"
#include "state/selector.h"

static int cmp_name(const void *a, const void *b)
{
    const json_t *const *x = a, *const *y = b;
    return strcmp(json_string_value(json_object_get(*x, "name")),
                  json_string_value(json_object_get(*y, "name")));
}

/* Where list results go: unpacked, redacted unless with_secrets. */
struct list_out {
    json_t **v;
    size_t n, cap;
    int with_secrets;
};

/* Appends the objects of by_name whose labels match to out. */
static void collect(json_t *by_name, const vg_selector_t *sel, struct list_out *out)
{
    const char *name;
    json_t *packed;
    json_object_foreach(by_name, name, packed)
    {
        json_t *obj = vg_state_unpack(packed);
        if (!vg_selector_matches(sel, json_object_get(obj, "labels"))) {
            json_decref(obj);
            continue;
        }
        if (!out->with_secrets)
            vg_schema_redact(obj);
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 64;
            out->v = vg_realloc(out->v, out->cap * sizeof *out->v);
        }
        out->v[out->n++] = obj;
    }
}

static int list(const vg_state_t *st, const char *kind, const char *selector, int with_secrets,
                json_t **items, char *err, size_t errlen)
{
    vg_selector_t sel;
    int rc = vg_selector_parse(selector, &sel, err, errlen);
    if (rc)
        return rc;
    struct list_out out = {.with_secrets = with_secrets};
    if (kind) {
        json_t *by_name = json_object_get(st->kinds, kind);
        if (by_name)
            collect(by_name, &sel, &out);
    } else {
        const char *k;
        json_t *by_name;
        json_object_foreach(st->kinds, k, by_name) collect(by_name, &sel, &out);
    }
    if (out.n) /* v is NULL when nothing matched */
        qsort(out.v, out.n, sizeof *out.v, cmp_name);
    json_t *array = json_array();
    for (size_t i = 0; i < out.n; i++)
        json_array_append_new(array, out.v[i]);
    free(out.v);
    *items = array;
    return 0;
}

int vg_state_list(const vg_state_t *st, const char *kind, const char *selector, json_t **items,
                  char *err, size_t errlen)
{
    return list(st, kind, selector, 0, items, err, errlen);
}

int vg_state_list_unredacted(const vg_state_t *st, const char *kind, const char *selector,
                             json_t **items, char *err, size_t errlen)
{
    return list(st, kind, selector, 1, items, err, errlen);
}

enum vg_role vg_state_token(const vg_state_t *st, const char *id, const char **hash_hex)
{
    json_t *tok = json_object_get(st->tokens, id);
    if (!tok || json_is_true(json_object_get(tok, "revoked")))
        return VG_ROLE_NONE;
    enum vg_role role;
    if (vg_role_parse(json_string_value(json_object_get(tok, "role")), &role))
        return VG_ROLE_NONE;
    *hash_hex = json_string_value(json_object_get(tok, "hash"));
    return *hash_hex ? role : VG_ROLE_NONE;
}

json_t *vg_state_tokens(const vg_state_t *st)
{
    json_t *out = json_array();
    const char *id;
    json_t *tok;
    json_object_foreach(st->tokens, id, tok)
    {
        json_t *pub = vg_json_copy(tok);
        json_object_del(pub, "hash"); /* even the hash stays inside */
        json_array_append_new(out, pub);
    }
    return out;
}

int vg_state_changes_since(const vg_state_t *st, uint64_t from, vg_change_fn fn, void *ctx)
{
    if (!vg_state_history_covers(st, from))
        return -ERANGE;
    for (size_t i = 0; i < st->hist_len; i++) {
        const struct history_entry *e = &st->history[(st->hist_head + i) % HISTORY_CAP];
        if (e->revision <= from)
            continue;
        json_t *obj = vg_state_unpack(e->packed);
        vg_schema_redact(obj); /* the history is read by watchers only */
        vg_change_t ch = {e->revision, e->type, obj};
        fn(ctx, &ch);
        json_decref(obj);
    }
    return 0;
}

int vg_state_history_covers(const vg_state_t *st, uint64_t from)
{
    return from >= st->dropped_revision;
}

size_t vg_state_history_bytes_since(const vg_state_t *st, uint64_t from)
{
    size_t bytes = 0;
    for (size_t i = st->hist_len; i-- > 0;) {
        const struct history_entry *e = &st->history[(st->hist_head + i) % HISTORY_CAP];
        if (e->revision <= from)
            break;
        bytes += json_string_length(e->packed);
    }
    return bytes;
}

void vg_state_set_observer(vg_state_t *st, vg_change_fn fn, void *ctx)
{
    st->observer = fn;
    st->observer_ctx = ctx;
}

void vg_state_set_extra_observer(vg_state_t *st, vg_change_fn fn, void *ctx)
{
    st->extra_observer = fn;
    st->extra_observer_ctx = ctx;
}

/* {kind: {name: object}} with each object's packed text written as it is. */
static void dump_objects(const json_t *kinds, vg_buf_t *out)
{
    const char *kind, *name;
    json_t *by_name, *packed;
    int first_kind = 1;
    vg_buf_add(out, "{", 1);
    json_object_foreach((json_t *)kinds, kind, by_name)
    {
        if (!first_kind)
            vg_buf_add(out, ",", 1);
        first_kind = 0;
        vg_json_dump_string(kind, strlen(kind), out);
        vg_buf_add(out, ":{", 2);
        int first = 1;
        json_object_foreach(by_name, name, packed)
        {
            if (!first)
                vg_buf_add(out, ",", 1);
            first = 0;
            vg_json_dump_string(name, strlen(name), out);
            vg_buf_add(out, ":", 1);
            vg_buf_add(out, json_string_value(packed), json_string_length(packed));
        }
        vg_buf_add(out, "}", 1);
    }
    vg_buf_add(out, "}", 1);
}

static void dump_member(const char *key, const json_t *value, vg_buf_t *out)
{
    vg_buf_printf(out, ",\"%s\":", key);
    vg_json_dump(value, out);
}

void vg_state_dump(const vg_state_t *st, vg_buf_t *out)
{
    vg_buf_printf(out, "{\"version\":1,\"applied_index\":%llu,\"epoch\":%llu,\"objects\":",
                  (unsigned long long)st->applied_index, (unsigned long long)st->epoch);
    dump_objects(st->kinds, out);
    dump_member("tokens", st->tokens, out);
    dump_member("events", st->events, out);
    dump_member("cluster", st->cluster, out);
    vg_buf_adds(out, ",\"services\":{");
    for (size_t i = 0; vg_service_data[i]; i++) {
        vg_buf_printf(out, "%s\"%s\":", i ? "," : "", vg_service_data[i]->name);
        vg_service_data[i]->dump(st->slices[i], out);
    }
    vg_buf_add(out, "}}", 2);
}

/* {kind: {name: object}} from a snapshot, packed (objects are compacted in
 * place); NULL (err set) if any part is not of that shape. */
static json_t *pack_objects(vg_state_t *st, json_t *kinds, size_t *n_objects, char *err,
                            size_t errlen)
{
    json_t *out = json_object();
    const char *kind, *name;
    json_t *by_name, *obj;
    *n_objects = 0;
    json_object_foreach(kinds, kind, by_name)
    {
        if (!json_is_object(by_name))
            goto bad;
        json_t *packed_by_name = json_object();
        json_object_set_new(out, kind, packed_by_name);
        json_object_foreach(by_name, name, obj)
        {
            if (!json_is_object(obj))
                goto bad;
            vg_state_compact(obj);
            json_object_set_new(packed_by_name, name, vg_state_pack(st, obj));
            (*n_objects)++;
        }
    }
    return out;
bad:
    json_decref(out);
    vg_err(err, errlen, -EINVAL, "snapshot state is malformed: objects of kind '%s'", kind);
    return NULL;
}

int vg_state_load(vg_state_t *st, json_t *dump, char *err, size_t errlen)
{
    json_int_t version = 0, applied = 0, epoch = 0;
    json_t *kinds = NULL, *tokens = NULL, *events = NULL, *cluster = NULL, *services = NULL;
    json_error_t jerr;
    if (json_unpack_ex(dump, &jerr, 0, "{s:I, s:I, s:I, s:o, s:o, s?o, s?o, s?o}", "version",
                       &version, "applied_index", &applied, "epoch", &epoch, "objects", &kinds,
                       "tokens", &tokens, "events", &events, "cluster", &cluster, "services",
                       &services))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: %s", jerr.text);
    if (version != 1)
        return vg_err(err, errlen, -EINVAL, "snapshot state version %lld is not supported",
                      (long long)version);
    if (!json_is_object(kinds) || !json_is_object(tokens))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: objects or tokens");
    if (services && !json_is_object(services))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: services");
    /* each service's slice; one written before services were is read from
     * the state's own members (the slice's load knows the old names) */
    void **slices = vg_state_slices_new();
    for (size_t i = 0; vg_service_data[i]; i++) {
        const json_t *part = services ? json_object_get(services, vg_service_data[i]->name) : dump;
        if (part && vg_service_data[i]->load(slices[i], part, err, errlen)) {
            vg_state_slices_free(slices);
            return -EINVAL;
        }
    }
    size_t n_objects;
    json_t *packed = pack_objects(st, kinds, &n_objects, err, errlen);
    if (!packed) {
        vg_state_slices_free(slices);
        return -EINVAL;
    }
    vg_state_history_clear(st);
    json_decref(st->kinds);
    json_decref(st->tokens);
    st->kinds = packed;
    st->tokens = vg_json_copy(tokens);
    /* snapshots from before cluster events have neither */
    json_decref(st->events);
    json_decref(st->cluster);
    st->events = json_is_array(events) ? vg_json_copy(events) : json_array();
    st->cluster = json_is_object(cluster) ? vg_json_copy(cluster) : json_object();
    vg_state_slices_free(st->slices);
    st->slices = slices;
    st->applied_index = (uint64_t)applied;
    st->epoch = (uint64_t)epoch;
    st->dropped_revision = (uint64_t)applied; /* history before the snapshot is gone */
    st->n_objects = n_objects;
    return 0;
}

/*
 * state.c - the applied state: objects by kind and name, API tokens, and a
 * bounded in-memory history of changes for watchers.
 *
 * Workload: thousands to a few hundred thousand small objects, read far more
 * often than written; everything fits in memory and is rebuilt at start from
 * the sealed snapshot plus the log tail. That is why there is no SQLite here:
 * an in-memory index over an encrypted log gives the queries we need without
 * a second on-disk format that would have to be encrypted page by page.
 * Objects are held packed (state_int.h), so a hundred thousand sensors cost
 * their text rather than a jansson tree each.
 *
 * Must never: read the clock, touch the disk or depend on anything but the
 * record being applied (both members must reach the same state).
 */
#include "state/state_int.h"

#include "core/jsonout.h"

#include <time.h>

#include "schema/schema.h"
#include "service/service.h"
#include "store/record.h"

vg_state_t *vg_state_new(void)
{
    vg_state_t *st = vg_calloc(1, sizeof *st);
    st->kinds = json_object();
    st->tokens = json_object();
    st->events = json_array();
    st->slices = vg_state_slices_new();
    st->cluster = json_object();
    st->history = vg_calloc(HISTORY_CAP, sizeof *st->history);
    return st;
}

void vg_state_history_clear(vg_state_t *st)
{
    for (size_t i = 0; i < st->hist_len; i++)
        json_decref(st->history[(st->hist_head + i) % HISTORY_CAP].packed);
    st->hist_len = 0;
    st->hist_head = 0;
    st->hist_bytes = 0;
}

void vg_state_free(vg_state_t *st)
{
    if (!st)
        return;
    vg_state_history_clear(st);
    free(st->history);
    json_decref(st->kinds);
    json_decref(st->tokens);
    json_decref(st->events);
    vg_state_slices_free(st->slices);
    json_decref(st->cluster);
    vg_buf_release(&st->scratch);
    free(st);
}

json_t *vg_state_pack(vg_state_t *st, const json_t *obj)
{
    vg_buf_reset(&st->scratch);
    vg_json_dump(obj, &st->scratch);
    return json_stringn_nocheck((const char *)st->scratch.data, st->scratch.len);
}

json_t *vg_state_unpack(const json_t *packed)
{
    json_error_t jerr;
    /* NUL inside a string is legal JSON and may have come in a manifest */
    json_t *obj = json_loadb(json_string_value(packed), json_string_length(packed),
                             JSON_ALLOW_NUL, &jerr);
    if (!obj)
        VG_BUG("packed object does not parse back: %s", jerr.text);
    return obj;
}

static void history_drop_oldest(vg_state_t *st)
{
    struct history_entry *old = &st->history[st->hist_head];
    st->dropped_revision = old->revision;
    st->hist_bytes -= json_string_length(old->packed);
    json_decref(old->packed);
    st->hist_head = (st->hist_head + 1) % HISTORY_CAP;
    st->hist_len--;
}

/* object is the change as observers see it, packed its packed form (the
 * history keeps a reference to packed only). object's secrets are redacted
 * here, after packing: observers and the apply's result are outputs. */
static void history_push(vg_state_t *st, uint64_t revision, const char *type, json_t *object,
                         json_t *packed)
{
    size_t size = json_string_length(packed);
    while (st->hist_len == HISTORY_CAP ||
           (st->hist_len && st->hist_bytes + size > HISTORY_MAX_BYTES))
        history_drop_oldest(st);
    struct history_entry *e = &st->history[(st->hist_head + st->hist_len) % HISTORY_CAP];
    e->revision = revision;
    e->type = type;
    e->packed = json_incref(packed);
    st->hist_len++;
    st->hist_bytes += size;
    vg_schema_redact(object);
    if (st->observer) {
        vg_change_t ch = {revision, type, object};
        st->observer(st->observer_ctx, &ch);
    }
    if (st->extra_observer) {
        vg_change_t ch = {revision, type, object};
        st->extra_observer(st->extra_observer_ctx, &ch);
    }
}

static char *put_digits(char *at, int value, int width)
{
    for (int i = width - 1; i >= 0; i--, value /= 10)
        at[i] = (char)('0' + value % 10);
    return at + width;
}

/* RFC 3339 UTC from the record's own timestamp, formatted by hand: strftime
 * and snprintf were a visible share of every write. */
static json_t *time_string(json_int_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char out[32], *at = out;
    at = put_digits(at, tm.tm_year + 1900, 4);
    *at++ = '-';
    at = put_digits(at, tm.tm_mon + 1, 2);
    *at++ = '-';
    at = put_digits(at, tm.tm_mday, 2);
    *at++ = 'T';
    at = put_digits(at, tm.tm_hour, 2);
    *at++ = ':';
    at = put_digits(at, tm.tm_min, 2);
    *at++ = ':';
    at = put_digits(at, tm.tm_sec, 2);
    *at++ = '.';
    at = put_digits(at, (int)(ms % 1000), 3);
    *at++ = 'Z';
    return json_stringn_nocheck(out, (size_t)(at - out));
}

static int fail(vg_apply_result_t *res, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(vg_apply_result_t *res, int code, const char *fmt, ...)
{
    if (res) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->msg, sizeof res->msg, fmt, ap);
        va_end(ap);
        res->code = code;
    }
    return code;
}

/* If-Match semantics: absent = unconditional; 0 = must not exist. */
int vg_state_check_revision(const json_t *existing, json_int_t want, char *msg, size_t msglen)
{
    json_int_t have = existing ? json_integer_value(json_object_get(existing, "revision")) : 0;
    if (have == want)
        return 0;
    return vg_err(msg, msglen, -VG_ECONFLICT,
                  "revision conflict: object is at revision %lld, If-Match %lld",
                  (long long)have, (long long)want);
}

static int check_if_match(const json_t *payload, const json_t *existing, vg_apply_result_t *res)
{
    json_t *want = json_object_get(payload, "if_match");
    if (!json_is_integer(want))
        return 0;
    int rc = vg_state_check_revision(existing, json_integer_value(want), res ? res->msg : NULL,
                                     res ? sizeof res->msg : 0);
    if (rc && res)
        res->code = rc;
    return rc;
}

/* Empty labels and description are not kept (absent means empty), so the
 * same object always packs to the same text. */
void vg_state_compact(json_t *obj)
{
    const json_t *labels = json_object_get(obj, "labels");
    if (labels && json_object_size(labels) == 0)
        json_object_del(obj, "labels");
    const json_t *description = json_object_get(obj, "description");
    if (json_is_string(description) && json_string_length(description) == 0)
        json_object_del(obj, "description");
}

/* Stores obj (a finished object) packed under kind/name and tells the
 * history and the observers. Takes no reference from obj. */
static void store(vg_state_t *st, json_t *by_name, const char *name, uint64_t index,
                  json_t *obj)
{
    json_t *packed = vg_state_pack(st, obj);
    json_object_set(by_name, name, packed);
    history_push(st, index, "put", obj, packed);
    json_decref(packed);
}

static int apply_put(vg_state_t *st, uint64_t index, json_t *payload, vg_apply_result_t *res)
{
    json_t *manifest = json_object_get(payload, "object");
    const char *kind = json_string_value(json_object_get(manifest, "kind"));
    const char *name = json_string_value(json_object_get(manifest, "name"));
    if (!kind || !name)
        return fail(res, -EINVAL, "put record without kind/name");
    json_t *by_name = json_object_get(st->kinds, kind);
    json_t *packed = by_name ? json_object_get(by_name, name) : NULL;
    json_t *existing = packed ? vg_state_unpack(packed) : NULL;
    int rc = check_if_match(payload, existing, res);
    if (rc)
        goto out;

    json_int_t time_ms = json_integer_value(json_object_get(payload, "time"));
    json_t *obj = json_incref(manifest); /* the record is consumed: no copy */
    json_t *status = existing ? json_object_get(existing, "status") : NULL;
    json_object_del(obj, "status");
    if (status && json_object_size(status))
        json_object_set(obj, "status", status);
    vg_state_compact(obj);
    json_object_set_new(obj, "revision", json_integer((json_int_t)index));
    json_t *created = existing ? json_object_get(existing, "created") : NULL;
    json_t *now = time_string(time_ms);
    json_object_set_new(obj, "created", json_incref(created ? created : now));
    json_object_set_new(obj, "updated", now);

    if (!by_name) {
        by_name = json_object();
        json_object_set_new(st->kinds, kind, by_name);
    }
    if (!existing)
        st->n_objects++;
    store(st, by_name, name, index, obj);
    if (res) {
        res->created = existing == NULL;
        res->object = obj; /* hand our reference to the caller */
    } else {
        json_decref(obj);
    }
out:
    json_decref(existing);
    return rc;
}

static int apply_delete(vg_state_t *st, uint64_t index, const json_t *payload,
                        vg_apply_result_t *res)
{
    const char *kind = json_string_value(json_object_get(payload, "kind"));
    const char *name = json_string_value(json_object_get(payload, "name"));
    if (!kind || !name)
        return fail(res, -EINVAL, "delete record without kind/name");
    json_t *by_name = json_object_get(st->kinds, kind);
    json_t *packed = by_name ? json_object_get(by_name, name) : NULL;
    if (!packed)
        return fail(res, -ENOENT, "%s '%s' not found", kind, name);
    json_t *gone = vg_state_unpack(packed);
    int rc = check_if_match(payload, gone, res);
    if (rc) {
        json_decref(gone);
        return rc;
    }
    json_object_set_new(gone, "revision", json_integer((json_int_t)index));
    json_object_del(by_name, name);
    st->n_objects--;
    json_t *packed_gone = vg_state_pack(st, gone);
    history_push(st, index, "delete", gone, packed_gone);
    json_decref(packed_gone);
    if (res)
        res->object = gone;
    else
        json_decref(gone);
    return 0;
}

static int apply_token_create(vg_state_t *st, const json_t *payload, vg_apply_result_t *res)
{
    const char *id = json_string_value(json_object_get(payload, "id"));
    if (!id || !json_is_string(json_object_get(payload, "hash")))
        return fail(res, -EINVAL, "token record without id/hash");
    if (json_object_get(st->tokens, id))
        return fail(res, -EEXIST, "token id '%s' exists", id);
    json_t *tok = json_pack(
        "{s:s, s:O, s:O, s:O, s:o, s:b}", "id", id, "name", json_object_get(payload, "name"),
        "role", json_object_get(payload, "role"), "hash", json_object_get(payload, "hash"),
        "created", time_string(json_integer_value(json_object_get(payload, "time"))), "revoked",
        0);
    if (!tok)
        return fail(res, -EINVAL, "token record '%s' is malformed", id);
    json_object_set_new(st->tokens, id, tok);
    if (res)
        res->object = json_incref(tok);
    return 0;
}

static int apply_token_revoke(vg_state_t *st, const json_t *payload, vg_apply_result_t *res)
{
    const char *id = json_string_value(json_object_get(payload, "id"));
    json_t *tok = id ? json_object_get(st->tokens, id) : NULL;
    if (!tok)
        return fail(res, -ENOENT, "token '%s' not found", id ? id : "");
    json_object_set_new(tok, "revoked", json_true());
    if (res)
        res->object = json_incref(tok);
    return 0;
}

static void count(json_t *cluster, const char *key)
{
    json_int_t n = json_integer_value(json_object_get(cluster, key));
    json_object_set_new(cluster, key, json_integer(n + 1));
}

/* Cluster events and configuration changes. The payload was made by a
 * member (never a client), but a malformed one is kept out of the list
 * rather than trusted. */
static int apply_event(vg_state_t *st, uint64_t index, json_t *payload)
{
    if (!json_is_object(payload) || !json_is_string(json_object_get(payload, "kind")))
        return 0;
    json_object_set_new(payload, "index", json_integer((json_int_t)index));
    json_array_append(st->events, payload);
    if (json_array_size(st->events) > VG_STATE_EVENTS_CAP)
        json_array_remove(st->events, 0);
    json_t *config = json_object_get(payload, "config");
    if (!json_is_object(config))
        return 0;
    json_object_set(st->cluster, "last_change", payload);
    const char *kind = json_string_value(json_object_get(payload, "kind"));
    if (!strcmp(kind, "failover") || !strcmp(kind, "forced"))
        count(st->cluster, "failovers");
    else if (!strcmp(kind, "switchover"))
        count(st->cluster, "switchovers");
    else if (!strcmp(kind, "degraded"))
        count(st->cluster, "degrades");
    return 0;
}

void **vg_state_slices_new(void)
{
    size_t n = 0;
    while (vg_service_data[n])
        n++;
    void **slices = vg_calloc(n + 1, sizeof *slices);
    for (size_t i = 0; i < n; i++)
        slices[i] = vg_service_data[i]->slice_new();
    return slices;
}

void vg_state_slices_free(void **slices)
{
    if (!slices)
        return;
    for (size_t i = 0; vg_service_data[i]; i++)
        vg_service_data[i]->slice_free(slices[i]);
    free(slices);
}

void *vg_state_slice(const vg_state_t *st, const struct vg_service_data *data)
{
    for (size_t i = 0; vg_service_data[i]; i++)
        if (vg_service_data[i] == data)
            return st->slices[i];
    VG_BUG("service data '%s' is not in vg_service_data[]", data->name);
}

static int apply_one(vg_state_t *st, uint64_t index, uint16_t type, json_t *payload,
                     vg_apply_result_t *res);

int vg_state_apply(vg_state_t *st, uint64_t epoch, uint64_t index, uint16_t type,
                   json_t *payload, vg_apply_result_t *res)
{
    if (index != st->applied_index + 1)
        VG_BUG("apply out of order: index %llu after %llu", (unsigned long long)index,
               (unsigned long long)st->applied_index);
    if (res)
        memset(res, 0, sizeof *res);
    st->applied_index = index;
    if (epoch > st->epoch)
        st->epoch = epoch;
    int rc = apply_one(st, index, type, payload, res);
    if (st->record_observer)
        st->record_observer(st->record_observer_ctx, index, type);
    return rc;
}

void vg_state_set_record_observer(vg_state_t *st, vg_record_fn fn, void *ctx)
{
    st->record_observer = fn;
    st->record_observer_ctx = ctx;
}

static int apply_one(vg_state_t *st, uint64_t index, uint16_t type, json_t *payload,
                     vg_apply_result_t *res)
{
    switch (type) {
    case VG_REC_OBJ_PUT:
        return apply_put(st, index, payload, res);
    case VG_REC_OBJ_DELETE:
        return apply_delete(st, index, payload, res);
    case VG_REC_TOKEN_CREATE:
        return apply_token_create(st, payload, res);
    case VG_REC_TOKEN_REVOKE:
        return apply_token_revoke(st, payload, res);
    case VG_REC_CONFIG:
    case VG_REC_EVENT:
        return apply_event(st, index, payload);
    default: {
        size_t slot;
        const struct vg_service_data *owner = vg_service_data_owner(type, &slot);
        if (owner)
            return owner->apply(st->slices[slot], index, type, payload);
        return 0; /* NOOP: only advances the index */
    }
    }
}

int vg_state_apply_record(vg_state_t *st, const vg_record_t *rec, vg_apply_result_t *res,
                          char *err, size_t errlen)
{
    json_t *payload = NULL;
    if (rec->payload_len) {
        json_error_t jerr;
        /* NUL inside a string is legal JSON: read back what was written */
        payload =
            json_loadb((const char *)rec->payload, rec->payload_len, JSON_ALLOW_NUL, &jerr);
        if (!payload)
            return vg_err(err, errlen, -VG_ECORRUPT,
                          "record %llu (type %u) cannot be applied: its payload is not JSON: "
                          "%s at byte %d",
                          (unsigned long long)rec->index, (unsigned)rec->type, jerr.text,
                          jerr.position);
    }
    vg_state_apply(st, rec->epoch, rec->index, rec->type, payload, res);
    json_decref(payload);
    return 0;
}

uint64_t vg_state_applied_index(const vg_state_t *st)
{
    return st->applied_index;
}

uint64_t vg_state_epoch(const vg_state_t *st)
{
    return st->epoch;
}

json_t *vg_state_events(const vg_state_t *st)
{
    return st->events;
}


json_t *vg_state_cluster(const vg_state_t *st)
{
    return st->cluster;
}

size_t vg_state_n_objects(const vg_state_t *st)
{
    return st->n_objects;
}

json_t *vg_state_get_unredacted(const vg_state_t *st, const char *kind, const char *name)
{
    json_t *by_name = json_object_get(st->kinds, kind);
    json_t *packed = by_name ? json_object_get(by_name, name) : NULL;
    return packed ? vg_state_unpack(packed) : NULL;
}

json_t *vg_state_get(const vg_state_t *st, const char *kind, const char *name)
{
    json_t *obj = vg_state_get_unredacted(st, kind, name);
    if (obj)
        vg_schema_redact(obj);
    return obj;
}

/*
 * routes_objects.c - /api/v1/objects: put, get, list and delete of objects.
 *
 * A PUT or DELETE is checked completely (schema, names, If-Match against the
 * committed state) before a record is appended; the apply step checks
 * If-Match again because other writes may commit in between. A PUT is
 * merged over the stored object's secrets first (schema.h), so applying
 * what GET showed ({"secret": true}) is "unchanged"; every object replied
 * comes from the state already redacted (state.h).
 */
#include "api/api_int.h"

#include <event2/keyvalq_struct.h>
#include <limits.h>

#include "schema/schema.h"
#include "state/state.h"
#include "cluster/wire.h"
#include "store/record.h"

/* A put record is the normalized object plus a wrapper of well under 4 KiB
 * (actor, time, if_match), and the state adds revision and timestamps. The
 * schema's object limit must leave it room in a record, in one mirroring
 * batch and in a watcher's output buffer, so that nothing accepted here can
 * fail to be logged, mirrored, replayed or sent. */
#define PUT_RECORD_SLACK (64u << 10)
_Static_assert(VG_SCHEMA_OBJECT_BYTES + PUT_RECORD_SLACK < VG_RECORD_MAX_PAYLOAD,
               "an object of the schema's maximum size must fit in a log record");
_Static_assert(VG_SCHEMA_OBJECT_BYTES + PUT_RECORD_SLACK < VG_WIRE_MAX_BODY,
               "an object of the schema's maximum size must fit in a mirroring batch");
_Static_assert(VG_SCHEMA_OBJECT_BYTES + PUT_RECORD_SLACK < VG_WATCH_MAX_BUFFER,
               "an object of the schema's maximum size must fit in a watcher's buffer");

/* If-Match: absent -> 0 with *present = 0; a decimal revision otherwise. */
static int parse_if_match(struct vg_call *call, json_int_t *rev, int *present)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(call->req), "If-Match");
    *present = 0;
    if (!h)
        return 0;
    if (h[0] == '"') /* tolerate ETag-style quoting */
        h++;
    char *end;
    errno = 0;
    long long v = h[0] >= '0' && h[0] <= '9' ? strtoll(h, &end, 10) : -1;
    if (v < 0 || errno || (*end && strcmp(end, "\"") != 0)) {
        vg_api_reply_error(call->srv, call->req, 400, "If-Match",
                           "If-Match must be a revision number from 0 to %lld", LLONG_MAX);
        return -EINVAL;
    }
    *rev = v;
    *present = 1;
    return 0;
}

static int conflicts(struct vg_call *call, const json_t *existing, int present, json_int_t want)
{
    char msg[256];
    if (!present || vg_state_check_revision(existing, want, msg, sizeof msg) == 0)
        return 0;
    vg_api_reply_error(call->srv, call->req, 409, NULL, "%s", msg);
    return 1;
}

/* An absent field and an empty one are the same: the state does not keep
 * empty labels or descriptions. */
static int same_field(const json_t *a, const json_t *b)
{
    int a_empty = !a || (json_is_object(a) && json_object_size(a) == 0) ||
                  (json_is_string(a) && json_string_length(a) == 0);
    int b_empty = !b || (json_is_object(b) && json_object_size(b) == 0) ||
                  (json_is_string(b) && json_string_length(b) == 0);
    return (a_empty && b_empty) || (a && b && json_equal(a, b));
}

static int manifest_unchanged(const json_t *existing, const json_t *manifest)
{
    static const char *fields[] = {"labels", "description", "spec"};
    if (!existing)
        return 0;
    for (size_t i = 0; i < VG_ARRAY_LEN(fields); i++)
        if (!same_field(json_object_get(existing, fields[i]),
                        json_object_get(manifest, fields[i])))
            return 0;
    return 1;
}

static void put_committed(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code)
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
    else
        vg_api_reply_json(pc->srv, pc->req, res->created ? 201 : 200, res->object);
}

static json_t *write_payload(struct vg_call *call, int present, json_int_t if_match)
{
    json_t *payload =
        json_pack("{s:s, s:I}", "actor", call->actor, "time", (json_int_t)vg_wall_ms());
    if (present)
        json_object_set_new(payload, "if_match", json_integer(if_match));
    return payload;
}

static void put_object(struct vg_call *call, const char *kind, const char *name)
{
    json_int_t if_match = 0;
    int present;
    if (parse_if_match(call, &if_match, &present))
        return;
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    json_t *manifest = NULL, *payload = NULL;
    char err[512], field[128] = "";
    /* with its secrets: the manifest keeps those it leaves out (schema.h) */
    json_t *existing = vg_state_get_unredacted(vg_member_state(call->srv->member), kind, name);
    if (vg_schema_validate_update(body, kind, name, existing, &manifest, err, sizeof err, field,
                                  sizeof field)) {
        vg_api_reply_error(call->srv, call->req, 400, field, "%s", err);
        goto out;
    }
    if (conflicts(call, existing, present, if_match))
        goto out;
    if (manifest_unchanged(existing, manifest)) { /* nothing to write: idempotent apply */
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Vigil-Result",
                          "unchanged");
        vg_schema_redact(existing);
        vg_api_reply_json(call->srv, call->req, 200, existing);
        goto out;
    }
    payload = write_payload(call, present, if_match);
    json_object_set(payload, "object", manifest);
    vg_api_submit(call, VG_REC_OBJ_PUT, payload, put_committed, NULL);
out:
    if (existing)
        vg_schema_redact(existing); /* wipes our copy of its secrets */
    json_decref(existing);
    json_decref(payload);
    json_decref(manifest);
    json_decref(body);
}

static void delete_committed(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code)
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
    else
        vg_api_reply_json(pc->srv, pc->req, 200, res->object);
}

static void delete_object(struct vg_call *call, const char *kind, const char *name)
{
    json_int_t if_match = 0;
    int present;
    if (parse_if_match(call, &if_match, &present))
        return;
    json_t *existing = vg_state_get(vg_member_state(call->srv->member), kind, name);
    if (!existing) {
        vg_api_reply_error(call->srv, call->req, 404, NULL, "%s '%s' not found", kind, name);
        return;
    }
    int conflict = conflicts(call, existing, present, if_match);
    json_decref(existing);
    if (conflict)
        return;
    json_t *payload = write_payload(call, present, if_match);
    json_object_set_new(payload, "kind", json_string(kind));
    json_object_set_new(payload, "name", json_string(name));
    vg_api_submit(call, VG_REC_OBJ_DELETE, payload, delete_committed, NULL);
    json_decref(payload);
}

static void get_object(struct vg_call *call, const char *kind, const char *name)
{
    json_t *obj = vg_state_get(vg_member_state(call->srv->member), kind, name);
    if (!obj)
        vg_api_reply_error(call->srv, call->req, 404, NULL, "%s '%s' not found", kind, name);
    else
        vg_api_reply_json(call->srv, call->req, 200, obj);
    json_decref(obj);
}

static void list_objects(struct vg_call *call, const char *kind)
{
    vg_state_t *st = vg_member_state(call->srv->member);
    const char *selector = evhttp_find_header(&call->query, "selector");
    json_t *items;
    char err[256];
    if (vg_state_list(st, kind, selector, &items, err, sizeof err)) {
        vg_api_reply_error(call->srv, call->req, 400, "selector", "%s", err);
        return;
    }
    json_t *body = json_pack("{s:s, s:o, s:I}", "kind", kind ? kind : "", "items", items,
                             "revision", (json_int_t)vg_state_applied_index(st));
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

static int check_kind(struct vg_call *call, const char *kind)
{
    if (vg_schema_kind(kind))
        return 1;
    vg_buf_t known = VG_BUF_INIT;
    const struct vg_kind *const *k = vg_schema_kinds();
    for (size_t i = 0; k[i]; i++)
        vg_buf_printf(&known, "%s%s", i ? ", " : "", k[i]->name);
    vg_api_reply_error(call->srv, call->req, 404, "kind", "unknown kind '%s' (known: %s)", kind,
                       known.data ? (char *)known.data : "");
    vg_buf_release(&known);
    return 0;
}

void vg_api_list_all(struct vg_call *call)
{
    list_objects(call, NULL);
}

void vg_api_list_kind(struct vg_call *call)
{
    if (check_kind(call, call->args[0]))
        list_objects(call, call->args[0]);
}

void vg_api_get_object(struct vg_call *call)
{
    if (check_kind(call, call->args[0]))
        get_object(call, call->args[0], call->args[1]);
}

void vg_api_put_object(struct vg_call *call)
{
    if (check_kind(call, call->args[0]))
        put_object(call, call->args[0], call->args[1]);
}

void vg_api_delete_object(struct vg_call *call)
{
    if (check_kind(call, call->args[0]))
        delete_object(call, call->args[0], call->args[1]);
}

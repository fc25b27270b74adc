/*
 * protect_data.c - apply and snapshot of the protect slice
 * (protect_data.h). Runs inside every state's apply: deterministic, no
 * I/O, no clock.
 */
#include "protect/protect_data.h"

#include "core/jsonout.h"
#include "store/record.h"

struct protect_slice {
    json_t *frozen;          /* or NULL */
    json_t *last_switchover; /* or NULL */
    json_t *last_decision;   /* or NULL */
    json_t *decisions;       /* [decision] */
    json_t *drills;          /* [drill], oldest first (drill.h) */
};

static void *slice_new(void)
{
    struct protect_slice *s = vg_calloc(1, sizeof *s);
    s->decisions = json_array();
    s->drills = json_array();
    return s;
}

static void slice_free(void *slice)
{
    struct protect_slice *s = slice;
    if (!s)
        return;
    json_decref(s->frozen);
    json_decref(s->last_switchover);
    json_decref(s->last_decision);
    json_decref(s->decisions);
    json_decref(s->drills);
    free(s);
}

static void replace(json_t **slot, json_t *v)
{
    json_decref(*slot);
    *slot = v;
}

static int is_str(const json_t *p, const char *key)
{
    return json_is_string(json_object_get(p, key));
}

static void apply_decision(struct protect_slice *s, json_t *p)
{
    const char *d = json_string_value(json_object_get(p, "decision"));
    if (!d || !is_str(p, "site") || !is_str(p, "reason"))
        return;
    if (!strcmp(d, "switchover")) {
        replace(&s->last_switchover, json_incref(p));
    } else if (!strcmp(d, "failed")) {
        if (s->last_switchover) { /* a copy: the decision in the log stays as it was */
            json_t *copy = json_deep_copy(s->last_switchover);
            json_object_set_new(copy, "failed", json_true());
            replace(&s->last_switchover, copy);
        }
    } else if (strcmp(d, "declined")) {
        return;
    }
    replace(&s->last_decision, json_incref(p));
    json_array_append(s->decisions, p);
    if (json_array_size(s->decisions) > VG_PROTECT_LOG_CAP)
        json_array_remove(s->decisions, 0);
}

static json_t *drill_slot(const struct protect_slice *s, const char *id, size_t *at)
{
    size_t i;
    json_t *d;
    json_array_foreach(s->drills, i, d)
    {
        const char *did = json_string_value(json_object_get(d, "id"));
        if (did && !strcmp(did, id)) {
            if (at)
                *at = i;
            return d;
        }
    }
    return NULL;
}

/* A drill's whole report replaces the one with its id (the marks the slice
 * gathered stay), or is appended. */
static void apply_drill(struct protect_slice *s, json_t *p)
{
    json_t *d = json_object_get(p, "drill");
    const char *id = json_string_value(json_object_get(d, "id"));
    size_t at;
    if (!json_is_object(d) || !id || !json_is_string(json_object_get(d, "state")))
        return;
    json_t *old = drill_slot(s, id, &at), *copy = json_deep_copy(d);
    json_object_set(copy, "marks", old ? json_object_get(old, "marks") : NULL);
    if (!json_object_get(copy, "marks"))
        json_object_set_new(copy, "marks", json_array());
    if (old) {
        json_array_set_new(s->drills, at, copy);
        return;
    }
    json_array_append_new(s->drills, copy);
    if (json_array_size(s->drills) > VG_PROTECT_DRILL_CAP)
        json_array_remove(s->drills, 0);
}

/* A data-loss marker of a drill: {id, phase, time, index}. */
static void apply_mark(struct protect_slice *s, json_t *p)
{
    const char *id = json_string_value(json_object_get(p, "id"));
    json_t *d = id ? drill_slot(s, id, NULL) : NULL;
    json_t *marks = json_object_get(d, "marks");
    if (!json_is_array(marks) || !is_str(p, "phase") || json_array_size(marks) >= 16)
        return;
    json_array_append_new(marks, json_pack("{s:O,s:O,s:O}", "phase", json_object_get(p, "phase"),
                                           "time", json_object_get(p, "time"), "index",
                                           json_object_get(p, "index")));
}

static int apply(void *slice, uint64_t index, uint16_t type, json_t *payload)
{
    struct protect_slice *s = slice;
    const char *op = json_string_value(json_object_get(payload, "op"));
    (void)type;
    if (!json_is_object(payload) || !op || !json_is_integer(json_object_get(payload, "time")))
        return 0;
    json_object_set_new(payload, "index", json_integer((json_int_t)index));
    if (!strcmp(op, "freeze") && is_str(payload, "by") && is_str(payload, "reason"))
        replace(&s->frozen, json_incref(payload));
    else if (!strcmp(op, "unfreeze"))
        replace(&s->frozen, NULL);
    else if (!strcmp(op, "decision"))
        apply_decision(s, payload);
    else if (!strcmp(op, "drill"))
        apply_drill(s, payload);
    else if (!strcmp(op, "drill_mark"))
        apply_mark(s, payload);
    return 0;
}

static void dump_or_null(const json_t *v, vg_buf_t *out)
{
    if (v)
        vg_json_dump(v, out);
    else
        vg_buf_adds(out, "null");
}

static void dump(const void *slice, vg_buf_t *out)
{
    const struct protect_slice *s = slice;
    vg_buf_adds(out, "{\"frozen\":");
    dump_or_null(s->frozen, out);
    vg_buf_adds(out, ",\"last_switchover\":");
    dump_or_null(s->last_switchover, out);
    vg_buf_adds(out, ",\"last_decision\":");
    dump_or_null(s->last_decision, out);
    vg_buf_adds(out, ",\"decisions\":");
    vg_json_dump(s->decisions, out);
    vg_buf_adds(out, ",\"drills\":");
    vg_json_dump(s->drills, out);
    vg_buf_adds(out, "}");
}

static int load(void *slice, const json_t *d, char *err, size_t errlen)
{
    struct protect_slice *s = slice;
    static const char *const objects[] = {"frozen", "last_switchover", "last_decision"};
    json_t **slots[] = {&s->frozen, &s->last_switchover, &s->last_decision};
    const json_t *decisions = json_object_get(d, "decisions");
    const json_t *drills = json_object_get(d, "drills");
    if (decisions && !json_is_array(decisions))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: protect.decisions");
    if (drills && !json_is_array(drills))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: protect.drills");
    for (size_t i = 0; i < VG_ARRAY_LEN(objects); i++) {
        const json_t *v = json_object_get(d, objects[i]);
        if (v && !json_is_null(v) && !json_is_object(v))
            return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: protect.%s",
                          objects[i]);
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(objects); i++) {
        const json_t *v = json_object_get(d, objects[i]);
        replace(slots[i], json_is_object(v) ? vg_json_copy(v) : NULL);
    }
    if (decisions)
        replace(&s->decisions, vg_json_copy(decisions));
    if (drills)
        replace(&s->drills, vg_json_copy(drills));
    return 0;
}

static const uint16_t types[] = {VG_REC_PROTECT, 0};

const struct vg_service_data vg_protect_data = {
    .name = "protect",
    .record_types = types,
    .slice_new = slice_new,
    .slice_free = slice_free,
    .apply = apply,
    .dump = dump,
    .load = load,
};

static const struct protect_slice *slice_of(const vg_state_t *st)
{
    return vg_state_slice(st, &vg_protect_data);
}

json_t *vg_protect_frozen(const vg_state_t *st)
{
    return slice_of(st)->frozen;
}

json_t *vg_protect_last_switchover(const vg_state_t *st)
{
    return slice_of(st)->last_switchover;
}

json_t *vg_protect_last_decision(const vg_state_t *st)
{
    return slice_of(st)->last_decision;
}

json_t *vg_protect_decisions(const vg_state_t *st)
{
    return slice_of(st)->decisions;
}

json_t *vg_protect_drills(const vg_state_t *st)
{
    return slice_of(st)->drills;
}

json_t *vg_protect_drill(const vg_state_t *st, const char *id)
{
    return id ? drill_slot(slice_of(st), id, NULL) : NULL;
}

/*
 * alerts.c - apply and snapshot of the alert facts (alerts.h). Runs inside
 * every state's apply: deterministic, no I/O, no clock.
 */
#include "monitor/alerts.h"

#include "core/jsonout.h"
#include "store/record.h"

struct alerts {
    json_t *active; /* {id: change} */
    json_t *log;    /* [change], oldest first */
};

static void *slice_new(void)
{
    struct alerts *a = vg_calloc(1, sizeof *a);
    a->active = json_object();
    a->log = json_array();
    return a;
}

static void slice_free(void *slice)
{
    struct alerts *a = slice;
    if (!a)
        return;
    json_decref(a->active);
    json_decref(a->log);
    free(a);
}

/* A rule state change, made by the primary's rule engine. Like events, a
 * malformed payload is kept out rather than trusted. */
static int apply(void *slice, uint64_t index, uint16_t type, json_t *payload)
{
    struct alerts *a = slice;
    const char *id = json_string_value(json_object_get(payload, "id"));
    const char *to = json_string_value(json_object_get(payload, "to"));
    if (!json_is_object(payload) || !id || !to)
        return 0;
    json_object_set_new(payload, "index", json_integer((json_int_t)index));
    if (!strcmp(to, "ok"))
        json_object_del(a->active, id);
    else
        json_object_set(a->active, id, payload);
    json_array_append(a->log, payload);
    if (json_array_size(a->log) > VG_ALERT_LOG_CAP)
        json_array_remove(a->log, 0);
    return 0;
}

static void dump(const void *slice, vg_buf_t *out)
{
    const struct alerts *a = slice;
    vg_buf_adds(out, "{\"alerts\":");
    vg_json_dump(a->active, out);
    vg_buf_adds(out, ",\"alert_log\":");
    vg_json_dump(a->log, out);
    vg_buf_adds(out, "}");
}

/* Also reads snapshots written before services, where "alerts" and
 * "alert_log" were members of the state itself (the caller passes the
 * whole state then). */
static int load(void *slice, const json_t *dump, char *err, size_t errlen)
{
    struct alerts *a = slice;
    json_t *active = json_object_get(dump, "alerts");
    json_t *log = json_object_get(dump, "alert_log");
    if ((active && !json_is_object(active)) || (log && !json_is_array(log)))
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: alerts");
    if (active) {
        json_decref(a->active);
        a->active = vg_json_copy(active);
    }
    if (log) {
        json_decref(a->log);
        a->log = vg_json_copy(log);
    }
    return 0;
}

static const uint16_t types[] = {VG_REC_ALERT, 0};

const struct vg_service_data vg_alerts_data = {
    .name = "alerts",
    .record_types = types,
    .slice_new = slice_new,
    .slice_free = slice_free,
    .apply = apply,
    .dump = dump,
    .load = load,
};

json_t *vg_alerts_active(const vg_state_t *st)
{
    const struct alerts *a = vg_state_slice(st, &vg_alerts_data);
    return a->active;
}

json_t *vg_alerts_log(const vg_state_t *st)
{
    const struct alerts *a = vg_state_slice(st, &vg_alerts_data);
    return a->log;
}

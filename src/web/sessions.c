/*
 * sessions.c - the "sessions" slice: {session id: until} for the sessions
 * logged out (sessions.h). Applied on both members from VG_REC_SESSION
 * records; deterministic: entries past their time are dropped by the time
 * of the record being applied, never by the clock.
 */
#include "web/sessions.h"

#include "store/record.h"

static const uint16_t types[] = {VG_REC_SESSION, 0};

static void *slice_new(void)
{
    return json_object();
}

static void slice_free(void *slice)
{
    json_decref(slice);
}

static int is_sid(const char *sid)
{
    if (!sid || strlen(sid) != VG_SESSION_ID_HEX - 1)
        return 0;
    return strspn(sid, "0123456789abcdef") == VG_SESSION_ID_HEX - 1;
}

/* Drops the entries whose cookies have all expired by time_ms. */
static void prune(json_t *revoked, int64_t time_ms)
{
    const char *sid;
    json_t *until, *tmp;
    json_object_foreach_safe(revoked, tmp, sid, until)
    {
        if (json_integer_value(until) <= time_ms)
            json_object_del(revoked, sid);
    }
}

/* {"op":"revoke","sid","until","actor","time"}; anything else is kept out. */
static int apply(void *slice, uint64_t index, uint16_t type, json_t *payload)
{
    (void)index;
    (void)type;
    const char *op = json_string_value(json_object_get(payload, "op"));
    const char *sid = json_string_value(json_object_get(payload, "sid"));
    json_t *until = json_object_get(payload, "until");
    json_t *time = json_object_get(payload, "time");
    if (!op || strcmp(op, "revoke") || !is_sid(sid) || !json_is_integer(until) ||
        !json_is_integer(time))
        return 0;
    prune(slice, json_integer_value(time));
    if (json_object_size(slice) < VG_SESSIONS_REVOKED_MAX)
        json_object_set_new(slice, sid, json_integer(json_integer_value(until)));
    return 0;
}

static void dump(const void *slice, vg_buf_t *out)
{
    char *text = json_dumps(slice, JSON_COMPACT | JSON_SORT_KEYS);
    vg_buf_adds(out, "{\"revoked\":");
    vg_buf_adds(out, text ? text : "{}");
    vg_buf_adds(out, "}");
    free(text);
}

/* A snapshot from before this slice has none (nor the whole state, which
 * older snapshots give): nothing was revoked then. */
static int load(void *slice, const json_t *dump, char *err, size_t errlen)
{
    json_t *revoked = json_object_get(dump, "revoked");
    if (!revoked)
        return 0;
    if (!json_is_object(revoked) || json_object_size(revoked) > VG_SESSIONS_REVOKED_MAX)
        return vg_err(err, errlen, -EINVAL, "snapshot state is malformed: sessions");
    const char *sid;
    json_t *until;
    json_object_foreach(revoked, sid, until)
    {
        if (!is_sid(sid) || !json_is_integer(until))
            return vg_err(err, errlen, -EINVAL, "snapshot session '%.40s' is malformed", sid);
        json_object_set(slice, sid, until);
    }
    return 0;
}

const struct vg_service_data vg_sessions_data = {
    .name = "sessions",
    .record_types = types,
    .slice_new = slice_new,
    .slice_free = slice_free,
    .apply = apply,
    .dump = dump,
    .load = load,
};

int vg_sessions_revoked(const vg_state_t *st, const char *sid_hex)
{
    return json_object_get(vg_state_slice(st, &vg_sessions_data), sid_hex) != NULL;
}

size_t vg_sessions_n_revoked(const vg_state_t *st, int64_t now_ms)
{
    size_t n = 0;
    const char *sid;
    json_t *until;
    json_object_foreach(vg_state_slice(st, &vg_sessions_data), sid, until)
    {
        n += json_integer_value(until) > now_ms;
    }
    return n;
}

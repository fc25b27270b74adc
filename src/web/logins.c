/*
 * logins.c - the "logins" slice: person -> {hash, role, updated, by}.
 *
 * Applied on both members from VG_REC_LOGIN records (logins.h). A record
 * that is not of the expected shape is kept out (never trusted), so a
 * damaged payload cannot make a login without a hash.
 */
#include "web/logins.h"

#include "core/names.h"
#include "store/record.h"

static const uint16_t types[] = {VG_REC_LOGIN, 0};

static void *slice_new(void)
{
    return json_object();
}

static void slice_free(void *slice)
{
    json_decref(slice);
}

static int apply(void *slice, uint64_t index, uint16_t type, json_t *payload)
{
    (void)index;
    (void)type;
    const char *op = json_string_value(json_object_get(payload, "op"));
    const char *person = json_string_value(json_object_get(payload, "person"));
    char why[128];
    if (!op || !person || vg_name_check(person, why, sizeof why))
        return 0;
    if (!strcmp(op, "delete")) {
        json_object_del(slice, person);
        return 0;
    }
    const char *hash = json_string_value(json_object_get(payload, "hash"));
    const char *role = json_string_value(json_object_get(payload, "role"));
    enum vg_role r;
    if (strcmp(op, "set") || !hash || strlen(hash) >= VG_LOGIN_HASH_MAX || !role ||
        vg_role_parse(role, &r))
        return 0;
    json_t *actor = json_object_get(payload, "actor");
    json_object_set_new(slice, person,
                        json_pack("{s:s, s:s, s:I, s:s}", "hash", hash, "role", role, "updated",
                                  json_integer_value(json_object_get(payload, "time")), "by",
                                  json_is_string(actor) ? json_string_value(actor) : ""));
    return 0;
}

static void dump(const void *slice, vg_buf_t *out)
{
    char *text = json_dumps(slice, JSON_COMPACT | JSON_SORT_KEYS);
    vg_buf_adds(out, text ? text : "{}");
    free(text);
}

static int load(void *slice, const json_t *dump, char *err, size_t errlen)
{
    /* a snapshot from before services had slices gives the whole state:
     * it had no logins */
    json_t *logins = (json_t *)dump;
    if (!json_is_object(logins) || json_is_integer(json_object_get(logins, "applied_index")))
        return 0;
    const char *person;
    json_t *login;
    json_object_foreach(logins, person, login)
    {
        if (!json_is_string(json_object_get(login, "hash")) ||
            !json_is_string(json_object_get(login, "role")))
            return vg_err(err, errlen, -EINVAL, "snapshot login of '%s' is malformed", person);
        json_object_set(slice, person, login);
    }
    return 0;
}

const struct vg_service_data vg_logins_data = {
    .name = "logins",
    .record_types = types,
    .slice_new = slice_new,
    .slice_free = slice_free,
    .apply = apply,
    .dump = dump,
    .load = load,
};

enum vg_role vg_logins_get(const vg_state_t *st, const char *person, const char **hash)
{
    json_t *login = json_object_get(vg_state_slice(st, &vg_logins_data), person);
    enum vg_role role;
    *hash = json_string_value(json_object_get(login, "hash"));
    if (!*hash || vg_role_parse(json_string_value(json_object_get(login, "role")), &role))
        return VG_ROLE_NONE;
    return role;
}

json_t *vg_logins_list(const vg_state_t *st)
{
    json_t *out = json_array();
    const char *person;
    json_t *login;
    json_t *slice = vg_state_slice(st, &vg_logins_data);
    json_object_foreach(slice, person, login)
    {
        json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:O}", "person", person, "role",
                                             json_object_get(login, "role"), "updated",
                                             json_object_get(login, "updated"), "by",
                                             json_object_get(login, "by")));
    }
    return out;
}

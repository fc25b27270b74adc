/*
 * secrets.c - credentials in objects: never shown, kept across applies.
 *
 * Which fields are secret is data, not code spread over routes: a kind's
 * secrets hook (schema.h) names them, and for a Device it is the driver's
 * own option table (driver.h, secret_options). The state hands every
 * reader an object passed through vg_schema_redact, so GET, list, watch
 * and write replies all show {"secret": true}; only the collector and the
 * merge of a write read the stored values (state.h, *_unredacted).
 *
 * The merge runs on the server at PUT time, before the "unchanged" check,
 * so any client (the CLI, curl, a script) that applies what it got back
 * keeps the stored credentials and is told nothing changed.
 *
 * Must never: put a secret's value into an error message, or move a
 * credential between kinds of secret (another driver) on its own.
 */
#include "core/text.h"
#include "schema/schema.h"

#include <sodium.h>

#include "core/jsonout.h"

#define MAX_SECRETS  16 /* per object; driver tables hold 1 to 3 */
#define PATH_MAX_LEN 160

/* Every driver's check accepts it: 8+ characters (SNMPv3), no spaces,
 * quotes or backslashes (NUT), printable ASCII, under 128 characters. */
#define STANDIN "stored-secret-standin"

int vg_schema_is_secret_placeholder(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 &&
           json_is_true(json_object_get(v, "secret"));
}

static json_t *placeholder(void)
{
    return json_pack("{s:b}", "secret", 1);
}

/* The secret keys of spec (NULL if none) and the field holding them. */
static const char *const *secret_keys(const struct vg_kind *kind, const json_t *spec,
                                      const char **within)
{
    *within = NULL;
    if (!kind || !kind->secrets || !json_is_object(spec))
        return NULL;
    return kind->secrets(spec, within);
}

/* The object holding spec's secrets, or NULL when there is none. */
static json_t *holder_of(json_t *spec, const char *within)
{
    json_t *holder = within ? json_object_get(spec, within) : spec;
    return json_is_object(holder) ? holder : NULL;
}

static void secret_path(char out[PATH_MAX_LEN], const char *within, const char *key)
{
    snprintf(out, PATH_MAX_LEN, "spec.%s%s%s", within ? within : "", within ? "." : "", key);
}

/* Replaces holder[key] by the placeholder, wiping the old string if this
 * object was its only holder (a copy handed to a reader). */
static void hide(json_t *holder, const char *key, json_t *v)
{
    if (json_is_string(v) && v->refcount == 1)
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
    json_object_set_new(holder, key, placeholder());
}

/* ---- secrets inside list elements ---- */

static json_t *secret_list_of(const struct vg_kind *kind, json_t *spec)
{
    if (!kind || !kind->secret_list || !kind->element_secrets || !json_is_object(spec))
        return NULL;
    json_t *list = json_object_get(spec, kind->secret_list);
    return json_is_array(list) ? list : NULL;
}

static size_t redact_list(const struct vg_kind *kind, json_t *spec)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(secret_list_of(kind, spec), i, e)
    {
        const char *const *keys = json_is_object(e) ? kind->element_secrets(e) : NULL;
        for (size_t k = 0; keys && keys[k]; k++) {
            json_t *v = json_object_get(e, keys[k]);
            if (!v || json_is_null(v) || vg_schema_is_secret_placeholder(v))
                continue;
            hide(e, keys[k], v);
            n++;
        }
    }
    return n;
}

static json_t *element_named(json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && name && !strcmp(n, name))
            return e;
    }
    return NULL;
}

/* Placeholders take the stored element's value; left-out secrets are kept
 * when the element's secret keys are the same list as the stored one's. */
static int merge_list(const struct vg_kind *kind, json_t *spec, const json_t *stored_spec,
                      char *err, size_t errlen, char *field, size_t fieldlen)
{
    json_t *list = secret_list_of(kind, spec);
    json_t *stored_list = secret_list_of(kind, (json_t *)stored_spec);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *const *keys = json_is_object(e) ? kind->element_secrets(e) : NULL;
        json_t *old = element_named(stored_list,
                                    json_string_value(json_object_get(e, "name")));
        int same = old && kind->element_secrets(old) == keys;
        for (size_t k = 0; keys && keys[k]; k++) {
            json_t *v = json_object_get(e, keys[k]);
            json_t *sv = same ? json_object_get(old, keys[k]) : NULL;
            if (vg_schema_is_secret_placeholder(v)) {
                if (!sv) {
                    char path[PATH_MAX_LEN];
                    snprintf(path, sizeof path, "spec.%s[%zu].%s", kind->secret_list, i,
                             keys[k]);
                    if (field && fieldlen)
                        snprintf(field, fieldlen, "%s", path);
                    return vg_err(err, errlen, -EINVAL,
                                  "%s: {\"secret\": true} keeps the stored value, but none "
                                  "is stored for this contact: give the value",
                                  path);
                }
                json_object_set_new(e, keys[k], vg_json_copy(sv));
            } else if (json_is_null(v))
                json_object_del(e, keys[k]);
            else if (!v && sv)
                json_object_set_new(e, keys[k], vg_json_copy(sv));
        }
    }
    return 0;
}

static json_t *list_standins(const struct vg_kind *kind, const json_t *spec, json_t *copy)
{
    size_t i;
    json_t *e;
    json_array_foreach(secret_list_of(kind, (json_t *)spec), i, e)
    {
        const char *const *keys = json_is_object(e) ? kind->element_secrets(e) : NULL;
        for (size_t k = 0; keys && keys[k]; k++) {
            if (!vg_schema_is_secret_placeholder(json_object_get(e, keys[k])))
                continue;
            if (!copy)
                copy = vg_json_copy(spec);
            json_t *ce = json_array_get(json_object_get(copy, kind->secret_list), i);
            /* a stand-in the element's own check accepts: a URL for a URL,
             * a libpq connection string for a Service's */
            json_object_set_new(ce, keys[k],
                                json_string(!strcmp(keys[k], "url") ? "https://stored-secret.invalid/"
                                            : !strcmp(keys[k], "conninfo")
                                                ? "host=stored-secret.invalid"
                                                : STANDIN));
        }
    }
    return copy;
}

size_t vg_schema_redact(json_t *obj)
{
    const struct vg_kind *kind =
        vg_schema_kind(json_string_value(json_object_get(obj, "kind")));
    json_t *spec = json_object_get(obj, "spec");
    const char *within;
    const char *const *keys = secret_keys(kind, spec, &within);
    json_t *holder = keys ? holder_of(spec, within) : NULL;
    size_t n = 0;
    for (size_t i = 0; holder && keys[i]; i++) {
        json_t *v = json_object_get(holder, keys[i]);
        if (!v || json_is_null(v) || vg_schema_is_secret_placeholder(v))
            continue;
        hide(holder, keys[i], v);
        n++;
    }
    return n + redact_list(kind, spec);
}

json_t *vg_schema_secret_standins(const struct vg_kind *kind, const json_t *spec)
{
    const char *within;
    const char *const *keys = secret_keys(kind, spec, &within);
    json_t *copy = NULL;
    for (size_t i = 0; keys && keys[i]; i++) {
        json_t *holder = holder_of(copy ? copy : (json_t *)spec, within);
        if (!holder || !vg_schema_is_secret_placeholder(json_object_get(holder, keys[i])))
            continue;
        if (!copy) {
            copy = vg_json_copy(spec);
            holder = holder_of(copy, within);
        }
        json_object_set_new(holder, keys[i], json_string(STANDIN));
    }
    return list_standins(kind, spec, copy);
}

/* ---- the merge of a write over the stored object ---- */

struct merge {
    const char *within;
    const char *carried[MAX_SECRETS]; /* secrets left out and taken from stored */
    size_t n_carried;
};

/* The body's holder of secrets, created when a carried secret needs one and
 * the body has none (absent or null); NULL if the body has a non-object
 * there, which validation refuses anyway. */
static json_t *holder_for_write(json_t *spec, const char *within)
{
    if (!within)
        return spec;
    json_t *holder = json_object_get(spec, within);
    if (!holder || json_is_null(holder)) {
        holder = json_object();
        json_object_set_new(spec, within, holder);
    }
    return json_is_object(holder) ? holder : NULL;
}

/* One secret key: placeholder -> stored, null -> removed, absent -> stored
 * (remembered as carried). */
static int merge_key(json_t *spec, const char *key, const json_t *stored_value, struct merge *m,
                     char *err, size_t errlen, char *field, size_t fieldlen)
{
    json_t *holder = holder_of(spec, m->within);
    json_t *v = holder ? json_object_get(holder, key) : NULL;
    char path[PATH_MAX_LEN];
    if (vg_schema_is_secret_placeholder(v)) {
        if (stored_value) {
            json_object_set_new(holder, key, vg_json_copy(stored_value));
            return 0;
        }
        secret_path(path, m->within, key);
        if (field && fieldlen)
            snprintf(field, fieldlen, "%s", path);
        return vg_err(err, errlen, -EINVAL,
                      "%s: {\"secret\": true} keeps the stored value, but none is stored "
                      "(a new object, or another driver): give the value",
                      path);
    }
    if (json_is_null(v)) {
        json_object_del(holder, key);
        return 0;
    }
    if (v || !stored_value || m->n_carried == MAX_SECRETS)
        return 0;
    holder = holder_for_write(spec, m->within);
    if (holder) {
        json_object_set_new(holder, key, vg_json_copy(stored_value));
        m->carried[m->n_carried++] = key;
    }
    return 0;
}

/* Merges stored's secrets into body (a copy the caller owns). */
static int merge_secrets(json_t *body, const char *path_kind, const json_t *stored,
                         struct merge *m, char *err, size_t errlen, char *field,
                         size_t fieldlen)
{
    const char *kind_name = json_string_value(json_object_get(body, "kind"));
    const struct vg_kind *kind = vg_schema_kind(kind_name ? kind_name : path_kind);
    json_t *spec = json_object_get(body, "spec");
    json_t *stored_spec = json_object_get(stored, "spec");
    int rc = merge_list(kind, spec, stored_spec, err, errlen, field, fieldlen);
    const char *const *keys = secret_keys(kind, spec, &m->within);
    if (rc || !keys)
        return rc;
    const char *stored_within;
    json_t *stored_holder = NULL;
    if (secret_keys(kind, stored_spec, &stored_within) == keys)
        stored_holder = holder_of(stored_spec, stored_within);
    for (size_t i = 0; keys[i]; i++) {
        const json_t *sv = stored_holder ? json_object_get(stored_holder, keys[i]) : NULL;
        int rc = merge_key(spec, keys[i], json_is_null(sv) ? NULL : sv, m, err, errlen, field,
                           fieldlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* After a refused write: if the field at fault is a secret that was only
 * carried over from stored, drops it from body and returns 1 (try again). */
static int drop_refused(json_t *body, struct merge *m, const char *field)
{
    char path[PATH_MAX_LEN];
    for (size_t i = 0; i < m->n_carried; i++) {
        secret_path(path, m->within, m->carried[i]);
        if (strcmp(path, field) != 0)
            continue;
        json_object_del(holder_of(json_object_get(body, "spec"), m->within), m->carried[i]);
        m->carried[i] = m->carried[--m->n_carried];
        return 1;
    }
    return 0;
}

int vg_schema_validate_update(const json_t *manifest, const char *path_kind,
                              const char *path_name, const json_t *stored, json_t **normalized,
                              char *err, size_t errlen, char *field, size_t fieldlen)
{
    char why[1024], at[PATH_MAX_LEN] = "";
    struct merge m = {0};
    int rc;
    if (!json_is_object(manifest))
        return vg_schema_validate(manifest, path_kind, path_name, normalized, err, errlen,
                                  field, fieldlen);
    if (normalized)
        *normalized = NULL;
    json_t *body = vg_json_copy(manifest);
    rc = merge_secrets(body, path_kind, stored, &m, why, sizeof why, at, sizeof at);
    while (!rc) {
        rc = vg_schema_validate(body, path_kind, path_name, normalized, why, sizeof why, at,
                                sizeof at);
        if (!rc || !drop_refused(body, &m, at))
            break;
        rc = 0;
    }
    if (rc) {
        vg_err(err, errlen, rc, "%s", why);
        if (field && fieldlen)
            vg_text_clean(field, fieldlen, at, strlen(at), 0);
    }
    json_decref(body);
    return rc;
}

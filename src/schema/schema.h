/*
 * schema.h - manifests: the declared shape of every object kind.
 *
 * A manifest is a JSON object with exactly these top-level fields:
 *   kind (string, a registered kind), name (string, names.h rules),
 *   labels (object of string -> string, optional), description (string,
 *   optional), spec (object, checked by the kind's field table).
 * "status", "revision", "created" and "updated" are owned by the server; if a client sends them
 * (e.g. re-applying `vigil get -o yaml` output) they are accepted and ignored.
 * Anything else is rejected, naming the field.
 *
 * Each kind lives in its own file (kind_site.c, kind_zone.c, ...) and is one
 * row in the registry table of schema.c.
 *
 * Secrets (secrets.c): a kind may mark fields of its spec as credentials
 * (a Device's driver marks options such as an SNMP community or an MQTT
 * password). Their values are stored, in the encrypted log and state, for
 * the code that uses them, but every output shows each one as the
 * placeholder {"secret": true}. A manifest that leaves a secret out, or
 * gives the placeholder for it, keeps the stored value, so the output of
 * `vigil get -o yaml` applies back without losing a password; a plain value
 * changes it and null removes it.
 */
#ifndef VG_SCHEMA_H
#define VG_SCHEMA_H

#include <jansson.h>

#include "core/vg.h"

/*
 * Limits on what a manifest may hold (docs/api.md, "Limits"). They exist so
 * that whatever is accepted can always be logged, mirrored, snapshotted and
 * read back unchanged: jansson's parser stops at 2048 levels of nesting and
 * a record is at most VG_RECORD_MAX_PAYLOAD bytes (routes_objects.c checks
 * at compile time that an object of VG_SCHEMA_OBJECT_BYTES fits with room
 * to spare). Characters are Unicode code points; bytes are those of the
 * compact JSON text.
 */
#define VG_SCHEMA_STRING_MAX   1024 /* characters of a string (unless a field sets less) */
#define VG_SCHEMA_LIST_MAX     256  /* items of a string list whose field sets no max */
#define VG_SCHEMA_FREE_DEPTH   8    /* levels of a free-form field; the field is level 1 */
#define VG_SCHEMA_FREE_MEMBERS 256  /* keys of one object / elements of one array in it */
#define VG_SCHEMA_FREE_KEY_MAX 128  /* characters of one key in it */
#define VG_SCHEMA_FREE_BYTES   (64u << 10)  /* the whole free-form field */
#define VG_SCHEMA_OBJECT_BYTES (128u << 10) /* the whole normalized object */

enum vg_ftype {
    VG_F_STRING,
    VG_F_INT,
    VG_F_NUMBER,
    VG_F_BOOL,
    VG_F_ENUM,        /* string, one of enum_values */
    VG_F_NAME,        /* string obeying names.h (a reference to another object) */
    VG_F_STRING_LIST, /* array of strings */
    VG_F_OBJECT,      /* free-form object (kept as given, within the VG_SCHEMA_FREE_* limits) */
    VG_F_LIST,        /* array of any JSON values, kept as given within the VG_SCHEMA_FREE_*
                         limits (at most max items when max > 0); the shape of its
                         elements is the kind's check hook's to check, naming the element
                         ("spec.steps[0].notify[1].person") */
};

struct vg_field {
    const char *name;
    enum vg_ftype type;
    int required;
    const char *const *enum_values; /* NULL-terminated, for VG_F_ENUM */
    double min, max;  /* for INT/NUMBER when min < max; string max length for STRING;
                         max items for STRING_LIST and LIST */
    const char *help; /* one line for `vigil explain` and errors */
};

struct vg_kind {
    const char *name; /* "Site" */
    const char *help;
    const struct vg_field *fields; /* terminated by a {NULL} row */
    /* optional extra check across fields; returns -EINVAL with err/field */
    int (*check)(const json_t *spec, char *err, size_t errlen, char *field, size_t fieldlen);
    /* optional: the credentials of spec, a static NULL-terminated list of
     * keys (NULL: none). *within names the field of spec (an object) that
     * holds them, or is NULL when they are fields of spec itself. Two specs
     * share stored credentials only when their lists are the same pointer
     * (for a Device: the same driver), so a password never moves from one
     * protocol to another. */
    const char *const *(*secrets)(const json_t *spec, const char **within);
    /* optional: credentials inside the elements of a list field (a Person's
     * contact methods: a webhook's URL and routing key). secret_list names
     * the VG_F_LIST field; element_secrets gives an element's secret keys
     * (NULL: none). On a write, an element takes the stored secrets of the
     * stored element of the same "name" and the same list of keys. */
    const char *secret_list;
    const char *const *(*element_secrets)(const json_t *element);
};

/* Looks a kind up by its exact name; NULL if unknown. */
const struct vg_kind *vg_schema_kind(const char *name);

/* All registered kinds, NULL-terminated. */
const struct vg_kind *const *vg_schema_kinds(void);

/* Validates a manifest. path_kind/path_name (may be NULL) come from the URL
 * and must match the body's kind/name if the body has them; a body without
 * kind/name takes them from the path. On success *normalized is a new object
 * {kind,name,labels,description,spec} (caller decrefs). On failure returns
 * -EINVAL, err says what is wrong and field names the offending field as a
 * dotted path ("spec.location", "labels.env", "name"). Never modifies manifest. */
int vg_schema_validate(const json_t *manifest, const char *path_kind, const char *path_name,
                       json_t **normalized, char *err, size_t errlen, char *field,
                       size_t fieldlen);

/* Like vg_schema_validate, for a write over stored (the object as the state
 * holds it, with its secrets; NULL for a new object): a secret the manifest
 * gives as {"secret": true} becomes the stored value (an error naming the
 * field when none is stored for it), a secret it leaves out keeps the stored
 * value unless the kind's check refuses it there (switching SNMP from
 * version 2c to 3 drops the community), and a secret given as null is
 * removed. Never modifies manifest or stored; error messages never hold a
 * secret's value. */
int vg_schema_validate_update(const json_t *manifest, const char *path_kind,
                              const char *path_name, const json_t *stored, json_t **normalized,
                              char *err, size_t errlen, char *field, size_t fieldlen);

/* Replaces in place the value of every secret of obj (an object as the
 * state returns it: kind, spec...) by {"secret": true}; wipes a replaced
 * string nothing else references. Objects of unknown kinds and kinds
 * without secrets are left alone. Returns the number replaced. */
size_t vg_schema_redact(json_t *obj);

/* 1 if v is exactly the placeholder {"secret": true}. */
int vg_schema_is_secret_placeholder(const json_t *v);

/* For checking a manifest whose secrets only the server knows (the CLI
 * checks `vigil get -o yaml` output before sending it): a copy of spec
 * where each placeholder at a secret key is a stand-in string that every
 * driver's check accepts, or NULL when spec has no placeholder there. New
 * reference. */
json_t *vg_schema_secret_standins(const struct vg_kind *kind, const json_t *spec);

/* For check hooks: formats a field's dotted path into buf (cut to len;
 * paths of kinds' tables are short). */
#define VG_SCHEMA_PATH_MAX 160
void vg_schema_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where a check's failure goes: the caller's err and field buffers. */
struct vg_report {
    char *err;
    size_t errlen;
    char *field;
    size_t fieldlen;
};
/* Fills r->field with path and r->err with "path: message" (the message
 * alone when path is empty); returns -EINVAL. */
int vg_report_fail(const struct vg_report *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For check hooks: fills field with path and err with "path: message";
 * returns -EINVAL. */
int vg_schema_fail(char *err, size_t errlen, char *field, size_t fieldlen, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* For check hooks, on the elements of a VG_F_LIST field: checks obj
 * against a field table the way a spec is checked (an object, no unknown
 * keys, required fields present, each value of its type and within its
 * bounds). path is obj's own ("spec.steps[0]"); a fault names
 * path.field. */
int vg_schema_check_fields(const struct vg_field *fields, const json_t *obj, const char *path,
                           char *err, size_t errlen, char *field, size_t fieldlen);

/* Floor-plan geometry (docs/dashboard.md, "Floor plan"): a Zone's
 * spec.plan {x, y, w, h} is its rectangle on its floor's plan and a
 * Sensor's spec.position {x, y} its place inside its zone's rectangle,
 * all in metres from the top-left corner, 0..VG_PLAN_MAX_M. */
#define VG_PLAN_MAX_M 10000
extern const struct vg_field vg_plan_rect_fields[];  /* x, y, w, h */
extern const struct vg_field vg_plan_point_fields[]; /* x, y */
/* For check hooks: obj (at path) is a rectangle (with_size) or a point. */
int vg_schema_check_plan(const json_t *obj, const char *path, int with_size, char *err,
                         size_t errlen, char *field, size_t fieldlen);

/* The kind's schema as JSON (for GET /api/v1/kinds). New reference. */
json_t *vg_schema_describe(const struct vg_kind *kind);

#endif

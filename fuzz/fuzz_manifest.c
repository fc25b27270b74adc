/*
 * fuzz_manifest.c - libFuzzer target for vg_schema_validate, the gate every
 * client-supplied manifest passes through (PUT /api/v1/objects/...).
 *
 * Input is parsed the way the API parses a request body (json_loadb with
 * JSON_REJECT_DUPLICATES) and validated with no path, with a matching path
 * and with a path name taken from the input. Besides "no crash, no leak"
 * (ASan/UBSan/LeakSanitizer), it traps on broken promises of schema.h:
 * the manifest is never modified, failures always say what and where in
 * printable ASCII, a normalized manifest validates again to itself, and
 * a manifest merged over its own stored secrets (vg_schema_validate_update)
 * stays valid.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/text.h"
#include "core/utf8.h"
#include "schema/schema.h"

#define PATH_NAME_MAX 24

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

/* Messages may quote the input, but always as text a JSON reply and a log
 * line can carry: valid UTF-8 without control bytes (core/text.h). */
static int showable(const char *s)
{
    size_t len = strlen(s);
    return vg_utf8_check(s, len) == len && !vg_text_has_control(s, len);
}

/* Validating the normalized form again must succeed and change nothing. */
static void check_idempotent(const json_t *normalized)
{
    json_t *again = NULL;
    const char *kind = json_string_value(json_object_get(normalized, "kind"));
    const char *name = json_string_value(json_object_get(normalized, "name"));
    int rc = vg_schema_validate(normalized, kind, name, &again, NULL, 0, NULL, 0);
    require(rc == 0 && json_equal(again, normalized));
    json_decref(again);
}

/* A write merged over what it stored, or over that as GET shows it (secrets
 * redacted), is still valid: nothing to carry, placeholders resolve. */
static void check_merge_over_itself(const json_t *doc, const char *path_kind,
                                    const char *path_name, const json_t *normalized)
{
    char err[512], field[256];
    json_t *shown = json_deep_copy(normalized), *merged = NULL;
    vg_schema_redact(shown);
    const json_t *stored[] = {normalized, shown};
    for (size_t i = 0; i < 2; i++) {
        int rc = vg_schema_validate_update(doc, path_kind, path_name, stored[i], &merged, err,
                                           sizeof err, field, sizeof field);
        require(rc == 0 && merged);
        json_decref(merged);
    }
    json_decref(shown);
}

static void validate_once(const json_t *doc, const char *path_kind, const char *path_name)
{
    char err[512], field[256];
    json_t *normalized = NULL;
    int rc = vg_schema_validate(doc, path_kind, path_name, &normalized, err, sizeof err, field,
                                sizeof field);
    if (rc == 0) {
        require(normalized && json_object_size(normalized) == 5);
        check_idempotent(normalized);
        check_merge_over_itself(doc, path_kind, path_name, normalized);
    } else {
        require(rc == -EINVAL && !normalized);
        require(err[0] && showable(err) && showable(field));
    }
    json_decref(normalized);
}

/* A short, possibly hostile, path name made of the input's last bytes. */
static void path_name_from(const uint8_t *data, size_t size, char out[PATH_NAME_MAX + 1])
{
    size_t n = size < PATH_NAME_MAX ? size : PATH_NAME_MAX;
    memcpy(out, data + size - n, n);
    out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    char path_name[PATH_NAME_MAX + 1];
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return 0;
    json_t *before = json_deep_copy(doc);

    validate_once(doc, NULL, NULL);
    validate_once(doc, "Site", "dc1");
    validate_once(doc, "Zone", "hall-a");
    path_name_from(data, size, path_name);
    validate_once(doc, json_string_value(json_object_get(doc, "kind")), path_name);

    require(json_equal(before, doc));
    json_decref(before);
    json_decref(doc);
    return 0;
}

/*
 * jsonout.h - compact JSON serialisation of jansson values into a vg_buf.
 *
 * jansson's json_dumps guards against reference cycles with a hash table
 * keyed by a printf'd pointer for every container, which made it the
 * largest single cost of a write (about 40% of the daemon's instructions).
 * vigil's values are trees built by vigil, so this writer walks them
 * directly. Output matches json_dumps(JSON_COMPACT) in meaning: keys in
 * insertion order, UTF-8 passed through, control characters, '"' and '\'
 * escaped, reals with 17 significant digits.
 */
#ifndef VG_JSONOUT_H
#define VG_JSONOUT_H

#include <jansson.h>

#include "core/buf.h"

/* A deep copy of an acyclic value without jansson's per-container cycle
 * bookkeeping (json_deep_copy does the same printf'd-pointer hash table as
 * json_dumps). New reference. */
json_t *vg_json_copy(const json_t *value);

/* Appends the compact JSON text of value to out. value must be acyclic
 * (VG_BUG past a depth of 2048). */
void vg_json_dump(const json_t *value, vg_buf_t *out);

/* Appends s (len bytes, UTF-8) as a quoted, escaped JSON string. */
void vg_json_dump_string(const char *s, size_t len, vg_buf_t *out);

#endif

/*
 * yamljson.h - YAML manifests to JSON documents and back.
 *
 * Operators write manifests in YAML; the API speaks JSON. This module turns a
 * multi-document YAML stream into a JSON array (one element per document) and
 * prints JSON as YAML for `vigil get -o yaml`. It is the first code to touch
 * a file a person wrote, so it must never crash, loop or blow the stack on bad
 * input: it answers with an error naming the line and column instead.
 *
 * Only the JSON-compatible subset of YAML is accepted:
 *   - anchors (&a) and aliases (*a) are rejected: they allow exponential
 *     expansion ("billion laughs") and nobody needs them in a manifest;
 *   - duplicate keys in one mapping are rejected (YAML says they are an error,
 *     many parsers silently keep the last one);
 *   - mapping keys must be scalars; they are kept as written ("1: x" gives the
 *     key "1");
 *   - more than VG_YAMLJSON_MAX_DEPTH nested collections are rejected;
 *   - tags: only the standard !!str !!int !!float !!bool !!null !!map !!seq
 *     and the non-specific "!" (meaning string).
 *
 * Plain (unquoted) scalars are typed like the YAML 1.2 core schema:
 *   null:  ~ null Null NULL and the empty value
 *   bool:  true True TRUE false False FALSE   (yes/no/on/off stay strings)
 *   int:   [-+]?[0-9]+, 0x[0-9a-fA-F]+, 0o[0-7]+ (must fit in int64, else an
 *          error); decimal digits with a leading zero ("0755", "007") stay
 *          strings, because YAML 1.1 reads them as octal and 1.2 as decimal
 *   float: [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)? ; .inf and .nan
 *          are rejected because JSON cannot carry them
 *   anything else is a string. Quoted and block (| >) scalars are strings.
 */
#ifndef VG_YAMLJSON_H
#define VG_YAMLJSON_H

#include <jansson.h>

#include "core/buf.h"
#include "core/vg.h"

#define VG_YAMLJSON_MAX_DEPTH 64

/*
 * Parses len bytes of YAML text (need not be NUL-terminated; UTF-8, or UTF-16
 * with a BOM) as a stream of documents. On success returns 0 and *docs is a
 * new JSON array (caller decrefs) with one value per document, in order; a
 * document with no content ("---" alone) is JSON null; a stream with no
 * document at all gives an empty array. On failure returns -EINVAL, *docs is
 * NULL and err holds "SOURCE: line L, column C: what is wrong" (1-based;
 * "SOURCE: " is left out when source is NULL). Never keeps pointers to text.
 */
int vg_yamljson_parse(const char *text, size_t len, const char *source, json_t **docs,
                      char *err, size_t errlen);

/*
 * Appends value as one YAML document to out. With explicit_start the
 * document starts with "---" (use it when documents are concatenated).
 * Strings that a YAML reader would type as something else ("123", "true",
 * "null", "") are quoted, so vg_yamljson_parse gives back an equal value.
 * Returns 0, or -EINVAL (err set, out may hold a partial document) when value
 * is nested deeper than VG_YAMLJSON_MAX_DEPTH or libyaml refuses it.
 */
int vg_yamljson_emit(const json_t *value, int explicit_start, vg_buf_t *out, char *err,
                     size_t errlen);

/* Appends every element of the array docs as its own document, each
 * starting with "---". Same errors as vg_yamljson_emit. */
int vg_yamljson_emit_docs(const json_t *docs, vg_buf_t *out, char *err, size_t errlen);

#endif

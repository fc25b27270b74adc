/*
 * training_csv.h - a training provider's export (CSV) as Completion
 * manifests, checked whole before anything is sent.
 *
 * Format: a header line naming the columns (person, course, completed_on,
 * and optionally evidence, in any order), then one completion per line.
 * Fields are separated by commas; a field may be double-quoted ("a, b",
 * with "" for a quote) but not span lines. Blank lines are skipped, CRLF
 * and a UTF-8 byte order mark are accepted (spreadsheet exports).
 */
#ifndef VG_TRAINING_CSV_H
#define VG_TRAINING_CSV_H

#include <jansson.h>
#include <stddef.h>

#define VG_TRAINING_CSV_MAX_ROWS   100000
#define VG_TRAINING_CSV_MAX_ERRORS 20 /* messages kept; the rest are counted */

/*
 * Parses len bytes of CSV text. Returns 0 with *manifests a new array of
 * normalized Completion manifests {kind, name, spec} in file order. If any
 * line is bad returns -EINVAL with *errors a new array of messages (up to
 * VG_TRAINING_CSV_MAX_ERRORS, then "... and N more"), each naming the line
 * and column: "line 7, completed_on: '2026-02-30' is not a date (February
 * 2026 has 28 days)"; *manifests is then NULL. Messages are valid UTF-8
 * with control bytes escaped, whatever the input.
 */
int vg_training_csv_parse(const char *text, size_t len, json_t **manifests, json_t **errors);

/*
 * The object name of a completion: "PERSON--COURSE--DATE", or when that is
 * longer than VG_NAME_MAX its first characters and "-" and 16 hex digits of
 * a hash of the whole, so importing the same line twice names the same
 * object. out has at least VG_NAME_MAX + 1 bytes. person and course must
 * be valid names and date "YYYY-MM-DD".
 */
void vg_training_completion_name(const char *person, const char *course, const char *date,
                                 char *out, size_t outlen);

#endif

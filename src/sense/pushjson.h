/*
 * pushjson.h - the JSON batch body of POST /api/v1/readings:
 *
 *     {"readings": [
 *         {"sensor": "dc1-t1", "time": 1764770000000, "value": 22.4},
 *         {"sensor": "dc1-door-3", "time": "2025-12-03T14:00:00.250Z", "value": true},
 *         {"sensor": "dc1-t2", "value": 21.9}
 *     ]}
 *
 *   - sensor: required, a string of 1-63 characters (resolved against the
 *     sensor table by the caller, like line protocol's names); one holding
 *     \u0000 or another control character, invalid UTF-8 or a lone
 *     surrogate escape refuses its reading alone (reject, where = index)
 *   - value: required, a finite JSON number, or true / false (1 / 0)
 *   - time: optional; integer milliseconds since 1970, or an RFC 3339
 *     string (fraction digits past ms are dropped, an offset is applied);
 *     absent or null takes the caller's default_time_ms. 0 .. VG_LP_MAX_TIME_MS.
 *   - any other key, at the top or in a reading, is refused (a typo such as
 *     "vaule" must not silently drop readings)
 * Errors name the element: "readings[3].value: expected a number",
 * "readings[0]: unknown field 'vaule' (sensor, time, value)", or for broken
 * JSON "readings[2]: invalid JSON at byte 181: expected ',' or '}'".
 * Messages are ASCII; input bytes in them are escaped and truncated.
 *
 * A small hand-written scanner (no jansson tree: no allocation per
 * reading); it fills the same batch type as lineproto.h, so the API
 * handler has one store path for both bodies.
 */
#ifndef VG_PUSHJSON_H
#define VG_PUSHJSON_H

#include "sense/lineproto.h"

/* Parses buf[0..len) and calls fn per reading (sensor valid during the call
 * only; fn may be NULL to validate). Stops at the first error: -EINVAL with
 * err; a non-zero return of fn stops the parse and is returned. */
int vg_pj_parse(const char *buf, size_t len, int64_t default_time_ms, vg_lp_fn fn, void *ctx,
                char *err, size_t errlen);

/* The same into a batch (appending). A sensor name without escapes points
 * into buf, others are copied into the batch's arena (see lineproto.h).
 * On -EINVAL the caller resets the batch and stores nothing. */
int vg_pj_parse_batch(const char *buf, size_t len, int64_t default_time_ms,
                      struct vg_lp_batch *b, char *err, size_t errlen);

/* RFC 3339 date-time ("2025-12-03T14:00:00Z", "...T14:00:00.123+01:00";
 * 't' or ' ' for 'T', 'z' for 'Z') to ms since 1970. -EINVAL if malformed,
 * not a real date, or before 1970. Used for MQTT payload times too. */
int vg_pj_time_parse(const char *s, size_t len, int64_t *time_ms);

#endif

/*
 * lineproto.h - InfluxDB line protocol, the body of POST /api/v1/write.
 *
 *     measurement[,tag=v...] field=value[,field2=v2...] [timestamp]
 *
 * Each numeric field of a line is one vigil reading. Sensor names:
 *   - the field `value` is the sensor named like the measurement:
 *       dc1-hall-a-t17 value=22.4          -> dc1-hall-a-t17
 *   - any other field f is the sensor "<measurement>.<f>":
 *       crac-3 supply=14.2,return=24.9     -> crac-3.supply, crac-3.return
 *   - a tag sensor=NAME takes the measurement's place in both rules
 *     (other tags are accepted and ignored).
 * Names are not checked against names.h's character set here (the caller
 * resolves them against its sensor table, which only holds valid names);
 * a name longer than 63 characters is refused. A name holding a NUL byte,
 * another control character (C0, DEL, C1) or invalid UTF-8 refuses its
 * reading alone (reject below, with the line number): it could never name a
 * sensor, and cut at a NUL ("a\0b") it would name another one.
 *
 * Syntax accepted (InfluxDB 2.x rules):
 *   - lines end with \n (a \r before it is ignored); empty lines and lines
 *     starting with '#' are skipped, as is leading and trailing white space
 *   - in the measurement, tag keys, tag values and field keys, a backslash
 *     before ',', '=', ' ' or '\' stands for that character; any other
 *     backslash is literal
 *   - field values: floats (1, -1.5, .5, 2.5e-3), integers with suffix i
 *     (-5i), unsigned with suffix u (5u), booleans t T true True TRUE /
 *     f F false False FALSE (1 / 0); strings ("...") are parsed and
 *     refused: vigil readings are numbers. NaN and infinities are refused.
 *   - the timestamp is an integer in the request's precision (default ns);
 *     a line without one takes the caller's default_time_ms. The time in ms
 *     must lie in 0 .. VG_LP_MAX_TIME_MS (year 9999).
 *
 * Performance: this is on the ingest hot path (target: the whole write path
 * at 1M readings/s per core). The scanner reads each byte once, parses
 * decimals without strtod when the result is exact (up to 15-19 digits and
 * small exponents: Clinger's fast path) and copies a name only when it was
 * escaped or composed ("<measurement>.<f>").
 */
#ifndef VG_LINEPROTO_H
#define VG_LINEPROTO_H

#include "core/vg.h"

#define VG_LP_NAME_MAX    63
#define VG_LP_MAX_TIME_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

enum vg_lp_precision { VG_LP_NS, VG_LP_US, VG_LP_MS, VG_LP_S };

/* "ns", "us", "ms", "s" (NULL or "" is ns, Influx's default); -EINVAL for
 * anything else. */
int vg_lp_precision_parse(const char *s, enum vg_lp_precision *out);

/* Where the first bad line is, and why. reason reads
 * "line 3: field value 'abc' is not a number": ASCII only (bytes of the
 * input are shown escaped and truncated), safe for a JSON error body. */
struct vg_lp_error {
    size_t line;   /* 1-based */
    size_t column; /* 1-based byte offset in the line where the problem starts */
    char reason[192];
};

/* Why a reading with a well-formed line or element is refused on its own. */
enum vg_lp_reject {
    VG_LP_OK = 0,
    VG_LP_NAME_NUL,     /* the sensor name holds a NUL byte */
    VG_LP_NAME_CONTROL, /* ... another control character */
    VG_LP_NAME_UTF8,    /* ... invalid UTF-8 (or a lone \uD800-\uDFFF escape) */
};

/* "contains a NUL byte", ...; "" for VG_LP_OK. */
const char *vg_lp_reject_reason(enum vg_lp_reject reject);

/* The reject a sensor name of len bytes earns (VG_LP_OK if none). */
enum vg_lp_reject vg_lp_name_check(const char *name, size_t len);

/* One reading. sensor is NOT NUL-terminated; a rejected reading keeps its
 * name as given, for the message, and must not be stored. */
struct vg_lp_reading {
    const char *sensor;
    size_t sensor_len;
    int64_t time_ms;
    double value;
    uint32_t where; /* line (line protocol, 1-based) or index in readings[] (JSON) */
    uint8_t reject; /* enum vg_lp_reject */
};

/* Called once per reading, rejected ones included; r is valid during the
 * call only. */
typedef int (*vg_lp_fn)(void *ctx, const struct vg_lp_reading *r);

/* Parses buf[0..len) and calls fn once per reading, in input order. sensor
 * is valid during the call only (it points into buf or into a scratch
 * buffer). If fn returns non-zero, parsing stops and that value is
 * returned. Stops at the first bad line: -EINVAL with error filled (error
 * may be NULL); readings of earlier lines have been passed to fn already,
 * so a caller that wants all-or-nothing validates first, or uses the batch
 * below. fn may be NULL (validation only). */
int vg_lp_parse(const char *buf, size_t len, enum vg_lp_precision precision,
                int64_t default_time_ms, vg_lp_fn fn, void *ctx, struct vg_lp_error *error);

/* A batch of readings collected in one pass, for all-or-nothing stores.
 * sensor points into the parsed input buffer when the name appears there
 * verbatim (the usual case: no copy), else into the batch's own name arena;
 * so the readings are valid while both the input buffer and the batch
 * live. Reusing a batch (reset) keeps its memory. */
struct vg_lp_chunk; /* name arena block, private to lineproto.c */

struct vg_lp_batch {
    struct vg_lp_reading *readings;
    size_t n_readings;
    size_t cap;
    struct vg_lp_chunk *names; /* arena blocks, newest first */
};

void vg_lp_batch_init(struct vg_lp_batch *b);
void vg_lp_batch_reset(struct vg_lp_batch *b);   /* n_readings = 0, names dropped */
void vg_lp_batch_release(struct vg_lp_batch *b); /* frees everything; b is empty again */

/* Appends a copy of *r, copying its name into the arena if copy is set
 * (pushjson.c and others filling the same batch use this). */
void vg_lp_batch_add(struct vg_lp_batch *b, const struct vg_lp_reading *r, int copy);

/* vg_lp_parse into a batch (appending). On -EINVAL the readings appended so
 * far are still there: the caller resets the batch and stores nothing. */
int vg_lp_parse_batch(const char *buf, size_t len, enum vg_lp_precision precision,
                      int64_t default_time_ms, struct vg_lp_batch *b,
                      struct vg_lp_error *error);

/* The fast decimal parser, shared by the JSON and MQTT payload parsers:
 * [+-]digits[.digits][(e|E)[+-]digits] (either digit run may be empty, not
 * both) starting at p. Returns the end of the number, or NULL if p does not
 * start one. The result is correctly rounded (exact fast path, else
 * strtod); it may be +-inf for huge exponents, which callers refuse. */
const char *vg_lp_number(const char *p, const char *end, double *out);

/* Shows bytes for a message: printable ASCII as is, others as \xNN, cut to
 * at most max shown bytes with "..." appended; out is always terminated. */
void vg_lp_show(char *out, size_t outlen, const char *s, size_t len, size_t max);

#endif

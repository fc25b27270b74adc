/*
 * drv_modbus.h - the pure parts of the Modbus TCP driver (drv_modbus.c):
 * what a Sensor's spec.source means, how the registers of one device are
 * grouped into read requests, and how registers become a number. No I/O
 * here, so the unit tests exercise exactly what the driver runs.
 *
 * The driver itself is vg_drv_modbus (driver.c's table).
 */
#ifndef VG_DRV_MODBUS_H
#define VG_DRV_MODBUS_H

#include <jansson.h>

#include "sense/driver.h"

enum vg_mb_table { VG_MB_HOLDING, VG_MB_INPUT, VG_MB_COIL, VG_MB_DISCRETE };
enum vg_mb_format { VG_MB_U16, VG_MB_S16, VG_MB_U32, VG_MB_S32, VG_MB_F32, VG_MB_U64 };

/* Largest reads the protocol allows: registers (function 3/4), bits (1/2). */
#define VG_MB_MAX_REGS 125
#define VG_MB_MAX_BITS 2000

/* One point on a Modbus device, parsed from spec.source. */
struct vg_mb_source {
    enum vg_mb_table table;
    enum vg_mb_format format; /* VG_MB_U16 for coils and discrete inputs */
    uint16_t reg;             /* protocol address, 0-based (not the 4xxxx number) */
    uint8_t unit;             /* unit id (slave id) */
    uint8_t little;           /* word order: 1 = first register holds the low word */
    int8_t bit;               /* -1, or the bit of the integer value that is the value */
};

/* Device-wide settings from spec.options. */
struct vg_mb_options {
    uint8_t unit;     /* options.unit_id, default 1 */
    uint8_t little;   /* options.word_order, default big */
    uint16_t max_gap; /* unread registers a request may span to join two points, default 0 */
};

/* Parses spec.options; -EINVAL with "options.<key>: ..." in err. */
int vg_mb_options_parse(const json_t *options, struct vg_mb_options *out, char *err,
                        size_t errlen);

/* Parses one spec.source with the device's defaults; -EINVAL with
 * "source.<key>: ..." in err. */
int vg_mb_source_parse(const json_t *source, const struct vg_mb_options *opt,
                       struct vg_mb_source *out, char *err, size_t errlen);

/* How many registers (or bits, for coils and discrete inputs) it covers. */
unsigned vg_mb_width(const struct vg_mb_source *s);

/* "holding", "input", "coil", "discrete". */
const char *vg_mb_table_name(enum vg_mb_table t);

/* One read request: count registers (or bits) from start, covering the
 * points order[first .. first + n_points). */
struct vg_mb_span {
    uint8_t unit;
    enum vg_mb_table table;
    uint16_t start;
    uint16_t count;
    size_t first, n_points;
};

/* Groups n sources into as few requests as possible: same unit and table,
 * each point after the previous with at most max_gap unread registers in
 * between, never more than the protocol's maximum per request. order (n
 * entries) receives the point indices sorted by unit, table, register;
 * spans (n entries) the requests. Returns the number of spans. */
size_t vg_mb_plan(const struct vg_mb_source *src, size_t n, unsigned max_gap, size_t *order,
                  struct vg_mb_span *spans);

/* The raw value of s from its registers words[0 .. vg_mb_width(s)) as read
 * (for coils: one 0/1 per word). -EDOM with why filled for a NaN or an
 * infinite f32. */
int vg_mb_decode(const struct vg_mb_source *s, const uint16_t *words, double *raw, char *why,
                 size_t whylen);

#endif

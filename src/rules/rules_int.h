/*
 * rules_int.h - the rule engine's internals, shared by its files:
 * rules.c (lifecycle, status, seed), build.c (objects -> engine),
 * packs.c (built-in rule packs), eval.c (the hot path) and message.c.
 *
 * Memory: definitions (struct rdef) are shared by all their instances, so
 * a pack rule costs one row however many sensors it watches. Per sensor
 * there is one struct rsensor (~56 bytes), its name, a trend ring
 * (~150 bytes) only when a rate or prediction rule watches it, and one
 * struct rinst (32 bytes) per rule on it.
 */
#ifndef VG_RULES_INT_H
#define VG_RULES_INT_H

#include <math.h>

#include "rules/rules.h"
#include "rules/strmap.h"
#include "rules/trend.h"

/* Levels double as severities; ordered, 0 is "not firing". */
enum { LV_NONE = 0, LV_INFO = 1, LV_WARNING = 2, LV_CRITICAL = 3 };

/* Shown states. */
enum {
    ST_OK = 0,
    ST_INFO = LV_INFO,
    ST_WARNING = LV_WARNING,
    ST_CRITICAL = LV_CRITICAL,
    ST_SUPPRESSED,
    ST_STALE,
};

enum rop {
    OP_BAND,    /* above / below, with critical_above / critical_below */
    OP_EQUALS,  /* value == equals */
    OP_BITS,    /* (uint32)value & bits (warning level), & crit_bits (critical) */
    OP_RATE,    /* slope per minute over window >= rate (or <= if negative) */
    OP_PREDICT, /* seconds until threshold at the trend < within */
    OP_FUEL,    /* fuel hours at the current load < within */
    OP_ALL,     /* composite: every child rule firing */
    OP_ANY,     /* composite: some child rule firing */
    OP_DEVICE,  /* device unreachable */
};

/* How far a dependency or composite child reaches. */
enum rscope { SC_ALL, SC_SITE, SC_ZONE };

struct rlink {
    int def;
    uint8_t scope;
};

/* Predictions and rates clear only past a margin, so noise does not flap. */
#define PREDICT_CLEAR_FACTOR 1.1 /* clear when predicted >= 1.1 x within */
#define RATE_CLEAR_FACTOR    0.75 /* clear when slope < 0.75 x rate */

struct rdef {
    char *name;
    char *fingerprint; /* equal fingerprints: same definition (reload keeps state) */
    char *message;      /* template; NULL: the default for the op */
    char *crit_message; /* template at the critical level of a two-level rule, or NULL */
    uint8_t op, severity;
    uint8_t falling; /* predict: the value falls towards the threshold */
    uint8_t dead;    /* skipped at load (a missing reference, a cycle) */
    int next_same;   /* next definition with the same name (per-sensor pack rules), -1 */
    int64_t hold_ms;
    double above, below, crit_above, crit_below; /* NAN when absent */
    double clear_below, clear_above;             /* hysteresis of above / below */
    double crit_clear_below, crit_clear_above;   /* the same margin below the critical ones */
    double equals;
    uint32_t bits, crit_bits;
    double rate_per_min;
    int64_t window_ms;
    double threshold;                  /* predict */
    double within_s, crit_within_s;    /* predict, fuel (NAN: no critical level) */
    double tank_litres, burn_lph_full; /* fuel; tank NAN: the sensor is litres */
    double idle_fraction;
    int load_sensor; /* fuel: generator-load sensor index, -1: assume full load */
    struct rlink *parents;  /* depends_on */
    struct rlink *children; /* all / any */
    int n_parents, n_children;
    int *dependants; /* defs that list this one as parent or child */
    int n_dependants;
    int *insts; /* its instances */
    int n_insts;
    json_t *build_spec; /* user rules, during the build only: the normalized spec */
};

struct rsensor {
    char *name;
    int device, zone, site; /* -1 when none */
    int first_inst, n_insts;
    int64_t last_ms;        /* latest reading; with !has_data: when data was first expected */
    int64_t stale_after_ms;
    double value;
    struct vg_trend *trend; /* NULL unless a rate/prediction rule watches it */
    uint8_t type;           /* enum vg_stype, 255 unknown */
    uint8_t has_data, stale, expected;
};

struct rinst {
    int def;
    int sensor;       /* -1 for composites and devices */
    int32_t scope_id; /* site for composites, device index for OP_DEVICE */
    uint8_t level;    /* latched, LV_* */
    uint8_t state;    /* shown, ST_* */
    uint8_t pending;  /* level waiting for hold_ms */
    uint8_t pad;
    float predicted_s; /* NAN if none */
    int64_t since_ms;
    int64_t pending_since_ms;
};

struct rplace {
    char *name;
    int site;              /* zones, devices: their site; sites: -1 */
    int zone;              /* devices: their zone, -1 if none */
    int inst;              /* devices: the device-unreachable instance */
    int64_t interval_ms;   /* devices: poll interval, 0 if not given */
    uint8_t ashrae;        /* zones: ASHRAE class 1..4, 0 none */
    uint8_t server_room;   /* zones: type server-room */
};

struct vg_rules {
    struct rsensor *sensors;
    struct rinst *insts;
    struct rdef *defs;
    struct rplace *sites, *zones, *devices;
    int n_sensors, n_insts, n_defs, n_sites, n_zones, n_devices;
    int cap_insts, cap_defs;
    struct vg_strmap *sensor_map, *def_map, *device_map, *site_map;
    int *fire_site; /* [def * n_sites + site]: firing instances */
    int *fire_zone; /* [def * n_zones + zone] */
    int *fire_all;  /* [def]: all firing instances */
    int *fire_free; /* [def]: firing instances with no site (count everywhere) */
    json_t *problems;
    int64_t now_ms;  /* the newest tick's time: a reading older than its sensor's
                        stale_after by then is history and leaves the sensor stale */
    int device_def;  /* the device-unreachable definition */
    int pack_def[48]; /* packs.c's definitions by its enum */
    /* buffers for one change at a time */
    char id_buf[256];
    char msg_buf[512];
    char clears_buf[256];
};

/* build.c: fills an empty engine (fresh) from the objects. */
int vg_rules_build(vg_rules_t *fresh, const json_t *zones, const json_t *sensors,
                   const json_t *devices, const json_t *rule_objs, char *err, size_t errlen);
/* Frees everything an engine holds and zeroes it. */
void vg_rules_clear(vg_rules_t *rules);

/* A definition with every number absent (NAN), of op and severity. The
 * name is borrowed until vg_rules_add_def copies it. */
void vg_rules_proto(struct rdef *d, const char *name, uint8_t op, uint8_t severity);
/* Fills the clear levels of a band definition from its raise levels. */
void vg_rules_finish_band(struct rdef *d);
/* Adds a copy of proto (its strings copied); returns its index. */
int vg_rules_add_def(vg_rules_t *rules, const struct rdef *proto, const char *fingerprint);
/* Adds an instance; returns its index (indexes change when the build sorts them). */
int vg_rules_add_inst(vg_rules_t *rules, int def, int sensor, int scope_id);
/* Links def to every definition named name, as a parent (depends_on) or
 * a child (composite); -ENOENT if there is none. */
int vg_rules_link(vg_rules_t *rules, int def, int parent, const char *name, uint8_t scope);
void vg_rules_problem(vg_rules_t *rules, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* packs.c: the built-in definitions (before devices and sensors load),
 * then their instances on the sensors (objs[i] is sensor i's object). */
void vg_rules_add_pack_defs(vg_rules_t *rules);
void vg_rules_add_packs(vg_rules_t *rules, const json_t **sensor_objs, const json_t *devices);

/* eval.c */
int vg_rules_scope_site(const vg_rules_t *rules, const struct rinst *in);
int vg_rules_scope_zone(const vg_rules_t *rules, const struct rinst *in);
void vg_rules_count(vg_rules_t *rules, const struct rinst *in, int delta);
/* The first parent definition firing in the instance's scope, or -1. */
int vg_rules_firing_parent(const vg_rules_t *rules, const struct rinst *in);

/* message.c: renders the instance's message / id into the engine's buffers. */
const char *vg_rules_render_id(vg_rules_t *rules, const struct rinst *in, char *buf,
                               size_t buflen);
const char *vg_rules_render_message(const vg_rules_t *rules, const struct rinst *in,
                                    char *buf, size_t buflen);
void vg_rules_format_number(char *buf, size_t buflen, double v);

extern const char *const vg_rules_state_names[];

#endif

/*
 * stype.h - the sensor types vigil knows, and what their values mean.
 *
 * Every reading is a double. Types that are states rather than quantities
 * use small integers or bit sets, so one pipeline (time series, rules,
 * replication) carries them all:
 *   booleans (alarms, running, leak, reachable): 1 true, 0 false
 *   door-contact: 1 open, 0 closed
 *   mains-status: 1 present, 0 lost
 *   ats-position: VG_ATS_* below
 *   ups-status: a bit set of VG_UPS_* (the NUT status words)
 * The table in stype.c gives each type its canonical name (the Sensor
 * kind's spec.type enum), its default unit and whether it is a state.
 */
#ifndef VG_STYPE_H
#define VG_STYPE_H

#include "core/vg.h"

enum vg_stype {
    VG_ST_TEMPERATURE,        /* degC, room / inlet air */
    VG_ST_HUMIDITY,           /* % relative humidity */
    VG_ST_DEW_POINT,          /* degC, usually derived from the two above */
    VG_ST_SMOKE,              /* boolean: point detector in alarm */
    VG_ST_VESDA_LEVEL,        /* % obscuration per metre */
    VG_ST_VESDA_ALARM,        /* 0 none, 1 alert, 2 action, 3 fire1, 4 fire2 */
    VG_ST_GAS_ARMED,          /* boolean */
    VG_ST_GAS_DISCHARGED,     /* boolean */
    VG_ST_GAS_FAULT,          /* boolean */
    VG_ST_WATER_LEAK,         /* boolean */
    VG_ST_MAINS_VOLTAGE,      /* V */
    VG_ST_MAINS_STATUS,       /* 1 present, 0 lost */
    VG_ST_ATS_POSITION,       /* VG_ATS_* */
    VG_ST_UPS_STATUS,         /* VG_UPS_* bit set */
    VG_ST_UPS_CHARGE,         /* % */
    VG_ST_UPS_RUNTIME,        /* s */
    VG_ST_UPS_LOAD,           /* % */
    VG_ST_GENERATOR_RUNNING,  /* boolean */
    VG_ST_GENERATOR_FUEL,     /* % of tank */
    VG_ST_GENERATOR_FUEL_L,   /* litres */
    VG_ST_GENERATOR_LOAD,     /* % of rated power */
    VG_ST_COOLING_RUNNING,    /* boolean */
    VG_ST_COOLING_SUPPLY,     /* degC supply air/water */
    VG_ST_COOLING_RETURN,     /* degC return air/water */
    VG_ST_COOLING_ALARM,      /* boolean */
    VG_ST_DOOR_CONTACT,       /* 1 open, 0 closed */
    VG_ST_DOOR_FORCED,        /* boolean, reported by the door controller */
    VG_ST_CAMERA_REACHABLE,   /* boolean */
    VG_ST_POWER_KW,           /* kW; spec.scope says facility or it (PUE) */
    VG_ST__COUNT
};

enum vg_ats_position { VG_ATS_MAINS = 0, VG_ATS_GENERATOR = 1, VG_ATS_OFF = 2 };

/* NUT's ups.status words as bits. */
enum vg_ups_flag {
    VG_UPS_OL = 1 << 0,
    VG_UPS_OB = 1 << 1,
    VG_UPS_LB = 1 << 2,
    VG_UPS_HB = 1 << 3,
    VG_UPS_RB = 1 << 4,
    VG_UPS_CHRG = 1 << 5,
    VG_UPS_DISCHRG = 1 << 6,
    VG_UPS_BYPASS = 1 << 7,
    VG_UPS_CAL = 1 << 8,
    VG_UPS_OFF = 1 << 9,
    VG_UPS_OVER = 1 << 10,
    VG_UPS_TRIM = 1 << 11,
    VG_UPS_BOOST = 1 << 12,
    VG_UPS_FSD = 1 << 13,
};

struct vg_stype_info {
    const char *name; /* "temperature", "ups-status", ... */
    const char *unit; /* default unit, "" for states */
    int is_state;     /* value is a code or a bit set, not a quantity */
};

/* Info of a type (VG_BUG outside the range). */
const struct vg_stype_info *vg_stype_info(enum vg_stype type);

/* Type by canonical name; -1 if unknown. */
int vg_stype_lookup(const char *name);

/* NULL-terminated list of the names, in enum order (the schema's enum). */
const char *const *vg_stype_names(void);

/* Parses a NUT status string ("OL", "OB LB", "OL CHRG") into VG_UPS_* bits.
 * Unknown words are ignored (NUT adds new ones); returns -EINVAL for an
 * empty string or one with characters other than A-Z and spaces. */
int vg_ups_status_parse(const char *s, uint32_t *bits);

/* Dew point in degC from temperature (degC) and relative humidity (%),
 * Magnus formula (Alduchov-Eskridge constants), valid -45..60 degC. */
double vg_dew_point(double temp_c, double rh_pct);

#endif

/*
 * packs.c - the built-in rule packs (DESIGN.md section 4), applied to a
 * sensor by its type unless the Sensor says spec.builtin_rules: false.
 *
 * Each pack rule is one shared definition, however many sensors it
 * watches; only the fuel rule, whose tank and burn rate belong to one
 * generator, is a definition per fuel sensor. The numbers are the usual
 * published ones (ASHRAE TC 9.9 thermal guidelines, EN 50160 for mains
 * voltage) or conservative defaults said where they are set; anything
 * site-specific is better written as a Rule, with the pack turned off on
 * that sensor.
 */
#include "rules/rules_int.h"

#include "sense/stype.h"

/* ASHRAE TC 9.9: the recommended inlet band is the same for every class,
 * the allowable band widens from A1 to A4. */
#define ASHRAE_REC_LOW       18.0
#define ASHRAE_REC_HIGH      27.0
#define ASHRAE_HYSTERESIS    0.5 /* degC */
#define FORECAST_WITHIN_S    1800 /* "reaches the allowable max in < 30 min" */
#define FORECAST_WINDOW_MS   180000 /* 3 min: a cooling failure shows in the fit within a minute */
#define HUMIDITY_WARN        70.0
#define HUMIDITY_CRIT        80.0
#define HUMIDITY_HYSTERESIS  2.0
#define DEW_POINT_LOW        -9.0
#define DEW_POINT_HIGH       15.0
#define MAINS_NOMINAL_V      230.0
#define MAINS_TOLERANCE      0.10 /* EN 50160: +-10 % */
#define MAINS_HYSTERESIS_V   2.0
#define MAINS_HOLD_MS        5000 /* a sag shorter than this is the UPS's business */
#define UPS_CHARGE_LOW       50.0
#define UPS_RUNTIME_LOW_S    600.0
#define DOOR_HELD_MS         120000
#define FUEL_WARN_HOURS      12.0
#define FUEL_CRIT_HOURS      4.0
/* A generator of about 500 kVA burns about 100 L/h of diesel at full load;
 * at no load it still burns about 30 % of that (the idle fraction). Give
 * the real figures as labels tank_litres / burn_lph_full on the fuel
 * sensor or its Device, or write a Rule with spec.fuel. */
#define FUEL_BURN_LPH_FULL   100.0
#define FUEL_IDLE_FRACTION   0.3

static const struct {
    double low, high;
} ashrae_allowable[5] = {{0, 0}, {15, 32}, {10, 35}, {5, 40}, {5, 45}};

enum pack {
    PK_DEVICE,
    PK_MAINS_LOST,
    PK_COOLING_STOPPED,
    PK_GEN_STOPPED,
    PK_INLET,        /* + class - 1 */
    PK_FORECAST = PK_INLET + 4,
    PK_HUMIDITY = PK_FORECAST + 4,
    PK_DEW_POINT,
    PK_SMOKE,
    PK_VESDA,
    PK_GAS_DISCHARGED,
    PK_GAS_FAULT,
    PK_GAS_NOT_ARMED,
    PK_WATER,
    PK_MAINS_VOLTAGE,
    PK_ATS,
    PK_UPS_STATUS,
    PK_UPS_CHARGE,
    PK_UPS_RUNTIME,
    PK_MAINS_GEN,
    PK_COOLING_ALARM,
    PK_DOOR_HELD,
    PK_DOOR_FORCED,
    PK_CAMERA,
    PK__COUNT
};

_Static_assert(PK__COUNT <= 48, "pack_def in rules_int.h is too small");

static int add(vg_rules_t *r, enum pack pk, struct rdef *d, const char *msg,
               const char *crit_msg)
{
    char fp[160];
    d->message = (char *)msg;
    d->crit_message = (char *)crit_msg;
    snprintf(fp, sizeof fp, "pack:%s:1", d->name);
    r->pack_def[pk] = vg_rules_add_def(r, d, fp);
    return r->pack_def[pk];
}

static void flag(vg_rules_t *r, enum pack pk, const char *name, double equals, uint8_t sev,
                 const char *msg)
{
    struct rdef d;
    vg_rules_proto(&d, name, OP_EQUALS, sev);
    d.equals = equals;
    add(r, pk, &d, msg, NULL);
}

static void band(vg_rules_t *r, enum pack pk, const char *name, uint8_t sev, double below,
                 double above, double hysteresis, const char *msg)
{
    struct rdef d;
    vg_rules_proto(&d, name, OP_BAND, sev);
    d.below = below, d.above = above;
    d.clear_above = below + hysteresis, d.clear_below = above - hysteresis;
    vg_rules_finish_band(&d);
    add(r, pk, &d, msg, NULL);
}

static void define_ashrae(vg_rules_t *r)
{
    for (int cls = 1; cls <= 4; cls++) {
        char name[32], warn[160], crit[160];
        struct rdef d;
        snprintf(name, sizeof name, "ashrae-a%d-inlet", cls);
        vg_rules_proto(&d, name, OP_BAND, LV_WARNING);
        d.below = ASHRAE_REC_LOW, d.above = ASHRAE_REC_HIGH;
        d.crit_below = ashrae_allowable[cls].low, d.crit_above = ashrae_allowable[cls].high;
        d.clear_above = d.below + ASHRAE_HYSTERESIS, d.clear_below = d.above - ASHRAE_HYSTERESIS;
        vg_rules_finish_band(&d);
        snprintf(warn, sizeof warn,
                 "inlet temperature {value} degC at {sensor} is outside the ASHRAE recommended "
                 "%.0f-%.0f degC",
                 ASHRAE_REC_LOW, ASHRAE_REC_HIGH);
        snprintf(crit, sizeof crit,
                 "inlet temperature {value} degC at {sensor} is outside the ASHRAE A%d "
                 "allowable %.0f-%.0f degC",
                 cls, d.crit_below, d.crit_above);
        int def = add(r, PK_INLET + cls - 1, &d, warn, crit);
        /* the cause is what pages, not the hundred inlets that follow it */
        vg_rules_link(r, def, 1, "mains-lost", SC_SITE);
        vg_rules_link(r, def, 1, "cooling-stopped", SC_ZONE);

        snprintf(name, sizeof name, "ashrae-a%d-forecast", cls);
        vg_rules_proto(&d, name, OP_PREDICT, LV_CRITICAL);
        d.threshold = ashrae_allowable[cls].high;
        d.within_s = FORECAST_WITHIN_S;
        d.window_ms = FORECAST_WINDOW_MS;
        snprintf(warn, sizeof warn,
                 "{sensor} reaches %.0f degC (ASHRAE A%d allowable max) in {predicted} at the "
                 "current trend (now {value} degC)",
                 d.threshold, cls);
        add(r, PK_FORECAST + cls - 1, &d, warn, NULL);
    }
}

static void define_power(vg_rules_t *r)
{
    struct rdef d;
    band(r, PK_MAINS_VOLTAGE, "mains-voltage", LV_WARNING,
         MAINS_NOMINAL_V * (1 - MAINS_TOLERANCE), MAINS_NOMINAL_V * (1 + MAINS_TOLERANCE),
         MAINS_HYSTERESIS_V, "mains voltage {value} V at {sensor} is outside 230 V +-10 %");
    r->defs[r->pack_def[PK_MAINS_VOLTAGE]].hold_ms = MAINS_HOLD_MS;
    flag(r, PK_ATS, "ats-on-generator", VG_ATS_GENERATOR, LV_WARNING,
         "transfer switch {sensor} is on generator");

    vg_rules_proto(&d, "ups-on-battery", OP_BITS, LV_WARNING);
    d.bits = VG_UPS_OB, d.crit_bits = VG_UPS_LB;
    add(r, PK_UPS_STATUS, &d, "UPS {device} is on battery",
        "UPS {device} battery is low (LB)");
    vg_rules_proto(&d, "ups-charge-low", OP_BAND, LV_WARNING);
    d.below = UPS_CHARGE_LOW, d.clear_above = UPS_CHARGE_LOW + 5;
    vg_rules_finish_band(&d);
    add(r, PK_UPS_CHARGE, &d, "UPS {device} charge {value} % is below 50 %", NULL);
    vg_rules_proto(&d, "ups-runtime-low", OP_BAND, LV_CRITICAL);
    d.below = UPS_RUNTIME_LOW_S, d.clear_above = UPS_RUNTIME_LOW_S * 1.1;
    vg_rules_finish_band(&d);
    add(r, PK_UPS_RUNTIME, &d, "UPS {device} runtime {value} s is below 600 s", NULL);

    vg_rules_proto(&d, "mains-lost-generator-not-running", OP_ALL, LV_CRITICAL);
    int def = add(r, PK_MAINS_GEN, &d, "mains lost and generator not running at site {site}",
                  NULL);
    vg_rules_link(r, def, 0, "mains-lost", SC_SITE);
    vg_rules_link(r, def, 0, "generator-not-running", SC_SITE);
}

void vg_rules_add_pack_defs(vg_rules_t *r)
{
    struct rdef d;
    vg_rules_proto(&d, "device-unreachable", OP_DEVICE, LV_WARNING);
    r->device_def = add(r, PK_DEVICE, &d, "device {device} is unreachable", NULL);
    flag(r, PK_MAINS_LOST, "mains-lost", 0, LV_CRITICAL, "mains lost at {sensor} ({site})");
    flag(r, PK_COOLING_STOPPED, "cooling-stopped", 0, LV_CRITICAL,
         "cooling unit {device} is not running ({sensor})");
    /* info: a part of the mains composite, never an alert of its own */
    flag(r, PK_GEN_STOPPED, "generator-not-running", 0, LV_INFO,
         "generator {device} is not running");
    define_ashrae(r);

    vg_rules_proto(&d, "humidity-high", OP_BAND, LV_WARNING);
    d.above = HUMIDITY_WARN, d.crit_above = HUMIDITY_CRIT;
    d.clear_below = HUMIDITY_WARN - HUMIDITY_HYSTERESIS;
    vg_rules_finish_band(&d);
    add(r, PK_HUMIDITY, &d, "humidity {value} %RH at {sensor} is above 70 %RH",
        "humidity {value} %RH at {sensor} is above 80 %RH");
    band(r, PK_DEW_POINT, "dew-point", LV_WARNING, DEW_POINT_LOW, DEW_POINT_HIGH,
         ASHRAE_HYSTERESIS, "dew point {value} degC at {sensor} is outside -9 to 15 degC");

    flag(r, PK_SMOKE, "smoke", 1, LV_CRITICAL, "fire: smoke detector {sensor} in alarm in {zone}");
    vg_rules_proto(&d, "vesda-alarm", OP_BAND, LV_WARNING);
    d.above = 0.5, d.crit_above = 1.5; /* 1 alert; 2 action, 3 fire1, 4 fire2 */
    vg_rules_finish_band(&d);
    add(r, PK_VESDA, &d, "VESDA {sensor} alert in {zone}",
        "fire: VESDA {sensor} at action/fire level {value} in {zone}");
    flag(r, PK_GAS_DISCHARGED, "gas-discharged", 1, LV_CRITICAL,
         "gas suppression discharged in {zone} ({sensor})");
    flag(r, PK_GAS_FAULT, "gas-fault", 1, LV_WARNING, "gas suppression fault in {zone} ({sensor})");
    flag(r, PK_GAS_NOT_ARMED, "gas-not-armed", 0, LV_WARNING,
         "gas suppression in {zone} is not armed ({sensor})");
    flag(r, PK_WATER, "water-leak", 1, LV_CRITICAL, "water leak at {sensor} in {zone}");
    define_power(r);
    flag(r, PK_COOLING_ALARM, "cooling-alarm", 1, LV_WARNING,
         "cooling unit {device} is in alarm ({sensor})");
    flag(r, PK_DOOR_HELD, "door-held-open", 1, LV_WARNING,
         "door {sensor} held open for more than 120 s");
    r->defs[r->pack_def[PK_DOOR_HELD]].hold_ms = DOOR_HELD_MS;
    flag(r, PK_DOOR_FORCED, "door-forced", 1, LV_CRITICAL, "door {sensor} forced open");
    flag(r, PK_CAMERA, "camera-offline", 0, LV_WARNING, "camera offline: {sensor}");
}

/* ---- instances ---- */

/* A positive number from a label of the sensor or else of its device. */
static double label_number(const json_t *sensor_obj, const json_t *device_obj, const char *key)
{
    const json_t *objs[] = {sensor_obj, device_obj};
    for (size_t i = 0; i < VG_ARRAY_LEN(objs); i++) {
        const char *s = json_string_value(json_object_get(json_object_get(objs[i], "labels"), key));
        char *end;
        double v = s ? strtod(s, &end) : 0;
        if (s && *s && !*end && v > 0)
            return v;
    }
    return NAN;
}

static const json_t *device_obj(const vg_rules_t *r, const json_t *devices, int dev)
{
    size_t i;
    const json_t *obj;
    if (dev < 0)
        return NULL;
    json_array_foreach(devices, i, obj)
        if (strcmp(json_string_value(json_object_get(obj, "name")), r->devices[dev].name) == 0)
            return obj;
    return NULL;
}

/* Fuel hours: one definition per fuel sensor, with its generator's figures. */
static void fuel_instance(vg_rules_t *r, int idx, const json_t *obj, const json_t *devices)
{
    const struct rsensor *s = &r->sensors[idx];
    const json_t *dev = device_obj(r, devices, s->device);
    struct rdef d;
    vg_rules_proto(&d, "generator-fuel-hours", OP_FUEL, LV_WARNING);
    d.within_s = FUEL_WARN_HOURS * 3600, d.crit_within_s = FUEL_CRIT_HOURS * 3600;
    d.idle_fraction = FUEL_IDLE_FRACTION;
    d.burn_lph_full = label_number(obj, dev, "burn_lph_full");
    if (isnan(d.burn_lph_full))
        d.burn_lph_full = FUEL_BURN_LPH_FULL;
    if (s->type == VG_ST_GENERATOR_FUEL) {
        d.tank_litres = label_number(obj, dev, "tank_litres");
        if (isnan(d.tank_litres)) {
            vg_rules_problem(r, "sensor '%s': no generator-fuel-hours rule: a fuel %% sensor "
                                "needs the label tank_litres on it or its device", s->name);
            return;
        }
    }
    for (int i = 0; i < r->n_sensors && s->device >= 0; i++)
        if (r->sensors[i].device == s->device && r->sensors[i].type == VG_ST_GENERATOR_LOAD) {
            d.load_sensor = i;
            break;
        }
    char fp[256];
    snprintf(fp, sizeof fp, "pack:generator-fuel-hours:1:tank=%.17g:burn=%.17g:load=%s",
             d.tank_litres, d.burn_lph_full,
             d.load_sensor >= 0 ? r->sensors[d.load_sensor].name : "-");
    d.message = "generator {device} has fuel for {predicted} at the current load";
    vg_rules_add_inst(r, vg_rules_add_def(r, &d, fp), idx, -1);
}

static const int8_t simple_pack[VG_ST__COUNT] = {
    [VG_ST_HUMIDITY] = PK_HUMIDITY + 1,
    [VG_ST_DEW_POINT] = PK_DEW_POINT + 1,
    [VG_ST_SMOKE] = PK_SMOKE + 1,
    [VG_ST_VESDA_ALARM] = PK_VESDA + 1,
    [VG_ST_GAS_ARMED] = PK_GAS_NOT_ARMED + 1,
    [VG_ST_GAS_DISCHARGED] = PK_GAS_DISCHARGED + 1,
    [VG_ST_GAS_FAULT] = PK_GAS_FAULT + 1,
    [VG_ST_WATER_LEAK] = PK_WATER + 1,
    [VG_ST_MAINS_VOLTAGE] = PK_MAINS_VOLTAGE + 1,
    [VG_ST_MAINS_STATUS] = PK_MAINS_LOST + 1,
    [VG_ST_ATS_POSITION] = PK_ATS + 1,
    [VG_ST_UPS_STATUS] = PK_UPS_STATUS + 1,
    [VG_ST_UPS_CHARGE] = PK_UPS_CHARGE + 1,
    [VG_ST_UPS_RUNTIME] = PK_UPS_RUNTIME + 1,
    [VG_ST_GENERATOR_RUNNING] = PK_GEN_STOPPED + 1,
    [VG_ST_COOLING_RUNNING] = PK_COOLING_STOPPED + 1,
    [VG_ST_COOLING_ALARM] = PK_COOLING_ALARM + 1,
    [VG_ST_DOOR_CONTACT] = PK_DOOR_HELD + 1,
    [VG_ST_DOOR_FORCED] = PK_DOOR_FORCED + 1,
    [VG_ST_CAMERA_REACHABLE] = PK_CAMERA + 1,
};

/* Temperatures get the ASHRAE pack of their zone's class; a server room
 * without a class is run to A1, other rooms get no inlet rules. */
static void temperature_instances(vg_rules_t *r, int idx)
{
    const struct rplace *z = &r->zones[r->sensors[idx].zone];
    int cls = z->ashrae ? z->ashrae : z->server_room ? 1 : 0;
    if (!cls)
        return;
    vg_rules_add_inst(r, r->pack_def[PK_INLET + cls - 1], idx, -1);
    vg_rules_add_inst(r, r->pack_def[PK_FORECAST + cls - 1], idx, -1);
}

void vg_rules_add_packs(vg_rules_t *r, const json_t **sensor_objs, const json_t *devices)
{
    uint8_t *site_has = vg_calloc((size_t)r->n_sites + 1, 1); /* 1 mains, 2 generator */
    for (int i = 0; i < r->n_sensors; i++) {
        const struct rsensor *s = &r->sensors[i];
        const json_t *spec = json_object_get(sensor_objs[i], "spec");
        if (json_is_false(json_object_get(spec, "builtin_rules")) || s->type == 255)
            continue;
        if (s->type == VG_ST_TEMPERATURE)
            temperature_instances(r, i);
        else if (s->type == VG_ST_GENERATOR_FUEL || s->type == VG_ST_GENERATOR_FUEL_L)
            fuel_instance(r, i, sensor_objs[i], devices);
        else if (simple_pack[s->type])
            vg_rules_add_inst(r, r->pack_def[simple_pack[s->type] - 1], i, -1);
        site_has[s->site] |= s->type == VG_ST_MAINS_STATUS ? 1
                             : s->type == VG_ST_GENERATOR_RUNNING ? 2
                                                                  : 0;
    }
    for (int site = 0; site < r->n_sites; site++)
        if (site_has[site] == 3)
            vg_rules_add_inst(r, r->pack_def[PK_MAINS_GEN], -1, site);
    free(site_has);
}

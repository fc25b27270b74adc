/*
 * sim.c - the simulator's physical model (see sim.h for the equations and
 * the numbers behind them).
 *
 * State changes in two ways: discrete transitions (generator start, ATS
 * moves, compressor restart, smoke alarm, gas discharge) at known times,
 * and continuous flows (heat, battery energy, fuel) that are constant over
 * a sub-step. vg_sim_step cuts time at every pending transition and at the
 * moment a battery or tank would empty, so those happen at their exact
 * times; between them it integrates with explicit Euler in sub-steps of at
 * most 0.5 s (exact for the constant heating rate of a cooling failure).
 * Nothing here reads a clock, allocates after vg_sim_new or logs.
 */
#include "sense/sim.h"

#include <math.h>

#include "sense/stype.h"

#define MAX_STEP_S     0.5
#define EPS_S          1e-9
#define INLET_APPROACH 2.0  /* K: inlet above supply air (mixing, bypass) */
#define COIL_DT_K      12.0 /* K: return - supply at full cooling duty */
#define SERVER_DT_K    12.0 /* K: hot aisle - inlet at full IT load */
#define CTRL_KW_PER_K  20.0 /* cooling controller gain */
#define TAU_RUN_S      20.0 /* supply/return sensors follow a running unit */
#define TAU_STOP_S     60.0 /* ... and drift to the hot aisle when stopped */
#define RESTART_S      30.0 /* compressor anti-short-cycle */
#define ATS_TO_GEN_S   2.0  /* generator voltage/frequency settle */
#define ATS_TO_MAINS_S 30.0 /* mains must be stable before retransfer */
#define ATS_DEAD_S     5.0  /* retransfer onto mains when the output is dead */
#define COOLDOWN_S     60.0 /* generator runs unloaded after retransfer */
#define UPS_EFF        0.95
#define UPS_LOSS       0.05 /* of IT load, online double conversion */
#define UPS_LB_PCT     20.0
#define UPS_RECHARGE_H 2.0   /* from flat to full */
#define FAN_FRACTION   0.02  /* of cooling_kw, while running */
#define BURN_IDLE      0.3   /* burn = full x (0.3 + 0.7 x load fraction) */
#define VESDA_BASE     0.005 /* %obs/m, clean room */
#define VESDA_GROWTH   0.01
#define VESDA_TAU_S    45.0 /* fire growth */
#define VESDA_MAX      20.0
#define VESDA_DECAY_S  120.0 /* after discharge */
#define SMOKE_AT       0.5   /* %obs/m: point detector alarms */
#define MAGNUS_B       17.625
#define MAGNUS_C       243.04

enum {
    SC_COOLING = 1,
    SC_MAINS = 2,
    SC_GEN_FAIL = 4,
    SC_FIRE = 8,
    SC_LEAK = 16,
    SC_DOOR = 32,
    SC_CAMERA = 64,
    SC_GAS_FAULT = 128,
    SC_REFUEL = 256,
    SC_RESET = 512
};

static const struct {
    const char *name;
    unsigned bits;
} scenarios[] = {
    {"normal", 0},
    {"cooling-failure", SC_COOLING},
    {"mains-loss", SC_MAINS},
    {"generator-fails-to-start", SC_MAINS | SC_GEN_FAIL},
    {"fire", SC_FIRE},
    {"leak", SC_LEAK},
    {"door-forced", SC_DOOR},
    {"camera-down", SC_CAMERA},
    {"gas-fault", SC_GAS_FAULT},
    {"refuel", SC_REFUEL},
    {"reset", SC_RESET},
};

/* Per quantity: sensor type, noise (1 sigma), steps per unit for
 * quantising (0: exact), upper clamp (0: none). Values never go below 0
 * except temperatures. */
static const struct qinfo {
    const char *name;
    int stype;
    double noise;
    double per_unit;
    double max;
} qinfos[VG_SIMQ__COUNT] = {
    [VG_SIMQ_INLET_TEMP] = {"inlet-temp", VG_ST_TEMPERATURE, 0.05, 10, 0},
    [VG_SIMQ_HUMIDITY] = {"humidity", VG_ST_HUMIDITY, 0.4, 1, 100},
    [VG_SIMQ_DEW_POINT] = {"dew-point", VG_ST_DEW_POINT, 0.1, 10, 0},
    [VG_SIMQ_COOLING_RUNNING] = {"cooling-running", VG_ST_COOLING_RUNNING, 0, 0, 0},
    [VG_SIMQ_COOLING_SUPPLY] = {"cooling-supply-temp", VG_ST_COOLING_SUPPLY, 0.05, 10, 0},
    [VG_SIMQ_COOLING_RETURN] = {"cooling-return-temp", VG_ST_COOLING_RETURN, 0.05, 10, 0},
    [VG_SIMQ_COOLING_ALARM] = {"cooling-alarm", VG_ST_COOLING_ALARM, 0, 0, 0},
    [VG_SIMQ_MAINS_VOLTAGE] = {"mains-voltage", VG_ST_MAINS_VOLTAGE, 0.6, 10, 0},
    [VG_SIMQ_MAINS_STATUS] = {"mains-status", VG_ST_MAINS_STATUS, 0, 0, 0},
    [VG_SIMQ_ATS_POSITION] = {"ats-position", VG_ST_ATS_POSITION, 0, 0, 0},
    [VG_SIMQ_UPS_STATUS] = {"ups-status", VG_ST_UPS_STATUS, 0, 0, 0},
    [VG_SIMQ_UPS_CHARGE] = {"ups-charge", VG_ST_UPS_CHARGE, 0, 1, 100},
    [VG_SIMQ_UPS_RUNTIME] = {"ups-runtime", VG_ST_UPS_RUNTIME, 0, 1, 0},
    [VG_SIMQ_UPS_LOAD] = {"ups-load", VG_ST_UPS_LOAD, 0.3, 1, 0},
    [VG_SIMQ_GENERATOR_RUNNING] = {"generator-running", VG_ST_GENERATOR_RUNNING, 0, 0, 0},
    [VG_SIMQ_GENERATOR_FUEL] = {"generator-fuel", VG_ST_GENERATOR_FUEL, 0.02, 10, 100},
    [VG_SIMQ_GENERATOR_FUEL_L] = {"generator-fuel-litres", VG_ST_GENERATOR_FUEL_L, 0.2, 10, 0},
    [VG_SIMQ_GENERATOR_LOAD] = {"generator-load", VG_ST_GENERATOR_LOAD, 0.3, 1, 0},
    [VG_SIMQ_SMOKE] = {"smoke", VG_ST_SMOKE, 0, 0, 0},
    [VG_SIMQ_VESDA_LEVEL] = {"vesda-level", VG_ST_VESDA_LEVEL, 0.001, 1000, 0},
    [VG_SIMQ_VESDA_ALARM] = {"vesda-alarm", VG_ST_VESDA_ALARM, 0, 0, 0},
    [VG_SIMQ_GAS_ARMED] = {"gas-armed", VG_ST_GAS_ARMED, 0, 0, 0},
    [VG_SIMQ_GAS_DISCHARGED] = {"gas-discharged", VG_ST_GAS_DISCHARGED, 0, 0, 0},
    [VG_SIMQ_GAS_FAULT] = {"gas-fault", VG_ST_GAS_FAULT, 0, 0, 0},
    [VG_SIMQ_WATER_LEAK] = {"water-leak", VG_ST_WATER_LEAK, 0, 0, 0},
    [VG_SIMQ_DOOR_CONTACT] = {"door-contact", VG_ST_DOOR_CONTACT, 0, 0, 0},
    [VG_SIMQ_DOOR_FORCED] = {"door-forced", VG_ST_DOOR_FORCED, 0, 0, 0},
    [VG_SIMQ_CAMERA_REACHABLE] = {"camera-reachable", VG_ST_CAMERA_REACHABLE, 0, 0, 0},
    [VG_SIMQ_POWER_FACILITY_KW] = {"power-facility-kw", VG_ST_POWER_KW, 0.4, 10, 0},
    [VG_SIMQ_POWER_IT_KW] = {"power-it-kw", VG_ST_POWER_KW, 0.3, 10, 0},
};

struct sim_params {
    double area_m2, thermal_mass_kj_per_k, it_load_kw, cooling_kw, supply_setpoint_c;
    double humidity_pct, cop, overhead_kw, mains_voltage, generator_start_delay_s;
    double generator_kw, burn_lph_full, tank_litres, fuel_litres, ups_capacity_kwh;
    double ups_rated_kw, gas_delay_s, scenario_at_s;
};

#define DERIVED   NAN /* default computed from other options */
#define P(field)  offsetof(struct sim_params, field)
#define NOT_MODEL SIZE_MAX

/* Numeric options: value must be > min (open) or >= min, and <= max. */
static const struct option {
    const char *name;
    size_t offset;
    double min;
    int open;
    double max;
    double def;
} options[] = {
    {"speed", NOT_MODEL, 0, 1, VG_SIM_MAX_SPEED, 1},
    {"area_m2", P(area_m2), 0, 1, 1e5, 200},
    {"thermal_mass_kj_per_k", P(thermal_mass_kj_per_k), 0, 1, 1e9, DERIVED},
    {"it_load_kw", P(it_load_kw), 0, 1, 1e5, 150},
    {"cooling_kw", P(cooling_kw), 0, 1, 1e5, 200},
    {"supply_setpoint_c", P(supply_setpoint_c), 5, 0, 35, 20},
    {"humidity_pct", P(humidity_pct), 1, 0, 95, 45},
    {"cop", P(cop), 0, 1, 20, 3.5},
    {"overhead_kw", P(overhead_kw), 0, 0, 1e5, DERIVED},
    {"mains_voltage", P(mains_voltage), 0, 1, 1000, 230},
    {"generator_start_delay_s", P(generator_start_delay_s), 0, 0, 3600, 10},
    {"generator_kw", P(generator_kw), 0, 1, 1e5, 500},
    {"burn_lph_full", P(burn_lph_full), 0, 0, 1e5, 130},
    {"tank_litres", P(tank_litres), 0, 1, 1e7, 1000},
    {"fuel_litres", P(fuel_litres), 0, 0, 1e7, DERIVED},
    {"ups_capacity_kwh", P(ups_capacity_kwh), 0, 1, 1e5, 30},
    {"ups_rated_kw", P(ups_rated_kw), 0, 1, 1e5, 200},
    {"gas_delay_s", P(gas_delay_s), 0, 0, 600, 30},
    {"scenario_at_s", P(scenario_at_s), 0, 0, 1e9, 0},
};

static const char option_list[] =
    "speed, seed, scenario, scenario_at_s, area_m2, thermal_mass_kj_per_k, it_load_kw, "
    "cooling_kw, supply_setpoint_c, humidity_pct, cop, overhead_kw, mains_voltage, "
    "generator_start_delay_s, generator_kw, burn_lph_full, tank_litres, fuel_litres, "
    "ups_capacity_kwh, ups_rated_kw, gas_delay_s";

enum gen_state { GEN_OFF, GEN_CRANKING, GEN_RUNNING, GEN_COOLDOWN, GEN_FAILED, GEN_NOFUEL };

struct vg_sim {
    struct sim_params p;
    uint64_t seed;
    double phase[4]; /* dew point (2), IT load, mains voltage drifts */
    double t;
    unsigned active; /* SC_* */
    int pending;     /* scenario index due at pending_at, or -1 */
    double pending_at;
    double dew0_c;
    /* thermal */
    double inlet_c, supply_c, return_c;
    int cooling_on;
    double restart_at;
    /* power */
    enum gen_state gen;
    double gen_at; /* end of cranking or cooldown */
    int ats, ats_want;
    double ats_at;
    double ups_kwh;
    int ups_off;
    double fuel_l;
    /* fire */
    double fire_at, smoke_at, discharge_at, vesda_discharge;
    int smoke, discharged;
};

/* What flows now, from the state (constant over a sub-step). */
struct flows {
    int live;         /* the ATS output has power */
    double it_kw;     /* IT load actually running */
    double q_cool_kw; /* heat removed */
    double charge_kw; /* into the battery */
    double draw_kw;   /* out of the battery */
    double facility_kw;
    double gen_load; /* fraction of generator_kw */
    double burn_lps; /* litres per second */
};

/* ---- names and options ---------------------------------------------- */

int vg_sim_quantity_lookup(const char *name)
{
    for (int i = 0; i < VG_SIMQ__COUNT; i++)
        if (name && strcmp(qinfos[i].name, name) == 0)
            return i;
    return -1;
}

const char *vg_sim_quantity_name(enum vg_sim_quantity q)
{
    return qinfos[q].name;
}

int vg_sim_quantity_stype(enum vg_sim_quantity q)
{
    return qinfos[q].stype;
}

static void join_names(char *buf, size_t size, const char *(*name_of)(size_t), size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", name_of(i));
}

static const char *qname_at(size_t i)
{
    return qinfos[i].name;
}

static const char *scenario_at(size_t i)
{
    return scenarios[i].name;
}

static char quantity_list[640], scenario_list[256];

/* Built before main, so threads only ever read them. */
__attribute__((constructor)) static void fill_lists(void)
{
    join_names(quantity_list, sizeof quantity_list, qname_at, VG_SIMQ__COUNT);
    join_names(scenario_list, sizeof scenario_list, scenario_at, VG_ARRAY_LEN(scenarios));
}

const char *vg_sim_quantity_list(void)
{
    return quantity_list;
}

const char *vg_sim_scenario_list(void)
{
    return scenario_list;
}

static int scenario_lookup(const char *name)
{
    for (size_t i = 0; i < VG_ARRAY_LEN(scenarios); i++)
        if (name && strcmp(scenarios[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int check_number(const struct option *o, const json_t *v, char *err, size_t errlen)
{
    double x = json_number_value(v);
    if (!json_is_number(v) || !isfinite(x))
        return vg_err(err, errlen, -EINVAL, "options.%s: expected a number", o->name);
    if (o->open ? x <= o->min : x < o->min)
        return vg_err(err, errlen, -EINVAL, "options.%s: must be %s %g", o->name,
                      o->open ? ">" : ">=", o->min);
    if (x > o->max)
        return vg_err(err, errlen, -EINVAL, "options.%s: must be <= %g", o->name, o->max);
    return 0;
}

static int check_special(const char *key, const json_t *v, char *err, size_t errlen)
{
    if (strcmp(key, "seed") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return vg_err(err, errlen, -EINVAL, "options.seed: expected an integer >= 0");
        return 0;
    }
    const char *name = json_string_value(v);
    if (!name)
        return vg_err(err, errlen, -EINVAL, "options.scenario: expected a string");
    if (scenario_lookup(name) < 0)
        return vg_err(err, errlen, -EINVAL, "options.scenario: '%.64s' is not one of %s", name,
                      vg_sim_scenario_list());
    return 0;
}

int vg_sim_check_options(const json_t *opts, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)opts, key, v)
    {
        if (strcmp(key, "seed") == 0 || strcmp(key, "scenario") == 0) {
            int rc = check_special(key, v, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        size_t i = 0;
        while (i < VG_ARRAY_LEN(options) && strcmp(options[i].name, key) != 0)
            i++;
        if (i == VG_ARRAY_LEN(options))
            return vg_err(err, errlen, -EINVAL, "options.%.64s: unknown option (%s)", key,
                          option_list);
        int rc = check_number(&options[i], v, err, errlen);
        if (rc)
            return rc;
    }
    const json_t *fuel = json_object_get(opts, "fuel_litres");
    const json_t *tank = json_object_get(opts, "tank_litres");
    double tank_l = tank ? json_number_value(tank) : 1000;
    if (fuel && json_number_value(fuel) > tank_l)
        return vg_err(err, errlen, -EINVAL, "options.fuel_litres: must be <= tank_litres (%g)",
                      tank_l);
    return 0;
}

double vg_sim_option_speed(const json_t *opts)
{
    const json_t *v = json_object_get(opts, "speed");
    return v ? json_number_value(v) : 1.0;
}

uint64_t vg_sim_key(const char *name)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return h;
}

uint64_t vg_sim_option_seed(const json_t *opts, const char *fallback_name)
{
    const json_t *v = json_object_get(opts, "seed");
    return v ? (uint64_t)json_integer_value(v) : vg_sim_key(fallback_name);
}

static void read_params(const json_t *opts, struct sim_params *p)
{
    for (size_t i = 0; i < VG_ARRAY_LEN(options); i++) {
        if (options[i].offset == NOT_MODEL)
            continue;
        const json_t *v = json_object_get(opts, options[i].name);
        *(double *)((char *)p + options[i].offset) = v ? json_number_value(v) : options[i].def;
    }
    if (isnan(p->thermal_mass_kj_per_k))
        p->thermal_mass_kj_per_k = 30.0 * p->area_m2;
    if (isnan(p->overhead_kw))
        p->overhead_kw = 0.1 * p->it_load_kw;
    if (isnan(p->fuel_litres))
        p->fuel_litres = p->tank_litres;
}

/* ---- noise ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform in (0, 1]. */
static double unit_interval(uint64_t x)
{
    return ((double)(splitmix64(x) >> 11) + 1.0) / 9007199254740992.0;
}

static double gauss(uint64_t seed, uint64_t key, int q, double t)
{
    uint64_t base = splitmix64(seed ^ splitmix64(key ^ ((uint64_t)q << 56)));
    base ^= (uint64_t)llround(t * 1000.0);
    double u1 = unit_interval(base), u2 = unit_interval(base ^ 0x5bd1e995ULL);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- the model -------------------------------------------------------- */

static double inlet_target(const struct vg_sim *s)
{
    return s->p.supply_setpoint_c + INLET_APPROACH;
}

static double dew_point(const struct vg_sim *s)
{
    return s->dew0_c + 0.6 * sin(2 * M_PI * s->t / 21600 + s->phase[0]) +
           0.3 * sin(2 * M_PI * s->t / 5820 + s->phase[1]);
}

static double rel_humidity(double temp_c, double dew_c)
{
    double rh = 100.0 * exp(MAGNUS_B * dew_c / (MAGNUS_C + dew_c) -
                            MAGNUS_B * temp_c / (MAGNUS_C + temp_c));
    return rh > 100 ? 100 : rh;
}

static int mains_present(const struct vg_sim *s)
{
    return !(s->active & SC_MAINS);
}

static int gen_live(const struct vg_sim *s)
{
    return s->gen == GEN_RUNNING || s->gen == GEN_COOLDOWN;
}

static int output_live(const struct vg_sim *s)
{
    return (s->ats == VG_ATS_MAINS && mains_present(s)) ||
           (s->ats == VG_ATS_GENERATOR && gen_live(s));
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void compute_flows(const struct vg_sim *s, struct flows *f)
{
    const struct sim_params *p = &s->p;
    memset(f, 0, sizeof *f);
    f->live = output_live(s);
    if (!s->ups_off)
        f->it_kw = p->it_load_kw * (1 + 0.03 * sin(2 * M_PI * s->t / 86400 + s->phase[2]));
    if (s->cooling_on)
        f->q_cool_kw =
            clamp(f->it_kw + CTRL_KW_PER_K * (s->inlet_c - inlet_target(s)), 0, p->cooling_kw);
    if (f->live) {
        if (s->ups_kwh < p->ups_capacity_kwh)
            f->charge_kw = p->ups_capacity_kwh / UPS_RECHARGE_H;
        f->facility_kw = f->it_kw * (1 + UPS_LOSS) + f->charge_kw + p->overhead_kw;
        if (s->cooling_on)
            f->facility_kw += f->q_cool_kw / p->cop + FAN_FRACTION * p->cooling_kw;
    } else {
        f->draw_kw = f->it_kw / UPS_EFF;
    }
    if (f->live && s->ats == VG_ATS_GENERATOR && s->gen == GEN_RUNNING)
        f->gen_load = f->facility_kw / p->generator_kw;
    if (gen_live(s))
        f->burn_lps =
            p->burn_lph_full * (BURN_IDLE + (1 - BURN_IDLE) * fmin(f->gen_load, 1)) / 3600;
}

static int due(const struct vg_sim *s, double at)
{
    return at <= s->t + EPS_S;
}

static void clear_fire(struct vg_sim *s)
{
    s->fire_at = s->smoke_at = s->discharge_at = INFINITY;
    s->smoke = s->discharged = 0;
    s->vesda_discharge = VESDA_BASE;
}

/* Steady normal operation: room at its setpoint, batteries and tank full. */
static void steady_state(struct vg_sim *s)
{
    s->active = 0;
    s->inlet_c = inlet_target(s);
    s->supply_c = s->p.supply_setpoint_c;
    s->return_c = s->supply_c + COIL_DT_K * fmin(1, s->p.it_load_kw / s->p.cooling_kw);
    s->cooling_on = 1;
    s->restart_at = INFINITY;
    s->gen = GEN_OFF;
    s->ats = s->ats_want = VG_ATS_MAINS;
    s->ups_kwh = s->p.ups_capacity_kwh;
    s->ups_off = 0;
    s->fuel_l = s->p.fuel_litres;
    clear_fire(s);
}

static void start_scenario(struct vg_sim *s, int index)
{
    unsigned bits = scenarios[index].bits;
    if (bits & SC_RESET) {
        steady_state(s);
        return;
    }
    if (!bits) {
        s->active = 0;
        clear_fire(s);
        return;
    }
    if (bits & SC_REFUEL) {
        s->fuel_l = s->p.tank_litres;
        if (s->gen == GEN_NOFUEL)
            s->gen = GEN_OFF;
        return;
    }
    if ((bits & SC_FIRE) && !(s->active & SC_FIRE)) {
        clear_fire(s);
        s->fire_at = s->t;
        s->smoke_at = s->t + VESDA_TAU_S * log(1 + (SMOKE_AT - VESDA_BASE) / VESDA_GROWTH);
    }
    s->active |= bits;
}

static void update_generator(struct vg_sim *s)
{
    int mains = mains_present(s);
    if (gen_live(s) && s->fuel_l <= 0)
        s->gen = GEN_NOFUEL;
    switch (s->gen) {
    case GEN_OFF:
        if (!mains) {
            s->gen = GEN_CRANKING;
            s->gen_at = s->t + s->p.generator_start_delay_s;
        }
        break;
    case GEN_CRANKING:
        if (mains)
            s->gen = GEN_OFF;
        else if (due(s, s->gen_at))
            s->gen = (s->active & SC_GEN_FAIL) || s->fuel_l <= 0 ? GEN_FAILED : GEN_RUNNING;
        break;
    case GEN_RUNNING:
        if (mains && s->ats == VG_ATS_MAINS) {
            s->gen = GEN_COOLDOWN;
            s->gen_at = s->t + COOLDOWN_S;
        }
        break;
    case GEN_COOLDOWN:
        if (!mains)
            s->gen = GEN_RUNNING;
        else if (due(s, s->gen_at))
            s->gen = GEN_OFF;
        break;
    case GEN_FAILED:
    case GEN_NOFUEL:
        if (mains)
            s->gen = s->gen == GEN_FAILED || s->fuel_l > 0 ? GEN_OFF : GEN_NOFUEL;
        break;
    }
}

static void update_ats(struct vg_sim *s)
{
    int mains = mains_present(s);
    /* an ATS opens at once when the source it is on dies */
    if (!output_live(s))
        s->ats = VG_ATS_OFF;
    int want = mains ? VG_ATS_MAINS : s->gen == GEN_RUNNING ? VG_ATS_GENERATOR : VG_ATS_OFF;
    if (want != s->ats_want) {
        double delay = want == VG_ATS_GENERATOR ? ATS_TO_GEN_S
                       : want == VG_ATS_MAINS
                           ? (s->ats == VG_ATS_OFF ? ATS_DEAD_S : ATS_TO_MAINS_S)
                           : 0;
        s->ats_want = want;
        s->ats_at = s->t + delay;
    }
    if (s->ats != s->ats_want && due(s, s->ats_at))
        s->ats = s->ats_want;
}

static void update_cooling(struct vg_sim *s)
{
    int can_run = output_live(s) && !(s->active & SC_COOLING);
    if (!can_run) {
        s->cooling_on = 0;
        s->restart_at = INFINITY;
    } else if (!s->cooling_on) {
        if (isinf(s->restart_at))
            s->restart_at = s->t + RESTART_S;
        else if (due(s, s->restart_at)) {
            s->cooling_on = 1;
            s->restart_at = INFINITY;
        }
    }
}

static double vesda_level(const struct vg_sim *s)
{
    if (s->discharged)
        return VESDA_BASE + (s->vesda_discharge - VESDA_BASE) *
                                exp(-(s->t - s->discharge_at) / VESDA_DECAY_S);
    if (isinf(s->fire_at))
        return VESDA_BASE;
    double grown = VESDA_BASE + VESDA_GROWTH * (exp((s->t - s->fire_at) / VESDA_TAU_S) - 1);
    return fmin(grown, VESDA_MAX);
}

static void update_fire(struct vg_sim *s)
{
    if (!(s->active & SC_FIRE))
        return;
    if (!s->smoke && due(s, s->smoke_at)) {
        s->smoke = 1;
        s->discharge_at = s->smoke_at + s->p.gas_delay_s;
    }
    if ((s->active & SC_GAS_FAULT) && !s->discharged)
        s->discharge_at = INFINITY;
    if (!s->discharged && due(s, s->discharge_at)) {
        s->vesda_discharge = vesda_level(s);
        s->discharged = 1;
    }
}

/* All transitions due now; twice, since one can enable another (the ATS
 * back on mains lets the generator cool down). */
static void update_discrete(struct vg_sim *s)
{
    if (s->pending >= 0 && due(s, s->pending_at)) {
        start_scenario(s, s->pending);
        s->pending = -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (!s->ups_off && s->ups_kwh <= 0 && !output_live(s))
            s->ups_off = 1;
        if (output_live(s))
            s->ups_off = 0;
        update_generator(s);
        update_ats(s);
        update_cooling(s);
        update_fire(s);
    }
}

static double next_event(const struct vg_sim *s)
{
    double at[] = {
        s->pending >= 0 ? s->pending_at : INFINITY,
        s->gen == GEN_CRANKING || s->gen == GEN_COOLDOWN ? s->gen_at : INFINITY,
        s->ats != s->ats_want ? s->ats_at : INFINITY,
        s->restart_at,
        (s->active & SC_FIRE) && !s->smoke ? s->smoke_at : INFINITY,
        (s->active & SC_FIRE) && !s->discharged ? s->discharge_at : INFINITY,
    };
    double next = INFINITY;
    for (size_t i = 0; i < VG_ARRAY_LEN(at); i++)
        if (at[i] > s->t + EPS_S && at[i] < next)
            next = at[i];
    return next;
}

static double relax(double value, double target, double h, double tau)
{
    return target + (value - target) * exp(-h / tau);
}

static void integrate(struct vg_sim *s, const struct flows *f, double h)
{
    const struct sim_params *p = &s->p;
    s->inlet_c += (f->it_kw - f->q_cool_kw) * h / p->thermal_mass_kj_per_k;
    if (s->cooling_on) {
        double supply = s->inlet_c - INLET_APPROACH;
        s->supply_c = relax(s->supply_c, supply, h, TAU_RUN_S);
        s->return_c =
            relax(s->return_c, supply + COIL_DT_K * f->q_cool_kw / p->cooling_kw, h, TAU_RUN_S);
    } else {
        double hot = s->inlet_c + SERVER_DT_K * f->it_kw / p->it_load_kw;
        s->supply_c = relax(s->supply_c, hot, h, TAU_STOP_S);
        s->return_c = relax(s->return_c, hot, h, TAU_STOP_S);
    }
    s->ups_kwh += (f->charge_kw - f->draw_kw) * h / 3600;
    s->ups_kwh = clamp(s->ups_kwh, 0, p->ups_capacity_kwh);
    s->fuel_l -= f->burn_lps * h;
    /* the cut at the moment of emptying leaves rounding dust */
    if (s->ups_kwh < 1e-9)
        s->ups_kwh = 0;
    if (s->fuel_l < 1e-9)
        s->fuel_l = 0;
}

void vg_sim_step(struct vg_sim *s, double dt_s)
{
    double end = s->t + (dt_s > 0 ? dt_s : 0);
    update_discrete(s);
    while (end - s->t > EPS_S) {
        struct flows f;
        compute_flows(s, &f);
        double h = fmin(fmin(MAX_STEP_S, end - s->t), next_event(s) - s->t);
        if (f.draw_kw > 0 && s->ups_kwh > 0)
            h = fmin(h, s->ups_kwh * 3600 / f.draw_kw);
        if (f.burn_lps > 0 && s->fuel_l > 0)
            h = fmin(h, s->fuel_l / f.burn_lps);
        integrate(s, &f, h);
        s->t += h;
        update_discrete(s);
    }
}

double vg_sim_time(const struct vg_sim *s)
{
    return s->t;
}

int vg_sim_set_scenario(struct vg_sim *s, const char *name, char *err, size_t errlen)
{
    int index = scenario_lookup(name);
    if (index < 0)
        return vg_err(err, errlen, -EINVAL, "unknown scenario '%.64s' (%s)", name ? name : "",
                      vg_sim_scenario_list());
    start_scenario(s, index);
    update_discrete(s);
    return 0;
}

int vg_sim_new(const json_t *opts, uint64_t seed, struct vg_sim **out, char *err, size_t errlen)
{
    int rc = vg_sim_check_options(opts, err, errlen);
    if (rc)
        return rc;
    struct vg_sim *s = vg_calloc(1, sizeof *s);
    read_params(opts, &s->p);
    s->seed = seed;
    for (size_t i = 0; i < VG_ARRAY_LEN(s->phase); i++)
        s->phase[i] = 2 * M_PI * unit_interval(seed + 0x1000 * (i + 1));
    s->dew0_c = vg_dew_point(inlet_target(s), s->p.humidity_pct);
    steady_state(s);
    s->pending = scenario_lookup(json_string_value(json_object_get(opts, "scenario")));
    s->pending_at = s->p.scenario_at_s;
    update_discrete(s);
    *out = s;
    return 0;
}

void vg_sim_free(struct vg_sim *sim)
{
    free(sim);
}

static double ups_status(const struct vg_sim *s, const struct flows *f)
{
    if (s->ups_off)
        return VG_UPS_OFF | VG_UPS_LB;
    double pct = 100 * s->ups_kwh / s->p.ups_capacity_kwh;
    unsigned bits = f->live ? VG_UPS_OL : VG_UPS_OB | VG_UPS_DISCHRG;
    if (f->charge_kw > 0)
        bits |= VG_UPS_CHRG;
    if (!f->live && pct < UPS_LB_PCT)
        bits |= VG_UPS_LB;
    return bits;
}

static double vesda_alarm(double level)
{
    static const double thresholds[] = {0.08, 0.14, 0.2, 2.0};
    int code = 0;
    while (code < 4 && level >= thresholds[code])
        code++;
    return code;
}

static double power_value(const struct vg_sim *s, const struct flows *f, enum vg_sim_quantity q)
{
    const struct sim_params *p = &s->p;
    switch (q) {
    case VG_SIMQ_MAINS_VOLTAGE:
        return mains_present(s)
                   ? p->mains_voltage + 1.5 * sin(2 * M_PI * s->t / 7200 + s->phase[3])
                   : 0;
    case VG_SIMQ_MAINS_STATUS:
        return mains_present(s);
    case VG_SIMQ_ATS_POSITION:
        return s->ats;
    case VG_SIMQ_UPS_STATUS:
        return ups_status(s, f);
    case VG_SIMQ_UPS_CHARGE:
        return 100 * s->ups_kwh / p->ups_capacity_kwh;
    case VG_SIMQ_UPS_RUNTIME:
        return s->ups_off || f->it_kw <= 0 ? 0 : s->ups_kwh * 3600 / (f->it_kw / UPS_EFF);
    case VG_SIMQ_UPS_LOAD:
        return 100 * f->it_kw / p->ups_rated_kw;
    case VG_SIMQ_GENERATOR_RUNNING:
        return gen_live(s);
    case VG_SIMQ_GENERATOR_FUEL:
        return 100 * s->fuel_l / p->tank_litres;
    case VG_SIMQ_GENERATOR_FUEL_L:
        return s->fuel_l;
    case VG_SIMQ_GENERATOR_LOAD:
        return 100 * f->gen_load;
    case VG_SIMQ_POWER_FACILITY_KW:
        return f->facility_kw;
    default: /* VG_SIMQ_POWER_IT_KW */
        return f->it_kw;
    }
}

double vg_sim_value(const struct vg_sim *s, enum vg_sim_quantity q)
{
    struct flows f;
    compute_flows(s, &f);
    switch (q) {
    case VG_SIMQ_INLET_TEMP:
        return s->inlet_c;
    case VG_SIMQ_HUMIDITY:
        return rel_humidity(s->inlet_c, dew_point(s));
    case VG_SIMQ_DEW_POINT:
        return dew_point(s);
    case VG_SIMQ_COOLING_RUNNING:
        return s->cooling_on;
    case VG_SIMQ_COOLING_SUPPLY:
        return s->supply_c;
    case VG_SIMQ_COOLING_RETURN:
        return s->return_c;
    case VG_SIMQ_COOLING_ALARM:
        return !s->cooling_on;
    case VG_SIMQ_SMOKE:
        return s->smoke;
    case VG_SIMQ_VESDA_LEVEL:
        return vesda_level(s);
    case VG_SIMQ_VESDA_ALARM:
        return vesda_alarm(vesda_level(s));
    case VG_SIMQ_GAS_ARMED:
        return !s->discharged && !(s->active & SC_GAS_FAULT);
    case VG_SIMQ_GAS_DISCHARGED:
        return s->discharged;
    case VG_SIMQ_GAS_FAULT:
        return (s->active & SC_GAS_FAULT) != 0;
    case VG_SIMQ_WATER_LEAK:
        return (s->active & SC_LEAK) != 0;
    case VG_SIMQ_DOOR_CONTACT:
    case VG_SIMQ_DOOR_FORCED:
        return (s->active & SC_DOOR) != 0;
    case VG_SIMQ_CAMERA_REACHABLE:
        return !(s->active & SC_CAMERA);
    default:
        if ((unsigned)q >= VG_SIMQ__COUNT)
            VG_BUG("sim quantity %d out of range", (int)q);
        return power_value(s, &f, q);
    }
}

/* -0.40..+0.40 degC, fixed per sensor. */
static double placement_offset(uint64_t key)
{
    return key ? (double)((int)(splitmix64(key) % 81) - 40) / 100.0 : 0;
}

double vg_sim_read(const struct vg_sim *s, enum vg_sim_quantity q, uint64_t key)
{
    double v = vg_sim_value(s, q); /* checks q */
    const struct qinfo *qi = &qinfos[q];
    if (q == VG_SIMQ_INLET_TEMP)
        v += placement_offset(key);
    /* a dead circuit reads exactly 0, with no noise */
    if (qi->noise > 0 && v != 0)
        v += qi->noise * gauss(s->seed, key, (int)q, s->t);
    if (qi->stype != VG_ST_TEMPERATURE && qi->stype != VG_ST_DEW_POINT &&
        qi->stype != VG_ST_COOLING_SUPPLY && qi->stype != VG_ST_COOLING_RETURN && v < 0)
        v = 0;
    if (qi->max > 0 && v > qi->max)
        v = qi->max;
    if (qi->per_unit > 0)
        v = round(v * qi->per_unit) / qi->per_unit;
    return v;
}

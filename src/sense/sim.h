/*
 * sim.h - the physical model behind the "sim" driver: one site's server hall,
 * its cooling, its power chain (mains, ATS, UPS, generator) and its safety
 * systems (VESDA, smoke, gas suppression, leak, door, camera).
 *
 * The model is pure: given the options, a seed and the simulated time it
 * always gives the same values, on any thread, with no clock or I/O. The
 * driver (drv_sim.c) advances it by elapsed real time x options.speed; unit
 * tests step it directly to compute ground truth (when the inlet crosses
 * 32 degC, when the UPS reaches low battery, when the tank runs dry). A
 * vg_sim is not thread-safe; the driver serialises access.
 *
 * Model, with the defaults (each named number is an option; the table in
 * sim.c lists them with their ranges):
 *
 * Thermal. One well-mixed hall of area_m2 = 200 with thermal mass
 *   thermal_mass_kj_per_k = 30 kJ/K per m2 = 6000 kJ/K: the air of the hall
 *   and its plenums (200 m2 x 3 m x 1.2 kg/m3 x 1.005 kJ/kg.K ~ 720 kJ/K)
 *   plus the part of the racks' metal (50 racks x ~700 kg x ~0.5 kJ/kg.K,
 *   ~17500 kJ/K) that exchanges heat within minutes (~30 %). The hall is
 *   adiabatic (no envelope losses: pessimistic), so
 *       C dT/dt = P_it - Q_cool
 *   With cooling stopped and it_load_kw = 150 the inlet rises 150/6000 =
 *   0.025 K/s = 1.5 degC per minute: 22 -> 32 degC in 400 s.
 *   Cooling: cooling_kw = 200 of capacity, holding the inlet at
 *   supply_setpoint_c + 2 (20 + 2 = 22 degC) by a proportional controller
 *   Q_cool = clamp(P_it + 20 kW/K x (T - target), 0, cooling_kw) (a 300 s
 *   time constant). Supply air = inlet - 2 K while running; return air =
 *   supply + 12 K x Q_cool / cooling_kw (the coil's design delta-T at full
 *   duty). A stopped unit's supply and return sensors relax towards the hot
 *   aisle (inlet + 12 K x load fraction) with a 60 s time constant. Units
 *   stop on cooling-failure or loss of power and restart 30 s (compressor
 *   anti-short-cycle) after both are gone. cooling-alarm = not running.
 *   Humidity: the dew point drifts slowly around the one of humidity_pct = 45
 *   %RH at the inlet target (+-0.6 K over 6 h, +-0.3 K over 97 min, phases
 *   from the seed); relative humidity follows from inlet and dew point
 *   (Magnus), so it falls as the room heats at constant absolute humidity.
 *
 * Power. Mains mains_voltage = 230 V (+-1.5 V slow drift), 0 when lost. ATS:
 *   opens (off) at once when its source dies, moves to the generator 2 s
 *   after the generator runs, back to mains 30 s after mains returns (5 s if
 *   the output is dead). Generator: generator_start_delay_s = 10 s after
 *   mains loss it runs (never with generator-fails-to-start, nor with an
 *   empty tank); after retransfer it cools down unloaded for 60 s and stops.
 *   Fuel: burn_lph = burn_lph_full x (0.3 + 0.7 x load fraction), with
 *   burn_lph_full = 130 L/h (a 500 kW generator_kw set at ~0.26 L/kWh) and
 *   tank_litres = 1000 (fuel_litres = full tank at start); an empty tank
 *   stops the generator. UPS: ups_capacity_kwh = 30 of battery, rated
 *   ups_rated_kw = 200, 95 % inverter efficiency; on battery it draws
 *   P_it / 0.95, runtime = stored energy / that draw; LB below 20 % charge;
 *   flat at 0 %: the UPS switches off (OFF, LB) and the IT load is dark
 *   (no heat). Online it recharges at ups_capacity_kwh / 2 h (OL CHRG).
 *   IT load: it_load_kw x (1 + 3 % diurnal swing). Facility power, metered
 *   at the ATS output: IT + 5 % UPS losses + charging + Q_cool / cop (3.5) +
 *   fans (2 % of cooling_kw while running) + overhead_kw (10 % of IT):
 *   PUE ~1.45 at the defaults.
 *
 * Fire. VESDA = 0.005 %obs/m at rest; in a fire 0.005 + 0.01 x (e^(t/45 s)
 *   - 1), at most 20: alert 0.08 (t ~99 s), action 0.14, fire1 0.2 (~137 s),
 *   fire2 2.0 (~239 s). The point smoke detector alarms (latched) at 0.5
 *   %obs/m (t ~176.5 s); that second knock starts the gas_delay_s = 30 s
 *   pre-discharge countdown, then the gas discharges (armed -> 0,
 *   discharged -> 1, unless a gas fault) and the VESDA level decays with a
 *   120 s time constant.
 *
 * Sensors read the true value plus seeded Gaussian noise, quantised to the
 * sensor's resolution (0.1 degC, 1 %RH, 0.1 V, 1 %, 1 s, 0.1 L, 0.1 kW,
 * 0.001 %obs/m); states carry no noise. Every inlet-temp sensor also sits at
 * a fixed placement offset in -0.40..+0.40 degC derived from its key (its
 * name), so several inlet sensors of one hall differ a little and always in
 * the same way.
 *
 * Scenarios: cooling-failure (every cooling unit stops), mains-loss,
 * generator-fails-to-start (a mains loss whose generator never runs: the
 * UPS discharges to LB and then drops the load), fire (VESDA rises, smoke
 * alarm, gas discharge gas_delay_s later), leak, door-forced (the door is
 * forced and stays open), camera-down, gas-fault (suppression disarmed: a
 * fire then never discharges), refuel (fills the tank; "normal" does not,
 * a tanker must come) and normal. They accumulate ("fire" during
 * "mains-loss" keeps the mains lost); "normal" ends them all and the plant
 * recovers through its own delays (ATS retransfer after 30 s, generator
 * cooldown 60 s, compressors 30 s); smoke and gas are reset at once.
 */
#ifndef VG_SIM_H
#define VG_SIM_H

#include <jansson.h>

#include "core/vg.h"

enum vg_sim_quantity {
    VG_SIMQ_INLET_TEMP,
    VG_SIMQ_HUMIDITY,
    VG_SIMQ_DEW_POINT,
    VG_SIMQ_COOLING_RUNNING,
    VG_SIMQ_COOLING_SUPPLY,
    VG_SIMQ_COOLING_RETURN,
    VG_SIMQ_COOLING_ALARM,
    VG_SIMQ_MAINS_VOLTAGE,
    VG_SIMQ_MAINS_STATUS,
    VG_SIMQ_ATS_POSITION,
    VG_SIMQ_UPS_STATUS,
    VG_SIMQ_UPS_CHARGE,
    VG_SIMQ_UPS_RUNTIME,
    VG_SIMQ_UPS_LOAD,
    VG_SIMQ_GENERATOR_RUNNING,
    VG_SIMQ_GENERATOR_FUEL,
    VG_SIMQ_GENERATOR_FUEL_L,
    VG_SIMQ_GENERATOR_LOAD,
    VG_SIMQ_SMOKE,
    VG_SIMQ_VESDA_LEVEL,
    VG_SIMQ_VESDA_ALARM,
    VG_SIMQ_GAS_ARMED,
    VG_SIMQ_GAS_DISCHARGED,
    VG_SIMQ_GAS_FAULT,
    VG_SIMQ_WATER_LEAK,
    VG_SIMQ_DOOR_CONTACT,
    VG_SIMQ_DOOR_FORCED,
    VG_SIMQ_CAMERA_REACHABLE,
    VG_SIMQ_POWER_FACILITY_KW,
    VG_SIMQ_POWER_IT_KW,
    VG_SIMQ__COUNT
};

struct vg_sim;

/* The quantity of a source.quantity name ("inlet-temp"); -1 if unknown. */
int vg_sim_quantity_lookup(const char *name);
/* Its name, and the sensor type (enum vg_stype) a sensor reading it has. */
const char *vg_sim_quantity_name(enum vg_sim_quantity q);
int vg_sim_quantity_stype(enum vg_sim_quantity q);
/* "inlet-temp, humidity, ..." for error messages; static storage. */
const char *vg_sim_quantity_list(void);
/* "normal, cooling-failure, ..."; static storage. */
const char *vg_sim_scenario_list(void);

/* Checks a Device's spec.options for the sim driver (never NULL). Failure:
 * -EINVAL, err starts with the dotted field ("options.speed: must be > 0",
 * "options.scenario: 'x' is not one of normal, ..."). */
int vg_sim_check_options(const json_t *options, char *err, size_t errlen);

/* Reads options.speed (default 1) and options.seed (default: the FNV-1a
 * hash of fallback_name). Options must have passed vg_sim_check_options. */
double vg_sim_option_speed(const json_t *options);
uint64_t vg_sim_option_seed(const json_t *options, const char *fallback_name);

/* A new model at simulated time 0 in steady normal operation, with the
 * options (checked as above; speed and seed are ignored here) and the seed
 * for its noise and drifts. options.scenario, if any, starts at
 * options.scenario_at_s (simulated seconds, default 0). On success *out is
 * the caller's, freed with vg_sim_free; options is not kept. */
int vg_sim_new(const json_t *options, uint64_t seed, struct vg_sim **out, char *err,
               size_t errlen);
void vg_sim_free(struct vg_sim *sim);

/* Advances the model by dt_s simulated seconds (<= 0 does nothing). Events
 * (generator start, ATS moves, gas discharge, empty tank, flat battery)
 * happen at their exact times, whatever the step. */
void vg_sim_step(struct vg_sim *sim, double dt_s);

/* Simulated seconds since vg_sim_new. */
double vg_sim_time(const struct vg_sim *sim);

/* Starts scenario name now ("normal" ends all of them). -EINVAL with the
 * list of scenarios in err if unknown; the model is unchanged then. */
int vg_sim_set_scenario(struct vg_sim *sim, const char *name, char *err, size_t errlen);

/* The true value of q now: no noise, no placement offset, no quantising;
 * encodings as in stype.h (ups-status a VG_UPS_* bit set, ...). */
double vg_sim_value(const struct vg_sim *sim, enum vg_sim_quantity q);

/* What a sensor with key (vg_sim_key of its name) reads now: the true value
 * plus its placement offset and noise, quantised. Deterministic in (seed,
 * key, q, simulated time). Key 0 has no placement offset. */
double vg_sim_read(const struct vg_sim *sim, enum vg_sim_quantity q, uint64_t key);
uint64_t vg_sim_key(const char *name);

/* Runtime triggering of a scenario on a running sim device, from any
 * thread: devices register on init and unregister on close (drv_sim.c).
 * scenario may be NULL to change only the speed; speed 0 keeps the speed,
 * another (> 0, <= VG_SIM_MAX_SPEED) is the model's speed from now on (until
 * the device restarts: its options.speed then). *speed_now (may be NULL)
 * gets the speed in force. -ENOENT: no running sim device of that name;
 * -EINVAL: unknown scenario (err lists them) or bad speed. The model is
 * first advanced to the present, so the scenario starts now. */
#define VG_SIM_MAX_SPEED 1e4
int vg_sim_trigger(const char *device, const char *scenario, double speed, double *speed_now,
                   char *err, size_t errlen);

#endif

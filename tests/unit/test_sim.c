/*
 * test_sim.c - the simulator behaves like the plant it stands for: a hall
 * heats at the documented rate when cooling stops, the power chain rides
 * through a mains loss in the documented order, fuel and battery run out
 * when the numbers say, a fire ends in a gas discharge, "normal" recovers,
 * and the driver delivers each quantity to the sensor that asked for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <time.h>

#include "core/yamljson.h"
#include "schema/schema.h"
#include "sense/driver.h"
#include "sense/sim.h"
#include "sense/stype.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

static struct vg_sim *sim_with(const char *options_json, uint64_t seed)
{
    json_t *options = parse(options_json);
    struct vg_sim *sim = NULL;
    char err[512] = "";
    int rc = vg_sim_new(options, seed, &sim, err, sizeof err);
    json_decref(options);
    if (rc)
        fail_msg("vg_sim_new: %s", err);
    return sim;
}

static double value(const struct vg_sim *sim, enum vg_sim_quantity q)
{
    return vg_sim_value(sim, q);
}

static void scenario(struct vg_sim *sim, const char *name)
{
    char err[256];
    if (vg_sim_set_scenario(sim, name, err, sizeof err))
        fail_msg("scenario %s: %s", name, err);
}

/* Steps in 1 s until q reaches threshold (rising or falling); returns the
 * simulated time, failing after max_s. */
static double time_until(struct vg_sim *sim, enum vg_sim_quantity q, double threshold,
                         int rising, double max_s)
{
    double end = vg_sim_time(sim) + max_s;
    while (vg_sim_time(sim) < end) {
        double v = value(sim, q);
        if (rising ? v >= threshold : v <= threshold)
            return vg_sim_time(sim);
        vg_sim_step(sim, 1.0);
    }
    fail_msg("%s never reached %g in %g s", vg_sim_quantity_name(q), threshold, max_s);
    return 0;
}

static void test_cooling_failure_heats_room_at_documented_rate(void **state)
{
    struct vg_sim *sim = sim_with("{}", 1);
    vg_sim_step(sim, 600);
    assert_float_equal(value(sim, VG_SIMQ_INLET_TEMP), 22.0, 0.05);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 1);

    scenario(sim, "cooling-failure");
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 0);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_ALARM), 1);
    double start_c = value(sim, VG_SIMQ_INLET_TEMP), start_s = vg_sim_time(sim);
    /* documented: 150 kW into 6000 kJ/K, 0.025 K/s = 1.5 degC per minute */
    double rate = value(sim, VG_SIMQ_POWER_IT_KW) / 6000.0;
    assert_float_equal(rate * 60, 1.5, 0.05);
    vg_sim_step(sim, 60);
    assert_float_equal(value(sim, VG_SIMQ_INLET_TEMP) - start_c, rate * 60, 0.01);

    double at = time_until(sim, VG_SIMQ_INLET_TEMP, 32.0, 1, 3600);
    assert_float_equal(at - start_s, (32.0 - start_c) / rate, 2.0);
    /* the stopped units' sensors drift up to the hot aisle */
    assert_true(value(sim, VG_SIMQ_COOLING_SUPPLY) > 32.0);
    vg_sim_free(sim);
}

static void test_humidity_falls_as_room_heats_with_constant_dew_point(void **state)
{
    struct vg_sim *sim = sim_with("{}", 2);
    double rh_before = value(sim, VG_SIMQ_HUMIDITY), dew_before = value(sim, VG_SIMQ_DEW_POINT);
    assert_float_equal(rh_before, 45, 3);
    scenario(sim, "cooling-failure");
    vg_sim_step(sim, 400);
    assert_true(value(sim, VG_SIMQ_HUMIDITY) < rh_before - 10);
    assert_float_equal(value(sim, VG_SIMQ_DEW_POINT), dew_before, 0.3);
    assert_float_equal(
        vg_dew_point(value(sim, VG_SIMQ_INLET_TEMP), value(sim, VG_SIMQ_HUMIDITY)),
        value(sim, VG_SIMQ_DEW_POINT), 0.01);
    vg_sim_free(sim);
}

static void test_mains_loss_starts_generator_and_ats_moves(void **state)
{
    struct vg_sim *sim = sim_with("{}", 3);
    vg_sim_step(sim, 100);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OL);
    double pue = value(sim, VG_SIMQ_POWER_FACILITY_KW) / value(sim, VG_SIMQ_POWER_IT_KW);
    assert_true(pue > 1.4 && pue < 1.6);

    scenario(sim, "mains-loss");
    double t0 = vg_sim_time(sim);
    assert_int_equal(value(sim, VG_SIMQ_MAINS_STATUS), 0);
    assert_int_equal(value(sim, VG_SIMQ_MAINS_VOLTAGE), 0);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_OFF);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OB | VG_UPS_DISCHRG);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 0);
    assert_true(value(sim, VG_SIMQ_POWER_IT_KW) > 140); /* the UPS carries the IT load */
    assert_int_equal(value(sim, VG_SIMQ_POWER_FACILITY_KW), 0);

    vg_sim_step(sim, 9.9);
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_RUNNING), 0);
    vg_sim_step(sim, 0.2); /* start delay 10 s */
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_RUNNING), 1);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_OFF);
    vg_sim_step(sim, 2.0); /* ATS 2 s after the generator runs */
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_GENERATOR);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OL | VG_UPS_CHRG);
    assert_true(value(sim, VG_SIMQ_GENERATOR_LOAD) > 30);
    assert_true(value(sim, VG_SIMQ_UPS_CHARGE) < 100);
    double at = time_until(sim, VG_SIMQ_COOLING_RUNNING, 1, 1, 120);
    assert_float_equal(at - t0, 10 + 2 + 30, 1.0); /* compressors restart after 30 s */
    vg_sim_free(sim);
}

static void test_generator_fails_to_start_drains_ups_to_low_battery(void **state)
{
    struct vg_sim *sim = sim_with("{}", 4);
    scenario(sim, "generator-fails-to-start");
    double t0 = vg_sim_time(sim);
    double draw_kw = value(sim, VG_SIMQ_POWER_IT_KW) / 0.95;
    vg_sim_step(sim, 60);
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_RUNNING), 0);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_OFF);
    assert_float_equal(value(sim, VG_SIMQ_UPS_RUNTIME),
                       value(sim, VG_SIMQ_UPS_CHARGE) / 100 * 30 * 3600 / draw_kw, 5);

    /* low battery below 20 %: 24 of 30 kWh at the UPS's draw */
    double lb_at = t0;
    while (!((int)value(sim, VG_SIMQ_UPS_STATUS) & VG_UPS_LB) && lb_at - t0 < 3600) {
        vg_sim_step(sim, 1);
        lb_at = vg_sim_time(sim);
    }
    assert_float_equal(lb_at - t0, 24.0 * 3600 / draw_kw, 0.01 * 24.0 * 3600 / draw_kw);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OB | VG_UPS_DISCHRG | VG_UPS_LB);

    /* flat: the UPS drops the load and the hall goes dark */
    vg_sim_step(sim, 6 * 3600.0 / draw_kw + 5);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OFF | VG_UPS_LB);
    assert_int_equal(value(sim, VG_SIMQ_POWER_IT_KW), 0);
    assert_int_equal(value(sim, VG_SIMQ_UPS_RUNTIME), 0);
    vg_sim_free(sim);
}

/* Litres burnt over an hour on the generator, and the load it ran at. */
static double burn_per_hour(const char *options_json, double *load_fraction)
{
    struct vg_sim *sim = sim_with(options_json, 5);
    scenario(sim, "mains-loss");
    vg_sim_step(sim, 120);
    double before_l = value(sim, VG_SIMQ_GENERATOR_FUEL_L), load_sum = 0;
    for (int minute = 0; minute < 60; minute++) {
        load_sum += value(sim, VG_SIMQ_GENERATOR_LOAD) / 100;
        vg_sim_step(sim, 60);
    }
    *load_fraction = load_sum / 60;
    double burnt = before_l - value(sim, VG_SIMQ_GENERATOR_FUEL_L);
    vg_sim_free(sim);
    return burnt;
}

static void test_fuel_burn_follows_load(void **state)
{
    double light_load, heavy_load;
    double light_l = burn_per_hour("{}", &light_load);
    double heavy_l = burn_per_hour("{\"it_load_kw\": 300, \"cooling_kw\": 400}", &heavy_load);
    assert_true(heavy_load > light_load + 0.2);
    /* documented: burn_lph = 130 x (0.3 + 0.7 x load fraction) */
    assert_float_equal(light_l, 130 * (0.3 + 0.7 * light_load), 0.02 * light_l);
    assert_float_equal(heavy_l, 130 * (0.3 + 0.7 * heavy_load), 0.02 * heavy_l);

    /* the tank runs dry when the rate once the load has settled (battery
     * recharged, hall back at its setpoint) says, and the generator stops */
    struct vg_sim *sim = sim_with("{\"tank_litres\": 1000, \"fuel_litres\": 60}", 6);
    scenario(sim, "mains-loss");
    vg_sim_step(sim, 1200);
    double rate_lps = 130 * (0.3 + 0.7 * value(sim, VG_SIMQ_GENERATOR_LOAD) / 100) / 3600;
    double predicted = vg_sim_time(sim) + value(sim, VG_SIMQ_GENERATOR_FUEL_L) / rate_lps;
    double dry_at = time_until(sim, VG_SIMQ_GENERATOR_RUNNING, 0, 0, 7200);
    assert_float_equal(dry_at, predicted, 0.01 * predicted);
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_FUEL_L), 0);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_OFF);
    assert_true((int)value(sim, VG_SIMQ_UPS_STATUS) & VG_UPS_OB);
    vg_sim_free(sim);
}

static void test_fire_discharges_gas_after_delay(void **state)
{
    struct vg_sim *sim = sim_with("{}", 7);
    vg_sim_step(sim, 10);
    assert_int_equal(value(sim, VG_SIMQ_VESDA_ALARM), 0);
    assert_int_equal(value(sim, VG_SIMQ_GAS_ARMED), 1);
    scenario(sim, "fire");
    double t0 = vg_sim_time(sim);
    /* smoke detector at 0.5 %obs/m: 45 s x ln(1 + 0.495 / 0.01) */
    double smoke_s = 45 * log(1 + 0.495 / 0.01);
    double alert_at = time_until(sim, VG_SIMQ_VESDA_ALARM, 1, 1, 600);
    assert_float_equal(alert_at - t0, 45 * log(1 + 0.075 / 0.01), 1.0);
    double fire1_at = time_until(sim, VG_SIMQ_VESDA_ALARM, 3, 1, 600);
    assert_true(fire1_at < t0 + smoke_s);
    vg_sim_step(sim, t0 + smoke_s - 0.01 - vg_sim_time(sim));
    assert_int_equal(value(sim, VG_SIMQ_SMOKE), 0);
    vg_sim_step(sim, 0.02);
    assert_int_equal(value(sim, VG_SIMQ_SMOKE), 1);
    vg_sim_step(sim, 29.98); /* pre-discharge countdown of 30 s */
    assert_int_equal(value(sim, VG_SIMQ_GAS_DISCHARGED), 0);
    assert_int_equal(value(sim, VG_SIMQ_GAS_ARMED), 1);
    vg_sim_step(sim, 0.02);
    assert_int_equal(value(sim, VG_SIMQ_GAS_DISCHARGED), 1);
    assert_int_equal(value(sim, VG_SIMQ_GAS_ARMED), 0);
    /* the agent puts the fire out: VESDA falls back, smoke stays latched */
    double peak = value(sim, VG_SIMQ_VESDA_LEVEL);
    vg_sim_step(sim, 600);
    assert_true(value(sim, VG_SIMQ_VESDA_LEVEL) < peak / 50);
    assert_int_equal(value(sim, VG_SIMQ_SMOKE), 1);
    vg_sim_free(sim);
}

static void test_gas_fault_prevents_discharge(void **state)
{
    struct vg_sim *sim = sim_with("{\"gas_delay_s\": 10}", 8);
    scenario(sim, "gas-fault");
    assert_int_equal(value(sim, VG_SIMQ_GAS_FAULT), 1);
    assert_int_equal(value(sim, VG_SIMQ_GAS_ARMED), 0);
    scenario(sim, "fire");
    vg_sim_step(sim, 400);
    assert_int_equal(value(sim, VG_SIMQ_SMOKE), 1);
    assert_int_equal(value(sim, VG_SIMQ_GAS_DISCHARGED), 0);
    vg_sim_free(sim);
}

static void test_normal_restores(void **state)
{
    struct vg_sim *sim = sim_with("{}", 9);
    const char *all[] = {"mains-loss", "cooling-failure", "fire",
                         "leak",       "door-forced",     "camera-down"};
    for (size_t i = 0; i < VG_ARRAY_LEN(all); i++)
        scenario(sim, all[i]);
    vg_sim_step(sim, 300);
    assert_int_equal(value(sim, VG_SIMQ_WATER_LEAK), 1);
    assert_int_equal(value(sim, VG_SIMQ_DOOR_CONTACT), 1);
    assert_int_equal(value(sim, VG_SIMQ_DOOR_FORCED), 1);
    assert_int_equal(value(sim, VG_SIMQ_CAMERA_REACHABLE), 0);
    assert_int_equal(value(sim, VG_SIMQ_GAS_DISCHARGED), 1);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_GENERATOR);
    double hot_c = value(sim, VG_SIMQ_INLET_TEMP);
    assert_true(hot_c > 27);

    scenario(sim, "normal");
    assert_int_equal(value(sim, VG_SIMQ_MAINS_STATUS), 1);
    assert_int_equal(value(sim, VG_SIMQ_WATER_LEAK), 0);
    assert_int_equal(value(sim, VG_SIMQ_DOOR_CONTACT), 0);
    assert_int_equal(value(sim, VG_SIMQ_DOOR_FORCED), 0);
    assert_int_equal(value(sim, VG_SIMQ_CAMERA_REACHABLE), 1);
    assert_int_equal(value(sim, VG_SIMQ_SMOKE), 0);
    assert_int_equal(value(sim, VG_SIMQ_GAS_ARMED), 1);
    assert_int_equal(value(sim, VG_SIMQ_GAS_DISCHARGED), 0);
    vg_sim_step(sim, 29);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_GENERATOR); /* 30 s retransfer */
    vg_sim_step(sim, 2);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_MAINS);
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_RUNNING), 1); /* cooling down */
    vg_sim_step(sim, 3600);
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_RUNNING), 0);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 1);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OL);
    assert_float_equal(value(sim, VG_SIMQ_INLET_TEMP), 22.0, 0.2);
    assert_float_equal(value(sim, VG_SIMQ_VESDA_LEVEL), 0.005, 1e-9);
    vg_sim_free(sim);
}

/* reset ends every scenario and puts the plant back in steady state at
 * once (a demo's next scenario starts from a calm site, not a hot room). */
static void test_reset_returns_to_steady_state_at_once(void **state)
{
    struct vg_sim *sim = sim_with("{}", 9);
    const char *all[] = {"generator-fails-to-start", "cooling-failure", "fire", "leak"};
    for (size_t i = 0; i < VG_ARRAY_LEN(all); i++)
        scenario(sim, all[i]);
    vg_sim_step(sim, 900);
    assert_true(value(sim, VG_SIMQ_INLET_TEMP) > 27);
    assert_true(value(sim, VG_SIMQ_UPS_CHARGE) < 50);
    double t = vg_sim_time(sim);

    scenario(sim, "reset");
    assert_float_equal(vg_sim_time(sim), t, 1e-9); /* the clock goes on */
    assert_float_equal(value(sim, VG_SIMQ_INLET_TEMP), 22.0, 1e-9);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 1);
    assert_int_equal(value(sim, VG_SIMQ_MAINS_STATUS), 1);
    assert_int_equal(value(sim, VG_SIMQ_ATS_POSITION), VG_ATS_MAINS);
    assert_int_equal(value(sim, VG_SIMQ_UPS_STATUS), VG_UPS_OL);
    assert_float_equal(value(sim, VG_SIMQ_UPS_CHARGE), 100, 1e-9);
    assert_int_equal(value(sim, VG_SIMQ_GENERATOR_RUNNING), 0);
    assert_int_equal(value(sim, VG_SIMQ_WATER_LEAK), 0);
    assert_int_equal(value(sim, VG_SIMQ_SMOKE), 0);
    assert_int_equal(value(sim, VG_SIMQ_GAS_ARMED), 1);
    vg_sim_step(sim, 60);
    assert_float_equal(value(sim, VG_SIMQ_INLET_TEMP), 22.0, 0.1);
    vg_sim_free(sim);
}

static void test_scenario_in_options_starts_at_its_time(void **state)
{
    struct vg_sim *sim =
        sim_with("{\"scenario\": \"cooling-failure\", \"scenario_at_s\": 60}", 10);
    vg_sim_step(sim, 59.9);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 1);
    vg_sim_step(sim, 0.2);
    assert_int_equal(value(sim, VG_SIMQ_COOLING_RUNNING), 0);
    vg_sim_free(sim);
}

static void test_same_seed_same_values(void **state)
{
    struct vg_sim *a = sim_with("{}", 42), *b = sim_with("{}", 42), *c = sim_with("{}", 43);
    vg_sim_step(a, 123.4);
    vg_sim_step(b, 100);
    vg_sim_step(b, 23.4);
    vg_sim_step(c, 123.4);
    uint64_t key = vg_sim_key("dc1-hall-a-inlet-1");
    int n_differ = 0;
    for (int q = 0; q < VG_SIMQ__COUNT; q++) {
        assert_true(vg_sim_read(a, q, key) == vg_sim_read(b, q, key));
        n_differ += vg_sim_read(a, q, key) != vg_sim_read(c, q, key);
    }
    assert_true(n_differ >= 3);
    /* readings are quantised to the sensor's resolution */
    double inlet = vg_sim_read(a, VG_SIMQ_INLET_TEMP, key);
    assert_float_equal(inlet * 10, round(inlet * 10), 1e-9);
    double rh = vg_sim_read(a, VG_SIMQ_HUMIDITY, key);
    assert_float_equal(rh, round(rh), 1e-9);
    vg_sim_free(a);
    vg_sim_free(b);
    vg_sim_free(c);
}

static void test_inlet_sensors_differ_by_a_fixed_placement_offset(void **state)
{
    struct vg_sim *sim = sim_with("{}", 11);
    uint64_t k1 = vg_sim_key("dc1-hall-a-inlet-1"), k2 = vg_sim_key("dc1-hall-a-inlet-2");
    double sum1 = 0, sum2 = 0;
    for (int i = 0; i < 200; i++) {
        vg_sim_step(sim, 1);
        double truth = value(sim, VG_SIMQ_INLET_TEMP);
        double r1 = vg_sim_read(sim, VG_SIMQ_INLET_TEMP, k1);
        assert_true(fabs(r1 - truth) < 0.7);
        sum1 += r1 - truth;
        sum2 += vg_sim_read(sim, VG_SIMQ_INLET_TEMP, k2) - truth;
    }
    assert_true(fabs(sum1 - sum2) / 200 > 0.01);
    vg_sim_free(sim);
}

static void expect_check_error(const char *options_json, const char *source_json,
                               const char *prefix)
{
    const struct vg_driver *drv = vg_driver_lookup("sim");
    assert_non_null(drv);
    json_t *options = parse(options_json);
    json_t *source = source_json ? parse(source_json) : NULL;
    char err[512] = "";
    assert_int_equal(drv->check(options, source, err, sizeof err), -EINVAL);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, prefix);
    json_decref(options);
    json_decref(source);
}

static void test_check_rejects_unknown_quantity(void **state)
{
    expect_check_error("{}", "{\"quantity\": \"foo\"}",
                       "source.quantity: 'foo' is not one of inlet-temp, humidity, dew-point");
    expect_check_error("{}", "{}", "source.quantity: required");
    expect_check_error("{}", "{\"quantity\": \"smoke\", \"oid\": \"1.3\"}", "source.oid: ");
    expect_check_error("{\"speed\": 0}", NULL, "options.speed: must be > 0");
    expect_check_error("{\"sped\": 2}", NULL, "options.sped: unknown option (speed, seed");
    expect_check_error("{\"scenario\": \"flood\"}", NULL,
                       "options.scenario: 'flood' is not one of normal, cooling-failure");
    expect_check_error("{\"tank_litres\": 100, \"fuel_litres\": 200}", NULL,
                       "options.fuel_litres: must be <= tank_litres");
    expect_check_error("{\"seed\": -1}", NULL, "options.seed: ");

    const struct vg_driver *drv = vg_driver_lookup("sim");
    json_t *options = parse("{\"speed\": 60, \"seed\": 7, \"scenario\": \"fire\"}");
    json_t *source = parse("{\"quantity\": \"generator-fuel-litres\"}");
    char err[512] = "";
    assert_int_equal(drv->check(options, source, err, sizeof err), 0);
    json_decref(options);
    json_decref(source);
}

/* A sink that keeps the last value or rejection of each point. */
#define N_POINTS 6
struct collected {
    int n_values[N_POINTS], n_rejects[N_POINTS];
    double last[N_POINTS];
    int64_t time_ms[N_POINTS];
    char reason[N_POINTS][160];
};

static void collect_value(struct vg_sink *sink, size_t point, int64_t time_ms, double v)
{
    struct collected *c = sink->ctx;
    assert_true(point < N_POINTS);
    c->n_values[point]++;
    c->last[point] = v;
    c->time_ms[point] = time_ms;
}

static void collect_reject(struct vg_sink *sink, size_t point, const char *reason)
{
    struct collected *c = sink->ctx;
    assert_true(point < N_POINTS);
    c->n_rejects[point]++;
    snprintf(c->reason[point], sizeof c->reason[point], "%s", reason);
}

static void test_driver_delivers_each_quantity_to_its_point(void **state)
{
    json_t *sources[N_POINTS] = {
        parse("{\"quantity\": \"inlet-temp\"}"), parse("{\"quantity\": \"mains-status\"}"),
        parse("{\"quantity\": \"ups-status\"}"), parse("{\"quantity\": \"power-it-kw\"}"),
        parse("{\"quantity\": \"humidity\"}"), /* on a temperature sensor */
        parse("{\"quantity\": \"warp-core\"}"),
    };
    int types[N_POINTS] = {VG_ST_TEMPERATURE, VG_ST_MAINS_STATUS, VG_ST_UPS_STATUS,
                           VG_ST_POWER_KW,    VG_ST_TEMPERATURE,  VG_ST_SMOKE};
    const char *names[N_POINTS] = {"t-inlet", "t-mains", "t-ups", "t-it", "t-wrong", "t-bad"};
    struct vg_point points[N_POINTS];
    for (size_t i = 0; i < N_POINTS; i++)
        points[i] = (struct vg_point){names[i], types[i], sources[i], 1, 0, NULL};
    points[3].scale = 1000; /* kW -> W, applied by the driver */
    json_t *options = parse("{\"speed\": 60, \"seed\": 5}");
    struct vg_device dev = {.name = "test-sim",
                            .driver = "sim",
                            .site = "dc1",
                            .address = "",
                            .options = options,
                            .interval_ms = 1000,
                            .timeout_ms = 1000,
                            .points = points,
                            .n_points = N_POINTS};
    struct collected got = {0};
    struct vg_sink sink = {collect_value, collect_reject, &got};
    const struct vg_driver *drv = vg_driver_lookup("sim");
    char err[512] = "";

    assert_int_equal(drv->init(&dev, &sink, err, sizeof err), 0);
    int64_t before_ms = (int64_t)vg_wall_ms();
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    assert_int_equal(got.n_values[0], 1);
    assert_float_equal(got.last[0], 22.0, 0.6);
    assert_true(got.time_ms[0] >= before_ms && got.time_ms[0] <= before_ms + 1000);
    assert_int_equal(got.last[1], 1);
    assert_int_equal(got.last[2], VG_UPS_OL);
    assert_float_equal(got.last[3], 150000, 10000);
    assert_int_equal(got.n_values[4], 0);
    assert_int_equal(got.n_rejects[4], 1);
    assert_non_null(
        strstr(got.reason[4], "'humidity' is a humidity, the sensor is a temperature"));
    assert_int_equal(got.n_rejects[5], 1);
    assert_non_null(strstr(got.reason[5], "source.quantity: 'warp-core' is not one of"));

    /* run-time trigger, from the API's side */
    assert_int_equal(vg_sim_trigger("no-such-sim", "fire", 0, NULL, err, sizeof err), -ENOENT);
    assert_int_equal(vg_sim_trigger("test-sim", "flood", 0, NULL, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "mains-loss"));
    assert_int_equal(vg_sim_trigger("test-sim", "mains-loss", 0, NULL, err, sizeof err), 0);
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    assert_int_equal(got.last[1], 0);
    assert_int_equal(got.last[2], VG_UPS_OB | VG_UPS_DISCHRG);
    assert_int_equal(got.n_values[0], 2);

    drv->close(&dev);
    assert_int_equal(vg_sim_trigger("test-sim", "normal", 0, NULL, err, sizeof err), -ENOENT);
    for (size_t i = 0; i < N_POINTS; i++)
        json_decref(sources[i]);
    json_decref(options);
}

/* One simulated inlet sensor on a sim device of its own. */
struct one_inlet {
    json_t *source, *options;
    struct vg_point point;
    struct vg_device dev;
    struct collected got;
    struct vg_sink sink;
};

static void one_inlet_init(struct one_inlet *o, const char *name, const char *options)
{
    memset(o, 0, sizeof *o);
    o->source = parse("{\"quantity\": \"inlet-temp\"}");
    o->options = parse(options);
    o->point = (struct vg_point){"t-inlet", VG_ST_TEMPERATURE, o->source, 1, 0, NULL};
    o->dev = (struct vg_device){.name = name,
                                .driver = "sim",
                                .options = o->options,
                                .points = &o->point,
                                .n_points = 1};
    o->sink = (struct vg_sink){collect_value, collect_reject, &o->got};
}

static void one_inlet_free(struct one_inlet *o)
{
    json_decref(o->source);
    json_decref(o->options);
}

static void test_driver_clock_runs_at_speed(void **state)
{
    struct one_inlet o;
    one_inlet_init(&o, "fast-sim", "{\"speed\": 600, \"scenario\": \"cooling-failure\"}");
    struct vg_device dev = o.dev;
    struct vg_sink sink = o.sink;
    const struct vg_driver *drv = vg_driver_lookup("sim");
    char err[256];
    assert_int_equal(drv->init(&dev, &sink, err, sizeof err), 0);
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    double first = o.got.last[0];
    struct timespec pause = {0, 500 * 1000 * 1000};
    nanosleep(&pause, NULL); /* 300 simulated seconds: +7.5 degC */
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    assert_float_equal(o.got.last[0] - first, 7.5, 2.0);
    drv->close(&dev);
    one_inlet_free(&o);
}

/* A running model's speed changes from now on: no jump in simulated time,
 * and the new rate shows at once (the demo hurries a scenario along). */
static void test_trigger_changes_speed_without_a_jump(void **state)
{
    struct one_inlet o;
    one_inlet_init(&o, "slow-sim", "{\"speed\": 1}");
    struct vg_device dev = o.dev;
    struct vg_sink sink = o.sink;
    const struct vg_driver *drv = vg_driver_lookup("sim");
    char err[256];
    double speed_now = 0;
    assert_int_equal(drv->init(&dev, &sink, err, sizeof err), 0);
    assert_int_equal(vg_sim_trigger("slow-sim", NULL, -1, NULL, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "speed"));
    assert_int_equal(vg_sim_trigger("slow-sim", NULL, 0, NULL, err, sizeof err), -EINVAL);
    assert_int_equal(vg_sim_trigger("slow-sim", NULL, 2e4, NULL, err, sizeof err), -EINVAL);
    assert_int_equal(
        vg_sim_trigger("slow-sim", "cooling-failure", 0, &speed_now, err, sizeof err), 0);
    assert_float_equal(speed_now, 1, 1e-9);
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    double first = o.got.last[0];
    assert_float_equal(first, 22.0, 0.6); /* speed 1: nothing to see yet */
    assert_int_equal(vg_sim_trigger("slow-sim", NULL, 600, &speed_now, err, sizeof err), 0);
    assert_float_equal(speed_now, 600, 1e-9);
    struct timespec pause = {0, 500 * 1000 * 1000};
    nanosleep(&pause, NULL); /* 300 simulated seconds at the new speed: +7.5 degC */
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    assert_float_equal(o.got.last[0] - first, 7.5, 2.0);
    /* back to speed 1: the model stays where it is */
    assert_int_equal(vg_sim_trigger("slow-sim", "normal", 1, &speed_now, err, sizeof err), 0);
    assert_int_equal(drv->poll(&dev, &sink, err, sizeof err), 0);
    assert_float_equal(o.got.last[0] - first, 7.5, 2.5);
    drv->close(&dev);
    one_inlet_free(&o);
}

/* Every demo manifest validates, every sim sensor's source passes the
 * driver, and the two demo sites between them cover every sensor type. */
static size_t check_demo(const char *file, int *types_seen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../../examples/%s", VG_FIXTURES, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open '%s'", path);
    static char text[256 * 1024];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    json_t *docs = NULL;
    char err[512] = "", field[128] = "";
    if (vg_yamljson_parse(text, len, file, &docs, err, sizeof err))
        fail_msg("%s", err);
    const struct vg_driver *drv = vg_driver_lookup("sim");
    size_t i, n_sensors = 0;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        json_t *norm = NULL;
        if (vg_schema_validate(doc, NULL, NULL, &norm, err, sizeof err, field, sizeof field))
            fail_msg("%s document %zu: %s", file, i + 1, err);
        json_t *spec = json_object_get(norm, "spec");
        if (!strcmp(json_string_value(json_object_get(norm, "kind")), "Device") &&
            drv->check(json_object_get(spec, "options"), NULL, err, sizeof err))
            fail_msg("%s document %zu: %s", file, i + 1, err);
        if (!strcmp(json_string_value(json_object_get(norm, "kind")), "Sensor")) {
            n_sensors++;
            types_seen[vg_stype_lookup(json_string_value(json_object_get(spec, "type")))]++;
            json_t *source = json_object_get(spec, "source"), *empty = json_object();
            if (source && drv->check(empty, source, err, sizeof err))
                fail_msg("%s document %zu: %s", file, i + 1, err);
            json_decref(empty);
        }
        json_decref(norm);
    }
    assert_true(n_sensors >= 25);
    json_decref(docs);
    return n_sensors;
}

static void test_demo_manifests_validate_and_cover_every_sensor_type(void **state)
{
    const char *files[] = {"demo-dc1.yaml", "demo-dc2.yaml"};
    size_t n_sensors = 0;
    for (size_t f = 0; f < VG_ARRAY_LEN(files); f++) {
        int types_seen[VG_ST__COUNT] = {0};
        n_sensors += check_demo(files[f], types_seen);
        for (int t = 0; t < VG_ST__COUNT; t++)
            if (!types_seen[t])
                fail_msg("%s has no %s sensor", files[f], vg_stype_info(t)->name);
    }
    if (n_sensors < 180) /* the demo shows a facility of some size */
        fail_msg("the demo sites have %zu sensors, fewer than 180", n_sensors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cooling_failure_heats_room_at_documented_rate),
        cmocka_unit_test(test_humidity_falls_as_room_heats_with_constant_dew_point),
        cmocka_unit_test(test_mains_loss_starts_generator_and_ats_moves),
        cmocka_unit_test(test_generator_fails_to_start_drains_ups_to_low_battery),
        cmocka_unit_test(test_fuel_burn_follows_load),
        cmocka_unit_test(test_fire_discharges_gas_after_delay),
        cmocka_unit_test(test_gas_fault_prevents_discharge),
        cmocka_unit_test(test_normal_restores),
        cmocka_unit_test(test_reset_returns_to_steady_state_at_once),
        cmocka_unit_test(test_scenario_in_options_starts_at_its_time),
        cmocka_unit_test(test_same_seed_same_values),
        cmocka_unit_test(test_inlet_sensors_differ_by_a_fixed_placement_offset),
        cmocka_unit_test(test_check_rejects_unknown_quantity),
        cmocka_unit_test(test_driver_delivers_each_quantity_to_its_point),
        cmocka_unit_test(test_driver_clock_runs_at_speed),
        cmocka_unit_test(test_trigger_changes_speed_without_a_jump),
        cmocka_unit_test(test_demo_manifests_validate_and_cover_every_sensor_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

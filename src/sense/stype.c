/*
 * stype.c - the sensor type table, NUT status words and the dew point.
 */
#include "sense/stype.h"

#include <math.h>

static const struct vg_stype_info infos[VG_ST__COUNT] = {
    [VG_ST_TEMPERATURE] = {"temperature", "degC", 0},
    [VG_ST_HUMIDITY] = {"humidity", "%RH", 0},
    [VG_ST_DEW_POINT] = {"dew-point", "degC", 0},
    [VG_ST_SMOKE] = {"smoke", "", 1},
    [VG_ST_VESDA_LEVEL] = {"vesda-level", "%obs/m", 0},
    [VG_ST_VESDA_ALARM] = {"vesda-alarm", "", 1},
    [VG_ST_GAS_ARMED] = {"gas-armed", "", 1},
    [VG_ST_GAS_DISCHARGED] = {"gas-discharged", "", 1},
    [VG_ST_GAS_FAULT] = {"gas-fault", "", 1},
    [VG_ST_WATER_LEAK] = {"water-leak", "", 1},
    [VG_ST_MAINS_VOLTAGE] = {"mains-voltage", "V", 0},
    [VG_ST_MAINS_STATUS] = {"mains-status", "", 1},
    [VG_ST_ATS_POSITION] = {"ats-position", "", 1},
    [VG_ST_UPS_STATUS] = {"ups-status", "", 1},
    [VG_ST_UPS_CHARGE] = {"ups-charge", "%", 0},
    [VG_ST_UPS_RUNTIME] = {"ups-runtime", "s", 0},
    [VG_ST_UPS_LOAD] = {"ups-load", "%", 0},
    [VG_ST_GENERATOR_RUNNING] = {"generator-running", "", 1},
    [VG_ST_GENERATOR_FUEL] = {"generator-fuel", "%", 0},
    [VG_ST_GENERATOR_FUEL_L] = {"generator-fuel-litres", "L", 0},
    [VG_ST_GENERATOR_LOAD] = {"generator-load", "%", 0},
    [VG_ST_COOLING_RUNNING] = {"cooling-running", "", 1},
    [VG_ST_COOLING_SUPPLY] = {"cooling-supply-temp", "degC", 0},
    [VG_ST_COOLING_RETURN] = {"cooling-return-temp", "degC", 0},
    [VG_ST_COOLING_ALARM] = {"cooling-alarm", "", 1},
    [VG_ST_DOOR_CONTACT] = {"door-contact", "", 1},
    [VG_ST_DOOR_FORCED] = {"door-forced", "", 1},
    [VG_ST_CAMERA_REACHABLE] = {"camera-reachable", "", 1},
    [VG_ST_POWER_KW] = {"power-kw", "kW", 0},
};

const struct vg_stype_info *vg_stype_info(enum vg_stype type)
{
    if ((unsigned)type >= VG_ST__COUNT)
        VG_BUG("sensor type %d out of range", (int)type);
    return &infos[type];
}

int vg_stype_lookup(const char *name)
{
    for (int i = 0; i < VG_ST__COUNT; i++)
        if (strcmp(infos[i].name, name) == 0)
            return i;
    return -1;
}

const char *const *vg_stype_names(void)
{
    static const char *names[VG_ST__COUNT + 1];
    if (!names[0])
        for (int i = 0; i < VG_ST__COUNT; i++)
            names[i] = infos[i].name;
    return names;
}

static const struct {
    const char *word;
    uint32_t bit;
} ups_words[] = {
    {"OL", VG_UPS_OL},         {"OB", VG_UPS_OB},       {"LB", VG_UPS_LB},
    {"HB", VG_UPS_HB},         {"RB", VG_UPS_RB},       {"CHRG", VG_UPS_CHRG},
    {"DISCHRG", VG_UPS_DISCHRG}, {"BYPASS", VG_UPS_BYPASS}, {"CAL", VG_UPS_CAL},
    {"OFF", VG_UPS_OFF},       {"OVER", VG_UPS_OVER},   {"TRIM", VG_UPS_TRIM},
    {"BOOST", VG_UPS_BOOST},   {"FSD", VG_UPS_FSD},
};

int vg_ups_status_parse(const char *s, uint32_t *bits)
{
    uint32_t out = 0;
    int n_words = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *start = s;
        while (*s >= 'A' && *s <= 'Z')
            s++;
        if (s == start) {
            if (*s)
                return -EINVAL;
            break;
        }
        size_t len = (size_t)(s - start);
        n_words++;
        for (size_t i = 0; i < VG_ARRAY_LEN(ups_words); i++)
            if (strlen(ups_words[i].word) == len && !memcmp(ups_words[i].word, start, len))
                out |= ups_words[i].bit;
        if (*s && *s != ' ')
            return -EINVAL;
    }
    if (!n_words)
        return -EINVAL;
    *bits = out;
    return 0;
}

double vg_dew_point(double temp_c, double rh_pct)
{
    const double b = 17.625, c = 243.04;
    if (rh_pct <= 0)
        rh_pct = 0.01;
    double gamma = log(rh_pct / 100.0) + b * temp_c / (c + temp_c);
    return c * gamma / (b - gamma);
}

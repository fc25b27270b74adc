/*
 * cmd_sensors.c - the facility monitor as seen from the command line:
 * `vigil sensors` (GET /api/v1/sensors: each sensor's last reading and
 * state), `vigil facility` (GET /api/v1/facility: per site counts and PUE,
 * the devices polled, what is wrong) and `vigil alerts` (GET /api/v1/alerts:
 * the active alerts and the recent changes).
 *
 * All three are one GET each and print the server's answer with -o json or
 * yaml; the tables are for a person, with states in colour at a terminal
 * (unless NO_COLOR is set or TERM is dumb). Times from the API are ms since
 * the epoch, shown in UTC or as an age. --state of `vigil sensors` is
 * applied here, not by the server.
 */
#include "cli/cli.h"

#include <unistd.h>

#include "cli/sparkline.h"

enum { OPT_SITE = 256, OPT_ZONE, OPT_STATE, OPT_ALL };

#define SGR_RED    "31"
#define SGR_YELLOW "33"
#define SGR_GREY   "90"

/* ---- shared cells ------------------------------------------------------ */

/* Colour only for a person at a terminal that wants it (no-color.org). */
static int want_colour(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

/* The colour of a sensor, alert or device state; NULL for ok, up, unknown. */
static const char *state_sgr(const char *state)
{
    if (strcmp(state, "critical") == 0 || strcmp(state, "unreachable") == 0)
        return SGR_RED;
    if (strcmp(state, "warning") == 0)
        return SGR_YELLOW;
    if (strcmp(state, "stale") == 0 || strcmp(state, "suppressed") == 0)
        return SGR_GREY;
    return NULL;
}

/* A time member in ms as "2026-01-01T10:05:00Z", or "-". */
static void time_cell(const json_t *obj, const char *key, char *out, size_t outlen)
{
    const json_t *ms = json_object_get(obj, key);
    if (json_is_number(ms))
        vg_sparkline_time((int64_t)json_number_value(ms), out, outlen);
    else
        snprintf(out, outlen, "-");
}

/* How long ago a time member in ms was ("42s", "5m", "3h", "12d"), or "-". */
static void age_cell(const json_t *obj, const char *key, char *out, size_t outlen)
{
    char at[32];
    time_cell(obj, key, at, sizeof at);
    vg_cli_age(at, out, outlen);
}

/* A number member as text (integers exact, others to 6 digits), or "-". */
static void number_cell(const json_t *obj, const char *key, vg_buf_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        vg_buf_printf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        vg_buf_printf(out, "%.6g", json_number_value(v));
    else
        vg_buf_adds(out, "-");
}

static int is_structured(const struct vg_cli *cli)
{
    return cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML;
}

/* GETs path and checks that the answer is a JSON value of the wanted type. */
static int get_json(struct vg_cli *cli, const char *what, const char *path, int want_array,
                    struct vg_resp *resp)
{
    int rc = vg_cli_call(cli, what, "GET", path, NULL, NULL, resp);
    if (rc == 0 && !(want_array ? json_is_array(resp->json) : json_is_object(resp->json)))
        rc = vg_cli_fail(VG_EXIT_ERROR, "%s: the server's answer is not a JSON %s", what,
                         want_array ? "array" : "object");
    return rc;
}

/* GETs the object at path and prints it: the server's answer with -o json or
 * yaml, else print(cli, answer, flag). */
static int show_object(struct vg_cli *cli, const char *what, const char *path,
                       void (*print)(const struct vg_cli *, const json_t *, int), int flag)
{
    struct vg_resp resp = VG_RESP_INIT;
    int rc = get_json(cli, what, path, 0, &resp);
    if (rc == 0 && is_structured(cli))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        print(cli, resp.json, flag);
    vg_resp_release(&resp);
    return rc;
}

/* ---- sensors ----------------------------------------------------------- */

struct sensors_args {
    const char *site, *zone, *state;
};

static const struct vg_opt sensors_opts[] = {
    {OPT_SITE, "site", "SITE", "only the sensors of SITE"},
    {OPT_ZONE, "zone", "ZONE", "only the sensors of ZONE"},
    {OPT_STATE, "state", "STATE",
     "only sensors in STATE: ok, warning, critical, stale or unknown"},
    {0, NULL, NULL, NULL},
};

static const char *const sensor_states[] = {"ok", "warning", "critical", "stale", "unknown"};

static int on_sensors_opt(void *ctx, int id, const char *arg)
{
    struct sensors_args *a = ctx;
    if (id == OPT_SITE) {
        a->site = arg;
    } else if (id == OPT_ZONE) {
        a->zone = arg;
    } else {
        for (size_t i = 0; i < VG_ARRAY_LEN(sensor_states); i++)
            if (strcmp(arg, sensor_states[i]) == 0) {
                a->state = arg;
                return VG_EXIT_OK;
            }
        return vg_cli_usage(
            NULL, "unknown state '%s' (ok, warning, critical, stale or unknown)", arg);
    }
    return VG_EXIT_OK;
}

#define SENSOR_STATE_COL 3

static const char *sensor_colour(size_t col, const char *cell)
{
    return col == SENSOR_STATE_COL ? state_sgr(cell) : NULL;
}

static int compare_by_name(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    return strcmp(vg_cli_str(x, "name", ""), vg_cli_str(y, "name", ""));
}

/* A new array of the sensors of items in state (NULL: all), sorted by name. */
static json_t *kept_sensors(const json_t *items, const char *state)
{
    size_t n = json_array_size(items), n_kept = 0;
    json_t **kept = vg_calloc(n ? n : 1, sizeof *kept);
    for (size_t i = 0; i < n; i++) {
        json_t *sensor = json_array_get(items, i);
        if (json_is_object(sensor) &&
            (!state || strcmp(vg_cli_str(sensor, "state", ""), state) == 0))
            kept[n_kept++] = sensor;
    }
    qsort(kept, n_kept, sizeof *kept, compare_by_name);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n_kept; i++)
        json_array_append(sorted, kept[i]);
    free(kept);
    return sorted;
}

/* All the columns of -o wide; the table takes as many as it was made with. */
static void add_sensor_row(struct vg_table *t, const json_t *sensor)
{
    vg_buf_t value = VG_BUF_INIT, n_values = VG_BUF_INIT, n_rejects = VG_BUF_INIT;
    char age[32], at[32];

    number_cell(sensor, "value", &value);
    const char *unit = vg_cli_str(sensor, "unit", "");
    if (json_is_number(json_object_get(sensor, "value")) && unit[0])
        vg_buf_printf(&value, " %s", unit);
    age_cell(sensor, "time", age, sizeof age);
    time_cell(sensor, "time", at, sizeof at);
    number_cell(sensor, "values", &n_values);
    number_cell(sensor, "rejects", &n_rejects);
    const char *cells[] = {vg_cli_str(sensor, "name", "?"),
                           vg_cli_str(sensor, "type", "-"),
                           (const char *)value.data,
                           vg_cli_str(sensor, "state", "?"),
                           age,
                           vg_cli_str(sensor, "device", "-"),
                           vg_cli_str(sensor, "site", "-"),
                           vg_cli_str(sensor, "zone", "-"),
                           at,
                           (const char *)n_values.data,
                           (const char *)n_rejects.data};
    vg_table_add(t, cells);
    vg_buf_release(&value);
    vg_buf_release(&n_values);
    vg_buf_release(&n_rejects);
}

static void print_sensor_table(const struct vg_cli *cli, const json_t *sensors)
{
    static const char *const headers[] = {"NAME", "TYPE", "VALUE", "STATE",  "AGE",    "DEVICE",
                                          "SITE", "ZONE", "TIME",  "VALUES", "REJECTS"};
    int wide = cli->output == VG_OUT_WIDE;
    struct vg_table *t = vg_table_new(wide ? 11 : 6, headers);
    size_t i;
    json_t *sensor;

    if (want_colour())
        vg_table_set_colour(t, sensor_colour);
    json_array_foreach(sensors, i, sensor)
    {
        add_sensor_row(t, sensor);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
}

static int print_sensors(const struct vg_cli *cli, const json_t *answer,
                         const struct sensors_args *args)
{
    if (is_structured(cli) && !args->state)
        return vg_cli_print_value(cli, answer);
    json_t *sensors = kept_sensors(answer, args->state);
    int rc = VG_EXIT_OK;
    if (is_structured(cli))
        rc = vg_cli_print_value(cli, sensors);
    else if (json_array_size(sensors) == 0)
        fprintf(stderr, "vigil: no sensors%s\n", args->state ? " in that state" : "");
    else
        print_sensor_table(cli, sensors);
    json_decref(sensors);
    return rc;
}

static int run_sensors(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct sensors_args args = {0};
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_sensors_opt, &args, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "sensors takes no arguments");

    vg_buf_t path = VG_BUF_INIT;
    struct vg_resp resp = VG_RESP_INIT;
    vg_buf_adds(&path, "/api/v1/sensors");
    if (args.site) {
        vg_buf_adds(&path, "?site=");
        vg_client_escape(&path, args.site);
    }
    if (args.zone) {
        vg_buf_adds(&path, args.site ? "&zone=" : "?zone=");
        vg_client_escape(&path, args.zone);
    }
    rc = get_json(cli, "cannot list the sensors", (const char *)path.data, 1, &resp);
    if (rc == 0)
        rc = print_sensors(cli, resp.json, &args);
    vg_resp_release(&resp);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_sensors = {
    .name = "sensors",
    .run = run_sensors,
    .usage = "[--site SITE] [--zone ZONE] [--state STATE] [options]",
    .summary = "list the sensors with their last reading and state",
    .help = "Lists the declared sensors, sorted by name: NAME, TYPE, VALUE (the last reading, "
            "with its unit), STATE (ok, warning, critical, stale or unknown; in colour at a "
            "terminal unless NO_COLOR is set: critical red, warning yellow, stale grey), AGE "
            "(of the last reading) and DEVICE. -o wide adds SITE, ZONE, TIME (UTC), VALUES "
            "(readings stored) and REJECTS (readings refused). --site and --zone are filters "
            "of the server; --state is applied by vigil. -o json prints the server's answer "
            "(an array; with --state only the sensors kept, sorted by name).",
    .opts = sensors_opts,
};

/* ---- facility ---------------------------------------------------------- */

#define SITE_CRITICAL_COL 2
#define SITE_WARNING_COL  3
#define SITE_STALE_COL    4
#define DEVICE_STATE_COL  3
#define DEVICE_ERROR_COL  7

static const char *site_colour(size_t col, const char *cell)
{
    if (strcmp(cell, "0") == 0)
        return NULL;
    return col == SITE_CRITICAL_COL  ? SGR_RED
           : col == SITE_WARNING_COL ? SGR_YELLOW
           : col == SITE_STALE_COL   ? SGR_GREY
                                     : NULL;
}

static const char *device_colour(size_t col, const char *cell)
{
    if (col == DEVICE_STATE_COL)
        return state_sgr(cell);
    return col == DEVICE_ERROR_COL && cell[0] ? SGR_RED : NULL;
}

static void print_sites(const json_t *sites, int colour)
{
    static const char *const headers[] = {"SITE",  "SENSORS", "CRITICAL",    "WARNING",
                                          "STALE", "PUE",     "FACILITY_KW", "IT_KW"};
    static const char *const keys[] = {"sensors", "critical",    "warning", "stale",
                                       "pue",     "facility_kw", "it_kw"};
    struct vg_table *t = vg_table_new(8, headers);
    vg_buf_t cells[7] = {VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT,
                         VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT};
    const char *name;
    json_t *site;

    if (colour)
        vg_table_set_colour(t, site_colour);
    json_object_foreach((json_t *)sites, name, site)
    {
        const char *row[8] = {name};
        for (size_t c = 0; c < 7; c++) {
            vg_buf_reset(&cells[c]);
            number_cell(site, keys[c], &cells[c]);
            row[c + 1] = (const char *)cells[c].data;
        }
        vg_table_add(t, row);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
    for (size_t c = 0; c < 7; c++)
        vg_buf_release(&cells[c]);
}

static void add_device_row(struct vg_table *t, const json_t *device)
{
    static const char *const keys[] = {"polls", "failures", "rejects"};
    vg_buf_t counts[3] = {VG_BUF_INIT, VG_BUF_INIT, VG_BUF_INIT};
    char since[32];
    const char *state = vg_cli_str(device, "state", "?");

    for (size_t c = 0; c < 3; c++)
        number_cell(device, keys[c], &counts[c]);
    age_cell(device, "since", since, sizeof since);
    /* an up device's last error is history: shown with -o json only */
    const char *error = strcmp(state, "up") == 0 ? "" : vg_cli_str(device, "error", "");
    const char *cells[] = {vg_cli_str(device, "name", "?"),
                           vg_cli_str(device, "site", "-"),
                           vg_cli_str(device, "driver", "-"),
                           state,
                           (const char *)counts[0].data,
                           (const char *)counts[1].data,
                           (const char *)counts[2].data,
                           error,
                           since,
                           vg_cli_str(device, "last_reject", "")};
    vg_table_add(t, cells);
    for (size_t c = 0; c < 3; c++)
        vg_buf_release(&counts[c]);
}

static void print_devices(const json_t *devices, int wide, int colour)
{
    static const char *const headers[] = {"DEVICE", "SITE",       "DRIVER",  "STATE",
                                          "POLLS",  "FAILURES",   "REJECTS", "ERROR",
                                          "SINCE",  "LAST_REJECT"};
    struct vg_table *t = vg_table_new(wide ? 10 : 8, headers);
    size_t i;
    json_t *device;

    if (colour)
        vg_table_set_colour(t, device_colour);
    json_array_foreach(devices, i, device)
    {
        add_device_row(t, device);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
}

/* Untrusted text on one line, control characters as '?'. */
static void print_clean_line(const char *prefix, const char *text)
{
    fputs(prefix, stdout);
    for (const char *p = text; *p; p++)
        fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, stdout);
    fputc('\n', stdout);
}

static void print_facility(const struct vg_cli *cli, const json_t *answer, int unused)
{
    const json_t *sites = json_object_get(answer, "sites");
    const json_t *devices = json_object_get(answer, "devices");
    const json_t *problems = json_object_get(answer, "problems");
    size_t n_alerts = json_array_size(json_object_get(answer, "alerts"));
    int colour = want_colour();

    if (json_object_size(sites))
        print_sites(sites, colour);
    else
        printf("no sites\n");
    if (json_array_size(devices)) {
        fputc('\n', stdout);
        print_devices(devices, cli->output == VG_OUT_WIDE, colour);
    }
    printf("\n%zu active alert%s%s\n", n_alerts, n_alerts == 1 ? "" : "s",
           n_alerts ? " (see 'vigil alerts')" : "");
    if (json_is_false(json_object_get(answer, "evaluating")))
        printf("rules are not being evaluated on this member\n");
    if (json_array_size(problems)) {
        size_t i;
        json_t *problem;
        printf("\nproblems:\n");
        json_array_foreach(problems, i, problem)
        {
            print_clean_line("  - ",
                             json_is_string(problem) ? json_string_value(problem) : "?");
        }
    }
}

static int run_facility(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "facility takes no arguments");
    return show_object(cli, "cannot read the facility's state", "/api/v1/facility",
                       print_facility, 0);
}

const struct vg_cmd vg_cmd_facility = {
    .name = "facility",
    .run = run_facility,
    .usage = "[options]",
    .summary = "show the facility: sites, PUE, devices and problems",
    .help = "Shows the state of the facility monitor. Per site: SENSORS, the counts of "
            "sensors that are CRITICAL, WARNING and STALE, PUE, FACILITY_KW and IT_KW (\"-\" "
            "when not known). Then the devices polled: DEVICE, SITE, DRIVER, STATE (up, "
            "unreachable or unknown), POLLS, FAILURES, REJECTS and, for a device that is not "
            "up, its ERROR; -o wide adds SINCE (how long it has been in its state) and "
            "LAST_REJECT. Then the number of active alerts and the problems found (sensors "
            "without readings, devices that do not answer, rules that cannot be evaluated). "
            "At a terminal, unless NO_COLOR is set, unreachable devices and critical counts "
            "are red, warnings yellow, stale counts grey. -o json prints the server's answer.",
};

/* ---- alerts ------------------------------------------------------------ */

#define ALERT_STATE_COL 1

static const struct vg_opt alerts_opts[] = {
    {OPT_ALL, "all", NULL, "also show the recent changes of state, oldest first"},
    {0, NULL, NULL, NULL},
};

static int on_alerts_opt(void *ctx, int id, const char *arg)
{
    *(int *)ctx = 1; /* --all */
    return VG_EXIT_OK;
}

static const char *alert_colour(size_t col, const char *cell)
{
    return col == ALERT_STATE_COL ? state_sgr(cell) : NULL;
}

/* The log of changes has FROM and TO where the active alerts have STATE. */
static const char *change_colour(size_t col, const char *cell)
{
    return col == ALERT_STATE_COL || col == ALERT_STATE_COL + 1 ? state_sgr(cell) : NULL;
}

/* The message, " (in 14m)" when the rule predicts the crossing, and
 * what it waits for to clear. */
static void clears_part(const json_t *alert, vg_buf_t *out)
{
    const char *clears = vg_cli_str(alert, "clears", NULL);
    if (clears)
        vg_buf_printf(out, "; clears with %s", clears);
}

static void message_cell(const json_t *alert, vg_buf_t *out)
{
    const json_t *predicted = json_object_get(alert, "predicted_s");
    vg_buf_adds(out, vg_cli_str(alert, "message", ""));
    if (!json_is_number(predicted)) {
        clears_part(alert, out);
        return;
    }
    long long s = (long long)json_number_value(predicted);
    if (s < 0)
        s = 0;
    if (s < 120)
        vg_buf_printf(out, " (in %llds)", s);
    else if (s < 120 * 60)
        vg_buf_printf(out, " (in %lldm)", s / 60);
    else if (s < 48 * 3600)
        vg_buf_printf(out, " (in %lldh)", s / 3600);
    else
        vg_buf_printf(out, " (in %lldd)", s / 86400);
    clears_part(alert, out);
}

/* One alert row: TIME STATE ID MESSAGE RULE SENSOR VALUE INDEX, or for the
 * log of changes TIME FROM TO ID MESSAGE ...; the table takes as many
 * columns as it was made with. */
static void add_alert_row(struct vg_table *t, const json_t *alert, int log)
{
    vg_buf_t message = VG_BUF_INIT, value = VG_BUF_INIT, index = VG_BUF_INIT;
    char at[32];

    time_cell(alert, "time", at, sizeof at);
    message_cell(alert, &message);
    number_cell(alert, "value", &value);
    number_cell(alert, "index", &index);
    const char *id = vg_cli_str(alert, "id", "?"), *to = vg_cli_str(alert, "to", "?");
    const char *from = vg_cli_str(alert, "from", "-");
    const char *rule = vg_cli_str(alert, "rule", "-"),
               *sensor = vg_cli_str(alert, "sensor", "-");
    const char *active[] = {at,
                            to,
                            id,
                            (const char *)message.data,
                            rule,
                            sensor,
                            (const char *)value.data,
                            (const char *)index.data};
    const char *changes[] = {at,
                             from,
                             to,
                             id,
                             (const char *)message.data,
                             rule,
                             sensor,
                             (const char *)value.data,
                             (const char *)index.data};
    vg_table_add(t, log ? changes : active);
    vg_buf_release(&message);
    vg_buf_release(&value);
    vg_buf_release(&index);
}

static void print_alert_table(const json_t *alerts, int log, int wide, int colour)
{
    static const char *const active_headers[] = {"TIME", "STATE",  "ID",    "MESSAGE",
                                                 "RULE", "SENSOR", "VALUE", "INDEX"};
    static const char *const change_headers[] = {"TIME", "FROM",   "TO",    "ID",   "MESSAGE",
                                                 "RULE", "SENSOR", "VALUE", "INDEX"};
    struct vg_table *t = log ? vg_table_new(wide ? 9 : 5, change_headers)
                             : vg_table_new(wide ? 8 : 4, active_headers);
    size_t i;
    json_t *alert;

    if (colour)
        vg_table_set_colour(t, log ? change_colour : alert_colour);
    json_array_foreach(alerts, i, alert)
    {
        add_alert_row(t, alert, log);
    }
    vg_table_print(t, stdout);
    vg_table_free(t);
}

static void print_alerts(const struct vg_cli *cli, const json_t *answer, int all)
{
    const json_t *active = json_object_get(answer, "active");
    const json_t *recent = json_object_get(answer, "recent");
    int wide = cli->output == VG_OUT_WIDE, colour = want_colour();

    if (json_array_size(active))
        print_alert_table(active, 0, wide, colour);
    else
        fprintf(stderr, "vigil: no active alerts\n");
    if (!all)
        return;
    if (json_array_size(recent)) {
        printf("%srecent changes:\n", json_array_size(active) ? "\n" : "");
        print_alert_table(recent, 1, wide, colour);
    } else {
        fprintf(stderr, "vigil: no recent changes\n");
    }
}

static int run_alerts(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int all = 0, first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_alerts_opt, &all, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (first < argc)
        return vg_cli_usage(cmd, "alerts takes no arguments");
    return show_object(cli, "cannot list the alerts", "/api/v1/alerts", print_alerts, all);
}

const struct vg_cmd vg_cmd_alerts = {
    .name = "alerts",
    .run = run_alerts,
    .usage = "[--all] [options]",
    .summary = "show the active alerts, and with --all the recent changes",
    .help = "Shows the active alerts: TIME (UTC, when the alert took its state), STATE "
            "(warning, critical, stale or suppressed; in colour at a terminal unless NO_COLOR "
            "is set), ID and MESSAGE, followed by \"(in 14m)\" when the rule predicts the "
            "crossing of its threshold. --all adds the log of recent changes, oldest first, "
            "with the state each alert came FROM. -o wide adds RULE, SENSOR, VALUE and INDEX "
            "(the log index of the change). -o json prints the server's answer ({\"active\": "
            "[...], \"recent\": [...]}). No active alerts prints nothing on stdout and exits "
            "0.",
    .opts = alerts_opts,
};

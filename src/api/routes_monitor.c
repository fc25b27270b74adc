/*
 * routes_monitor.c - the facility monitor's endpoints (its routes are declared in
 * src/monitor/monitor_service.c):
 *   POST /api/v1/write?precision=ns|us|ms|s   Influx line protocol readings
 *   POST /api/v1/readings                     {"readings":[{sensor,time?,value}]}
 *   GET  /api/v1/series?sensor=&from=&to=&step=
 *   GET  /api/v1/sensors[?site=&zone=]        live value and state of each sensor
 *   GET  /api/v1/facility                     sites (PUE), devices, active alerts
 *   GET  /api/v1/rules                        rule instances and their states
 *   GET  /api/v1/alerts                       active alerts and the newest changes
 *   POST /api/v1/sim/DEVICE                   {"scenario"?: NAME, "speed"?: N} (simulator)
 *
 * Pushed batches are all-or-nothing at the syntax level: a malformed line
 * or element rejects the whole body (400, naming the line or index) and
 * stores nothing. Readings whose sensor name holds a NUL, a control
 * character or invalid UTF-8, of undeclared sensors, or older than their
 * sensor's last reading, are refused one by one, counted and listed
 * ("line 3: ...", "readings[2]: ..."); the answer comes only once the
 * accepted ones are durable. While the data dir is full a batch is refused
 * whole with 507, before anything is taken in.
 */
#include "api/api_int.h"

#include <event2/buffer.h>
#include <math.h>

#include "core/fsutil.h"
#include "core/say.h"
#include "monitor/monitor.h"
#include "sense/lineproto.h"
#include "sense/pushjson.h"
#include "sense/sim.h"
#include "monitor/alerts.h"
#include "state/state.h"

#define MAX_ERRORS_SHOWN 10
#define MAX_SERIES_ROWS 200000

struct pending_push {
    struct vg_server *srv;
    struct evhttp_request *req;
    json_t *body;
};

/* 507: the readings were not stored; resending them later is safe (one
 * at or before its sensor's last reading is refused, never doubled). */
static void reply_disk_full(struct vg_server *srv, struct evhttp_request *req)
{
    vg_api_reply_error(srv, req, 507, NULL,
                       "readings not stored: the disk holding data directory '%s' is full; "
                       "free space there and send them again",
                       vg_member_data_dir(srv->member));
}

static void on_push_client_gone(struct evhttp_connection *evcon, void *arg)
{
    struct pending_push *pp = arg;
    vg_api_release_request(pp->req);
    pp->req = NULL;
}

static void on_push_durable(void *ctx, int code)
{
    struct pending_push *pp = ctx;
    pp->srv->n_inflight--;
    if (pp->req) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(pp->req);
        if (evcon)
            evhttp_connection_set_closecb(evcon, NULL, NULL);
        if (vg_out_of_space(code))
            reply_disk_full(pp->srv, pp->req);
        else if (code)
            vg_api_reply_error(pp->srv, pp->req, 503, NULL, "readings not stored: %s",
                               strerror(-code));
        else
            vg_api_reply_json(pp->srv, pp->req, 200, pp->body);
    }
    json_decref(pp->body);
    free(pp);
}

/* "line 3: why" or "readings[2]: why" (json); ASCII, since why is. */
static json_t *reading_error(const struct vg_lp_reading *r, int json, const char *why)
{
    char msg[384];
    if (json)
        snprintf(msg, sizeof msg, "readings[%u]: %s", (unsigned)r->where, why);
    else
        snprintf(msg, sizeof msg, "line %u: %s", (unsigned)r->where, why);
    return json_string(msg);
}

/* Why a reading is refused before its name is looked up, or NULL. */
static const char *name_refusal(const struct vg_lp_reading *r, char *out, size_t outlen)
{
    if (r->reject == VG_LP_OK)
        return NULL;
    char shown[VG_LP_NAME_MAX * 4 + 4];
    vg_lp_show(shown, sizeof shown, r->sensor, r->sensor_len, VG_LP_NAME_MAX);
    snprintf(out, outlen, "sensor name '%s' %s", shown,
             vg_lp_reject_reason((enum vg_lp_reject)r->reject));
    return out;
}

/* Stores a parsed batch and answers once it is durable. */
static void store_batch(struct vg_call *call, const struct vg_lp_batch *b, int json)
{
    vg_monitor_t *mon = (vg_monitor_t *)call->service;
    json_t *errors = json_array();
    size_t accepted = 0, rejected = 0;
    vg_monitor_batch_size(mon, b->n_readings);
    char err[320];
    for (size_t i = 0; i < b->n_readings; i++) {
        const struct vg_lp_reading *r = &b->readings[i];
        const char *why = name_refusal(r, err, sizeof err);
        if (!why && vg_monitor_ingest(mon, r->sensor, r->sensor_len, r->time_ms, r->value, err,
                                      sizeof err) == 0) {
            accepted++;
            continue;
        }
        if (rejected++ < MAX_ERRORS_SHOWN)
            json_array_append_new(errors, reading_error(r, json, err));
    }
    vg_monitor_batch_end(mon);
    struct pending_push *pp = vg_calloc(1, sizeof *pp);
    pp->srv = call->srv;
    pp->req = call->req;
    pp->body = json_pack("{s:I,s:I,s:o}", "accepted", (json_int_t)accepted, "rejected",
                         (json_int_t)rejected, "errors", errors);
    call->srv->n_inflight++;
    struct evhttp_connection *evcon = evhttp_request_get_connection(call->req);
    if (evcon)
        evhttp_connection_set_closecb(evcon, on_push_client_gone, pp);
    if (vg_monitor_sync(mon, on_push_durable, pp))
        on_push_durable(pp, -EIO);
}

static const char *body_text(struct vg_call *call, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(call->req);
    *len = evbuffer_get_length(in);
    if (*len == 0) {
        vg_api_reply_error(call->srv, call->req, 400, NULL, "request body is empty");
        return NULL;
    }
    return (const char *)evbuffer_pullup(in, -1);
}

/* POST write (line protocol) or readings (JSON): parse all, then store. */
static void handle_push(struct vg_call *call, int json)
{
    if (vg_monitor_disk_full((vg_monitor_t *)call->service) || vg_member_disk_full(call->srv->member)) {
        reply_disk_full(call->srv, call->req); /* before anything is taken in */
        return;
    }
    vg_monitor_settle((vg_monitor_t *)call->service); /* an apply just answered is in force */
    vg_monitor_batch_begin((vg_monitor_t *)call->service);
    enum vg_lp_precision precision = VG_LP_NS;
    const char *p = evhttp_find_header(&call->query, "precision");
    if (!json && vg_lp_precision_parse(p, &precision)) {
        vg_api_reply_error(call->srv, call->req, 400, "precision",
                           "precision: '%s' is not one of ns, us, ms, s", p);
        return;
    }
    size_t len;
    const char *text = body_text(call, &len);
    if (!text)
        return;
    struct vg_lp_batch batch;
    vg_lp_batch_init(&batch);
    struct vg_lp_error lperr = {0};
    int64_t now = (int64_t)vg_wall_ms();
    int rc = json ? vg_pj_parse_batch(text, len, now, &batch, lperr.reason, sizeof lperr.reason)
                  : vg_lp_parse_batch(text, len, precision, now, &batch, &lperr);
    if (rc)
        vg_api_reply_error(call->srv, call->req, 400, NULL, "%s; nothing was stored",
                           lperr.reason);
    else
        store_batch(call, &batch, json);
    vg_lp_batch_release(&batch);
}

/* ---- series ---- */

/* Times and steps are bounded before any arithmetic, so no request can
 * overflow: absolute times up to the end of year 9999, relative ones and
 * steps up to MAX_SPAN_MS. */
#define MAX_TIME_MS 253402300799999LL
#define MAX_SPAN_MS (100LL * 366 * 86400000)

static int64_t unit_ms(const char *suffix)
{
    return !strcmp(suffix, "s")   ? 1000
           : !strcmp(suffix, "m") ? 60000
           : !strcmp(suffix, "h") ? 3600000
           : !strcmp(suffix, "d") ? 86400000
                                  : 0;
}

/* A decimal integer with an optional leading '-', nothing else before it. */
static int leading_number(const char *s, long long *v, char **end)
{
    if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return -EINVAL;
    errno = 0;
    *v = strtoll(s, end, 10);
    return errno || *end == s ? -EINVAL : 0;
}

/* "1700000000000" (ms), "now", "-1h", "-30m", "-90s", "-7d". */
static int parse_time(const char *s, int64_t now, int64_t *out)
{
    if (!strcmp(s, "now")) {
        *out = now;
        return 0;
    }
    char *end;
    long long v;
    if (leading_number(s, &v, &end))
        return -EINVAL;
    if (*end == '\0' && s[0] != '-') {
        if (v > MAX_TIME_MS)
            return -EINVAL;
        *out = v;
        return 0;
    }
    int64_t unit = unit_ms(end);
    if (!unit || v > 0 || v < -(MAX_SPAN_MS / unit))
        return -EINVAL;
    *out = now + v * unit;
    return 0;
}

/* "0"/"raw", "10s", "1m", "1h", or milliseconds. */
static int parse_step(const char *s, int64_t *out)
{
    if (!strcmp(s, "raw")) {
        *out = 0;
        return 0;
    }
    char *end;
    long long v;
    if (leading_number(s, &v, &end) || v < 0)
        return -EINVAL;
    int64_t unit = !*end ? 1 : unit_ms(end);
    if (!unit || v > MAX_SPAN_MS / unit)
        return -EINVAL;
    *out = v * unit;
    return 0;
}

struct series_out {
    json_t *points;
    size_t n;
    int raw;
};

static void add_point(void *ctx, int64_t t, double mn, double mx, double avg, uint64_t count)
{
    struct series_out *so = ctx;
    if (so->n++ >= MAX_SERIES_ROWS)
        return;
    json_t *row = so->raw ? json_pack("[I,f]", (json_int_t)t, avg)
                          : json_pack("[I,f,f,f,I]", (json_int_t)t, mn, mx, avg,
                                      (json_int_t)count);
    json_array_append_new(so->points, row);
}

void vg_api_series(struct vg_call *call)
{
    const char *sensor = evhttp_find_header(&call->query, "sensor");
    const char *from_s = evhttp_find_header(&call->query, "from");
    const char *to_s = evhttp_find_header(&call->query, "to");
    const char *step_s = evhttp_find_header(&call->query, "step");
    int64_t now = (int64_t)vg_wall_ms(), from, to, step = -1;
    if (!sensor) {
        vg_api_reply_error(call->srv, call->req, 400, "sensor", "sensor: required");
        return;
    }
    if (parse_time(from_s ? from_s : "-1h", now, &from)) {
        vg_api_reply_error(call->srv, call->req, 400, "from",
                           "from: '%s' is not a time (ms since the epoch up to year 9999, now, "
                           "or -30m, -1h, -7d up to 100 years back)",
                           from_s);
        return;
    }
    if (parse_time(to_s ? to_s : "now", now, &to) || to <= from) {
        vg_api_reply_error(call->srv, call->req, 400, "to",
                           "to: '%s' is not a time after from", to_s ? to_s : "now");
        return;
    }
    if (step_s && parse_step(step_s, &step)) {
        vg_api_reply_error(call->srv, call->req, 400, "step",
                           "step: '%s' is not a duration up to 100 years (raw, 10s, 1m, 1h or ms)",
                           step_s);
        return;
    }
    if (step < 0) /* raw up to 6 hours, then buckets of about 500 points */
        step = to - from <= 6 * 3600000 ? 0 : ((to - from) / 500 + 59999) / 60000 * 60000;
    struct series_out so = {json_array(), 0, step == 0};
    char err[256];
    int rc = vg_monitor_series((vg_monitor_t *)call->service, sensor, from, to + (to == now), step,
                               add_point, &so, err, sizeof err);
    if (rc) {
        vg_api_reply_error(call->srv, call->req, rc == -ENOENT ? 404 : 400, "sensor", "%s",
                           err);
    } else if (so.n > MAX_SERIES_ROWS) {
        vg_api_reply_error(call->srv, call->req, 400, "step",
                           "%zu rows: more than %d; ask for a larger step", so.n,
                           MAX_SERIES_ROWS);
    } else {
        json_t *body = json_pack("{s:s,s:I,s:I,s:I,s:s,s:O}", "sensor", sensor, "from",
                                 (json_int_t)from, "to", (json_int_t)to, "step",
                                 (json_int_t)step, "columns",
                                 step ? "time,min,max,avg,count" : "time,value", "points",
                                 so.points);
        vg_api_reply_json(call->srv, call->req, 200, body);
        json_decref(body);
    }
    json_decref(so.points);
}

/* ---- views ---- */

static void reply_new(struct vg_call *call, json_t *body)
{
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

void vg_api_alerts(struct vg_call *call)
{
    const vg_state_t *st = vg_member_state(call->srv->member);
    json_t *active = json_array();
    const char *id;
    json_t *a;
    json_object_foreach(vg_alerts_active(st), id, a) {
        /* "info" instances are parts of composites, never alerts */
        if (strcmp(json_string_value(json_object_get(a, "to")), "info") != 0)
            json_array_append(active, a);
    }
    json_t *log = vg_alerts_log(st);
    size_t n = json_array_size(log), keep = n > 200 ? 200 : n;
    json_t *recent = json_array();
    for (size_t i = n - keep; i < n; i++)
        json_array_append(recent, json_array_get(log, i));
    reply_new(call, json_pack("{s:o,s:o}", "active", active, "recent", recent));
}

void vg_api_sim(struct vg_call *call)
{
    const char *device = call->args[0];
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    const char *scenario = json_string_value(json_object_get(body, "scenario"));
    const json_t *speed_v = json_object_get(body, "speed");
    double speed = json_number_value(speed_v), speed_now = 0;
    char err[512];
    int rc;
    if (!scenario && !speed_v)
        vg_api_reply_error(call->srv, call->req, 400, "scenario", "scenario: required");
    else if (speed_v && (!json_is_number(speed_v) || speed <= 0))
        vg_api_reply_error(call->srv, call->req, 400, "speed", "speed: expected a number > 0");
    else if ((rc = vg_sim_trigger(device, scenario, speed, &speed_now, err, sizeof err)))
        vg_api_reply_error(call->srv, call->req, rc == -ENOENT ? 404 : 400,
                           strncmp(err, "speed", 5) ? "scenario" : "speed", "%s", err);
    else {
        char who[96];
        vg_api_actor_name(call, who, sizeof who);
        vg_info("simulator '%s': scenario '%s', speed %g (by %s)", device,
                scenario ? scenario : "(unchanged)", speed_now, who);
        json_t *reply = json_pack("{s:s,s:f}", "device", device, "speed", speed_now);
        if (scenario)
            json_object_set_new(reply, "scenario", json_string(scenario));
        reply_new(call, reply);
    }
    json_decref(body);
}

void vg_api_push_lp(struct vg_call *call)
{
    handle_push(call, 0);
}

void vg_api_push_json(struct vg_call *call)
{
    handle_push(call, 1);
}

void vg_api_sensors(struct vg_call *call)
{
    reply_new(call, vg_monitor_sensors((vg_monitor_t *)call->service, evhttp_find_header(&call->query, "site"),
                                       evhttp_find_header(&call->query, "zone")));
}

void vg_api_facility(struct vg_call *call)
{
    reply_new(call, vg_monitor_facility((vg_monitor_t *)call->service));
}

void vg_api_rules(struct vg_call *call)
{
    reply_new(call, vg_monitor_rules((vg_monitor_t *)call->service));
}

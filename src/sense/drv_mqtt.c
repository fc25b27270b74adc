/*
 * drv_mqtt.c - the "mqtt" driver: sensors that publish to an MQTT broker
 * (BMS gateways, LoRaWAN bridges, ESPHome/Tasmota boards).
 *
 * Passive (driver.h): init connects to the broker at dev->address
 * (host[:port], default 1883, 8883 with TLS) and subscribes to each
 * distinct source.topic; libmosquitto's own thread (mosquitto_loop_start)
 * then receives messages, re-connects with backoff (1 s doubling to 10 s)
 * and re-subscribes in on_connect, and calls the sink from that thread
 * (sinks are thread-safe). init waits up to timeout_ms for the CONNACK and
 * the SUBACKs, so retained values arrive right after it and a dead broker
 * or refused credentials fail init with a message. poll() only reports
 * the connection: 0 while connected or down for less than timeout_ms,
 * else an error, which makes the device unreachable and its sensors stale.
 *
 * Device spec.options: client_id (default: the broker assigns one),
 * username, password, qos (0 or 1, default 0), keepalive_s (5..3600,
 * default 30), tls (true/false), ca_file (a PEM file; implies tls; without
 * it the system's CA directory). Sensor spec.source and the payload rules:
 * drv_mqtt.h.
 *
 * Every message that matches a point gives a value or a rejection for it
 * (payload not a number, path missing, invalid JSON, larger than 64 KiB).
 * Never: log or echo the password, crash or block the library thread on a
 * payload, or put raw payload bytes into a reason (escaped, truncated).
 */
#include "sense/drv_mqtt.h"

#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <strings.h>

#include "sense/driver.h"
#include "sense/lineproto.h"
#include "sense/pushjson.h"

#define MQTT_DEFAULT_PORT 1883
#define MQTT_TLS_PORT     8883
#define MQTT_CA_DIR       "/etc/ssl/certs"

/* ---- JSON paths ---------------------------------------------------------- */

/* Walks "a.b[2].c" from root (NULL: only checks the syntax). Returns the
 * value, or NULL with *bad set to -EINVAL for a syntax error. */
static const json_t *walk(const json_t *root, const char *path, int *bad)
{
    const char *p = path;
    *bad = 0;
    if (!*p)
        goto syntax;
    for (;;) {
        if (*p == '[') {
            char *end;
            if (p[1] < '0' || p[1] > '9')
                goto syntax;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (*end != ']')
                goto syntax;
            root = root ? json_array_get(root, idx) : NULL;
            p = end + 1;
        } else {
            size_t n = strcspn(p, ".[");
            if (n == 0)
                goto syntax;
            root = root ? json_object_getn(root, p, n) : NULL;
            p += n;
        }
        if (!*p)
            return root;
        if (*p == '.')
            p++;
        else if (*p != '[')
            goto syntax;
        if (!*p)
            goto syntax;
    }
syntax:
    *bad = -EINVAL;
    return NULL;
}

/* ---- checking ------------------------------------------------------------ */

static int check_path(const json_t *source, const char *key, char *err, size_t errlen)
{
    const char *path;
    int rc = vg_drv_opt_string(source, "source", key, 0, &path, err, errlen);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    int bad;
    walk(NULL, path, &bad);
    return bad ? vg_err(
                     err, errlen, -EINVAL,
                     "source.%s: '%.64s' is not a path like sensors.temp or readings[0].value",
                     key, path)
               : 0;
}

int vg_mqtt_check_source(const json_t *source, char *err, size_t errlen)
{
    const char *key, *topic;
    const json_t *v;
    json_object_foreach((json_t *)source, key, v)
    {
        if (strcmp(key, "topic") && strcmp(key, "path") && strcmp(key, "map") &&
            strcmp(key, "field"))
            return vg_err(err, errlen, -EINVAL,
                          "source.%.64s: not used by the mqtt driver (topic, path, map, field)",
                          key);
    }
    int rc = vg_drv_opt_string(source, "source", "topic", 1, &topic, err, errlen);
    if (rc)
        return rc;
    if (mosquitto_sub_topic_check(topic) != MOSQ_ERR_SUCCESS)
        return vg_err(
            err, errlen, -EINVAL,
            "source.topic: '%.128s' is not a valid MQTT subscription (+ and # only as "
            "whole levels, # last)",
            topic);
    if ((rc = check_path(source, "path", err, errlen)) ||
        (rc = check_path(source, "field", err, errlen)))
        return rc;
    const json_t *map = json_object_get(source, "map");
    if (map && !json_is_object(map))
        return vg_err(err, errlen, -EINVAL, "source.map: expected an object {WORD: number}");
    json_object_foreach((json_t *)map, key, v)
    {
        if (!json_is_number(v) && !json_is_boolean(v))
            return vg_err(err, errlen, -EINVAL, "source.map.%.64s: expected a number", key);
    }
    return 0;
}

static int check_options(const json_t *options, char *err, size_t errlen)
{
    static const char *const known[] = {"client_id",   "username", "password", "qos",
                                        "keepalive_s", "tls",      "ca_file"};
    const char *key, *s;
    const json_t *v;
    long long n;
    json_object_foreach((json_t *)options, key, v)
    {
        size_t i = 0;
        while (i < VG_ARRAY_LEN(known) && strcmp(known[i], key))
            i++;
        if (i == VG_ARRAY_LEN(known))
            return vg_err(err, errlen, -EINVAL,
                          "options.%.64s: unknown option (client_id, username, password, qos, "
                          "keepalive_s, tls, ca_file)",
                          key);
    }
    int rc;
    const char *strings[] = {"client_id", "username", "password", "ca_file"};
    for (size_t i = 0; i < VG_ARRAY_LEN(strings); i++)
        if ((rc = vg_drv_opt_string(options, "options", strings[i], 0, &s, err, errlen)) &&
            rc != -ENOENT)
            return rc;
    if ((rc = vg_drv_opt_int(options, "options", "qos", 0, 0, 1, &n, err, errlen)) &&
        rc != -ENOENT)
        return rc;
    if ((rc = vg_drv_opt_int(options, "options", "keepalive_s", 0, 5, 3600, &n, err, errlen)) &&
        rc != -ENOENT)
        return rc;
    const json_t *tls = json_object_get(options, "tls");
    if (tls && !json_is_boolean(tls))
        return vg_err(err, errlen, -EINVAL, "options.tls: expected true or false");
    if (json_object_get(options, "password") && !json_object_get(options, "username"))
        return vg_err(err, errlen, -EINVAL, "options.password: needs options.username");
    return 0;
}

static int mqtt_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    int rc = check_options(options, err, errlen);
    return rc || !source ? rc : vg_mqtt_check_source(source, err, errlen);
}

/* ---- payloads ------------------------------------------------------------ */

void vg_mqtt_msg_release(struct vg_mqtt_msg *m)
{
    json_decref(m->json);
    m->json = NULL;
    m->json_tried = 0;
}

static int reject(char *reason, size_t reasonlen, const struct vg_mqtt_msg *m, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* "topic T: " + message */
static int reject(char *reason, size_t reasonlen, const struct vg_mqtt_msg *m, const char *fmt,
                  ...)
{
    char topic[160];
    vg_lp_show(topic, sizeof topic, m->topic, strlen(m->topic), 96);
    int n = snprintf(reason, reasonlen, "topic %s: ", topic);
    if (n >= 0 && (size_t)n < reasonlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason + n, reasonlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* A number, a word of map, or a built-in word; -EINVAL if none. */
static int text_value(const char *s, size_t len, const json_t *map, double *raw)
{
    while (len && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                   s[len - 1] == '\n'))
        len--;
    if (len && vg_lp_number(s, s + len, raw) == s + len)
        return isfinite(*raw) ? 0 : -EINVAL;
    if (map) {
        const json_t *v = json_object_getn(map, s, len);
        if (!v)
            return -EINVAL;
        *raw = json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
        return 0;
    }
    static const struct {
        const char *word;
        double value;
    } words[] = {{"on", 1},  {"true", 1},  {"yes", 1}, {"open", 1},
                 {"off", 0}, {"false", 0}, {"no", 0},  {"closed", 0}};
    for (size_t i = 0; i < VG_ARRAY_LEN(words); i++)
        if (strlen(words[i].word) == len && strncasecmp(words[i].word, s, len) == 0) {
            *raw = words[i].value;
            return 0;
        }
    return -EINVAL;
}

static const json_t *msg_json(struct vg_mqtt_msg *m)
{
    if (!m->json_tried) {
        json_error_t jerr;
        m->json_tried = 1;
        m->json =
            json_loadb(m->payload, m->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!m->json) {
            char text[96];
            vg_lp_show(text, sizeof text, jerr.text, strlen(jerr.text), 80);
            snprintf(m->json_error, sizeof m->json_error, "%s at byte %d", text, jerr.position);
        }
    }
    return m->json;
}

/* The value of a JSON time field as ms. */
static int json_time(const json_t *t, int64_t *time_ms)
{
    if (json_is_integer(t)) {
        json_int_t n = json_integer_value(t);
        if (n < 0 || n > VG_LP_MAX_TIME_MS)
            return -EINVAL;
        *time_ms = n < INT64_C(100000000000) ? n * 1000 : n;
        return 0;
    }
    if (json_is_real(t)) {
        double s = json_real_value(t);
        if (!(s >= 0 && s * 1000 <= (double)VG_LP_MAX_TIME_MS))
            return -EINVAL;
        *time_ms = (int64_t)llround(s * 1000);
        return 0;
    }
    if (json_is_string(t))
        return vg_pj_time_parse(json_string_value(t), json_string_length(t), time_ms);
    return -EINVAL;
}

static int show_payload(char *out, size_t outlen, const struct vg_mqtt_msg *m)
{
    vg_lp_show(out, outlen, m->payload, m->len, 32);
    return 0;
}

static int json_value(const json_t *source, struct vg_mqtt_msg *m, const char *path,
                      const json_t *map, double *raw, char *reason, size_t reasonlen)
{
    char shown[160];
    const json_t *root = msg_json(m);
    if (!root)
        return reject(reason, reasonlen, m, "payload is not valid JSON: %s", m->json_error);
    int bad;
    const json_t *v = walk(root, path, &bad);
    vg_lp_show(shown, sizeof shown, path, strlen(path), 64);
    if (!v)
        return reject(reason, reasonlen, m, "path '%s' is not in the payload", shown);
    if (json_is_number(v) || json_is_boolean(v)) {
        *raw = json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
        return 0;
    }
    if (json_is_string(v) && !text_value(json_string_value(v), json_string_length(v), map, raw))
        return 0;
    if (json_is_string(v)) {
        char text[48];
        vg_lp_show(text, sizeof text, json_string_value(v), json_string_length(v), 32);
        return reject(reason, reasonlen, m, "path '%s' is not a number: '%s'", shown, text);
    }
    return reject(reason, reasonlen, m, "path '%s' is not a number but %s", shown,
                  json_is_null(v)     ? "null"
                  : json_is_object(v) ? "an object"
                                      : "an array");
}

int vg_mqtt_extract(const json_t *source, struct vg_mqtt_msg *m, int64_t *time_ms, double *raw,
                    char *reason, size_t reasonlen)
{
    const char *path = json_string_value(json_object_get(source, "path"));
    const char *field = json_string_value(json_object_get(source, "field"));
    const json_t *map = json_object_get(source, "map");
    char shown[48];
    if (m->len > VG_MQTT_PAYLOAD_MAX)
        return reject(reason, reasonlen, m, "payload of %zu bytes is larger than 64 KiB",
                      m->len);
    if (path) {
        int rc = json_value(source, m, path, map, raw, reason, reasonlen);
        if (rc)
            return rc;
    } else if (text_value(m->payload, m->len, map, raw)) {
        show_payload(shown, sizeof shown, m);
        return reject(reason, reasonlen, m, "payload is not a number: '%s'", shown);
    }
    if (!isfinite(*raw))
        return reject(reason, reasonlen, m, "value is not a finite number");
    if (!field)
        return 0;
    const json_t *root = msg_json(m);
    if (!root)
        return reject(reason, reasonlen, m, "payload is not valid JSON: %s", m->json_error);
    int bad;
    const json_t *t = walk(root, field, &bad);
    char fshown[96];
    vg_lp_show(fshown, sizeof fshown, field, strlen(field), 64);
    if (!t)
        return reject(reason, reasonlen, m, "time field '%s' is not in the payload", fshown);
    if (json_time(t, time_ms))
        return reject(reason, reasonlen, m,
                      "time field '%s' is not ms or s since 1970 or an RFC 3339 time", fshown);
    return 0;
}

/* ---- the connection ------------------------------------------------------ */

struct mqtt_dev {
    struct mosquitto *mosq;
    struct vg_device *dev;
    struct vg_sink *sink;
    char where[300]; /* "broker host:port" for messages */
    int qos;
    const char **filters; /* distinct topics, borrowed from the points */
    size_t n_filters;
    pthread_mutex_t lock; /* the fields below */
    pthread_cond_t changed;
    int connected;
    size_t n_subacked;
    uint64_t down_since_ms; /* monotonic; 0 while connected */
    char last_error[160];
};

static void set_error(struct mqtt_dev *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct mqtt_dev *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->last_error, sizeof m->last_error, fmt, ap);
    va_end(ap);
}

static void on_connect(struct mosquitto *mosq, void *ctx, int rc)
{
    struct mqtt_dev *m = ctx;
    pthread_mutex_lock(&m->lock);
    if (rc == 0) {
        m->connected = 1;
        m->down_since_ms = 0;
        m->n_subacked = 0;
        m->last_error[0] = '\0';
    } else {
        set_error(m, "%s", mosquitto_connack_string(rc));
    }
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; rc == 0 && i < m->n_filters; i++)
        mosquitto_subscribe(mosq, NULL, m->filters[i], m->qos);
}

static void on_disconnect(struct mosquitto *mosq, void *ctx, int rc)
{
    struct mqtt_dev *m = ctx;
    pthread_mutex_lock(&m->lock);
    int was_connected = m->connected;
    if (m->connected || !m->down_since_ms)
        m->down_since_ms = vg_mono_ms();
    m->connected = 0;
    /* a refused CONNACK is followed by this disconnect: keep its reason
     * ("not authorised"), which says more than "connection refused" */
    int keep = !was_connected && m->last_error[0];
    if (!keep && (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_KEEPALIVE))
        set_error(m, "%s",
                  rc == MOSQ_ERR_CONN_LOST ? "connection lost" : "keepalive timed out");
    else if (!keep && rc)
        set_error(m, "connection lost: %s", mosquitto_strerror(rc));
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void on_subscribe(struct mosquitto *mosq, void *ctx, int mid, int n_qos,
                         const int *granted)
{
    struct mqtt_dev *m = ctx;
    pthread_mutex_lock(&m->lock);
    m->n_subacked++;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void on_message(struct mosquitto *mosq, void *ctx, const struct mosquitto_message *msg)
{
    struct mqtt_dev *m = ctx;
    struct vg_device *dev = m->dev;
    struct vg_mqtt_msg in = {.topic = msg->topic,
                             .payload = msg->payload ? msg->payload : "",
                             .len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0};
    int64_t now = (int64_t)vg_wall_ms();
    for (size_t i = 0; i < dev->n_points; i++) {
        const struct vg_point *p = &dev->points[i];
        bool match = false;
        const char *filter = json_string_value(json_object_get(p->source, "topic"));
        if (!filter || mosquitto_topic_matches_sub(filter, msg->topic, &match) || !match)
            continue;
        int64_t time_ms = now;
        double raw = 0;
        char reason[240];
        if (vg_mqtt_extract(p->source, &in, &time_ms, &raw, reason, sizeof reason))
            m->sink->reject(m->sink, i, reason);
        else
            m->sink->value(m->sink, i, time_ms, vg_point_value(p, raw));
    }
    vg_mqtt_msg_release(&in);
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

/* The distinct topic filters of the points. */
static void collect_filters(struct mqtt_dev *m, const struct vg_device *dev)
{
    m->filters = vg_calloc(dev->n_points + 1, sizeof *m->filters);
    for (size_t i = 0; i < dev->n_points; i++) {
        const char *t = json_string_value(json_object_get(dev->points[i].source, "topic"));
        size_t j = 0;
        while (t && j < m->n_filters && strcmp(m->filters[j], t))
            j++;
        if (t && j == m->n_filters)
            m->filters[m->n_filters++] = t;
    }
}

static void free_dev(struct mqtt_dev *m)
{
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->changed);
    free(m->filters);
    free(m);
}

/* Client settings from the options (already checked). */
static int configure(struct mqtt_dev *m, const json_t *o, char *err, size_t errlen)
{
    const char *user = json_string_value(json_object_get(o, "username"));
    const char *password = json_string_value(json_object_get(o, "password"));
    const char *ca_file = json_string_value(json_object_get(o, "ca_file"));
    int rc = MOSQ_ERR_SUCCESS;
    if (user)
        rc = mosquitto_username_pw_set(m->mosq, user, password);
    if (!rc && (ca_file || json_is_true(json_object_get(o, "tls"))))
        rc =
            mosquitto_tls_set(m->mosq, ca_file, ca_file ? NULL : MQTT_CA_DIR, NULL, NULL, NULL);
    if (!rc)
        rc = mosquitto_reconnect_delay_set(m->mosq, 1, 10, true);
    if (rc)
        return vg_err(err, errlen, -EINVAL, "%s: %s", m->where, mosquitto_strerror(rc));
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
    mosquitto_message_callback_set(m->mosq, on_message);
    return 0;
}

/* Waits for the CONNACK and every SUBACK, or a refusal, or the deadline. */
static int wait_ready(struct mqtt_dev *m, uint32_t timeout_ms, char *err, size_t errlen)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    while (!(m->connected && m->n_subacked >= m->n_filters) && !m->last_error[0])
        if (pthread_cond_timedwait(&m->changed, &m->lock, &until) == ETIMEDOUT)
            break;
    if (!m->connected)
        rc = m->last_error[0]
                 ? vg_err(err, errlen, -ECONNREFUSED, "%s: %s", m->where, m->last_error)
                 : vg_err(err, errlen, -ETIMEDOUT, "%s: no connection within %u ms", m->where,
                          timeout_ms);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mqtt_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    int rc = check_options(dev->options, err, errlen);
    if (rc)
        return rc;
    const json_t *o = dev->options;
    int tls = json_is_true(json_object_get(o, "tls")) || json_object_get(o, "ca_file");
    char host[256];
    uint16_t port;
    if ((rc = vg_drv_host_port(dev->address, tls ? MQTT_TLS_PORT : MQTT_DEFAULT_PORT, host,
                               sizeof host, &port, err, errlen)))
        return rc;
    pthread_once(&lib_once, lib_init);
    struct mqtt_dev *m = vg_calloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    m->dev = dev;
    m->sink = sink;
    m->qos = (int)json_integer_value(json_object_get(o, "qos"));
    snprintf(m->where, sizeof m->where, "broker %s:%u", host, port);
    collect_filters(m, dev);
    m->mosq = mosquitto_new(json_string_value(json_object_get(o, "client_id")), true, m);
    if (!m->mosq) {
        rc = vg_err(err, errlen, -ENOMEM, "%s: cannot create a client: %s", m->where,
                    strerror(errno));
        goto fail;
    }
    if ((rc = configure(m, o, err, errlen)))
        goto fail;
    json_int_t keepalive = json_integer_value(json_object_get(o, "keepalive_s"));
    int mrc = mosquitto_connect_async(m->mosq, host, port, keepalive ? (int)keepalive : 30);
    if (mrc) {
        rc = vg_err(err, errlen, -ECONNREFUSED, "%s: %s", m->where,
                    mrc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(mrc));
        goto fail;
    }
    if ((mrc = mosquitto_loop_start(m->mosq))) {
        rc = vg_err(err, errlen, -EIO, "%s: %s", m->where, mosquitto_strerror(mrc));
        goto fail;
    }
    if ((rc = wait_ready(m, dev->timeout_ms, err, errlen))) {
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_stop(m->mosq, true);
        goto fail;
    }
    dev->drv = m;
    return 0;
fail:
    free_dev(m);
    return rc;
}

static int mqtt_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct mqtt_dev *m = dev->drv;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    if (!m->connected && m->down_since_ms && vg_mono_ms() - m->down_since_ms >= dev->timeout_ms)
        rc = vg_err(err, errlen, -ECONNREFUSED, "%s: disconnected for %llu ms%s%s", m->where,
                    (unsigned long long)(vg_mono_ms() - m->down_since_ms),
                    m->last_error[0] ? ": " : "", m->last_error);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static void mqtt_close(struct vg_device *dev)
{
    struct mqtt_dev *m = dev->drv;
    if (!m)
        return;
    mosquitto_disconnect(m->mosq);
    mosquitto_loop_stop(m->mosq, false);
    free_dev(m);
    dev->drv = NULL;
}

/* never shown by the API, never logged (driver.h) */
static const char *const secret_options[] = {"password", NULL};

const struct vg_driver vg_drv_mqtt = {
    .name = "mqtt",
    .help = "sensors publishing to an MQTT broker: source {topic, path?, map?, field?}",
    .passive = 1,
    .secret_options = secret_options,
    .check = mqtt_check,
    .init = mqtt_init,
    .poll = mqtt_poll,
    .close = mqtt_close,
};

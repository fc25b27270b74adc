/*
 * ingest_load.c - pushes the same realistic sensor readings, as InfluxDB
 * line protocol in batches of 5,000, to vigild (POST /api/v1/write) or to
 * InfluxDB 1.x (POST /write), and reports readings per second.
 *
 * Data: --sensors temperature sensors, --points readings each, --interval-ms
 * apart, ending now. Values wander around 22 degC in 0.1 degC steps (a room
 * inlet read every 10 s); --flap-pct of the sensors swing between 20 and
 * 30 degC every 50 readings, so the rule engine raises and clears ASHRAE
 * alerts during the run. Client k sends the sensors s with s % clients == k
 * in time order, so no reading ever arrives before an older one of its own
 * sensor (vigil refuses those).
 *
 * --alarms N adds one more client that, while the bulk load runs, pushes
 * single fresh readings (time = now) to the sensors alarm000.., alternating
 * 30 and 20 degC, so each push crosses the ASHRAE threshold: the daemon
 * reports how long reading -> rule state change took for those.
 *
 * All bodies are generated before the clock starts; the loader talks only
 * to 127.0.0.1 and stops once everything is sent. A batch answered with
 * anything but 2xx (or, for vigil, with rejected readings) is an error and
 * makes the run fail.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/vg.h"

struct opts {
    int influx;
    int port;
    const char *token;
    const char *prefix;
    long sensors, points, clients, batch, flap_pct;
    long interval_ms;
    long alarms;
};

struct client {
    const struct opts *o;
    int idx;
    vg_buf_t *bodies;
    size_t n_bodies;
    int fd;
    uint64_t sent_readings, errors;
    uint32_t *lat_us;
    char err[256];
};

static double next_value(long s, long p, double *walk, const struct opts *o, uint64_t *rng)
{
    if (s < o->sensors * o->flap_pct / 100)
        return (p / 50) % 2 ? 30.0 : 20.0;
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    int step = (int)((*rng >> 33) % 5) - 2; /* -0.2 .. +0.2 */
    if (step == 2 || step == -2)
        step = 0; /* most readings repeat or move by one step */
    *walk += step * 0.1;
    if (*walk > 24)
        *walk -= 0.1;
    if (*walk < 20)
        *walk += 0.1;
    return *walk;
}

/* One client's bodies: its sensors, oldest time first, o->batch lines each. */
static void generate(struct client *c)
{
    const struct opts *o = c->o;
    long mine = 0;
    for (long s = c->idx; s < o->sensors; s += o->clients)
        mine++;
    double *walk = vg_calloc((size_t)mine + 1, sizeof *walk);
    for (long i = 0; i < mine; i++)
        walk[i] = 22.0;
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(c->idx + 1);
    int64_t end = (int64_t)vg_wall_ms() / 1000 * 1000;
    int64_t start = end - (int64_t)o->points * o->interval_ms;
    size_t cap = (size_t)((mine * o->points) / o->batch + 2);
    c->bodies = vg_calloc(cap, sizeof *c->bodies);
    long in_batch = 0;
    for (long p = 0; p < o->points; p++) {
        long i = 0;
        for (long s = c->idx; s < o->sensors; s += o->clients, i++) {
            vg_buf_t *b = &c->bodies[c->n_bodies];
            double v = next_value(s, p, &walk[i], o, &rng);
            vg_buf_printf(b, "%s%06ld value=%.1f %lld\n", o->prefix, s, v,
                          (long long)(start + p * o->interval_ms));
            if (++in_batch == o->batch) {
                in_batch = 0;
                c->n_bodies++;
            }
        }
    }
    if (in_batch)
        c->n_bodies++;
    free(walk);
}

static int conn_open(struct client *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->o->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa)) {
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one answer: status, and the body into body (Content-Length, or
 * none for 204). Keeps bytes of a following answer out (one in flight). */
static int read_answer(struct client *c, int *status, vg_buf_t *body)
{
    char head[16384];
    size_t used = 0;
    char *end = NULL;
    while (!end) {
        if (used == sizeof head - 1)
            return -1;
        ssize_t r = recv(c->fd, head + used, sizeof head - 1 - used, 0);
        if (r <= 0)
            return -1;
        used += (size_t)r;
        head[used] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (sscanf(head, "HTTP/1.%*d %d", status) != 1)
        return -1;
    size_t len = 0;
    for (char *h = strstr(head, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (!strncasecmp(h + 2, "Content-Length:", 15))
            len = strtoul(h + 17, NULL, 10);
    size_t have = used - (size_t)(end + 4 - head);
    vg_buf_reset(body);
    vg_buf_add(body, end + 4, have);
    while (body->len < len) {
        char chunk[65536];
        ssize_t r = recv(c->fd, chunk, sizeof chunk, 0);
        if (r <= 0)
            return -1;
        vg_buf_add(body, chunk, (size_t)r);
    }
    return 0;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    const struct opts *o = c->o;
    if (conn_open(c)) {
        c->errors++;
        return NULL;
    }
    vg_buf_t req = VG_BUF_INIT, answer = VG_BUF_INIT;
    for (size_t i = 0; i < c->n_bodies; i++) {
        vg_buf_reset(&req);
        if (o->influx)
            vg_buf_printf(&req, "POST /write?db=bench&precision=ms HTTP/1.1\r\n");
        else
            vg_buf_printf(&req, "POST /api/v1/write?precision=ms HTTP/1.1\r\n"
                                "Authorization: Bearer %s\r\n", o->token);
        vg_buf_printf(&req, "Host: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                            "Content-Length: %zu\r\n\r\n", c->bodies[i].len);
        uint64_t t0 = vg_mono_us();
        int status = 0;
        if (send_all(c->fd, req.data, req.len) ||
            send_all(c->fd, c->bodies[i].data, c->bodies[i].len) ||
            read_answer(c, &status, &answer)) {
            snprintf(c->err, sizeof c->err, "connection failed at batch %zu", i);
            c->errors++;
            break;
        }
        c->lat_us[i] = (uint32_t)(vg_mono_us() - t0);
        long lines = 0;
        for (size_t k = 0; k < c->bodies[i].len; k++)
            lines += c->bodies[i].data[k] == '\n';
        if (status / 100 != 2 || (!o->influx && !strstr((char *)answer.data, "\"rejected\":0"))) {
            snprintf(c->err, sizeof c->err, "batch %zu: HTTP %d %.160s", i, status,
                     answer.data ? (char *)answer.data : "");
            c->errors++;
            continue;
        }
        c->sent_readings += (uint64_t)lines;
    }
    close(c->fd);
    vg_buf_release(&req);
    vg_buf_release(&answer);
    return NULL;
}

/* The alarm client: single-reading pushes until the bulk clients are done. */
static volatile int bulk_done;

static void *alarm_main(void *arg)
{
    struct client *c = arg;
    const struct opts *o = c->o;
    if (conn_open(c)) {
        c->errors++;
        return NULL;
    }
    int64_t *last = vg_calloc((size_t)o->alarms, sizeof *last);
    vg_buf_t req = VG_BUF_INIT, body = VG_BUF_INIT, answer = VG_BUF_INIT;
    for (long i = 0; !bulk_done || i < 2 * o->alarms; i++) {
        long s = i % o->alarms;
        int64_t t = (int64_t)vg_wall_ms();
        if (t <= last[s])
            t = last[s] + 1;
        last[s] = t;
        vg_buf_reset(&body);
        vg_buf_printf(&body, "alarm%03ld value=%s %lld\n", s, (i / o->alarms) % 2 ? "20.0" : "30.0",
                      (long long)t);
        vg_buf_reset(&req);
        vg_buf_printf(&req, "POST /api/v1/write?precision=ms HTTP/1.1\r\n"
                            "Authorization: Bearer %s\r\nHost: 127.0.0.1\r\n"
                            "Content-Length: %zu\r\n\r\n%s", o->token, body.len, (char *)body.data);
        int status = 0;
        if (send_all(c->fd, req.data, req.len) || read_answer(c, &status, &answer) ||
            status != 200) {
            c->errors++;
            snprintf(c->err, sizeof c->err, "alarm push %ld: HTTP %d", i, status);
            break;
        }
        c->sent_readings++;
    }
    close(c->fd);
    free(last);
    vg_buf_release(&req);
    vg_buf_release(&body);
    vg_buf_release(&answer);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static long num_opt(const char *s, const char *flag, long min)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min) {
        fprintf(stderr, "ingest_load: %s: '%s' is not a number >= %ld\n", flag, s, min);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct opts o = {.port = 0, .prefix = "s", .sensors = 10000, .points = 1000, .clients = 4,
                     .batch = 5000, .flap_pct = 1, .interval_ms = 10000};
    o.token = getenv("VIGIL_TOKEN");
    static const struct option longs[] = {
        {"influx", no_argument, 0, 'I'},          {"port", required_argument, 0, 'p'},
        {"sensors", required_argument, 0, 's'},   {"points", required_argument, 0, 'n'},
        {"clients", required_argument, 0, 'c'},   {"batch", required_argument, 0, 'b'},
        {"flap-pct", required_argument, 0, 'f'},  {"prefix", required_argument, 0, 'P'},
        {"interval-ms", required_argument, 0, 'i'}, {"alarms", required_argument, 0, 'A'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'I': o.influx = 1; break;
        case 'p': o.port = (int)num_opt(optarg, "--port", 1); break;
        case 's': o.sensors = num_opt(optarg, "--sensors", 1); break;
        case 'n': o.points = num_opt(optarg, "--points", 1); break;
        case 'c': o.clients = num_opt(optarg, "--clients", 1); break;
        case 'b': o.batch = num_opt(optarg, "--batch", 1); break;
        case 'f': o.flap_pct = num_opt(optarg, "--flap-pct", 0); break;
        case 'P': o.prefix = optarg; break;
        case 'i': o.interval_ms = num_opt(optarg, "--interval-ms", 1); break;
        case 'A': o.alarms = num_opt(optarg, "--alarms", 1); break;
        default:
            fprintf(stderr, "usage: ingest_load --port N [--influx] [--sensors N] [--points N] "
                            "[--clients N] [--batch N] [--flap-pct P] [--prefix S]\n");
            return 2;
        }
    }
    if (!o.port || (!o.influx && !o.token)) {
        fprintf(stderr, "ingest_load: --port and (for vigil) VIGIL_TOKEN are required\n");
        return 2;
    }
    struct client *cs = vg_calloc((size_t)o.clients, sizeof *cs);
    uint64_t bytes = 0;
    for (long i = 0; i < o.clients; i++) {
        cs[i] = (struct client){.o = &o, .idx = (int)i};
        generate(&cs[i]);
        cs[i].lat_us = vg_calloc(cs[i].n_bodies + 1, sizeof *cs[i].lat_us);
        for (size_t k = 0; k < cs[i].n_bodies; k++)
            bytes += cs[i].bodies[k].len;
    }
    pthread_t *th = vg_calloc((size_t)o.clients, sizeof *th);
    struct client alarm = {.o = &o, .idx = -1};
    pthread_t alarm_th;
    uint64_t t0 = vg_mono_us();
    if (o.alarms && !o.influx)
        pthread_create(&alarm_th, NULL, alarm_main, &alarm);
    for (long i = 0; i < o.clients; i++)
        pthread_create(&th[i], NULL, client_main, &cs[i]);
    for (long i = 0; i < o.clients; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(vg_mono_us() - t0) / 1e6;
    bulk_done = 1;
    if (o.alarms && !o.influx) {
        pthread_join(alarm_th, NULL);
        if (alarm.errors)
            fprintf(stderr, "ingest_load: alarm client: %s\n", alarm.err);
    }
    uint64_t readings = 0, errors = 0, n_lat = 0;
    for (long i = 0; i < o.clients; i++) {
        readings += cs[i].sent_readings;
        errors += cs[i].errors;
        n_lat += cs[i].n_bodies;
        if (cs[i].errors)
            fprintf(stderr, "ingest_load: client %ld: %s\n", i, cs[i].err);
    }
    uint32_t *lat = vg_calloc(n_lat + 1, sizeof *lat);
    size_t k = 0;
    for (long i = 0; i < o.clients; i++)
        for (size_t j = 0; j < cs[i].n_bodies; j++)
            lat[k++] = cs[i].lat_us[j];
    qsort(lat, k, sizeof *lat, cmp_u32);
    printf("{\"target\":\"%s\",\"readings\":%llu,\"seconds\":%.3f,\"readings_per_s\":%.0f,"
           "\"batches\":%llu,\"batch_p50_ms\":%.2f,\"batch_p99_ms\":%.2f,\"body_bytes\":%llu,"
           "\"errors\":%llu}\n",
           o.influx ? "influxdb" : "vigil", (unsigned long long)readings, secs, readings / secs,
           (unsigned long long)k, k ? lat[k / 2] / 1000.0 : 0, k ? lat[k * 99 / 100] / 1000.0 : 0,
           (unsigned long long)bytes, (unsigned long long)errors);
    return errors || alarm.errors ? 1 : 0;
}

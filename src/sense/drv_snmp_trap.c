/*
 * drv_snmp_trap.c - the "snmp-trap" driver: listens on a UDP address for
 * SNMPv2c (and SNMPv1) traps and turns their varbinds into readings.
 *
 * The Device's address is where to listen ("0.0.0.0:162", "127.0.0.1:1162";
 * port 162 if none). options.community (required) is the community a trap
 * must carry; others are rejected as the device's, never stored, and the
 * community itself never appears in a message. A Sensor's source names the
 * varbind: {oid: "1.3.6.1.4.1.99999.3.1.0"}, and optionally map:
 * {"onBattery": 1, "online": 0} for values that are words. Every varbind of
 * a trap (other than sysUpTime.0 and snmpTrapOID.0) whose OID a sensor
 * names gives that sensor a value; a trap of which no varbind is known, a
 * wrong community, an SNMPv3 message or a datagram that is not a trap is
 * rejected for the device as a whole (point SIZE_MAX) with the sender's
 * address.
 *
 * A receive thread, started by init and stopped by close, reads the socket,
 * so a trap is timestamped when it arrives and poll() never blocks: poll
 * only reports whether the listener is up, and retries the bind if it was
 * not (port taken by another process: a poll failure, as for a device that
 * does not answer). Datagrams are decoded by snmp_common.c's bounded BER
 * reader, not by net-snmp, so hostile input meets one small audited parser.
 * Informs (which want an answer) and SNMPv3 traps are not accepted.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sense/driver.h"
#include "sense/snmp_common.h"

#define MAX_DATAGRAM 65535

struct trap_point {
    struct vg_snmp_oid oid;
    const char *oid_text;
    const json_t *map;
};

struct trap_state {
    struct vg_device *dev;
    struct vg_sink *sink;
    char host[256];
    uint16_t port;
    char where[300]; /* "udp:HOST:PORT" */
    char *community;
    size_t community_len;
    struct trap_point *pts;
    int fd;
    int wake[2]; /* close() writes to wake[1] to stop the thread */
    pthread_t thread;
    int running;
    struct vg_snmp_trap *trap; /* the thread's decoding space */
    uint8_t *buf;
};

static int trap_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    static const char *const keys[] = {"community", NULL};
    const char *community;
    int rc = vg_drv_check_keys(options, "options", "snmp-trap", keys, err, errlen);
    if (!rc)
        rc = vg_drv_opt_string(options, "options", "community", 1, &community, err, errlen);
    if (!rc && source)
        rc = vg_snmp_check_source(source, "snmp-trap", 0, err, errlen);
    return rc;
}

/* ---- one datagram ---- */

static void reject_device(struct trap_state *st, const char *from, const char *why)
{
    char reason[400];
    snprintf(reason, sizeof reason, "trap from %s: %s", from, why);
    st->sink->reject(st->sink, SIZE_MAX, reason);
}

static int community_ok(const struct trap_state *st, const struct vg_snmp_trap *trap)
{
    return trap->community_len == st->community_len &&
           !sodium_memcmp(trap->community, st->community, st->community_len);
}

/* Gives each sensor naming a varbind its value; returns how many matched. */
static size_t map_varbinds(struct trap_state *st, const struct vg_snmp_trap *trap)
{
    size_t matched = 0;
    int64_t now = (int64_t)vg_wall_ms();
    for (size_t v = 0; v < trap->n_vb; v++) {
        const struct vg_snmp_varbind *vb = &trap->vb[v];
        for (size_t i = 0; i < st->dev->n_points; i++) {
            const struct trap_point *p = &st->pts[i];
            if (!vg_snmp_oid_equal(&p->oid, &vb->name))
                continue;
            matched++;
            double raw;
            char why[160], reason[320];
            if (vg_snmp_value_reading(&vb->value, p->map, &raw, why, sizeof why)) {
                snprintf(reason, sizeof reason, "oid %s: %s", p->oid_text, why);
                st->sink->reject(st->sink, i, reason);
            } else {
                st->sink->value(st->sink, i, now, vg_point_value(&st->dev->points[i], raw));
            }
        }
    }
    return matched;
}

static void handle_datagram(struct trap_state *st, size_t len, const char *from)
{
    char why[200];
    struct vg_snmp_trap *trap = st->trap;
    if (vg_snmp_trap_parse(st->buf, len, trap, why, sizeof why)) {
        reject_device(st, from, why);
        return;
    }
    if (!community_ok(st, trap)) {
        reject_device(st, from, "wrong community");
        return;
    }
    if (map_varbinds(st, trap))
        return;
    char trap_oid[256];
    vg_snmp_oid_format(&trap->trap_oid, trap_oid, sizeof trap_oid);
    snprintf(why, sizeof why, "trap %.120s: no sensor has the OID of any of its %zu varbinds",
             trap_oid, trap->n_vb);
    reject_device(st, from, why);
}

static void sender_text(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, outlen, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

static void *receive_main(void *arg)
{
    struct trap_state *st = arg;
    struct pollfd fds[2] = {{st->fd, POLLIN, 0}, {st->wake[0], POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(st->fd, st->buf, MAX_DATAGRAM, MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            continue; /* EAGAIN, or an ICMP error queued on the socket */
        char sender[80];
        sender_text(&from, sender, sizeof sender);
        handle_datagram(st, (size_t)n, sender);
    }
    return NULL;
}

/* ---- the listener ---- */

static int open_socket(struct trap_state *st, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_socktype = SOCK_DGRAM};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)st->port);
    int gai = getaddrinfo(st->host, port, &hints, &ai);
    if (gai)
        return vg_err(err, errlen, -EINVAL, "address: cannot resolve '%s': %s", st->host,
                      gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    if (!rc && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        rc = -errno;
    freeaddrinfo(ai);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return vg_err(err, errlen, rc, "cannot listen on %s: %s", st->where, strerror(-rc));
    }
    st->fd = fd;
    return 0;
}

static int start_listener(struct trap_state *st, char *err, size_t errlen)
{
    int rc = open_socket(st, err, errlen);
    if (rc)
        return rc;
    rc = pthread_create(&st->thread, NULL, receive_main, st);
    if (rc) {
        close(st->fd);
        st->fd = -1;
        return vg_err(err, errlen, -rc, "cannot start the receive thread: %s", strerror(rc));
    }
    st->running = 1;
    return 0;
}

static void state_free(struct trap_state *st)
{
    if (!st)
        return;
    if (st->running) {
        ssize_t w = write(st->wake[1], "x", 1);
        (void)w;
        pthread_join(st->thread, NULL);
    }
    if (st->fd >= 0)
        close(st->fd);
    for (int i = 0; i < 2; i++)
        if (st->wake[i] >= 0)
            close(st->wake[i]);
    if (st->community)
        sodium_memzero(st->community, st->community_len);
    free(st->community);
    free(st->pts);
    free(st->trap);
    free(st->buf);
    free(st);
}

static int build_points(struct trap_state *st, struct vg_device *dev, char *err, size_t errlen)
{
    st->pts = vg_calloc(dev->n_points ? dev->n_points : 1, sizeof *st->pts);
    for (size_t i = 0; i < dev->n_points; i++) {
        char why[256];
        const json_t *source = dev->points[i].source;
        if (vg_snmp_check_source(source, "snmp-trap", 0, why, sizeof why))
            return vg_err(err, errlen, -EINVAL, "sensor '%s': %s", dev->points[i].sensor, why);
        st->pts[i].oid_text = json_string_value(json_object_get(source, "oid"));
        vg_snmp_oid_parse(st->pts[i].oid_text, &st->pts[i].oid);
        st->pts[i].map = json_object_get(source, "map");
    }
    return 0;
}

static int trap_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct trap_state *st = vg_calloc(1, sizeof *st);
    st->fd = st->wake[0] = st->wake[1] = -1;
    st->dev = dev;
    st->sink = sink;
    const char *community;
    int rc;
    if ((rc = trap_check(dev->options, NULL, err, errlen)) ||
        (rc = vg_drv_host_port(dev->address, 162, st->host, sizeof st->host, &st->port, err,
                               errlen)) ||
        (rc = build_points(st, dev, err, errlen)))
        goto fail;
    if (pipe2(st->wake, O_CLOEXEC) < 0) {
        rc = vg_err(err, errlen, -errno, "pipe: %s", strerror(errno));
        goto fail;
    }
    vg_drv_opt_string(dev->options, "options", "community", 1, &community, err, errlen);
    st->community = vg_strdup(community);
    st->community_len = strlen(community);
    snprintf(st->where, sizeof st->where, strchr(st->host, ':') ? "udp:[%s]:%u" : "udp:%s:%u",
             st->host, (unsigned)st->port);
    st->trap = vg_malloc(sizeof *st->trap);
    st->buf = vg_malloc(MAX_DATAGRAM);
    /* a port in use now may be free at the next poll, which retries */
    char ignored[256];
    start_listener(st, ignored, sizeof ignored);
    dev->drv = st;
    return 0;
fail:
    state_free(st);
    return rc;
}

static int trap_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct trap_state *st = dev->drv;
    return st->running ? 0 : start_listener(st, err, errlen);
}

static void trap_close(struct vg_device *dev)
{
    state_free(dev->drv);
    dev->drv = NULL;
}

/* never shown by the API, never logged (driver.h) */
static const char *const secret_options[] = {"community", NULL};

const struct vg_driver vg_drv_snmp_trap = {
    .name = "snmp-trap",
    .help = "listens for SNMPv2c and SNMPv1 traps on a UDP address and maps varbinds by OID",
    .passive = 1,
    .secret_options = secret_options,
    .check = trap_check,
    .init = trap_init,
    .poll = trap_poll,
    .close = trap_close,
};

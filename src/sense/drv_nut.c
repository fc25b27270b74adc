/*
 * drv_nut.c - the "nut" driver: UPS variables from upsd, the Network UPS
 * Tools server (ups.status, battery.charge, battery.runtime, ups.load...).
 *
 * It speaks upsd's plain line protocol (NUT's docs/net-protocol.txt) over
 * one long-lived TCP connection:
 *     USERNAME u / PASSWORD p      -> OK                  (when configured)
 *     GET VAR <ups> <var>          -> VAR <ups> <var> "<value>"
 *                                  or ERR <CODE> (VAR-NOT-SUPPORTED, DATA-STALE...)
 * rather than libupsclient, because an attempt must end by dev->timeout_ms
 * (driver.h) and libupsclient cannot promise that: upscli_get reads with
 * the library's fixed network timeout and its *_timeout calls take whole
 * seconds; it also keeps process-wide state (its SSL setup) that one
 * thread per device would share. The protocol is four commands and a
 * quoted string, so a deadline-bounded socket is the smaller risk.
 *
 * Values: ups.status words become VG_UPS_* bits (vg_ups_status_parse) for
 * ups-status sensors; every other sensor's value must be a finite number.
 * A variable the UPS does not have, or stale data, rejects that sensor; an
 * unknown UPS, a driver upsd has lost, refused credentials or a dead upsd
 * fail the poll.
 *
 * Never: send the password anywhere but the PASSWORD line, or keep it in a
 * buffer afterwards (wiped); accept names with characters that would let a
 * manifest inject protocol lines.
 */
#include "sense/driver.h"

#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sense/stype.h"

#define NUT_DEFAULT_PORT 3493
#define NUT_LINE_MAX     512 /* upsd's own limit on a line */

struct nut_dev {
    int fd; /* -1 when not connected */
    char host[256];
    char service[8];
    char where[300];
    const char *ups, *username, *password; /* borrowed from dev->options */
    char in[2 * NUT_LINE_MAX];             /* received, not yet consumed */
    size_t n_in;
    uint64_t deadline_ms; /* of the current attempt (monotonic) */
};

/* ---- checking ---- */

/* Names go into protocol lines: letters, digits and . _ - only. */
static int check_word(const json_t *obj, const char *prefix, const char *key, int required,
                      const char **out, char *err, size_t errlen)
{
    int rc = vg_drv_opt_string(obj, prefix, key, required, out, err, errlen);
    if (rc)
        return rc;
    size_t n =
        strspn(*out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if ((*out)[n] || n > 64)
        return vg_err(err, errlen, -EINVAL,
                      "%s.%s: '%.64s' has characters other than letters, digits, '.', '_', '-' "
                      "(or is longer than 64)",
                      prefix, key, *out);
    return 0;
}

/* Credentials may hold punctuation, but nothing that ends or splits a line. */
static int check_secret(const json_t *obj, const char *key, const char **out, char *err,
                        size_t errlen)
{
    int rc = vg_drv_opt_string(obj, "options", key, 0, out, err, errlen);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    for (const unsigned char *p = (const unsigned char *)*out; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
            return vg_err(err, errlen, -EINVAL,
                          "options.%s: must not contain spaces, quotes, backslashes or "
                          "control characters",
                          key);
    if (strlen(*out) > 128)
        return vg_err(err, errlen, -EINVAL, "options.%s: longer than 128 characters", key);
    return 0;
}

struct nut_options {
    const char *ups, *username, *password;
};

static int parse_options(const json_t *options, struct nut_options *o, char *err, size_t errlen)
{
    static const char *const keys[] = {"ups", "username", "password", NULL};
    *o = (struct nut_options){0};
    int rc = vg_drv_check_keys(options, "options", "nut", keys, err, errlen);
    if (!rc)
        rc = check_word(options, "options", "ups", 1, &o->ups, err, errlen);
    if (!rc)
        rc = check_secret(options, "username", &o->username, err, errlen);
    if (!rc)
        rc = check_secret(options, "password", &o->password, err, errlen);
    if (!rc && !o->username != !o->password)
        rc = vg_err(err, errlen, -EINVAL, "options.%s: required with options.%s",
                    o->username ? "password" : "username",
                    o->username ? "username" : "password");
    return rc;
}

static int nut_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    static const char *const keys[] = {"variable", NULL};
    struct nut_options o;
    const char *var;
    int rc = parse_options(options, &o, err, errlen);
    if (!rc && source)
        rc = vg_drv_check_keys(source, "source", "nut", keys, err, errlen);
    if (!rc && source)
        rc = check_word(source, "source", "variable", 1, &var, err, errlen);
    return rc;
}

/* ---- the connection ---- */

static int remaining_ms(const struct nut_dev *d)
{
    uint64_t now = vg_mono_ms();
    return now >= d->deadline_ms ? 0 : (int)(d->deadline_ms - now);
}

static void disconnect(struct nut_dev *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    d->n_in = 0;
}

/* Waits for events on d->fd until the deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(struct nut_dev *d, short events)
{
    struct pollfd pfd = {.fd = d->fd, .events = events};
    int n;
    do
        n = poll(&pfd, 1, remaining_ms(d));
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
}

static int connect_one(struct nut_dev *d, const struct addrinfo *ai)
{
    d->fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (d->fd < 0)
        return -errno;
    int rc = 0, soerr = 0;
    socklen_t len = sizeof soerr;
    if (connect(d->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        rc = errno == EINPROGRESS ? wait_fd(d, POLLOUT) : -errno;
        if (!rc && getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
            rc = -soerr;
    }
    if (rc)
        disconnect(d);
    return rc;
}

static int nut_connect(struct nut_dev *d, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(d->host, d->service, &hints, &res);
    if (gai)
        return vg_err(err, errlen, -EHOSTUNREACH, "cannot connect to upsd %s: %s", d->where,
                      gai_strerror(gai));
    int rc = -EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai && rc; ai = ai->ai_next)
        rc = connect_one(d, ai);
    freeaddrinfo(res);
    if (rc)
        return vg_err(err, errlen, rc, "cannot connect to upsd %s: %s", d->where,
                      strerror(-rc));
    return 0;
}

static int send_line(struct nut_dev *d, const char *line, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(d->fd, line + sent, len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        int rc = errno == EAGAIN || errno == EINTR ? wait_fd(d, POLLOUT) : -errno;
        if (rc)
            return rc;
    }
    return 0;
}

/* The next line without its "\n" (and "\r"), NUL-terminated in out. */
static int read_line(struct nut_dev *d, char *out, size_t outlen)
{
    for (;;) {
        char *nl = memchr(d->in, '\n', d->n_in);
        if (nl) {
            size_t len = (size_t)(nl - d->in), used = len + 1;
            if (len && d->in[len - 1] == '\r')
                len--;
            if (len >= outlen)
                return -EPROTO;
            memcpy(out, d->in, len);
            out[len] = '\0';
            memmove(d->in, d->in + used, d->n_in - used);
            d->n_in -= used;
            return 0;
        }
        if (d->n_in == sizeof d->in)
            return -EPROTO; /* a line longer than upsd ever sends */
        ssize_t n = recv(d->fd, d->in + d->n_in, sizeof d->in - d->n_in, 0);
        if (n > 0) {
            d->n_in += (size_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        int rc = errno == EAGAIN || errno == EINTR ? wait_fd(d, POLLIN) : -errno;
        if (rc)
            return rc;
    }
}

/* Sends a command and reads the one-line answer. */
static int exchange(struct nut_dev *d, const char *cmd, size_t len, char *reply,
                    size_t replylen, char *err, size_t errlen)
{
    int rc = send_line(d, cmd, len);
    if (!rc)
        rc = read_line(d, reply, replylen);
    if (rc) {
        disconnect(d);
        return vg_err(err, errlen, rc, "upsd %s: %s", d->where,
                      rc == -EPROTO ? "reply line too long" : strerror(-rc));
    }
    return 0;
}

/* USERNAME and PASSWORD, when configured; the PASSWORD line is wiped. */
static int login(struct nut_dev *d, char *err, size_t errlen)
{
    const char *cmds[] = {"USERNAME", "PASSWORD"};
    const char *args[] = {d->username, d->password};
    char line[200], reply[NUT_LINE_MAX];
    int rc = 0;
    for (size_t i = 0; !rc && d->username && i < 2; i++) {
        int len = snprintf(line, sizeof line, "%s %s\n", cmds[i], args[i]);
        rc = exchange(d, line, (size_t)len, reply, sizeof reply, err, errlen);
        if (!rc && strcmp(reply, "OK") != 0) {
            disconnect(d);
            rc = vg_err(err, errlen, -EACCES, "upsd %s: %s refused: %.100s", d->where, cmds[i],
                        reply);
        }
    }
    sodium_memzero(line, sizeof line);
    return rc;
}

/* ---- reading variables ---- */

/* Unquotes "value" (\" and \\ escapes) from the end of a VAR line in place. */
static int unquote(char *s, char **out)
{
    if (*s != '"')
        return -EPROTO;
    char *w = s;
    for (char *r = s + 1; *r; r++) {
        if (*r == '"') {
            if (r[1])
                return -EPROTO;
            *w = '\0';
            *out = s;
            return 0;
        }
        if (*r == '\\' && r[1])
            r++;
        *w++ = *r;
    }
    return -EPROTO;
}

/* A value for point pi, or a rejection naming the variable. */
static void emit(struct vg_device *dev, struct vg_sink *sink, size_t pi, const char *var,
                 const char *text)
{
    const struct vg_point *p = &dev->points[pi];
    char reason[240];
    if (p->type == VG_ST_UPS_STATUS) {
        uint32_t bits;
        if (vg_ups_status_parse(text, &bits) == 0) {
            sink->value(sink, pi, (int64_t)vg_wall_ms(), (double)bits);
            return;
        }
        snprintf(reason, sizeof reason, "variable %s: '%.64s' is not a NUT status", var, text);
    } else {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (end != text && !*end && !errno && isfinite(v)) {
            sink->value(sink, pi, (int64_t)vg_wall_ms(), vg_point_value(p, v));
            return;
        }
        snprintf(reason, sizeof reason, "variable %s: '%.64s' is not a number", var, text);
    }
    sink->reject(sink, pi, reason);
}

/* An ERR answer to GET VAR: a rejection of the point (0) or a failed poll. */
static int answer_error(struct vg_device *dev, struct vg_sink *sink, size_t pi, const char *var,
                        const char *code, char *err, size_t errlen)
{
    struct nut_dev *d = dev->drv;
    char reason[240];
    if (!strcmp(code, "UNKNOWN-UPS"))
        return vg_err(err, errlen, -ENODEV, "upsd %s: unknown ups '%s'", d->where, d->ups);
    if (!strcmp(code, "DRIVER-NOT-CONNECTED"))
        return vg_err(err, errlen, -ENOTCONN, "upsd %s: the driver of ups '%s' is not running",
                      d->where, d->ups);
    if (!strcmp(code, "ACCESS-DENIED"))
        return vg_err(err, errlen, -EACCES, "upsd %s: access denied", d->where);
    if (!strcmp(code, "VAR-NOT-SUPPORTED"))
        snprintf(reason, sizeof reason, "variable %s: not supported by ups '%s'", var, d->ups);
    else if (!strcmp(code, "DATA-STALE"))
        snprintf(reason, sizeof reason,
                 "variable %s: data stale (upsd has nothing fresh from "
                 "the ups driver)",
                 var);
    else
        snprintf(reason, sizeof reason, "variable %s: upsd answered ERR %.64s", var, code);
    sink->reject(sink, pi, reason);
    return 0;
}

static int read_var(struct vg_device *dev, struct vg_sink *sink, size_t pi, char *err,
                    size_t errlen)
{
    struct nut_dev *d = dev->drv;
    const char *var = json_string_value(json_object_get(dev->points[pi].source, "variable"));
    char cmd[200], reply[NUT_LINE_MAX], prefix[200];
    int len = snprintf(cmd, sizeof cmd, "GET VAR %s %s\n", d->ups, var);
    int rc = exchange(d, cmd, (size_t)len, reply, sizeof reply, err, errlen);
    if (rc)
        return rc;
    if (!strncmp(reply, "ERR ", 4))
        return answer_error(dev, sink, pi, var, reply + 4, err, errlen);
    int n = snprintf(prefix, sizeof prefix, "VAR %s %s ", d->ups, var);
    char *value;
    if (strncmp(reply, prefix, (size_t)n) != 0 || unquote(reply + n, &value) != 0) {
        disconnect(d);
        return vg_err(err, errlen, -EPROTO, "upsd %s: unexpected answer to GET VAR %s: '%.80s'",
                      d->where, var, reply);
    }
    emit(dev, sink, pi, var, value);
    return 0;
}

static int nut_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct nut_dev *d = dev->drv;
    d->deadline_ms = vg_mono_ms() + dev->timeout_ms;
    int reused = d->fd >= 0, rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (d->fd < 0 && !(rc = nut_connect(d, err, errlen)))
            rc = login(d, err, errlen);
        if (!rc && dev->n_points)
            rc = read_var(dev, sink, 0, err, errlen);
        /* a connection that died between polls is reopened once at once */
        if (!(rc && reused && d->fd < 0))
            break;
        reused = 0;
    }
    for (size_t i = 1; !rc && i < dev->n_points; i++)
        rc = read_var(dev, sink, i, err, errlen);
    return rc;
}

static void nut_close(struct vg_device *dev)
{
    struct nut_dev *d = dev->drv;
    if (!d)
        return;
    if (d->fd >= 0)
        (void)send_line(d, "LOGOUT\n", 7);
    disconnect(d);
    free(d);
    dev->drv = NULL;
}

/* Checks the options and remembers where upsd is; connects at the first poll. */
static int nut_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct nut_options o;
    uint16_t port;
    char host[256];
    int rc = parse_options(dev->options, &o, err, errlen);
    if (!rc)
        rc = vg_drv_host_port(dev->address, NUT_DEFAULT_PORT, host, sizeof host, &port, err,
                              errlen);
    if (rc)
        return rc;
    struct nut_dev *d = vg_calloc(1, sizeof *d);
    d->fd = -1;
    d->ups = o.ups;
    d->username = o.username;
    d->password = o.password;
    snprintf(d->host, sizeof d->host, "%s", host);
    snprintf(d->service, sizeof d->service, "%u", port);
    snprintf(d->where, sizeof d->where, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    dev->drv = d;
    return 0;
}

/* never shown by the API, never logged (driver.h) */
static const char *const secret_options[] = {"password", NULL};

const struct vg_driver vg_drv_nut = {
    .name = "nut",
    .help = "Network UPS Tools: variables of a UPS from upsd (ups.status, battery.charge...)",
    .passive = 0,
    .secret_options = secret_options,
    .check = nut_check,
    .init = nut_init,
    .poll = nut_poll,
    .close = nut_close,
};

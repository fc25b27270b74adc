/*
 * drv_modbus.c - the "modbus" driver: Modbus TCP (via libmodbus) to PLCs,
 * BMS gateways, generator and CRAC controllers, power meters.
 *
 * Workload: a few to a few hundred points per device, read every few
 * seconds over one long-lived TCP connection. The points of a device are
 * grouped into as few read requests as the protocol allows (vg_mb_plan:
 * adjacent registers of one unit and table, at most 125 registers or 2000
 * bits per request, optionally spanning options.max_gap unread registers).
 *
 * Requests go out with modbus_send_raw_request and the replies are checked
 * here rather than by modbus_read_registers, because libmodbus folds a
 * short reply into a bare "invalid data": we want to say "register 300
 * (holding): short reply, 1 of 2 registers". A device that answers a
 * request with an exception or a short reply has answered: if the request
 * covered several points, each is read alone so one unmapped register only
 * costs its own points (driver.h: rejections name the point, the rest
 * still read). A transport failure (timeout, reset, a reply that is not a
 * reply to our request) closes the connection and fails the poll; the next
 * attempt reconnects, and a connection found dead at the first request of
 * a poll is reopened once at once (the peer restarted since last poll).
 *
 * Never: write to a device (no write function codes are ever built), or
 * store a value the device did not send (NaN and infinite floats are
 * rejected).
 */
#include "sense/drv_modbus.h"

#include <math.h>
#include <modbus/modbus.h>

#define MB_DEFAULT_PORT 502
#define MB_REFUSED      1 /* read_span: the device answered, but not with the values */

static const char *const table_names[] = {"holding", "input", "coil", "discrete"};
static const char *const format_names[] = {"u16", "s16", "u32", "s32", "f32", "u64"};
static const uint8_t table_fc[] = {0x03, 0x04, 0x01, 0x02};

const char *vg_mb_table_name(enum vg_mb_table t)
{
    return table_names[t];
}

static int is_bits(enum vg_mb_table t)
{
    return t == VG_MB_COIL || t == VG_MB_DISCRETE;
}

unsigned vg_mb_width(const struct vg_mb_source *s)
{
    static const unsigned words[] = {1, 1, 2, 2, 2, 4};
    return is_bits(s->table) ? 1 : words[s->format];
}

/* ---- checking spec.options and spec.source ---- */

/* A string field that must be one of names[]; *out keeps dflt when absent. */
static int opt_enum(const json_t *obj, const char *prefix, const char *key,
                    const char *const *names, size_t n_names, int *out, char *err,
                    size_t errlen)
{
    const char *s;
    int rc = vg_drv_opt_string(obj, prefix, key, 0, &s, err, errlen);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    char list[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < n_names; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    }
    return vg_err(err, errlen, -EINVAL, "%s.%s: '%.64s' is not one of %s", prefix, key, s,
                  list);
}

static const char *const word_orders[] = {"big", "little"};

int vg_mb_options_parse(const json_t *options, struct vg_mb_options *out, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"unit_id", "word_order", "max_gap", NULL};
    *out = (struct vg_mb_options){.unit = 1};
    int rc = vg_drv_check_keys(options, "options", "modbus", keys, err, errlen);
    long long n;
    int little = 0;
    if (!rc &&
        !(rc = vg_drv_opt_int(options, "options", "unit_id", 0, 0, 255, &n, err, errlen)))
        out->unit = (uint8_t)n;
    if (rc == -ENOENT)
        rc = 0;
    if (!rc && !(rc = vg_drv_opt_int(options, "options", "max_gap", 0, 0, VG_MB_MAX_REGS - 2,
                                     &n, err, errlen)))
        out->max_gap = (uint16_t)n;
    if (rc == -ENOENT)
        rc = 0;
    if (!rc)
        rc = opt_enum(options, "options", "word_order", word_orders, 2, &little, err, errlen);
    out->little = (uint8_t)little;
    return rc;
}

/* Checks that make sense only once table and format are known. */
static int source_consistent(const json_t *source, struct vg_mb_source *s, char *err,
                             size_t errlen)
{
    if (is_bits(s->table) && json_object_get(source, "format"))
        return vg_err(err, errlen, -EINVAL,
                      "source.format: not used with table %s (its points are single bits)",
                      table_names[s->table]);
    long long bit;
    unsigned n_bits = 16 * vg_mb_width(s);
    int rc = vg_drv_opt_int(source, "source", "bit", 0, 0, n_bits - 1, &bit, err, errlen);
    if (rc == -ENOENT)
        rc = 0;
    else if (!rc && (is_bits(s->table) || s->format == VG_MB_F32))
        return vg_err(err, errlen, -EINVAL, "source.bit: not used with %s %s",
                      is_bits(s->table) ? "table" : "format",
                      is_bits(s->table) ? table_names[s->table] : "f32");
    else if (!rc)
        s->bit = (int8_t)bit;
    if (!rc && s->reg + vg_mb_width(s) - 1 > 65535)
        return vg_err(err, errlen, -EINVAL,
                      "source.register: %u registers from %u go past register 65535",
                      vg_mb_width(s), s->reg);
    return rc;
}

int vg_mb_source_parse(const json_t *source, const struct vg_mb_options *opt,
                       struct vg_mb_source *out, char *err, size_t errlen)
{
    static const char *const keys[] = {"register",   "table", "format",
                                       "word_order", "bit",   "unit_id", NULL};
    *out = (struct vg_mb_source){.unit = opt->unit, .little = opt->little, .bit = -1};
    int rc = vg_drv_check_keys(source, "source", "modbus", keys, err, errlen);
    long long n;
    int table = VG_MB_HOLDING, format = VG_MB_U16, little = opt->little;
    if (!rc &&
        !(rc = vg_drv_opt_int(source, "source", "register", 1, 0, 65535, &n, err, errlen)))
        out->reg = (uint16_t)n;
    if (!rc && !(rc = vg_drv_opt_int(source, "source", "unit_id", 0, 0, 255, &n, err, errlen)))
        out->unit = (uint8_t)n;
    if (rc == -ENOENT)
        rc = 0;
    if (!rc)
        rc = opt_enum(source, "source", "table", table_names, VG_ARRAY_LEN(table_names), &table,
                      err, errlen);
    if (!rc)
        rc = opt_enum(source, "source", "format", format_names, VG_ARRAY_LEN(format_names),
                      &format, err, errlen);
    if (!rc)
        rc = opt_enum(source, "source", "word_order", word_orders, 2, &little, err, errlen);
    if (rc)
        return rc;
    out->table = (enum vg_mb_table)table;
    out->format = (enum vg_mb_format)format;
    out->little = (uint8_t)little;
    return source_consistent(source, out, err, errlen);
}

static int mb_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    struct vg_mb_options opt;
    struct vg_mb_source src;
    int rc = vg_mb_options_parse(options, &opt, err, errlen);
    if (!rc && source)
        rc = vg_mb_source_parse(source, &opt, &src, err, errlen);
    return rc;
}

/* ---- grouping and decoding ---- */

static int cmp_source(const void *a, const void *b, void *ctx)
{
    const struct vg_mb_source *src = ctx;
    const struct vg_mb_source *x = &src[*(const size_t *)a], *y = &src[*(const size_t *)b];
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    if (x->reg != y->reg)
        return x->reg < y->reg ? -1 : 1;
    return (int)vg_mb_width(x) - (int)vg_mb_width(y);
}

size_t vg_mb_plan(const struct vg_mb_source *src, size_t n, unsigned max_gap, size_t *order,
                  struct vg_mb_span *spans)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, cmp_source, (void *)src);
    size_t n_spans = 0;
    for (size_t k = 0; k < n; k++) {
        const struct vg_mb_source *s = &src[order[k]];
        uint32_t end = (uint32_t)s->reg + vg_mb_width(s); /* exclusive */
        struct vg_mb_span *cur = n_spans ? &spans[n_spans - 1] : NULL;
        if (cur && cur->unit == s->unit && cur->table == s->table) {
            uint32_t cur_end = (uint32_t)cur->start + cur->count;
            uint32_t new_end = end > cur_end ? end : cur_end;
            uint32_t limit = is_bits(s->table) ? VG_MB_MAX_BITS : VG_MB_MAX_REGS;
            if (s->reg <= cur_end + max_gap && new_end - cur->start <= limit) {
                cur->count = (uint16_t)(new_end - cur->start);
                cur->n_points++;
                continue;
            }
        }
        spans[n_spans++] =
            (struct vg_mb_span){s->unit, s->table, s->reg, (uint16_t)vg_mb_width(s), k, 1};
    }
    return n_spans;
}

int vg_mb_decode(const struct vg_mb_source *s, const uint16_t *words, double *raw, char *why,
                 size_t whylen)
{
    if (is_bits(s->table)) {
        *raw = words[0] ? 1 : 0;
        return 0;
    }
    unsigned w = vg_mb_width(s);
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v = (v << 16) | words[s->little ? w - 1 - i : i];
    if (s->bit >= 0) {
        *raw = (double)((v >> s->bit) & 1);
        return 0;
    }
    float f;
    uint32_t v32 = (uint32_t)v;
    switch (s->format) {
    case VG_MB_U16:
        *raw = (double)(uint16_t)v;
        break;
    case VG_MB_S16:
        *raw = (double)(int16_t)(uint16_t)v;
        break;
    case VG_MB_U32:
        *raw = (double)v32;
        break;
    case VG_MB_S32:
        *raw = (double)(int32_t)v32;
        break;
    case VG_MB_U64:
        *raw = (double)v;
        break;
    case VG_MB_F32:
        memcpy(&f, &v32, sizeof f);
        if (!isfinite(f))
            return vg_err(why, whylen, -EDOM, "f32 value is %s (0x%08x)",
                          isnan(f) ? "not a number" : "infinite", v32);
        *raw = f;
        break;
    }
    return 0;
}

/* ---- talking to the device ---- */

struct mb_dev {
    modbus_t *ctx;
    int connected;
    char where[300]; /* "host:port" for messages */
    struct vg_mb_options opt;
    struct vg_mb_source *src; /* one per point */
    size_t *order;
    struct vg_mb_span *spans;
    size_t n_spans;
};

static const char *exception_name(uint8_t code)
{
    static const char *const names[] = {
        NULL,
        "illegal function",
        "illegal data address",
        "illegal data value",
        "server device failure",
        "acknowledge",
        "server device busy",
        "negative acknowledge",
        "memory parity error",
        NULL,
        "gateway path unavailable",
        "gateway target device failed to respond",
    };
    return code < VG_ARRAY_LEN(names) && names[code] ? names[code] : "unknown exception";
}

/* Checks a reply PDU (function code onwards) to a read of count registers
 * or bits of table and unpacks it into words. 0, MB_REFUSED (exception or
 * wrong length: the device answered, why says how) or -EPROTO (not an
 * answer to this request). */
static int unpack_reply(enum vg_mb_table table, uint16_t count, const uint8_t *pdu, size_t len,
                        uint16_t *words, char *why, size_t whylen)
{
    uint8_t fc = table_fc[table];
    if (len >= 2 && pdu[0] == (fc | 0x80))
        return vg_err(why, whylen, MB_REFUSED, "%s", exception_name(pdu[1]));
    if (len < 2 || pdu[0] != fc || len != 2u + pdu[1])
        return vg_err(why, whylen, -EPROTO, "reply is not an answer to function %u", fc);
    unsigned n_bytes = pdu[1];
    const uint8_t *data = pdu + 2;
    if (is_bits(table)) {
        unsigned need = (count + 7u) / 8u;
        if (n_bytes != need)
            return vg_err(why, whylen, MB_REFUSED, "%s reply, %u of %u bytes",
                          n_bytes < need ? "short" : "long", n_bytes, need);
        for (unsigned i = 0; i < count; i++)
            words[i] = (data[i / 8] >> (i % 8)) & 1;
        return 0;
    }
    if (n_bytes != 2u * count)
        return vg_err(why, whylen, MB_REFUSED, "%s reply, %u%s of %u registers",
                      n_bytes < 2u * count ? "short" : "long", n_bytes / 2,
                      n_bytes % 2 ? ".5" : "", count);
    for (unsigned i = 0; i < count; i++)
        words[i] = (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
    return 0;
}

/* The errno-style code of a libmodbus failure (its own codes are protocol errors). */
static int mb_errno(int e)
{
    return e > 0 && e < MODBUS_ENOBASE ? -e : -EPROTO;
}

/* One read request; 0, MB_REFUSED with why, or a negative transport error
 * with why (the connection is then closed). */
static int read_span(struct mb_dev *d, uint8_t unit, enum vg_mb_table table, uint16_t start,
                     uint16_t count, uint16_t *words, char *why, size_t whylen)
{
    uint8_t req[6] = {unit,           table_fc[table],       (uint8_t)(start >> 8),
                      (uint8_t)start, (uint8_t)(count >> 8), (uint8_t)count};
    uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    int rc, len = -1;
    if (modbus_send_raw_request(d->ctx, req, sizeof req) < 0 ||
        (len = modbus_receive_confirmation(d->ctx, rsp)) < 0) {
        rc = vg_err(why, whylen, mb_errno(errno), "%s", modbus_strerror(errno));
    } else if (len < 8 || rsp[6] != unit) {
        rc = vg_err(why, whylen, -EPROTO, "reply from unit %u to a request to unit %u",
                    len < 8 ? 0 : rsp[6], unit);
    } else {
        rc = unpack_reply(table, count, rsp + 7, (size_t)len - 7, words, why, whylen);
    }
    if (rc < 0) {
        modbus_close(d->ctx);
        d->connected = 0;
    }
    return rc;
}

static int mb_connect(struct mb_dev *d, char *err, size_t errlen)
{
    if (d->connected)
        return 0;
    if (modbus_connect(d->ctx) < 0) {
        int e = errno;
        modbus_close(d->ctx);
        return vg_err(err, errlen, mb_errno(e), "cannot connect to modbus %s: %s", d->where,
                      modbus_strerror(e));
    }
    d->connected = 1;
    return 0;
}

/* Hands the value of point pi (its registers at words) to the sink. */
static void emit(struct vg_device *dev, struct vg_sink *sink, size_t pi, const uint16_t *words,
                 int64_t time_ms)
{
    struct mb_dev *d = dev->drv;
    const struct vg_mb_source *s = &d->src[pi];
    char why[160], reason[240];
    double raw;
    if (vg_mb_decode(s, words, &raw, why, sizeof why)) {
        snprintf(reason, sizeof reason, "register %u (%s): %s", s->reg, table_names[s->table],
                 why);
        sink->reject(sink, pi, reason);
        return;
    }
    sink->value(sink, pi, time_ms, vg_point_value(&dev->points[pi], raw));
}

/* The device answered point pi's request with an exception or a short reply. */
static void reject_refused(struct vg_device *dev, struct vg_sink *sink, size_t pi,
                           const char *why)
{
    const struct vg_mb_source *s = &((struct mb_dev *)dev->drv)->src[pi];
    char reason[240];
    snprintf(reason, sizeof reason, "register %u (%s): %s", s->reg, table_names[s->table], why);
    sink->reject(sink, pi, reason);
}

/* Reads one point alone (after its group was refused). */
static int read_alone(struct vg_device *dev, struct vg_sink *sink, size_t pi, char *err,
                      size_t errlen)
{
    struct mb_dev *d = dev->drv;
    const struct vg_mb_source *s = &d->src[pi];
    uint16_t words[4];
    char why[160];
    int rc = read_span(d, s->unit, s->table, s->reg, (uint16_t)vg_mb_width(s), words, why,
                       sizeof why);
    if (rc < 0)
        return vg_err(err, errlen, rc, "modbus %s: read of register %u (%s) failed: %s",
                      d->where, s->reg, table_names[s->table], why);
    if (rc == MB_REFUSED) {
        reject_refused(dev, sink, pi, why);
        return 0;
    }
    emit(dev, sink, pi, words, (int64_t)vg_wall_ms());
    return 0;
}

/* Reads one request's worth of points. */
static int read_group(struct vg_device *dev, struct vg_sink *sink, const struct vg_mb_span *sp,
                      char *err, size_t errlen)
{
    struct mb_dev *d = dev->drv;
    uint16_t words[VG_MB_MAX_BITS];
    char why[160];
    int rc = read_span(d, sp->unit, sp->table, sp->start, sp->count, words, why, sizeof why);
    if (rc < 0)
        return vg_err(err, errlen, rc, "modbus %s: read of %u %s from %u (%s) failed: %s",
                      d->where, sp->count, is_bits(sp->table) ? "bits" : "registers", sp->start,
                      table_names[sp->table], why);
    if (rc == MB_REFUSED && sp->n_points == 1) {
        reject_refused(dev, sink, d->order[sp->first], why);
        return 0;
    }
    int64_t now = (int64_t)vg_wall_ms();
    for (size_t k = sp->first; k < sp->first + sp->n_points; k++) {
        size_t pi = d->order[k];
        if (rc == MB_REFUSED) {
            int rc2 = read_alone(dev, sink, pi, err, errlen);
            if (rc2)
                return rc2;
        } else {
            emit(dev, sink, pi, words + (d->src[pi].reg - sp->start), now);
        }
    }
    return 0;
}

static int mb_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct mb_dev *d = dev->drv;
    int reused = d->connected;
    int rc = mb_connect(d, err, errlen);
    for (size_t i = 0; !rc && i < d->n_spans; i++) {
        rc = read_group(dev, sink, &d->spans[i], err, errlen);
        if (rc && i == 0 && reused) {
            /* the connection died between polls: reopen it once */
            reused = 0;
            rc = mb_connect(d, err, errlen);
            if (!rc)
                rc = read_group(dev, sink, &d->spans[i], err, errlen);
        }
    }
    return rc;
}

static void mb_close(struct vg_device *dev)
{
    struct mb_dev *d = dev->drv;
    if (!d)
        return;
    if (d->ctx) {
        modbus_close(d->ctx);
        modbus_free(d->ctx);
    }
    free(d->src);
    free(d->order);
    free(d->spans);
    free(d);
    dev->drv = NULL;
}

/* Parses every point and plans the requests; connects at the first poll. */
static int mb_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    char host[256], service[8];
    uint16_t port;
    int rc =
        vg_drv_host_port(dev->address, MB_DEFAULT_PORT, host, sizeof host, &port, err, errlen);
    if (rc)
        return rc;
    struct mb_dev *d = vg_calloc(1, sizeof *d);
    dev->drv = d;
    snprintf(d->where, sizeof d->where, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    d->src = vg_calloc(dev->n_points + 1, sizeof *d->src);
    d->order = vg_calloc(dev->n_points + 1, sizeof *d->order);
    d->spans = vg_calloc(dev->n_points + 1, sizeof *d->spans);
    rc = vg_mb_options_parse(dev->options, &d->opt, err, errlen);
    for (size_t i = 0; !rc && i < dev->n_points; i++)
        rc = vg_mb_source_parse(dev->points[i].source, &d->opt, &d->src[i], err, errlen);
    if (rc)
        goto fail;
    d->n_spans = vg_mb_plan(d->src, dev->n_points, d->opt.max_gap, d->order, d->spans);
    snprintf(service, sizeof service, "%u", port);
    d->ctx = modbus_new_tcp_pi(host, service);
    if (!d->ctx) {
        rc = vg_err(err, errlen, mb_errno(errno), "modbus %s: %s", d->where,
                    modbus_strerror(errno));
        goto fail;
    }
    uint32_t ms = dev->timeout_ms ? dev->timeout_ms : 1;
    modbus_set_response_timeout(d->ctx, ms / 1000, (ms % 1000) * 1000);
    modbus_set_byte_timeout(d->ctx, ms / 1000, (ms % 1000) * 1000);
    return 0;
fail:
    mb_close(dev);
    return rc;
}

const struct vg_driver vg_drv_modbus = {
    .name = "modbus",
    .help =
        "Modbus TCP: holding/input registers (u16 s16 u32 s32 f32 u64), coils, discrete inputs",
    .passive = 0,
    .check = mb_check,
    .init = mb_init,
    .poll = mb_poll,
    .close = mb_close,
};

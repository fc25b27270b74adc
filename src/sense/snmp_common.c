/*
 * snmp_common.c - numeric OIDs, SNMP values as readings, spec.source checks
 * and the SNMPv1/v2c trap decoder (snmp_common.h).
 *
 * The decoder is a bounded BER reader (X.690 definite lengths only): every
 * TLV is checked against what is left of its enclosing one before it is
 * read, lengths above 2^32 and indefinite lengths are refused, integers
 * wider than 64 bits and OIDs longer than VG_SNMP_OID_MAX are refused. It
 * keeps pointers into the caller's buffer and allocates nothing, so a
 * hostile datagram costs at most one pass over its bytes.
 */
#include "sense/snmp_common.h"

#include <math.h>

#include "sense/driver.h"

/* ---- OIDs ---- */

int vg_snmp_oid_parse(const char *text, struct vg_snmp_oid *out)
{
    const char *p = text;
    out->len = 0;
    if (*p == '.')
        p++;
    while (*p) {
        if (*p < '0' || *p > '9' || out->len == VG_SNMP_OID_MAX)
            return -EINVAL;
        uint64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            n = n * 10 + (uint64_t)(*p++ - '0');
            if (n > UINT32_MAX)
                return -EINVAL;
        }
        out->sub[out->len++] = (uint32_t)n;
        if (*p == '.' && p[1] != '\0')
            p++;
        else if (*p)
            return -EINVAL;
    }
    if (out->len < 2 || out->sub[0] > 2 || (out->sub[0] < 2 && out->sub[1] > 39))
        return -EINVAL;
    return 0;
}

void vg_snmp_oid_format(const struct vg_snmp_oid *oid, char *buf, size_t buflen)
{
    size_t used = 0;
    if (!buflen)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < oid->len && used < buflen; i++) {
        int n = snprintf(buf + used, buflen - used, i ? ".%u" : "%u", (unsigned)oid->sub[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int vg_snmp_oid_equal(const struct vg_snmp_oid *a, const struct vg_snmp_oid *b)
{
    return a->len == b->len && !memcmp(a->sub, b->sub, a->len * sizeof a->sub[0]);
}

/* ---- values ---- */

static const char *type_name(int tag)
{
    switch (tag) {
    case VG_SNMP_OBJID:
        return "OBJECT IDENTIFIER";
    case VG_SNMP_IPADDR:
        return "IpAddress";
    case VG_SNMP_OPAQUE:
        return "Opaque";
    default:
        return NULL;
    }
}

/* The string as text for messages and map keys: printable ASCII only. */
static int string_text(const struct vg_snmp_value *v, char *text, size_t textlen, char *why,
                       size_t whylen)
{
    if (v->len >= textlen || v->len > 64)
        return vg_err(why, whylen, -EINVAL, "a string of %zu bytes is not a number", v->len);
    for (size_t i = 0; i < v->len; i++)
        if (v->str[i] < 0x20 || v->str[i] > 0x7e)
            return vg_err(why, whylen, -EINVAL, "a binary string of %zu bytes is not a number",
                          v->len);
    memcpy(text, v->str, v->len);
    text[v->len] = '\0';
    return 0;
}

static int parse_decimal(const char *text, double *out)
{
    if (strspn(text, " \t0123456789.+-eE") != strlen(text))
        return -EINVAL;
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    if (end == text || errno)
        return -EINVAL;
    end += strspn(end, " \t");
    if (*end || !isfinite(d))
        return -EINVAL;
    *out = d;
    return 0;
}

static int exception_reason(int tag, char *why, size_t whylen)
{
    switch (tag) {
    case VG_SNMP_NO_SUCH_OBJECT:
        return vg_err(why, whylen, -EINVAL, "no such object");
    case VG_SNMP_NO_SUCH_INSTANCE:
        return vg_err(why, whylen, -EINVAL, "no such instance");
    case VG_SNMP_END_OF_MIB:
        return vg_err(why, whylen, -EINVAL, "end of MIB view");
    case VG_SNMP_NULL:
        return vg_err(why, whylen, -EINVAL, "no value (NULL)");
    }
    const char *name = type_name(tag);
    if (name)
        return vg_err(why, whylen, -EINVAL, "type %s is not a reading", name);
    return vg_err(why, whylen, -EINVAL, "type 0x%02x is not a reading", (unsigned)tag);
}

int vg_snmp_value_reading(const struct vg_snmp_value *v, const json_t *map, double *out,
                          char *why, size_t whylen)
{
    char text[72];
    double raw;
    switch (v->tag) {
    case VG_SNMP_INTEGER:
        raw = (double)v->i;
        snprintf(text, sizeof text, "%lld", (long long)v->i);
        break;
    case VG_SNMP_COUNTER32:
    case VG_SNMP_GAUGE32:
    case VG_SNMP_TIMETICKS:
    case VG_SNMP_COUNTER64:
        raw = (double)v->u;
        snprintf(text, sizeof text, "%llu", (unsigned long long)v->u);
        break;
    case VG_SNMP_FLOAT:
    case VG_SNMP_DOUBLE:
        if (!isfinite(v->d))
            return vg_err(why, whylen, -EINVAL, "a float that is not finite");
        raw = v->d;
        snprintf(text, sizeof text, "%g", v->d);
        break;
    case VG_SNMP_OCTETS: {
        int rc = string_text(v, text, sizeof text, why, whylen);
        if (rc)
            return rc;
        if (!map && parse_decimal(text, &raw))
            return vg_err(why, whylen, -EINVAL, "'%s' is not a number", text);
        break;
    }
    default:
        return exception_reason(v->tag, why, whylen);
    }
    if (map) {
        const json_t *n = json_object_get(map, text);
        if (!json_is_number(n))
            return vg_err(why, whylen, -EINVAL, "'%s' is not in source.map", text);
        raw = json_number_value(n);
    }
    *out = raw;
    return 0;
}

/* ---- checks ---- */


static int check_map(const json_t *map, char *err, size_t errlen)
{
    if (!json_is_object(map) || !json_object_size(map))
        return vg_err(err, errlen, -EINVAL,
                      "source.map: expected an object of value-string: number");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)map, key, v)
    {
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return vg_err(err, errlen, -EINVAL, "source.map.%.64s: expected a number", key);
    }
    return 0;
}

static int check_oid_field(const json_t *source, const char *key, int required,
                           struct vg_snmp_oid *oid, char *err, size_t errlen)
{
    const char *text;
    int rc = vg_drv_opt_string(source, "source", key, required, &text, err, errlen);
    if (rc)
        return rc;
    if (vg_snmp_oid_parse(text, oid))
        return vg_err(err, errlen, -EINVAL, "source.%s: '%.64s' is not a numeric OID", key,
                      text);
    return 0;
}

int vg_snmp_check_source(const json_t *source, const char *driver, int allow_table, char *err,
                         size_t errlen)
{
    static const char *const with_table[] = {"oid", "table", "map", NULL};
    static const char *const without_table[] = {"oid", "map", NULL};
    int rc = vg_drv_check_keys(source, "source", driver,
                                allow_table ? with_table : without_table, err, errlen);
    if (rc)
        return rc;
    struct vg_snmp_oid oid, table;
    rc = check_oid_field(source, "oid", 1, &oid, err, errlen);
    if (rc)
        return rc;
    const json_t *map = json_object_get(source, "map");
    if (map && (rc = check_map(map, err, errlen)))
        return rc;
    rc = allow_table ? check_oid_field(source, "table", 0, &table, err, errlen) : -ENOENT;
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    if (table.len >= oid.len || memcmp(table.sub, oid.sub, table.len * sizeof oid.sub[0]))
        return vg_err(err, errlen, -EINVAL,
                      "source.table: '%.64s' is not a subtree holding source.oid '%.64s'",
                      json_string_value(json_object_get(source, "table")),
                      json_string_value(json_object_get(source, "oid")));
    return 0;
}

/* ---- the trap decoder ---- */

struct ber {
    const uint8_t *p;
    size_t left;
};

enum { TAG_SEQUENCE = 0x30, TAG_TRAP_V1 = 0xa4, TAG_INFORM = 0xa6, TAG_TRAP_V2 = 0xa7 };

/* Reads one TLV of b into *content; -EPROTO if it does not fit. */
static int ber_tlv(struct ber *b, int *tag, struct ber *content)
{
    if (b->left < 2 || (b->p[0] & 0x1f) == 0x1f)
        return -EPROTO;
    size_t n = b->p[1], hdr = 2;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 4 || b->left < 2 + k)
            return -EPROTO;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = (n << 8) | b->p[2 + i];
        hdr += k;
    }
    if (n > b->left - hdr)
        return -EPROTO;
    *tag = b->p[0];
    content->p = b->p + hdr;
    content->left = n;
    b->p += hdr + n;
    b->left -= hdr + n;
    return 0;
}

static int ber_expect(struct ber *b, int want, struct ber *content)
{
    int tag;
    int rc = ber_tlv(b, &tag, content);
    return rc ? rc : tag == want ? 0 : -EPROTO;
}

static int ber_int(const struct ber *c, int64_t *out)
{
    if (c->left < 1 || c->left > 8)
        return -EPROTO;
    uint64_t v = c->p[0] & 0x80 ? UINT64_MAX : 0;
    for (size_t i = 0; i < c->left; i++)
        v = (v << 8) | c->p[i];
    *out = (int64_t)v;
    return 0;
}

static int ber_uint(const struct ber *c, uint64_t max, uint64_t *out)
{
    if (c->left < 1 || c->left > 9 || (c->left == 9 && c->p[0] != 0))
        return -EPROTO;
    uint64_t v = 0;
    for (size_t i = 0; i < c->left; i++)
        v = (v << 8) | c->p[i];
    if (v > max)
        return -EPROTO;
    *out = v;
    return 0;
}

static int ber_oid(const struct ber *c, struct vg_snmp_oid *out)
{
    out->len = 0;
    if (c->left < 1)
        return -EPROTO;
    for (size_t i = 0; i < c->left;) {
        uint64_t v = 0;
        do {
            if (i == c->left || v > (UINT32_MAX >> 7))
                return -EPROTO;
            v = (v << 7) | (c->p[i] & 0x7f);
        } while (c->p[i++] & 0x80);
        if (out->len == 0) { /* the first byte holds two sub-identifiers */
            out->sub[0] = v < 80 ? (uint32_t)(v / 40) : 2;
            v -= out->sub[0] * 40u;
            out->len = 1;
        }
        if (out->len == VG_SNMP_OID_MAX || v > UINT32_MAX)
            return -EPROTO;
        out->sub[out->len++] = (uint32_t)v;
    }
    return 0;
}

/* net-snmp's Opaque float / double: an Opaque holding 9f 78 04 <float>. */
static void ber_opaque(const struct ber *c, struct vg_snmp_value *v)
{
    const uint8_t *p = c->p;
    if (c->left == 7 && p[0] == 0x9f && p[1] == 0x78 && p[2] == 4) {
        uint32_t bits =
            (uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
        float f;
        memcpy(&f, &bits, sizeof f);
        v->tag = VG_SNMP_FLOAT;
        v->d = f;
    } else if (c->left == 11 && p[0] == 0x9f && p[1] == 0x79 && p[2] == 8) {
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = (bits << 8) | p[3 + i];
        memcpy(&v->d, &bits, sizeof v->d);
        v->tag = VG_SNMP_DOUBLE;
    }
}

static int ber_value(int tag, const struct ber *c, struct vg_snmp_varbind *vb)
{
    struct vg_snmp_value *v = &vb->value;
    memset(v, 0, sizeof *v);
    v->tag = tag;
    switch (tag) {
    case VG_SNMP_INTEGER:
        return ber_int(c, &v->i);
    case VG_SNMP_COUNTER32:
    case VG_SNMP_GAUGE32:
    case VG_SNMP_TIMETICKS:
        return ber_uint(c, UINT32_MAX, &v->u);
    case VG_SNMP_COUNTER64:
        return ber_uint(c, UINT64_MAX, &v->u);
    case VG_SNMP_OCTETS:
    case VG_SNMP_IPADDR:
        v->str = c->p;
        v->len = c->left;
        return 0;
    case VG_SNMP_OBJID:
        v->oid = &vb->oid_value;
        return ber_oid(c, &vb->oid_value);
    case VG_SNMP_OPAQUE:
        ber_opaque(c, v);
        return 0;
    default: /* NULL, the exceptions, or a type we have no use for */
        return 0;
    }
}

static const struct vg_snmp_oid sys_uptime = {{1, 3, 6, 1, 2, 1, 1, 3, 0}, 9};
static const struct vg_snmp_oid snmp_trap_oid = {{1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0}, 11};

static int parse_varbinds(struct ber *pdu, struct vg_snmp_trap *trap, int *have_trap_oid,
                          char *why, size_t whylen)
{
    struct ber list, seq, c;
    if (ber_expect(pdu, TAG_SEQUENCE, &list))
        return vg_err(why, whylen, -EPROTO, "malformed varbind list");
    while (list.left) {
        struct vg_snmp_varbind *vb = &trap->vb[trap->n_vb];
        int tag;
        if (trap->n_vb == VG_SNMP_TRAP_MAX_VARBINDS)
            return vg_err(why, whylen, -EPROTO, "more than %d varbinds",
                          VG_SNMP_TRAP_MAX_VARBINDS);
        if (ber_expect(&list, TAG_SEQUENCE, &seq) || ber_expect(&seq, VG_SNMP_OBJID, &c) ||
            ber_oid(&c, &vb->name) || ber_tlv(&seq, &tag, &c) || ber_value(tag, &c, vb))
            return vg_err(why, whylen, -EPROTO, "malformed varbind %zu", trap->n_vb + 1);
        if (vg_snmp_oid_equal(&vb->name, &sys_uptime))
            continue;
        if (vg_snmp_oid_equal(&vb->name, &snmp_trap_oid)) {
            if (tag != VG_SNMP_OBJID)
                return vg_err(why, whylen, -EPROTO, "snmpTrapOID.0 is not an OID");
            trap->trap_oid = vb->oid_value;
            *have_trap_oid = 1;
            continue;
        }
        trap->n_vb++;
    }
    return 0;
}

/* SNMPv1 Trap-PDU fields before the varbinds; the trap OID per RFC 3584
 * section 3.1 (enterprise.0.specific, or snmpTraps.(generic+1)). */
static int parse_v1_header(struct ber *pdu, struct vg_snmp_trap *trap, char *why, size_t whylen)
{
    struct ber c;
    int64_t generic, specific;
    if (ber_expect(pdu, VG_SNMP_OBJID, &c) || ber_oid(&c, &trap->trap_oid) ||
        ber_expect(pdu, VG_SNMP_IPADDR, &c) || ber_expect(pdu, VG_SNMP_INTEGER, &c) ||
        ber_int(&c, &generic) || ber_expect(pdu, VG_SNMP_INTEGER, &c) ||
        ber_int(&c, &specific) || ber_expect(pdu, VG_SNMP_TIMETICKS, &c))
        return vg_err(why, whylen, -EPROTO, "malformed SNMPv1 trap header");
    if (generic < 0 || generic > 6 || specific < 0 || specific > UINT32_MAX)
        return vg_err(why, whylen, -EPROTO, "SNMPv1 trap type out of range");
    if (generic == 6) {
        if (trap->trap_oid.len + 2 > VG_SNMP_OID_MAX)
            return vg_err(why, whylen, -EPROTO, "enterprise OID too long");
        trap->trap_oid.sub[trap->trap_oid.len++] = 0;
        trap->trap_oid.sub[trap->trap_oid.len++] = (uint32_t)specific;
    } else {
        static const struct vg_snmp_oid snmp_traps = {{1, 3, 6, 1, 6, 3, 1, 1, 5, 0}, 10};
        trap->trap_oid = snmp_traps;
        trap->trap_oid.sub[9] = (uint32_t)generic + 1;
    }
    return 0;
}

static int parse_pdu(struct ber *msg, struct vg_snmp_trap *trap, char *why, size_t whylen)
{
    struct ber pdu, c;
    int tag;
    if (ber_tlv(msg, &tag, &pdu))
        return vg_err(why, whylen, -EPROTO, "truncated PDU");
    if (tag == TAG_INFORM)
        return vg_err(why, whylen, -EPROTO, "inform requests are not accepted (send traps)");
    if (tag != (trap->version ? TAG_TRAP_V2 : TAG_TRAP_V1))
        return vg_err(why, whylen, -EPROTO, "not a trap PDU (tag 0x%02x)", (unsigned)tag);
    int have_trap_oid = !trap->version;
    if (!trap->version) {
        int rc = parse_v1_header(&pdu, trap, why, whylen);
        if (rc)
            return rc;
    } else {
        for (int i = 0; i < 3; i++) /* request-id, error-status, error-index */
            if (ber_expect(&pdu, VG_SNMP_INTEGER, &c))
                return vg_err(why, whylen, -EPROTO, "malformed SNMPv2 trap header");
    }
    int rc = parse_varbinds(&pdu, trap, &have_trap_oid, why, whylen);
    if (!rc && !have_trap_oid)
        return vg_err(why, whylen, -EPROTO, "no snmpTrapOID.0 varbind");
    return rc;
}

int vg_snmp_trap_parse(const uint8_t *msg, size_t len, struct vg_snmp_trap *trap, char *why,
                       size_t whylen)
{
    struct ber all = {msg, len}, body, c;
    int64_t version;
    trap->n_vb = 0;
    trap->trap_oid.len = 0;
    if (ber_expect(&all, TAG_SEQUENCE, &body))
        return vg_err(why, whylen, -EPROTO, "not an SNMP message (truncated or no SEQUENCE)");
    if (ber_expect(&body, VG_SNMP_INTEGER, &c) || ber_int(&c, &version))
        return vg_err(why, whylen, -EPROTO, "no SNMP version");
    if (version == 3)
        return vg_err(why, whylen, -EPROTO, "SNMPv3 messages are not accepted");
    if (version != 0 && version != 1)
        return vg_err(why, whylen, -EPROTO, "unknown SNMP version %lld", (long long)version);
    trap->version = (int)version;
    if (ber_expect(&body, VG_SNMP_OCTETS, &c))
        return vg_err(why, whylen, -EPROTO, "no community");
    trap->community = c.p;
    trap->community_len = c.left;
    return parse_pdu(&body, trap, why, whylen);
}

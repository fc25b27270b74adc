/*
 * snmp_common.h - what the snmp (polling) and snmp-trap (listening) drivers
 * share: numeric OIDs, turning an SNMP value into a reading, the checks of
 * spec.source, and a BER decoder for SNMPv1/v2c trap messages.
 *
 * Nothing here uses net-snmp: the trap decoder reads hostile UDP payloads
 * and must stay small enough to read in one sitting and to fuzz on its own
 * (fuzz/fuzz_snmp_trap.c). It never reads outside the buffer it is given,
 * never allocates, and refuses what it does not understand with a reason.
 */
#ifndef VG_SNMP_COMMON_H
#define VG_SNMP_COMMON_H

#include <jansson.h>

#include "core/vg.h"

#define VG_SNMP_OID_MAX 128 /* sub-identifiers, RFC 2578 section 3.5 */

struct vg_snmp_oid {
    uint32_t sub[VG_SNMP_OID_MAX];
    size_t len;
};

/* BER tags of the values we see (net-snmp's ASN_* and SNMP_* agree). */
enum {
    VG_SNMP_INTEGER = 0x02,
    VG_SNMP_OCTETS = 0x04,
    VG_SNMP_NULL = 0x05,
    VG_SNMP_OBJID = 0x06,
    VG_SNMP_IPADDR = 0x40,
    VG_SNMP_COUNTER32 = 0x41,
    VG_SNMP_GAUGE32 = 0x42,
    VG_SNMP_TIMETICKS = 0x43,
    VG_SNMP_OPAQUE = 0x44,
    VG_SNMP_COUNTER64 = 0x46,
    VG_SNMP_FLOAT = 0x78,  /* net-snmp's Opaque-wrapped float */
    VG_SNMP_DOUBLE = 0x79, /* and double */
    VG_SNMP_NO_SUCH_OBJECT = 0x80,
    VG_SNMP_NO_SUCH_INSTANCE = 0x81,
    VG_SNMP_END_OF_MIB = 0x82,
};

/* One value as received. str points into the message (or net-snmp's
 * variable) and is not NUL-terminated; valid as long as that is. */
struct vg_snmp_value {
    int tag;
    int64_t i;  /* INTEGER */
    uint64_t u; /* Counter32/64, Gauge32, TimeTicks */
    double d;   /* FLOAT, DOUBLE */
    const uint8_t *str;
    size_t len;              /* OCTETS */
    struct vg_snmp_oid *oid; /* OBJID, when the decoder was given room for it */
};

/* Parses "1.3.6.1.4.1.99999.1.1.0" (a leading dot is allowed): decimal
 * sub-identifiers below 2^32, at least two, first 0..2. -EINVAL if not. */
int vg_snmp_oid_parse(const char *text, struct vg_snmp_oid *out);

/* "1.3.6.1..." into buf (truncated to fit, always NUL-terminated). */
void vg_snmp_oid_format(const struct vg_snmp_oid *oid, char *buf, size_t buflen);

int vg_snmp_oid_equal(const struct vg_snmp_oid *a, const struct vg_snmp_oid *b);

/* The reading a value stands for, before scale and offset. map is
 * spec.source.map or NULL: with a map, the value's text (a string, or an
 * integer in decimal) must be one of its keys and the number there is the
 * reading. Otherwise numbers are taken as they are and a string must be a
 * decimal number ("23.5", " -4 "). -EINVAL with the reason in why
 * ("no such object", "'n/a' is not a number") for anything else. */
int vg_snmp_value_reading(const struct vg_snmp_value *v, const json_t *map, double *out,
                          char *why, size_t whylen);

/* Checks spec.source for a driver: oid required and numeric, map an object
 * of numbers, table (if allow_table) numeric and a prefix of oid; any other
 * key is refused. Messages start with "source.<key>". */
int vg_snmp_check_source(const json_t *source, const char *driver, int allow_table, char *err,
                         size_t errlen);

#define VG_SNMP_TRAP_MAX_VARBINDS 64

struct vg_snmp_varbind {
    struct vg_snmp_oid name;
    struct vg_snmp_value value;
    struct vg_snmp_oid oid_value; /* value.oid points here for OBJID values */
};

struct vg_snmp_trap {
    int version;              /* 0 SNMPv1, 1 SNMPv2c */
    const uint8_t *community; /* into the message */
    size_t community_len;
    struct vg_snmp_oid trap_oid; /* snmpTrapOID.0, or RFC 3584's form of a v1 trap */
    struct vg_snmp_varbind vb[VG_SNMP_TRAP_MAX_VARBINDS];
    size_t n_vb; /* sysUpTime.0 and snmpTrapOID.0 not included */
};

/* Decodes one UDP payload holding an SNMPv1 Trap-PDU or an SNMPv2c
 * SNMPv2-Trap-PDU. The trap borrows from msg. -EPROTO with a reason
 * ("truncated", "not a trap PDU (tag 0xa0)", "SNMPv3 messages are not
 * accepted") for anything else. */
int vg_snmp_trap_parse(const uint8_t *msg, size_t len, struct vg_snmp_trap *trap, char *why,
                       size_t whylen);

#endif

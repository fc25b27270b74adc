/*
 * fuzz_snmp_trap.c - arbitrary bytes as a UDP datagram on the snmp-trap
 * listener: the decoder must never read outside the datagram, and what it
 * accepts must hold together (varbind count in bounds, strings inside the
 * datagram, every value turned into a reading or refused with a reason).
 */
#include "sense/snmp_common.h"

static struct vg_snmp_trap trap;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    if (vg_snmp_trap_parse(data, size, &trap, why, sizeof why) != 0)
        return 0;
    if (trap.n_vb > VG_SNMP_TRAP_MAX_VARBINDS || trap.trap_oid.len > VG_SNMP_OID_MAX)
        VG_BUG("trap decoder overran its arrays");
    if (trap.community < data || trap.community + trap.community_len > data + size)
        VG_BUG("community outside the datagram");
    for (size_t i = 0; i < trap.n_vb; i++) {
        const struct vg_snmp_value *v = &trap.vb[i].value;
        if (v->str && (v->str < data || v->str + v->len > data + size))
            VG_BUG("string value outside the datagram");
        double reading;
        if (vg_snmp_value_reading(v, NULL, &reading, why, sizeof why) != 0 && !why[0])
            VG_BUG("value refused without a reason");
    }
    return 0;
}

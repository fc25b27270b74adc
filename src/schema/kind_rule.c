/* placeholder until the rule engine lands: replaced by src/rules' owner */
#include "schema/schema.h"

static const struct vg_field rule_fields[] = {
    {"sensor", VG_F_NAME, 0, NULL, 0, 0, "sensor the rule watches"},
    {.name = NULL},
};

const struct vg_kind vg_kind_rule = {"Rule", "an alert rule", rule_fields, NULL};

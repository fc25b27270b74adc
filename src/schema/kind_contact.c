/*
 * kind_contact.c - the Contact kind: someone outside the team an incident
 * may need, such as the fuel supplier of the generators or the landlord's
 * facility desk, reached the same ways as a Person (contact_methods.c)
 * with a message written for them rather than for an engineer.
 */
#include "schema/contact_methods.h"

static const struct vg_field contact_fields[] = {
    {"organisation", VG_F_STRING, 0, NULL, 0, 128, "the company or body the contact is at"},
    {"contact_methods", VG_F_LIST, 1, NULL, 0, VG_CONTACT_METHODS_MAX,
     "list of {name, type: webhook|email|exec, url, format, routing_key, address, command}"},
    {"message", VG_F_STRING, 0, NULL, 0, 2048,
     "what they are sent about an incident, a template (docs/oncall.md)"},
    {.name = NULL},
};

static int contact_check(const json_t *spec, char *err, size_t errlen, char *field,
                         size_t fieldlen)
{
    if (json_array_size(json_object_get(spec, "contact_methods")) == 0)
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.contact_methods",
                              "must not be empty: a contact nobody can reach is no contact");
    return vg_contact_methods_check(spec, err, errlen, field, fieldlen);
}

const struct vg_kind vg_kind_contact = {
    "Contact",
    "someone outside the team to reach in an incident (a supplier, a landlord's desk)",
    contact_fields,
    contact_check,
    NULL,
    "contact_methods",
    vg_contact_method_secrets,
};

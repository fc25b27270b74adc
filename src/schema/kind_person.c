/*
 * kind_person.c - the Person kind: someone who can be on call, how to
 * reach them and in which order.
 *
 * contact_methods say how (contact_methods.c), notification_rules say when
 * each is tried once a page is for this person (delay_minutes after it
 * starts), so "push to the webhook at once, e-mail after 5 minutes" is two
 * rules. A rule naming a method the person does not have is refused here;
 * names of other objects (manager) are only names: they may be applied in
 * any order, and the runtime checks they exist.
 */
#include "schema/contact_methods.h"

#include "oncall/tz.h"

static const struct vg_field person_fields[] = {
    {"full_name", VG_F_STRING, 0, NULL, 0, 128, "the person's name as colleagues write it"},
    {"email", VG_F_STRING, 0, NULL, 0, 254,
     "e-mail address, for people (not a contact method)"},
    {"phone", VG_F_STRING, 0, NULL, 0, 32, "phone number in international form, +31 20 ..."},
    {"timezone", VG_F_STRING, 0, NULL, 0, 64,
     "IANA time zone the person lives in, e.g. Europe/Amsterdam"},
    {"manager", VG_F_NAME, 0, NULL, 0, 0, "name of the Person this person reports to"},
    {"contact_methods", VG_F_LIST, 0, NULL, 0, VG_CONTACT_METHODS_MAX,
     "list of {name, type: webhook|email|exec, url, format, routing_key, address, command}"},
    {"notification_rules", VG_F_LIST, 0, NULL, 0, 32,
     "list of {contact: a contact_methods name, delay_minutes: 0..1440}"},
    {.name = NULL},
};

static const struct vg_field rule_fields[] = {
    {"contact", VG_F_NAME, 1, NULL, 0, 0, "the name of one of the person's contact_methods"},
    {"delay_minutes", VG_F_INT, 0, NULL, 0, 1440,
     "minutes after the page starts before this method is tried (default 0)"},
    {.name = NULL},
};

static int check_rules(const json_t *spec, char *err, size_t errlen, char *field,
                       size_t fieldlen)
{
    const json_t *rules = json_object_get(spec, "notification_rules");
    char path[VG_SCHEMA_PATH_MAX];
    for (size_t i = 0; i < json_array_size(rules); i++) {
        const json_t *rule = json_array_get(rules, i);
        vg_schema_path(path, sizeof path, "spec.notification_rules[%zu]", i);
        int rc = vg_schema_check_fields(rule_fields, rule, path, err, errlen, field, fieldlen);
        if (rc)
            return rc;
        const char *contact = json_string_value(json_object_get(rule, "contact"));
        if (vg_contact_methods_has(spec, contact))
            continue;
        vg_schema_path(path, sizeof path, "spec.notification_rules[%zu].contact", i);
        return vg_schema_fail(err, errlen, field, fieldlen, path,
                              "'%s' is not one of the person's contact_methods", contact);
    }
    return 0;
}

static int check_details(const json_t *spec, char *err, size_t errlen, char *field,
                         size_t fieldlen)
{
    const char *email = json_string_value(json_object_get(spec, "email"));
    const char *phone = json_string_value(json_object_get(spec, "phone"));
    const char *tz = json_string_value(json_object_get(spec, "timezone"));
    const vg_tz_t *zone;
    char why[256];
    if (email && !vg_contact_email_shaped(email))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.email",
                              "expected an address like name@example.org");
    if (phone && (phone[0] != '+' || strspn(phone + 1, "0123456789 -().") != strlen(phone) - 1))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.phone",
                              "expected an international number like +31 20 123 4567");
    if (tz && vg_tz_get(tz, &zone, why, sizeof why))
        return vg_schema_fail(err, errlen, field, fieldlen, "spec.timezone", "%s", why);
    return 0;
}

static int person_check(const json_t *spec, char *err, size_t errlen, char *field,
                        size_t fieldlen)
{
    int rc = check_details(spec, err, errlen, field, fieldlen);
    if (!rc)
        rc = vg_contact_methods_check(spec, err, errlen, field, fieldlen);
    if (!rc)
        rc = check_rules(spec, err, errlen, field, fieldlen);
    return rc;
}

const struct vg_kind vg_kind_person = {
    "Person",      "someone who can be on call: how to reach them and in which order",
    person_fields, person_check,
    NULL,
    "contact_methods",
    vg_contact_method_secrets,
};

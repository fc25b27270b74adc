/*
 * contact_methods.h - the ways to reach someone, shared by the Person and
 * Contact kinds: the shape of a spec.contact_methods list, checked element
 * by element with the field at fault named.
 */
#ifndef VG_CONTACT_METHODS_H
#define VG_CONTACT_METHODS_H

#include "schema/schema.h"

#define VG_CONTACT_METHODS_MAX 16

/* Checks spec.contact_methods (absent is fine). Each element is
 * {name, type: webhook|email|exec, ...} with the fields its type needs and
 * none of the others; names are unique. -EINVAL naming the field. */
int vg_contact_methods_check(const json_t *spec, char *err, size_t errlen, char *field,
                             size_t fieldlen);

/* The secret keys of one contact method (schema.h, element_secrets): a
 * webhook's URL (Slack's and most others carry their credential in it)
 * and routing key; none for email and exec. */
const char *const *vg_contact_method_secrets(const json_t *method);

/* 1 when spec.contact_methods holds a method called name. */
int vg_contact_methods_has(const json_t *spec, const char *name);

/* An e-mail address of a plain shape: local@domain, no spaces. */
/* 1 if url is http:// or https:// with a host and no space. */
int vg_contact_url_shaped(const char *url);
int vg_contact_email_shaped(const char *address);

#endif

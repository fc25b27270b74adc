/*
 * names.h - the safe character sets for object names, kinds and labels.
 *
 * Names end up in URLs, file names of exports and shell scripts of operators,
 * so they are restricted: 1-63 characters of [a-z0-9.-_], starting and ending
 * with a letter or digit, no "..". Label keys: 1-63 of [A-Za-z0-9._/-] with
 * the same first/last rule and no ".."; label values: 0-63 of [A-Za-z0-9._-].
 */
#ifndef VG_NAMES_H
#define VG_NAMES_H

#include "core/vg.h"

/* The longest object name, in characters (bytes: names are ASCII). */
#define VG_NAME_MAX 63

/* Each returns 0 if valid, else -EINVAL with a reason in err. */
int vg_name_check(const char *name, char *err, size_t errlen);
int vg_label_key_check(const char *key, char *err, size_t errlen);
int vg_label_value_check(const char *value, char *err, size_t errlen);

#endif

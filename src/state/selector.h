/*
 * selector.h - label selectors: "k=v,k2!=v2,k3" (k3: key exists, !k4: key
 * absent). "==" is the same as "=". Parsed once per request.
 */
#ifndef VG_SELECTOR_H
#define VG_SELECTOR_H

#include <jansson.h>

#include "core/vg.h"

#define VG_SELECTOR_MAX_TERMS 16

enum vg_sel_op { VG_SEL_EQ, VG_SEL_NE, VG_SEL_EXISTS, VG_SEL_ABSENT };

struct vg_sel_term {
    enum vg_sel_op op;
    char key[64];
    char value[64];
};

typedef struct vg_selector {
    size_t n_terms;
    struct vg_sel_term terms[VG_SELECTOR_MAX_TERMS];
} vg_selector_t;

/* An empty or NULL text selects everything. -EINVAL with a reason otherwise. */
int vg_selector_parse(const char *text, vg_selector_t *sel, char *err, size_t errlen);

/* 1 if the labels object satisfies every term. */
int vg_selector_matches(const vg_selector_t *sel, const json_t *labels);

#endif

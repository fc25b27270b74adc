/*
 * selector.c - parsing and matching of label selectors.
 */
#include "state/selector.h"

#include "core/names.h"

static int copy_word(char *dst, size_t cap, const char *src, size_t len)
{
    while (len && src[0] == ' ')
        src++, len--;
    while (len && src[len - 1] == ' ')
        len--;
    if (len >= cap)
        return -EINVAL;
    memcpy(dst, src, len);
    dst[len] = 0;
    return 0;
}

static int parse_term(const char *term, size_t len, vg_selector_t *sel, char *err,
                      size_t errlen)
{
    if (sel->n_terms == VG_SELECTOR_MAX_TERMS)
        return vg_err(err, errlen, -EINVAL, "selector has more than %d terms",
                      VG_SELECTOR_MAX_TERMS);
    struct vg_sel_term *t = &sel->terms[sel->n_terms];
    const char *whole = term; /* for messages: term is advanced past '!' below */
    size_t whole_len = len;
    const char *eq = memchr(term, '=', len);
    size_t key_len = eq ? (size_t)(eq - term) : len;
    const char *val = NULL;
    size_t val_len = 0;
    t->op = VG_SEL_EXISTS;
    if (eq) {
        t->op = VG_SEL_EQ;
        if (key_len && term[key_len - 1] == '!') {
            t->op = VG_SEL_NE;
            key_len--;
        }
        val = eq + 1;
        if (val < term + len && *val == '=')
            val++;
        val_len = (size_t)(term + len - val);
    } else if (len && term[0] == '!') {
        t->op = VG_SEL_ABSENT;
        term++;
        key_len--;
    }
    if (copy_word(t->key, sizeof t->key, term, key_len) || vg_label_key_check(t->key, NULL, 0))
        return vg_err(err, errlen, -EINVAL, "selector term '%.*s': invalid label key",
                      (int)whole_len, whole);
    t->value[0] = 0;
    if (val && (copy_word(t->value, sizeof t->value, val, val_len) ||
                vg_label_value_check(t->value, NULL, 0)))
        return vg_err(err, errlen, -EINVAL, "selector term '%.*s': invalid label value",
                      (int)whole_len, whole);
    sel->n_terms++;
    return 0;
}

int vg_selector_parse(const char *text, vg_selector_t *sel, char *err, size_t errlen)
{
    sel->n_terms = 0;
    if (!text)
        return 0;
    size_t n = strlen(text);
    if (n && text[n - 1] == ',')
        return vg_err(err, errlen, -EINVAL, "selector '%s' has an empty term", text);
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return vg_err(err, errlen, -EINVAL, "selector '%s' has an empty term", text);
        int rc = parse_term(p, len, sel, err, errlen);
        if (rc)
            return rc;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

int vg_selector_matches(const vg_selector_t *sel, const json_t *labels)
{
    for (size_t i = 0; i < sel->n_terms; i++) {
        const char *have = json_string_value(json_object_get(labels, sel->terms[i].key));
        switch (sel->terms[i].op) {
        case VG_SEL_EQ:
            if (!have || strcmp(have, sel->terms[i].value) != 0)
                return 0;
            break;
        case VG_SEL_NE:
            if (have && strcmp(have, sel->terms[i].value) == 0)
                return 0;
            break;
        case VG_SEL_EXISTS:
            if (!have)
                return 0;
            break;
        case VG_SEL_ABSENT:
            if (have)
                return 0;
            break;
        }
    }
    return 1;
}

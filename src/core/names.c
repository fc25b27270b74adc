/*
 * names.c - checks object names, label keys and label values against the
 * character sets of names.h.
 *
 * Called on every write request and every selector, with strings straight
 * from the network, so it must accept any C string (including NULL) and
 * never echo raw bytes into a message: a rejected character is shown as
 * printable ASCII or as \xNN, and the whole string is quoted only once it
 * is known to consist of allowed characters. That keeps every message pure
 * ASCII, safe for logs and for JSON error bodies even when truncated.
 */
#include "core/names.h"

#include "core/vg.h"

#define VG_NAME_MAX 63

/* One character set and its rules; the three public checks differ only in this. */
struct charset {
    const char *what;    /* "name", "label key", ... for messages */
    const char *allowed; /* human description of the set */
    int (*is_allowed)(unsigned char c);
    int (*is_edge)(unsigned char c); /* first and last character; NULL: any allowed one */
    size_t min_len;
    int no_dotdot;
};

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static int name_char(unsigned char c)
{
    return is_lower(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
}

static int label_key_char(unsigned char c)
{
    return is_lower(c) || is_upper(c) || is_digit(c) || c == '.' || c == '-' || c == '_' ||
           c == '/';
}

static int label_value_char(unsigned char c)
{
    return is_lower(c) || is_upper(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
}

static int name_edge(unsigned char c)
{
    return is_lower(c) || is_digit(c);
}

static int label_key_edge(unsigned char c)
{
    return is_lower(c) || is_upper(c) || is_digit(c);
}

static const struct charset name_set = {
    "name", "lowercase letters, digits, '.', '-' and '_'", name_char, name_edge, 1, 1,
};
static const struct charset label_key_set = {
    "label key", "letters, digits, '.', '-', '_' and '/'", label_key_char, label_key_edge, 1, 1,
};
static const struct charset label_value_set = {
    "label value", "letters, digits, '.', '-' and '_'", label_value_char, NULL, 0, 0,
};

/* Shows one byte as it can safely appear in a message. */
static void show_char(char out[8], unsigned char c)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "\\x%02x", c);
}

static int check_chars(const struct charset *cs, const char *s, char *err, size_t errlen)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (cs->is_allowed(c))
            continue;
        char shown[8];
        show_char(shown, c);
        return vg_err(err, errlen, -EINVAL,
                      "invalid %s: character %s at position %zu is not allowed (use %s)",
                      cs->what, shown, i + 1, cs->allowed);
    }
    return 0;
}

static int check(const struct charset *cs, const char *s, char *err, size_t errlen)
{
    if (!s)
        return vg_err(err, errlen, -EINVAL, "invalid %s: missing", cs->what);
    size_t len = strlen(s);
    if (len < cs->min_len)
        return vg_err(err, errlen, -EINVAL, "invalid %s: must not be empty", cs->what);
    if (len > VG_NAME_MAX)
        return vg_err(err, errlen, -EINVAL,
                      "invalid %s: %zu characters long, at most %d allowed", cs->what, len,
                      VG_NAME_MAX);
    int rc = check_chars(cs, s, err, errlen);
    if (rc)
        return rc;
    /* From here on s holds only allowed (printable ASCII) characters. */
    if (cs->is_edge &&
        (!cs->is_edge((unsigned char)s[0]) || !cs->is_edge((unsigned char)s[len - 1])))
        return vg_err(err, errlen, -EINVAL,
                      "invalid %s '%s': must start and end with a letter or digit", cs->what,
                      s);
    if (cs->no_dotdot && strstr(s, ".."))
        return vg_err(err, errlen, -EINVAL, "invalid %s '%s': must not contain '..'", cs->what,
                      s);
    return 0;
}

int vg_name_check(const char *name, char *err, size_t errlen)
{
    return check(&name_set, name, err, errlen);
}

int vg_label_key_check(const char *key, char *err, size_t errlen)
{
    return check(&label_key_set, key, err, errlen);
}

int vg_label_value_check(const char *value, char *err, size_t errlen)
{
    return check(&label_value_set, value, err, errlen);
}

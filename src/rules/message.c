/*
 * message.c - instance ids and the text of changes.
 *
 * Messages become replicated records, so they depend only on the engine's
 * state, never on the locale or the clock: numbers are printed with "%.2f"
 * and trailing zeros trimmed, durations in whole seconds or minutes or
 * tenths of hours. Runs only when a state changes (or for status).
 */
#include "rules/rules_int.h"

static const char *const placeholders[] = {"rule",  "sensor", "device",    "zone",
                                           "site",  "value",  "predicted", NULL};

void vg_rules_format_number(char *buf, size_t buflen, double v)
{
    if (isnan(v)) {
        snprintf(buf, buflen, "none");
        return;
    }
    if (fabs(v) >= 1e15) {
        snprintf(buf, buflen, "%.6g", v);
        return;
    }
    int n = snprintf(buf, buflen, "%.2f", v);
    while (n > 0 && (size_t)n < buflen && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && (size_t)n < buflen && buf[n - 1] == '.')
        buf[--n] = '\0';
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, buflen, "0");
}

static void format_duration(char *buf, size_t buflen, double s)
{
    if (isnan(s))
        snprintf(buf, buflen, "unknown time");
    else if (isinf(s))
        snprintf(buf, buflen, "no foreseeable time");
    else if (s < 120)
        snprintf(buf, buflen, "%d s", (int)s);
    else if (s < 7200)
        snprintf(buf, buflen, "%d min", (int)(s / 60));
    else
        snprintf(buf, buflen, "%.1f h", s / 3600);
}

const char *vg_rules_render_id(vg_rules_t *r, const struct rinst *in, char *buf, size_t buflen)
{
    const struct rdef *d = &r->defs[in->def];
    if (in->sensor >= 0)
        snprintf(buf, buflen, "%s/%s", d->name, r->sensors[in->sensor].name);
    else if (d->op == OP_DEVICE)
        snprintf(buf, buflen, "%s/%s", d->name, r->devices[in->scope_id].name);
    else if (in->scope_id >= 0)
        snprintf(buf, buflen, "%s/%s", d->name, r->sites[in->scope_id].name);
    else
        snprintf(buf, buflen, "%s", d->name);
    return buf;
}

/* The text one placeholder stands for. */
static void expand(const vg_rules_t *r, const struct rinst *in, const char *key, size_t keylen,
                   char *out, size_t outlen)
{
    const struct rsensor *s = in->sensor >= 0 ? &r->sensors[in->sensor] : NULL;
    int dev = s ? s->device : r->defs[in->def].op == OP_DEVICE ? in->scope_id : -1;
    int site = vg_rules_scope_site(r, in), zone = vg_rules_scope_zone(r, in);
#define IS(word) (keylen == sizeof(word) - 1 && memcmp(key, word, keylen) == 0)
    if (IS("rule"))
        snprintf(out, outlen, "%s", r->defs[in->def].name);
    else if (IS("sensor"))
        snprintf(out, outlen, "%s", s ? s->name : "-");
    else if (IS("device"))
        snprintf(out, outlen, "%s", dev >= 0 ? r->devices[dev].name : s ? s->name : "-");
    else if (IS("zone"))
        snprintf(out, outlen, "%s", zone >= 0 ? r->zones[zone].name : "-");
    else if (IS("site"))
        snprintf(out, outlen, "%s", site >= 0 ? r->sites[site].name : "-");
    else if (IS("value"))
        vg_rules_format_number(out, outlen, s && s->has_data ? s->value : NAN);
    else if (IS("predicted"))
        format_duration(out, outlen, in->predicted_s);
    else
        snprintf(out, outlen, "{%.*s}", (int)keylen, key);
#undef IS
}

static void render(const vg_rules_t *r, const struct rinst *in, const char *tmpl, char *buf,
                   size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *p = tmpl; *p && used + 1 < buflen;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            buf[used++] = *p++;
            buf[used] = '\0';
            continue;
        }
        char word[128];
        expand(r, in, p + 1, (size_t)(close - p - 1), word, sizeof word);
        used += (size_t)snprintf(buf + used, buflen - used, "%s", word);
        if (used >= buflen)
            used = buflen - 1;
        p = close + 1;
    }
}

static const char *firing_template(const struct rdef *d, uint8_t level)
{
    if (level == LV_CRITICAL && d->crit_message)
        return d->crit_message;
    if (d->message)
        return d->message;
    switch (d->op) {
    case OP_ALL:
    case OP_ANY:
        return "{rule} is firing";
    case OP_PREDICT:
    case OP_FUEL:
        return "{rule}: {sensor} reaches its limit in {predicted} (now {value})";
    default:
        return "{rule}: {sensor} is at {value}";
    }
}

const char *vg_rules_render_message(const vg_rules_t *r, const struct rinst *in, char *buf,
                                    size_t buflen)
{
    const struct rdef *d = &r->defs[in->def];
    const char *tmpl = firing_template(d, in->level);
    char text[512];
    switch (in->state) {
    case ST_OK:
        render(r, in, in->sensor >= 0 ? "{rule} on {sensor} cleared, now {value}"
                      : d->op == OP_DEVICE ? "device {device} is reachable again"
                                           : "{rule} cleared",
               buf, buflen);
        break;
    case ST_STALE:
        render(r, in, "{rule} on {sensor}: no fresh data (stale)", text, sizeof text);
        snprintf(buf, buflen, "%s%s", text, in->level ? ", still firing" : "");
        break;
    case ST_SUPPRESSED: {
        int parent = vg_rules_firing_parent(r, in);
        render(r, in, tmpl, text, sizeof text);
        snprintf(buf, buflen, "%s (suppressed while '%s' fires)", text,
                 parent >= 0 ? r->defs[parent].name : "?");
        break;
    }
    default:
        render(r, in, tmpl, buf, buflen);
    }
    return buf;
}

int vg_rules_message_check(const char *tmpl, char *err, size_t errlen)
{
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        if (!close)
            return vg_err(err, errlen, -EINVAL, "'{' without '}'");
        size_t len = (size_t)(close - p - 1), i = 0;
        while (placeholders[i] &&
               (strlen(placeholders[i]) != len || memcmp(placeholders[i], p + 1, len) != 0))
            i++;
        if (!placeholders[i])
            return vg_err(err, errlen, -EINVAL,
                          "unknown placeholder '{%.*s}' (rule, sensor, device, zone, site, "
                          "value, predicted)",
                          (int)(len > 32 ? 32 : len), p + 1);
    }
    return 0;
}

/*
 * schedule_spec.c - reads and checks a Schedule spec (schedule.h gives its
 * form) into the struct the evaluator walks.
 *
 * The spec comes from a manifest, so every fault is refused with the dotted
 * path of the field at fault ("spec.layers[1].restrictions[0].from") and
 * nothing is guessed: a schedule must say plainly who is on call, so two
 * layers whose weekly windows meet, or two overrides that overlap, are
 * refused. Weekly windows are kept as one owner per local minute of the
 * week, which makes the overlap check exact and the evaluation a lookup.
 * Bytes from the input reach messages only once they passed a name or
 * format check (pure ASCII), so messages stay clean.
 */
#include "oncall/schedule_int.h"

#include "core/names.h"
#include "schema/schema.h"

#define PATH_LEN       160
#define TURN_MAX_HOURS 8760 /* one year */
#define TURN_MAX_DAYS  366
#define TURN_MAX_WEEKS 53
#define YEAR_MIN       2000
#define YEAR_MAX       2200

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

/* Builds a path; one that does not fit is cut (paths here are short). */
static void pathf(char buf[PATH_LEN], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pathf(char buf[PATH_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, PATH_LEN, fmt, ap);
    va_end(ap);
}

/* A key safe to quote in a path: lowercase ASCII letters, digits, '_'. */
static int plain_key(const char *key)
{
    size_t len = strlen(key);
    return len > 0 && len <= 32 && strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

/* Refuses keys of obj outside allowed (NULL-terminated); obj is an object. */
static int only_keys(const json_t *obj, const char *path, const char *const *allowed,
                     const struct vg_report *r)
{
    const char *key;
    const json_t *v;
    char list[160] = "", sub[PATH_LEN];
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i])
            continue;
        for (size_t j = 0, used = 0; allowed[j] && used < sizeof list; j++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
                                     allowed[j]);
        pathf(sub, "%s.%s", path, plain_key(key) ? key : "?");
        return vg_report_fail(r, plain_key(key) ? sub : path, "unknown field (allowed: %s)",
                              list);
    }
    return 0;
}

/* path.key into buf; returns buf. */
static const char *at(char buf[PATH_LEN], const char *path, const char *key)
{
    pathf(buf, "%s.%s", path, key);
    return buf;
}

static int get_object(const json_t *v, const char *path, const struct vg_report *r)
{
    return json_is_object(v) ? 0 : vg_report_fail(r, path, "expected an object");
}

/* An optional array of at most max items (NULL/absent gives 0 items). */
static int get_array(const json_t *v, const char *path, size_t max, int required,
                     const struct vg_report *r)
{
    if (!v || json_is_null(v))
        return required ? vg_report_fail(r, path, "required field is missing") : 0;
    if (!json_is_array(v))
        return vg_report_fail(r, path, "expected a list");
    if (required && json_array_size(v) == 0)
        return vg_report_fail(r, path, "must not be empty");
    if (json_array_size(v) > max)
        return vg_report_fail(r, path, "%zu items, at most %zu allowed", json_array_size(v),
                              max);
    return 0;
}

static int get_name(const json_t *v, const char *path, char out[VG_NAME_MAX + 1],
                    const struct vg_report *r)
{
    char why[256];
    if (!v || json_is_null(v))
        return vg_report_fail(r, path, "required field is missing");
    if (!json_is_string(v))
        return vg_report_fail(r, path, "expected a name");
    if (strlen(json_string_value(v)) != json_string_length(v) ||
        vg_name_check(json_string_value(v), why, sizeof why))
        return vg_report_fail(r, path, "%s", why);
    snprintf(out, VG_NAME_MAX + 1, "%s", json_string_value(v));
    return 0;
}

static int two_digits(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static int digits_at(const char *s, const char *shape)
{
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'D' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    return 1;
}

/* "HH:MM" as minutes of the day; "24:00" (the end of the day) too when
 * end_of_day is allowed. */
static int get_clock(const json_t *v, const char *path, int end_of_day, int *minutes,
                     const struct vg_report *r)
{
    const char *s = json_string_value(v);
    if (s && end_of_day && strcmp(s, "24:00") == 0) {
        *minutes = 1440;
        return 0;
    }
    if (!s || json_string_length(v) != 5 || !digits_at(s, "DD:DD") || two_digits(s) > 23 ||
        two_digits(s + 3) > 59)
        return vg_report_fail(r, path, "expected a local time of day \"HH:MM\" (00:00 to %s)",
                              end_of_day ? "24:00" : "23:59");
    *minutes = two_digits(s) * 60 + two_digits(s + 3);
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* "YYYY-MM-DDTHH:MM" local: its fields (ymdhm, may be NULL) and instant. */
static int get_local(const json_t *v, const char *path, const vg_tz_t *tz, int ymdhm[5],
                     int64_t *at, const struct vg_report *r)
{
    const char *s = json_string_value(v);
    int f[5];
    if (!v || json_is_null(v))
        return vg_report_fail(r, path, "required field is missing");
    if (!s || json_string_length(v) != 16 || !digits_at(s, "DDDD-DD-DDTDD:DD"))
        return vg_report_fail(r, path, "expected a local time \"YYYY-MM-DDTHH:MM\"");
    f[0] = two_digits(s) * 100 + two_digits(s + 2);
    f[1] = two_digits(s + 5), f[2] = two_digits(s + 8);
    f[3] = two_digits(s + 11), f[4] = two_digits(s + 14);
    if (f[0] < YEAR_MIN || f[0] > YEAR_MAX || f[1] < 1 || f[1] > 12 || f[2] < 1 ||
        f[2] > days_in_month(f[0], f[1]) || f[3] > 23 || f[4] > 59)
        return vg_report_fail(r, path, "'%s' is not a date and time between %d and %d", s,
                              YEAR_MIN, YEAR_MAX);
    if (ymdhm)
        memcpy(ymdhm, f, sizeof f);
    *at = vg_tz_from_local(tz, f[0], f[1], f[2], f[3], f[4], 0);
    return 0;
}

static int get_turn(const json_t *v, const char *path, struct sched_layer *layer,
                    const struct vg_report *r)
{
    const char *s = json_string_value(v);
    size_t len = s ? json_string_length(v) : 0;
    long n = 0;
    if (!v || json_is_null(v))
        return vg_report_fail(r, path, "required field is missing");
    for (size_t i = 0; s && i + 1 < len && i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
        n = n * 10 + (s[i] - '0');
    char unit = len >= 2 && len <= 5 ? s[len - 1] : '?';
    long max = unit == 'h' ? TURN_MAX_HOURS : unit == 'd' ? TURN_MAX_DAYS : TURN_MAX_WEEKS;
    int digits_ok = len >= 2 && strspn(s, "0123456789") == len - 1;
    if (!digits_ok || (unit != 'h' && unit != 'd' && unit != 'w') || n < 1 || n > max)
        return vg_report_fail(
            r, path, "expected a turn length like 12h, 1d or 1w (at most %dh, %dd or %dw)",
            TURN_MAX_HOURS, TURN_MAX_DAYS, TURN_MAX_WEEKS);
    layer->unit = unit;
    layer->turn = (int)n;
    return 0;
}

static int get_people(const json_t *v, const char *path, struct sched_layer *layer,
                      const struct vg_report *r)
{
    char item[PATH_LEN];
    int rc = get_array(v, path, SCHED_PEOPLE_MAX, 1, r);
    for (size_t i = 0; !rc && i < json_array_size(v); i++) {
        pathf(item, "%s[%zu]", path, i);
        rc = get_name(json_array_get(v, i), item, layer->people[i], r);
    }
    layer->n_people = json_array_size(v);
    return rc;
}

/* ---- weekly windows ---- */

static int get_days(const json_t *v, const char *path, int days[7], const struct vg_report *r)
{
    char item[PATH_LEN];
    int rc = get_array(v, path, 7, 1, r);
    for (size_t i = 0; !rc && i < json_array_size(v); i++) {
        const char *name = json_string_value(json_array_get(v, i));
        size_t d = 0;
        while (name && day_names[d] && strcmp(day_names[d], name) != 0)
            d++;
        pathf(item, "%s[%zu]", path, i);
        if (!name || !day_names[d])
            return vg_report_fail(r, item, "expected one of mon, tue, wed, thu, fri, sat, sun");
        days[d] = 1;
    }
    return rc;
}

/* Gives the minutes of [first, first + n) of the week to layer, refusing a
 * minute another layer holds. */
static int claim(struct sched *s, uint8_t layer, int first, int n, const char *path,
                 const struct vg_report *r)
{
    for (int i = 0; i < n; i++) {
        int m = (first + i) % SCHED_WEEK_MINUTES;
        if (s->owner[m] != SCHED_NOBODY && s->owner[m] != layer)
            return vg_report_fail(
                r, path,
                "layer '%s' would apply at the same time as layer '%s' (%s %02d:%02d "
                "local time): at most one layer may apply at any time",
                s->layers[layer].name, s->layers[s->owner[m]].name, day_names[m / 1440],
                m % 1440 / 60, m % 60);
        s->owner[m] = layer;
    }
    return 0;
}

static int get_restriction(const json_t *v, const char *path, struct sched *s, uint8_t layer,
                           const struct vg_report *r)
{
    static const char *const keys[] = {"days", "from", "to", NULL};
    char sub[PATH_LEN];
    int days[7] = {0}, from = 0, to = 0, rc = get_object(v, path, r);
    if (!rc)
        rc = only_keys(v, path, keys, r);
    if (!rc)
        rc = get_days(json_object_get(v, "days"), at(sub, path, "days"), days, r);
    if (!rc)
        rc = get_clock(json_object_get(v, "from"), at(sub, path, "from"), 0, &from, r);
    if (!rc)
        rc = get_clock(json_object_get(v, "to"), at(sub, path, "to"), 1, &to, r);
    if (!rc && from == to)
        rc = vg_report_fail(r, sub,
                            "must differ from 'from' (a layer that always applies needs no "
                            "restrictions)");
    /* a "to" before "from" runs past midnight into the next day */
    int length = to > from ? to - from : 1440 - from + to;
    for (int d = 0; !rc && d < 7; d++)
        if (days[d])
            rc = claim(s, layer, d * 1440 + from, length, path, r);
    return rc;
}

static int get_windows(const json_t *v, const char *path, struct sched *s, uint8_t layer,
                       const struct vg_report *r)
{
    char item[PATH_LEN];
    if (!v || json_is_null(v)) /* no restrictions: the whole week */
        return claim(s, layer, 0, SCHED_WEEK_MINUTES, path, r);
    int rc = get_array(v, path, SCHED_RESTRICTIONS_MAX, 1, r);
    for (size_t i = 0; !rc && i < json_array_size(v); i++) {
        pathf(item, "%s[%zu]", path, i);
        rc = get_restriction(json_array_get(v, i), item, s, layer, r);
    }
    return rc;
}

/* ---- layers, overrides, swaps ---- */

static int get_layer(const json_t *v, const char *path, struct sched *s,
                     const struct vg_report *r)
{
    static const char *const keys[] = {"name", "people", "start", "turn", "restrictions", NULL};
    struct sched_layer *layer = &s->layers[s->n_layers];
    char sub[PATH_LEN];
    int ymdhm[5];
    int rc = get_object(v, path, r);
    if (!rc)
        rc = only_keys(v, path, keys, r);
    if (!rc)
        rc = get_name(json_object_get(v, "name"), at(sub, path, "name"), layer->name, r);
    for (size_t i = 0; !rc && i < s->n_layers; i++)
        if (strcmp(s->layers[i].name, layer->name) == 0)
            rc = vg_report_fail(r, sub, "layer '%s' is named twice", layer->name);
    if (!rc)
        rc = get_people(json_object_get(v, "people"), at(sub, path, "people"), layer, r);
    if (!rc)
        rc = get_local(json_object_get(v, "start"), at(sub, path, "start"), s->tz, ymdhm,
                       &layer->start, r);
    if (!rc)
        rc = get_turn(json_object_get(v, "turn"), at(sub, path, "turn"), layer, r);
    if (rc)
        return rc;
    layer->year = ymdhm[0], layer->month = ymdhm[1], layer->day = ymdhm[2];
    layer->hour = ymdhm[3], layer->minute = ymdhm[4];
    s->n_layers++;
    pathf(sub, "%s.restrictions", path);
    return get_windows(json_object_get(v, "restrictions"), sub, s, (uint8_t)(s->n_layers - 1),
                       r);
}

/* An override {person, start, end} or a swap {from, to, start, end}. */
static int get_span(const json_t *v, const char *path, int is_swap, struct sched *s,
                    struct sched_span *span, const struct vg_report *r)
{
    static const char *const override_keys[] = {"person", "start", "end", NULL};
    static const char *const swap_keys[] = {"from", "to", "start", "end", NULL};
    char sub[PATH_LEN];
    int rc = get_object(v, path, r);
    if (!rc)
        rc = only_keys(v, path, is_swap ? swap_keys : override_keys, r);
    const char *who = is_swap ? "from" : "person";
    if (!rc)
        rc = get_name(json_object_get(v, who), at(sub, path, who), span->person, r);
    if (!rc && is_swap)
        rc = get_name(json_object_get(v, "to"), at(sub, path, "to"), span->to, r);
    if (!rc)
        rc = get_local(json_object_get(v, "start"), at(sub, path, "start"), s->tz, NULL,
                       &span->start, r);
    if (!rc)
        rc = get_local(json_object_get(v, "end"), at(sub, path, "end"), s->tz, NULL, &span->end,
                       r);
    if (!rc && span->end <= span->start)
        rc = vg_report_fail(r, sub, "must be after start");
    return rc;
}

static int get_overrides(const json_t *v, struct sched *s, const struct vg_report *r)
{
    char path[PATH_LEN];
    int rc = get_array(v, "spec.overrides", SCHED_OVERRIDES_MAX, 0, r);
    for (size_t i = 0; !rc && json_is_array(v) && i < json_array_size(v); i++) {
        struct sched_span *o = &s->overrides[i];
        pathf(path, "spec.overrides[%zu]", i);
        rc = get_span(json_array_get(v, i), path, 0, s, o, r);
        for (size_t j = 0; !rc && j < i; j++)
            if (o->start < s->overrides[j].end && s->overrides[j].start < o->end)
                rc = vg_report_fail(
                    r, path, "overlaps spec.overrides[%zu]: overrides must not overlap", j);
        s->n_overrides = i + 1;
    }
    return rc;
}

static int get_swaps(const json_t *v, struct sched *s, const struct vg_report *r)
{
    char path[PATH_LEN];
    int rc = get_array(v, "spec.swaps", SCHED_SWAPS_MAX, 0, r);
    for (size_t i = 0; !rc && json_is_array(v) && i < json_array_size(v); i++) {
        pathf(path, "spec.swaps[%zu]", i);
        rc = get_span(json_array_get(v, i), path, 1, s, &s->swaps[i], r);
        if (!rc && strcmp(s->swaps[i].person, s->swaps[i].to) == 0)
            rc = vg_report_fail(r, path, "'from' and 'to' are the same person");
        s->n_swaps = i + 1;
    }
    return rc;
}

static int get_timezone(const json_t *v, struct sched *s, const struct vg_report *r)
{
    char why[256];
    if (!v || json_is_null(v))
        return vg_report_fail(r, "spec.timezone", "required field is missing");
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return vg_report_fail(r, "spec.timezone",
                              "expected a time zone name like 'Europe/Amsterdam'");
    if (vg_tz_get(json_string_value(v), &s->tz, why, sizeof why))
        return vg_report_fail(r, "spec.timezone", "%s", why);
    return 0;
}

static int parse(const json_t *spec, struct sched *s, const struct vg_report *r)
{
    static const char *const keys[] = {"timezone", "layers", "overrides", "swaps", NULL};
    char path[PATH_LEN];
    const json_t *layers = json_object_get(spec, "layers");
    int rc = get_object(spec, "spec", r);
    if (!rc)
        rc = only_keys(spec, "spec", keys, r);
    if (!rc)
        rc = get_timezone(json_object_get(spec, "timezone"), s, r);
    if (!rc)
        rc = get_array(layers, "spec.layers", SCHED_LAYERS_MAX, 1, r);
    for (size_t i = 0; !rc && i < json_array_size(layers); i++) {
        pathf(path, "spec.layers[%zu]", i);
        rc = get_layer(json_array_get(layers, i), path, s, r);
    }
    if (!rc)
        rc = get_overrides(json_object_get(spec, "overrides"), s, r);
    if (!rc)
        rc = get_swaps(json_object_get(spec, "swaps"), s, r);
    return rc;
}

int vg_sched_parse(const json_t *spec, struct sched **out, char *err, size_t errlen,
                   char *field, size_t fieldlen)
{
    struct vg_report r = {err, err ? errlen : 0, field, field ? fieldlen : 0};
    struct sched *s = vg_calloc(1, sizeof *s);
    memset(s->owner, SCHED_NOBODY, sizeof s->owner);
    if (r.fieldlen)
        field[0] = '\0';
    int rc = parse(spec, s, &r);
    if (rc || !out) {
        free(s);
        s = NULL;
    }
    if (out)
        *out = s;
    return rc;
}

int vg_schedule_check(const json_t *spec, char *err, size_t errlen, char *field,
                      size_t fieldlen)
{
    return vg_sched_parse(spec, NULL, err, errlen, field, fieldlen);
}

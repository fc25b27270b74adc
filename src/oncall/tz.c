/*
 * tz.c - named time zones from the system's compiled zone files (TZif,
 * RFC 8536): the transitions of the version 2+ 64-bit section (or the
 * 32-bit one of a version 1 file) and, past the last transition, the POSIX
 * rule of the footer (tz_rule.c).
 *
 * A zone name comes from a manifest, so it is hostile: it is held to a
 * zone-name alphabet (no absolute path, no "..") before it becomes a path
 * under the zone directory, and the file is bounded in size and checked
 * field by field before anything is believed. Zones are loaded once and
 * never freed (callers keep the pointer); the cache is bounded, and past
 * its bound a new zone is refused with a clear error rather than growing.
 * Never reads TZ or calls localtime().
 */
#include "oncall/tz.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vg.h"
#include "oncall/tz_int.h"

#define TZ_NAME_MAX    64
#define TZ_CACHE_MAX   64
#define TZ_FILE_MAX    (256u << 10)
#define TZ_TIMES_MAX   8192
#define TZ_FOOTER_MAX  128
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define HEADER_LEN     44

struct vg_tz {
    char name[TZ_NAME_MAX + 1];
    size_t n_times;
    int64_t *times;   /* transition instants, ascending */
    uint8_t *type_of; /* local time type after each transition */
    size_t n_types;
    int32_t *offsets; /* seconds east of UTC, per type */
    int has_rule;
    struct vg_tz_rule rule;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static vg_tz_t *cache[TZ_CACHE_MAX];
static size_t n_cached;

/* ---- the name ---- */

static int name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '+' || c == '-' || c == '/';
}

static int check_name(const char *name, char *err, size_t errlen)
{
    size_t len = strnlen(name, TZ_NAME_MAX + 1);
    if (len == 0 || len > TZ_NAME_MAX)
        return vg_err(err, errlen, -EINVAL, "time zone name must be 1 to %d characters",
                      TZ_NAME_MAX);
    if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "..") || strstr(name, "//"))
        return vg_err(err, errlen, -EINVAL,
                      "'%.*s' is not a time zone name (like 'Europe/Amsterdam')", (int)len,
                      name);
    for (size_t i = 0; i < len; i++)
        if (!name_char(name[i]))
            return vg_err(err, errlen, -EINVAL,
                          "time zone name holds a character other than A-Z a-z 0-9 _ + - /");
    return 0;
}

/* ---- the file ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The counts of one header: isutcnt isstdcnt leapcnt timecnt typecnt charcnt. */
struct counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static int read_header(const uint8_t *p, size_t left, struct counts *c, char *version)
{
    if (left < HEADER_LEN || memcmp(p, "TZif", 4) != 0)
        return -EINVAL;
    *version = (char)p[4];
    c->isut = be32(p + 20), c->isstd = be32(p + 24), c->leap = be32(p + 28);
    c->time = be32(p + 32), c->type = be32(p + 36), c->chars = be32(p + 40);
    if (c->time > TZ_TIMES_MAX || c->type == 0 || c->type > 256 || c->chars == 0 ||
        c->chars > 256 || c->leap > 1000 || (c->isut && c->isut != c->type) ||
        (c->isstd && c->isstd != c->type))
        return -EINVAL;
    return 0;
}

static size_t block_len(const struct counts *c, size_t time_size)
{
    return c->time * time_size + c->time + c->type * 6 + c->chars + c->leap * (time_size + 4) +
           c->isstd + c->isut;
}

/* Fills tz from one data block (after its header) of time_size-byte times. */
static int read_block(const uint8_t *p, const struct counts *c, size_t time_size, vg_tz_t *tz)
{
    tz->n_times = c->time;
    tz->n_types = c->type;
    tz->times = vg_calloc(c->time + 1, sizeof *tz->times);
    tz->type_of = vg_calloc(c->time + 1, 1);
    tz->offsets = vg_calloc(c->type, sizeof *tz->offsets);
    for (size_t i = 0; i < c->time; i++) {
        tz->times[i] = time_size == 8 ? be64(p) : (int32_t)be32(p);
        p += time_size;
        if (i && tz->times[i] <= tz->times[i - 1])
            return -EINVAL;
    }
    for (size_t i = 0; i < c->time; i++)
        if ((tz->type_of[i] = *p++) >= c->type)
            return -EINVAL;
    for (size_t i = 0; i < c->type; i++, p += 6) {
        int32_t offset = (int32_t)be32(p);
        if (offset < -25 * 3600 || offset > 26 * 3600 || p[4] > 1 || p[5] >= c->chars)
            return -EINVAL;
        tz->offsets[i] = offset;
    }
    return 0;
}

/* The footer "\n<POSIX TZ>\n" after the v2+ data; empty means none. */
static int read_footer(const uint8_t *p, size_t left, vg_tz_t *tz)
{
    char text[TZ_FOOTER_MAX + 1];
    if (left < 2 || p[0] != '\n')
        return -EINVAL;
    const uint8_t *nl = memchr(p + 1, '\n', left - 1);
    if (!nl || (size_t)(nl - p - 1) > TZ_FOOTER_MAX)
        return -EINVAL;
    size_t len = (size_t)(nl - p - 1);
    if (len == 0)
        return 0;
    memcpy(text, p + 1, len);
    text[len] = '\0';
    if (memchr(text, '\0', len) || vg_tz_rule_parse(text, &tz->rule))
        return -EINVAL;
    tz->has_rule = 1;
    return 0;
}

static int parse_tzif(const uint8_t *data, size_t size, vg_tz_t *tz)
{
    struct counts c;
    char version;
    if (read_header(data, size, &c, &version))
        return -EINVAL;
    size_t v1_len = block_len(&c, 4);
    if (version == '\0')
        return size - HEADER_LEN >= v1_len ? read_block(data + HEADER_LEN, &c, 4, tz) : -EINVAL;
    if (size - HEADER_LEN < v1_len)
        return -EINVAL;
    const uint8_t *p = data + HEADER_LEN + v1_len;
    size_t left = size - HEADER_LEN - v1_len;
    if (read_header(p, left, &c, &version) || left - HEADER_LEN < block_len(&c, 8))
        return -EINVAL;
    p += HEADER_LEN;
    left -= HEADER_LEN;
    if (read_block(p, &c, 8, tz))
        return -EINVAL;
    return read_footer(p + block_len(&c, 8), left - block_len(&c, 8), tz);
}

static int read_file(const char *path, uint8_t **data, size_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    *data = NULL;
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        rc = -ENOENT; /* a directory such as "Europe" is no zone */
        goto out;
    }
    if (st.st_size < HEADER_LEN || (size_t)st.st_size > TZ_FILE_MAX) {
        rc = -EINVAL;
        goto out;
    }
    *data = vg_malloc((size_t)st.st_size);
    *size = (size_t)st.st_size;
    if (read(fd, *data, *size) != (ssize_t)*size)
        rc = -EIO;
out:
    close(fd);
    return rc;
}

static void tz_free(vg_tz_t *tz)
{
    if (!tz)
        return;
    free(tz->times);
    free(tz->type_of);
    free(tz->offsets);
    free(tz);
}

static int load(const char *name, vg_tz_t **out, char *err, size_t errlen)
{
    const char *dir = getenv("VIGIL_ZONEINFO");
    char path[512];
    uint8_t *data = NULL;
    size_t size = 0;
    vg_tz_t *tz = vg_calloc(1, sizeof *tz);
    snprintf(tz->name, sizeof tz->name, "%s", name);
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : TZ_DEFAULT_DIR, name);
    int rc = read_file(path, &data, &size);
    if (rc == -ENOENT)
        vg_err(err, errlen, rc, "unknown time zone '%s'", name);
    else if (rc)
        vg_err(err, errlen, rc, "cannot read time zone '%s': %s", name, strerror(-rc));
    else if ((rc = parse_tzif(data, size, tz)) != 0)
        vg_err(err, errlen, rc, "time zone file of '%s' is not a valid TZif file", name);
    free(data);
    if (rc) {
        tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

int vg_tz_get(const char *name, const vg_tz_t **out, char *err, size_t errlen)
{
    int rc = check_name(name, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < n_cached; i++)
        if (strcmp(cache[i]->name, name) == 0) {
            *out = cache[i];
            goto out;
        }
    if (n_cached == TZ_CACHE_MAX) {
        rc = vg_err(err, errlen, -ENOSPC, "cannot load time zone '%s': %d zones in use already",
                    name, TZ_CACHE_MAX);
        goto out;
    }
    vg_tz_t *tz;
    rc = load(name, &tz, err, errlen);
    if (!rc)
        *out = cache[n_cached++] = tz;
out:
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* ---- instants and wall clocks ---- */

int32_t vg_tz_offset(const vg_tz_t *tz, int64_t t)
{
    if (tz->n_times == 0 || t < tz->times[0]) {
        if (tz->n_times == 0 && tz->has_rule)
            return vg_tz_rule_offset(&tz->rule, t);
        return tz->offsets[0];
    }
    if (t >= tz->times[tz->n_times - 1] && tz->has_rule)
        return vg_tz_rule_offset(&tz->rule, t);
    size_t lo = 0, hi = tz->n_times; /* times[lo] <= t < times[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offsets[tz->type_of[lo]];
}

void vg_tz_to_local(const vg_tz_t *tz, int64_t t, struct vg_tz_local *out)
{
    out->offset = vg_tz_offset(tz, t);
    int64_t local = t + out->offset;
    int64_t days = vg_tz_floor_div(local, 86400);
    int64_t secs = local - days * 86400;
    vg_tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
    out->weekday = (int)((days % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
}

/* The first instant in (lo, hi] whose offset differs from lo's. */
static int64_t transition_between(const vg_tz_t *tz, int64_t lo, int64_t hi)
{
    int32_t before = vg_tz_offset(tz, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (vg_tz_offset(tz, mid) == before)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

int64_t vg_tz_from_local(const vg_tz_t *tz, int year, int month, int day, int hour, int minute,
                         int second)
{
    int64_t local = vg_tz_days_from_civil(year, month, day) * 86400 + (int64_t)hour * 3600 +
                    (int64_t)minute * 60 + second;
    /* the offsets a day either side bracket every reading of this local time */
    int32_t early = vg_tz_offset(tz, local - 86400), late = vg_tz_offset(tz, local + 86400);
    int64_t t_early = local - early, t_late = local - late;
    int early_ok = vg_tz_offset(tz, t_early) == early;
    int late_ok = vg_tz_offset(tz, t_late) == late;
    if (early_ok && late_ok)
        return t_early < t_late ? t_early : t_late; /* a fold: the first one */
    if (early_ok)
        return t_early;
    if (late_ok)
        return t_late;
    /* a gap: the clocks jumped over this time, so the jump's end it is */
    return transition_between(tz, t_late < t_early ? t_late : t_early,
                              t_late < t_early ? t_early : t_late);
}

/*
 * sources.c - finding the sealed files of a data directory for vigild
 * inspect and verify (sources.h).
 *
 * Must never: create, change or lock anything in the directory. A running
 * member holds flocks on DATA/lock and DATA/log; taking even a shared one
 * for a moment could make that member's restart fail, so whether it runs
 * is read from /proc/locks instead.
 */
#include "vigild/sources.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define DIVERGED_PREFIX "diverged-"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

struct list {
    struct vg_source *items;
    size_t n, cap;
};

static int add(struct list *l, int is_frames, const char *dir, const char *name, char *err,
               size_t errlen)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->items = vg_realloc(l->items, l->cap * sizeof *l->items);
    }
    struct vg_source *s = &l->items[l->n];
    int len = name ? snprintf(s->path, sizeof s->path, "%s/%s", dir, name)
                   : snprintf(s->path, sizeof s->path, "%s", dir);
    if (len < 0 || (size_t)len >= sizeof s->path)
        return vg_err(err, errlen, -ENAMETOOLONG, "path '%s/%s' is too long", dir,
                      name ? name : "");
    s->is_frames = is_frames;
    l->n++;
    return 0;
}

/* dir/log and dir/tail.vgl, those that exist. */
static int add_set(struct list *l, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s/log", dir);
    if (is_dir(path))
        rc = add(l, 0, dir, "log", err, errlen);
    snprintf(path, sizeof path, "%s/tail.vgl", dir);
    if (rc == 0 && is_file(path))
        rc = add(l, 1, dir, "tail.vgl", err, errlen);
    return rc;
}

/* diverged-<ms> by the number, so that the oldest comes first */
static int cmp_diverged(const void *a, const void *b)
{
    const char *x = *(const char *const *)a + strlen(DIVERGED_PREFIX);
    const char *y = *(const char *const *)b + strlen(DIVERGED_PREFIX);
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static int diverged_names(const char *data, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(data);
    if (!d)
        return -errno;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, DIVERGED_PREFIX, strlen(DIVERGED_PREFIX)) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            *names = vg_realloc(*names, cap * sizeof **names);
        }
        (*names)[(*n)++] = vg_strdup(de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_diverged);
    return 0;
}

int vg_sources_list(const char *data, struct vg_source **out, size_t *n, char *err,
                    size_t errlen)
{
    struct list l = {0};
    char **names = NULL;
    size_t n_names = 0;
    *out = NULL;
    *n = 0;
    if (!is_dir(data))
        return vg_err(err, errlen, -ENOENT, "'%s' is not a directory", data);
    int rc = add_set(&l, data, err, errlen);
    if (rc == 0 && (rc = diverged_names(data, &names, &n_names)) < 0)
        vg_err(err, errlen, rc, "cannot list '%s': %s", data, strerror(-rc));
    for (size_t i = 0; rc == 0 && i < n_names; i++) {
        char dir[4096];
        if ((size_t)snprintf(dir, sizeof dir, "%s/%s", data, names[i]) >= sizeof dir)
            rc = vg_err(err, errlen, -ENAMETOOLONG, "path '%s/%s' is too long", data, names[i]);
        else if (is_dir(dir))
            rc = add_set(&l, dir, err, errlen);
    }
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    if (rc == 0 && l.n == 0) /* a log directory by itself (segments, snapshots) */
        rc = add(&l, 0, data, NULL, err, errlen);
    if (rc < 0) {
        free(l.items);
        return rc;
    }
    *out = l.items;
    *n = l.n;
    return 0;
}

int vg_sources_keyring(const char *data, const char *key_file, vg_keyring_t **out, char *err,
                       size_t errlen)
{
    char path[4096];
    if (key_file)
        return vg_keyring_load(key_file, out, err, errlen);
    if ((size_t)snprintf(path, sizeof path, "%s/keyring", data) >= sizeof path)
        return vg_err(err, errlen, -ENAMETOOLONG, "path '%s/keyring' is too long", data);
    if (!is_file(path))
        return vg_err(err, errlen, -ENOENT, "no keyring at '%s': give --key-file", path);
    return vg_keyring_load(path, out, err, errlen);
}

int vg_sources_in_use(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return 0;
    /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:131 0 EOF": maj:min in hex, inode */
    char line[256], want[64];
    snprintf(want, sizeof want, " %02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
             (unsigned long long)st.st_ino);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "FLOCK") && strstr(line, want);
    fclose(f);
    return found;
}

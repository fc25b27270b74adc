/*
 * strmap.c - open-addressing string -> int map (see strmap.h).
 *
 * Capacity is a power of two at least twice the entries, so probes stay
 * short; it grows by doubling. Never shrinks: maps live for one load.
 */
#include "rules/strmap.h"

struct slot {
    const char *key; /* NULL: empty */
    int value;
};

struct vg_strmap {
    struct slot *slots;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct slot *find(const struct vg_strmap *map, const char *key)
{
    size_t mask = map->cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask)
        if (!map->slots[i].key || strcmp(map->slots[i].key, key) == 0)
            return &map->slots[i];
}

static void grow(struct vg_strmap *map)
{
    struct slot *old = map->slots;
    size_t old_cap = map->cap;
    map->cap *= 2;
    map->slots = vg_calloc(map->cap, sizeof *map->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(map, old[i].key) = old[i];
    free(old);
}

struct vg_strmap *vg_strmap_new(size_t expected)
{
    struct vg_strmap *map = vg_calloc(1, sizeof *map);
    map->cap = 16;
    while (map->cap < expected * 2)
        map->cap *= 2;
    map->slots = vg_calloc(map->cap, sizeof *map->slots);
    return map;
}

void vg_strmap_free(struct vg_strmap *map)
{
    if (!map)
        return;
    free(map->slots);
    free(map);
}

int vg_strmap_put(struct vg_strmap *map, const char *key, int value)
{
    if ((map->n + 1) * 2 > map->cap)
        grow(map);
    struct slot *s = find(map, key);
    if (s->key)
        return -EEXIST;
    s->key = key;
    s->value = value;
    map->n++;
    return 0;
}

int vg_strmap_get(const struct vg_strmap *map, const char *key)
{
    if (!map || !key)
        return -1;
    const struct slot *s = find(map, key);
    return s->key ? s->value : -1;
}

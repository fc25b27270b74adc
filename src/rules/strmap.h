/*
 * strmap.h - a string -> int map for the rule engine's name lookups
 * (sensors, devices, rules, sites): open addressing, FNV-1a, built once
 * per load and read on the slow paths (vg_rules_sensor, seed, device).
 *
 * Keys are borrowed: they must outlive the map (the engine's own copies).
 */
#ifndef VG_RULES_STRMAP_H
#define VG_RULES_STRMAP_H

#include "core/vg.h"

struct vg_strmap;

struct vg_strmap *vg_strmap_new(size_t expected);
void vg_strmap_free(struct vg_strmap *map);

/* Adds key -> value; returns -EEXIST (map unchanged) if key is present. */
int vg_strmap_put(struct vg_strmap *map, const char *key, int value);

/* Value of key, -1 if absent. */
int vg_strmap_get(const struct vg_strmap *map, const char *key);

#endif

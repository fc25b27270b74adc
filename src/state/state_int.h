/*
 * state_int.h - internals of the state shared by state.c (apply) and
 * state_query.c (read side). Not for other modules.
 */
#ifndef VG_STATE_INT_H
#define VG_STATE_INT_H

#include "state/state.h"

#define HISTORY_CAP 8192
/* the history is bounded by bytes too: 8192 objects of up to a megabyte
 * each would otherwise be gigabytes */
#define HISTORY_MAX_BYTES (64u << 20)

struct history_entry {
    uint64_t revision;
    const char *type;
    json_t *packed; /* the object as it was after the change, packed */
};

struct vg_state {
    uint64_t applied_index;
    uint64_t epoch;
    json_t *kinds;  /* {kind: {name: packed object}}, see vg_state_pack */
    json_t *tokens; /* {id: {id,name,role,hash,created,revoked}} */
    size_t n_objects;
    json_t *events;    /* cluster events, oldest first, at most VG_STATE_EVENTS_CAP */
    json_t *cluster;   /* {"last_change":..,"failovers":N,"switchovers":N,"degrades":N} */
    void **slices; /* one per vg_service_data[] row: each service's part (service.h) */

    struct history_entry *history; /* ring of HISTORY_CAP */
    size_t hist_head, hist_len;
    size_t hist_bytes; /* packed text held by the history */
    uint64_t dropped_revision; /* changes <= this are no longer in history */

    vg_change_fn observer;
    void *observer_ctx;
    vg_change_fn extra_observer; /* a second one: the facility monitor */
    void *extra_observer_ctx;
    vg_record_fn record_observer; /* every record applied (the services' runner) */
    void *record_observer_ctx;
    vg_buf_t scratch; /* reused by vg_state_pack */
};

void vg_state_history_clear(vg_state_t *st);

/* One slice per service data row (service.h), and their release. */
void **vg_state_slices_new(void);
void vg_state_slices_free(void **slices);

/* Drops empty labels and description (state.c). */
void vg_state_compact(json_t *obj);

/*
 * Objects are kept packed: a JSON string value holding the object's compact
 * JSON text. A sensor held as a jansson tree cost ~1.8 KB of heap; its
 * text is ~200 bytes, and reading one back costs a parse of microseconds,
 * which readers (API calls, monitor reloads) can afford and the memory of
 * 100,000 sensors cannot. A packed value is shared (refcounted) between the
 * index and the history, never changed in place.
 */
json_t *vg_state_pack(vg_state_t *st, const json_t *obj); /* new ref */
json_t *vg_state_unpack(const json_t *packed);            /* new ref: a fresh object */

#endif

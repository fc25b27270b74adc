/*
 * due.c - when the engine must next look at each incident: a min-heap of
 * (time, id) and, per id, the one time that counts. Setting a new time
 * pushes an entry and leaves the old one behind; popping skips entries
 * that no longer count. A tick then costs what is due, not what is open:
 * 10,000 incidents waiting for their next step cost nothing until then.
 */
#include "incident/incident_int.h"

#include <stdlib.h>
#include <string.h>

void vg_due_init(struct vg_due *d)
{
    memset(d, 0, sizeof *d);
    d->at = json_object();
}

void vg_due_release(struct vg_due *d)
{
    free(d->heap);
    json_decref(d->at);
    memset(d, 0, sizeof *d);
}

void vg_due_clear(struct vg_due *d)
{
    d->n = 0;
    json_object_clear(d->at);
}

static void swap(struct vg_due_entry *a, struct vg_due_entry *b)
{
    struct vg_due_entry t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(struct vg_due *d, size_t i)
{
    while (i && d->heap[(i - 1) / 2].at > d->heap[i].at) {
        swap(&d->heap[(i - 1) / 2], &d->heap[i]);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct vg_due *d, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < d->n && d->heap[l].at < d->heap[m].at)
            m = l;
        if (r < d->n && d->heap[r].at < d->heap[m].at)
            m = r;
        if (m == i)
            return;
        swap(&d->heap[m], &d->heap[i]);
        i = m;
    }
}

static void push(struct vg_due *d, uint64_t id, int64_t at)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->heap = vg_realloc(d->heap, d->cap * sizeof *d->heap);
    }
    d->heap[d->n] = (struct vg_due_entry){at, id};
    sift_up(d, d->n++);
}

/* Entries left behind outgrow the live ones: build the heap again from
 * the times that count. */
static void compact(struct vg_due *d)
{
    const char *k;
    json_t *v;
    d->n = 0;
    json_object_foreach(d->at, k, v)
    {
        d->heap[d->n++] = (struct vg_due_entry){json_integer_value(v),
                                                strtoull(k, NULL, 10)};
    }
    for (size_t i = d->n / 2; i-- > 0;)
        sift_down(d, i);
}

void vg_due_set(struct vg_due *d, uint64_t id, int64_t at)
{
    char k[24];
    snprintf(k, sizeof k, "%llu", (unsigned long long)id);
    json_t *was = json_object_get(d->at, k);
    if (at < 0) {
        if (was)
            json_object_del(d->at, k);
        return;
    }
    if (was && json_integer_value(was) == at)
        return;
    json_object_set_new(d->at, k, json_integer(at));
    push(d, id, at);
    if (d->n > 4 * json_object_size(d->at) + 1024)
        compact(d);
}

/* Drops the entries on top that no longer count. */
static void settle(struct vg_due *d)
{
    while (d->n) {
        char k[24];
        snprintf(k, sizeof k, "%llu", (unsigned long long)d->heap[0].id);
        json_t *at = json_object_get(d->at, k);
        if (at && json_integer_value(at) == d->heap[0].at)
            return;
        d->heap[0] = d->heap[--d->n];
        sift_down(d, 0);
    }
}

int64_t vg_due_next(struct vg_due *d)
{
    settle(d);
    return d->n ? d->heap[0].at : -1;
}

int vg_due_pop(struct vg_due *d, int64_t now, uint64_t *id)
{
    settle(d);
    if (!d->n || d->heap[0].at > now)
        return 0;
    *id = d->heap[0].id;
    char k[24];
    snprintf(k, sizeof k, "%llu", (unsigned long long)*id);
    json_object_del(d->at, k);
    d->heap[0] = d->heap[--d->n];
    sift_down(d, 0);
    return 1;
}

size_t vg_due_size(const struct vg_due *d)
{
    return json_object_size(d->at);
}

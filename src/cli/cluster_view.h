/*
 * cluster_view.h - the text of `vigil cluster status` and `vigil events`,
 * made from the API's JSON (GET /api/v1/cluster, GET /api/v1/events; see
 * docs/api.md). Pure: every function appends to a buffer the caller owns
 * and prints nothing, so the unit tests check exactly what an operator
 * reads. Fields missing from an answer (an older or newer server) show as
 * "-" rather than failing.
 */
#ifndef VG_CLI_CLUSTER_VIEW_H
#define VG_CLI_CLUSTER_VIEW_H

#include <jansson.h>
#include <time.h>

#include "core/buf.h"

/* How the catch-up counts are measured: a snapshot streams bytes, a log
 * catch-up sends records. */
enum vg_progress_unit { VG_PROGRESS_COUNT, VG_PROGRESS_RECORDS, VG_PROGRESS_BYTES };

/*
 * Appends "[#####.....] 52% 2.6/5.0 MB" (bytes, in decimal units chosen by
 * the total), "[##........] 24% 1234/5000 records" or "... 1234/5000": width
 * cells, '#' for the part done. Percent and bar round down, so 100% means
 * done; done beyond total shows as full, a total of 0 as empty. Negative
 * counts are taken as 0.
 */
void vg_cluster_view_progress(vg_buf_t *out, long long done, long long total,
                              enum vg_progress_unit unit, size_t width);

/* Appends the block of one member's view (its answer to GET /api/v1/cluster,
 * received from server), with ages as seen at now. */
void vg_cluster_view_status(vg_buf_t *out, const char *server, const json_t *view, time_t now);

/* Appends the block of a server that gave no view: label is "UNREACHABLE"
 * or "ERROR", why the message. */
void vg_cluster_view_failed(vg_buf_t *out, const char *server, const char *label,
                            const char *why);

/* Appends warnings when the views that answered (NULL entries are skipped)
 * disagree on the epoch or the primary, or more than one member acts as
 * primary; appends nothing when fewer than two answered or all agree. */
void vg_cluster_view_compare(vg_buf_t *out, const json_t *const *views, size_t n_views);

/* info 0, warning 1, critical 2; -1 for anything else. */
int vg_cluster_view_severity(const char *name);

/* A new array of the events of items whose severity ranks at least
 * min_severity, the newest `limit` of them (0: all), oldest first. */
json_t *vg_cluster_view_filter_events(const json_t *items, int min_severity, size_t limit);

/* Appends the table of events: TIME SEVERITY KIND MEMBER EPOCH MESSAGE
 * (wide: INDEX before MESSAGE), severity in colour when colour is set. */
void vg_cluster_view_events(vg_buf_t *out, const json_t *items, int wide, int colour);

#endif

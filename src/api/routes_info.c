/*
 * routes_info.c - read-only views of the member: kinds and their schemas,
 * status for operators and the CLI, and Prometheus metrics.
 */
#include "api/api_int.h"


#include "core/buf.h"
#include "schema/schema.h"
#include "state/state.h"

void vg_api_kinds(struct vg_call *call)
{
    json_t *items = json_array();
    const struct vg_kind *const *k = vg_schema_kinds();
    for (size_t i = 0; k[i]; i++)
        json_array_append_new(items, vg_schema_describe(k[i]));
    json_t *body = json_pack("{s:o}", "items", items);
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

void vg_api_status(struct vg_call *call)
{
    struct vg_server *srv = call->srv;
    vg_state_t *st = vg_member_state(srv->member);
    vg_log_t *log = vg_member_log(srv->member);
    struct vg_log_stats ls;
    vg_log_get_stats(log, &ls);
    json_t *body = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:{s:I, s:I, s:I, s:I, s:I}}", "version",
        VG_VERSION, "role", srv->cluster ? vg_cluster_role_name(srv->cluster) : "standalone",
        "epoch", (json_int_t)vg_state_epoch(st), "commit_index",
        (json_int_t)vg_state_applied_index(st), "durable_index",
        (json_int_t)vg_log_durable_index(log), "objects", (json_int_t)vg_state_n_objects(st),
        "uptime_s", (json_int_t)((vg_mono_ms() - srv->start_ms) / 1000), "writable",
        vg_member_writable(srv->member), "watchers", (json_int_t)srv->n_watchers, "log",
        "first_index", (json_int_t)vg_log_first_index(log), "segments",
        (json_int_t)ls.n_segments, "bytes", (json_int_t)ls.bytes_on_disk, "fsyncs",
        (json_int_t)ls.n_fsyncs, "snapshot_index", (json_int_t)ls.snapshot_index);
    vg_api_reply_json(srv, call->req, 200, body);
    json_decref(body);
}

static int services_disk_full(const struct vg_server *srv)
{
    for (size_t i = 0; i < srv->n_services; i++)
        if (srv->services[i].def->disk_full &&
            srv->services[i].def->disk_full(srv->services[i].instance))
            return 1;
    return 0;
}

static void metric(vg_buf_t *b, const char *name, const char *type, const char *help,
                   double value)
{
    vg_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
                  value);
}

static void commit_histogram(vg_buf_t *b, vg_member_t *m)
{
    const double *bounds;
    const uint64_t *counts;
    double sum;
    uint64_t n;
    vg_member_commit_latency(m, &bounds, &counts, &sum, &n);
    const char *name = "vigil_commit_duration_seconds";
    vg_buf_printf(b, "# HELP %s Time from append to commit of a write.\n# TYPE %s histogram\n",
                  name, name);
    for (int i = 0; i < VG_MEMBER_LAT_BUCKETS; i++)
        vg_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                      (unsigned long long)counts[i]);
    vg_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", name,
                  (unsigned long long)n, name, sum, name, (unsigned long long)n);
}

void vg_api_metrics(struct vg_call *call)
{
    struct vg_server *srv = call->srv;
    vg_state_t *st = vg_member_state(srv->member);
    vg_log_t *log = vg_member_log(srv->member);
    struct vg_log_stats ls;
    vg_log_get_stats(log, &ls);
    vg_buf_t b = VG_BUF_INIT;
    metric(&b, "vigil_up", "gauge", "1 while vigild serves.", 1);
    metric(&b, "vigil_epoch", "gauge", "Current configuration epoch.",
           (double)vg_state_epoch(st));
    metric(&b, "vigil_commit_index", "gauge", "Index of the last committed record.",
           (double)vg_state_applied_index(st));
    metric(&b, "vigil_durable_index", "gauge", "Index of the last fsynced record.",
           (double)vg_log_durable_index(log));
    metric(&b, "vigil_objects", "gauge", "Objects in the state.",
           (double)vg_state_n_objects(st));
    metric(&b, "vigil_log_segments", "gauge", "Log segment files.", (double)ls.n_segments);
    metric(&b, "vigil_log_bytes", "gauge", "Bytes of log segments on disk.",
           (double)ls.bytes_on_disk);
    metric(&b, "vigil_log_fsyncs_total", "counter", "fdatasync calls of the log writer.",
           (double)ls.n_fsyncs);
    metric(&b, "vigil_log_records_total", "counter", "Records written by the log writer.",
           (double)ls.n_records_written);
    metric(&b, "vigil_snapshot_index", "gauge", "Index of the newest snapshot.",
           (double)ls.snapshot_index);
    metric(&b, "vigil_writes_pending", "gauge", "Writes waiting for commit.",
           (double)vg_member_n_pending(srv->member));
    metric(&b, "vigil_writes_pending_bound", "gauge",
           "Writes waiting for commit past which new writes get 503 with Retry-After.",
           (double)srv->max_pending);
    metric(&b, "vigil_writes_refused_busy_total", "counter",
           "Writes refused because too many were waiting to commit.",
           (double)srv->n_backpressure);
    metric(&b, "vigil_disk_full", "gauge",
           "1 while the data directory is out of space: writes and pushed readings get 507.",
           vg_member_disk_full(srv->member) ||
               services_disk_full(srv));
    metric(&b, "vigil_watchers", "gauge", "Open watch streams.", (double)srv->n_watchers);
    metric(&b, "vigil_watchers_bound", "gauge", "Watch streams past which a new one gets 429.",
           (double)srv->max_watchers);
    metric(&b, "vigil_watchers_refused_total", "counter", "Watch streams refused with 429.",
           (double)srv->n_watch_refused);
    metric(&b, "vigil_http_connections", "gauge", "Open API connections.",
           (double)vg_api_conn_count(srv));
    metric(&b, "vigil_http_connections_bound", "gauge",
           "API connections past which a new one gets 503 and is closed.",
           (double)srv->max_conns);
    metric(&b, "vigil_http_connections_refused_total", "counter",
           "Connections refused past the bound.", (double)srv->n_conn_refused);
    metric(&b, "vigil_http_request_deadline_seconds", "gauge",
           "A whole request must arrive within this, or its connection is closed.",
           (double)srv->request_deadline_ms / 1000.0);
    metric(&b, "vigil_http_deadline_closed_total", "counter",
           "Connections closed for not sending a whole request in time.",
           (double)srv->n_conn_deadline);
    metric(&b, "vigil_auth_failures_total", "counter", "Requests refused for a bad token.",
           (double)srv->auth_failures);
    const char *role = srv->cluster ? vg_cluster_role_name(srv->cluster) : "standalone";
    metric(&b, "vigil_role", "gauge", "Role: 0 standalone, 1 primary, 2 mirror, 3 none.",
           !strcmp(role, "primary")  ? 1
           : !strcmp(role, "mirror") ? 2
           : !strcmp(role, "none")   ? 3
                                     : 0);
    if (srv->cluster)
        vg_cluster_metrics(srv->cluster, &b);
    for (size_t i = 0; i < srv->n_services; i++)
        if (srv->services[i].def->metrics)
            srv->services[i].def->metrics(srv->services[i].instance, &b);
    commit_histogram(&b, srv->member);
    vg_buf_adds(&b, "# HELP vigil_http_responses_total HTTP responses by status code.\n"
                    "# TYPE vigil_http_responses_total counter\n");
    for (int code = 100; code < 600; code++)
        if (srv->http_codes[code])
            vg_buf_printf(&b, "vigil_http_responses_total{code=\"%d\"} %llu\n", code,
                          (unsigned long long)srv->http_codes[code]);
    vg_api_reply_text(srv, call->req, 200, "text/plain; version=0.0.4", (char *)b.data, b.len);
    vg_buf_release(&b);
}

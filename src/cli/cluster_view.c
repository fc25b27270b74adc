/*
 * cluster_view.c - the text of `vigil cluster status` and `vigil events`
 * (see cluster_view.h). One member's view is a block of "label: value"
 * lines, then a table of the members as this one sees them, then the
 * catch-up progress when a mirror is being brought up to date.
 *
 * Everything in a view comes from the server: strings are appended with
 * control characters as '?', so a reason or a name cannot drive the
 * terminal or fake a line.
 */
#include "cli/cluster_view.h"

#include "cli/cli.h"

#define LABEL_WIDTH 14
#define BAR_WIDTH   10

/* ---- small pieces ------------------------------------------------------ */

static void add_text(vg_buf_t *out, const char *text)
{
    for (const char *p = text ? text : "-"; *p; p++) {
        char ch = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
        vg_buf_add(out, &ch, 1);
    }
}

static void add_label(vg_buf_t *out, const char *label)
{
    vg_buf_printf(out, "  %-*s", LABEL_WIDTH, label);
}

static long long int_or(const json_t *obj, const char *key, long long fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

/* An integer member as text, "-" when absent. */
static void add_int(vg_buf_t *out, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        vg_buf_printf(out, "%lld", (long long)json_integer_value(v));
    else
        vg_buf_adds(out, "-");
}

/* An integer member as a table cell, "-" when absent. */
static const char *int_cell(const json_t *obj, const char *key, char *cell, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return "-";
    snprintf(cell, len, "%lld", (long long)json_integer_value(v));
    return cell;
}

/* "dc1, dc2" from an array of names; "-" when there are none. */
static void add_names(vg_buf_t *out, const json_t *names)
{
    size_t i;
    const json_t *name;
    if (json_array_size(names) == 0) {
        vg_buf_adds(out, "-");
        return;
    }
    json_array_foreach(names, i, name)
    {
        vg_buf_adds(out, i ? ", " : "");
        add_text(out, json_string_value(name));
    }
}

static int has_name(const json_t *names, const char *wanted)
{
    size_t i;
    const json_t *name;
    json_array_foreach(names, i, name)
    {
        if (wanted && json_is_string(name) && strcmp(json_string_value(name), wanted) == 0)
            return 1;
    }
    return 0;
}

/* "12 ms ago", "3.2 s ago", "5 min ago"; "never" without a number. */
static void add_heard(vg_buf_t *out, const json_t *ms_value)
{
    if (!json_is_integer(ms_value) || json_integer_value(ms_value) < 0) {
        vg_buf_adds(out, "never");
        return;
    }
    long long ms = (long long)json_integer_value(ms_value);
    if (ms < 1000)
        vg_buf_printf(out, "%lld ms ago", ms);
    else if (ms < 120 * 1000)
        vg_buf_printf(out, "%lld.%lld s ago", ms / 1000, ms % 1000 / 100);
    else
        vg_buf_printf(out, "%lld min ago", ms / 60000);
}

static void add_count(vg_buf_t *out, long long n, const char *noun)
{
    if (n < 0)
        vg_buf_printf(out, "- %ss", noun);
    else
        vg_buf_printf(out, "%lld %s%s", n, noun, n == 1 ? "" : "s");
}

/* ---- progress ---------------------------------------------------------- */

/* "2.6/5.0 MB": both in the unit the total needs, tenths rounded down. */
static void add_sizes(vg_buf_t *out, unsigned long long done, unsigned long long total)
{
    static const struct {
        const char *name;
        unsigned long long size;
    } units[] = {{"GB", 1000000000ull}, {"MB", 1000000ull}, {"kB", 1000ull}};
    for (size_t i = 0; i < VG_ARRAY_LEN(units); i++) {
        unsigned long long u = units[i].size;
        if (total >= u) {
            vg_buf_printf(out, "%llu.%llu/%llu.%llu %s", done / u, done % u * 10 / u, total / u,
                          total % u * 10 / u, units[i].name);
            return;
        }
    }
    vg_buf_printf(out, "%llu/%llu B", done, total);
}

void vg_cluster_view_progress(vg_buf_t *out, long long done, long long total,
                              enum vg_progress_unit unit, size_t width)
{
    unsigned long long d = done > 0 ? (unsigned long long)done : 0;
    unsigned long long t = total > 0 ? (unsigned long long)total : 0;
    if (d > t)
        d = t;
    /* scaled down so that d * 100 and d * width cannot overflow */
    unsigned long long sd = d, st = t;
    while (st > (1ull << 50))
        sd >>= 10, st >>= 10;
    size_t filled = st ? (size_t)(sd * width / st) : 0;
    unsigned percent = st ? (unsigned)(sd * 100 / st) : 0;

    vg_buf_adds(out, "[");
    for (size_t i = 0; i < width; i++)
        vg_buf_add(out, i < filled ? "#" : ".", 1);
    vg_buf_printf(out, "] %u%% ", percent);
    if (unit == VG_PROGRESS_BYTES)
        add_sizes(out, d, t);
    else
        vg_buf_printf(out, "%llu/%llu%s", d, t, unit == VG_PROGRESS_RECORDS ? " records" : "");
}

/* ---- one member's view ------------------------------------------------- */

static void add_role_line(vg_buf_t *out, const json_t *view)
{
    const char *role = vg_cli_str(view, "role", NULL);
    add_label(out, "role:");
    add_text(out, role);
    /* "acting" is about the primary's role: whether it serves writes now */
    if (role && strcmp(role, "none") == 0)
        vg_buf_adds(out, " (neither primary nor mirror: serves no writes)");
    else if (role && strcmp(role, "primary") == 0)
        vg_buf_adds(out, json_is_true(json_object_get(view, "acting"))
                             ? " (acting)"
                             : " (not acting: serves no writes)");
    vg_buf_adds(out, "\n");
}

/* "NAME[ at ADDRESS]: STATE, last heard T ago", for the witness and the
 * peer: STATE is yes or no by the boolean member flag. */
static void add_contact_line(vg_buf_t *out, const char *label, const json_t *who,
                             const char *flag, const char *yes, const char *no)
{
    add_label(out, label);
    if (!json_is_object(who)) {
        vg_buf_adds(out, "-\n");
        return;
    }
    add_text(out, vg_cli_str(who, "name", "?"));
    const char *address = vg_cli_str(who, "address", NULL);
    if (address) {
        vg_buf_adds(out, " at ");
        add_text(out, address);
    }
    vg_buf_printf(out, ": %s, last heard ",
                  json_is_true(json_object_get(who, flag)) ? yes : no);
    add_heard(out, json_object_get(who, "last_heard_ms"));
    vg_buf_adds(out, "\n");
}

static void add_pending_line(vg_buf_t *out, const json_t *pending)
{
    add_label(out, "witness req:");
    if (!json_is_object(pending)) {
        vg_buf_adds(out, "none pending\n");
        return;
    }
    add_text(out, vg_cli_str(pending, "op", "?"));
    vg_buf_adds(out, " pending, expecting epoch ");
    add_int(out, pending, "expect_epoch");
    vg_buf_adds(out, "\n");
}

static void add_change_line(vg_buf_t *out, const json_t *change, time_t now)
{
    char age[32];
    add_label(out, "last change:");
    if (!json_is_object(change)) {
        vg_buf_adds(out, "none\n");
        return;
    }
    const char *at = vg_cli_str(change, "at", NULL);
    const char *op = vg_cli_str(change, "op", NULL);
    vg_cli_age_at(at, now, age, sizeof age);
    if (op) {
        add_text(out, op);
        vg_buf_adds(out, " ");
    }
    if (json_is_true(json_object_get(change, "forced")))
        vg_buf_adds(out, "(forced) ");
    vg_buf_adds(out, "by ");
    add_text(out, vg_cli_str(change, "by", "?"));
    vg_buf_adds(out, " at epoch ");
    add_int(out, change, "epoch");
    vg_buf_printf(out, ", %s ago (", age);
    add_text(out, at);
    vg_buf_adds(out, "), took ");
    add_int(out, change, "took_ms");
    vg_buf_adds(out, " ms\n");
    const char *reason = vg_cli_str(change, "reason", NULL);
    if (reason && *reason) {
        add_label(out, "");
        vg_buf_adds(out, "reason: ");
        add_text(out, reason);
        vg_buf_adds(out, "\n");
    }
}

static void add_counts_line(vg_buf_t *out, const json_t *view)
{
    add_label(out, "history:");
    add_count(out, int_or(view, "failovers", -1), "failover");
    vg_buf_adds(out, ", ");
    add_count(out, int_or(view, "switchovers", -1), "switchover");
    vg_buf_adds(out, ", ");
    add_count(out, int_or(view, "degrades", -1), "degrade");
    vg_buf_adds(out, "\n");
}

/* The role this member gives its peer: whoever the view names primary. */
static const char *peer_role(const json_t *view, const char *peer_name)
{
    const char *primary = vg_cli_str(view, "primary", NULL);
    if (!primary || !peer_name)
        return "-";
    return strcmp(primary, peer_name) == 0 ? "primary" : "mirror";
}

static void add_members_table(vg_buf_t *out, const json_t *view)
{
    static const char *const headers[] = {"MEMBER",  "ROLE",   "SYNC",  "LAST",
                                          "DURABLE", "COMMIT", "ACKED", "LAG"};
    const json_t *self = json_object_get(view, "self");
    const json_t *peer = json_object_get(view, "peer");
    const json_t *sync = json_object_get(view, "sync");
    const char *name = vg_cli_str(view, "member", "?");
    const char *role = vg_cli_str(view, "role", "-");
    char last[24], durable[24], commit[24], acked[24], lag[24];
    struct vg_table *t = vg_table_new(VG_ARRAY_LEN(headers), headers);

    /* the lag is the mirror's: how far it is behind the primary */
    const char *self_cells[] = {
        name,
        role,
        has_name(sync, name) ? "yes" : "no",
        int_cell(self, "last_index", last, sizeof last),
        int_cell(self, "durable_index", durable, sizeof durable),
        int_cell(self, "commit_index", commit, sizeof commit),
        "-",
        strcmp(role, "mirror") == 0 ? int_cell(peer, "lag", lag, sizeof lag) : "-"};
    vg_table_add(t, self_cells);
    if (json_is_object(peer)) {
        const char *peer_name = vg_cli_str(peer, "name", "?");
        const char *their_role = peer_role(view, peer_name);
        const char *peer_cells[] = {
            peer_name,
            their_role,
            has_name(sync, peer_name) ? "yes" : "no",
            "-",
            int_cell(peer, "durable_index", durable, sizeof durable),
            "-",
            int_cell(peer, "acked_index", acked, sizeof acked),
            strcmp(their_role, "mirror") == 0 ? int_cell(peer, "lag", lag, sizeof lag) : "-"};
        vg_table_add(t, peer_cells);
    }
    vg_buf_t text = VG_BUF_INIT;
    vg_table_format(t, &text);
    for (const char *line = (const char *)text.data; line && *line;) {
        size_t len = strcspn(line, "\n");
        vg_buf_adds(out, "  ");
        vg_buf_add(out, line, len + (line[len] == '\n'));
        line += len + (line[len] == '\n');
    }
    vg_buf_release(&text);
    vg_table_free(t);
}

static void add_catchup_line(vg_buf_t *out, const json_t *catchup)
{
    if (!json_is_object(catchup))
        return;
    const char *mode = vg_cli_str(catchup, "mode", "?");
    enum vg_progress_unit unit = strcmp(mode, "snapshot") == 0 ? VG_PROGRESS_BYTES
                                 : strcmp(mode, "log") == 0    ? VG_PROGRESS_RECORDS
                                                               : VG_PROGRESS_COUNT;
    vg_buf_adds(out, "  catch-up (");
    add_text(out, mode);
    vg_buf_adds(out, ") ");
    vg_cluster_view_progress(out, int_or(catchup, "done", 0), int_or(catchup, "total", 0), unit,
                             BAR_WIDTH);
    vg_buf_adds(out, "\n");
}

void vg_cluster_view_status(vg_buf_t *out, const char *server, const json_t *view, time_t now)
{
    add_text(out, vg_cli_str(view, "member", "?"));
    vg_buf_adds(out, " (site ");
    add_text(out, vg_cli_str(view, "site", "-"));
    vg_buf_adds(out, ") at ");
    add_text(out, server);
    vg_buf_adds(out, "\n");
    add_role_line(out, view);
    add_label(out, "epoch:");
    add_int(out, view, "epoch");
    vg_buf_adds(out, "\n");
    add_label(out, "primary:");
    add_text(out, vg_cli_str(view, "primary", "none"));
    vg_buf_adds(out, "\n");
    add_label(out, "sync set:");
    add_names(out, json_object_get(view, "sync"));
    vg_buf_adds(out, " (members: ");
    add_names(out, json_object_get(view, "members"));
    vg_buf_adds(out, ")\n");
    add_contact_line(out, "witness:", json_object_get(view, "witness"), "reachable",
                     "reachable", "UNREACHABLE");
    add_contact_line(out, "peer link:", json_object_get(view, "peer"), "connected", "connected",
                     "DISCONNECTED");
    const char *problem = vg_cli_str(json_object_get(view, "peer"), "problem", NULL);
    if (problem) { /* why the link does not come up: the operator's to fix */
        add_label(out, "PROBLEM:");
        add_text(out, problem);
        vg_buf_adds(out, "\n");
    }
    add_pending_line(out, json_object_get(view, "pending_request"));
    add_change_line(out, json_object_get(view, "last_change"), now);
    add_counts_line(out, view);
    vg_buf_adds(out, "\n");
    add_members_table(out, view);
    add_catchup_line(out, json_object_get(view, "catchup"));
}

void vg_cluster_view_failed(vg_buf_t *out, const char *server, const char *label,
                            const char *why)
{
    add_text(out, server);
    vg_buf_printf(out, ": %s\n  ", label);
    add_text(out, why);
    vg_buf_adds(out, "\n");
}

/* ---- several views ----------------------------------------------------- */

static int same_view(const json_t *a, const json_t *b)
{
    const char *pa = vg_cli_str(a, "primary", ""), *pb = vg_cli_str(b, "primary", "");
    return int_or(a, "epoch", -1) == int_or(b, "epoch", -1) && strcmp(pa, pb) == 0;
}

static int acts_as_primary(const json_t *view)
{
    const char *role = vg_cli_str(view, "role", "");
    return strcmp(role, "primary") == 0 && json_is_true(json_object_get(view, "acting"));
}

void vg_cluster_view_compare(vg_buf_t *out, const json_t *const *views, size_t n_views)
{
    const json_t *first = NULL;
    int differ = 0;
    size_t n_acting = 0;

    for (size_t i = 0; i < n_views; i++) {
        if (!views[i])
            continue;
        if (!first)
            first = views[i];
        else if (!same_view(first, views[i]))
            differ = 1;
        n_acting += acts_as_primary(views[i]);
    }
    if (differ) {
        vg_buf_adds(out, "warning: the members disagree:");
        for (size_t i = 0, n = 0; i < n_views; i++) {
            if (!views[i])
                continue;
            vg_buf_adds(out, n++ ? "; " : " ");
            add_text(out, vg_cli_str(views[i], "member", "?"));
            vg_buf_adds(out, " sees epoch ");
            add_int(out, views[i], "epoch");
            vg_buf_adds(out, ", primary ");
            add_text(out, vg_cli_str(views[i], "primary", "none"));
        }
        vg_buf_adds(out, " (the view with the higher epoch is the newer)\n");
    }
    if (n_acting > 1)
        vg_buf_printf(out, "warning: %zu members act as primary at once\n", n_acting);
}

/* ---- events ------------------------------------------------------------ */

int vg_cluster_view_severity(const char *name)
{
    static const char *const ranks[] = {"info", "warning", "critical"};
    for (size_t i = 0; name && i < VG_ARRAY_LEN(ranks); i++)
        if (strcmp(name, ranks[i]) == 0)
            return (int)i;
    return -1;
}

json_t *vg_cluster_view_filter_events(const json_t *items, int min_severity, size_t limit)
{
    json_t *kept = json_array();
    size_t i;
    json_t *event;

    json_array_foreach(items, i, event)
    {
        if (vg_cluster_view_severity(vg_cli_str(event, "severity", NULL)) >= min_severity)
            json_array_append(kept, event);
    }
    if (limit == 0 || json_array_size(kept) <= limit)
        return kept;
    json_t *newest = json_array();
    for (i = json_array_size(kept) - limit; i < json_array_size(kept); i++)
        json_array_append(newest, json_array_get(kept, i));
    json_decref(kept);
    return newest;
}

/* SEVERITY is column 1 in both layouts. */
static const char *severity_colour(size_t col, const char *cell)
{
    if (col != 1)
        return NULL;
    switch (vg_cluster_view_severity(cell)) {
    case 2:
        return "1;31"; /* bold red */
    case 1:
        return "33"; /* yellow */
    default:
        return NULL;
    }
}

void vg_cluster_view_events(vg_buf_t *out, const json_t *items, int wide, int colour)
{
    static const char *const headers[] = {"TIME",  "SEVERITY", "KIND",   "MEMBER",
                                          "EPOCH", "INDEX",    "MESSAGE"};
    static const char *const narrow_headers[] = {"TIME",   "SEVERITY", "KIND",
                                                 "MEMBER", "EPOCH",    "MESSAGE"};
    struct vg_table *t = wide ? vg_table_new(7, headers) : vg_table_new(6, narrow_headers);
    size_t i;
    const json_t *event;
    char epoch[24], index[24];

    json_array_foreach(items, i, event)
    {
        const char *cells[7] = {
            vg_cli_str(event, "time", "-"), vg_cli_str(event, "severity", "-"),
            vg_cli_str(event, "kind", "-"), vg_cli_str(event, "member", "-"),
            int_cell(event, "epoch", epoch, sizeof epoch)};
        size_t n = 5;
        if (wide)
            cells[n++] = int_cell(event, "index", index, sizeof index);
        cells[n] = vg_cli_str(event, "message", "");
        vg_table_add(t, cells);
    }
    if (colour)
        vg_table_set_colour(t, severity_colour);
    vg_table_format(t, out);
    vg_table_free(t);
}

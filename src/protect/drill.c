/*
 * drill.c - a DR drill's measurements and its report (drill.h). Pure:
 * the events in, the numbers out; the same events give the same report on
 * either site.
 *
 * A service's recovery time is counted from the drill step's start (the
 * moment the drill asked for the switchover) to its last step of the new
 * epoch's move (its health check answering at the new site, when it has
 * one), so it includes the vigil role move before it.
 */
#include "protect/drill.h"

#include "core/timefmt.h"

static const char *s_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t i_of(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

int64_t vg_drill_event_ms(const char *t)
{
    char whole[24];
    int64_t ms;
    if (!t || strlen(t) < 19)
        return 0;
    snprintf(whole, sizeof whole, "%.19sZ", t);
    if (vg_time_parse_utc(whole, &ms))
        return 0;
    if (t[19] == '.' && t[20] >= '0' && t[20] <= '9' && t[21] >= '0' && t[21] <= '9' &&
        t[22] >= '0' && t[22] <= '9')
        ms += (t[20] - '0') * 100 + (t[21] - '0') * 10 + (t[22] - '0');
    return ms;
}

static int of_epoch(const json_t *ev, const char *kind, uint64_t epoch)
{
    const char *k = s_of(ev, "kind");
    return k && !strcmp(k, kind) && (uint64_t)i_of(ev, "epoch") == epoch;
}

/* The agents' service_move done event of epoch, or NULL. */
static const json_t *move_done(const json_t *events, uint64_t epoch)
{
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *phase = s_of(ev, "phase");
        if (of_epoch(ev, "service_move", epoch) && phase && !strcmp(phase, "done"))
            return ev;
    }
    return NULL;
}

/* {service: {service, site, rto_ms, result}} from the steps of epoch up to
 * until_ms, in the order the services first appear. */
static json_t *services_of(const json_t *events, uint64_t epoch, int64_t started,
                           int64_t until_ms)
{
    json_t *per = json_object(), *out = json_array();
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *service = s_of(ev, "service"), *result = s_of(ev, "result");
        int64_t at = vg_drill_event_ms(s_of(ev, "time"));
        if (!of_epoch(ev, "service_step", epoch) || !service || !result || at > until_ms ||
            json_is_true(json_object_get(ev, "enforced")))
            continue;
        json_t *row = json_object_get(per, service);
        if (!row) {
            row = json_pack("{s:s,s:s,s:s}", "service", service, "site", "?", "result", "ok");
            json_object_set(per, service, row);
            json_array_append_new(out, row);
        }
        const char *step = s_of(ev, "step");
        if (step && strcmp(step, "fence") && s_of(ev, "site"))
            json_object_set_new(row, "site", json_string(s_of(ev, "site")));
        json_object_set_new(row, "rto_ms", json_integer(at > started ? at - started : 0));
        if (strcmp(result, "ok") && strcmp(result, "unreachable"))
            json_object_set_new(row, "result", json_string(result));
    }
    json_decref(per);
    return out;
}

int vg_drill_measure(const json_t *events, uint64_t epoch, int with_services, json_t *step)
{
    int64_t started = i_of(step, "started"), role_at = 0;
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (of_epoch(ev, "switchover", epoch) || of_epoch(ev, "failover", epoch))
            role_at = vg_drill_event_ms(s_of(ev, "time"));
    }
    if (!role_at)
        return 0;
    json_object_set_new(step, "vigil_ms",
                        json_integer(role_at > started ? role_at - started : 0));
    const json_t *done = with_services ? move_done(events, epoch) : NULL;
    if (with_services && !done)
        return 0;
    int64_t ended = done ? vg_drill_event_ms(s_of(done, "time")) : role_at;
    json_t *services = services_of(events, epoch, started, done ? ended : 0);
    json_int_t failed = done ? json_integer_value(json_object_get(done, "failed")) : 0;
    json_object_set_new(step, "services", services);
    json_object_set_new(step, "ended", json_integer(ended));
    json_object_set_new(step, "duration_ms",
                        json_integer(ended > started ? ended - started : 0));
    json_object_set_new(step, "result", json_string(failed ? "failed" : "ok"));
    if (failed) {
        char msg[160];
        snprintf(msg, sizeof msg, "%lld service(s) not moved", (long long)failed);
        json_object_set_new(step, "message", json_string(msg));
    }
    return 1;
}

/* ---- the report ---- */

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
    const char *s = s_of(o, k);
    return s ? s : dflt;
}

/* Text for a Markdown table cell: '|' and line breaks would end it. */
static void cell(vg_buf_t *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            vg_buf_adds(out, "\\|");
        else if (*s == '\n' || *s == '\r')
            vg_buf_adds(out, " ");
        else
            vg_buf_add(out, s, 1);
    }
}

static void when(vg_buf_t *out, const json_t *o, const char *k)
{
    char at[32];
    if (!json_is_integer(json_object_get(o, k))) {
        vg_buf_adds(out, "?");
        return;
    }
    vg_time_format_utc(i_of(o, k), at);
    vg_buf_adds(out, at);
}

static void ms_cell(vg_buf_t *out, const json_t *o, const char *k)
{
    if (json_is_integer(json_object_get(o, k)))
        vg_buf_printf(out, "%lld ms", (long long)i_of(o, k));
    else
        vg_buf_adds(out, "-");
}

static void steps_table(const json_t *steps, vg_buf_t *out)
{
    size_t i;
    const json_t *st;
    vg_buf_adds(out, "\n## Steps\n\n| step | from | to | vigil role | took | result |\n"
                     "|---|---|---|---|---|---|\n");
    json_array_foreach(steps, i, st)
    {
        vg_buf_adds(out, "| ");
        cell(out, str_or(st, "name", "?"));
        vg_buf_adds(out, " | ");
        cell(out, str_or(st, "from", "?"));
        vg_buf_adds(out, " | ");
        cell(out, str_or(st, "to", "?"));
        vg_buf_adds(out, " | ");
        ms_cell(out, st, "vigil_ms");
        vg_buf_adds(out, " | ");
        ms_cell(out, st, "duration_ms");
        vg_buf_adds(out, " | ");
        cell(out, str_or(st, "result", "?"));
        if (s_of(st, "message")) {
            vg_buf_adds(out, ": ");
            cell(out, s_of(st, "message"));
        }
        vg_buf_adds(out, " |\n");
    }
}

static void rto_table(const json_t *steps, vg_buf_t *out)
{
    size_t i, j;
    const json_t *st, *sv;
    int any = 0;
    json_array_foreach(steps, i, st)
    {
        json_array_foreach(json_object_get(st, "services"), j, sv)
        {
            if (!any++)
                vg_buf_adds(out, "\n## Recovery time per service\n\n"
                                 "| step | service | site | RTO | result |\n"
                                 "|---|---|---|---|---|\n");
            vg_buf_adds(out, "| ");
            cell(out, str_or(st, "name", "?"));
            vg_buf_adds(out, " | ");
            cell(out, str_or(sv, "service", "?"));
            vg_buf_adds(out, " | ");
            cell(out, str_or(sv, "site", "?"));
            vg_buf_adds(out, " | ");
            ms_cell(out, sv, "rto_ms");
            vg_buf_adds(out, " | ");
            cell(out, str_or(sv, "result", "?"));
            vg_buf_adds(out, " |\n");
        }
    }
    if (!any)
        vg_buf_adds(out, "\nNo Service objects: only vigil's own role moved.\n");
}

void vg_drill_markdown(const json_t *drill, vg_buf_t *out)
{
    const json_t *loss = json_object_get(drill, "data_loss");
    vg_buf_adds(out, "# DR drill ");
    cell(out, str_or(drill, "id", "?"));
    vg_buf_adds(out, "\n\n- result: **");
    cell(out, str_or(drill, "state", "?"));
    vg_buf_adds(out, "**");
    if (s_of(drill, "why")) {
        vg_buf_adds(out, " (");
        cell(out, s_of(drill, "why"));
        vg_buf_adds(out, ")");
    }
    vg_buf_adds(out, "\n- reason: ");
    cell(out, str_or(drill, "reason", "-"));
    vg_buf_adds(out, "\n- by: ");
    cell(out, str_or(drill, "by", "?"));
    vg_buf_adds(out, "\n- started: ");
    when(out, drill, "started");
    vg_buf_adds(out, "\n- ended: ");
    when(out, drill, "ended");
    vg_buf_adds(out, "\n- primary at the start: ");
    cell(out, str_or(drill, "from", "?"));
    vg_buf_printf(out, "\n- switch back: %s",
                  json_is_true(json_object_get(drill, "switch_back")) ? "yes" : "no");
    if (json_is_object(loss))
        vg_buf_printf(out, "\n- data loss: %lld of %lld markers lost",
                      (long long)i_of(loss, "markers_lost"),
                      (long long)i_of(loss, "markers_written"));
    else
        vg_buf_adds(out, "\n- data loss: not measured");
    vg_buf_adds(out, "\n");
    steps_table(json_object_get(drill, "steps"), out);
    rto_table(json_object_get(drill, "steps"), out);
}

/*
 * cmd_demo.c - `vigil demo scenario NAME` and `vigil demo heal`: drive the
 * demo that scripts/demo.sh runs on this machine so that each part of the
 * story shows within seconds, and say what to watch for.
 *
 * A scenario is a simulator scenario on the right site's sim devices (sped
 * up through POST /api/v1/sim/DEVICE so it shows within 30 s), a member
 * killed with SIGKILL, or the member link cut with nftables (demo_local.c).
 * The command then waits for the outcomes a person would look for, through
 * the API (demo_watch.c). heal undoes everything: simulators reset to
 * steady state at their configured speed, the link restored, a killed
 * member started again. Nothing here works outside a demo's directory.
 */
#include "cli/cli.h"

#include "cli/demo.h"
#include "cli/demo_watch.h"

enum { OPT_LIST = 256, OPT_NO_WAIT, OPT_WAIT, OPT_DIR };

#define DEFAULT_WAIT_S 30
#define POLL_TIMEOUT_S 5

/* A scenario of the simulators: which devices play what, how fast, and
 * what shows at the site. */
struct sim_scenario {
    const char *base, *sim;
    int all_devices; /* power is site-wide; the rest is hall A's device */
    double speed;    /* 0: as it runs */
    int moves;       /* at the primary's site, the protect service moves the role */
    const char *rules[VG_DEMO_MAX_RULES + 1], *levels[VG_DEMO_MAX_RULES];
    const char *alarm; /* what shows at the site, for "watch:" */
};

static const struct sim_scenario sims[] = {
    {"fire",
     "fire",
     0,
     20,
     1,
     {"smoke", "vesda-alarm", NULL},
     {"critical", "critical"},
     "the fire alarm in hall A (smoke and VESDA, then the gas discharge)"},
    {"cooling-failure",
     "cooling-failure",
     0,
     15,
     1,
     {"cooling-stopped", "ashrae-a1-forecast", "ashrae-a1-inlet", NULL},
     /* the forecast may be raised suppressed (under cooling-stopped) */
     {"critical", NULL, NULL},
     "hall A's CRAH units stopped, the inlet forecast firing, then the inlets past 27 degC"},
    {"mains-loss",
     "mains-loss",
     1,
     20,
     0,
     {"mains-lost", "ats-on-generator", NULL},
     {"critical", NULL},
     "mains lost, the UPS bridging, the generator started and the ATS on generator"},
    {"generator-fail",
     "generator-fails-to-start",
     1,
     20,
     1,
     {"mains-lost", "mains-lost-generator-not-running", NULL},
     {"critical", NULL},
     "mains lost with the generator not starting: the UPS running flat"},
    {"leak",
     "leak",
     0,
     0,
     1,
     {"water-leak", NULL},
     {"critical"},
     "water under hall A's raised floor"},
    {"door-forced",
     "door-forced",
     0,
     0,
     0,
     {"door-forced", NULL},
     {NULL},
     "hall A's door and the entrance forced"},
    {"camera-down",
     "camera-down",
     0,
     0,
     0,
     {"camera-offline", NULL},
     {NULL},
     "the cameras of the plant device offline"},
};

struct demo_args {
    int list, no_wait;
    long wait_s;
    const char *dir;
};

static const struct vg_opt scenario_opts[] = {
    {OPT_LIST, "list", NULL, "list the scenarios and what each shows"},
    {OPT_NO_WAIT, "no-wait", NULL, "start it and print what to watch for, without waiting"},
    {OPT_WAIT, "wait", "SECONDS", "how long to wait for the outcomes (default 30)"},
    {OPT_DIR, "dir", "DIR", "the demo's directory (default: env VIGIL_DEMO_DIR)"},
    {0, NULL, NULL, NULL},
};

static int on_opt(void *ctx, int id, const char *arg)
{
    struct demo_args *a = ctx;
    unsigned long long n;
    if (id == OPT_LIST)
        a->list = 1;
    else if (id == OPT_NO_WAIT)
        a->no_wait = 1;
    else if (id == OPT_DIR)
        a->dir = arg;
    else {
        int rc = vg_cli_parse_uint("--wait", arg, &n);
        if (rc)
            return rc;
        a->wait_s = n > 3600 ? 3600 : (long)n;
    }
    return VG_EXIT_OK;
}

static void print_list(void)
{
    static const char *const sites[] = {"dc1", "dc2"};
    for (size_t i = 0; i < VG_ARRAY_LEN(sims); i++)
        for (size_t s = 0; s < VG_ARRAY_LEN(sites); s++) {
            char name[64];
            snprintf(name, sizeof name, "%s-%s", sims[i].base, sites[s]);
            printf("%-24s %s at %s%s; an incident pages the on-call person\n", name,
                   sims[i].alarm, sites[s],
                   sims[i].moves ? "; at the primary's site the primary moves to the other "
                                   "site by planned switchover"
                                 : "");
        }
    printf("%-24s %s\n", "kill-dc1",
           "dc1's vigild killed (SIGKILL): dc2 takes over in about a "
           "second if dc1 was primary");
    printf("%-24s %s\n", "kill-dc2",
           "dc2's vigild killed (SIGKILL): the primary writes on alone");
    printf("%-24s %s\n", "partition",
           "the member link cut (root, nft): the primary drops the mirror from the sync set, "
           "the mirror does not take over, both still reach the witness");
    printf("%-24s %s\n", "normal",
           "everything healed (as 'vigil demo heal'): simulators reset, link restored, a "
           "killed member restarted");
}

/* ---- the plans ------------------------------------------------------------ */

static const struct sim_scenario *find_sim(const char *base)
{
    for (size_t i = 0; i < VG_ARRAY_LEN(sims); i++)
        if (!strcmp(sims[i].base, base))
            return &sims[i];
    return NULL;
}

/* Splits NAME into a base and a site of the demo ("fire-dc1"); 0 or 2. */
static int split_name(const struct vg_demo *d, const struct vg_cmd *cmd, const char *name,
                      char *base, size_t baselen, int *member)
{
    const char *dash = strrchr(name, '-');
    *member = dash ? vg_demo_member_of_site(d, dash + 1) : -1;
    if (*member < 0 || (size_t)(dash - name) >= baselen)
        return vg_cli_usage(cmd, "unknown scenario '%s' (vigil demo scenario --list)", name);
    snprintf(base, baselen, "%.*s", (int)(dash - name), name);
    return 0;
}

/* Why the protect service will not move the role now (cooldown, frozen),
 * as the acting primary says; "" when it would. */
static void protect_holds(struct vg_cli *cli, int primary, char *why, size_t whylen)
{
    json_t *st = vg_demo_get(cli, primary, "/api/v1/protect");
    json_int_t until = json_integer_value(json_object_get(st, "cooldown_until"));
    int64_t now = (int64_t)vg_wall_ms();
    why[0] = 0;
    if (st && !json_is_null(json_object_get(st, "frozen")) && json_object_get(st, "frozen"))
        snprintf(why, whylen, "automatic switchover is frozen");
    else if (until > now)
        snprintf(why, whylen, "the protect service is in its cooldown for %lld s more",
                 (long long)((until - now) / 1000));
    json_decref(st);
}

/* "the on-call person (noor)", from GET /api/v1/oncall, or without a name. */
static void on_call(struct vg_cli *cli, int member, char *out, size_t outlen)
{
    json_t *now = vg_demo_get(cli, member, "/api/v1/oncall");
    const char *person =
        vg_cli_str(json_array_get(json_object_get(now, "items"), 0), "person", NULL);
    if (person)
        snprintf(out, outlen, "the on-call person (%.64s)", person);
    else
        snprintf(out, outlen, "the on-call person");
    json_decref(now);
}

static void plan_sim(struct vg_cli *cli, struct vg_demo_plan *p, const struct vg_demo *d,
                     const struct sim_scenario *sc, int member, int primary)
{
    const char *site = d->m[member].node.site, *other = d->m[1 - member].node.name;
    char holds[120] = "", tail[200] = "", who[96];
    on_call(cli, member, who, sizeof who);
    for (int r = 0; sc->rules[r]; r++) {
        p->rules[r] = sc->rules[r];
        int i =
            vg_demo_expect(p, VG_OC_ALERT, site, member, -1, "alert %s%s%s at %s", sc->rules[r],
                           sc->levels[r] ? " " : "", sc->levels[r] ? sc->levels[r] : "", site);
        p->oc[i].rule = sc->rules[r];
        p->oc[i].level = sc->levels[r];
    }
    int inc =
        vg_demo_expect(p, VG_OC_INCIDENT, site, member, -1, "incident opened at %s", site);
    vg_demo_expect(p, VG_OC_PAGE, site, member, inc, "%s paged", who);
    if (sc->moves && primary == member)
        protect_holds(cli, primary, holds, sizeof holds);
    if (sc->moves && primary == member && !holds[0]) {
        int planned = vg_demo_expect(p, VG_OC_PLANNED, site, member, -1,
                                     "protect: planned switchover away from %s", site);
        vg_demo_expect(p, VG_OC_PRIMARY, site, 1 - member, planned, "%s is the acting primary",
                       other);
        snprintf(tail, sizeof tail, ", a planned switchover to %s", other);
    } else if (holds[0]) {
        /* a decline is recorded once per condition, so it is told, not awaited */
        snprintf(tail, sizeof tail, ", no switchover (%s: 'vigil protect status')", holds);
    }
    snprintf(p->watch, sizeof p->watch, "%s at %s%s, an incident opened and %s paged",
             sc->alarm, site, tail, who);
}

static int list_sim_devices(struct vg_cli *cli, int from, const char *site,
                            const char *main_name, int all, json_t *out)
{
    json_t *devs = vg_demo_get(cli, from, "/api/v1/objects/Device");
    size_t i;
    const json_t *dev;
    json_array_foreach(json_object_get(devs, "items"), i, dev)
    {
        const json_t *spec = json_object_get(dev, "spec");
        const char *name = vg_cli_str(dev, "name", "");
        if (strcmp(vg_cli_str(spec, "driver", ""), "sim") ||
            strcmp(vg_cli_str(spec, "site", ""), site) || (!all && strcmp(name, main_name)))
            continue;
        json_t *speed = json_object_get(json_object_get(spec, "options"), "speed");
        json_array_append_new(out, json_pack("{s:s,s:f}", "name", name, "speed",
                                             speed ? json_number_value(speed) : 1.0));
    }
    json_decref(devs);
    return (int)json_array_size(out);
}

/* POST /api/v1/sim/DEVICE to the member that runs it. */
static int sim_post(struct vg_cli *cli, int member, const char *device, const char *scenario,
                    double speed)
{
    char path[200], what[200];
    struct vg_resp resp = VG_RESP_INIT;
    json_t *body = json_pack("{s:s}", "scenario", scenario);
    if (speed > 0)
        json_object_set_new(body, "speed", json_real(speed));
    snprintf(path, sizeof path, "/api/v1/sim/%s", device);
    snprintf(what, sizeof what, "cannot start '%s' on '%s'", scenario, device);
    int rc = vg_cli_call_at(cli, (size_t)member, what, "POST", path, body, &resp);
    json_decref(body);
    vg_resp_release(&resp);
    return rc;
}

static int start_sim(struct vg_cli *cli, const struct vg_demo *d, const struct sim_scenario *sc,
                     int member, int quiet)
{
    const char *site = d->m[member].node.site;
    char main_name[96];
    snprintf(main_name, sizeof main_name, "%s-sim", site);
    if (!vg_demo_member_pid(d, member))
        return vg_cli_fail(VG_EXIT_ERROR,
                           "member %s is not running, so %s's simulators are not either "
                           "('vigil demo heal' starts it again)",
                           d->m[member].node.name, site);
    json_t *devs = json_array();
    int rc = VG_EXIT_OK;
    if (!list_sim_devices(cli, member, site, main_name, sc->all_devices, devs))
        rc = vg_cli_fail(VG_EXIT_NOT_FOUND,
                         "no sim device %s at site %s (apply the demo's "
                         "manifests)",
                         sc->all_devices ? "" : main_name, site);
    size_t i;
    const json_t *dev;
    json_array_foreach(devs, i, dev)
    {
        if (rc)
            break;
        const char *name = vg_cli_str(dev, "name", "");
        rc = sim_post(cli, member, name, sc->sim, sc->speed);
        if (!rc && !quiet)
            printf("%s: %s%s\n", name, sc->sim, sc->speed > 0 ? ", sped up" : "");
    }
    json_decref(devs);
    return rc;
}

/* ---- heal ----------------------------------------------------------------- */

static int reset_sims(struct vg_cli *cli, const struct vg_demo *d, int member, int quiet)
{
    json_t *devs = json_array();
    list_sim_devices(cli, member, d->m[member].node.site, "", 1, devs);
    size_t i;
    const json_t *dev;
    int rc = 0;
    json_array_foreach(devs, i, dev)
    {
        const char *name = vg_cli_str(dev, "name", "");
        if (!rc)
            rc = sim_post(cli, member, name, "reset",
                          json_number_value(json_object_get(dev, "speed")));
        if (!rc && !quiet)
            printf("%s: reset, at its own speed\n", name);
    }
    json_decref(devs);
    return rc;
}

static int heal(struct vg_cli *cli, const struct vg_demo *d, struct vg_demo_plan *p, int quiet)
{
    int cut = 0;
    int rc = vg_demo_unpartition(d, &cut);
    if (rc)
        return rc;
    if (cut && !quiet)
        printf("member link restored\n");
    for (int i = 0; i < VG_DEMO_MEMBERS && !rc; i++) {
        json_t *view = vg_demo_get(cli, i, "/api/v1/cluster");
        if (!view && !vg_demo_member_pid(d, i)) {
            rc = vg_demo_restart(d, i);
            if (!rc && !quiet)
                printf("member %s started again (log %s/%s.log)\n", d->m[i].node.name, d->dir,
                       d->m[i].node.name);
        } else if (view) {
            rc = reset_sims(cli, d, i, quiet);
        }
        json_decref(view);
    }
    snprintf(p->watch, sizeof p->watch,
             "both members answering and the mirror back in sync; alerts clearing as the "
             "simulators read normal again");
    vg_demo_expect(p, VG_OC_IN_SYNC, NULL, 0, -1, "both members up, the mirror in sync");
    return rc;
}

/* ---- kill and partition -------------------------------------------------- */

static int kill_member(struct vg_cli *cli, const struct vg_demo *d, struct vg_demo_plan *p,
                       int member, int quiet)
{
    int primary = vg_demo_primary(cli, d);
    const char *name = d->m[member].node.name, *other = d->m[1 - member].node.name;
    int rc = vg_demo_kill(d, member);
    if (rc)
        return rc;
    if (!quiet)
        printf("member %s killed (SIGKILL)\n", name);
    int down = vg_demo_expect(p, VG_OC_DOWN, NULL, member, -1, "%s is down", name);
    vg_demo_expect(p, VG_OC_PRIMARY, NULL, 1 - member, down, "%s is the acting primary%s",
                   other, primary == member ? " (failover)" : "");
    snprintf(p->watch, sizeof p->watch, "%s gone; %s", name,
             primary == member ? "the other site taking over by failover in about a second, "
                                 "the failover recorded in 'vigil events'"
                               : "the primary writing on alone ('vigil cluster status')");
    return 0;
}

static int partition(struct vg_cli *cli, const struct vg_demo *d, struct vg_demo_plan *p,
                     int quiet)
{
    int primary = vg_demo_primary(cli, d);
    if (primary < 0)
        return vg_cli_fail(VG_EXIT_ERROR, "no acting primary to cut off from its mirror");
    int rc = vg_demo_partition(d);
    if (rc)
        return rc;
    const char *pn = d->m[primary].node.name, *mn = d->m[1 - primary].node.name;
    if (!quiet)
        printf("member link between %s and %s cut (the witness still reachable)\n", pn, mn);
    int alone = vg_demo_expect(p, VG_OC_ALONE, NULL, primary, -1,
                               "%s drops %s from the sync set and writes on alone", pn, mn);
    vg_demo_expect(p, VG_OC_NO_TAKEOVER, NULL, 1 - primary, alone,
                   "%s does not take over (the witness refuses)", mn);
    vg_demo_expect(p, VG_OC_WITNESS, NULL, primary, alone,
                   "both members still reach the witness");
    snprintf(p->watch, sizeof p->watch,
             "%s degrading to writing alone, %s staying a mirror: no split brain "
             "('vigil cluster status' on both)",
             pn, mn);
    return 0;
}

/* ---- the command ----------------------------------------------------------- */

static int start(struct vg_cli *cli, const struct vg_cmd *cmd, const struct vg_demo *d,
                 const char *name, struct vg_demo_plan *p, int quiet)
{
    char base[64];
    int member;
    if (!strcmp(name, "normal"))
        return heal(cli, d, p, quiet);
    if (!strcmp(name, "partition"))
        return partition(cli, d, p, quiet);
    int rc = split_name(d, cmd, name, base, sizeof base, &member);
    if (rc)
        return rc;
    if (!strcmp(base, "kill"))
        return kill_member(cli, d, p, member, quiet);
    const struct sim_scenario *sc = find_sim(base);
    if (!sc)
        return vg_cli_usage(cmd, "unknown scenario '%s' (vigil demo scenario --list)", name);
    int primary = vg_demo_primary(cli, d);
    rc = start_sim(cli, d, sc, member, quiet);
    if (!rc)
        plan_sim(cli, p, d, sc, member, primary);
    return rc;
}

static void print_json(const struct vg_demo_plan *p, int rc)
{
    json_t *out = json_pack("{s:s,s:s,s:b,s:[]}", "scenario", p->name, "watch", p->watch, "ok",
                            rc == 0, "outcomes");
    for (int i = 0; i < p->n_oc; i++) {
        const struct vg_demo_outcome *o = &p->oc[i];
        json_t *e =
            json_pack("{s:s,s:b,s:s}", "what", o->what, "seen", o->seen, "detail", o->detail);
        json_object_set_new(e, "after_ms", o->seen ? json_integer(o->after_ms) : json_null());
        json_array_append_new(json_object_get(out, "outcomes"), e);
    }
    vg_cli_print_json(out);
    json_decref(out);
}

static int run(struct vg_cli *cli, const struct vg_cmd *cmd, const char *name,
               const struct demo_args *a)
{
    struct vg_demo d;
    int rc = vg_demo_open(&d, a->dir);
    if (rc)
        return rc;
    vg_demo_use(&d, cli);
    if (cli->timeout_s > POLL_TIMEOUT_S)
        cli->timeout_s = POLL_TIMEOUT_S;
    int quiet = cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML;
    struct vg_demo_plan *p = vg_calloc(1, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->start_ms = (int64_t)vg_wall_ms();
    rc = start(cli, cmd, &d, name, p, quiet);
    if (rc)
        goto out;
    if (!quiet)
        printf("watch: %s\n", p->watch);
    fflush(stdout);
    if (!a->no_wait)
        rc = vg_demo_wait(cli, &d, p, a->wait_s, quiet);
    if (quiet)
        print_json(p, rc);
out:
    free(p);
    return rc;
}

static int run_scenario(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct demo_args a = {.wait_s = DEFAULT_WAIT_S};
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (a.list) {
        print_list();
        return VG_EXIT_OK;
    }
    if (argc - first != 1)
        return vg_cli_usage(cmd, "name one scenario (vigil demo scenario --list)");
    return run(cli, cmd, argv[first], &a);
}

static int run_heal(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    struct demo_args a = {.wait_s = DEFAULT_WAIT_S};
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, on_opt, &a, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (a.list || first < argc)
        return vg_cli_usage(cmd, "heal takes no scenario");
    return run(cli, cmd, "normal", &a);
}

static const struct vg_cmd cmd_scenario = {
    .name = "scenario",
    .run = run_scenario,
    .usage = "NAME [--no-wait] [--wait SECONDS] [--dir DIR] [options] | --list",
    .summary = "play a scenario in the running demo and wait for its outcome",
    .help =
        "Plays NAME in the demo scripts/demo.sh runs (found by VIGIL_DEMO_DIR, which its "
        "export line sets, or --dir): fire-SITE, cooling-failure-SITE, mains-loss-SITE, "
        "generator-fail-SITE, leak-SITE, door-forced-SITE, camera-down-SITE (SITE dc1 or dc2) "
        "start the simulator scenario on that site's sim devices, sped up so it shows within "
        "30 s; kill-SITE kills that member's vigild with SIGKILL; partition cuts the member "
        "link between dc1 and dc2 with nftables rules (root only), leaving both their link to "
        "the witness; normal heals everything, as 'vigil demo heal'. --list lists them with "
        "what each shows. Prints what to watch for, then, unless --no-wait, waits up to 30 s "
        "(--wait) printing each expected outcome as the API shows it: the alerts at the site, "
        "the incident and the page delivered to the on-call person, a planned switchover to "
        "the other site when the primary's site is hit, a member down and who is primary. "
        "Exits 0 when all showed, 1 naming those that did not. -o json prints "
        "{\"scenario\", \"watch\", \"ok\", \"outcomes\": [{\"what\", \"seen\", \"after_ms\", "
        "\"detail\"}]}. Outside a demo it exits 2 saying so.",
    .opts = scenario_opts,
    .parent = "demo",
};

static const struct vg_cmd cmd_heal = {
    .name = "heal",
    .run = run_heal,
    .usage = "[--no-wait] [--wait SECONDS] [--dir DIR] [options]",
    .summary = "undo every demo scenario",
    .help = "Restores the demo: the member link is restored, a killed member is started again "
            "(its log appended, its pid file rewritten), and every sim device of a running "
            "member is reset to steady state at its configured speed. Then waits up to 30 s "
            "for both members to answer with the mirror in sync. Same as 'vigil demo scenario "
            "normal'.",
    .opts = scenario_opts + 1,
    .parent = "demo",
};

static const struct vg_cmd *const demo_cmds[] = {&cmd_scenario, &cmd_heal, NULL};

const struct vg_cmd vg_cmd_demo = {
    .name = "demo",
    .usage = "scenario|heal [arguments]",
    .summary = "play the demo's scenarios: fire, cooling failure, a member killed, a partition",
    .help = "Drives the two-site demo of scripts/demo.sh (README.md): each scenario shows one "
            "part of the story within 30 s and says what to watch for.",
    .subcmds = demo_cmds,
};

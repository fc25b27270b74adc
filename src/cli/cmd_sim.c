/*
 * cmd_sim.c - `vigil sim DEVICE SCENARIO`: makes a simulated device (driver
 * sim) play a scenario, for demonstrations and for testing rules and alerts
 * without a real failure (POST /api/v1/sim/DEVICE).
 *
 * The scenario is not checked here: the server owns the list of scenarios
 * (it may know more than this client) and answers an unknown one with 400
 * naming them all, which vigil prints (exit 7).
 */
#include "cli/cli.h"

static int run_sim(struct vg_cli *cli, const struct vg_cmd *cmd, int argc, char **argv)
{
    int first;
    int rc = vg_cli_parse(cli, cmd, argc, argv, NULL, NULL, &first);
    if (rc != VG_CLI_PROCEED)
        return rc;
    if (argc - first != 2)
        return vg_cli_usage(cmd, "give the DEVICE and the SCENARIO");
    const char *device = argv[first], *scenario = argv[first + 1];

    vg_buf_t path = VG_BUF_INIT, what = VG_BUF_INIT;
    struct vg_resp resp = VG_RESP_INIT;
    json_t *body = json_pack("{s:s}", "scenario", scenario);
    vg_buf_adds(&path, "/api/v1/sim/");
    vg_client_escape(&path, device);
    vg_buf_printf(&what, "cannot start scenario '%s' on '%s'", scenario, device);
    rc = vg_cli_call(cli, (const char *)what.data, "POST", (const char *)path.data, body, NULL,
                     &resp);
    if (rc == 0 && (cli->output == VG_OUT_JSON || cli->output == VG_OUT_YAML))
        rc = vg_cli_print_value(cli, resp.json);
    else if (rc == 0)
        printf("device/%s: scenario %s started\n", device, scenario);
    json_decref(body);
    vg_resp_release(&resp);
    vg_buf_release(&what);
    vg_buf_release(&path);
    return rc;
}

const struct vg_cmd vg_cmd_sim = {
    .name = "sim",
    .run = run_sim,
    .usage = "DEVICE SCENARIO [options]",
    .summary = "make a simulated device play a failure scenario",
    .help = "Makes DEVICE, a device with driver sim, play SCENARIO: cooling-failure (every "
            "cooling unit stops), mains-loss, generator-fails-to-start (a mains loss whose "
            "generator never runs, so the UPS runs flat), fire, leak, door-forced, "
            "camera-down, gas-fault (suppression disarmed), refuel, normal (ends every "
            "scenario; the plant recovers through its own delays) or reset (ends every "
            "scenario and puts the plant back in steady state at once: room at its setpoint, "
            "batteries and tank full). Scenarios accumulate. "
            "The simulated readings go through the rules like real ones, so alerts follow: "
            "watch them with 'vigil alerts' and 'vigil facility'. Prints 'device/DEVICE: "
            "scenario SCENARIO started'; -o json prints the server's answer ({\"device\", "
            "\"scenario\", \"speed\"}). A DEVICE that is not simulated exits 3; an unknown "
            "SCENARIO exits "
            "7 with the list of those the server knows.",
};

/*
 * cmd_probe.c - `vigild probe`: read a device once (or a few times) from a
 * manifest file, without a data dir or a running daemon, and print every
 * value, rejection and poll outcome as one JSON object per line.
 *
 * It is how an operator checks a new PDU's OIDs or a BMS register map
 * before applying it, and how the driver tests drive each driver against
 * its real peer: the same collector and drivers as `vigild run`.
 */
#include "vigild/vigild.h"

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/yamljson.h"
#include "schema/schema.h"
#include "sense/collect.h"
#include "vigild/options.h"

#define DRAIN_BATCH 256

struct probe {
    const char *file;
    const char *only_device;
    uint64_t polls;
    uint64_t listen_ms;
    json_t *devices, *sensors;
};

static int read_text(const char *path, vg_buf_t *out)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "vigild: cannot open '%s': %s\n", path, strerror(errno));
        return -errno;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        vg_buf_add(out, chunk, (size_t)n);
    int rc = n < 0 ? -errno : 0;
    if (rc)
        fprintf(stderr, "vigild: cannot read '%s': %s\n", path, strerror(-rc));
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

/* Validates every document; keeps the Devices and Sensors. */
static int load_manifests(struct probe *p)
{
    vg_buf_t text = VG_BUF_INIT;
    json_t *docs = NULL;
    char err[1024], field[256];
    int rc = read_text(p->file, &text);
    if (rc)
        goto out;
    rc = vg_yamljson_parse((const char *)text.data, text.len, p->file, &docs, err, sizeof err);
    if (rc) {
        fprintf(stderr, "vigild: %s\n", err);
        goto out;
    }
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        if (json_is_null(doc))
            continue;
        json_t *norm = NULL;
        /* as a new object: {"secret": true} has no stored value to stand for */
        rc = vg_schema_validate_update(doc, NULL, NULL, NULL, &norm, err, sizeof err, field,
                                       sizeof field);
        if (rc) {
            fprintf(stderr, "vigild: %s: document %zu: %s\n", p->file, i + 1, err);
            goto out;
        }
        const char *kind = json_string_value(json_object_get(norm, "kind"));
        const char *name = json_string_value(json_object_get(norm, "name"));
        if (!strcmp(kind, "Device") && (!p->only_device || !strcmp(p->only_device, name)))
            json_array_append(p->devices, norm);
        else if (!strcmp(kind, "Sensor"))
            json_array_append(p->sensors, norm);
        json_decref(norm);
    }
out:
    json_decref(docs);
    vg_buf_release(&text);
    return rc;
}

static void print_line(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15));
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(obj);
}

static void print_item(const vg_collector_t *c, const struct vg_collected *it, int *failed)
{
    const struct vg_device *d = vg_collector_device(c, it->device);
    const char *sensor = it->point < d->n_points ? d->points[it->point].sensor : NULL;
    switch (it->kind) {
    case VG_COL_VALUE:
        print_line(json_pack("{s:s,s:s?,s:I,s:f}", "device", d->name, "sensor", sensor, "time",
                             (json_int_t)it->time_ms, "value", it->value));
        break;
    case VG_COL_REJECT:
        print_line(json_pack("{s:s,s:s?,s:s}", "device", d->name, "sensor", sensor, "reject",
                             it->text));
        break;
    case VG_COL_POLLED:
        if (it->code)
            *failed = 1;
        print_line(it->code ? json_pack("{s:s,s:s}", "device", d->name, "error", it->text)
                            : json_pack("{s:s,s:s}", "device", d->name, "poll", "ok"));
        break;
    }
}

static int run_probe(struct probe *p)
{
    vg_collector_t *c = NULL;
    char err[512];
    vg_collector_new(p->devices, p->sensors, NULL, &c);
    size_t i;
    json_t *msg;
    json_array_foreach(vg_collector_problems(c), i, msg)
        print_line(json_pack("{s:O}", "problem", msg));
    int failed = json_array_size(vg_collector_problems(c)) > 0;
    size_t n = vg_collector_n_devices(c);
    if (vg_collector_start(c, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "vigild: %s\n", err);
        vg_collector_free(c);
        return 1;
    }
    uint64_t *polled = vg_calloc(n + 1, sizeof *polled);
    uint64_t listen_until = vg_mono_ms() + p->listen_ms;
    size_t done = 0;
    struct vg_collected items[DRAIN_BATCH];
    while (done < n || vg_mono_ms() < listen_until) {
        size_t got = vg_collector_drain(c, items, DRAIN_BATCH);
        for (size_t k = 0; k < got; k++) {
            print_item(c, &items[k], &failed);
            if (items[k].kind == VG_COL_POLLED && ++polled[items[k].device] == p->polls)
                done++;
        }
        if (!got)
            usleep(5000);
    }
    /* what arrived while stopping is still shown */
    vg_collector_free(c);
    free(polled);
    return failed;
}

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, struct probe *p)
{
    const struct vg_opt_def opts[] = {
        VG_OPT_STRING('f', "file", "FILE", &p->file, VG_OPT_REQUIRED, NULL,
                      "manifests (- for standard input)"),
        VG_OPT_STRING(0, "device", "NAME", &p->only_device, 0, NULL, "only this device"),
        VG_OPT_NUMBER("polls", "N", &p->polls, 1, 1000000, "1", "poll cycles per device"),
        VG_OPT_NUMBER("listen-ms", "MS", &p->listen_ms, 0, 86400000, NULL,
                      "keep listening at least this long, for traps and MQTT messages"),
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "probe",
        .usage = "vigild probe -f FILE [--device NAME] [--polls N] [--listen-ms MS]",
        .about =
            "Reads the Device and Sensor manifests of FILE (YAML, several documents),\n"
            "polls each device N times at its interval (default once) and prints one JSON\n"
            "object per line:\n"
            "  {\"device\":D,\"sensor\":S,\"time\":MS,\"value\":V}   a value\n"
            "  {\"device\":D,\"sensor\":S,\"reject\":WHY}          a value refused (sensor may "
            "be null)\n"
            "  {\"device\":D,\"poll\":\"ok\"} or {\"device\":D,\"error\":WHY}   each poll\n"
            "  {\"problem\":WHY}                                  a manifest left out\n",
        .notes = "Exit status: 0 every poll answered, 1 a poll failed or a manifest was left\n"
                 "out, 2 usage or invalid manifests.\n",
        .opts = opts,
    };
    int first;
    return vg_opt_parse(&cmd, argc, argv, &first);
}

int vg_cmd_probe(int argc, char **argv)
{
    struct probe p = {.polls = 1};
    int rc = parse_args(argc, argv, &p);
    if (rc != VG_OPT_PROCEED)
        return rc;
    p.devices = json_array();
    p.sensors = json_array();
    rc = load_manifests(&p) ? 2 : 0;
    if (!rc && json_array_size(p.devices) == 0) {
        fprintf(stderr, "vigild: %s: no Device%s%s\n", p.file, p.only_device ? " named " : "",
                p.only_device ? p.only_device : "");
        rc = 2;
    }
    if (!rc)
        rc = run_probe(&p);
    json_decref(p.devices);
    json_decref(p.sensors);
    return rc;
}

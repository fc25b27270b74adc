/*
 * service_run.c - starts, feeds and stops the rows of vg_services[]
 * (service.h), so `vigild run` wires no service by hand.
 */
#include "service/service.h"

#include "cluster/cluster.h"
#include "core/say.h"
#include "member/member.h"

#define ROLE_POLL_MS 20

struct vg_services {
    struct vg_service_running *run;
    size_t n;
    struct event *role_ev;
    enum vg_service_role role;
    int role_told;
    vg_member_t *member;
    vg_cluster_t *cluster;
};

static enum vg_service_role current_role(const vg_services_t *s)
{
    char why[256], primary[64];
    if (!s->cluster ||
        vg_cluster_can_write(s->cluster, why, sizeof why, primary, sizeof primary))
        return VG_SERVICE_PRIMARY;
    return VG_SERVICE_STANDBY;
}

static void tell_role(vg_services_t *s)
{
    enum vg_service_role role = current_role(s);
    if (s->role_told && role == s->role)
        return;
    s->role = role;
    s->role_told = 1;
    for (size_t i = 0; i < s->n; i++)
        if (s->run[i].def->on_role)
            s->run[i].def->on_role(s->run[i].instance, role);
}

static void on_role_poll(evutil_socket_t fd, short what, void *arg)
{
    tell_role(arg);
}

static void on_change(void *ctx, const vg_change_t *change)
{
    vg_services_t *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        if (s->run[i].def->on_commit)
            s->run[i].def->on_commit(s->run[i].instance, change);
}

static void on_record(void *ctx, uint64_t index, uint16_t type)
{
    vg_services_t *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        if (s->run[i].def->on_record)
            s->run[i].def->on_record(s->run[i].instance, index, type);
}

static int attach_channel(vg_services_t *s, char *err, size_t errlen)
{
    const char *owner = NULL;
    for (size_t i = 0; i < s->n; i++) {
        struct vg_cluster_channel ch;
        if (!s->run[i].def->channel || s->run[i].def->channel(s->run[i].instance, &ch))
            continue;
        if (owner) /* the wire has one READINGS channel (cluster.h) */
            return vg_err(err, errlen, -EINVAL,
                          "services '%s' and '%s' both want the member link's channel", owner,
                          s->run[i].def->name);
        owner = s->run[i].def->name;
        vg_cluster_set_channel(s->cluster, &ch);
    }
    return 0;
}

int vg_services_start(const struct vg_service_env *env, vg_services_t **out, char *err,
                      size_t errlen)
{
    vg_services_t *s = vg_calloc(1, sizeof *s);
    size_t n = 0;
    while (vg_services[n])
        n++;
    s->run = vg_calloc(n ? n : 1, sizeof *s->run);
    s->member = env->member;
    s->cluster = env->cluster;
    for (size_t i = 0; i < n; i++) {
        char why[768];
        void *instance = NULL;
        if (vg_services[i]->start(env, &instance, why, sizeof why)) {
            int rc = vg_err(err, errlen, -EIO, "service '%s': %s", vg_services[i]->name, why);
            vg_services_stop(s);
            return rc;
        }
        s->run[s->n++] = (struct vg_service_running){vg_services[i], instance};
    }
    int rc = s->cluster ? attach_channel(s, err, errlen) : 0;
    if (rc) {
        vg_services_stop(s);
        return rc;
    }
    vg_state_set_extra_observer(vg_member_state(s->member), on_change, s);
    vg_state_set_record_observer(vg_member_state(s->member), on_record, s);
    tell_role(s);
    s->role_ev = event_new(env->base, -1, EV_PERSIST, on_role_poll, s);
    struct timeval every = {0, ROLE_POLL_MS * 1000};
    event_add(s->role_ev, &every);
    *out = s;
    return 0;
}

void vg_services_stop(vg_services_t *s)
{
    if (!s)
        return;
    if (s->role_ev)
        event_free(s->role_ev);
    vg_state_set_extra_observer(vg_member_state(s->member), NULL, NULL);
    vg_state_set_record_observer(vg_member_state(s->member), NULL, NULL);
    vg_cluster_set_channel(s->cluster, NULL);
    for (size_t i = s->n; i-- > 0;)
        s->run[i].def->stop(s->run[i].instance);
    free(s->run);
    free(s);
}

const struct vg_service_running *vg_services_running(const vg_services_t *s, size_t *n)
{
    *n = s ? s->n : 0;
    return s ? s->run : NULL;
}

/*
 * cluster.h - a member of a two-site cluster (DESIGN.md section 3,
 * docs/cluster.md): the role it plays, the link to the other member, the
 * requests it makes to the witness, and what the API needs to know.
 *
 * Everything runs on the event loop thread.
 */
#ifndef VG_CLUSTER_H
#define VG_CLUSTER_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "member/member.h"
#include "cluster/node.h"

typedef struct vg_cluster vg_cluster_t;

/* Reads DATA/cluster (the highest epoch seen, a change request that may
 * still land, the last known commit index) before the member opens, so
 * recovery applies only records known to be committed. */
int vg_cluster_recovery_limit(const struct vg_node *node, const char *key_file,
                              uint64_t *committed, char *err, size_t errlen);

/* Starts the cluster runtime for an opened member: listens for the peer,
 * talks to the witness. bootstrap: at epoch 0, ask to become primary. */
int vg_cluster_start(struct event_base *base, vg_member_t *m, const struct vg_node *node,
                     int bootstrap, vg_cluster_t **out, char *err, size_t errlen);
void vg_cluster_free(vg_cluster_t *c);

/* Non-zero once the member has to stop and be restarted (its diverged log
 * was set aside): the exit status for vigild run. */
int vg_cluster_exit_code(const vg_cluster_t *c);

/* 1 if this member may take writes now; else 0 with the reason and the
 * primary's name (empty when unknown) for the 503. */
int vg_cluster_can_write(const vg_cluster_t *c, char *why, size_t whylen, char *primary,
                         size_t primarylen);

/* "primary", "mirror" or "none", and the lag in records of a mirror. */
const char *vg_cluster_role_name(const vg_cluster_t *c);
uint64_t vg_cluster_lag(const vg_cluster_t *c);
const char *vg_cluster_member_name(const vg_cluster_t *c);

/* GET /api/v1/cluster (new ref). */
json_t *vg_cluster_status(const vg_cluster_t *c);

/* Prometheus lines for /metrics. */
void vg_cluster_metrics(const vg_cluster_t *c, vg_buf_t *out);

/* Answer to an operator's request: an HTTP status and a JSON body (an
 * "error" when not 200), borrowed for the call. */
typedef void (*vg_cluster_done_fn)(void *ctx, int status, json_t *body);

/* Planned switchover to the peer (to may be NULL): hold writes, wait until
 * the mirror has everything, ask the witness to promote it. done is called
 * once, possibly before this returns. */
void vg_cluster_switchover(vg_cluster_t *c, const char *to, const char *reason,
                           const char *actor, vg_cluster_done_fn done, void *ctx);

/* Forced failover to this member (rule 4), recorded as forced. */
void vg_cluster_force(vg_cluster_t *c, const char *reason, const char *actor,
                      vg_cluster_done_fn done, void *ctx);

/*
 * A service's channel on the member link: the mirror sends the sequenced
 * batches its service hands out, oldest first; the primary hands each to
 * its service, which calls vg_cluster_channel_durable once it is stored,
 * and the mirror's service then drops it. The runtime never looks inside a
 * batch. Today the facility monitor forwards its site's readings this way
 * (DESIGN.md section 4); the frames are the wire's READINGS and
 * READINGS_ACK, so there is one channel (a second service would add a
 * channel id to those frames).
 */
struct vg_cluster_channel {
    /* mirror: the next batch after seq `after`: 0, or -ENOENT when none */
    int (*next)(void *ctx, uint64_t after, const uint8_t **data, size_t *len, uint64_t *seq);
    /* mirror: the primary holds every batch up to seq */
    void (*acked)(void *ctx, uint64_t seq);
    /* primary: a batch from the mirror */
    void (*receive)(void *ctx, uint64_t seq, const uint8_t *data, size_t len);
    void *ctx;
};
/* Copies ch; NULL detaches (before the service is freed). */
void vg_cluster_set_channel(vg_cluster_t *c, const struct vg_cluster_channel *ch);
/* Mirror: the service has new batches to send. */
void vg_cluster_channel_ready(vg_cluster_t *c);
/* Primary: batch seq from the mirror is durable here. */
void vg_cluster_channel_durable(vg_cluster_t *c, uint64_t seq);

#endif

/*
 * cluster_int.h - internals shared by cluster.c (roles, the configuration,
 * the rules a member follows), peer.c (the link to the other member) and
 * witness_client.c (requests to the witness).
 */
#ifndef VG_CLUSTER_INT_H
#define VG_CLUSTER_INT_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "core/buf.h"
#include "cluster/cluster.h"
#include "cluster/decide.h"
#include "cluster/wire.h"

/* REJECT codes on the member link. */
enum {
    REJECT_FENCED = 1,   /* your epoch is older than mine: step down, link closes */
    REJECT_MISMATCH = 2, /* prev (index, epoch) is not in my log: send from earlier */
    REJECT_DIVERGED = 3, /* my log differs below my snapshot: rebuild me; link closes */
    REJECT_ROLE = 4,     /* I am not the mirror of your epoch; link closes */
};

/* What the witness said the configuration is. */
struct cfg {
    uint64_t epoch;
    char primary[64];
    int self_in_sync, peer_in_sync;
    char changed_by[64], reason[257], changed_at[40];
    int forced;
    int peer_first; /* the witness lists the peer first in "members" */
};

/* A change request that may still be applied by the witness (obligation 4
 * of src/cluster/model/README.md): kept durably until the witness's epoch has
 * moved past expect_epoch. */
struct pend {
    char op[16]; /* "" when none */
    uint64_t expect_epoch;
    char target[64];
    int switchover; /* a planned switchover: do not act again in expect_epoch */
};

/* An operator's request waiting for its outcome (switchover, force). */
struct api_wait {
    vg_cluster_done_fn done; /* NULL: none waits */
    void *ctx;
};

/* Links whose handshake has not finished yet (not c->link): peer.c frees
 * them at shutdown, and refuses more than this many at a time. */
#define VG_PEER_MAX_LOOSE 8

struct link;    /* peer.c */
struct wclient; /* witness_client.c */

struct vg_cluster {
    struct event_base *base;
    vg_member_t *m;
    struct vg_node node;
    int bootstrap;
    SSL_CTX *link_server_ctx, *client_ctx;

    /* durable (DATA/cluster, sealed with the data key) */
    uint64_t hi;        /* highest epoch seen: fencing (obligation 2) */
    struct pend pend;   /* change request that may still land */
    uint64_t committed; /* a lower bound of the commit index, for recovery */
    uint64_t saved_committed;

    struct cfg cfg; /* newest configuration learned */
    enum vg_role_kind role;
    int acting;              /* primary that serves writes now */
    uint64_t recorded_epoch; /* highest epoch whose change this member logged */

    /* liveness, monotonic us */
    uint64_t witness_ok_us; /* send time of the last request the witness answered */
    uint64_t witness_fail_us;
    int witness_reachable;
    uint64_t witness_heard_primary_ms; /* witness's heard_ms of the primary, last answer */
    uint64_t lease_mirror_us;          /* send time of our heartbeat that the mirror echoed */
    uint64_t peer_heard_us;            /* any message from the peer */
    uint64_t primary_lost_us;          /* mirror: when the primary was last heard */
    int witness_event_open; /* an "unreachable" event was logged and not yet cleared */
    int exit_code;          /* non-zero: the member must stop (vg_cluster_exit_code) */
    int heartbeat_now;      /* ask the witness at the next tick */
    int change_inflight;    /* a change request awaits its answer */
    uint64_t change_sent_us;

    /* primary side of the link */
    uint64_t peer_ack;       /* mirror durable and matching through here */
    uint64_t await_since_us; /* first time the ack fell behind durable, 0 if not */
    uint64_t promote_retry_us;
    int switching; /* a planned switchover holds writes */
    uint64_t switch_start_us, switch_deadline_us;
    char switch_reason[257], switch_actor[64];
    struct api_wait switch_wait, force_wait; /* operators waiting for an outcome */

    /* mirror side */
    uint64_t primary_commit; /* primary's commit index, as last heard */
    uint64_t matched;        /* our log equals the current primary's through here */

    /* the link (peer.c) */
    struct link *link;
    struct link *loose[VG_PEER_MAX_LOOSE]; /* handshakes under way */
    uint64_t last_dial_us;                 /* primary: when it last dialed the mirror */
    uint64_t diverged_until_us;            /* primary: no dial before (mirror rebuilds) */
    char keys_problem[384];                /* the peer's HELLO proved another key, or "" */

    struct vg_cluster_channel channel; /* a service's traffic (.next NULL: none) */
    struct wclient *wc;
    struct evconnlistener *listener;
    struct event *tick_ev;
    uint64_t last_save_us;
};

/* cluster.c, for peer.c and witness_client.c */
void vg_cluster_adopt(vg_cluster_t *c, const json_t *config, uint64_t sent_us);
void vg_cluster_saw_epoch(vg_cluster_t *c, uint64_t epoch, const char *from);
void vg_cluster_mirror_renewed(vg_cluster_t *c, uint64_t epoch);
int vg_cluster_save(vg_cluster_t *c);
void vg_cluster_update_commit(vg_cluster_t *c);
void vg_cluster_step_down(vg_cluster_t *c, const char *why);
void vg_cluster_set_aside(vg_cluster_t *c, uint64_t index);
uint64_t vg_cluster_write_epoch(const vg_cluster_t *c);

/* peer.c */
int vg_peer_listen(vg_cluster_t *c, char *err, size_t errlen);
void vg_peer_tick(vg_cluster_t *c);       /* dial, heartbeat */
void vg_peer_on_durable(vg_cluster_t *c); /* stream more / ack */
void vg_peer_close(vg_cluster_t *c, const char *why);
void vg_peer_close_outgoing(vg_cluster_t *c, const char *why); /* the link we dialed */
void vg_peer_send_heartbeat(vg_cluster_t *c);
int vg_peer_connected(const vg_cluster_t *c);
json_t *vg_peer_status(const vg_cluster_t *c); /* new ref */
void vg_peer_free(vg_cluster_t *c);
void vg_peer_send_readings(vg_cluster_t *c); /* mirror: send what the spool holds */

/* witness_client.c */
typedef void (*vg_wc_done_fn)(vg_cluster_t *c, int status, json_t *body, uint64_t sent_us,
                              void *arg);
int vg_wc_new(vg_cluster_t *c, char *err, size_t errlen);
void vg_wc_free(vg_cluster_t *c);
/* POSTs body to path; done gets the HTTP status (0: no answer) and the
 * parsed body (borrowed, may be NULL). One heartbeat at a time. */
int vg_wc_post(vg_cluster_t *c, int heartbeat, const char *path, json_t *body,
               vg_wc_done_fn done, void *arg);
int vg_wc_heartbeat_busy(const vg_cluster_t *c);

#endif

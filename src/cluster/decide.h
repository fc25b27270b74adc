/*
 * decide.h - the cluster runtime's decisions as pure functions (DESIGN.md
 * section 3; obligations as numbered in src/cluster/model/README.md).
 *
 * Each function takes what the member knows (clock readings, indexes, the
 * configuration, when it last heard whom) and returns what to do. None
 * reads a clock, does I/O or keeps state: cluster.c and peer.c gather the
 * inputs and act on the answer, and tests/unit/test_cluster_decide.c
 * checks every rule at its boundaries without a process.
 *
 * Times are monotonic microseconds (vg_mono_us); durations come from the
 * node file in milliseconds. Stamps are unsigned and compared as
 * "now - stamp", so a stamp of 0 ("never") reads as long ago.
 */
#ifndef VG_CLUSTER_DECIDE_H
#define VG_CLUSTER_DECIDE_H

#include "cluster/node.h"

enum vg_role_kind { ROLE_NONE, ROLE_PRIMARY, ROLE_MIRROR };

/* --- fencing (obligation 2) ---------------------------------------------- */

/* 1 if a message of epoch must be refused by a member that has seen the
 * epoch highest_seen: a lower epoch is a deposed primary's. */
int vg_decide_fenced(uint64_t epoch, uint64_t highest_seen);

/* --- the commit rule (obligations 1 and 3) -------------------------------- */

struct vg_commit_view {
    enum vg_role_kind role;
    int acting;              /* a primary that serves writes now */
    int peer_in_sync;        /* the configuration puts the mirror in sync */
    int restore_pending;     /* a restore request may still land */
    uint64_t peer_ack;       /* primary: the mirror is durable and matching through here */
    uint64_t primary_commit; /* mirror: the primary's commit index, as last heard */
    uint64_t matched;        /* mirror: our log equals the primary's through here */
    uint64_t applied;        /* this member's commit index now */
};

/* The highest index this member may commit, before its own durability
 * (the member commits min(durable here, this)). An acting primary needs
 * the mirror's ack whenever the mirror is in sync or a restore that would
 * put it there may still land; otherwise it commits alone (UINT64_MAX). A
 * mirror commits what the primary says is committed and its log matches.
 * Anyone else commits nothing new. */
uint64_t vg_decide_commit_limit(const struct vg_commit_view *v);

/* --- the lease ------------------------------------------------------------- */

/* 1 while the primary may serve: the witness (witness_ok_us) or the mirror
 * by echoing a heartbeat (mirror_echo_us) answered a message sent at most
 * lease_ms before now. Both stamps are send times of our own messages. */
int vg_decide_lease_valid(uint64_t now_us, uint64_t witness_ok_us, uint64_t mirror_echo_us,
                          const struct vg_node_timing *t);

/* The mirror echoed a heartbeat we sent at echoed_sent_us: the new lease
 * stamp. It only moves forward, and a send time in the future (not one we
 * could have sent) changes nothing. */
uint64_t vg_decide_echo_stamp(uint64_t now_us, uint64_t stamp_us, uint64_t echoed_sent_us);

/* 1 if the witness counts as reachable: it answered a request sent less
 * than dead_after_ms ago (witness_ok_us 0: it never answered). */
int vg_decide_witness_reachable(uint64_t now_us, uint64_t witness_ok_us,
                                const struct vg_node_timing *t);

/* --- what the primary asks the witness (rules 2 and 3) ------------------- */

struct vg_primary_view {
    uint64_t now_us;
    int peer_in_sync;        /* the mirror is in the sync set */
    int request_pending;     /* a change request may still land */
    int switching;           /* a planned switchover holds writes */
    int peer_connected;      /* the link is up, HELLOs exchanged */
    uint64_t peer_heard_us;  /* the mirror's last message */
    uint64_t await_since_us; /* since when its ack is behind our durable index; 0: it is not */
    uint64_t peer_ack;       /* the mirror's acknowledged index */
    uint64_t last_index;     /* our log's last index */
};

/* When the mirror's ack started lagging our durable index: 0 once it
 * caught up, now when it first falls behind, else unchanged. */
uint64_t vg_decide_await_since(uint64_t now_us, uint64_t await_since_us, uint64_t peer_ack,
                               uint64_t durable);

enum vg_degrade {
    VG_DEGRADE_NO = 0,
    VG_DEGRADE_SILENT,  /* nothing from the mirror for more than ack_timeout */
    VG_DEGRADE_STALLED, /* messages, but the ack lagged for more than ack_timeout */
};

/* Rule 2: whether to ask for sync = {primary}. Only with the mirror in sync,
 * no request that may still land and no switchover under way. A gap of
 * exactly ack_timeout_ms is still tolerated. */
enum vg_degrade vg_decide_degrade(const struct vg_primary_view *v,
                                  const struct vg_node_timing *t);

/* Rule 3: 1 to ask for sync = {primary, mirror}: the mirror is out of sync,
 * connected, acknowledged our whole log and was heard less than
 * ack_timeout_ms ago, and no request may still land. */
int vg_decide_restore(const struct vg_primary_view *v, const struct vg_node_timing *t);

/* --- what the mirror asks the witness (rule 1) ---------------------------- */

struct vg_mirror_view {
    uint64_t now_us;
    int self_in_sync;          /* this member is in the sync set */
    int primary_is_peer;       /* the configuration names the other member primary */
    int request_pending;       /* a change request may still land */
    int witness_reachable;     /* vg_decide_witness_reachable */
    uint64_t primary_lost_us;  /* when the primary was last heard */
    uint64_t promote_retry_us; /* not before this (a refused promote), 0 if none */
};

/* Rule 1, failover: 1 to ask to be promoted. Only a member of sync whose
 * primary is the other member, once it has not heard it for dead_after_ms
 * (from that instant on), with the witness reachable and no request that
 * may still land. */
int vg_decide_promote(const struct vg_mirror_view *v, const struct vg_node_timing *t);

/* After asking: when to ask again if refused, that is when the witness's
 * own timer for the primary (heard witness_heard_primary_ms ago at its last
 * answer) should have run out, plus 10 ms. */
uint64_t vg_decide_promote_retry_at(uint64_t now_us, uint64_t witness_heard_primary_ms,
                                    const struct vg_node_timing *t);

/* --- the member link ------------------------------------------------------- */

/* Obligation 7: 1 if a link that carried nothing for more than
 * dead_after_ms must be torn down. */
int vg_decide_link_silent(uint64_t now_us, uint64_t rx_us, const struct vg_node_timing *t);

/* 1 if a primary without a link dials the mirror now: at most once per
 * heartbeat_ms, and not before diverged_until_us (the mirror said it must
 * be rebuilt; give it time to set its log aside and restart). */
int vg_decide_dial(uint64_t now_us, uint64_t last_dial_us, uint64_t diverged_until_us,
                   const struct vg_node_timing *t);

#endif

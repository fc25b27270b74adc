/*
 * decide.c - the cluster runtime's decisions, pure (decide.h). Each rule
 * is written once here; cluster.c and peer.c act on the answers.
 *
 * The comparisons are part of the specification and the unit tests pin
 * them: a degrade needs a gap longer than ack_timeout (a blip of exactly
 * ack_timeout is tolerated), a promotion is due from the instant
 * dead_after is reached, and the lease still holds at exactly lease.
 * Must never read a clock or touch state: everything comes in as inputs.
 */
#include "cluster/decide.h"

static uint64_t ms_to_us(uint32_t ms)
{
    return (uint64_t)ms * 1000;
}

int vg_decide_fenced(uint64_t epoch, uint64_t highest_seen)
{
    return epoch < highest_seen;
}

uint64_t vg_decide_commit_limit(const struct vg_commit_view *v)
{
    if (v->role == ROLE_PRIMARY && v->acting) {
        int need_mirror = v->peer_in_sync || v->restore_pending;
        return need_mirror ? v->peer_ack : UINT64_MAX;
    }
    if (v->role == ROLE_MIRROR)
        return v->primary_commit < v->matched ? v->primary_commit : v->matched;
    return v->applied; /* not acting: commit nothing new */
}

int vg_decide_lease_valid(uint64_t now_us, uint64_t witness_ok_us, uint64_t mirror_echo_us,
                          const struct vg_node_timing *t)
{
    uint64_t heard = witness_ok_us > mirror_echo_us ? witness_ok_us : mirror_echo_us;
    return now_us - heard <= ms_to_us(t->lease_ms);
}

uint64_t vg_decide_echo_stamp(uint64_t now_us, uint64_t stamp_us, uint64_t echoed_sent_us)
{
    if (echoed_sent_us <= now_us && echoed_sent_us > stamp_us)
        return echoed_sent_us;
    return stamp_us;
}

int vg_decide_witness_reachable(uint64_t now_us, uint64_t witness_ok_us,
                                const struct vg_node_timing *t)
{
    return witness_ok_us && now_us - witness_ok_us < ms_to_us(t->dead_after_ms);
}

uint64_t vg_decide_await_since(uint64_t now_us, uint64_t await_since_us, uint64_t peer_ack,
                               uint64_t durable)
{
    if (peer_ack >= durable)
        return 0;
    return await_since_us ? await_since_us : now_us;
}

enum vg_degrade vg_decide_degrade(const struct vg_primary_view *v,
                                  const struct vg_node_timing *t)
{
    if (!v->peer_in_sync || v->request_pending || v->switching)
        return VG_DEGRADE_NO;
    uint64_t ack_to = ms_to_us(t->ack_timeout_ms);
    if (v->now_us - v->peer_heard_us > ack_to)
        return VG_DEGRADE_SILENT;
    if (v->await_since_us && v->now_us - v->await_since_us > ack_to)
        return VG_DEGRADE_STALLED;
    return VG_DEGRADE_NO;
}

int vg_decide_restore(const struct vg_primary_view *v, const struct vg_node_timing *t)
{
    return !v->peer_in_sync && !v->request_pending && v->peer_connected &&
           v->peer_ack >= v->last_index &&
           v->now_us - v->peer_heard_us < ms_to_us(t->ack_timeout_ms);
}

int vg_decide_promote(const struct vg_mirror_view *v, const struct vg_node_timing *t)
{
    if (!v->self_in_sync || !v->primary_is_peer || v->request_pending)
        return 0;
    if (v->now_us - v->primary_lost_us < ms_to_us(t->dead_after_ms) ||
        v->now_us < v->promote_retry_us)
        return 0;
    return v->witness_reachable;
}

uint64_t vg_decide_promote_retry_at(uint64_t now_us, uint64_t witness_heard_primary_ms,
                                    const struct vg_node_timing *t)
{
    uint64_t wait_ms = witness_heard_primary_ms < t->dead_after_ms
                           ? t->dead_after_ms - witness_heard_primary_ms
                           : 0;
    return now_us + (wait_ms + 10) * 1000;
}

int vg_decide_link_silent(uint64_t now_us, uint64_t rx_us, const struct vg_node_timing *t)
{
    return now_us - rx_us > ms_to_us(t->dead_after_ms);
}

int vg_decide_dial(uint64_t now_us, uint64_t last_dial_us, uint64_t diverged_until_us,
                   const struct vg_node_timing *t)
{
    return now_us - last_dial_us >= ms_to_us(t->heartbeat_ms) && now_us >= diverged_until_us;
}

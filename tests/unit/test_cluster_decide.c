/*
 * test_cluster_decide.c - the cluster runtime's decisions (cluster/decide.h,
 * DESIGN.md section 3) without a process: fencing, the commit rule, the
 * lease, when the primary asks to degrade or restore, when the mirror asks
 * to be promoted, and when the link is dropped or dialed. Each timed rule
 * is checked just before, exactly at and just after its bound, with the
 * default timing of the node file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cluster/decide.h"

#define MS(x) ((uint64_t)(x)*1000)
#define T0    MS(1000000) /* an arbitrary monotonic instant, far from 0 */

static const struct vg_node_timing timing = {
    .heartbeat_ms = VG_NODE_HEARTBEAT_MS,
    .ack_timeout_ms = VG_NODE_ACK_TIMEOUT_MS,
    .lease_ms = VG_NODE_LEASE_MS,
    .dead_after_ms = VG_NODE_DEAD_AFTER_MS,
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* What the member commits: its own durable index, capped by the limit the
 * cluster sets (member.c's commit_ready; test_member_commit.c checks that
 * side with a real member). */
static uint64_t commit_index(const struct vg_commit_view *v, uint64_t durable_here)
{
    return min_u64(durable_here, vg_decide_commit_limit(v));
}

static struct vg_commit_view acting_primary(int peer_in_sync, uint64_t peer_ack)
{
    return (struct vg_commit_view){.role = ROLE_PRIMARY,
                                   .acting = 1,
                                   .peer_in_sync = peer_in_sync,
                                   .peer_ack = peer_ack,
                                   .applied = 0};
}

/* A primary in a healthy mirrored cluster at now: mirror heard, all acked. */
static struct vg_primary_view mirrored_primary(uint64_t now)
{
    return (struct vg_primary_view){.now_us = now,
                                    .peer_in_sync = 1,
                                    .peer_connected = 1,
                                    .peer_heard_us = now,
                                    .peer_ack = 100,
                                    .last_index = 100};
}

/* A degraded primary whose mirror has caught up and streams live. */
static struct vg_primary_view degraded_primary_mirror_caught_up(uint64_t now)
{
    struct vg_primary_view v = mirrored_primary(now);
    v.peer_in_sync = 0;
    return v;
}

/* A mirror in sync that last heard its primary at lost. */
static struct vg_mirror_view mirror_in_sync(uint64_t now, uint64_t lost)
{
    return (struct vg_mirror_view){.now_us = now,
                                   .self_in_sync = 1,
                                   .primary_is_peer = 1,
                                   .witness_reachable = 1,
                                   .primary_lost_us = lost};
}

/* ---- fencing ---- */

static void test_record_from_lower_epoch_is_refused(void **state)
{
    (void)state;
    assert_true(vg_decide_fenced(2, 3));
    assert_true(vg_decide_fenced(0, 1));
}

static void test_record_from_highest_or_newer_epoch_is_accepted(void **state)
{
    (void)state;
    assert_false(vg_decide_fenced(3, 3));
    assert_false(vg_decide_fenced(4, 3));
    assert_false(vg_decide_fenced(0, 0));
}

/* ---- the commit rule ---- */

static void test_record_commits_only_when_durable_on_every_member_of_sync(void **state)
{
    (void)state;
    /* sync = {primary, mirror}: durable here through 10, mirror acked 7 */
    struct vg_commit_view v = acting_primary(1, 7);
    assert_int_equal(commit_index(&v, 10), 7);
    /* the mirror catches up: all ten commit */
    v.peer_ack = 10;
    assert_int_equal(commit_index(&v, 10), 10);
    /* acked by the mirror but not yet durable here: waits for us too */
    v.peer_ack = 12;
    assert_int_equal(commit_index(&v, 10), 10);
}

static void test_nothing_commits_before_the_mirror_acks(void **state)
{
    (void)state;
    struct vg_commit_view v = acting_primary(1, 0);
    assert_int_equal(commit_index(&v, 5), 0);
}

static void test_primary_alone_in_sync_commits_on_its_own_durability(void **state)
{
    (void)state;
    /* sync = {primary}: the mirror's ack plays no part */
    struct vg_commit_view v = acting_primary(0, 3);
    assert_int_equal(vg_decide_commit_limit(&v), UINT64_MAX);
    assert_int_equal(commit_index(&v, 10), 10);
    assert_int_equal(commit_index(&v, 0), 0);
}

static void test_pending_restore_makes_commits_wait_for_mirror(void **state)
{
    (void)state;
    /* obligation 3: a restore that may still land could put the mirror in
     * sync without our knowing; committing alone meanwhile could lose data */
    struct vg_commit_view v = acting_primary(0, 4);
    v.restore_pending = 1;
    assert_int_equal(commit_index(&v, 10), 4);
}

static void test_primary_not_acting_commits_nothing_new(void **state)
{
    (void)state;
    struct vg_commit_view v = acting_primary(0, 10);
    v.acting = 0;
    v.applied = 6;
    assert_int_equal(commit_index(&v, 10), 6);
}

static void test_member_without_role_commits_nothing_new(void **state)
{
    (void)state;
    struct vg_commit_view v = {
        .role = ROLE_NONE, .applied = 3, .peer_ack = 9, .primary_commit = 9, .matched = 9};
    assert_int_equal(commit_index(&v, 9), 3);
}

static void test_mirror_commits_what_primary_committed_and_its_log_matches(void **state)
{
    (void)state;
    struct vg_commit_view v = {.role = ROLE_MIRROR, .primary_commit = 8, .matched = 5};
    assert_int_equal(commit_index(&v, 10), 5); /* only the matching prefix */
    v.matched = 10;
    assert_int_equal(commit_index(&v, 10), 8); /* only what the primary committed */
    v.primary_commit = 12;
    assert_int_equal(commit_index(&v, 9), 9); /* only what is durable here */
}

/* ---- the lease ---- */

static void test_primary_serves_while_it_heard_the_witness_within_lease(void **state)
{
    (void)state;
    uint64_t sent = T0;
    assert_true(vg_decide_lease_valid(sent, sent, 0, &timing));
    assert_true(vg_decide_lease_valid(sent + MS(VG_NODE_LEASE_MS) - 1, sent, 0, &timing));
}

static void test_lease_still_holds_at_exactly_lease(void **state)
{
    (void)state;
    assert_true(vg_decide_lease_valid(T0 + MS(VG_NODE_LEASE_MS), T0, 0, &timing));
}

static void test_primary_steps_down_when_lease_expires(void **state)
{
    (void)state;
    assert_false(vg_decide_lease_valid(T0 + MS(VG_NODE_LEASE_MS) + 1, T0, 0, &timing));
    assert_false(vg_decide_lease_valid(T0 + MS(VG_NODE_DEAD_AFTER_MS), T0, 0, &timing));
}

static void test_mirror_echo_alone_keeps_the_lease(void **state)
{
    (void)state;
    /* the witness is away; the mirror echoed a heartbeat sent 100 ms ago */
    uint64_t now = T0 + MS(5000);
    assert_true(vg_decide_lease_valid(now, T0, now - MS(100), &timing));
    assert_false(vg_decide_lease_valid(now, T0, now - MS(VG_NODE_LEASE_MS) - 1, &timing));
}

static void test_lease_expires_before_the_mirror_may_take_over(void **state)
{
    (void)state;
    /* DESIGN.md: lease < dead_after, so an isolated primary has stopped
     * before its mirror may ask to be promoted. Last heard: both at T0. */
    uint64_t now = T0 + MS(VG_NODE_DEAD_AFTER_MS);
    struct vg_mirror_view m = mirror_in_sync(now, T0);
    assert_true(vg_decide_promote(&m, &timing));
    assert_false(vg_decide_lease_valid(now, T0, T0, &timing));
}

static void test_lease_counts_from_send_time_of_the_echoed_heartbeat(void **state)
{
    (void)state;
    /* the echo arrives 300 ms after we sent it: it proves the mirror heard
     * us at send time, not at arrival */
    uint64_t sent = T0, now = T0 + MS(300);
    uint64_t stamp = vg_decide_echo_stamp(now, 0, sent);
    assert_int_equal(stamp, sent);
    assert_false(vg_decide_lease_valid(sent + MS(VG_NODE_LEASE_MS) + 1, 0, stamp, &timing));
}

static void test_late_echo_of_an_older_heartbeat_does_not_move_the_lease_back(void **state)
{
    (void)state;
    assert_int_equal(vg_decide_echo_stamp(T0 + MS(50), T0, T0 - MS(100)), T0);
    assert_int_equal(vg_decide_echo_stamp(T0 + MS(50), T0, T0), T0);
}

static void test_echo_claiming_a_future_send_time_is_ignored(void **state)
{
    (void)state;
    assert_int_equal(vg_decide_echo_stamp(T0, T0 - MS(100), T0 + 1), T0 - MS(100));
    assert_int_equal(vg_decide_echo_stamp(T0, T0 - MS(100), T0), T0);
}

static void test_witness_unreachable_once_unanswered_for_dead_after(void **state)
{
    (void)state;
    uint64_t dead = MS(VG_NODE_DEAD_AFTER_MS);
    assert_true(vg_decide_witness_reachable(T0 + dead - 1, T0, &timing));
    assert_false(vg_decide_witness_reachable(T0 + dead, T0, &timing));
    assert_false(vg_decide_witness_reachable(T0 + dead + 1, T0, &timing));
}

static void test_witness_that_never_answered_is_unreachable(void **state)
{
    (void)state;
    assert_false(vg_decide_witness_reachable(MS(1), 0, &timing));
}

/* ---- degrade (rule 2) ---- */

static void test_blip_shorter_than_ack_timeout_does_not_degrade(void **state)
{
    (void)state;
    /* DESIGN.md: a 300 ms network blip causes no degrade */
    struct vg_primary_view v = mirrored_primary(T0 + MS(300));
    v.peer_heard_us = T0;
    v.await_since_us = T0;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
    v.now_us = T0 + MS(VG_NODE_ACK_TIMEOUT_MS) - 1;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
}

static void test_silence_of_exactly_ack_timeout_does_not_degrade(void **state)
{
    (void)state;
    struct vg_primary_view v = mirrored_primary(T0 + MS(VG_NODE_ACK_TIMEOUT_MS));
    v.peer_heard_us = T0;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
}

static void test_primary_degrades_when_mirror_silent_longer_than_ack_timeout(void **state)
{
    (void)state;
    struct vg_primary_view v = mirrored_primary(T0 + MS(VG_NODE_ACK_TIMEOUT_MS) + 1);
    v.peer_heard_us = T0;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_SILENT);
}

static void test_primary_degrades_when_acks_stall_while_mirror_still_talks(void **state)
{
    (void)state;
    /* heartbeats come back, but the ack stays behind the durable index */
    uint64_t ack_to = MS(VG_NODE_ACK_TIMEOUT_MS);
    struct vg_primary_view v = mirrored_primary(T0 + ack_to);
    v.await_since_us = T0;
    v.peer_ack = 90;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
    v.now_us = v.peer_heard_us = T0 + ack_to + 1;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_STALLED);
}

static void test_ack_lag_is_timed_from_when_it_first_fell_behind(void **state)
{
    (void)state;
    /* caught up: not waiting */
    assert_int_equal(vg_decide_await_since(T0, 0, 10, 10), 0);
    assert_int_equal(vg_decide_await_since(T0, T0 - MS(50), 11, 10), 0);
    /* falls behind now */
    assert_int_equal(vg_decide_await_since(T0, 0, 9, 10), T0);
    /* still behind later (more records, new acks): the clock is not reset */
    assert_int_equal(vg_decide_await_since(T0 + MS(200), T0, 15, 20), T0);
}

static void test_no_degrade_when_mirror_already_out_of_sync(void **state)
{
    (void)state;
    struct vg_primary_view v = mirrored_primary(T0 + MS(10000));
    v.peer_in_sync = 0;
    v.peer_heard_us = T0;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
}

static void test_no_degrade_while_a_request_may_still_land(void **state)
{
    (void)state;
    struct vg_primary_view v = mirrored_primary(T0 + MS(10000));
    v.peer_heard_us = T0;
    v.request_pending = 1;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
}

static void test_no_degrade_during_planned_switchover(void **state)
{
    (void)state;
    struct vg_primary_view v = mirrored_primary(T0 + MS(10000));
    v.peer_heard_us = T0;
    v.switching = 1;
    assert_int_equal(vg_decide_degrade(&v, &timing), VG_DEGRADE_NO);
}

/* ---- restore (rule 3) ---- */

static void test_primary_restores_when_mirror_caught_up_and_streams_live(void **state)
{
    (void)state;
    struct vg_primary_view v = degraded_primary_mirror_caught_up(T0);
    assert_true(vg_decide_restore(&v, &timing));
    v.peer_heard_us = T0 - MS(VG_NODE_ACK_TIMEOUT_MS) + 1; /* heard just within */
    assert_true(vg_decide_restore(&v, &timing));
}

static void test_no_restore_while_mirror_lacks_part_of_the_log(void **state)
{
    (void)state;
    struct vg_primary_view v = degraded_primary_mirror_caught_up(T0);
    v.peer_ack = v.last_index - 1;
    assert_false(vg_decide_restore(&v, &timing));
}

static void test_no_restore_when_mirror_not_heard_for_ack_timeout(void **state)
{
    (void)state;
    struct vg_primary_view v = degraded_primary_mirror_caught_up(T0);
    v.peer_heard_us = T0 - MS(VG_NODE_ACK_TIMEOUT_MS); /* exactly: no longer live */
    assert_false(vg_decide_restore(&v, &timing));
}

static void test_no_restore_without_a_link(void **state)
{
    (void)state;
    struct vg_primary_view v = degraded_primary_mirror_caught_up(T0);
    v.peer_connected = 0;
    assert_false(vg_decide_restore(&v, &timing));
}

static void test_no_restore_while_a_request_may_still_land(void **state)
{
    (void)state;
    struct vg_primary_view v = degraded_primary_mirror_caught_up(T0);
    v.request_pending = 1;
    assert_false(vg_decide_restore(&v, &timing));
}

static void test_no_restore_when_mirror_already_in_sync(void **state)
{
    (void)state;
    struct vg_primary_view v = mirrored_primary(T0);
    assert_false(vg_decide_restore(&v, &timing));
}

/* ---- promote (rule 1) ---- */

static void test_mirror_asks_promotion_once_primary_silent_for_dead_after(void **state)
{
    (void)state;
    uint64_t dead = MS(VG_NODE_DEAD_AFTER_MS);
    struct vg_mirror_view v = mirror_in_sync(T0 + dead - 1, T0);
    assert_false(vg_decide_promote(&v, &timing));
    v.now_us = T0 + dead;
    assert_true(vg_decide_promote(&v, &timing));
    v.now_us = T0 + dead + 1;
    assert_true(vg_decide_promote(&v, &timing));
}

static void test_blip_shorter_than_dead_after_causes_no_failover(void **state)
{
    (void)state;
    struct vg_mirror_view v = mirror_in_sync(T0 + MS(300), T0);
    assert_false(vg_decide_promote(&v, &timing));
}

static void test_mirror_out_of_sync_never_asks_promotion(void **state)
{
    (void)state;
    struct vg_mirror_view v = mirror_in_sync(T0 + MS(60000), T0);
    v.self_in_sync = 0;
    assert_false(vg_decide_promote(&v, &timing));
}

static void test_mirror_does_not_ask_while_witness_unreachable(void **state)
{
    (void)state;
    struct vg_mirror_view v = mirror_in_sync(T0 + MS(60000), T0);
    v.witness_reachable = 0;
    assert_false(vg_decide_promote(&v, &timing));
}

static void test_mirror_does_not_ask_while_a_request_may_still_land(void **state)
{
    (void)state;
    struct vg_mirror_view v = mirror_in_sync(T0 + MS(60000), T0);
    v.request_pending = 1;
    assert_false(vg_decide_promote(&v, &timing));
}

static void test_member_asks_promotion_only_against_its_peer_as_primary(void **state)
{
    (void)state;
    /* no primary known, or this member is named: nothing to take over */
    struct vg_mirror_view v = mirror_in_sync(T0 + MS(60000), T0);
    v.primary_is_peer = 0;
    assert_false(vg_decide_promote(&v, &timing));
}

static void test_refused_promotion_is_retried_when_witness_timer_runs_out(void **state)
{
    (void)state;
    /* the witness heard the primary 300 ms before its last answer: its own
     * dead_after runs out 500 ms later; ask again 10 ms after that */
    uint64_t now = T0 + MS(VG_NODE_DEAD_AFTER_MS);
    uint64_t retry = vg_decide_promote_retry_at(now, 300, &timing);
    assert_int_equal(retry, now + MS(VG_NODE_DEAD_AFTER_MS - 300 + 10));
    struct vg_mirror_view v = mirror_in_sync(retry - 1, T0);
    v.promote_retry_us = retry;
    assert_false(vg_decide_promote(&v, &timing));
    v.now_us = retry;
    assert_true(vg_decide_promote(&v, &timing));
}

static void test_promotion_retry_is_soon_when_witness_also_lost_the_primary(void **state)
{
    (void)state;
    assert_int_equal(vg_decide_promote_retry_at(T0, VG_NODE_DEAD_AFTER_MS, &timing),
                     T0 + MS(10));
    assert_int_equal(vg_decide_promote_retry_at(T0, 5000, &timing), T0 + MS(10));
}

/* ---- the member link ---- */

static void test_link_silent_longer_than_dead_after_is_torn_down(void **state)
{
    (void)state;
    uint64_t dead = MS(VG_NODE_DEAD_AFTER_MS);
    assert_false(vg_decide_link_silent(T0 + dead - 1, T0, &timing));
    assert_false(vg_decide_link_silent(T0 + dead, T0, &timing));
    assert_true(vg_decide_link_silent(T0 + dead + 1, T0, &timing));
}

static void test_primary_dials_at_most_once_per_heartbeat(void **state)
{
    (void)state;
    uint64_t hb = MS(VG_NODE_HEARTBEAT_MS);
    assert_true(vg_decide_dial(T0, 0, 0, &timing)); /* never dialed */
    assert_false(vg_decide_dial(T0 + hb - 1, T0, 0, &timing));
    assert_true(vg_decide_dial(T0 + hb, T0, 0, &timing));
}

static void test_primary_waits_before_dialing_a_mirror_that_must_rebuild(void **state)
{
    (void)state;
    uint64_t until = T0 + MS(5000);
    assert_false(vg_decide_dial(until - 1, 0, until, &timing));
    assert_true(vg_decide_dial(until, 0, until, &timing));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_from_lower_epoch_is_refused),
        cmocka_unit_test(test_record_from_highest_or_newer_epoch_is_accepted),
        cmocka_unit_test(test_record_commits_only_when_durable_on_every_member_of_sync),
        cmocka_unit_test(test_nothing_commits_before_the_mirror_acks),
        cmocka_unit_test(test_primary_alone_in_sync_commits_on_its_own_durability),
        cmocka_unit_test(test_pending_restore_makes_commits_wait_for_mirror),
        cmocka_unit_test(test_primary_not_acting_commits_nothing_new),
        cmocka_unit_test(test_member_without_role_commits_nothing_new),
        cmocka_unit_test(test_mirror_commits_what_primary_committed_and_its_log_matches),
        cmocka_unit_test(test_primary_serves_while_it_heard_the_witness_within_lease),
        cmocka_unit_test(test_lease_still_holds_at_exactly_lease),
        cmocka_unit_test(test_primary_steps_down_when_lease_expires),
        cmocka_unit_test(test_mirror_echo_alone_keeps_the_lease),
        cmocka_unit_test(test_lease_expires_before_the_mirror_may_take_over),
        cmocka_unit_test(test_lease_counts_from_send_time_of_the_echoed_heartbeat),
        cmocka_unit_test(test_late_echo_of_an_older_heartbeat_does_not_move_the_lease_back),
        cmocka_unit_test(test_echo_claiming_a_future_send_time_is_ignored),
        cmocka_unit_test(test_witness_unreachable_once_unanswered_for_dead_after),
        cmocka_unit_test(test_witness_that_never_answered_is_unreachable),
        cmocka_unit_test(test_blip_shorter_than_ack_timeout_does_not_degrade),
        cmocka_unit_test(test_silence_of_exactly_ack_timeout_does_not_degrade),
        cmocka_unit_test(test_primary_degrades_when_mirror_silent_longer_than_ack_timeout),
        cmocka_unit_test(test_primary_degrades_when_acks_stall_while_mirror_still_talks),
        cmocka_unit_test(test_ack_lag_is_timed_from_when_it_first_fell_behind),
        cmocka_unit_test(test_no_degrade_when_mirror_already_out_of_sync),
        cmocka_unit_test(test_no_degrade_while_a_request_may_still_land),
        cmocka_unit_test(test_no_degrade_during_planned_switchover),
        cmocka_unit_test(test_primary_restores_when_mirror_caught_up_and_streams_live),
        cmocka_unit_test(test_no_restore_while_mirror_lacks_part_of_the_log),
        cmocka_unit_test(test_no_restore_when_mirror_not_heard_for_ack_timeout),
        cmocka_unit_test(test_no_restore_without_a_link),
        cmocka_unit_test(test_no_restore_while_a_request_may_still_land),
        cmocka_unit_test(test_no_restore_when_mirror_already_in_sync),
        cmocka_unit_test(test_mirror_asks_promotion_once_primary_silent_for_dead_after),
        cmocka_unit_test(test_blip_shorter_than_dead_after_causes_no_failover),
        cmocka_unit_test(test_mirror_out_of_sync_never_asks_promotion),
        cmocka_unit_test(test_mirror_does_not_ask_while_witness_unreachable),
        cmocka_unit_test(test_mirror_does_not_ask_while_a_request_may_still_land),
        cmocka_unit_test(test_member_asks_promotion_only_against_its_peer_as_primary),
        cmocka_unit_test(test_refused_promotion_is_retried_when_witness_timer_runs_out),
        cmocka_unit_test(test_promotion_retry_is_soon_when_witness_also_lost_the_primary),
        cmocka_unit_test(test_link_silent_longer_than_dead_after_is_torn_down),
        cmocka_unit_test(test_primary_dials_at_most_once_per_heartbeat),
        cmocka_unit_test(test_primary_waits_before_dialing_a_mirror_that_must_rebuild),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

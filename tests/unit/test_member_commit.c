/*
 * test_member_commit.c - the commit rule as the member applies it, with a
 * real member (keyring, log, writer thread, event loop) in a temporary data
 * directory: a request is answered only once its record is durable here
 * and within the commit limit the cluster sets from its decision
 * (cluster/decide.h: the mirror's ack while the mirror is in sync, none
 * with sync = {primary}), in index order, and never before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cluster/decide.h"
#include "core/say.h"
#include "member/member.h"
#include "store/record.h"

#include <errno.h>
#include <ftw.h>
#include <unistd.h>

#define MAX_DONE 16
#define WAIT_US  5000000 /* the writer makes a few records durable well within this */

struct fixture {
    char dir[64];
    struct event_base *base;
    vg_member_t *m;
    size_t n_submitted;
    /* completions, in the order they came */
    size_t n_done;
    uint64_t done_index[MAX_DONE];
    int done_code[MAX_DONE];
    uint64_t durable_at_done[MAX_DONE]; /* the log's durable index when answered */
};

struct request {
    struct fixture *f;
    uint64_t index;
};

static struct request requests[MAX_DONE];

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[512];
    snprintf(f->dir, sizeof f->dir, "/tmp/vg-test-member-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char key_path[128];
    snprintf(key_path, sizeof key_path, "%s/keyring", f->dir);
    if (vg_keyring_create(key_path, err, sizeof err)) {
        fprintf(stderr, "keyring: %s\n", err);
        return -1;
    }
    f->base = event_base_new();
    event_base_priority_init(f->base, VG_MEMBER_PRIORITIES);
    struct vg_member_opts opts = {.data_dir = f->dir};
    if (vg_member_open(&opts, f->base, &f->m, err, sizeof err)) {
        fprintf(stderr, "member: %s\n", err);
        return -1;
    }
    memset(requests, 0, sizeof requests);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vg_member_close(f->m);
    event_base_free(f->base);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void on_done(void *ctx, int code, const vg_apply_result_t *res)
{
    (void)res;
    struct request *r = ctx;
    struct fixture *f = r->f;
    assert_true(f->n_done < MAX_DONE);
    f->done_index[f->n_done] = r->index;
    f->done_code[f->n_done] = code;
    f->durable_at_done[f->n_done] = vg_log_durable_index(vg_member_log(f->m));
    f->n_done++;
}

/* Submits n records, each with its own completion. */
static void submit(struct fixture *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t handle = 0;
        json_t *payload = json_pack("{s:I}", "n", (json_int_t)i);
        assert_true(f->n_submitted < MAX_DONE);
        struct request *r = &requests[f->n_submitted++];
        r->f = f;
        assert_int_equal(vg_member_submit(f->m, VG_REC_NOOP, payload, on_done, r, &handle), 0);
        r->index = handle;
        json_decref(payload);
    }
}

/* Runs the loop until the log's durable index reaches index. */
static void run_until_durable(struct fixture *f, uint64_t index)
{
    uint64_t deadline = vg_mono_us() + WAIT_US;
    while (vg_log_durable_index(vg_member_log(f->m)) < index) {
        if (vg_mono_us() > deadline)
            fail_msg("record %llu not durable within %d s", (unsigned long long)index,
                     WAIT_US / 1000000);
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    /* a few more turns: whatever the durable notice triggers has run */
    for (int i = 0; i < 5; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

/* The limit the cluster sets for an acting primary (cluster.c's
 * vg_cluster_update_commit). */
static void set_primary_limit(struct fixture *f, int mirror_in_sync, uint64_t mirror_ack)
{
    struct vg_commit_view v = {.role = ROLE_PRIMARY,
                               .acting = 1,
                               .peer_in_sync = mirror_in_sync,
                               .peer_ack = mirror_ack,
                               .applied = vg_state_applied_index(vg_member_state(f->m))};
    vg_member_set_commit_limit(f->m, vg_decide_commit_limit(&v));
}

static void assert_answered_in_order_and_durable(const struct fixture *f)
{
    for (size_t i = 0; i < f->n_done; i++) {
        assert_int_equal(f->done_index[i], i + 1);
        assert_int_equal(f->done_code[i], 0);
        assert_true(f->durable_at_done[i] >= f->done_index[i]);
    }
}

static void test_primary_alone_in_sync_answers_once_durable_here(void **state)
{
    struct fixture *f = *state;
    set_primary_limit(f, 0, 0);
    submit(f, 3);
    assert_int_equal(f->n_done, 0); /* nothing is answered before it is written */
    run_until_durable(f, 3);
    assert_int_equal(f->n_done, 3);
    assert_answered_in_order_and_durable(f);
    assert_int_equal(vg_state_applied_index(vg_member_state(f->m)), 3);
}

static void test_record_waits_for_the_mirror_ack_while_mirror_in_sync(void **state)
{
    struct fixture *f = *state;
    set_primary_limit(f, 1, 0);
    submit(f, 3);
    run_until_durable(f, 3);
    /* durable here, not acknowledged by the mirror: not committed */
    assert_int_equal(f->n_done, 0);
    assert_int_equal(vg_state_applied_index(vg_member_state(f->m)), 0);
    /* the mirror acknowledges 2: exactly records 1 and 2 commit */
    set_primary_limit(f, 1, 2);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(vg_state_applied_index(vg_member_state(f->m)), 2);
    set_primary_limit(f, 1, 3);
    assert_int_equal(f->n_done, 3);
    assert_answered_in_order_and_durable(f);
}

static void test_mirror_ack_ahead_of_local_durability_waits_for_the_disk(void **state)
{
    struct fixture *f = *state;
    /* the ack covers records this member has not written yet: they are
     * answered only when they are durable here too */
    set_primary_limit(f, 1, 2);
    submit(f, 2);
    assert_int_equal(f->n_done, 0);
    run_until_durable(f, 2);
    assert_int_equal(f->n_done, 2);
    assert_answered_in_order_and_durable(f);
}

static void test_degrade_lets_waiting_records_commit_alone(void **state)
{
    struct fixture *f = *state;
    set_primary_limit(f, 1, 1);
    submit(f, 3);
    run_until_durable(f, 3);
    assert_int_equal(f->n_done, 1);
    /* the witness applied sync = {primary}: the rest commit without the mirror */
    set_primary_limit(f, 0, 1);
    assert_int_equal(f->n_done, 3);
    assert_answered_in_order_and_durable(f);
}

static void test_primary_that_stops_acting_commits_nothing_more(void **state)
{
    struct fixture *f = *state;
    set_primary_limit(f, 1, 0);
    submit(f, 2);
    run_until_durable(f, 2);
    struct vg_commit_view v = {.role = ROLE_NONE,
                               .peer_ack = 2,
                               .applied = vg_state_applied_index(vg_member_state(f->m))};
    vg_member_set_commit_limit(f->m, vg_decide_commit_limit(&v));
    assert_int_equal(f->n_done, 0);
    /* stepping down fails what waits: its outcome is for the new primary */
    vg_member_fail_pending(f->m, -ESTALE);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->done_code[0], -ESTALE);
    assert_int_equal(f->done_code[1], -ESTALE);
    assert_int_equal(vg_state_applied_index(vg_member_state(f->m)), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    vg_say_set_level(VG_SAY_WARN);
    const struct CMUnitTest tests[] = {
        T(test_primary_alone_in_sync_answers_once_durable_here),
        T(test_record_waits_for_the_mirror_ack_while_mirror_in_sync),
        T(test_mirror_ack_ahead_of_local_durability_waits_for_the_disk),
        T(test_degrade_lets_waiting_records_commit_alone),
        T(test_primary_that_stops_acting_commits_nothing_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_wire.c - the members' link messages: every type round-trips, a
 * message split anywhere waits for more bytes, and malformed input is
 * refused with a reason instead of being half-believed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cluster/wire.h"

static vg_wire_msg_t decode_ok(const vg_buf_t *b)
{
    vg_wire_msg_t m;
    size_t used = 0;
    char err[256] = "";
    int rc = vg_wire_decode(b->data, b->len, &m, &used, err, sizeof err);
    if (rc)
        fail_msg("decode failed: %d %s", rc, err);
    assert_int_equal(used, b->len);
    return m;
}

static void test_hello_round_trips(void **unused)
{
    vg_wire_msg_t m = {.type = VG_WIRE_HELLO, .epoch = 7};
    m.u.hello.version = VG_WIRE_VERSION;
    m.u.hello.last_index = 100;
    m.u.hello.last_epoch = 6;
    m.u.hello.commit_index = 98;
    m.u.hello.commit_epoch = 6;
    snprintf(m.u.hello.name, sizeof m.u.hello.name, "dc2-a");
    m.u.hello.key_id = 3;
    for (size_t i = 0; i < VG_WIRE_KEY_PROOF_BYTES; i++)
        m.u.hello.key_proof[i] = (uint8_t)(i * 7 + 1);
    vg_buf_t b = VG_BUF_INIT;
    vg_wire_encode(&m, &b);
    vg_wire_msg_t d = decode_ok(&b);
    assert_int_equal(d.type, VG_WIRE_HELLO);
    assert_int_equal(d.epoch, 7);
    assert_int_equal(d.u.hello.last_index, 100);
    assert_int_equal(d.u.hello.last_epoch, 6);
    assert_int_equal(d.u.hello.commit_index, 98);
    assert_int_equal(d.u.hello.key_id, 3);
    assert_memory_equal(d.u.hello.key_proof, m.u.hello.key_proof, VG_WIRE_KEY_PROOF_BYTES);
    assert_int_equal(d.u.hello.commit_epoch, 6);
    assert_string_equal(d.u.hello.name, "dc2-a");
    vg_buf_release(&b);
}

static void test_append_carries_frames_unchanged(void **unused)
{
    uint8_t frames[300];
    for (size_t i = 0; i < sizeof frames; i++)
        frames[i] = (uint8_t)(i * 7);
    vg_wire_msg_t m = {.type = VG_WIRE_APPEND, .epoch = 3};
    m.u.append.commit_index = 10;
    m.u.append.prev_index = 11;
    m.u.append.prev_epoch = 3;
    m.u.append.frames = frames;
    m.u.append.frames_len = sizeof frames;
    vg_buf_t b = VG_BUF_INIT;
    vg_wire_encode(&m, &b);
    vg_wire_msg_t d = decode_ok(&b);
    assert_int_equal(d.u.append.prev_index, 11);
    assert_int_equal(d.u.append.frames_len, sizeof frames);
    assert_memory_equal(d.u.append.frames, frames, sizeof frames);
    vg_buf_release(&b);
}

static void test_small_messages_round_trip(void **unused)
{
    vg_wire_msg_t in[4] = {{.type = VG_WIRE_ACK, .epoch = 2},
                           {.type = VG_WIRE_HEARTBEAT, .epoch = 2},
                           {.type = VG_WIRE_TRUNCATE, .epoch = 5},
                           {.type = VG_WIRE_REJECT, .epoch = 9}};
    in[0].u.ack.durable_index = 44;
    in[1].u.heartbeat.commit_index = 43;
    in[1].u.heartbeat.sent_us = 123456789;
    in[2].u.truncate.after_index = 40;
    in[3].u.reject.code = 409;
    snprintf(in[3].u.reject.reason, sizeof in[3].u.reject.reason, "epoch 9 is below 10");
    vg_buf_t b = VG_BUF_INIT;
    for (int i = 0; i < 4; i++)
        vg_wire_encode(&in[i], &b);
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        vg_wire_msg_t d;
        size_t used;
        char err[128];
        assert_int_equal(vg_wire_decode(b.data + at, b.len - at, &d, &used, err, sizeof err),
                         0);
        assert_int_equal(d.type, in[i].type);
        assert_int_equal(d.epoch, in[i].epoch);
        at += used;
        if (i == 0)
            assert_int_equal(d.u.ack.durable_index, 44);
        if (i == 1)
            assert_int_equal(d.u.heartbeat.sent_us, 123456789);
        if (i == 2)
            assert_int_equal(d.u.truncate.after_index, 40);
        if (i == 3)
            assert_string_equal(d.u.reject.reason, "epoch 9 is below 10");
    }
    assert_int_equal(at, b.len);
    vg_buf_release(&b);
}

static void test_every_prefix_waits_for_more_bytes(void **unused)
{
    vg_wire_msg_t m = {.type = VG_WIRE_HEARTBEAT, .epoch = 1};
    vg_buf_t b = VG_BUF_INIT;
    vg_wire_encode(&m, &b);
    for (size_t n = 0; n < b.len; n++) {
        vg_wire_msg_t d;
        size_t used;
        assert_int_equal(vg_wire_decode(b.data, n, &d, &used, NULL, 0), -EAGAIN);
    }
    vg_buf_release(&b);
}

static void test_unknown_type_and_bad_lengths_are_refused(void **unused)
{
    char err[256];
    vg_wire_msg_t d;
    size_t used;
    uint8_t unknown[] = {8, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(vg_wire_decode(unknown, sizeof unknown, &d, &used, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "unknown message type 99"));
    uint8_t huge[] = {0xff, 0xff, 0xff, 0x7f, VG_WIRE_ACK};
    assert_int_equal(vg_wire_decode(huge, sizeof huge, &d, &used, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "exceeds the limit"));
    /* an ACK whose body is one byte short, and one with a trailing byte */
    uint8_t short_ack[] = {15, 0, 0, 0, VG_WIRE_ACK, 1, 0, 0, 0, 0,
                           0,  0, 0, 2, 0,           0, 0, 0, 0, 0};
    assert_int_equal(vg_wire_decode(short_ack, sizeof short_ack, &d, &used, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "ACK is truncated"));
    uint8_t long_ack[22] = {17, 0, 0, 0, VG_WIRE_ACK};
    assert_int_equal(vg_wire_decode(long_ack, sizeof long_ack, &d, &used, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "trailing"));
}

static void test_hello_with_bad_name_or_version_is_refused(void **unused)
{
    vg_wire_msg_t m = {.type = VG_WIRE_HELLO, .epoch = 1};
    m.u.hello.version = VG_WIRE_VERSION;
    snprintf(m.u.hello.name, sizeof m.u.hello.name, "../etc");
    vg_buf_t b = VG_BUF_INIT;
    vg_wire_encode(&m, &b);
    vg_wire_msg_t d;
    size_t used;
    char err[256];
    assert_int_equal(vg_wire_decode(b.data, b.len, &d, &used, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "invalid member name"));
    vg_buf_reset(&b);
    snprintf(m.u.hello.name, sizeof m.u.hello.name, "dc1-a");
    m.u.hello.version = 99;
    vg_wire_encode(&m, &b);
    assert_int_equal(vg_wire_decode(b.data, b.len, &d, &used, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "version 99"));
    vg_buf_release(&b);
}

static void test_snapshot_chunk_past_total_is_refused(void **unused)
{
    uint8_t data[10] = {0};
    vg_wire_msg_t m = {.type = VG_WIRE_SNAPSHOT, .epoch = 1};
    m.u.snapshot.index = 5;
    m.u.snapshot.offset = 95;
    m.u.snapshot.total = 100;
    m.u.snapshot.data = data;
    m.u.snapshot.data_len = sizeof data;
    vg_buf_t b = VG_BUF_INIT;
    vg_wire_encode(&m, &b);
    vg_wire_msg_t d;
    size_t used;
    char err[256];
    assert_int_equal(vg_wire_decode(b.data, b.len, &d, &used, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "past the snapshot"));
    vg_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trips),
        cmocka_unit_test(test_append_carries_frames_unchanged),
        cmocka_unit_test(test_small_messages_round_trip),
        cmocka_unit_test(test_every_prefix_waits_for_more_bytes),
        cmocka_unit_test(test_unknown_type_and_bad_lengths_are_refused),
        cmocka_unit_test(test_hello_with_bad_name_or_version_is_refused),
        cmocka_unit_test(test_snapshot_chunk_past_total_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

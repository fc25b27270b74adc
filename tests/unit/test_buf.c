/*
 * test_buf.c - the growable byte buffer of buf.h, which every request body,
 * log record and message of vigil is built in: it must grow without losing
 * bytes, keep data[len] == '\0' so text can be used as a C string, carry
 * binary content (NULs included) by its length, and hand its bytes over
 * cleanly on detach.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"

/* The invariant of buf.h, checked after every operation below. */
static void assert_nul_terminated(const vg_buf_t *b)
{
    if (b->data) {
        assert_true(b->len < b->cap);
        assert_int_equal(b->data[b->len], '\0');
    } else {
        assert_int_equal(b->len, 0);
        assert_int_equal(b->cap, 0);
    }
}

static void test_init_gives_an_empty_buffer_that_owns_nothing(void **state)
{
    vg_buf_t fresh = VG_BUF_INIT, b;
    memset(&b, 0xa5, sizeof b);
    vg_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_memory_equal(&b, &fresh, sizeof b);
    vg_buf_release(&b); /* releasing an empty buffer is fine */
    assert_null(b.data);
}

static void test_grows_to_hold_everything_added_byte_by_byte(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    const size_t n_bytes = 100000;
    for (size_t i = 0; i < n_bytes; i++) {
        uint8_t byte = (uint8_t)(i * 7);
        vg_buf_add(&b, &byte, 1);
        assert_int_equal(b.len, i + 1);
        assert_nul_terminated(&b);
    }
    for (size_t i = 0; i < n_bytes; i++)
        if (b.data[i] != (uint8_t)(i * 7))
            fail_msg("byte %zu is %u, expected %u", i, b.data[i], (uint8_t)(i * 7));
    vg_buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_grow_reserves_room_so_adding_that_much_does_not_move_the_data(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    vg_buf_adds(&b, "head");
    vg_buf_grow(&b, 5000);
    assert_true(b.cap >= b.len + 5000 + 1);
    const uint8_t *before = b.data;
    for (int i = 0; i < 5; i++)
        vg_buf_add(&b, chunk, sizeof chunk);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.len, 4 + 5000);
    assert_memory_equal(b.data, "headxxxx", 8);
    assert_nul_terminated(&b);
    vg_buf_release(&b);
}

static void test_grow_by_less_than_the_spare_room_keeps_the_capacity(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_adds(&b, "abc");
    size_t cap = b.cap;
    vg_buf_grow(&b, cap - b.len - 1);
    assert_int_equal(b.cap, cap);
    vg_buf_grow(&b, cap - b.len); /* one more than fits with the NUL */
    assert_true(b.cap > cap);
    assert_string_equal((char *)b.data, "abc");
    vg_buf_release(&b);
}

static void test_every_write_leaves_a_nul_after_the_content(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_add(&b, "", 0); /* adding nothing still gives a C string */
    assert_non_null(b.data);
    assert_string_equal((char *)b.data, "");
    assert_nul_terminated(&b);
    vg_buf_adds(&b, "abc");
    assert_nul_terminated(&b);
    assert_string_equal((char *)b.data, "abc");
    vg_buf_printf(&b, "%d", 12345);
    assert_nul_terminated(&b);
    assert_string_equal((char *)b.data, "abc12345");
    vg_buf_reset(&b);
    assert_nul_terminated(&b);
    assert_string_equal((char *)b.data, "");
    vg_buf_release(&b);
}

static void test_reset_empties_but_keeps_the_capacity(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_reset(&b); /* on a buffer that owns nothing: nothing to do */
    assert_null(b.data);
    vg_buf_printf(&b, "%0300d", 7);
    size_t cap = b.cap;
    const uint8_t *data = b.data;
    vg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.data, data);
    vg_buf_adds(&b, "again");
    assert_string_equal((char *)b.data, "again");
    vg_buf_release(&b);
}

static void test_printf_appends_to_what_is_there(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_adds(&b, "site/");
    vg_buf_printf(&b, "%s-%d", "dc", 1);
    vg_buf_printf(&b, " rev %llu", 18446744073709551615ull);
    assert_string_equal((char *)b.data, "site/dc-1 rev 18446744073709551615");
    assert_int_equal(b.len, strlen("site/dc-1 rev 18446744073709551615"));
    vg_buf_release(&b);
}

static void test_printf_longer_than_the_first_allocation_is_complete(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    char expected[5001];
    memset(expected, 'y', 5000);
    expected[5000] = '\0';
    vg_buf_adds(&b, "<");
    vg_buf_printf(&b, "%s>", expected);
    assert_int_equal(b.len, 5002);
    assert_int_equal(b.data[0], '<');
    assert_memory_equal(b.data + 1, expected, 5000);
    assert_int_equal(b.data[5001], '>');
    assert_nul_terminated(&b);
    vg_buf_release(&b);
}

static void test_printf_of_nothing_changes_nothing(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 0);
    assert_nul_terminated(&b);
    vg_buf_adds(&b, "x");
    vg_buf_printf(&b, "%s", "");
    assert_string_equal((char *)b.data, "x");
    assert_int_equal(b.len, 1);
    vg_buf_release(&b);
}

static void test_detach_hands_over_the_bytes_and_leaves_the_buffer_empty(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    size_t len = 0;
    vg_buf_adds(&b, "zone/room-a");
    uint8_t *bytes = vg_buf_detach(&b, &len);
    assert_int_equal(len, 11);
    assert_string_equal((char *)bytes, "zone/room-a");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* the buffer is usable again and does not share the detached bytes */
    vg_buf_adds(&b, "other");
    assert_string_equal((char *)bytes, "zone/room-a");
    assert_string_equal((char *)b.data, "other");
    free(bytes);
    vg_buf_release(&b);
}

static void test_detach_of_an_empty_buffer_gives_an_empty_string_to_free(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    size_t len = 99;
    uint8_t *bytes = vg_buf_detach(&b, &len);
    assert_non_null(bytes);
    assert_int_equal(len, 0);
    assert_string_equal((char *)bytes, "");
    free(bytes);
    bytes = vg_buf_detach(&b, NULL); /* len may be NULL */
    assert_non_null(bytes);
    free(bytes);
}

static void test_binary_content_with_nuls_is_kept_by_length(void **state)
{
    static const uint8_t record[] = {0x00, 'v', 0x00, 0xff, 0x80, 0x00, '\n', 0x01};
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_add(&b, record, sizeof record);
    vg_buf_add(&b, record, sizeof record);
    assert_int_equal(b.len, 2 * sizeof record);
    assert_memory_equal(b.data, record, sizeof record);
    assert_memory_equal(b.data + sizeof record, record, sizeof record);
    assert_nul_terminated(&b);
    size_t len;
    uint8_t *bytes = vg_buf_detach(&b, &len);
    assert_int_equal(len, 2 * sizeof record);
    assert_memory_equal(bytes + sizeof record, record, sizeof record);
    free(bytes);
}

static void test_adds_stops_at_the_first_nul(void **state)
{
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_adds(&b, "ab\0cd");
    assert_int_equal(b.len, 2);
    assert_string_equal((char *)b.data, "ab");
    vg_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_gives_an_empty_buffer_that_owns_nothing),
        cmocka_unit_test(test_grows_to_hold_everything_added_byte_by_byte),
        cmocka_unit_test(test_grow_reserves_room_so_adding_that_much_does_not_move_the_data),
        cmocka_unit_test(test_grow_by_less_than_the_spare_room_keeps_the_capacity),
        cmocka_unit_test(test_every_write_leaves_a_nul_after_the_content),
        cmocka_unit_test(test_reset_empties_but_keeps_the_capacity),
        cmocka_unit_test(test_printf_appends_to_what_is_there),
        cmocka_unit_test(test_printf_longer_than_the_first_allocation_is_complete),
        cmocka_unit_test(test_printf_of_nothing_changes_nothing),
        cmocka_unit_test(test_detach_hands_over_the_bytes_and_leaves_the_buffer_empty),
        cmocka_unit_test(test_detach_of_an_empty_buffer_gives_an_empty_string_to_free),
        cmocka_unit_test(test_binary_content_with_nuls_is_kept_by_length),
        cmocka_unit_test(test_adds_stops_at_the_first_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_record.c - sealed record frames: a frame opens back into the same
 * record, and any change (a byte, its position, its epoch or type, the key)
 * makes it fail with a clear code instead of yielding a wrong record.
 *
 * With VG_REGEN_FIXTURES=1 in the environment, the test also rewrites the
 * fuzzer's seed corpus fuzz/corpus/fuzz_record/ with the fixture key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/record.h"

static char err[256];

static const uint8_t fixture_key[VG_KEY_BYTES] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

static vg_record_t make_record(uint64_t epoch, uint64_t index, uint16_t type, const char *text)
{
    vg_record_t rec = {epoch, index, type, 1, (uint8_t *)(uintptr_t)text, strlen(text)};
    return rec;
}

static void encode(const vg_keyring_t *kr, const vg_record_t *rec, vg_buf_t *out)
{
    assert_int_equal(vg_record_encode(kr, rec, out), 0);
}

static int decode(const vg_keyring_t *kr, const uint8_t *p, size_t n, vg_record_t *rec,
                  size_t *used)
{
    err[0] = '\0';
    return vg_record_decode(kr, p, n, rec, used, err, sizeof err);
}

static void assert_decodes_to(const vg_keyring_t *kr, const uint8_t *p, size_t n,
                              const vg_record_t *want)
{
    vg_record_t got;
    size_t used;
    assert_int_equal(decode(kr, p, n, &got, &used), 0);
    assert_int_equal(used, n);
    assert_int_equal(got.epoch, want->epoch);
    assert_int_equal(got.index, want->index);
    assert_int_equal(got.type, want->type);
    assert_int_equal(got.key_id, want->key_id);
    assert_int_equal(got.payload_len, want->payload_len);
    assert_memory_equal(got.payload, want->payload, want->payload_len);
    vg_record_release(&got);
}

static void test_record_roundtrip_of_many_sizes(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    static const size_t sizes[] = {0, 1, 15, 100, 4096, 70000};
    for (size_t i = 0; i < VG_ARRAY_LEN(sizes); i++) {
        uint8_t *payload = vg_malloc(sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            payload[j] = (uint8_t)(j * 31 + i);
        vg_record_t rec = {3, 1000 + i, VG_REC_OBJ_PUT, 1, payload, sizes[i]};
        vg_buf_t out = VG_BUF_INIT;
        encode(kr, &rec, &out);
        assert_int_equal(out.len, VG_RECORD_FRAME_OVERHEAD + sizes[i]);
        assert_decodes_to(kr, out.data, out.len, &rec);
        vg_buf_release(&out);
        free(payload);
    }
    vg_keyring_free(kr);
}

static void test_record_decodes_consecutive_frames(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t a = make_record(1, 1, VG_REC_NOOP, "");
    vg_record_t b = make_record(1, 2, VG_REC_OBJ_DELETE, "{\"kind\":\"Zone\"}");
    encode(kr, &a, &out);
    size_t first = out.len;
    encode(kr, &b, &out);
    vg_record_t got;
    size_t used;
    assert_int_equal(decode(kr, out.data, out.len, &got, &used), 0);
    assert_int_equal(used, first);
    assert_int_equal(got.index, 1);
    vg_record_release(&got);
    assert_decodes_to(kr, out.data + first, out.len - first, &b);
    vg_buf_release(&out);
    vg_keyring_free(kr);
}

static void test_record_decode_of_short_input_is_eagain(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = make_record(1, 9, VG_REC_OBJ_PUT, "{\"object\":{}}");
    encode(kr, &rec, &out);
    for (size_t n = 0; n < out.len; n++) {
        vg_record_t got;
        size_t used = 99;
        assert_int_equal(decode(kr, out.data, n, &got, &used), -EAGAIN);
        assert_int_equal(used, 0);
        assert_null(got.payload);
    }
    vg_buf_release(&out);
    vg_keyring_free(kr);
}

static void test_record_decode_fails_with_wrong_key(void **state)
{
    vg_keyring_t *mine = vg_keyring_new_ephemeral(), *theirs = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = make_record(1, 1, VG_REC_OBJ_PUT, "secret");
    encode(mine, &rec, &out);
    vg_record_t got;
    size_t used;
    assert_int_equal(decode(theirs, out.data, out.len, &got, &used), -EBADMSG);
    assert_non_null(strstr(err, "record 1 failed authentication"));
    vg_buf_release(&out);
    vg_keyring_free(mine);
    vg_keyring_free(theirs);
}

static void test_record_decode_detects_every_tampered_byte(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = make_record(2, 77, VG_REC_TOKEN_CREATE, "{\"id\":\"t1\"}");
    encode(kr, &rec, &out);
    for (size_t i = 0; i < out.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            vg_record_t got;
            size_t used;
            out.data[i] ^= (uint8_t)(1u << bit);
            int rc = decode(kr, out.data, out.len, &got, &used);
            out.data[i] ^= (uint8_t)(1u << bit);
            if (rc == 0)
                fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
            assert_null(got.payload);
        }
    }
    vg_buf_release(&out);
    vg_keyring_free(kr);
}

/* Rewrites a header field and checks the frame no longer opens. */
static void assert_field_is_bound(size_t field_at, size_t width)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = make_record(5, 10, VG_REC_OBJ_PUT, "{\"object\":{\"kind\":\"Door\"}}");
    encode(kr, &rec, &out);
    uint8_t *field = out.data + 4 + field_at;
    if (width == 8)
        vg_put_u64(field, vg_get_u64(field) + 1);
    else
        vg_put_u16(field, (uint16_t)(vg_get_u16(field) + 1));
    vg_record_t got;
    size_t used;
    assert_int_equal(decode(kr, out.data, out.len, &got, &used), -EBADMSG);
    vg_buf_release(&out);
    vg_keyring_free(kr);
}

static void test_record_moved_to_another_index_fails_authentication(void **state)
{
    assert_field_is_bound(8, 8);
}

static void test_record_replayed_into_another_epoch_fails_authentication(void **state)
{
    assert_field_is_bound(0, 8);
}

static void test_record_retyped_fails_authentication(void **state)
{
    assert_field_is_bound(16, 2);
}

static void test_record_decode_rejects_length_out_of_range(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    uint8_t frame[VG_RECORD_FRAME_OVERHEAD + 8] = {0};
    static const uint32_t bad_lengths[] = {0, 1, VG_RECORD_FRAME_OVERHEAD - 5,
                                           VG_RECORD_MAX_PAYLOAD + VG_RECORD_FRAME_OVERHEAD - 3,
                                           UINT32_MAX};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad_lengths); i++) {
        vg_record_t got;
        size_t used;
        vg_put_u32(frame, bad_lengths[i]);
        assert_int_equal(decode(kr, frame, sizeof frame, &got, &used), -EINVAL);
        assert_non_null(strstr(err, "out of range"));
    }
    vg_keyring_free(kr);
}

static void test_record_decode_rejects_nonzero_flags(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = make_record(1, 1, VG_REC_NOOP, "");
    encode(kr, &rec, &out);
    out.data[4 + 18] = 1;
    vg_record_t got;
    size_t used;
    assert_int_equal(decode(kr, out.data, out.len, &got, &used), -EINVAL);
    vg_buf_release(&out);
    vg_keyring_free(kr);
}

static void test_record_sealed_with_unknown_key_is_enokey(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_keyring_t *newer = vg_keyring_new_ephemeral();
    assert_int_equal(vg_keyring_rotate(newer, NULL, err, sizeof err), 0);
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = make_record(1, 1, VG_REC_NOOP, "x");
    rec.key_id = 2;
    assert_int_equal(vg_record_encode(kr, &rec, &out), -ENOKEY);
    assert_int_equal(out.len, 0);
    encode(newer, &rec, &out);
    vg_record_t got;
    size_t used;
    assert_int_equal(decode(kr, out.data, out.len, &got, &used), -ENOKEY);
    assert_non_null(strstr(err, "unknown key 2"));
    vg_buf_release(&out);
    vg_keyring_free(kr);
    vg_keyring_free(newer);
}

static void test_record_encode_rejects_oversized_payload(void **state)
{
    vg_keyring_t *kr = vg_keyring_new_ephemeral();
    vg_buf_t out = VG_BUF_INIT;
    vg_record_t rec = {1, 1, VG_REC_OBJ_PUT, 1, NULL, (size_t)VG_RECORD_MAX_PAYLOAD + 1};
    assert_int_equal(vg_record_encode(kr, &rec, &out), -EMSGSIZE);
    assert_int_equal(out.len, 0);
    vg_keyring_free(kr);
}

static void write_corpus_file(const char *name, const vg_buf_t *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../../fuzz/corpus/fuzz_record/%s", VG_FIXTURES, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

/* Seeds for fuzz/fuzz_record.c, sealed with the fixture key it also uses. */
static void test_record_regenerates_fuzz_corpus_on_request(void **state)
{
    if (!getenv("VG_REGEN_FIXTURES"))
        skip();
    vg_keyring_t *kr = vg_keyring_new_from_bytes(fixture_key, 1);
    vg_buf_t b = VG_BUF_INIT;
    vg_record_t noop = make_record(1, 1, VG_REC_NOOP, "");
    vg_record_t put = make_record(
        1, 2, VG_REC_OBJ_PUT, "{\"object\":{\"kind\":\"Site\",\"name\":\"dc1\"},\"time\":1}");
    vg_record_t del =
        make_record(2, 3, VG_REC_OBJ_DELETE,
                    "{\"kind\":\"Site\",\"name\":\"dc1\",\"actor\":\"a\",\"time\":2}");
    encode(kr, &noop, &b);
    write_corpus_file("noop", &b);
    vg_buf_reset(&b);
    encode(kr, &put, &b);
    write_corpus_file("put", &b);
    encode(kr, &del, &b);
    write_corpus_file("put-delete", &b);
    b.len -= 7;
    write_corpus_file("put-torn-delete", &b);
    vg_buf_release(&b);
    vg_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_roundtrip_of_many_sizes),
        cmocka_unit_test(test_record_decodes_consecutive_frames),
        cmocka_unit_test(test_record_decode_of_short_input_is_eagain),
        cmocka_unit_test(test_record_decode_fails_with_wrong_key),
        cmocka_unit_test(test_record_decode_detects_every_tampered_byte),
        cmocka_unit_test(test_record_moved_to_another_index_fails_authentication),
        cmocka_unit_test(test_record_replayed_into_another_epoch_fails_authentication),
        cmocka_unit_test(test_record_retyped_fails_authentication),
        cmocka_unit_test(test_record_decode_rejects_length_out_of_range),
        cmocka_unit_test(test_record_decode_rejects_nonzero_flags),
        cmocka_unit_test(test_record_sealed_with_unknown_key_is_enokey),
        cmocka_unit_test(test_record_encode_rejects_oversized_payload),
        cmocka_unit_test(test_record_regenerates_fuzz_corpus_on_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

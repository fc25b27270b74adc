/*
 * test_web_session.c - the dashboard's session cookie and the logins
 * slice: a cookie opens on any member holding the same keyring and on no
 * other, an altered, truncated or expired one is refused, a renewed one
 * keeps its session id, people's logins are applied, kept out when
 * malformed, and survive a snapshot, and so do logged-out sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>

#include "state/state.h"
#include "store/record.h"
#include "web/logins.h"
#include "web/session.h"
#include "web/sessions.h"

static const uint8_t key_a[VG_KEY_BYTES] = {1, 2, 3};
static const uint8_t key_b[VG_KEY_BYTES] = {9, 9, 9};
#define NOW 1796661000000LL

static void make(vg_keyring_t *kr, struct vg_session *s, char *text)
{
    *s = (struct vg_session){.kind = VG_SESSION_PERSON, .expires_ms = NOW + 1000};
    snprintf(s->subject, sizeof s->subject, "noor");
    vg_session_fingerprint("$argon2id$v=19$stored", s->fingerprint);
    assert_int_equal(vg_session_make(kr, s, text, VG_SESSION_TEXT_MAX), 0);
}

static void test_session_opens_on_both_sites(void **unused)
{
    vg_keyring_t *dc1 = vg_keyring_new_from_bytes(key_a, 1);
    vg_keyring_t *dc2 = vg_keyring_new_from_bytes(key_a, 1); /* the mirror's copy */
    struct vg_session made, got;
    char text[VG_SESSION_TEXT_MAX];
    make(dc1, &made, text);
    assert_int_equal(vg_session_open(dc2, text, NOW, &got), 0);
    assert_string_equal(got.subject, "noor");
    assert_int_equal(got.kind, VG_SESSION_PERSON);
    assert_int_equal(got.expires_ms, NOW + 1000);
    assert_string_equal(got.csrf, made.csrf);
    assert_int_equal(strlen(got.csrf), 32);
    assert_memory_equal(got.fingerprint, made.fingerprint, 8);
    vg_keyring_free(dc1);
    vg_keyring_free(dc2);
}

static void test_session_refuses_forgery_and_expiry(void **unused)
{
    vg_keyring_t *kr = vg_keyring_new_from_bytes(key_a, 1);
    vg_keyring_t *other = vg_keyring_new_from_bytes(key_b, 1);
    struct vg_session made, got;
    char text[VG_SESSION_TEXT_MAX];
    make(kr, &made, text);
    assert_int_equal(vg_session_open(other, text, NOW, &got), -EINVAL);
    assert_int_equal(vg_session_open(kr, text, NOW + 1000, &got), -ETIME);
    char altered[VG_SESSION_TEXT_MAX];
    snprintf(altered, sizeof altered, "%s", text);
    /* any changed character but the last, whose low bits base64 leaves unused */
    for (size_t i = 0; altered[i + 1]; i += 7) {
        char keep = altered[i];
        altered[i] = keep == 'A' ? 'B' : 'A';
        assert_int_equal(vg_session_open(kr, altered, NOW, &got), -EINVAL);
        altered[i] = keep;
    }
    altered[strlen(altered) - 3] = '\0';
    assert_int_equal(vg_session_open(kr, altered, NOW, &got), -EINVAL);
    assert_int_equal(vg_session_open(kr, "", NOW, &got), -EINVAL);
    assert_int_equal(vg_session_open(kr, "!!!!", NOW, &got), -EINVAL);
    vg_keyring_free(kr);
    vg_keyring_free(other);
}

static void test_each_session_has_its_own_csrf_secret(void **unused)
{
    vg_keyring_t *kr = vg_keyring_new_from_bytes(key_a, 1);
    struct vg_session one, two;
    char a[VG_SESSION_TEXT_MAX], b[VG_SESSION_TEXT_MAX];
    make(kr, &one, a);
    make(kr, &two, b);
    assert_string_not_equal(one.csrf, two.csrf);
    assert_string_not_equal(a, b);
    vg_keyring_free(kr);
}

static void test_session_renewed_past_half_its_life(void **unused)
{
    struct vg_session s = {.expires_ms = NOW + VG_SESSION_TTL_MS};
    assert_false(vg_session_due_renewal(&s, NOW));
    assert_false(vg_session_due_renewal(&s, NOW + VG_SESSION_TTL_MS / 2 - 1));
    assert_true(vg_session_due_renewal(&s, NOW + VG_SESSION_TTL_MS / 2));
}

static void test_renewed_session_keeps_its_id(void **unused)
{
    vg_keyring_t *kr = vg_keyring_new_from_bytes(key_a, 1);
    struct vg_session made, other, got;
    char text[VG_SESSION_TEXT_MAX], again[VG_SESSION_TEXT_MAX];
    make(kr, &made, text);
    make(kr, &other, again);
    assert_int_equal(strlen(made.sid), 32);
    assert_string_not_equal(made.sid, other.sid); /* each login: a new session */
    assert_int_equal(vg_session_open(kr, text, NOW, &got), 0);
    assert_string_equal(got.sid, made.sid);
    got.expires_ms = NOW + 2000; /* what renew_session does */
    assert_int_equal(vg_session_make(kr, &got, again, sizeof again), 0);
    assert_string_not_equal(again, text);
    assert_int_equal(vg_session_open(kr, again, NOW, &got), 0);
    assert_string_equal(got.sid, made.sid);
    snprintf(got.sid, sizeof got.sid, "not hex");
    assert_int_equal(vg_session_make(kr, &got, again, sizeof again), -EINVAL);
    vg_keyring_free(kr);
}

static void test_cookie_header_parsing(void **unused)
{
    char v[32];
    assert_int_equal(vg_session_cookie("a=1; vg_session=abc; b=2", "vg_session", v, sizeof v),
                     0);
    assert_string_equal(v, "abc");
    assert_int_equal(vg_session_cookie("vg_session=xyz", "vg_session", v, sizeof v), 0);
    assert_string_equal(v, "xyz");
    assert_int_equal(vg_session_cookie("vg_sessionx=1", "vg_session", v, sizeof v), -ENOENT);
    assert_int_equal(vg_session_cookie("vg_session=", "vg_session", v, sizeof v), -ENOENT);
    assert_int_equal(vg_session_cookie("", "vg_session", v, sizeof v), -ENOENT);
    char longer[100];
    memset(longer, 'a', sizeof longer);
    memcpy(longer, "vg_session=", 11);
    longer[99] = '\0';
    assert_int_equal(vg_session_cookie(longer, "vg_session", v, sizeof v), -ENOENT);
}

static void apply_login(vg_state_t *st, const char *json)
{
    json_t *p = json_loads(json, 0, NULL);
    assert_non_null(p);
    assert_int_equal(
        vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_LOGIN, p, NULL), 0);
    json_decref(p);
}

static void test_logins_applied_kept_out_and_snapshotted(void **unused)
{
    vg_state_t *st = vg_state_new();
    const char *hash;
    apply_login(st, "{\"op\":\"set\",\"person\":\"noor\",\"hash\":\"$argon2id$x\","
                    "\"role\":\"operator\",\"actor\":\"a\",\"time\":5}");
    apply_login(st, "{\"op\":\"set\",\"person\":\"sam\",\"hash\":\"$argon2id$y\","
                    "\"role\":\"viewer\",\"time\":6}");
    /* malformed: no hash, unknown role, a name with a slash... kept out */
    apply_login(st, "{\"op\":\"set\",\"person\":\"dirk\",\"role\":\"admin\"}");
    apply_login(st, "{\"op\":\"set\",\"person\":\"dirk\",\"hash\":\"h\",\"role\":\"god\"}");
    apply_login(st, "{\"op\":\"set\",\"person\":\"../x\",\"hash\":\"h\",\"role\":\"admin\"}");
    apply_login(st, "[1,2]");
    assert_int_equal(vg_logins_get(st, "noor", &hash), VG_ROLE_OPERATOR);
    assert_string_equal(hash, "$argon2id$x");
    assert_int_equal(vg_logins_get(st, "dirk", &hash), VG_ROLE_NONE);
    apply_login(st, "{\"op\":\"delete\",\"person\":\"sam\"}");
    assert_int_equal(vg_logins_get(st, "sam", &hash), VG_ROLE_NONE);

    json_t *list = vg_logins_list(st);
    assert_int_equal(json_array_size(list), 1);
    assert_null(json_object_get(json_array_get(list, 0), "hash")); /* never shown */
    json_decref(list);

    vg_buf_t text = VG_BUF_INIT;
    vg_state_dump(st, &text);
    json_t *dump = json_loadb((const char *)text.data, text.len, 0, NULL);
    vg_state_t *back = vg_state_new();
    char err[256];
    assert_int_equal(vg_state_load(back, dump, err, sizeof err), 0);
    assert_int_equal(vg_logins_get(back, "noor", &hash), VG_ROLE_OPERATOR);
    assert_string_equal(hash, "$argon2id$x");
    json_decref(dump);
    vg_buf_release(&text);
    vg_state_free(back);
    vg_state_free(st);
}

static void apply_session(vg_state_t *st, const char *sid, long long until, long long time)
{
    json_t *p = json_pack("{s:s, s:s, s:I, s:s, s:I}", "op", "revoke", "sid", sid, "until",
                          (json_int_t)until, "actor", "noor", "time", (json_int_t)time);
    assert_int_equal(
        vg_state_apply(st, 1, vg_state_applied_index(st) + 1, VG_REC_SESSION, p, NULL), 0);
    json_decref(p);
}

#define SID_A "00112233445566778899aabbccddeeff"
#define SID_B "ffeeddccbbaa99887766554433221100"

static void test_logged_out_sessions_applied_pruned_and_snapshotted(void **unused)
{
    vg_state_t *st = vg_state_new();
    apply_session(st, SID_A, NOW + 100, NOW);
    apply_session(st, "NOT-A-SESSION-ID", NOW + 100, NOW); /* kept out */
    apply_session(st, SID_B "00", NOW + 100, NOW);         /* too long: kept out */
    assert_true(vg_sessions_revoked(st, SID_A));
    assert_false(vg_sessions_revoked(st, SID_B));
    assert_false(vg_sessions_revoked(st, "NOT-A-SESSION-ID"));
    assert_int_equal(vg_sessions_n_revoked(st, NOW), 1);
    assert_int_equal(vg_sessions_n_revoked(st, NOW + 100), 0);

    vg_buf_t text = VG_BUF_INIT;
    vg_state_dump(st, &text);
    json_t *dump = json_loadb((const char *)text.data, text.len, 0, NULL);
    vg_state_t *back = vg_state_new();
    char err[256];
    assert_int_equal(vg_state_load(back, dump, err, sizeof err), 0);
    assert_true(vg_sessions_revoked(back, SID_A));
    json_decref(dump);
    vg_buf_release(&text);

    /* a logout after every cookie of the first expired drops the first */
    apply_session(back, SID_B, NOW + 500, NOW + 100);
    assert_false(vg_sessions_revoked(back, SID_A));
    assert_true(vg_sessions_revoked(back, SID_B));
    vg_state_free(back);
    vg_state_free(st);
}

static void test_logged_out_sessions_are_bounded(void **unused)
{
    vg_state_t *st = vg_state_new();
    char sid[VG_SESSION_ID_HEX];
    for (int i = 0; i < VG_SESSIONS_REVOKED_MAX + 10; i++) {
        snprintf(sid, sizeof sid, "%032x", i);
        apply_session(st, sid, NOW + 100, NOW);
    }
    assert_int_equal(vg_sessions_n_revoked(st, NOW), VG_SESSIONS_REVOKED_MAX);
    vg_state_free(st);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_opens_on_both_sites),
        cmocka_unit_test(test_session_refuses_forgery_and_expiry),
        cmocka_unit_test(test_each_session_has_its_own_csrf_secret),
        cmocka_unit_test(test_session_renewed_past_half_its_life),
        cmocka_unit_test(test_cookie_header_parsing),
        cmocka_unit_test(test_logins_applied_kept_out_and_snapshotted),
        cmocka_unit_test(test_renewed_session_keeps_its_id),
        cmocka_unit_test(test_logged_out_sessions_applied_pruned_and_snapshotted),
        cmocka_unit_test(test_logged_out_sessions_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

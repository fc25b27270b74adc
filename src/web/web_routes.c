/*
 * web_routes.c - logging in to the dashboard, and people's logins.
 *
 * POST /api/v1/login takes an API token or a person's password and
 * answers a session cookie (web/session.h: HttpOnly, SameSite=Strict,
 * Secure when served over TLS) and the session's CSRF secret; the router
 * then treats the cookie as it treats a token, roles included. Passwords
 * are checked with Argon2id (crypto_pwhash_str_verify), which holds the
 * event loop for tens of milliseconds: at most VG_WEB_LOGINS_PER_S checks
 * a second are made, past that 429. A wrong person and a wrong password
 * get the same answer after the same work. No password, hash or token is
 * ever logged or answered.
 */
#include "web/web_int.h"

#include <sodium.h>

#include "core/names.h"
#include "core/say.h"
#include "state/state.h"
#include "store/record.h"
#include "web/logins.h"
#include "web/session.h"

#define PASSWORD_MIN 10
#define PASSWORD_MAX 1024

static void set_cookie(struct vg_call *call, const char *value, int64_t max_age_s)
{
    char header[VG_SESSION_TEXT_MAX + 160];
    snprintf(header, sizeof header, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             VG_SESSION_COOKIE, value, (long long)max_age_s, call->srv->ssl ? "; Secure" : "");
    evhttp_add_header(evhttp_request_get_output_headers(call->req), "Set-Cookie", header);
    evhttp_add_header(evhttp_request_get_output_headers(call->req), "Cache-Control",
                      "no-store");
}

/* The name a token was given (for the screen), else its id, into out. */
static void token_name(const vg_state_t *st, const char *id, char *out, size_t outlen)
{
    json_t *tokens = vg_state_tokens(st);
    size_t i;
    json_t *t;
    snprintf(out, outlen, "%s", id);
    json_array_foreach(tokens, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name && !strcmp(json_string_value(json_object_get(t, "id")) ?: "", id))
            snprintf(out, outlen, "%s", name);
    }
    json_decref(tokens);
}

/* 1 if one more password check fits in this second's bound, else 429. */
static int login_admit(struct vg_web *web, struct vg_call *call)
{
    int64_t second = vg_wall_ms() / 1000;
    if (second != web->login_second) {
        web->login_second = second;
        web->login_checks = 0;
    }
    if (web->login_checks < VG_WEB_LOGINS_PER_S) {
        web->login_checks++;
        return 1;
    }
    web->n_login_limited++;
    evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "1");
    vg_api_reply_error(call->srv, call->req, 429, NULL,
                       "too many logins at once (bound %d a second): retry shortly",
                       VG_WEB_LOGINS_PER_S);
    return 0;
}

/* The role a login body proves, filling s; VG_ROLE_NONE if it proves none. */
static enum vg_role check_credentials(struct vg_call *call, const json_t *body,
                                      struct vg_session *s, char *user, size_t userlen)
{
    const vg_state_t *st = vg_member_state(call->srv->member);
    const char *token = json_string_value(json_object_get(body, "token"));
    const char *hash = NULL;
    enum vg_role role = VG_ROLE_NONE;
    if (token) {
        char id[VG_TOKEN_ID_LEN + 1];
        if (vg_token_id(token, id))
            return VG_ROLE_NONE;
        role = vg_state_token(st, id, &hash);
        if (role == VG_ROLE_NONE || !vg_token_matches(token, hash))
            return VG_ROLE_NONE;
        s->kind = VG_SESSION_TOKEN;
        snprintf(s->subject, sizeof s->subject, "%s", id);
        token_name(st, id, user, userlen);
    } else {
        const char *person = json_string_value(json_object_get(body, "person"));
        const char *password = json_string_value(json_object_get(body, "password"));
        /* a fixed hash when there is no login, so both ways cost the same */
        static char dummy[crypto_pwhash_STRBYTES];
        if (!dummy[0] && crypto_pwhash_str(dummy, "-", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                           crypto_pwhash_MEMLIMIT_INTERACTIVE))
            return VG_ROLE_NONE;
        if (!person || !password || strlen(person) >= VG_SESSION_SUBJECT)
            return VG_ROLE_NONE;
        role = vg_logins_get(st, person, &hash);
        int ok = crypto_pwhash_str_verify(role ? hash : dummy, password, strlen(password)) == 0;
        if (!ok || role == VG_ROLE_NONE)
            return VG_ROLE_NONE;
        s->kind = VG_SESSION_PERSON;
        snprintf(s->subject, sizeof s->subject, "%s", person);
        snprintf(user, userlen, "%s", person);
    }
    vg_session_fingerprint(hash, s->fingerprint);
    return role;
}

static void wipe_string(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    if (json_is_string(v))
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

void vg_web_login(struct vg_call *call)
{
    struct vg_web *web = call->service;
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    struct vg_session s = {0};
    char user[96], text[VG_SESSION_TEXT_MAX];
    if (!json_is_object(body) || (!json_is_string(json_object_get(body, "token")) &&
                                  !json_is_string(json_object_get(body, "password")))) {
        vg_api_reply_error(call->srv, call->req, 400, NULL,
                           "login: give {\"token\"} or {\"person\",\"password\"}");
        goto out;
    }
    if (json_object_get(body, "password") && !login_admit(web, call))
        goto out;
    enum vg_role role = check_credentials(call, body, &s, user, sizeof user);
    if (role == VG_ROLE_NONE) {
        web->n_login_failed++;
        call->srv->auth_failures++;
        vg_api_reply_error(call->srv, call->req, 401, NULL, "wrong person, password or token");
        goto out;
    }
    s.expires_ms = vg_wall_ms() + VG_SESSION_TTL_MS;
    if (vg_session_make(vg_member_keys(call->srv->member), &s, text, sizeof text)) {
        vg_api_reply_error(call->srv, call->req, 500, NULL, "cannot seal a session");
        goto out;
    }
    web->n_login_ok++;
    vg_info("dashboard login: %s (%s)", user, vg_role_name(role));
    set_cookie(call, text, VG_SESSION_TTL_MS / 1000);
    json_t *reply = json_pack("{s:s, s:s, s:s, s:I}", "user", user, "role", vg_role_name(role),
                              "csrf", s.csrf, "expires", (json_int_t)s.expires_ms);
    vg_api_reply_json(call->srv, call->req, 200, reply);
    json_decref(reply);
    sodium_memzero(text, sizeof text);
out:
    wipe_string(body, "password");
    wipe_string(body, "token");
    json_decref(body);
}

void vg_web_logout(struct vg_call *call)
{
    set_cookie(call, "", 0);
    json_t *reply = json_pack("{s:b}", "logged_out", 1);
    vg_api_reply_json(call->srv, call->req, 200, reply);
    json_decref(reply);
}

void vg_web_session(struct vg_call *call)
{
    json_t *reply = json_pack(
        "{s:s, s:s, s:s}", "user", call->person[0] ? call->person : call->actor, "role",
        vg_role_name(call->role), "via", call->via_session ? "session" : "token");
    if (call->via_session) {
        json_object_set_new(reply, "csrf", json_string(call->csrf));
        json_object_set_new(reply, "expires", json_integer(call->session_expires_ms));
    }
    if (!call->person[0]) { /* a token: its name */
        char name[96];
        token_name(vg_member_state(call->srv->member), call->actor, name, sizeof name);
        json_object_set_new(reply, "user", json_string(name));
    }
    vg_api_reply_json(call->srv, call->req, 200, reply);
    json_decref(reply);
}

void vg_web_logins_list(struct vg_call *call)
{
    json_t *reply =
        json_pack("{s:o}", "items", vg_logins_list(vg_member_state(call->srv->member)));
    vg_api_reply_json(call->srv, call->req, 200, reply);
    json_decref(reply);
}

/* The checks of a new password; 0 or an answer sent. */
static int check_password(struct vg_call *call, const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (!password)
        vg_api_reply_error(call->srv, call->req, 400, "password", "password is required");
    else if (n < PASSWORD_MIN || n > PASSWORD_MAX)
        vg_api_reply_error(call->srv, call->req, 400, "password",
                           "password must be %d to %d bytes long", PASSWORD_MIN, PASSWORD_MAX);
    else
        return 0;
    return -EINVAL;
}

void vg_web_logins_set(struct vg_call *call)
{
    const char *person = call->args[0];
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    const char *password = json_string_value(json_object_get(body, "password"));
    const char *role_name = json_string_value(json_object_get(body, "role"));
    enum vg_role role = VG_ROLE_VIEWER;
    char hash[crypto_pwhash_STRBYTES];
    json_t *obj = vg_state_get(vg_member_state(call->srv->member), "Person", person);
    if (!obj) {
        vg_api_reply_error(call->srv, call->req, 404, NULL,
                           "no Person '%s': apply the person first", person);
        goto out;
    }
    if (role_name && vg_role_parse(role_name, &role)) {
        vg_api_reply_error(call->srv, call->req, 400, "role",
                           "unknown role '%s' (admin, operator, viewer, auditor, "
                           "external-reviewer)",
                           role_name);
        goto out;
    }
    if (check_password(call, password))
        goto out;
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
        vg_api_reply_error(call->srv, call->req, 503, NULL,
                           "cannot hash the password: out of memory");
        goto out;
    }
    int64_t now = vg_wall_ms();
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "op", "set", "person", person, "hash", hash,
                  "role", vg_role_name(role), "actor", call->actor, "time", (json_int_t)now);
    json_t *answer = json_pack("{s:s, s:s, s:I}", "person", person, "role", vg_role_name(role),
                               "updated", (json_int_t)now);
    vg_api_submit_answer(call, VG_REC_LOGIN, payload, 200, answer);
    json_decref(payload);
    sodium_memzero(hash, sizeof hash);
out:
    json_decref(obj);
    wipe_string(body, "password");
    json_decref(body);
}

void vg_web_logins_delete(struct vg_call *call)
{
    const char *person = call->args[0];
    const char *hash;
    if (vg_logins_get(vg_member_state(call->srv->member), person, &hash) == VG_ROLE_NONE) {
        vg_api_reply_error(call->srv, call->req, 404, NULL, "'%s' has no login", person);
        return;
    }
    json_t *payload = json_pack("{s:s, s:s, s:s, s:I}", "op", "delete", "person", person,
                                "actor", call->actor, "time", (json_int_t)vg_wall_ms());
    json_t *answer = json_pack("{s:s, s:b}", "person", person, "deleted", 1);
    vg_api_submit_answer(call, VG_REC_LOGIN, payload, 200, answer);
    json_decref(payload);
}

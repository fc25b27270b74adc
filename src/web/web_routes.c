/*
 * web_routes.c - logging in to the dashboard, and people's logins.
 *
 * POST /api/v1/login takes an API token or a person's password and
 * answers a session cookie (web/session.h: HttpOnly, SameSite=Strict,
 * Secure when served over TLS) and the session's CSRF secret; the router
 * then treats the cookie as it treats a token, roles included. Passwords
 * are checked with Argon2id (crypto_pwhash_str_verify), tens of
 * milliseconds of CPU and 64 MiB each: on a thread of their own, never on
 * the event loop, at most VG_WEB_LOGINS_PER_S a second and
 * VG_WEB_LOGIN_THREADS at once (429 past either). A wrong person and a
 * wrong password get the same answer after the same work (a person without
 * a login costs one hash). No password, hash or token is ever logged or
 * answered.
 */
#include "web/web_int.h"

#include <pthread.h>
#include <sodium.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "core/names.h"
#include "core/say.h"
#include "state/state.h"
#include "store/record.h"
#include "web/logins.h"
#include "web/session.h"
#include "web/sessions.h"

#define PASSWORD_MIN 10
#define PASSWORD_MAX 1024

static void set_cookie(struct vg_server *srv, struct evhttp_request *req, const char *value,
                       int64_t max_age_s)
{
    char header[VG_SESSION_TEXT_MAX + 160];
    snprintf(header, sizeof header, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             VG_SESSION_COOKIE, value, (long long)max_age_s, srv->ssl ? "; Secure" : "");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", header);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
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
    if (web->login_checks < VG_WEB_LOGINS_PER_S &&
        atomic_load(&web->n_login_threads) < VG_WEB_LOGIN_THREADS) {
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

static void wipe_string(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    if (json_is_string(v))
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

/* Answers a login that proved role: the session cookie and its CSRF secret. */
static void answer_login(struct vg_web *web, struct vg_server *srv, struct evhttp_request *req,
                         struct vg_session *s, enum vg_role role, const char *user)
{
    char text[VG_SESSION_TEXT_MAX];
    s->expires_ms = vg_wall_ms() + VG_SESSION_TTL_MS;
    if (vg_session_make(vg_member_keys(web->member), s, text, sizeof text)) {
        vg_api_reply_error(srv, req, 500, NULL, "cannot seal a session");
        return;
    }
    web->n_login_ok++;
    vg_info("dashboard login: %s (%s)", user, vg_role_name(role));
    set_cookie(srv, req, text, VG_SESSION_TTL_MS / 1000);
    json_t *reply = json_pack("{s:s, s:s, s:s, s:I}", "user", user, "role", vg_role_name(role),
                              "csrf", s->csrf, "expires", (json_int_t)s->expires_ms);
    vg_api_reply_json(srv, req, 200, reply);
    json_decref(reply);
    sodium_memzero(text, sizeof text);
}

static void refuse_login(struct vg_web *web, struct vg_server *srv, struct evhttp_request *req)
{
    web->n_login_failed++;
    srv->auth_failures++;
    vg_api_reply_error(srv, req, 401, NULL, "wrong person, password or token");
}

static void login_with_token(struct vg_web *web, struct vg_call *call, const char *token)
{
    const vg_state_t *st = vg_member_state(call->srv->member);
    struct vg_session s = {.kind = VG_SESSION_TOKEN};
    char user[96];
    const char *hash = NULL;
    enum vg_role role =
        vg_token_id(token, s.subject) ? VG_ROLE_NONE : vg_state_token(st, s.subject, &hash);
    if (role == VG_ROLE_NONE || !vg_token_matches(token, hash)) {
        refuse_login(web, call->srv, call->req);
        return;
    }
    vg_session_fingerprint(hash, s.fingerprint);
    token_name(st, s.subject, user, sizeof user);
    answer_login(web, call->srv, call->req, &s, role, user);
}

/* ---- a password, checked on a thread of its own ---- */

struct login_job {
    struct login_job *next;
    struct vg_web *web;
    struct vg_server *srv;
    struct evhttp_request *req; /* NULL once the client went away */
    struct event *done;         /* made active by the thread when it is done */
    char person[VG_SESSION_SUBJECT];
    char hash[VG_LOGIN_HASH_MAX]; /* "" when the person has no login */
    enum vg_role role;
    char *password; /* the thread's copy: wiped and freed by the thread */
    size_t password_len;
    int hashing; /* 1: make hash for a new password (PUT /api/v1/logins/{person}) */
    char actor[64];
    int ok;
};

static void *check_password_thread(void *arg)
{
    struct login_job *job = arg;
    if (job->hashing) {
        job->ok = crypto_pwhash_str(job->hash, job->password, job->password_len,
                                    crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
    } else if (job->hash[0]) {
        job->ok = crypto_pwhash_str_verify(job->hash, job->password, job->password_len) == 0;
    } else { /* the same work as a check, and a refusal */
        char scratch[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(scratch, job->password, job->password_len,
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
            sodium_memzero(scratch, sizeof scratch);
        job->ok = 0;
    }
    sodium_memzero(job->password, job->password_len);
    free(job->password);
    job->password = NULL;
    struct vg_web *web = job->web;
    event_active(job->done, 0, 0);
    atomic_fetch_sub(&web->n_login_threads, 1); /* last: stop() waits for it */
    return NULL;
}

static void job_free(struct login_job *job)
{
    struct vg_web *web = job->web;
    for (struct login_job **p = &web->login_jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            break;
        }
    event_free(job->done);
    sodium_memzero(job->hash, sizeof job->hash);
    free(job);
}

static void on_job_client_gone(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct login_job *job = arg;
    vg_api_release_request(job->req);
    job->req = NULL; /* the thread goes on; its answer is dropped */
}

/* A new password's hash is made: write it (the reply follows the commit). */
static void submit_login(struct login_job *job)
{
    struct vg_call call = {.srv = job->srv, .req = job->req};
    int64_t now = vg_wall_ms();
    const char *role = vg_role_name(job->role);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "op", "set", "person", job->person, "hash",
                  job->hash, "role", role, "actor", job->actor, "time", (json_int_t)now);
    json_t *answer = json_pack("{s:s, s:s, s:I}", "person", job->person, "role", role,
                               "updated", (json_int_t)now);
    vg_api_submit_answer(&call, VG_REC_LOGIN, payload, 200, answer);
    json_decref(payload);
}

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct login_job *job = arg;
    if (job->req) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(job->req);
        if (evcon)
            evhttp_connection_set_closecb(evcon, NULL, NULL);
        if (job->hashing && job->ok) {
            submit_login(job);
        } else if (job->hashing) {
            vg_api_reply_error(job->srv, job->req, 503, NULL,
                               "cannot hash the password: out of memory");
        } else if (job->ok && job->role != VG_ROLE_NONE) {
            struct vg_session s = {.kind = VG_SESSION_PERSON};
            snprintf(s.subject, sizeof s.subject, "%s", job->person);
            vg_session_fingerprint(job->hash, s.fingerprint);
            answer_login(job->web, job->srv, job->req, &s, job->role, job->person);
        } else {
            refuse_login(job->web, job->srv, job->req);
        }
    }
    job_free(job);
}

/* Runs job on a thread of its own; the answer comes from on_job_done.
 * On failure answers 503 and frees job. */
static void start_job(struct vg_web *web, struct vg_call *call, struct login_job *job,
                      const char *password, size_t password_len)
{
    job->web = web;
    job->srv = call->srv;
    job->req = call->req;
    job->password = vg_malloc(password_len + 1);
    memcpy(job->password, password, password_len + 1);
    job->password_len = password_len;
    job->done = event_new(web->base, -1, 0, on_job_done, job);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&web->n_login_threads, 1);
    int rc = pthread_create(&thread, &attr, check_password_thread, job);
    pthread_attr_destroy(&attr);
    if (rc) {
        atomic_fetch_sub(&web->n_login_threads, 1);
        sodium_memzero(job->password, password_len);
        free(job->password);
        job_free(job);
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "1");
        vg_api_reply_error(call->srv, call->req, 503, NULL, "cannot check a password now");
        return;
    }
    job->next = web->login_jobs;
    web->login_jobs = job;
    evhttp_connection_set_closecb(evhttp_request_get_connection(call->req), on_job_client_gone,
                                  job);
}

static void login_with_password(struct vg_web *web, struct vg_call *call, const char *person,
                                const char *password, size_t password_len)
{
    if (!person || strlen(person) >= VG_SESSION_SUBJECT) {
        refuse_login(web, call->srv, call->req);
        return;
    }
    if (!login_admit(web, call))
        return;
    struct login_job *job = vg_calloc(1, sizeof *job);
    const char *hash = NULL;
    snprintf(job->person, sizeof job->person, "%s", person);
    job->role = vg_logins_get(vg_member_state(call->srv->member), person, &hash);
    if (job->role != VG_ROLE_NONE)
        snprintf(job->hash, sizeof job->hash, "%s", hash);
    start_job(web, call, job, password, password_len);
}

void vg_web_login_jobs_stop(struct vg_web *web)
{
    /* a check takes well under a second, and the threads hold pointers to
     * their jobs until they end: wait for every one */
    while (atomic_load(&web->n_login_threads) > 0)
        usleep(10000);
    while (web->login_jobs) {
        struct login_job *job = web->login_jobs;
        if (job->req) {
            struct evhttp_connection *evcon = evhttp_request_get_connection(job->req);
            if (evcon)
                evhttp_connection_set_closecb(evcon, NULL, NULL);
        }
        job_free(job);
    }
}

void vg_web_login(struct vg_call *call)
{
    struct vg_web *web = call->service;
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    json_t *token = json_object_get(body, "token");
    json_t *password = json_object_get(body, "password");
    if (!json_is_object(body) || (!json_is_string(token) && !json_is_string(password)))
        vg_api_reply_error(call->srv, call->req, 400, NULL,
                           "login: give {\"token\"} or {\"person\",\"password\"}");
    else if (json_is_string(token))
        login_with_token(web, call, json_string_value(token));
    else
        login_with_password(web, call, json_string_value(json_object_get(body, "person")),
                            json_string_value(password), json_string_length(password));
    wipe_string(body, "password");
    wipe_string(body, "token");
    json_decref(body);
}

/* The session the request's cookie holds, if it is one that works. */
static int open_session(struct vg_call *call, struct vg_session *out)
{
    const char *cookie =
        evhttp_find_header(evhttp_request_get_input_headers(call->req), "Cookie");
    char text[VG_SESSION_TEXT_MAX];
    int rc = cookie ? vg_session_cookie(cookie, VG_SESSION_COOKIE, text, sizeof text) : -ENOENT;
    if (!rc)
        rc = vg_session_open(vg_member_keys(call->srv->member), text, vg_wall_ms(), out);
    sodium_memzero(text, sizeof text);
    if (!rc && vg_sessions_revoked(vg_member_state(call->srv->member), out->sid))
        rc = -ENOENT;
    return rc;
}

/* Logging out ends the session on both members, not only in this browser:
 * a copy of the cookie is refused from then on. That is a record, so only
 * the acting primary can do it; elsewhere the answer is 503 naming the
 * primary and the cookie is kept, so the person can log out there. */
void vg_web_logout(struct vg_call *call)
{
    struct vg_session s;
    struct vg_server *srv = call->srv;
    char why[512], primary[64] = "";
    int64_t now = vg_wall_ms();
    if (open_session(call, &s)) { /* nothing that works to end: just forget it */
        set_cookie(srv, call->req, "", 0);
        json_t *reply = json_pack("{s:b, s:b}", "logged_out", 1, "revoked", 0);
        vg_api_reply_json(srv, call->req, 200, reply);
        json_decref(reply);
        return;
    }
    if (srv->cluster &&
        !vg_cluster_can_write(srv->cluster, why, sizeof why, primary, sizeof primary)) {
        if (primary[0])
            evhttp_add_header(evhttp_request_get_output_headers(call->req), "Vigil-Primary",
                              primary);
        vg_api_reply_error(srv, call->req, 503, NULL,
                           "not logged out: %s; log out on the primary%s%s", why,
                           primary[0] ? " " : "", primary);
        return;
    }
    if (vg_sessions_n_revoked(vg_member_state(srv->member), now) >= VG_SESSIONS_REVOKED_MAX) {
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Retry-After", "60");
        vg_api_reply_error(srv, call->req, 503, NULL,
                           "not logged out: %d sessions were ended in the last %lld hours "
                           "(the bound); retry later",
                           VG_SESSIONS_REVOKED_MAX, VG_SESSION_TTL_MS / 3600000);
        return;
    }
    /* no cookie of this session, renewed or not, expires later than this */
    json_t *payload = json_pack("{s:s, s:s, s:I, s:s, s:I}", "op", "revoke", "sid", s.sid,
                                "until", (json_int_t)(now + VG_SESSION_TTL_MS), "actor",
                                s.subject, "time", (json_int_t)now);
    json_t *answer = json_pack("{s:b, s:b}", "logged_out", 1, "revoked", 1);
    set_cookie(srv, call->req, "", 0);
    vg_info("dashboard logout: %s", s.subject);
    vg_api_submit_answer(call, VG_REC_SESSION, payload, 200, answer);
    json_decref(payload);
}

/* A session past half its life is sealed again with a new expiry (and CSRF
 * secret), so a wall screen that asks now and then stays logged in, while
 * a cookie copied and left unused still ends. */
static int renew_session(struct vg_call *call, struct vg_session *out)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(call->req);
    const char *cookie = evhttp_find_header(in, "Cookie");
    char text[VG_SESSION_TEXT_MAX];
    const vg_keyring_t *kr = vg_member_keys(call->srv->member);
    int64_t now = vg_wall_ms();
    if (!cookie || vg_session_cookie(cookie, VG_SESSION_COOKIE, text, sizeof text) ||
        vg_session_open(kr, text, now, out) || !vg_session_due_renewal(out, now))
        return 0;
    out->expires_ms = now + VG_SESSION_TTL_MS;
    if (vg_session_make(kr, out, text, sizeof text))
        return 0;
    set_cookie(call->srv, call->req, text, VG_SESSION_TTL_MS / 1000);
    sodium_memzero(text, sizeof text);
    return 1;
}

void vg_web_session(struct vg_call *call)
{
    json_t *reply = json_pack(
        "{s:s, s:s, s:s}", "user", call->person[0] ? call->person : call->actor, "role",
        vg_role_name(call->role), "via", call->via_session ? "session" : "token");
    struct vg_session renewed;
    if (call->via_session && renew_session(call, &renewed)) {
        json_object_set_new(reply, "csrf", json_string(renewed.csrf));
        json_object_set_new(reply, "expires", json_integer(renewed.expires_ms));
        json_object_set_new(reply, "renewed", json_true());
    } else if (call->via_session) {
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
    if (check_password(call, password) || !login_admit(call->service, call))
        goto out;
    struct login_job *job = vg_calloc(1, sizeof *job);
    job->hashing = 1;
    job->role = role;
    snprintf(job->person, sizeof job->person, "%s", person);
    snprintf(job->actor, sizeof job->actor, "%s", call->actor);
    start_job(call->service, call, job, password, strlen(password));
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

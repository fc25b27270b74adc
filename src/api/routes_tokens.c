/*
 * routes_tokens.c - /api/v1/tokens: create, list and revoke API tokens.
 *
 * The secret exists in memory only between generation and the reply that
 * shows it once; the log records its hash. Admin only.
 */
#include "api/api_int.h"

#include <sodium.h>

#include "core/names.h"
#include "state/state.h"
#include "store/record.h"

static void created(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code) {
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
        return;
    }
    json_t *body = json_pack("{s:O, s:O, s:O, s:s}", "id", json_object_get(res->object, "id"),
                             "name", json_object_get(res->object, "name"), "role",
                             json_object_get(res->object, "role"), "token", pc->secret);
    vg_api_reply_json(pc->srv, pc->req, 201, body);
    json_decref(body);
}

void vg_api_create_token(struct vg_call *call)
{
    json_t *body = vg_api_body_json(call);
    if (!body)
        return;
    const char *name = NULL, *role_name = NULL;
    enum vg_role role;
    char err[256];
    json_error_t jerr;
    if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s?:s}", "role", &role_name, "name",
                       &name)) {
        vg_api_reply_error(call->srv, call->req, 400, NULL, "token request: %s", jerr.text);
        goto out;
    }
    if (vg_role_parse(role_name, &role)) {
        vg_api_reply_error(call->srv, call->req, 400, "role",
                           "unknown role '%s' (admin, operator, viewer, auditor, "
                           "external-reviewer)",
                           role_name);
        goto out;
    }
    if (name && vg_name_check(name, err, sizeof err)) {
        vg_api_reply_error(call->srv, call->req, 400, "name", "%s", err);
        goto out;
    }
    char id[VG_TOKEN_ID_LEN + 1], secret[VG_TOKEN_LEN + 1], hash[VG_TOKEN_HASH_HEX + 1];
    vg_token_generate(id, secret, hash);
    json_t *payload = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", id, "name",
                                name ? name : id, "role", vg_role_name(role), "hash", hash,
                                "actor", call->actor, "time", (json_int_t)vg_wall_ms());
    vg_api_submit(call, VG_REC_TOKEN_CREATE, payload, created, secret);
    sodium_memzero(secret, sizeof secret);
    json_decref(payload);
out:
    json_decref(body);
}

static void revoked(struct vg_pending_call *pc, int code, const vg_apply_result_t *res)
{
    if (code) {
        vg_api_reply_apply_error(pc->srv, pc->req, code, res);
        return;
    }
    json_t *body =
        json_pack("{s:O, s:b}", "id", json_object_get(res->object, "id"), "revoked", 1);
    vg_api_reply_json(pc->srv, pc->req, 200, body);
    json_decref(body);
}

void vg_api_revoke_token(struct vg_call *call)
{
    const char *id = call->args[0];
    json_t *payload = json_pack("{s:s, s:s, s:I}", "id", id, "actor", call->actor, "time",
                                (json_int_t)vg_wall_ms());
    vg_api_submit(call, VG_REC_TOKEN_REVOKE, payload, revoked, NULL);
    json_decref(payload);
}

void vg_api_list_tokens(struct vg_call *call)
{
    json_t *body = json_pack("{s:o}", "items", vg_state_tokens(vg_member_state(call->srv->member)));
    vg_api_reply_json(call->srv, call->req, 200, body);
    json_decref(body);
}

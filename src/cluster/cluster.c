/*
 * cluster.c - what a member of a two-site cluster does, and when: the
 * configuration it learns from the witness, the role that follows, and the
 * change requests it makes (DESIGN.md section 3; the rules are numbered as
 * there, the obligations as in src/cluster/model/README.md).
 *
 * The link to the other member is in peer.c, HTTP to the witness in
 * witness_client.c. A tick every TICK_US drives everything timed: the
 * heartbeat to the witness, the lease, and the decisions to degrade,
 * restore or ask for a promotion. The rules themselves are pure functions
 * in decide.c; this file gathers their inputs and acts on the answers.
 *
 * Must never: commit a record that is not durable on every member of the
 * sync set (obligation 1), act on an epoch lower than the highest seen
 * (2), commit alone while a restore may still land (3), forget a request
 * that may still land across a restart (4), act again in the epoch it asked
 * to hand over (5).
 */
#include "cluster/cluster_int.h"

#include <event2/listener.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/jsonout.h"
#include "core/say.h"
#include "crypto/tls.h"
#include "store/record.h"

#define TICK_US          20000
#define STATE_MAGIC      "VGCLUS01"
#define STATE_AD         "vigil-cluster-v1"
#define SAVE_EVERY_US    1000000
#define SWITCH_DRAIN_US  5000000 /* a switchover waits this long for the mirror */
#define SWITCH_ANSWER_US 2000000 /* then takes an unanswered one back (obligation 5) */
#define RETRY_US         500000

static uint64_t now_us(void)
{
    return vg_mono_us();
}

static const char *me(const vg_cluster_t *c)
{
    return c->node.name;
}

static const char *peer(const vg_cluster_t *c)
{
    return c->node.peer_name;
}

uint64_t vg_cluster_write_epoch(const vg_cluster_t *c)
{
    return c->cfg.epoch;
}

/* --- durable state: DATA/cluster --------------------------------------- */

static void state_path(const char *data, char *out, size_t cap)
{
    snprintf(out, cap, "%s/cluster", data);
}

static int seal_state(const vg_keyring_t *keys, json_t *doc, vg_buf_t *out)
{
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(doc, &text);
    uint8_t head[12];
    memcpy(head, STATE_MAGIC, 8);
    uint32_t key_id = vg_keyring_active_id(keys);
    vg_put_u32(head + 8, key_id);
    vg_buf_add(out, head, sizeof head);
    vg_buf_grow(out, text.len + VG_SEAL_OVERHEAD);
    int rc = vg_seal(keys, key_id, (const uint8_t *)STATE_AD, strlen(STATE_AD),
                     (const uint8_t *)text.data, text.len, (uint8_t *)out->data + out->len);
    out->len += text.len + VG_SEAL_OVERHEAD;
    sodium_memzero(text.data, text.len);
    vg_buf_release(&text);
    return rc;
}

int vg_cluster_save(vg_cluster_t *c)
{
    json_t *pend = json_null();
    if (c->pend.op[0])
        pend = json_pack("{s:s, s:I, s:s, s:b}", "op", c->pend.op, "expect_epoch",
                         (json_int_t)c->pend.expect_epoch, "target", c->pend.target,
                         "switchover", c->pend.switchover);
    json_t *doc = json_pack("{s:I, s:I, s:I, s:o}", "hi", (json_int_t)c->hi, "committed",
                            (json_int_t)c->committed, "recorded_epoch",
                            (json_int_t)c->recorded_epoch, "pending", pend);
    vg_buf_t sealed = VG_BUF_INIT;
    int rc = seal_state(vg_member_keys(c->m), doc, &sealed);
    json_decref(doc);
    char path[VG_NODE_PATH_MAX + 16], tmp[VG_NODE_PATH_MAX + 32];
    state_path(c->node.data, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!rc)
        rc = vg_write_file_sync(tmp, sealed.data, sealed.len);
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (!rc)
        rc = vg_fsync_parent(path);
    vg_buf_release(&sealed);
    if (rc) {
        vg_error("cannot save the cluster state '%s': %s", path, strerror(-rc));
        return rc;
    }
    c->saved_committed = c->committed;
    c->last_save_us = now_us();
    return 0;
}

static int load_state(const char *data, const vg_keyring_t *keys, json_t **out, char *err,
                      size_t errlen)
{
    char path[VG_NODE_PATH_MAX + 16];
    state_path(data, path, sizeof path);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* a member that never joined */
        return vg_err(err, errlen, -errno, "cannot open '%s': %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || sb.st_size < 12 + VG_SEAL_OVERHEAD || sb.st_size > (1 << 20)) {
        close(fd);
        return vg_err(err, errlen, -VG_ECORRUPT, "'%s' is damaged (size)", path);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *raw = vg_malloc(len);
    ssize_t got = vg_pread_all(fd, raw, len, 0);
    close(fd);
    int rc = 0;
    uint8_t *pt = vg_malloc(len);
    if (got != (ssize_t)len || memcmp(raw, STATE_MAGIC, 8) != 0 ||
        vg_open(keys, vg_get_u32(raw + 8), (const uint8_t *)STATE_AD, strlen(STATE_AD),
                raw + 12, len - 12, pt)) {
        rc = vg_err(err, errlen, -VG_ECORRUPT,
                    "'%s' is damaged or sealed with another key: refusing to guess the "
                    "highest epoch this member has seen",
                    path);
    } else {
        *out = json_loadb((const char *)pt, len - 12 - VG_SEAL_OVERHEAD, 0, NULL);
        if (!*out)
            rc = vg_err(err, errlen, -VG_ECORRUPT, "'%s' does not hold JSON", path);
    }
    sodium_memzero(pt, len);
    free(pt);
    free(raw);
    return rc;
}

static void parse_state(vg_cluster_t *c, json_t *doc)
{
    c->hi = (uint64_t)json_integer_value(json_object_get(doc, "hi"));
    c->committed = (uint64_t)json_integer_value(json_object_get(doc, "committed"));
    c->saved_committed = c->committed;
    c->recorded_epoch = (uint64_t)json_integer_value(json_object_get(doc, "recorded_epoch"));
    json_t *p = json_object_get(doc, "pending");
    if (json_is_object(p)) {
        snprintf(c->pend.op, sizeof c->pend.op, "%s",
                 json_string_value(json_object_get(p, "op")) ?: "");
        c->pend.expect_epoch = (uint64_t)json_integer_value(json_object_get(p, "expect_epoch"));
        snprintf(c->pend.target, sizeof c->pend.target, "%s",
                 json_string_value(json_object_get(p, "target")) ?: "");
        c->pend.switchover = json_is_true(json_object_get(p, "switchover"));
    }
}

int vg_cluster_recovery_limit(const struct vg_node *node, const char *key_file,
                              uint64_t *committed, char *err, size_t errlen)
{
    char key_path[VG_NODE_PATH_MAX + 16];
    if (key_file && key_file[0])
        snprintf(key_path, sizeof key_path, "%s", key_file);
    else
        snprintf(key_path, sizeof key_path, "%s/keyring", node->data);
    vg_keyring_t *keys = NULL;
    int rc = vg_keyring_load(key_path, &keys, err, errlen);
    json_t *doc = NULL;
    if (!rc)
        rc = load_state(node->data, keys, &doc, err, errlen);
    *committed = doc ? (uint64_t)json_integer_value(json_object_get(doc, "committed")) : 0;
    json_decref(doc);
    vg_keyring_free(keys);
    return rc;
}

/* --- commit ------------------------------------------------------------- */

/* Obligations 1 and 3: the primary commits past its own durable index only
 * what the mirror acknowledged, whenever the mirror is in sync or a restore
 * that would put it there may still land. A mirror commits what the
 * primary says is committed and its own log matches. */
void vg_cluster_update_commit(vg_cluster_t *c)
{
    vg_state_t *st = vg_member_state(c->m);
    struct vg_commit_view v = {
        .role = c->role,
        .acting = c->acting,
        .peer_in_sync = c->cfg.peer_in_sync,
        .restore_pending = !strcmp(c->pend.op, "restore"),
        .peer_ack = c->peer_ack,
        .primary_commit = c->primary_commit,
        .matched = c->matched,
        .applied = vg_state_applied_index(st),
    };
    vg_member_set_commit_limit(c->m, vg_decide_commit_limit(&v));
    c->committed = vg_state_applied_index(st);
}

/* --- events: records, so both sites list the same ones ------------------ */

static void now_rfc3339(char *out, size_t cap)
{
    uint64_t ms = vg_wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

static void log_event(vg_cluster_t *c, uint16_t type, const char *severity, const char *kind,
                      json_t *config, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void log_event(vg_cluster_t *c, uint16_t type, const char *severity, const char *kind,
                      json_t *config, const char *fmt, ...)
{
    char msg[512], at[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    now_rfc3339(at, sizeof at);
    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "time", at, "severity", severity, "kind",
                  kind, "member", me(c), "epoch", (json_int_t)c->cfg.epoch, "message", msg);
    if (config)
        json_object_set_new(ev, "config", config);
    vg_say(vg_say_level_of(severity), "%s", msg);
    if (c->role == ROLE_PRIMARY && c->acting)
        vg_member_submit(c->m, type, ev, NULL, NULL, NULL);
    json_decref(ev);
}

/* The two members in the witness's order (its "members"), so that both
 * members show the cluster the same way. */
static json_t *member_pair(const vg_cluster_t *c, int with_self, int with_peer)
{
    json_t *a = json_array();
    const char *first = c->cfg.peer_first ? peer(c) : me(c);
    const char *second = c->cfg.peer_first ? me(c) : peer(c);
    int first_in = c->cfg.peer_first ? with_peer : with_self;
    int second_in = c->cfg.peer_first ? with_self : with_peer;
    if (first_in)
        json_array_append_new(a, json_string(first));
    if (second_in)
        json_array_append_new(a, json_string(second));
    return a;
}

static json_t *sync_array(const vg_cluster_t *c)
{
    return member_pair(c, c->cfg.self_in_sync, c->cfg.peer_in_sync);
}

/* Every configuration change is a record with who and why, written by the
 * primary of the new epoch. What changed is judged against the last change
 * recorded in the state, which survives restarts and failovers. */
static void record_config_change(vg_cluster_t *c, uint64_t took_ms)
{
    if (c->cfg.epoch <= c->recorded_epoch)
        return;
    json_t *last = json_object_get(vg_state_cluster(vg_member_state(c->m)), "last_change");
    json_t *lc = json_object_get(last, "config");
    const char *old_primary = json_string_value(json_object_get(lc, "primary"));
    size_t old_sync = json_array_size(json_object_get(lc, "sync"));
    size_t new_sync = (size_t)(c->cfg.self_in_sync + c->cfg.peer_in_sync);
    const char *kind, *severity;
    char what[300];
    if (!lc) {
        kind = "bootstrap", severity = "info";
        snprintf(what, sizeof what, "cluster started: %s is primary", me(c));
    } else if (c->cfg.forced) {
        kind = "forced", severity = "critical";
        snprintf(what, sizeof what,
                 "forced failover: %s is primary; records the old primary committed alone "
                 "may be lost",
                 me(c));
    } else if (old_primary && strcmp(old_primary, me(c))) {
        int planned = !strcmp(c->cfg.changed_by, old_primary);
        kind = planned ? "switchover" : "failover";
        severity = planned ? "info" : "critical";
        snprintf(what, sizeof what, "%s done: %s took over from %s in %llu ms", kind, me(c),
                 old_primary, (unsigned long long)took_ms);
    } else if (new_sync < old_sync) {
        kind = "degraded", severity = "critical";
        snprintf(what, sizeof what,
                 "mirroring degraded: %s commits alone; the sites are no longer mirrored",
                 me(c));
    } else if (new_sync > old_sync) {
        kind = "restored", severity = "info";
        snprintf(what, sizeof what, "mirroring restored: %s and %s are in sync again", me(c),
                 peer(c));
    } else {
        kind = "resumed", severity = "info";
        snprintf(what, sizeof what, "%s resumed as primary", me(c));
    }
    json_t *config =
        json_pack("{s:s, s:I, s:s, s:o, s:s, s:s, s:s, s:b, s:I}", "op", kind, "epoch",
                  (json_int_t)c->cfg.epoch, "primary", c->cfg.primary, "sync", sync_array(c),
                  "by", c->cfg.changed_by, "reason", c->cfg.reason, "at", c->cfg.changed_at,
                  "forced", c->cfg.forced, "took_ms", (json_int_t)took_ms);
    log_event(c, VG_REC_CONFIG, severity, kind, config, "%s (epoch %llu%s%s)", what,
              (unsigned long long)c->cfg.epoch, c->cfg.reason[0] ? ": " : "", c->cfg.reason);
    c->recorded_epoch = c->cfg.epoch;
    vg_cluster_save(c);
}

/* --- roles -------------------------------------------------------------- */

static void finish_wait(struct api_wait *w, int code, json_t *body)
{
    struct api_wait copy = *w;
    memset(w, 0, sizeof *w);
    if (copy.done)
        copy.done(copy.ctx, code, body);
    json_decref(body);
}

static json_t *error_body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_body(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:s}", "error", msg);
}

void vg_cluster_step_down(vg_cluster_t *c, const char *why)
{
    if (c->role == ROLE_PRIMARY && c->acting)
        vg_warn("stepping down as primary of epoch %llu: %s", (unsigned long long)c->cfg.epoch,
                why);
    c->acting = 0;
    if (c->role == ROLE_PRIMARY) {
        c->role = ROLE_NONE;
        /* their records may still be committed by the new primary */
        vg_member_fail_pending(c->m, -ESTALE);
        /* a link from the new primary stays; after a switchover so does ours
         * for a moment, so that the heartbeat telling the new primary to ask
         * the witness is not dropped unsent (its own dial replaces it) */
        if (!c->switching)
            vg_peer_close_outgoing(c, why);
    }
    c->await_since_us = 0;
    vg_cluster_update_commit(c);
}

static void become_primary(vg_cluster_t *c, uint64_t sent_us)
{
    int was_primary = c->role == ROLE_PRIMARY;
    uint64_t took_ms = 0;
    if (!was_primary) {
        if (c->role == ROLE_MIRROR && c->primary_lost_us)
            took_ms = (now_us() - c->primary_lost_us) / 1000;
        vg_peer_close(c, "taking over as primary");
        c->peer_ack = 0;
        c->lease_mirror_us = 0;
    }
    c->role = ROLE_PRIMARY;
    c->acting = 1;
    c->witness_ok_us = sent_us;
    c->await_since_us = 0;
    vg_member_set_epoch(c->m, c->cfg.epoch);
    vg_info("acting as primary of epoch %llu (sync: %s%s%s)", (unsigned long long)c->cfg.epoch,
            me(c), c->cfg.peer_in_sync ? ", " : "", c->cfg.peer_in_sync ? peer(c) : "");
    vg_cluster_update_commit(c);
    record_config_change(c, took_ms);
}

static void clear_pend(vg_cluster_t *c)
{
    memset(&c->pend, 0, sizeof c->pend);
}

static int parse_config(const json_t *j, vg_cluster_t *c, struct cfg *out)
{
    memset(out, 0, sizeof *out);
    json_t *epoch = json_object_get(j, "epoch");
    if (!json_is_integer(epoch) || json_integer_value(epoch) < 0)
        return -EINVAL;
    out->epoch = (uint64_t)json_integer_value(epoch);
    const char *p = json_string_value(json_object_get(j, "primary"));
    snprintf(out->primary, sizeof out->primary, "%s", p ? p : "");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "sync"), i, v)
    {
        const char *n = json_string_value(v);
        if (n && !strcmp(n, me(c)))
            out->self_in_sync = 1;
        else if (n && !strcmp(n, peer(c)))
            out->peer_in_sync = 1;
    }
    snprintf(out->changed_by, sizeof out->changed_by, "%s",
             json_string_value(json_object_get(j, "changed_by")) ?: "");
    snprintf(out->reason, sizeof out->reason, "%s",
             json_string_value(json_object_get(j, "reason")) ?: "");
    snprintf(out->changed_at, sizeof out->changed_at, "%s",
             json_string_value(json_object_get(j, "changed_at")) ?: "");
    out->forced = json_is_true(json_object_get(j, "forced"));
    const char *first = json_string_value(json_array_get(json_object_get(j, "members"), 0));
    out->peer_first = first && !strcmp(first, peer(c));
    return 0;
}

/* op must be a string literal: it travels to the answer's callback. */
static void request_change(vg_cluster_t *c, const char *op, const char *target, int switchover,
                           const char *reason);

/* A configuration from the witness (a heartbeat answer, or the answer to a
 * change request). sent_us: when the request that got it was sent, which
 * is what the lease may count from. */
void vg_cluster_adopt(vg_cluster_t *c, const json_t *config, uint64_t sent_us)
{
    struct cfg nc;
    if (parse_config(config, c, &nc)) {
        vg_warn("the witness sent a configuration without a valid epoch; ignored");
        return;
    }
    if (nc.epoch < c->cfg.epoch)
        return; /* an answer overtaken by a newer one */
    int moved = nc.epoch != c->cfg.epoch;
    c->cfg = nc;
    int dirty = 0;
    if (nc.epoch > c->hi) {
        c->hi = nc.epoch;
        dirty = 1;
    }
    if (c->pend.op[0] && nc.epoch > c->pend.expect_epoch) {
        clear_pend(c); /* the epoch moved past it: it can no longer land */
        dirty = 1;
    }
    if (dirty && vg_cluster_save(c)) {
        vg_cluster_step_down(c, "cannot persist the epoch");
        return;
    }
    if (nc.epoch == 0) {
        if (c->bootstrap && !c->pend.op[0])
            request_change(c, "bootstrap", me(c), 0, "bootstrap");
        return;
    }
    if (!strcmp(nc.primary, me(c))) {
        if (c->pend.switchover && c->pend.expect_epoch == nc.epoch) {
            /* obligation 5: we asked to hand this epoch over */
            if (c->acting)
                c->acting = 0;
            return;
        }
        if (!c->acting || c->role != ROLE_PRIMARY) {
            become_primary(c, sent_us);
        } else {
            c->witness_ok_us = sent_us > c->witness_ok_us ? sent_us : c->witness_ok_us;
            if (moved) { /* a degrade or restore we asked for */
                vg_member_set_epoch(c->m, nc.epoch);
                vg_cluster_update_commit(c);
                record_config_change(c, 0);
            }
        }
        return;
    }
    if (c->role == ROLE_PRIMARY)
        vg_cluster_step_down(c, "the witness names another primary");
    if (nc.primary[0] && !strcmp(nc.primary, peer(c))) {
        if (c->role != ROLE_MIRROR || moved) {
            c->primary_lost_us = now_us(); /* give the new primary its chance */
            c->promote_retry_us = 0;
        }
        c->role = ROLE_MIRROR;
    }
    vg_cluster_update_commit(c);
}

/* The mirror echoed our heartbeat in our own epoch. A primary whose lease
 * ran out while both the witness and the mirror were away may act again:
 * no other member can be primary without the mirror knowing (there is no
 * third), and with the mirror in sync every commit still needs its ack.
 * This is what lets writes resume when the mirror comes back before the
 * witness does. */
void vg_cluster_mirror_renewed(vg_cluster_t *c, uint64_t epoch)
{
    if (c->role != ROLE_PRIMARY || c->acting || c->switching || epoch != c->cfg.epoch ||
        !c->cfg.peer_in_sync || (c->pend.switchover && c->pend.expect_epoch == c->cfg.epoch))
        return;
    vg_info("lease renewed by %s (same epoch %llu, in sync): acting again", peer(c),
            (unsigned long long)c->cfg.epoch);
    c->acting = 1;
    vg_cluster_update_commit(c);
}

/* A peer message carried an epoch newer than ours: we may be deposed. Ask
 * the witness at once rather than at the next heartbeat. */
void vg_cluster_saw_epoch(vg_cluster_t *c, uint64_t epoch, const char *from)
{
    if (epoch <= c->cfg.epoch)
        return;
    if (epoch > c->hi) {
        c->hi = epoch;
        if (vg_cluster_save(c)) {
            vg_cluster_step_down(c, "cannot persist the epoch");
            return;
        }
    }
    if (c->role == ROLE_PRIMARY)
        vg_cluster_step_down(c, from);
    c->heartbeat_now = 1;
}

/* --- requests to the witness ------------------------------------------- */

static void on_change_answer(vg_cluster_t *c, int status, json_t *body, uint64_t sent_us,
                             void *arg)
{
    const char *op = arg; /* a string literal of request_change's caller */
    c->change_inflight = 0;
    const char *err = json_string_value(json_object_get(body, "error"));
    json_t *config = status == 200 ? body : json_object_get(body, "config");
    uint64_t before = c->cfg.epoch;
    json_t *epoch = json_object_get(config, "epoch");
    if (status == 200 && c->switching == 2 && json_is_integer(epoch) &&
        (uint64_t)json_integer_value(epoch) > c->hi) {
        /* tell the new primary on the link before stepping down closes it:
         * a heartbeat of the new epoch makes it ask the witness at once */
        c->hi = (uint64_t)json_integer_value(epoch);
        vg_peer_send_heartbeat(c);
    }
    if (config)
        vg_cluster_adopt(c, config, sent_us);
    if (status == 200) {
        vg_info("witness: %s done, epoch %llu", op, (unsigned long long)c->cfg.epoch);
    } else if (status == 409) {
        vg_info("witness refused %s: %s", op, err ? err : "conflict");
        /* a refused request was decided and cannot land later, except a
         * restore, which is refused only once the epoch moved (obligation 3) */
        if (c->pend.op[0] && strcmp(c->pend.op, "restore") && c->cfg.epoch == before) {
            int sw = c->pend.switchover;
            clear_pend(c);
            vg_cluster_save(c);
            if (sw && c->switching) {
                c->switching = 0;
                c->acting = c->role == ROLE_PRIMARY;
                finish_wait(&c->switch_wait, 409,
                            error_body("the witness refused the switchover: %s",
                                       err ? err : "conflict"));
            }
        }
    } else {
        vg_warn("witness: no answer to %s (status %d); it may still be applied", op, status);
    }
    if (c->switching == 2 && c->role == ROLE_MIRROR) {
        c->switching = 0;
        uint64_t took_ms = (now_us() - c->switch_start_us) / 1000;
        finish_wait(&c->switch_wait, 200,
                    json_pack("{s:I, s:s, s:I}", "epoch", (json_int_t)c->cfg.epoch, "primary",
                              c->cfg.primary, "took_ms", (json_int_t)took_ms));
    }
    if (c->force_wait.done && !strcmp(op, "force")) {
        if (status == 200)
            finish_wait(&c->force_wait, 200,
                        json_pack("{s:I, s:s, s:b}", "epoch", (json_int_t)c->cfg.epoch,
                                  "primary", c->cfg.primary, "forced", 1));
        else
            finish_wait(&c->force_wait, status ? status : 503,
                        error_body("the witness did not force the failover: %s",
                                   err ? err : "no answer"));
    }
}

static void request_change(vg_cluster_t *c, const char *op, const char *target, int switchover,
                           const char *reason)
{
    int force = !strcmp(op, "force");
    if (!force) { /* obligation 4: persist before sending */
        snprintf(c->pend.op, sizeof c->pend.op, "%s", op);
        c->pend.expect_epoch = c->cfg.epoch;
        snprintf(c->pend.target, sizeof c->pend.target, "%s", target ? target : "");
        c->pend.switchover = switchover;
        if (vg_cluster_save(c)) {
            clear_pend(c);
            return;
        }
    }
    json_t *body =
        json_pack("{s:s, s:I, s:s, s:s}", "member", me(c), "expect_epoch",
                  (json_int_t)c->cfg.epoch, "op", op, "reason", reason ? reason : "");
    if (target)
        json_object_set_new(body, "target", json_string(target));
    if (force)
        json_object_set_new(body, "force", json_true());
    if (!strcmp(op, "bootstrap"))
        json_object_set_new(body, "members", json_pack("[s, s]", me(c), peer(c)));
    vg_info("asking the witness: %s%s%s at epoch %llu", op, target ? " " : "",
            target ? target : "", (unsigned long long)c->cfg.epoch);
    c->change_sent_us = now_us();
    c->change_inflight =
        !vg_wc_post(c, 0, "/witness/v1/config", body, on_change_answer, (void *)op);
    json_decref(body);
}

static void on_heartbeat_answer(vg_cluster_t *c, int status, json_t *body, uint64_t sent_us,
                                void *arg)
{
    (void)arg;
    if (status != 200 || !json_is_object(json_object_get(body, "config"))) {
        c->witness_fail_us = now_us();
        return;
    }
    c->witness_reachable = 1;
    if (sent_us > c->witness_ok_us)
        c->witness_ok_us = sent_us;
    json_t *heard = json_object_get(body, "heard_ms");
    json_t *config = json_object_get(body, "config");
    const char *primary = json_string_value(json_object_get(config, "primary"));
    if (primary)
        c->witness_heard_primary_ms =
            (uint64_t)json_integer_value(json_object_get(heard, primary));
    vg_cluster_adopt(c, config, sent_us);
}

static void send_witness_heartbeat(vg_cluster_t *c)
{
    const char *role = c->role == ROLE_PRIMARY  ? "primary"
                       : c->role == ROLE_MIRROR ? "mirror"
                                                : "none";
    json_t *body =
        json_pack("{s:s, s:I, s:s}", "member", me(c), "epoch",
                  (json_int_t)(c->hi > c->cfg.epoch ? c->hi : c->cfg.epoch), "role", role);
    vg_wc_post(c, 1, "/witness/v1/heartbeat", body, on_heartbeat_answer, NULL);
    json_decref(body);
}

/* --- the tick ----------------------------------------------------------- */

static void check_witness_reachability(vg_cluster_t *c, uint64_t now)
{
    int reachable = vg_decide_witness_reachable(now, c->witness_ok_us, &c->node.timing);
    if (reachable == c->witness_reachable && !(reachable && c->witness_event_open))
        return;
    c->witness_reachable = reachable;
    if (c->role != ROLE_PRIMARY || !c->acting)
        return;
    if (!reachable && !c->witness_event_open) {
        log_event(c, VG_REC_EVENT, "critical", "witness_unreachable", NULL,
                  "witness %s unreachable from %s: writes go on, but failover and degrade are "
                  "impossible until it is back",
                  c->node.witness_name, me(c));
        c->witness_event_open = 1;
    } else if (reachable && c->witness_event_open) {
        log_event(c, VG_REC_EVENT, "info", "witness_reachable", NULL,
                  "witness %s reachable again from %s", c->node.witness_name, me(c));
        c->witness_event_open = 0;
    }
}

/* The lease: serve only while the witness or the mirror answered us within
 * lease_ms of when we asked (the mirror by echoing our heartbeat, which
 * proves it heard us then). Checked on every write too: after a SIGSTOP the
 * loop may see a request before the tick that would notice. */
static int lease_valid(const vg_cluster_t *c, uint64_t now)
{
    return vg_decide_lease_valid(now, c->witness_ok_us, c->lease_mirror_us, &c->node.timing);
}

/* A request that got no answer may or may not have been applied; until the
 * epoch moves past it, ask again (the same expected epoch, so at most one
 * of the copies can land). */
static void retry_pending(vg_cluster_t *c, uint64_t now)
{
    if (!c->pend.op[0] || c->change_inflight || now - c->change_sent_us < RETRY_US ||
        c->cfg.epoch != c->pend.expect_epoch)
        return;
    static const char *const ops[] = {"degrade", "restore", "promote", "bootstrap"};
    for (size_t i = 0; i < VG_ARRAY_LEN(ops); i++)
        if (!strcmp(c->pend.op, ops[i])) {
            char target[64];
            snprintf(target, sizeof target, "%s", c->pend.target);
            request_change(c, ops[i], target[0] ? target : NULL, c->pend.switchover,
                           "retry: the earlier request was not answered");
            return;
        }
}

static void primary_tick(vg_cluster_t *c, uint64_t now)
{
    const struct vg_node_timing *t = &c->node.timing;
    /* act again only once the witness confirms (vg_cluster_adopt) */
    if (c->acting && !lease_valid(c, now)) {
        vg_warn("lease expired: neither the witness nor %s answered for %u ms; writes stop "
                "until the witness confirms this member",
                peer(c), t->lease_ms);
        c->acting = 0;
        vg_cluster_update_commit(c);
        return;
    }
    if (!c->acting)
        return;
    vg_log_t *log = vg_member_log(c->m);
    c->await_since_us =
        vg_decide_await_since(now, c->await_since_us, c->peer_ack, vg_log_durable_index(log));
    struct vg_primary_view v = {
        .now_us = now,
        .peer_in_sync = c->cfg.peer_in_sync,
        .request_pending = c->pend.op[0] != '\0',
        .switching = c->switching,
        .peer_connected = vg_peer_connected(c),
        .peer_heard_us = c->peer_heard_us,
        .await_since_us = c->await_since_us,
        .peer_ack = c->peer_ack,
        .last_index = vg_log_last_index(log),
    };
    /* rule 2: degrade when the mirror's acks stopped for ack_timeout */
    enum vg_degrade degrade = vg_decide_degrade(&v, t);
    if (degrade) {
        vg_warn("%s has not acknowledged for %u ms: asking the witness to degrade", peer(c),
                t->ack_timeout_ms);
        request_change(c, "degrade", NULL, 0,
                       degrade == VG_DEGRADE_SILENT ? "mirror unreachable"
                                                    : "mirror acks stalled");
        return;
    }
    /* rule 3: restore once the mirror holds our whole log and streams live */
    if (vg_decide_restore(&v, t))
        request_change(c, "restore", peer(c), 0, "mirror caught up");
}

static void mirror_tick(vg_cluster_t *c, uint64_t now)
{
    const struct vg_node_timing *t = &c->node.timing;
    /* rule 1, failover: only a member of sync asks, only once it has not
     * heard the primary for dead_after (>= lease, obligation 7); the
     * witness decides by its own view */
    struct vg_mirror_view v = {
        .now_us = now,
        .self_in_sync = c->cfg.self_in_sync,
        .primary_is_peer = !strcmp(c->cfg.primary, peer(c)),
        .request_pending = c->pend.op[0] != '\0',
        .witness_reachable = c->witness_reachable,
        .primary_lost_us = c->primary_lost_us,
        .promote_retry_us = c->promote_retry_us,
    };
    if (!vg_decide_promote(&v, t))
        return;
    request_change(c, "promote", me(c), 0, "primary unreachable");
    /* if refused, try again when the witness's own timer should have run out */
    c->promote_retry_us = vg_decide_promote_retry_at(now, c->witness_heard_primary_ms, t);
}

static void switch_tick(vg_cluster_t *c, uint64_t now)
{
    if (c->switching == 1) {
        uint64_t last = vg_log_last_index(vg_member_log(c->m));
        if (!vg_member_n_pending(c->m) && c->peer_ack >= last && c->cfg.peer_in_sync) {
            c->switching = 2;
            c->acting = 0; /* obligation 5: stop before asking */
            c->switch_deadline_us = now + SWITCH_ANSWER_US;
            char reason[400];
            snprintf(reason, sizeof reason, "planned switchover by %s%s%s", c->switch_actor,
                     c->switch_reason[0] ? ": " : "", c->switch_reason);
            request_change(c, "promote", peer(c), 1, reason);
        } else if (now > c->switch_deadline_us) {
            c->switching = 0;
            finish_wait(&c->switch_wait, 409,
                        error_body("%s did not catch up within %d s; switchover cancelled, "
                                   "writes resume",
                                   peer(c), SWITCH_DRAIN_US / 1000000));
        }
    } else if (c->switching == 2 && now > c->switch_deadline_us && c->role == ROLE_PRIMARY) {
        /* the promote went unanswered: take it back by moving the epoch */
        vg_warn("switchover unanswered; taking it back with a degrade");
        c->switching = 0;
        clear_pend(c);
        request_change(c, "degrade", NULL, 0, "switchover taken back");
        finish_wait(&c->switch_wait, 503,
                    error_body("the witness did not answer the switchover; taken back"));
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    vg_cluster_t *c = arg;
    uint64_t now = now_us();
    uint64_t hb = (uint64_t)c->node.timing.heartbeat_ms * 1000;
    if (!vg_wc_heartbeat_busy(c) &&
        (c->heartbeat_now || (now - c->witness_fail_us > hb &&
                              (!c->witness_ok_us || now - c->witness_ok_us >= hb)))) {
        c->heartbeat_now = 0;
        send_witness_heartbeat(c);
    }
    retry_pending(c, now);
    check_witness_reachability(c, now);
    vg_peer_tick(c);
    if (c->role == ROLE_PRIMARY)
        primary_tick(c, now);
    else if (c->role == ROLE_MIRROR)
        mirror_tick(c, now);
    switch_tick(c, now);
    if (c->exit_code)
        return;
    c->committed = vg_state_applied_index(vg_member_state(c->m));
    if (c->committed != c->saved_committed && now - c->last_save_us > SAVE_EVERY_US)
        vg_cluster_save(c);
}

static void on_member_durable(void *ctx)
{
    vg_peer_on_durable(ctx);
}

/* --- start / stop ------------------------------------------------------- */

int vg_cluster_start(struct event_base *base, vg_member_t *m, const struct vg_node *node,
                     int bootstrap, vg_cluster_t **out, char *err, size_t errlen)
{
    vg_cluster_t *c = vg_calloc(1, sizeof *c);
    c->base = base;
    c->m = m;
    c->node = *node;
    c->bootstrap = bootstrap;
    c->primary_lost_us = now_us();
    json_t *doc = NULL;
    int rc = load_state(node->data, vg_member_keys(m), &doc, err, errlen);
    if (rc)
        goto fail;
    if (doc)
        parse_state(c, doc);
    json_decref(doc);
    /* the log's own records carry epochs too: never go below them */
    uint64_t log_epoch = vg_log_last_epoch(vg_member_log(m));
    if (log_epoch > c->hi)
        c->hi = log_epoch;
    if (c->pend.op[0])
        vg_info("a %s request at epoch %llu may still be applied by the witness", c->pend.op,
                (unsigned long long)c->pend.expect_epoch);
    c->client_ctx = vg_tls_client_ctx(node->tls_cert, node->tls_key, node->tls_ca, err, errlen);
    if (!c->client_ctx) {
        rc = -EINVAL;
        goto fail;
    }
    c->link_server_ctx =
        vg_tls_server_ctx(node->tls_cert, node->tls_key, node->tls_ca, err, errlen);
    if (!c->link_server_ctx) {
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = vg_peer_listen(c, err, errlen)) || (rc = vg_wc_new(c, err, errlen)))
        goto fail;
    vg_member_set_hook(m, on_member_durable, c);
    vg_cluster_update_commit(c);
    c->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, c);
    struct timeval every = {0, TICK_US};
    event_add(c->tick_ev, &every);
    *out = c;
    return 0;
fail:
    vg_cluster_free(c);
    return rc;
}

void vg_cluster_free(vg_cluster_t *c)
{
    if (!c)
        return;
    finish_wait(&c->switch_wait, 503, error_body("vigild is shutting down"));
    finish_wait(&c->force_wait, 503, error_body("vigild is shutting down"));
    if (c->tick_ev)
        event_free(c->tick_ev);
    if (c->m)
        vg_member_set_hook(c->m, NULL, NULL);
    if (c->m && !c->exit_code)
        c->committed = vg_state_applied_index(vg_member_state(c->m));
    if (c->m && c->committed != c->saved_committed)
        vg_cluster_save(c);
    vg_peer_free(c);
    vg_wc_free(c);
    if (c->client_ctx)
        SSL_CTX_free(c->client_ctx);
    if (c->link_server_ctx)
        SSL_CTX_free(c->link_server_ctx);
    free(c);
}

int vg_cluster_exit_code(const vg_cluster_t *c)
{
    return c ? c->exit_code : 0;
}

/* The primary's record at index differs from one this member committed:
 * after a forced failover (rule 4), what this member committed alone is
 * not in the cluster any more. It cannot follow the new primary with that
 * state, and the records must not vanish either: the log is moved aside
 * (still sealed) for an operator to inspect, and the member stops; started
 * again, it is an empty mirror that copies the primary's state. */
void vg_cluster_set_aside(vg_cluster_t *c, uint64_t index)
{
    char from[VG_NODE_PATH_MAX + 8], dir[VG_NODE_PATH_MAX + 64], to[VG_NODE_PATH_MAX + 80];
    snprintf(from, sizeof from, "%s/log", c->node.data);
    snprintf(dir, sizeof dir, "%s/diverged-%llu", c->node.data,
             (unsigned long long)vg_wall_ms());
    snprintf(to, sizeof to, "%s/log", dir);
    vg_log_flush(vg_member_log(c->m));
    if (mkdir(dir, 0700) < 0 || rename(from, to) < 0 || vg_fsync_dir(c->node.data)) {
        vg_error("cannot move the diverged log aside to '%s': %s; this member stays out of "
                 "the cluster until it is rebuilt (vigild init --mirror)",
                 dir, strerror(errno));
        c->exit_code = 1;
        event_base_loopexit(c->base, NULL);
        return;
    }
    vg_error("record %llu of the primary differs from one %s had committed: a forced failover "
             "left out what %s committed alone. Its log is kept, sealed, in '%s'; %s stops now "
             "and, started again, rejoins as an empty mirror that copies the primary's state",
             (unsigned long long)index, me(c), me(c), dir, me(c));
    c->committed = c->saved_committed = 0;
    clear_pend(c);
    vg_cluster_save(c);
    c->exit_code = 1;
    event_base_loopexit(c->base, NULL);
}

/* --- what the API asks ---------------------------------------------------- */

int vg_cluster_can_write(const vg_cluster_t *c, char *why, size_t whylen, char *primary,
                         size_t primarylen)
{
    /* a mirror's primary is its peer, even before the witness said so */
    snprintf(primary, primarylen, "%s", c->role == ROLE_MIRROR ? peer(c) : c->cfg.primary);
    if (c->role == ROLE_PRIMARY && c->acting && !c->switching && lease_valid(c, now_us()))
        return 1;
    if (c->role == ROLE_MIRROR)
        snprintf(why, whylen,
                 "not the primary: this member (%s) is the mirror; the primary is %s", me(c),
                 peer(c));
    else if (c->switching)
        snprintf(why, whylen, "switchover in progress: writes wait for the new primary");
    else if (c->role == ROLE_PRIMARY && c->acting)
        snprintf(why, whylen,
                 "this member's lease is running out: it has heard neither the "
                 "witness nor its mirror for %u ms",
                 c->node.timing.lease_ms);
    else if (c->role == ROLE_PRIMARY)
        snprintf(why, whylen,
                 "this member's lease expired: it cannot tell whether it is still the primary");
    else if (c->cfg.epoch == 0)
        snprintf(why, whylen, "the cluster is not bootstrapped yet (witness at epoch 0)");
    else
        snprintf(why, whylen, "this member has no role yet (epoch %llu, primary %s)",
                 (unsigned long long)c->cfg.epoch, c->cfg.primary[0] ? c->cfg.primary : "none");
    if (c->role != ROLE_MIRROR)
        primary[0] = '\0';
    return 0;
}

const char *vg_cluster_role_name(const vg_cluster_t *c)
{
    return c->role == ROLE_PRIMARY ? "primary" : c->role == ROLE_MIRROR ? "mirror" : "none";
}

const char *vg_cluster_member_name(const vg_cluster_t *c)
{
    return c->node.name;
}

uint64_t vg_cluster_lag(const vg_cluster_t *c)
{
    uint64_t applied = vg_state_applied_index(vg_member_state(c->m));
    return c->role == ROLE_MIRROR && c->primary_commit > applied ? c->primary_commit - applied
                                                                 : 0;
}

json_t *vg_cluster_status(const vg_cluster_t *c)
{
    vg_log_t *log = vg_member_log(c->m);
    vg_state_t *st = vg_member_state(c->m);
    uint64_t now = now_us();
    json_t *members = member_pair(c, 1, 1);
    json_t *witness = json_pack("{s:s, s:s, s:b}", "name", c->node.witness_name, "address",
                                c->node.witness_address, "reachable", c->witness_reachable);
    json_object_set_new(witness, "last_heard_ms",
                        c->witness_ok_us
                            ? json_integer((json_int_t)((now - c->witness_ok_us) / 1000))
                            : json_null());
    json_t *self =
        json_pack("{s:I, s:I, s:I, s:I}", "last_index", (json_int_t)vg_log_last_index(log),
                  "durable_index", (json_int_t)vg_log_durable_index(log), "commit_index",
                  (json_int_t)vg_state_applied_index(st), "applied_index",
                  (json_int_t)vg_state_applied_index(st));
    json_t *pend = json_null();
    if (c->pend.op[0])
        pend = json_pack("{s:s, s:I, s:s}", "op", c->pend.op, "expect_epoch",
                         (json_int_t)c->pend.expect_epoch, "target", c->pend.target);
    json_t *cl = vg_state_cluster(st);
    json_t *last = json_object_get(json_object_get(cl, "last_change"), "config");
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:I, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, s:O?, s:I, s:I, "
        "s:I, s:I}",
        "member", me(c), "site", c->node.site, "role", vg_cluster_role_name(c), "acting",
        c->role == ROLE_PRIMARY && c->acting && !c->switching, "switching", c->switching != 0,
        "epoch", (json_int_t)c->cfg.epoch, "primary", c->cfg.primary[0] ? c->cfg.primary : NULL,
        "sync", sync_array(c), "members", members, "witness", witness, "peer",
        vg_peer_status(c), "self", self, "pending_request", pend, "last_change", last,
        "failovers", json_integer_value(json_object_get(cl, "failovers")), "switchovers",
        json_integer_value(json_object_get(cl, "switchovers")), "degrades",
        json_integer_value(json_object_get(cl, "degrades")), "lag",
        (json_int_t)vg_cluster_lag(c));
    json_object_set(out, "catchup", json_object_get(json_object_get(out, "peer"), "catchup"));
    if (!json_object_get(out, "primary"))
        json_object_set_new(out, "primary", json_null());
    if (!json_object_get(out, "last_change"))
        json_object_set_new(out, "last_change", json_null());
    return out;
}

void vg_cluster_metrics(const vg_cluster_t *c, vg_buf_t *b)
{
    json_t *cl = vg_state_cluster(vg_member_state(c->m));
    const char *role = vg_cluster_role_name(c);
    vg_buf_printf(b,
                  "# HELP vigil_cluster_epoch Configuration epoch this member knows.\n"
                  "# TYPE vigil_cluster_epoch gauge\nvigil_cluster_epoch %llu\n"
                  "# HELP vigil_cluster_role Role of this member (1 for the current one).\n"
                  "# TYPE vigil_cluster_role gauge\n",
                  (unsigned long long)c->cfg.epoch);
    static const char *const roles[] = {"primary", "mirror", "none"};
    for (int i = 0; i < 3; i++)
        vg_buf_printf(b, "vigil_cluster_role{role=\"%s\"} %d\n", roles[i],
                      !strcmp(role, roles[i]));
    vg_buf_printf(
        b,
        "# HELP vigil_cluster_acting 1 while this member serves writes as primary.\n"
        "# TYPE vigil_cluster_acting gauge\nvigil_cluster_acting %d\n"
        "# HELP vigil_cluster_lag_records Records a mirror is behind the primary's commit.\n"
        "# TYPE vigil_cluster_lag_records gauge\nvigil_cluster_lag_records %llu\n"
        "# HELP vigil_cluster_mirror_unacked_records Records the mirror has not acknowledged.\n"
        "# TYPE vigil_cluster_mirror_unacked_records "
        "gauge\nvigil_cluster_mirror_unacked_records "
        "%llu\n"
        "# HELP vigil_cluster_witness_reachable 1 if the witness answered within dead_after.\n"
        "# TYPE vigil_cluster_witness_reachable gauge\nvigil_cluster_witness_reachable %d\n"
        "# HELP vigil_cluster_in_sync Members in the sync set.\n"
        "# TYPE vigil_cluster_in_sync gauge\nvigil_cluster_in_sync %d\n"
        "# HELP vigil_cluster_failovers_total Unplanned and forced failovers recorded.\n"
        "# TYPE vigil_cluster_failovers_total counter\nvigil_cluster_failovers_total %lld\n"
        "# HELP vigil_cluster_switchovers_total Planned switchovers recorded.\n"
        "# TYPE vigil_cluster_switchovers_total counter\nvigil_cluster_switchovers_total %lld\n"
        "# HELP vigil_cluster_degrades_total Times mirroring was degraded.\n"
        "# TYPE vigil_cluster_degrades_total counter\nvigil_cluster_degrades_total %lld\n",
        c->role == ROLE_PRIMARY && c->acting, (unsigned long long)vg_cluster_lag(c),
        (unsigned long long)(c->role == ROLE_PRIMARY &&
                                     vg_log_durable_index(vg_member_log(c->m)) > c->peer_ack
                                 ? vg_log_durable_index(vg_member_log(c->m)) - c->peer_ack
                                 : 0),
        c->witness_reachable, c->cfg.self_in_sync + c->cfg.peer_in_sync,
        (long long)json_integer_value(json_object_get(cl, "failovers")),
        (long long)json_integer_value(json_object_get(cl, "switchovers")),
        (long long)json_integer_value(json_object_get(cl, "degrades")));
}

static void answer(vg_cluster_done_fn done, void *ctx, int code, json_t *body)
{
    done(ctx, code, body);
    json_decref(body);
}

void vg_cluster_switchover(vg_cluster_t *c, const char *to, const char *reason,
                           const char *actor, vg_cluster_done_fn done, void *ctx)
{
    if (c->switch_wait.done || c->switching) {
        answer(done, ctx, 409, error_body("a switchover is already in progress"));
        return;
    }
    if (c->role != ROLE_PRIMARY || !c->acting) {
        json_t *b = error_body("not the primary: send the switchover to %s",
                               c->cfg.primary[0] ? c->cfg.primary : "the primary");
        json_object_set_new(b, "primary",
                            c->cfg.primary[0] && c->role == ROLE_MIRROR
                                ? json_string(c->cfg.primary)
                                : json_null());
        answer(done, ctx, 503, b);
        return;
    }
    if (to && strcmp(to, peer(c))) {
        answer(done, ctx, 400,
               error_body("'%s' is not the other member of this cluster (%s)", to, peer(c)));
        return;
    }
    if (!c->cfg.peer_in_sync) {
        answer(done, ctx, 409,
               error_body("%s is not in the sync set: it may lack committed records, so a "
                          "switchover could lose data; wait until mirroring is restored",
                          peer(c)));
        return;
    }
    if (c->pend.op[0]) {
        answer(done, ctx, 409, error_body("a %s request is in progress", c->pend.op));
        return;
    }
    c->switch_wait = (struct api_wait){done, ctx};
    c->switching = 1;
    c->switch_start_us = now_us();
    c->switch_deadline_us = c->switch_start_us + SWITCH_DRAIN_US;
    snprintf(c->switch_reason, sizeof c->switch_reason, "%s", reason ? reason : "");
    snprintf(c->switch_actor, sizeof c->switch_actor, "%s", actor ? actor : "operator");
    switch_tick(c, now_us());
}

void vg_cluster_force(vg_cluster_t *c, const char *reason, const char *actor,
                      vg_cluster_done_fn done, void *ctx)
{
    if (c->force_wait.done) {
        answer(done, ctx, 409, error_body("a forced failover is already in progress"));
        return;
    }
    if (c->role == ROLE_PRIMARY && c->acting) {
        answer(done, ctx, 409, error_body("%s is already the acting primary", me(c)));
        return;
    }
    c->force_wait = (struct api_wait){done, ctx};
    char why[400];
    snprintf(why, sizeof why, "forced by %s: %s", actor ? actor : "operator", reason);
    vg_warn("forced failover to %s requested (%s)", me(c), why);
    request_change(c, "force", me(c), 0, why);
}

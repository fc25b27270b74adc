/*
 * peer.c - the link between the two members (wire.h over mutual TLS 1.3).
 *
 * The primary dials the mirror's peer_listen; both send HELLO. The primary
 * then streams its durable records as APPEND (sealed frames as on disk,
 * so the mirror stores the same bytes) or, when the mirror needs records
 * already compacted away, its newest snapshot as SNAPSHOT chunks. The
 * mirror acknowledges what is durable and matches the primary's log; the
 * primary commits on those acks (cluster.c).
 *
 * Divergence (obligation 6 of src/cluster/model/README.md): the mirror drops
 * records only at the first index where an APPEND of the current primary
 * carries another epoch, and only after the APPEND's previous (index,
 * epoch) matched its log; never a record it has applied (committed). The
 * primary finds the match point by stepping back from the mirror's last
 * index, doubling the step after each mismatch.
 *
 * Fencing (obligation 2): a member refuses records and HELLOs from an
 * epoch lower than the highest it has seen, and persists a higher one
 * before acting on it.
 */
#include "cluster/cluster_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/netaddr.h"
#include "core/say.h"
#include "crypto/keyring.h"
#include "crypto/tls.h"
#include "store/snapshot.h"

#define HIGH_WATER       (8u << 20) /* stop streaming while this much is unsent */
#define APPEND_BYTES     (1u << 20)
#define SNAP_CHUNK       (1u << 20)
#define HANDSHAKE_US     3000000
#define DIVERGED_WAIT_US 5000000
#define KEYS_WAIT_US     10000000 /* keyrings differ: an operator must act */
#define KEY_PROOF_AD     "vigil hello key proof"
#define KEY_PROOF_TEXT   "vigil same keys\n" /* 16 bytes sealed */
#define READINGS_HIGH_WATER (256u << 10) /* readings wait while this much is unsent */

struct link {
    vg_cluster_t *c;
    struct bufferevent *bev;
    int outgoing;    /* we dialed: we are the primary of this link */
    int ready;       /* TLS done, peer certificate checked */
    int established; /* the other side's HELLO arrived */
    uint64_t created_us, rx_us, hb_us;
    vg_buf_t out;

    /* primary side */
    uint64_t next_send, prev_epoch, probe, step, catch_start;
    int probe_sent; /* an APPEND after the current probe went out */
    int snap_fd;
    uint64_t snap_index, snap_off, snap_total;
    uint64_t peer_applied;

    /* mirror side */
    int recv_fd;
    uint64_t recv_index, recv_off, recv_total;
    uint64_t acked;
    uint64_t readings_sent; /* spool sequence sent on this link */
    int disk_full_said;     /* APPENDs are being ignored for a full disk (said once) */
    int resync;             /* records were dropped for a full disk: start over */
};

/* Connections whose handshake has not finished are not c->link yet; they
 * are kept in c->loose so that shutdown frees them too. */
static void loose_del(struct link *l)
{
    for (int i = 0; i < VG_PEER_MAX_LOOSE; i++)
        if (l->c->loose[i] == l)
            l->c->loose[i] = NULL;
}

static int loose_add(struct link *l)
{
    for (int i = 0; i < VG_PEER_MAX_LOOSE; i++)
        if (!l->c->loose[i]) {
            l->c->loose[i] = l;
            return 0;
        }
    return -1;
}

static void link_free(struct link *l)
{
    if (!l)
        return;
    loose_del(l);
    if (l->bev)
        bufferevent_free(l->bev);
    if (l->snap_fd >= 0)
        close(l->snap_fd);
    if (l->recv_fd >= 0)
        close(l->recv_fd);
    vg_buf_release(&l->out);
    free(l);
}

void vg_peer_close(vg_cluster_t *c, const char *why)
{
    struct link *l = c->link;
    if (!l)
        return;
    vg_debug("closing the link to %s: %s", c->node.peer_name, why);
    c->link = NULL;
    link_free(l);
}

/* A link closed after its last message (a REJECT the other side must read
 * to act on) has left: freeing a TLS bufferevent drops what it has not
 * sent yet, so it stays, reading nothing, until its output is written or
 * FLUSH_TIMEOUT_S passes; shutdown frees it with the loose links. */
#define FLUSH_TIMEOUT_S 2

static void on_closing_written(struct bufferevent *bev, void *arg)
{
    if (!evbuffer_get_length(bufferevent_get_output(bev)))
        link_free(arg);
}

static void on_closing_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    link_free(arg);
}

static void close_after_flush(vg_cluster_t *c, const char *why)
{
    struct link *l = c->link;
    if (!l)
        return;
    vg_debug("closing the link to %s once its last message is out: %s", c->node.peer_name,
             why);
    c->link = NULL;
    if (!evbuffer_get_length(bufferevent_get_output(l->bev)) || loose_add(l)) {
        link_free(l);
        return;
    }
    struct timeval tv = {FLUSH_TIMEOUT_S, 0};
    bufferevent_disable(l->bev, EV_READ);
    bufferevent_setcb(l->bev, NULL, on_closing_written, on_closing_event, l);
    bufferevent_set_timeouts(l->bev, NULL, &tv);
}

void vg_peer_close_outgoing(vg_cluster_t *c, const char *why)
{
    if (c->link && c->link->outgoing)
        vg_peer_close(c, why);
}

static void send_msg(struct link *l, const vg_wire_msg_t *msg)
{
    vg_buf_reset(&l->out);
    vg_wire_encode(msg, &l->out);
    bufferevent_write(l->bev, l->out.data, l->out.len);
}

static void send_reject(struct link *l, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void send_reject(struct link *l, uint16_t code, const char *fmt, ...)
{
    vg_wire_msg_t msg = {.type = VG_WIRE_REJECT, .epoch = l->c->hi};
    msg.u.reject.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg.u.reject.reason, sizeof msg.u.reject.reason, fmt, ap);
    va_end(ap);
    send_msg(l, &msg);
}

static void send_hello(struct link *l)
{
    vg_cluster_t *c = l->c;
    vg_log_t *log = vg_member_log(c->m);
    vg_wire_msg_t msg = {.type = VG_WIRE_HELLO,
                         .epoch = c->hi > c->cfg.epoch ? c->hi : c->cfg.epoch};
    msg.u.hello.version = VG_WIRE_VERSION;
    msg.u.hello.last_index = vg_log_durable_index(log);
    msg.u.hello.last_epoch = 0;
    uint64_t e;
    if (msg.u.hello.last_index && vg_log_epoch_at(log, msg.u.hello.last_index, &e) == 0)
        msg.u.hello.last_epoch = e;
    msg.u.hello.commit_index = vg_state_applied_index(vg_member_state(c->m));
    /* records never go back in epoch, so the state's is its last record's */
    msg.u.hello.commit_epoch = vg_state_epoch(vg_member_state(c->m));
    snprintf(msg.u.hello.name, sizeof msg.u.hello.name, "%s", c->node.name);
    const vg_keyring_t *kr = vg_member_keys(c->m);
    msg.u.hello.key_id = vg_keyring_active_id(kr);
    vg_seal(kr, (uint32_t)msg.u.hello.key_id, (const uint8_t *)KEY_PROOF_AD,
            sizeof KEY_PROOF_AD - 1, (const uint8_t *)KEY_PROOF_TEXT, 16,
            msg.u.hello.key_proof);
    send_msg(l, &msg);
}

/* Both members must hold the same data key: records, snapshots and
 * acknowledge links sealed on one are opened on the other. A HELLO whose
 * proof does not open here means the mirror was initialised with a keyring
 * of its own. Said once (until the keys agree), shown in the cluster
 * status, and the primary redials only every KEYS_WAIT_US, rather than
 * failing each record ten times a second. 1 when they differ. */
static int keys_differ(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    uint8_t pt[16];
    int rc = msg->u.hello.key_id > UINT32_MAX
                 ? -ENOKEY
                 : vg_open(vg_member_keys(c->m), (uint32_t)msg->u.hello.key_id,
                           (const uint8_t *)KEY_PROOF_AD, sizeof KEY_PROOF_AD - 1,
                           msg->u.hello.key_proof, VG_WIRE_KEY_PROOF_BYTES, pt);
    if (!rc && !memcmp(pt, KEY_PROOF_TEXT, 16)) {
        if (c->keys_problem[0])
            vg_info("the keyrings of %s and %s agree now", c->node.name, c->node.peer_name);
        c->keys_problem[0] = '\0';
        return 0;
    }
    if (!c->keys_problem[0]) {
        snprintf(c->keys_problem, sizeof c->keys_problem,
                 "keyrings differ: %s's key %llu %s here; both members need the same "
                 "keyring: initialise the mirror with 'vigild init --mirror --key-file "
                 "PRIMARY_DATA/keyring'",
                 c->node.peer_name, (unsigned long long)msg->u.hello.key_id,
                 rc == -ENOKEY ? "is unknown" : "does not open its records");
        vg_error("%s", c->keys_problem);
    }
    c->diverged_until_us = vg_mono_us() + KEYS_WAIT_US;
    close_after_flush(c, "keyrings differ");
    return 1;
}

void vg_peer_send_heartbeat(vg_cluster_t *c)
{
    struct link *l = c->link;
    if (!l || !l->ready)
        return;
    vg_wire_msg_t msg = {.type = VG_WIRE_HEARTBEAT,
                         .epoch = c->hi > c->cfg.epoch ? c->hi : c->cfg.epoch};
    msg.u.heartbeat.commit_index = vg_state_applied_index(vg_member_state(c->m));
    msg.u.heartbeat.sent_us = vg_mono_us();
    l->hb_us = msg.u.heartbeat.sent_us;
    send_msg(l, &msg);
}

int vg_peer_connected(const vg_cluster_t *c)
{
    return c->link && c->link->established;
}

/* --- primary side ---------------------------------------------------------- */

/* Epoch of our record at index for an APPEND's prev: 0 when it is only in
 * our snapshot ("committed, so the mirror must hold it if it applied it"). */
static uint64_t prev_epoch_of(vg_log_t *log, uint64_t index)
{
    uint64_t e = 0;
    if (index && vg_log_epoch_at(log, index, &e))
        e = 0;
    return e;
}

static void set_probe(struct link *l, uint64_t probe)
{
    l->probe = probe;
    l->probe_sent = 0;
    l->next_send = probe + 1;
    l->prev_epoch = prev_epoch_of(vg_member_log(l->c->m), probe);
}

static void start_snapshot(struct link *l)
{
    vg_cluster_t *c = l->c;
    char err[256], path[VG_NODE_PATH_MAX + 64];
    uint64_t index = 0;
    if (vg_snapshot_latest_index(vg_member_log_dir(c->m), &index, err, sizeof err) || !index) {
        vg_error("%s needs records compacted away, and no snapshot is there to send",
                 c->node.peer_name);
        vg_peer_close(c, "no snapshot");
        return;
    }
    snprintf(path, sizeof path, "%s/snap-%020llu.vgs", vg_member_log_dir(c->m),
             (unsigned long long)index);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        vg_error("cannot open snapshot '%s' to send: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        vg_peer_close(c, "snapshot unreadable");
        return;
    }
    vg_info("%s is behind our oldest record: sending snapshot %llu (%lld bytes)",
            c->node.peer_name, (unsigned long long)index, (long long)sb.st_size);
    l->snap_fd = fd;
    l->snap_index = index;
    l->snap_off = 0;
    l->snap_total = (uint64_t)sb.st_size;
}

static int stream_snapshot(struct link *l)
{
    vg_cluster_t *c = l->c;
    struct evbuffer *out = bufferevent_get_output(l->bev);
    uint8_t *chunk = vg_malloc(SNAP_CHUNK);
    while (l->snap_off < l->snap_total && evbuffer_get_length(out) < HIGH_WATER) {
        size_t want =
            l->snap_total - l->snap_off < SNAP_CHUNK ? l->snap_total - l->snap_off : SNAP_CHUNK;
        if (vg_pread_all(l->snap_fd, chunk, want, l->snap_off) != (ssize_t)want) {
            free(chunk);
            vg_error("cannot read the snapshot being sent");
            vg_peer_close(c, "snapshot read failed");
            return -1;
        }
        vg_wire_msg_t msg = {.type = VG_WIRE_SNAPSHOT, .epoch = c->cfg.epoch};
        msg.u.snapshot.index = l->snap_index;
        msg.u.snapshot.offset = l->snap_off;
        msg.u.snapshot.total = l->snap_total;
        msg.u.snapshot.data = chunk;
        msg.u.snapshot.data_len = want;
        send_msg(l, &msg);
        l->snap_off += want;
    }
    free(chunk);
    if (l->snap_off < l->snap_total)
        return 1;
    close(l->snap_fd);
    l->snap_fd = -1;
    l->probe = l->snap_index;
    l->next_send = l->snap_index + 1;
    l->prev_epoch = 0; /* in the mirror's new snapshot */
    return 0;
}

static void stream_more(struct link *l)
{
    vg_cluster_t *c = l->c;
    if (!l->established || c->role != ROLE_PRIMARY)
        return;
    if (l->snap_fd >= 0 && stream_snapshot(l))
        return;
    vg_log_t *log = vg_member_log(c->m);
    struct evbuffer *out = bufferevent_get_output(l->bev);
    vg_buf_t frames = VG_BUF_INIT;
    char err[256];
    while (c->link == l && evbuffer_get_length(out) < HIGH_WATER &&
           l->next_send <= vg_log_durable_index(log)) {
        uint64_t last = 0;
        vg_buf_reset(&frames);
        int rc = vg_log_read(log, l->next_send, APPEND_BYTES, &frames, &last, err, sizeof err);
        if (rc == -ERANGE) {
            start_snapshot(l);
            if (c->link == l)
                stream_snapshot(l);
            break;
        }
        if (rc || !frames.len) {
            vg_error("cannot read records from %llu for %s: %s",
                     (unsigned long long)l->next_send, c->node.peer_name,
                     rc ? err : "nothing read");
            vg_peer_close(c, "log read failed");
            break;
        }
        vg_wire_msg_t msg = {.type = VG_WIRE_APPEND, .epoch = c->cfg.epoch};
        msg.u.append.commit_index = vg_state_applied_index(vg_member_state(c->m));
        msg.u.append.prev_index = l->next_send - 1;
        msg.u.append.prev_epoch = l->prev_epoch;
        msg.u.append.frames = (const uint8_t *)frames.data;
        msg.u.append.frames_len = frames.len;
        send_msg(l, &msg);
        /* the epoch of the last frame: walk the length prefixes */
        size_t off = 0, at = 0;
        while (off + 4 <= frames.len) {
            at = off;
            off += 4 + vg_get_u32((const uint8_t *)frames.data + off);
        }
        l->prev_epoch = vg_get_u64((const uint8_t *)frames.data + at + 4);
        l->next_send = last + 1;
        l->probe_sent = 1;
    }
    vg_buf_release(&frames);
    if (c->link == l && l->snap_fd < 0 && !l->probe_sent) {
        /* nothing new to send: an empty APPEND still tells whether the
         * mirror's log matches ours up to the probe */
        vg_wire_msg_t msg = {.type = VG_WIRE_APPEND, .epoch = c->cfg.epoch};
        msg.u.append.commit_index = vg_state_applied_index(vg_member_state(c->m));
        msg.u.append.prev_index = l->next_send - 1;
        msg.u.append.prev_epoch = l->prev_epoch;
        send_msg(l, &msg);
        l->probe_sent = 1;
    }
}

static void primary_on_hello(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    if (msg->epoch > c->cfg.epoch) {
        vg_cluster_saw_epoch(c, msg->epoch, "the mirror has seen a newer epoch");
        return;
    }
    uint64_t durable = vg_log_durable_index(vg_member_log(c->m));
    if (c->cfg.forced && msg->u.hello.commit_index > durable) {
        /* a primary holds every record committed before its epoch, unless a
         * forced failover (rule 4) left out what the mirror committed alone */
        send_reject(l, REJECT_DIVERGED,
                    "you committed records up to %llu; this primary holds %llu (forced "
                    "failover)",
                    (unsigned long long)msg->u.hello.commit_index, (unsigned long long)durable);
        vg_warn("%s committed records this primary lacks (a forced failover); it must set "
                "them aside",
                c->node.peer_name);
        c->diverged_until_us = vg_mono_us() + DIVERGED_WAIT_US; /* no redial storm */
        close_after_flush(c, "diverged");
        return;
    }
    /* What the mirror committed must be what we hold at the same index: a
     * forced failover may have let it commit records alone that we replaced
     * since (same length, other epoch), even inside a snapshot of its own,
     * where no probe would look. Committed records are the same on every
     * later primary otherwise, so the check costs nothing when all is well. */
    uint64_t ci = msg->u.hello.commit_index, mine = 0;
    if (ci && msg->u.hello.commit_epoch && ci <= durable &&
        vg_log_epoch_at(vg_member_log(c->m), ci, &mine) == 0 &&
        mine != msg->u.hello.commit_epoch) {
        send_reject(l, REJECT_DIVERGED,
                    "your committed record %llu is of epoch %llu; this primary's is of epoch "
                    "%llu (a forced failover)",
                    (unsigned long long)ci, (unsigned long long)msg->u.hello.commit_epoch,
                    (unsigned long long)mine);
        vg_warn("%s committed a record %llu this primary does not hold (a forced failover); "
                "it must set its log aside",
                c->node.peer_name, (unsigned long long)ci);
        c->diverged_until_us = vg_mono_us() + DIVERGED_WAIT_US; /* no redial storm */
        close_after_flush(c, "diverged");
        return;
    }
    uint64_t probe = msg->u.hello.last_index < durable ? msg->u.hello.last_index : durable;
    l->step = 1;
    set_probe(l, probe);
    l->catch_start = probe;
    l->peer_applied = msg->u.hello.commit_index;
    l->established = 1;
    vg_info("link to %s up: it holds %llu records, we %llu", c->node.peer_name,
            (unsigned long long)msg->u.hello.last_index, (unsigned long long)durable);
    stream_more(l);
}

static void primary_on_ack(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    uint64_t ack = msg->u.ack.durable_index;
    if (ack > vg_log_last_index(vg_member_log(c->m))) {
        vg_warn("%s acknowledged index %llu that we never sent; link closed", c->node.peer_name,
                (unsigned long long)ack);
        vg_peer_close(c, "bad ack");
        return;
    }
    if (ack > c->peer_ack) {
        uint64_t before = vg_state_applied_index(vg_member_state(c->m));
        c->peer_ack = ack;
        vg_cluster_update_commit(c);
        /* tell the mirror the new commit index without waiting for a heartbeat */
        if (vg_state_applied_index(vg_member_state(c->m)) != before &&
            !evbuffer_get_length(bufferevent_get_output(l->bev)))
            vg_peer_send_heartbeat(c);
    }
    if (c->link == l)
        stream_more(l);
}

static void primary_on_reject(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    const char *why = msg->u.reject.reason;
    switch (msg->u.reject.code) {
    case REJECT_MISMATCH: {
        unsigned long long at = 0;
        if (sscanf(why, "prev %llu", &at) != 1 || at != l->probe)
            return; /* an APPEND sent before the last step back */
        uint64_t probe = l->probe > l->step ? l->probe - l->step : 0;
        l->step *= 2;
        set_probe(l, probe);
        stream_more(l);
        return;
    }
    case REJECT_FENCED:
        vg_cluster_saw_epoch(c, msg->epoch, "the mirror has seen a newer epoch");
        if (c->link != l)
            return; /* stepping down closed it */
        break;
    case REJECT_DIVERGED:
        vg_error("%s cannot follow this primary: %s", c->node.peer_name, why);
        c->diverged_until_us = vg_mono_us() + DIVERGED_WAIT_US;
        break;
    default:
        vg_warn("%s refused the link: %s", c->node.peer_name, why);
        break;
    }
    vg_peer_close(c, "rejected");
}

/* --- mirror side ------------------------------------------------------------ */

/* The epoch of our record at index, waiting for the writer if it is still
 * queued (only right after a step back of the primary). */
static int epoch_at_wait(vg_log_t *log, uint64_t index, uint64_t *epoch)
{
    int rc;
    for (int i = 0; (rc = vg_log_epoch_at(log, index, epoch)) == -EAGAIN && i < 5000; i++) {
        vg_log_flush(log);
        usleep(1000);
    }
    return rc;
}

static int prev_matches(vg_cluster_t *c, uint64_t p, uint64_t pe)
{
    vg_log_t *log = vg_member_log(c->m);
    if (p == 0)
        return 1;
    if (p > vg_log_last_index(log))
        return 0;
    if (p < vg_log_first_index(log))
        return 1; /* in our snapshot: committed, so the same everywhere */
    if (pe == 0)  /* the primary only has it in its snapshot: committed there */
        return p <= vg_state_applied_index(vg_member_state(c->m));
    uint64_t e;
    return epoch_at_wait(log, p, &e) == 0 && e == pe;
}

static void maybe_ack(struct link *l)
{
    vg_cluster_t *c = l->c;
    uint64_t durable = vg_log_durable_index(vg_member_log(c->m));
    uint64_t ack = durable < c->matched ? durable : c->matched;
    if (ack <= l->acked)
        return;
    l->acked = ack;
    vg_wire_msg_t msg = {.type = VG_WIRE_ACK, .epoch = c->hi};
    msg.u.ack.durable_index = ack;
    send_msg(l, &msg);
}

/* Fencing for everything a primary sends: 0 to go on. */
static int fence(struct link *l, uint64_t epoch)
{
    vg_cluster_t *c = l->c;
    if (vg_decide_fenced(epoch, c->hi)) {
        send_reject(l, REJECT_FENCED, "epoch %llu is older than %llu",
                    (unsigned long long)epoch, (unsigned long long)c->hi);
        vg_warn("fenced %s: it sent epoch %llu, we have seen %llu", c->node.peer_name,
                (unsigned long long)epoch, (unsigned long long)c->hi);
        vg_peer_close(c, "fenced");
        return -1;
    }
    vg_cluster_saw_epoch(c, epoch, "the peer streams a newer epoch");
    if (c->link != l)
        return -1;                 /* stepping down closed this link */
    if (c->role == ROLE_PRIMARY) { /* same epoch as ours: cannot be */
        send_reject(l, REJECT_ROLE, "%s is the primary of epoch %llu", c->node.name,
                    (unsigned long long)c->cfg.epoch);
        vg_peer_close(c, "two primaries claim one epoch");
        return -1;
    }
    if (c->role == ROLE_NONE) {
        /* a member that cannot reach the witness still follows the primary
         * that streams to it (fenced above), so it applies what commits */
        c->role = ROLE_MIRROR;
        vg_cluster_update_commit(c);
    }
    uint64_t now = vg_mono_us();
    c->peer_heard_us = c->primary_lost_us = now;
    return 0;
}

/* Records about to be dropped as a divergent tail were never acknowledged
 * to a client by this cluster, or were committed alone before a forced
 * failover whose commit note did not reach the disk: either way they are
 * kept, sealed as on disk, in DATA/diverged-<ms>/tail.vgl for an operator. */
/* Copies records from..durable end into DATA/diverged-<ms>/tail.vgl (sealed
 * frames as they are) before they are dropped; what says why, for the log. */
static void keep_records(vg_cluster_t *c, uint64_t from, const char *what)
{
    vg_log_t *log = vg_member_log(c->m);
    char dir[VG_NODE_PATH_MAX + 64], path[VG_NODE_PATH_MAX + 80], err[256];
    snprintf(dir, sizeof dir, "%s/diverged-%llu", c->node.data,
             (unsigned long long)vg_wall_ms());
    snprintf(path, sizeof path, "%s/tail.vgl", dir);
    vg_buf_t frames = VG_BUF_INIT;
    uint64_t at = from, last = 0;
    while (at <= vg_log_durable_index(log) &&
           vg_log_read(log, at, 4u << 20, &frames, &last, err, sizeof err) == 0 && last >= at)
        at = last + 1;
    if (frames.len && (mkdir(dir, 0700) == 0 || errno == EEXIST) &&
        vg_write_file_sync(path, frames.data, frames.len) == 0 &&
        vg_fsync_dir(c->node.data) == 0)
        vg_warn("records %llu..%llu %s: kept in '%s' before dropping them",
                (unsigned long long)from, (unsigned long long)(at - 1), what, path);
    else if (frames.len)
        vg_error("cannot keep the divergent records in '%s'; dropping them anyway", path);
    vg_buf_release(&frames);
}

/* Mirror out of space: records it could not write are never acknowledged.
 * While the data dir is full APPENDs are ignored (the primary sees acks
 * stop and degrades, DESIGN.md section 3 rule 2); once there is room the
 * link is closed, so the primary dials again and streams from what is on
 * our disk. 1 if the APPEND must not be stored. */
static int mirror_out_of_space(struct link *l)
{
    vg_cluster_t *c = l->c;
    if (vg_member_disk_full(c->m)) {
        if (!l->disk_full_said)
            vg_error("data directory '%s' is full: records from %s are neither stored nor "
                     "acknowledged until space is freed",
                     c->node.data, c->node.peer_name);
        l->disk_full_said = 1;
        l->resync = 1;
        return 1;
    }
    if (!l->resync)
        return 0;
    vg_info("space freed in '%s': catching up with %s again", c->node.data, c->node.peer_name);
    vg_peer_close(c, "resync after a full disk");
    return 1;
}

static void mirror_on_append(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    vg_log_t *log = vg_member_log(c->m);
    if (fence(l, msg->epoch))
        return;
    if (msg->u.append.commit_index > c->primary_commit)
        c->primary_commit = msg->u.append.commit_index;
    if (mirror_out_of_space(l))
        return;
    uint64_t p = msg->u.append.prev_index;
    if (!prev_matches(c, p, msg->u.append.prev_epoch)) {
        send_reject(l, REJECT_MISMATCH, "prev %llu", (unsigned long long)p);
        return;
    }
    const uint8_t *f = msg->u.append.frames;
    size_t n = msg->u.append.frames_len, off = 0;
    uint64_t done = p;
    char err[256];
    while (off < n) {
        if (n - off < 4 + 24 || vg_get_u32(f + off) > n - off - 4) {
            vg_warn("APPEND from %s holds a cut frame; link closed", c->node.peer_name);
            vg_peer_close(c, "bad frame");
            return;
        }
        size_t flen = 4 + vg_get_u32(f + off);
        uint64_t ep = vg_get_u64(f + off + 4), idx = vg_get_u64(f + off + 12);
        if (idx != done + 1) {
            vg_warn("APPEND from %s skips from %llu to %llu; link closed", c->node.peer_name,
                    (unsigned long long)done, (unsigned long long)idx);
            vg_peer_close(c, "gap");
            return;
        }
        int rc = 0;
        uint64_t mine;
        if (idx < vg_log_first_index(log) && idx <= vg_log_last_index(log)) {
            /* in our snapshot: committed, the same */
        } else if (idx <= vg_log_last_index(log) && epoch_at_wait(log, idx, &mine) == 0 &&
                   mine == ep) {
            /* we have this very record */
        } else {
            if (idx <= vg_log_last_index(log)) {
                if (idx - 1 < vg_state_applied_index(vg_member_state(c->m))) {
                    send_reject(
                        l, REJECT_DIVERGED,
                        "record %llu differs from one %s has committed; %s sets its log "
                        "aside and restarts empty",
                        (unsigned long long)idx, c->node.name, c->node.name);
                    vg_peer_close(c, "diverged");
                    vg_cluster_set_aside(c, idx);
                    return;
                }
                vg_warn("dropping our records after %llu: the primary of epoch %llu has others",
                        (unsigned long long)(idx - 1), (unsigned long long)msg->epoch);
                keep_records(c, idx, "differ from the primary's");
                rc = vg_log_truncate_after(log, idx - 1, err, sizeof err);
                if (rc) {
                    vg_error("cannot drop the divergent tail: %s", err);
                    vg_peer_close(c, "truncate failed");
                    return;
                }
                if (c->matched > idx - 1)
                    c->matched = idx - 1;
            }
            rc = vg_log_append_frame(log, f + off, flen, NULL);
            if (vg_out_of_space(rc)) { /* a batch was just taken back */
                l->resync = 1;
                break;
            }
            if (rc) {
                vg_warn("record %llu from %s refused (%s); link closed",
                        (unsigned long long)idx, c->node.peer_name, strerror(-rc));
                vg_peer_close(c, "frame refused");
                return;
            }
        }
        done = idx;
        off += flen;
    }
    c->matched = done;
    vg_log_flush(log);
    vg_cluster_update_commit(c);
    maybe_ack(l);
}

static void mirror_on_snapshot(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    if (fence(l, msg->epoch))
        return;
    char dir[VG_NODE_PATH_MAX + 16], path[VG_NODE_PATH_MAX + 64], err[512];
    snprintf(dir, sizeof dir, "%s/recv", c->node.data);
    snprintf(path, sizeof path, "%s/snap-%020llu.vgs", dir,
             (unsigned long long)msg->u.snapshot.index);
    if (msg->u.snapshot.offset == 0) {
        if (l->recv_fd >= 0)
            close(l->recv_fd);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            vg_error("cannot create '%s': %s", dir, strerror(errno));
            vg_peer_close(c, "snapshot dir");
            return;
        }
        l->recv_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (l->recv_fd < 0) {
            vg_error("cannot create '%s': %s", path, strerror(errno));
            vg_peer_close(c, "snapshot file");
            return;
        }
        l->recv_index = msg->u.snapshot.index;
        l->recv_total = msg->u.snapshot.total;
        l->recv_off = 0;
        vg_info("receiving snapshot %llu (%llu bytes) from %s",
                (unsigned long long)l->recv_index, (unsigned long long)l->recv_total,
                c->node.peer_name);
    }
    if (l->recv_fd < 0 || msg->u.snapshot.index != l->recv_index ||
        msg->u.snapshot.offset != l->recv_off || msg->u.snapshot.total != l->recv_total ||
        l->recv_off + msg->u.snapshot.data_len > l->recv_total) {
        vg_warn("snapshot chunk out of order from %s; link closed", c->node.peer_name);
        vg_peer_close(c, "snapshot order");
        return;
    }
    if (vg_write_all(l->recv_fd, msg->u.snapshot.data, msg->u.snapshot.data_len)) {
        vg_error("cannot write '%s': %s", path, strerror(errno));
        vg_peer_close(c, "snapshot write");
        return;
    }
    l->recv_off += msg->u.snapshot.data_len;
    if (l->recv_off < l->recv_total)
        return;
    /* complete: authenticate, then reset the log, then put the snapshot in
     * place (the crash-safe order of vg_log_reset_to) */
    int rc = fsync(l->recv_fd) < 0 ? -errno : 0;
    close(l->recv_fd);
    l->recv_fd = -1;
    uint64_t index = 0, epoch = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    if (!rc)
        rc = vg_snapshot_load_latest(dir, vg_member_keys(c->m), &index, &epoch, &data, &len,
                                     err, sizeof err);
    free(data);
    if (!rc && index != l->recv_index)
        rc = vg_err(err, sizeof err, -EINVAL, "snapshot claims index %llu",
                    (unsigned long long)index);
    vg_log_t *log = vg_member_log(c->m);
    /* the snapshot replaces the whole log: what we hold beyond the point
     * known to match the primary may be records a forced failover left
     * out, so it is kept aside like a divergent tail, never discarded */
    uint64_t keep_from = c->matched + 1;
    if (keep_from < vg_log_first_index(log))
        keep_from = vg_log_first_index(log);
    if (!rc && keep_from <= vg_log_durable_index(log))
        keep_records(c, keep_from, "are replaced by the primary's snapshot");
    if (!rc && (rc = vg_log_reset_to(log, index)))
        snprintf(err, sizeof err, "cannot reset the log to %llu: %s", (unsigned long long)index,
                 strerror(-rc));
    char dest[VG_NODE_PATH_MAX + 64];
    snprintf(dest, sizeof dest, "%s/snap-%020llu.vgs", vg_member_log_dir(c->m),
             (unsigned long long)index);
    if (!rc && rename(path, dest) < 0)
        rc = vg_err(err, sizeof err, -errno, "cannot move the snapshot: %s", strerror(errno));
    if (!rc && (rc = vg_fsync_dir(vg_member_log_dir(c->m))))
        snprintf(err, sizeof err, "cannot sync the log directory");
    if (!rc)
        rc = vg_member_reload_snapshot(c->m, err, sizeof err);
    unlink(path);
    if (rc) {
        vg_error("snapshot from %s not installed: %s", c->node.peer_name, err);
        send_reject(l, REJECT_DIVERGED, "snapshot not installed on %s: %s", c->node.name, err);
        vg_peer_close(c, "snapshot install failed");
        return;
    }
    vg_info("installed snapshot %llu from %s", (unsigned long long)index, c->node.peer_name);
    c->matched = index;
    l->acked = 0;
    vg_cluster_update_commit(c);
    maybe_ack(l);
}

/* --- both sides --------------------------------------------------------------- */

static void on_hello(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    if (strcmp(msg->u.hello.name, c->node.peer_name) ||
        msg->u.hello.version != VG_WIRE_VERSION) {
        vg_warn("HELLO from '%s' (version %u) on the link to %s; closed", msg->u.hello.name,
                msg->u.hello.version, c->node.peer_name);
        vg_peer_close(c, "wrong peer");
        return;
    }
    if (keys_differ(l, msg))
        return;
    if (l->outgoing) {
        primary_on_hello(l, msg);
        return;
    }
    if (fence(l, msg->epoch))
        return;
    c->matched = 0; /* until this primary's first APPEND matches */
    l->acked = 0;
    l->established = 1;
    l->readings_sent = 0; /* a new link: send again what was not acknowledged */
    vg_cluster_update_commit(c);
    vg_peer_send_readings(c);
}

/* Mirror: forwards spooled reading batches, oldest first, without letting
 * them crowd out heartbeats and acks (a bounded amount unsent at a time). */
void vg_peer_send_readings(vg_cluster_t *c)
{
    struct link *l = c->link;
    if (!l || l->outgoing || !l->established || !c->channel.next)
        return;
    const uint8_t *data;
    size_t len;
    uint64_t seq;
    while (evbuffer_get_length(bufferevent_get_output(l->bev)) < READINGS_HIGH_WATER &&
           c->channel.next(c->channel.ctx, l->readings_sent, &data, &len, &seq) == 0) {
        vg_wire_msg_t msg = {.type = VG_WIRE_READINGS, .epoch = c->hi};
        msg.u.readings.seq = seq;
        msg.u.readings.data = data;
        msg.u.readings.data_len = len;
        send_msg(l, &msg);
        l->readings_sent = seq;
    }
}

void vg_cluster_channel_ready(vg_cluster_t *c)
{
    if (c)
        vg_peer_send_readings(c);
}

void vg_cluster_channel_durable(vg_cluster_t *c, uint64_t seq)
{
    struct link *l = c ? c->link : NULL;
    if (!l || !l->outgoing || !l->established)
        return; /* the mirror sends it again on the next link */
    vg_wire_msg_t ack = {.type = VG_WIRE_READINGS_ACK, .epoch = c->hi};
    ack.u.readings_ack.seq = seq;
    send_msg(l, &ack);
}

void vg_cluster_set_channel(vg_cluster_t *c, const struct vg_cluster_channel *ch)
{
    if (c)
        c->channel = ch ? *ch : (struct vg_cluster_channel){0};
}

static void on_heartbeat(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    uint64_t now = vg_mono_us();
    if (l->outgoing) { /* the mirror's echo of ours */
        if (msg->epoch > c->cfg.epoch) {
            vg_cluster_saw_epoch(c, msg->epoch, "the mirror has seen a newer epoch");
            return;
        }
        c->peer_heard_us = now;
        l->peer_applied = msg->u.heartbeat.commit_index;
        c->lease_mirror_us =
            vg_decide_echo_stamp(now, c->lease_mirror_us, msg->u.heartbeat.sent_us);
        vg_cluster_mirror_renewed(c, msg->epoch);
        return;
    }
    if (fence(l, msg->epoch))
        return;
    if (msg->u.heartbeat.commit_index > c->primary_commit)
        c->primary_commit = msg->u.heartbeat.commit_index;
    vg_cluster_update_commit(c);
    vg_wire_msg_t echo = {.type = VG_WIRE_HEARTBEAT, .epoch = c->hi};
    echo.u.heartbeat.commit_index = vg_state_applied_index(vg_member_state(c->m));
    echo.u.heartbeat.sent_us = msg->u.heartbeat.sent_us;
    send_msg(l, &echo);
}

static void dispatch(struct link *l, const vg_wire_msg_t *msg)
{
    vg_cluster_t *c = l->c;
    l->rx_us = vg_mono_us();
    if (msg->type != VG_WIRE_HELLO && msg->type != VG_WIRE_REJECT && !l->established) {
        vg_warn("%s sent %s before HELLO; closed", c->node.peer_name,
                vg_wire_type_name(msg->type));
        vg_peer_close(c, "no hello");
        return;
    }
    switch (msg->type) {
    case VG_WIRE_HELLO:
        on_hello(l, msg);
        return;
    case VG_WIRE_HEARTBEAT:
        on_heartbeat(l, msg);
        return;
    case VG_WIRE_REJECT:
        if (l->outgoing) {
            primary_on_reject(l, msg);
        } else if (msg->u.reject.code == REJECT_DIVERGED && msg->epoch >= c->hi) {
            vg_peer_close(c, "diverged");
            vg_cluster_set_aside(c, vg_state_applied_index(vg_member_state(c->m)));
        } else {
            vg_warn("%s refused us: %s", c->node.peer_name, msg->u.reject.reason);
            vg_cluster_saw_epoch(c, msg->epoch, "the peer has seen a newer epoch");
            vg_peer_close(c, "rejected");
        }
        return;
    case VG_WIRE_ACK:
        if (l->outgoing) {
            c->peer_heard_us = l->rx_us;
            primary_on_ack(l, msg);
            return;
        }
        break;
    case VG_WIRE_APPEND:
        if (!l->outgoing) {
            mirror_on_append(l, msg);
            return;
        }
        break;
    case VG_WIRE_SNAPSHOT:
        if (!l->outgoing) {
            mirror_on_snapshot(l, msg);
            return;
        }
        break;
    case VG_WIRE_READINGS:
        if (l->outgoing) {
            if (c->channel.receive)
                c->channel.receive(c->channel.ctx, msg->u.readings.seq, msg->u.readings.data,
                                   msg->u.readings.data_len);
            return;
        }
        break;
    case VG_WIRE_READINGS_ACK:
        if (!l->outgoing) {
            if (c->channel.acked)
                c->channel.acked(c->channel.ctx, msg->u.readings_ack.seq);
            vg_peer_send_readings(c);
            return;
        }
        break;
    default:
        break;
    }
    vg_warn("%s sent %s, which this side of the link does not take; closed", c->node.peer_name,
            vg_wire_type_name(msg->type));
    vg_peer_close(c, "unexpected message");
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct link *l = arg;
    vg_cluster_t *c = l->c;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (c->link == l) {
        size_t avail = evbuffer_get_length(in);
        if (avail < VG_WIRE_HEADER_BYTES)
            return;
        uint8_t head[VG_WIRE_HEADER_BYTES];
        evbuffer_copyout(in, head, sizeof head);
        size_t need = VG_WIRE_HEADER_BYTES + (size_t)vg_get_u32(head);
        if (need > VG_WIRE_HEADER_BYTES + VG_WIRE_MAX_BODY) {
            vg_warn("%s sent a message of %zu bytes; closed", c->node.peer_name, need);
            vg_peer_close(c, "oversized");
            return;
        }
        if (avail < need)
            return;
        const uint8_t *p = evbuffer_pullup(in, (ssize_t)need);
        vg_wire_msg_t msg;
        size_t used;
        char err[256];
        if (vg_wire_decode(p, need, &msg, &used, err, sizeof err)) {
            vg_warn("malformed message from %s: %s; closed", c->node.peer_name, err);
            vg_peer_close(c, "malformed");
            return;
        }
        dispatch(l, &msg); /* may free l */
        if (c->link == l)
            evbuffer_drain(in, used);
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct link *l = arg;
    if (l->outgoing)
        stream_more(l);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct link *l = arg;
    vg_cluster_t *c = l->c;
    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        char cn[64] = "", err[256] = "";
        if (vg_tls_peer_cn(ssl, cn, sizeof cn, err, sizeof err) ||
            strcmp(cn, c->node.peer_name)) {
            vg_warn("link refused: peer certificate is not %s's (%s)", c->node.peer_name,
                    err[0] ? err : cn);
            if (c->link == l)
                vg_peer_close(c, "certificate");
            else
                link_free(l);
            return;
        }
        if (c->link && c->link != l)
            vg_peer_close(c, "replaced by a new connection");
        loose_del(l);
        c->link = l;
        l->ready = 1;
        bufferevent_set_timeouts(bev, NULL, NULL); /* it only guarded the handshake */
        l->rx_us = vg_mono_us();
        send_hello(l);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        char why[256] = "";
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (e)
            ERR_error_string_n(e, why, sizeof why);
        vg_debug("link to %s lost%s%s", c->node.peer_name, why[0] ? ": " : "", why);
        if (c->link == l)
            vg_peer_close(c, "connection lost");
        else
            link_free(l);
    }
}

static struct link *link_new(vg_cluster_t *c, struct bufferevent *bev, int outgoing)
{
    struct link *l = vg_calloc(1, sizeof *l);
    l->c = c;
    l->bev = bev;
    l->outgoing = outgoing;
    l->snap_fd = l->recv_fd = -1;
    l->created_us = vg_mono_us();
    bufferevent_setcb(bev, on_read, on_write, on_event, l);
    bufferevent_setwatermark(bev, EV_WRITE, HIGH_WATER / 2, 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (loose_add(l)) { /* a flood of half-open connections: refuse more */
        link_free(l);
        return NULL;
    }
    return l;
}

/* Connections not yet verified are not c->link; they live until their
 * handshake ends one way or the other (or the handshake timeout). */
static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    (void)lis, (void)sa, (void)socklen;
    vg_cluster_t *c = arg;
    SSL *ssl = SSL_new(c->link_server_ctx);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        c->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return;
    }
    struct timeval hs = {HANDSHAKE_US / 1000000, 0};
    bufferevent_set_timeouts(bev, &hs, NULL);
    link_new(c, bev, 0);
}

static void dial(vg_cluster_t *c)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (evutil_parse_sockaddr_port(c->node.peer_address, (struct sockaddr *)&ss, &sslen) < 0) {
        vg_error("peer address '%s' cannot be parsed", c->node.peer_address);
        return;
    }
    SSL *ssl = vg_tls_client_ssl(c->client_ctx, c->node.peer_name);
    if (!ssl)
        return;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return;
    struct timeval hs = {HANDSHAKE_US / 1000000, 0};
    bufferevent_set_timeouts(bev, &hs, NULL);
    struct link *l = link_new(c, bev, 1);
    if (l && bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sslen) < 0)
        link_free(l);
    else if (l)
        vg_tcp_nodelay(bufferevent_getfd(bev));
}

void vg_peer_tick(vg_cluster_t *c)
{
    uint64_t now = vg_mono_us();
    const struct vg_node_timing *t = &c->node.timing;
    struct link *l = c->link;
    if (l && vg_decide_link_silent(now, l->rx_us, t)) {
        /* obligation 7: a link that stopped carrying messages is torn down */
        vg_peer_close(c, "peer silent");
        l = NULL;
    }
    if (c->role == ROLE_PRIMARY && !l &&
        vg_decide_dial(now, c->last_dial_us, c->diverged_until_us, t)) {
        c->last_dial_us = now;
        dial(c);
    }
    if (l && l->outgoing && l->established && c->role == ROLE_PRIMARY &&
        now - l->hb_us >= (uint64_t)t->heartbeat_ms * 1000)
        vg_peer_send_heartbeat(c);
    vg_peer_send_readings(c);
}

void vg_peer_on_durable(vg_cluster_t *c)
{
    struct link *l = c->link;
    if (!l || !l->established)
        return;
    if (l->outgoing) {
        stream_more(l);
        return;
    }
    uint64_t last = vg_log_last_index(vg_member_log(c->m));
    if (c->matched > last) { /* records dropped for a full disk: never acknowledged */
        c->matched = last;
        l->resync = 1;
        vg_cluster_update_commit(c);
    }
    maybe_ack(l);
}

int vg_peer_listen(vg_cluster_t *c, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (evutil_parse_sockaddr_port(c->node.peer_listen, (struct sockaddr *)&ss, &sslen) < 0)
        return vg_err(err, errlen, -EINVAL, "peer_listen '%s' is not HOST:PORT",
                      c->node.peer_listen);
    for (int tries = 0;; tries++) {
        c->listener = evconnlistener_new_bind(c->base, on_accept, c,
                                              LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
                                                  LEV_OPT_CLOSE_ON_EXEC,
                                              64, (struct sockaddr *)&ss, sslen);
        if (c->listener)
            break;
        if (errno != EADDRINUSE || tries == 40)
            return vg_err(err, errlen, -errno, "cannot listen for the peer on '%s': %s",
                          c->node.peer_listen, strerror(errno));
        usleep(50000);
    }
    vg_tcp_nodelay(evconnlistener_get_fd(c->listener)); /* inherited by accepted sockets */
    vg_info("listening for %s on %s (mutual TLS)", c->node.peer_name, c->node.peer_listen);
    return 0;
}

json_t *vg_peer_status(const vg_cluster_t *c)
{
    struct link *l = c->link;
    uint64_t now = vg_mono_us();
    vg_log_t *log = vg_member_log(c->m);
    json_t *st = json_pack("{s:s, s:s, s:b}", "name", c->node.peer_name, "address",
                           c->node.peer_address, "connected", l && l->established);
    if (c->keys_problem[0])
        json_object_set_new(st, "problem", json_string(c->keys_problem));
    json_object_set_new(st, "last_heard_ms",
                        c->peer_heard_us
                            ? json_integer((json_int_t)((now - c->peer_heard_us) / 1000))
                            : json_null());
    if (c->role == ROLE_PRIMARY) {
        uint64_t last = vg_log_last_index(log);
        json_object_set_new(st, "acked_index", json_integer((json_int_t)c->peer_ack));
        json_object_set_new(st, "durable_index", json_integer((json_int_t)c->peer_ack));
        json_object_set_new(st, "commit_index",
                            json_integer((json_int_t)(l ? l->peer_applied : 0)));
        json_object_set_new(
            st, "lag", json_integer((json_int_t)(last > c->peer_ack ? last - c->peer_ack : 0)));
        json_t *cu = json_null();
        if (l && l->snap_fd >= 0)
            cu = json_pack("{s:s, s:I, s:I}", "mode", "snapshot", "done",
                           (json_int_t)l->snap_off, "total", (json_int_t)l->snap_total);
        else if (l && l->established && !c->cfg.peer_in_sync && c->peer_ack < last)
            cu = json_pack(
                "{s:s, s:I, s:I}", "mode", "log", "done",
                (json_int_t)(c->peer_ack > l->catch_start ? c->peer_ack - l->catch_start : 0),
                "total", (json_int_t)(last - l->catch_start));
        json_object_set_new(st, "catchup", cu);
    } else {
        json_object_set_new(st, "commit_index", json_integer((json_int_t)c->primary_commit));
        json_object_set_new(st, "lag", json_integer((json_int_t)vg_cluster_lag(c)));
        json_object_set_new(st, "catchup", json_null());
        if (l && l->recv_fd >= 0)
            json_object_set_new(st, "catchup",
                                json_pack("{s:s, s:I, s:I}", "mode", "snapshot", "done",
                                          (json_int_t)l->recv_off, "total",
                                          (json_int_t)l->recv_total));
    }
    return st;
}

void vg_peer_free(vg_cluster_t *c)
{
    vg_peer_close(c, "shutting down");
    for (int i = 0; i < VG_PEER_MAX_LOOSE; i++)
        link_free(c->loose[i]);
    if (c->listener)
        evconnlistener_free(c->listener);
    c->listener = NULL;
}

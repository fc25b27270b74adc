/*
 * member.c - glue between the log and the state, and the completion queue
 * that turns "durable" into answered requests, in log order.
 *
 * Invariant: pending entries are ordered by index with no gaps, and every
 * index <= vg_state_applied_index has been answered or forgotten.
 *
 * Out of space: when the log takes a batch back (log.h), every request
 * after the durable index fails with -ENOSPC (the API answers 507) and the
 * data dir counts as full: said once in the log, shown by
 * vg_member_disk_full, probed once a second until statvfs shows 1 MiB
 * free. Writes are never refused up front for it: each one is tried, so
 * the first after space is freed succeeds. A write that squeezes into a few
 * freed kilobytes does not end the state: on a disk hovering at full (a
 * failed snapshot's temp file removed, say) the log would otherwise say
 * "full" and "free again" by turns.
 */
#include "member/member.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/jsonout.h"
#include "core/say.h"
#include "store/snapshot.h"

#define STANDALONE_EPOCH  1
#define SPACE_PROBE_BYTES (1u << 20) /* free space that ends "the disk is full" */
#define SNAP_RETRY_MS     30000      /* after a failed snapshot */

struct pending {
    uint64_t index;
    uint64_t epoch;
    uint16_t type;
    json_t *payload;
    vg_member_done_fn done;
    void *ctx;
    uint64_t start_us;
};

static const double lat_bounds[VG_MEMBER_LAT_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0};

struct vg_member {
    char *data_dir;
    vg_keyring_t *keys;
    struct event_base *base;
    vg_log_t *log;
    vg_state_t *state;
    struct event *notify_ev;
    struct event *flush_ev; /* lowest priority: runs after every ready request */
    int lock_fd;
    uint64_t snapshot_every, last_snapshot;
    char *log_dir;
    pid_t snap_pid; /* child writing a snapshot, 0 if none */
    uint64_t snap_index;
    uint64_t snap_objects;  /* objects in the newest snapshot started */
    struct event *snap_ev;  /* polls for the child's exit */
    uint64_t snap_retry_ms; /* no snapshot before this (monotonic), after a failure */
    uint64_t snap_bytes;    /* size of the newest snapshot file written, 0 if unknown */
    int snap_no_room;       /* the last snapshot was postponed for space (said once) */

    int disk_full;                /* the log ran out of space, and no room seen since */
    uint64_t space_failures_seen; /* vg_log_space_failures when last looked */
    struct event *space_ev;       /* probes for room while disk_full */

    uint64_t epoch;        /* of the records appended now */
    uint64_t replay_limit; /* recovery applies records up to here (cluster: known committed) */
    uint64_t commit_limit; /* no index above this commits (mirror's ack, primary's commit) */
    int apply_failed;      /* a committed record could not be applied: stopping */
    vg_member_hook_fn hook;
    void *hook_ctx;

    struct pending *q; /* ring buffer */
    size_t q_head, q_len, q_cap;

    uint64_t lat_counts[VG_MEMBER_LAT_BUCKETS];
    double lat_sum;
    uint64_t lat_n;
};

static int load_snapshot(vg_member_t *m, const char *log_dir, char *err, size_t errlen);

static struct pending *q_at(vg_member_t *m, size_t i)
{
    return &m->q[(m->q_head + i) % m->q_cap];
}

static void q_push(vg_member_t *m, const struct pending *p)
{
    if (m->q_len == m->q_cap) {
        size_t cap = m->q_cap ? m->q_cap * 2 : 256;
        struct pending *q = vg_calloc(cap, sizeof *q);
        for (size_t i = 0; i < m->q_len; i++)
            q[i] = *q_at(m, i);
        free(m->q);
        m->q = q;
        m->q_cap = cap;
        m->q_head = 0;
    }
    *q_at(m, m->q_len++) = *p;
}

static void observe_latency(vg_member_t *m, uint64_t start_us)
{
    double secs = (double)(vg_mono_us() - start_us) / 1e6;
    for (int i = 0; i < VG_MEMBER_LAT_BUCKETS; i++)
        if (secs <= lat_bounds[i])
            m->lat_counts[i]++;
    m->lat_sum += secs;
    m->lat_n++;
}

/*
 * Snapshots are written by a forked child (Redis's BGSAVE): the child has a
 * copy-on-write image of the state as of one index, serialises, seals and
 * fsyncs it while the parent keeps serving. Only then is the log told to
 * drop what the snapshot covers. Serialising a large state on the loop, or
 * writing it between group commits, would stall every write for its
 * duration.
 */
static _Noreturn void snapshot_child(vg_member_t *m, uint64_t index)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a killed parent */
    if (getppid() == 1)
        _exit(3);
    close_range(3, ~0u, 0); /* no listener or lock held past the parent */
    /* background work: yield the CPU to the loop that answers writes */
    if (setpriority(PRIO_PROCESS, 0, 10) < 0)
        vg_debug("cannot lower snapshot priority: %s", strerror(errno));
    vg_buf_t text = VG_BUF_INIT;
    vg_state_dump(m->state, &text);
    char err[512];
    int rc = vg_snapshot_write(m->log_dir, m->keys, index, vg_state_epoch(m->state), text.data,
                               text.len, err, sizeof err);
    if (rc)
        vg_error("snapshot %llu failed: %s", (unsigned long long)index, err);
    _exit(rc ? 1 : 0);
}

static void on_snapshot_poll(evutil_socket_t fd, short what, void *arg)
{
    vg_member_t *m = arg;
    int status;
    pid_t pid = waitpid(m->snap_pid, &status, WNOHANG);
    if (pid == 0)
        return;
    event_del(m->snap_ev);
    m->snap_pid = 0;
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        vg_warn("snapshot at index %llu did not complete; the log is kept, next try in %d s",
                (unsigned long long)m->snap_index, SNAP_RETRY_MS / 1000);
        m->snap_retry_ms = vg_mono_us() / 1000 + SNAP_RETRY_MS;
        return;
    }
    m->last_snapshot = m->snap_index;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/snap-%020llu.vgs", m->log_dir,
             (unsigned long long)m->snap_index);
    if (stat(path, &st) == 0)
        m->snap_bytes = (uint64_t)st.st_size;
    vg_log_compact(m->log, m->snap_index);
    vg_debug("snapshot at index %llu written", (unsigned long long)m->snap_index);
}

/* A snapshot needs about the state's size free until it replaces the old
 * one; writing it into a nearly full disk would only make writes fail
 * while its temp file exists. The state's size is guessed from the newest
 * snapshot file, else from the log that built it (an upper bound). */
static int room_for_snapshot(vg_member_t *m)
{
    struct vg_log_stats ls;
    vg_log_get_stats(m->log, &ls);
    uint64_t need = m->snap_bytes ? m->snap_bytes : ls.bytes_on_disk;
    need += need / 4 + SPACE_PROBE_BYTES;
    if (vg_fs_has_room(m->log_dir, need) != 0) {
        m->snap_no_room = 0;
        return 1;
    }
    if (!m->snap_no_room)
        vg_warn("snapshot postponed: about %llu bytes free are needed in '%s'; the log is kept "
                "until there are",
                (unsigned long long)need, m->log_dir);
    m->snap_no_room = 1;
    m->snap_retry_ms = vg_mono_us() / 1000 + SNAP_RETRY_MS;
    return 0;
}

static void maybe_snapshot(vg_member_t *m)
{
    uint64_t applied = vg_state_applied_index(m->state);
    /* Wait for at least as many records as the last snapshot had objects: a
     * snapshot costs about the state's size, so this keeps its cost per
     * record constant, and replay at start stays within the state's size. */
    uint64_t due = m->snapshot_every;
    if (m->snap_objects > due)
        due = m->snap_objects;
    if (m->snap_pid || applied - m->last_snapshot < due || m->disk_full ||
        vg_mono_us() / 1000 < m->snap_retry_ms || !room_for_snapshot(m))
        return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        vg_warn("cannot fork for a snapshot: %s", strerror(errno));
        return;
    }
    if (pid == 0)
        snapshot_child(m, applied);
    m->snap_pid = pid;
    m->snap_index = applied;
    m->snap_objects = vg_state_n_objects(m->state);
    struct timeval every = {0, 20000};
    event_add(m->snap_ev, &every);
}

static void fail_all_pending(vg_member_t *m, int code)
{
    while (m->q_len) {
        struct pending p = *q_at(m, 0);
        m->q_head = (m->q_head + 1) % m->q_cap;
        m->q_len--;
        if (p.done)
            p.done(p.ctx, code, NULL);
        json_decref(p.payload);
    }
}

/* Fails, newest first, every request whose record the log dropped after
 * taking back a batch for want of space: they were never written. */
static void drop_unwritten(vg_member_t *m)
{
    vg_log_drop_unwritten(m->log);
    uint64_t last = vg_log_last_index(m->log);
    while (m->q_len && q_at(m, m->q_len - 1)->index > last) {
        struct pending p = *q_at(m, m->q_len - 1);
        m->q_len--;
        if (p.done)
            p.done(p.ctx, -ENOSPC, NULL);
        json_decref(p.payload);
    }
}

static void set_disk_full(vg_member_t *m, int full)
{
    static const struct timeval probe_every = {1, 0};
    if (full == m->disk_full)
        return;
    m->disk_full = full;
    if (full) {
        vg_error("data directory '%s' is full (no space left on its file system, or quota "
                 "exceeded): writes are refused until space is freed",
                 m->data_dir);
        event_add(m->space_ev, &probe_every);
    } else {
        vg_info("data directory '%s' has free space again: writes resume", m->data_dir);
        event_del(m->space_ev);
    }
}

/* After the writer reported: another batch taken back means full; one
 * written since, with room beyond it, means not. */
static void watch_space(vg_member_t *m)
{
    uint64_t failures = vg_log_space_failures(m->log);
    if (failures != m->space_failures_seen) {
        m->space_failures_seen = failures;
        set_disk_full(m, 1);
    } else if (m->disk_full && !vg_log_full(m->log) &&
               vg_fs_has_room(m->log_dir, SPACE_PROBE_BYTES) == 1) {
        set_disk_full(m, 0);
    }
}

/* Once a second while full: room on the file system ends it without
 * waiting for a write (readiness and the metric follow). */
static void on_space_probe(evutil_socket_t fd, short what, void *arg)
{
    vg_member_t *m = arg;
    if (vg_fs_has_room(m->log_dir, SPACE_PROBE_BYTES) == 1)
        set_disk_full(m, 0);
}

/* A committed record that cannot be applied: the other member applied it,
 * so skipping it would leave this member's state silently different. Stop
 * applying, refuse writes and end the process with a failure (the mirror
 * stops acknowledging; an operator rebuilds it from the primary). */
static void stop_on_record(vg_member_t *m, uint64_t index, const char *why)
{
    vg_error("cannot apply committed record %llu: %s; this member stops rather than skip it "
             "(rebuild it from the other member: vigild init --mirror)",
             (unsigned long long)index, why);
    m->apply_failed = 1;
    fail_all_pending(m, -EIO);
    if (m->base)
        event_base_loopexit(m->base, NULL);
}

/* Applies one record read back from the log; non-zero if it could not be. */
static int apply_read_back(vg_member_t *m, const vg_record_t *rec)
{
    char err[512];
    vg_apply_result_t res;
    int rc = vg_state_apply_record(m->state, rec, &res, err, sizeof err);
    if (rc) {
        stop_on_record(m, rec->index, err);
        return rc;
    }
    if (res.code == -EINVAL) /* the member that wrote it refused it the same way */
        vg_warn("record %llu was refused when applied: %s", (unsigned long long)rec->index,
                res.msg);
    json_decref(res.object);
    return 0;
}

/* Applies committed records that nobody is waiting for (a mirror's, or a
 * new primary's tail from the old epoch), reading them back from the log. */
static int apply_from_log(vg_member_t *m, uint64_t from, uint64_t upto)
{
    vg_buf_t frames = VG_BUF_INIT;
    uint64_t last = 0;
    char err[256];
    int rc = vg_log_read(m->log, from, 4u << 20, &frames, &last, err, sizeof err);
    if (rc) {
        vg_error("cannot read back record %llu to apply it: %s", (unsigned long long)from, err);
        return rc;
    }
    size_t off = 0;
    while (off < frames.len) {
        vg_record_t rec;
        size_t used;
        rc = vg_record_decode(m->keys, frames.data + off, frames.len - off, &rec, &used, err,
                              sizeof err);
        if (rc) {
            /* it was authenticated when it was appended: the disk changed it */
            stop_on_record(m, vg_state_applied_index(m->state) + 1, err);
            break;
        }
        off += used;
        if (rec.index > upto) {
            vg_record_release(&rec);
            break;
        }
        rc = apply_read_back(m, &rec);
        vg_record_release(&rec);
        if (rc)
            break;
    }
    vg_buf_release(&frames);
    return rc;
}

/* Commits, in index order, every record that is durable here and within the
 * commit limit: answers its request if one waits, else applies it. */
static void commit_ready(vg_member_t *m)
{
    uint64_t limit = vg_log_durable_index(m->log);
    if (m->commit_limit < limit)
        limit = m->commit_limit;
    while (!m->apply_failed && vg_state_applied_index(m->state) < limit) {
        uint64_t next = vg_state_applied_index(m->state) + 1;
        if (!m->q_len || q_at(m, 0)->index != next) {
            uint64_t upto = limit;
            if (m->q_len && q_at(m, 0)->index - 1 < upto)
                upto = q_at(m, 0)->index - 1;
            if (apply_from_log(m, next, upto) || vg_state_applied_index(m->state) < next)
                break;
            continue;
        }
        struct pending p = *q_at(m, 0);
        m->q_head = (m->q_head + 1) % m->q_cap;
        m->q_len--;
        vg_apply_result_t res;
        int code = vg_state_apply(m->state, p.epoch, p.index, p.type, p.payload, &res);
        observe_latency(m, p.start_us);
        if (p.done)
            p.done(p.ctx, code, &res);
        json_decref(res.object);
        json_decref(p.payload);
    }
}

/* The writer made more records durable: commit them in order. */
static void on_durable(evutil_socket_t fd, short what, void *arg)
{
    vg_member_t *m = arg;
    vg_log_notify_drain(m->log);
    commit_ready(m);
    drop_unwritten(m);
    watch_space(m);
    if (vg_log_failed(m->log)) {
        vg_error("log write failed: refusing writes; pending requests fail");
        fail_all_pending(m, -EIO);
    }
    if (m->hook)
        m->hook(m->hook_ctx);
    maybe_snapshot(m);
}

void vg_member_set_epoch(vg_member_t *m, uint64_t epoch)
{
    m->epoch = epoch;
}

uint64_t vg_member_epoch(const vg_member_t *m)
{
    return m->epoch;
}

void vg_member_set_commit_limit(vg_member_t *m, uint64_t limit)
{
    m->commit_limit = limit;
    commit_ready(m);
    maybe_snapshot(m);
}

void vg_member_set_hook(vg_member_t *m, vg_member_hook_fn fn, void *ctx)
{
    m->hook = fn;
    m->hook_ctx = ctx;
}

void vg_member_fail_pending(vg_member_t *m, int code)
{
    fail_all_pending(m, code);
}

const vg_keyring_t *vg_member_keys(const vg_member_t *m)
{
    return m->keys;
}

const char *vg_member_log_dir(const vg_member_t *m)
{
    return m->log_dir;
}

const char *vg_member_data_dir(const vg_member_t *m)
{
    return m->data_dir;
}

int vg_member_reload_snapshot(vg_member_t *m, char *err, size_t errlen)
{
    return load_snapshot(m, m->log_dir, err, errlen);
}

int vg_member_submit(vg_member_t *m, uint16_t type, const json_t *payload,
                     vg_member_done_fn done, void *ctx, uint64_t *handle)
{
    if (m->apply_failed)
        return -EIO;
    drop_unwritten(m); /* before indexes after the durable one are handed out again */
    vg_buf_t text = VG_BUF_INIT;
    vg_json_dump(payload, &text);
    uint64_t index;
    int rc = vg_log_append(m->log, m->epoch, type, text.data, text.len, &index);
    vg_buf_release(&text);
    if (rc)
        return rc;
    struct pending p = {index, m->epoch, type,        json_incref((json_t *)payload),
                        done,  ctx,      vg_mono_us()};
    q_push(m, &p);
    event_active(m->flush_ev, 0, 0); /* a no-op if already scheduled */
    if (handle)
        *handle = index;
    return 0;
}

void vg_member_forget(vg_member_t *m, uint64_t handle)
{
    if (!m->q_len || handle < q_at(m, 0)->index)
        return;
    size_t i = (size_t)(handle - q_at(m, 0)->index);
    if (i < m->q_len)
        q_at(m, i)->done = NULL;
}

/* Group commit per loop iteration: every request that was ready has been
 * appended by the time this runs, so they share one batch and one fsync. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    vg_member_t *m = arg;
    vg_log_flush(m->log);
}

static int replay_one(void *ctx, const vg_record_t *rec)
{
    vg_member_t *m = ctx;
    if (rec->index > m->replay_limit)
        return 0; /* durable here but not known to be committed: wait for the primary */
    char err[512];
    vg_apply_result_t res;
    int rc = vg_state_apply_record(m->state, rec, &res, err, sizeof err);
    if (rc) {
        vg_error("%s", err);
        return rc;
    }
    if (res.code == -EINVAL)
        vg_warn("record %llu was refused when applied: %s", (unsigned long long)rec->index,
                res.msg);
    json_decref(res.object);
    return 0;
}

static int load_snapshot(vg_member_t *m, const char *log_dir, char *err, size_t errlen)
{
    uint64_t index = 0, epoch = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc =
        vg_snapshot_load_latest(log_dir, m->keys, &index, &epoch, &data, &len, err, errlen);
    if (rc || !data)
        return rc;
    json_error_t jerr;
    json_t *dump = json_loadb((const char *)data, len, JSON_ALLOW_NUL, &jerr);
    free(data);
    if (!dump)
        return vg_err(err, errlen, -VG_ECORRUPT, "snapshot %llu is not valid JSON: %s",
                      (unsigned long long)index, jerr.text);
    rc = vg_state_load(m->state, dump, err, errlen);
    json_decref(dump);
    m->last_snapshot = index;
    return rc;
}

static int lock_data_dir(vg_member_t *m, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", m->data_dir);
    m->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m->lock_fd < 0)
        return vg_err(err, errlen, -errno, "cannot open '%s': %s", path, strerror(errno));
    /* a predecessor that was just killed may take a moment to be gone */
    for (int tries = 0; flock(m->lock_fd, LOCK_EX | LOCK_NB) < 0; tries++) {
        if (tries == 40)
            return vg_err(err, errlen, -EBUSY, "data dir '%s' is in use by another vigild",
                          m->data_dir);
        usleep(50000);
    }
    return 0;
}

int vg_member_open(const struct vg_member_opts *opts, struct event_base *base,
                   vg_member_t **out, char *err, size_t errlen)
{
    vg_member_t *m = vg_calloc(1, sizeof *m);
    m->lock_fd = -1;
    m->data_dir = vg_strdup(opts->data_dir);
    m->snapshot_every = opts->snapshot_every ? opts->snapshot_every : 10000;
    m->epoch = STANDALONE_EPOCH;
    m->replay_limit = opts->limit_replay ? opts->replay_limit : UINT64_MAX;
    m->commit_limit = UINT64_MAX;
    m->state = vg_state_new();
    m->base = base;
    char key_path[4096], log_dir[4096];
    snprintf(key_path, sizeof key_path, "%s/keyring", opts->data_dir);
    snprintf(log_dir, sizeof log_dir, "%s/log", opts->data_dir);
    m->log_dir = vg_strdup(log_dir);

    int rc = lock_data_dir(m, err, errlen);
    if (rc)
        goto fail;
    rc = vg_keyring_load(opts->key_file ? opts->key_file : key_path, &m->keys, err, errlen);
    if (rc)
        goto fail;
    rc = load_snapshot(m, log_dir, err, errlen);
    if (rc)
        goto fail;
    vg_log_opts_t lo = {log_dir, m->keys, opts->segment_bytes};
    rc =
        vg_log_open(&lo, vg_state_applied_index(m->state), replay_one, m, &m->log, err, errlen);
    if (rc)
        goto fail;
    rc = vg_log_start_writer(m->log);
    if (rc) {
        vg_err(err, errlen, rc, "cannot start log writer: %s", strerror(-rc));
        goto fail;
    }
    m->notify_ev =
        event_new(base, vg_log_notify_fd(m->log), EV_READ | EV_PERSIST, on_durable, m);
    event_add(m->notify_ev, NULL);
    m->snap_ev = event_new(base, -1, EV_PERSIST, on_snapshot_poll, m);
    m->space_ev = event_new(base, -1, EV_PERSIST, on_space_probe, m);
    m->flush_ev = event_new(base, -1, 0, on_flush, m);
    event_priority_set(m->flush_ev, VG_MEMBER_PRIORITIES - 1);
    vg_log_set_deferred(m->log, 1);
    *out = m;
    return 0;
fail:
    vg_member_close(m);
    return rc;
}

void vg_member_close(vg_member_t *m)
{
    if (!m)
        return;
    if (m->notify_ev)
        event_free(m->notify_ev);
    if (m->flush_ev)
        event_free(m->flush_ev);
    if (m->snap_pid) { /* let a running snapshot finish: it is cheap to keep */
        int status;
        waitpid(m->snap_pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            vg_log_compact(m->log, m->snap_index);
    }
    if (m->snap_ev)
        event_free(m->snap_ev);
    if (m->space_ev)
        event_free(m->space_ev);
    vg_log_close(m->log); /* flushes and syncs what is queued */
    while (m->q_len) {    /* durable now, but nobody is waiting any more */
        json_decref(q_at(m, 0)->payload);
        m->q_head = (m->q_head + 1) % m->q_cap;
        m->q_len--;
    }
    free(m->q);
    vg_state_free(m->state);
    vg_keyring_free(m->keys);
    if (m->lock_fd >= 0)
        close(m->lock_fd);
    free(m->data_dir);
    free(m->log_dir);
    free(m);
}

vg_state_t *vg_member_state(vg_member_t *m)
{
    return m->state;
}

vg_log_t *vg_member_log(vg_member_t *m)
{
    return m->log;
}

size_t vg_member_n_pending(const vg_member_t *m)
{
    return m->q_len;
}

int vg_member_writable(const vg_member_t *m)
{
    return m->log && !vg_log_failed(m->log) && !m->apply_failed;
}

int vg_member_failed(const vg_member_t *m)
{
    return m && m->apply_failed;
}

int vg_member_disk_full(const vg_member_t *m)
{
    return m->disk_full;
}

void vg_member_commit_latency(const vg_member_t *m, const double **bounds,
                              const uint64_t **counts, double *sum, uint64_t *count)
{
    *bounds = lat_bounds;
    *counts = m->lat_counts;
    *sum = m->lat_sum;
    *count = m->lat_n;
}

/*
 * fwd.h - the batches in which a mirror forwards what its site's devices
 * read to the primary (DESIGN.md section 4: readings collected at the
 * mirror's site reach the primary), and the spool that keeps them while
 * the primary is unreachable.
 *
 * Batch body (little-endian), a sequence of entries:
 *   u8 kind = 1 (reading): u8 name_len, name, i64 time_ms, f64 value
 *   u8 kind = 2 (device):  u8 name_len, name, i64 time_ms, u8 up,
 *                          u8 error_len, error
 * Names obey names.h; the decoder checks everything (the bytes come from
 * the network, even if from our own mirror) and refuses the whole batch
 * on the first bad entry, naming its offset.
 */
#ifndef VG_FWD_H
#define VG_FWD_H

#include "core/buf.h"
#include "crypto/keyring.h"

#define VG_FWD_BATCH_MAX (1u << 20) /* bytes; a batch is flushed before this */

void vg_fwd_add_reading(vg_buf_t *batch, const char *sensor, int64_t time_ms, double value);
void vg_fwd_add_device(vg_buf_t *batch, const char *device, int64_t time_ms, int up,
                       const char *error);

struct vg_fwd_entry {
    int kind; /* 1 reading, 2 device */
    char name[64];
    int64_t time_ms;
    double value;    /* reading */
    int up;          /* device */
    char error[256]; /* device, may be empty */
};

/* Calls fn for each entry after checking the whole batch first; -EINVAL
 * (err names the offset and the fault) and no call at all if any entry is
 * malformed. */
int vg_fwd_decode(const uint8_t *p, size_t len,
                  void (*fn)(void *ctx, const struct vg_fwd_entry *e), void *ctx, char *err,
                  size_t errlen);

/* ---- spool ---- */

typedef struct vg_spool vg_spool_t;

/* Opens (creating) the spool file at path, sealed with kr's keys. Batches
 * left from before (not yet acknowledged by the primary) are loaded and
 * will be sent again, in order; a torn tail is cut. max_bytes bounds what
 * it holds: past it the oldest batches are dropped and counted. */
int vg_spool_open(const char *path, const vg_keyring_t *kr, size_t max_bytes,
                  vg_spool_t **out, char *err, size_t errlen);
void vg_spool_close(vg_spool_t *sp); /* NULL is fine */

/* Appends a batch (copied; written and fsynced before returning); its
 * sequence number in *seq. */
int vg_spool_push(vg_spool_t *sp, const uint8_t *data, size_t len, uint64_t *seq, char *err,
                  size_t errlen);

/* The oldest batch with sequence > after: 0 and pointers valid until the
 * next push/ack, or -ENOENT when there is none. */
int vg_spool_next(const vg_spool_t *sp, uint64_t after, const uint8_t **data, size_t *len,
                  uint64_t *seq);

/* The primary has every batch up to seq: they are dropped (the file is
 * rewritten or emptied once they make up most of it). */
void vg_spool_ack(vg_spool_t *sp, uint64_t seq);

struct vg_spool_stats {
    uint64_t batches, bytes;  /* held now */
    uint64_t dropped_batches; /* dropped because the spool was full */
    uint64_t acked_seq;
};
void vg_spool_stats(const vg_spool_t *sp, struct vg_spool_stats *out);

#endif

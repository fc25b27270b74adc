/*
 * server.h - the witness's HTTP API (docs/cluster.md) on libevent's evhttp.
 *
 *   GET  /witness/v1/config      the current C
 *   POST /witness/v1/heartbeat   a member says it is alive; answers C and how
 *                                long ago each member was heard
 *   POST /witness/v1/config      a compare-and-set change of C (rules.h)
 *
 * Mutual TLS 1.3 by default: a client must present a certificate issued by
 * the --tls-ca CA, and its common name is the caller's member name. Plain
 * HTTP (insecure_no_tls) is accepted only on a loopback address; the caller
 * is then the body's "member" field. A change is fsynced before the 200.
 *
 * The server owns an in-memory copy of C and the heartbeat table (monotonic
 * clock). If saving a change fails, it answers 503, stops the event loop
 * and reports vg_witness_server_failed(): what is on disk is then unknown,
 * and the witness must restart from the file rather than go on guessing.
 */
#ifndef VG_WITNESS_SERVER_H
#define VG_WITNESS_SERVER_H

#include <event2/event.h>

#include "witness/witness_store.h"

#define VG_WITNESS_DEAD_AFTER_MS 800 /* DESIGN.md section 3 default */

struct vg_witness_server_opts {
    const char *listen; /* HOST:PORT, "[::1]:7701" for IPv6 */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_ca;  /* client certificates must chain to this CA */
    int insecure_no_tls; /* plain HTTP, loopback only */
    uint64_t dead_after_ms;
};

typedef struct vg_witness_server vg_witness_server_t;

/* Starts serving on base. store stays owned by the caller and must outlive
 * the server; cfg is the C loaded from it (copied). */
int vg_witness_server_start(struct event_base *base, vg_witness_store_t *store,
                            const vg_witness_cfg_t *cfg,
                            const struct vg_witness_server_opts *opts,
                            vg_witness_server_t **out, char *err, size_t errlen);

/* 1 once a change could not be persisted (the loop has been told to exit). */
int vg_witness_server_failed(const vg_witness_server_t *srv);

void vg_witness_server_free(vg_witness_server_t *srv); /* NULL is fine */

#endif

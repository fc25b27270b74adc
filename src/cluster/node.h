/*
 * node.h - a cluster member's node file: who it is, where its peer and the
 * witness are, its TLS material and the protocol's timing.
 *
 *   name: dc1-a                  # member name (names.h), the CN of its certificate
 *   site: dc1
 *   data: /var/lib/vigil
 *   listen: 127.0.0.1:7700       # client API
 *   peer_listen: 10.0.1.1:7701   # link from the other member
 *   peer: {name: dc2-a, address: 10.0.2.1:7701}
 *   witness: {name: witness, address: 10.0.3.1:7702}
 *   tls: {cert: dc1-a.crt, key: dc1-a.key, ca: ca.crt}
 *   keyring: /etc/vigil/keyring  # optional; default DATA/keyring
 *   api_tls: true                # optional: HTTPS on the client API even on loopback
 *   timing: {heartbeat_ms: 100, ack_timeout_ms: 500, lease_ms: 400, dead_after_ms: 800}
 *
 * Relative paths are taken relative to the node file's directory.
 */
#ifndef VG_NODE_H
#define VG_NODE_H

#include "core/vg.h"

#define VG_NODE_PATH_MAX 1024

struct vg_node_timing {
    uint32_t heartbeat_ms, ack_timeout_ms, lease_ms, dead_after_ms;
};

struct vg_node {
    char name[64], site[64];
    char data[VG_NODE_PATH_MAX], keyring[VG_NODE_PATH_MAX];
    char listen[256], peer_listen[256];
    char peer_name[64], peer_address[256];
    char witness_name[64], witness_address[256];
    char tls_cert[VG_NODE_PATH_MAX], tls_key[VG_NODE_PATH_MAX], tls_ca[VG_NODE_PATH_MAX];
    struct vg_node_timing timing;
    int api_tls; /* the client API speaks HTTPS with tls even on loopback */
};

/* Defaults of DESIGN.md section 3. */
#define VG_NODE_HEARTBEAT_MS   100
#define VG_NODE_ACK_TIMEOUT_MS 500
#define VG_NODE_LEASE_MS       400
#define VG_NODE_DEAD_AFTER_MS  800

/* Reads and validates a node file. Unknown or mistyped fields, invalid
 * names, missing required settings and unsafe timing (lease must be shorter
 * than dead_after, with at least two heartbeats of margin) are refused with
 * the field named in err. */
int vg_node_load(const char *path, struct vg_node *node, char *err, size_t errlen);

/* The same from text already read; dir resolves relative paths. */
int vg_node_parse(const char *text, size_t len, const char *source, const char *dir,
                  struct vg_node *node, char *err, size_t errlen);

#endif

/*
 * client.h - the CLI's HTTP client for the vigil REST API (libcurl).
 *
 * One client per invocation. It knows a list of servers (the members of a
 * cluster) and sends each request to the first one that answers, then keeps
 * using that one, so all requests of one command go to one member. A request
 * moves on to the next server only when it certainly did not reach the
 * previous one (no connection) or that one refused it without acting: a read
 * answered with 503 (not ready, shutting down), or a write answered with the
 * 503 of a member that is not the primary (its answer names the primary, or
 * null, in a "primary" member or a Vigil-Primary header: docs/api.md). So a
 * write is never applied twice. Redirects are
 * never followed: the bearer token must not travel to another host.
 *
 * The token is put in the Authorization header and nowhere else: it never
 * appears in an error message, and the copies this module makes are wiped.
 */
#ifndef VG_CLI_CLIENT_H
#define VG_CLI_CLIENT_H

#include <jansson.h>

#include "core/buf.h"
#include "core/vg.h"

#define VG_CLIENT_DEFAULT_SERVER "http://127.0.0.1:7700"

struct vg_client_opts {
    const char *servers;     /* comma-separated base URLs; "host:port" means http:// */
    const char *token;       /* bearer token, or NULL to send none */
    const char *cacert;      /* PEM CA bundle for https, or NULL for the system's */
    long timeout_ms;         /* whole request (not streams); 0 = none */
    long connect_timeout_ms; /* per server */
};

typedef struct vg_client vg_client_t;

/* An answer from a server. body always holds the raw bytes; json is the body
 * parsed when it is JSON (else NULL). The other fields are headers of the
 * answer, empty (or 0) when absent:
 *   result   Vigil-Result: "unchanged" when a PUT changed nothing
 *   role     Vigil-Role: "primary" or "mirror", the role of the member that
 *            answered (cluster members only)
 *   lag      Vigil-Lag: on a mirror, how many records it is behind the
 *            primary's commit index as it last heard it
 *   primary  Vigil-Primary: on a 503 from a member that is not the primary,
 *            which member is
 *   member   Vigil-Member: the name of the member that answered */
struct vg_resp {
    long status;
    vg_buf_t body;
    json_t *json;
    char result[32];
    char role[16];
    unsigned long long lag;
    char primary[64];
    char member[64];
};

#define VG_RESP_INIT                                                                           \
    {                                                                                          \
        0, VG_BUF_INIT, NULL, "", "", 0, "", ""                                                \
    }

void vg_resp_release(struct vg_resp *resp);

/* Copies what it needs from opts (the token too). Returns 0, or -EINVAL with
 * err set when a server URL is malformed. Free with vg_client_free. */
int vg_client_new(const struct vg_client_opts *opts, vg_client_t **out, char *err,
                  size_t errlen);
void vg_client_free(vg_client_t *c);

/* The base URL of the server that answered last (the first one before any). */
const char *vg_client_server(const vg_client_t *c);

/* How many servers the list has, and the base URL of number i (0-based). */
size_t vg_client_n_servers(const vg_client_t *c);
const char *vg_client_server_at(const vg_client_t *c, size_t i);

/* The first server that would receive the token in clear text (http:// to a
 * host that is not loopback), or NULL. */
const char *vg_client_cleartext_server(const vg_client_t *c);

/* 1 when the client has a token to send. */
int vg_client_has_token(const vg_client_t *c);

/*
 * Sends METHOD path (starting with "/", already escaped) with body as JSON
 * (NULL: no body) and an If-Match header when if_match is non-NULL. Returns 0
 * when a server answered, whatever the status (resp filled; release it);
 * -EHOSTUNREACH when no server could be reached, -ETIMEDOUT when one was
 * reached but did not answer in time, -EIO for other transport failures
 * (TLS, broken connection); err then says which servers failed and why.
 */
int vg_client_request(vg_client_t *c, const char *method, const char *path, const json_t *body,
                      const char *if_match, struct vg_resp *resp, char *err, size_t errlen);

/*
 * Like vg_client_request, but to server number `server` of the list only,
 * never moving on to another: for requests that are about one member (its
 * own view of the cluster), or that must not reach any other (a forced
 * failover promotes whichever member receives it).
 */
int vg_client_request_at(vg_client_t *c, size_t server, const char *method, const char *path,
                         const json_t *body, const char *if_match, struct vg_resp *resp,
                         char *err, size_t errlen);

/* Like vg_client_request with a body that is not JSON: len bytes of text
 * (len > 0) sent as content_type ("text/plain; charset=utf-8"). */
int vg_client_request_text(vg_client_t *c, const char *method, const char *path,
                           const char *content_type, const char *text, size_t len,
                           struct vg_resp *resp, char *err, size_t errlen);

/* Receives the bytes of a streamed 200 answer; returns 0 to go on, or a
 * negative value to end the stream (vg_client_stream then returns 0). */
typedef int (*vg_client_sink_fn)(void *ctx, const char *data, size_t len);

/*
 * GETs path and hands the body of a 200 answer to sink as it arrives, with no
 * overall timeout (a stall of more than idle_s seconds without a byte ends
 * it). A non-200 answer lands in resp like vg_client_request. Returns 0 when
 * the stream ended (by the server or the sink), or an error as above.
 */
int vg_client_stream(vg_client_t *c, const char *path, long idle_s, vg_client_sink_fn sink,
                     void *ctx, struct vg_resp *resp, char *err, size_t errlen);

/* Appends s to b percent-encoded for one URL path segment or query value. */
void vg_client_escape(vg_buf_t *b, const char *s);

#endif

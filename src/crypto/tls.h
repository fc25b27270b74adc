/*
 * tls.h - TLS contexts for every vigil listener and link: TLS 1.3 only,
 * certificate and key from PEM files checked to belong together, and, with
 * a CA file, mutual TLS (the peer must present a certificate from that CA).
 */
#ifndef VG_TLS_H
#define VG_TLS_H

#include <openssl/ssl.h>

#include "core/vg.h"

/* Server context; ca may be NULL (no client certificates asked). NULL on
 * failure with the file and OpenSSL's reason in err. */
SSL_CTX *vg_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
                           size_t errlen);

struct bufferevent;
struct event_base;

/* The bufferevent of a new connection to a TLS server: accepting, over a
 * new SSL of ssl_ctx (an SSL_CTX *), freed with the socket on free. Has the
 * shape of evhttp_set_bevcb's callback, so a listener passes it with its
 * context; NULL if OpenSSL or libevent cannot make one (evhttp then drops
 * the connection). */
struct bufferevent *vg_tls_accept_bev(struct event_base *base, void *ssl_ctx);

/* Client context for mutual TLS: presents cert/key, verifies the server
 * against ca. NULL on failure with the reason in err. */
SSL_CTX *vg_tls_client_ctx(const char *cert, const char *key, const char *ca, char *err,
                           size_t errlen);

/* A connection object that only accepts a server certificate for
 * peer_name (subjectAltName DNS); NULL on failure. */
SSL *vg_tls_client_ssl(SSL_CTX *ctx, const char *peer_name);

/* The single CN of the verified peer certificate, checked as a member name
 * (names.h); -EPERM with the reason otherwise. */
int vg_tls_peer_cn(SSL *ssl, char *out, size_t cap, char *err, size_t errlen);

/* OpenSSL's most recent error as text (and clears the error queue). */
void vg_tls_error_text(char *out, size_t cap);

#endif

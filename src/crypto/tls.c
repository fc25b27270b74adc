/*
 * tls.c - TLS contexts shared by the API, the witness and the member link,
 * and the accepting side of a server's connections.
 */
#include "crypto/tls.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/names.h"

void vg_tls_error_text(char *out, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, out, cap);
    else
        snprintf(out, cap, "unknown error");
    ERR_clear_error();
}

static int load_identity(SSL_CTX *ctx, const char *cert, const char *key, char *err,
                         size_t errlen);

static int require_client_certs(SSL_CTX *ctx, const char *ca, char *err, size_t errlen)
{
    char why[256];
    STACK_OF(X509_NAME) *ca_names = SSL_load_client_CA_file(ca);
    if (!ca_names || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        sk_X509_NAME_pop_free(ca_names, X509_NAME_free);
        vg_tls_error_text(why, sizeof why);
        return vg_err(err, errlen, -EINVAL, "cannot load TLS CA '%s': %s", ca, why);
    }
    SSL_CTX_set_client_CA_list(ctx, ca_names); /* takes ownership */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 0;
}

/* A TLS 1.3-only context presenting cert/key. */
static SSL_CTX *new_ctx(const SSL_METHOD *method, const char *cert, const char *key, char *err,
                        size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx) {
        vg_err(err, errlen, -ENOMEM, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (load_identity(ctx, cert, key, err, errlen)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *vg_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
                           size_t errlen)
{
    SSL_CTX *ctx = new_ctx(TLS_server_method(), cert, key, err, errlen);
    if (ctx && ca && require_client_certs(ctx, ca, err, errlen)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

struct bufferevent *vg_tls_accept_bev(struct event_base *base, void *ssl_ctx)
{
    SSL *ssl = SSL_new(ssl_ctx);
    if (!ssl)
        return NULL;
    /* on failure libevent 2.1 frees ssl itself (BEV_OPT_CLOSE_ON_FREE) */
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static int load_identity(SSL_CTX *ctx, const char *cert, const char *key, char *err,
                         size_t errlen)
{
    char why[256];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        vg_tls_error_text(why, sizeof why);
        return vg_err(err, errlen, -EINVAL, "cannot load TLS certificate '%s': %s", cert, why);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        vg_tls_error_text(why, sizeof why);
        return vg_err(err, errlen, -EINVAL, "cannot load TLS key '%s': %s", key, why);
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return vg_err(err, errlen, -EINVAL, "TLS key '%s' does not match certificate '%s'", key,
                      cert);
    return 0;
}

SSL_CTX *vg_tls_client_ctx(const char *cert, const char *key, const char *ca, char *err,
                           size_t errlen)
{
    SSL_CTX *ctx = new_ctx(TLS_client_method(), cert, key, err, errlen);
    if (!ctx)
        return NULL;
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        char why[256];
        vg_tls_error_text(why, sizeof why);
        vg_err(err, errlen, -EINVAL, "cannot load TLS CA '%s': %s", ca, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

SSL *vg_tls_client_ssl(SSL_CTX *ctx, const char *peer_name)
{
    SSL *ssl = SSL_new(ctx);
    /* the peer's certificate must carry its member name (pki issue puts it
     * in subjectAltName DNS), so a certificate of another member of the same
     * CA is refused in the handshake */
    if (ssl && SSL_set1_host(ssl, peer_name) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

int vg_tls_peer_cn(SSL *ssl, char *out, size_t cap, char *err, size_t errlen)
{
    X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        return vg_err(err, errlen, -EPERM, "no verified client certificate");
    X509_NAME *subject = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0)
        return vg_err(err, errlen, -EPERM, "the client certificate needs exactly one CN");
    const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    const unsigned char *p = ASN1_STRING_get0_data(cn);
    int len = ASN1_STRING_length(cn);
    if (len <= 0 || (size_t)len >= cap || memchr(p, 0, (size_t)len))
        return vg_err(err, errlen, -EPERM, "the client certificate's CN is not a member name");
    memcpy(out, p, (size_t)len);
    out[len] = '\0';
    if (vg_name_check(out, NULL, 0))
        return vg_err(err, errlen, -EPERM, "the client certificate's CN is not a member name");
    return 0;
}

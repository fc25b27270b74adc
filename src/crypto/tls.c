/*
 * tls.c - TLS contexts shared by the API, the witness and the member link.
 */
#include "crypto/tls.h"

#include <openssl/err.h>

void vg_tls_error_text(char *out, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, out, cap);
    else
        snprintf(out, cap, "unknown error");
    ERR_clear_error();
}

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

SSL_CTX *vg_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
                           size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        vg_err(err, errlen, -ENOMEM, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        vg_tls_error_text(why, sizeof why);
        vg_err(err, errlen, -EINVAL, "cannot load TLS certificate '%s': %s", cert, why);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        vg_tls_error_text(why, sizeof why);
        vg_err(err, errlen, -EINVAL, "cannot load TLS key '%s': %s", key, why);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        vg_err(err, errlen, -EINVAL, "TLS key '%s' does not match certificate '%s'", key, cert);
        goto fail;
    }
    if (ca && require_client_certs(ctx, ca, err, errlen))
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/*
 * tls.c - the listener's TLS context: TLS 1.3 only, certificate and key
 * from PEM files, checked to belong together at start-up.
 */
#include "api/api_int.h"

#include <openssl/err.h>

static void ssl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, out, cap);
    else
        snprintf(out, cap, "unknown error");
    ERR_clear_error();
}

SSL_CTX *vg_tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        vg_err(err, errlen, -ENOMEM, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_reason(why, sizeof why);
        vg_err(err, errlen, -EINVAL, "cannot load TLS certificate '%s': %s", cert, why);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ssl_reason(why, sizeof why);
        vg_err(err, errlen, -EINVAL, "cannot load TLS key '%s': %s", key, why);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        vg_err(err, errlen, -EINVAL, "TLS key '%s' does not match certificate '%s'", key, cert);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/*
 * pki.h - the cluster CA behind `vigil pki`: creates the CA, issues the
 * certificates members, the witness and clients present to each other over
 * mutual TLS (docs/cluster.md, DESIGN.md section 6), and describes a
 * certificate.
 *
 * Keys are EC P-256, written as unencrypted PKCS#8 PEM of mode 0600: the
 * processes that use them read them unattended at start, so the protection
 * is the file mode and a directory of mode 0700. No function here prints;
 * results come back as JSON objects the caller formats, and notes for the
 * person (a clamped validity, a name that cannot be a DNS name) are in the
 * result's "warnings" array, present only when not empty.
 *
 * Errors follow vg.h: 0 or a negative errno-style code with a message in
 * err. -EINVAL means the input was at fault (a bad name, address or file);
 * -EEXIST that a file would be replaced; anything else is an I/O or
 * OpenSSL failure. On any error nothing is left behind: no new file, no
 * temporary file, and the files that existed are as they were.
 */
#ifndef VG_PKI_H
#define VG_PKI_H

#include <jansson.h>

#include "core/vg.h"

#define VG_PKI_DEFAULT_DIR  "pki"
#define VG_PKI_CA_NAME      "vigil cluster CA"
#define VG_PKI_CA_DAYS      3650 /* 10 years */
#define VG_PKI_LEAF_DAYS    825  /* the CA/Browser Forum's old maximum */
#define VG_PKI_MAX_DAYS     36500
#define VG_PKI_CA_NAME_MAX  64 /* ub-common-name of RFC 5280 */
#define VG_PKI_CA_KEY_FILE  "ca.key"
#define VG_PKI_CA_CERT_FILE "ca.crt"

struct vg_pki_ca_req {
    const char *dir;  /* created with mode 0700 if missing (only the last component) */
    const char *name; /* the CA's common name: 1-64 characters of UTF-8, no controls */
    unsigned days;    /* 1..VG_PKI_MAX_DAYS */
};

struct vg_pki_issue_req {
    const char *dir;        /* holds ca.key and ca.crt; NAME.key and NAME.crt go there too */
    const char *name;       /* common name; a vigil name (vg_name_check), not "ca" */
    unsigned days;          /* 1..VG_PKI_MAX_DAYS, cut to the CA's own expiry */
    const char *const *dns; /* extra DNS names (host names, RFC 1034) */
    size_t n_dns;
    const char *const *ips; /* IPv4 or IPv6 addresses */
    size_t n_ips;
    int force; /* replace an existing NAME.key and NAME.crt */
};

/*
 * Creates DIR/ca.key and a self-signed DIR/ca.crt: CA:TRUE (critical,
 * pathlen 0), keyCertSign and cRLSign, a random 128-bit serial, a subject
 * key identifier. Refuses (-EEXIST) if either file exists. On success
 * *result is a new object: the certificate as vg_pki_show describes it plus
 * "dir", "key" and "cert" (the paths written); the caller frees it.
 */
int vg_pki_init(const struct vg_pki_ca_req *req, json_t **result, char *err, size_t errlen);

/*
 * Creates DIR/NAME.key and DIR/NAME.crt signed by the CA in DIR: CN=NAME,
 * subjectAltName DNS:NAME (if NAME is a host name) and the given names and
 * addresses, CA:FALSE, digitalSignature, serverAuth and clientAuth, subject
 * and authority key identifiers. Refuses (-EEXIST) if either file exists,
 * unless req->force. *result as for vg_pki_init, with "ca_cert" instead of
 * "dir".
 */
int vg_pki_issue(const struct vg_pki_issue_req *req, json_t **result, char *err, size_t errlen);

/*
 * Describes the PEM certificate in file: "file", "subject", "issuer",
 * "serial" (hex), "not_before", "not_after" (RFC 3339 UTC), "expired",
 * "ca", "dns" and "ip" (the subjectAltName entries of those types),
 * "usage" (serverAuth, clientAuth) and "sha256" (the fingerprint, as
 * openssl x509 -fingerprint prints it). New reference in *result.
 */
int vg_pki_show(const char *file, json_t **result, char *err, size_t errlen);

#endif

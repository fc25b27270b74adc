/*
 * pki.c - the cluster CA of `vigil pki`: EC P-256 keys, X.509 certificates
 * and the files they live in (docs/cluster.md, DESIGN.md section 6).
 *
 * Run by a person a handful of times per cluster, so clarity beats speed.
 * What it must never do:
 *  - leave a private key readable by anyone but its owner, even briefly:
 *    every file is created with mode 0600 under a temporary name in its
 *    final directory, written, fsynced, and only then given its name;
 *  - replace a CA, or a certificate unless asked: names are given with
 *    link(2), which fails on an existing file instead of replacing it;
 *  - put text from the command line into OpenSSL's configuration syntax:
 *    subjectAltNames are built as ASN.1 values, so "--dns a,IP:10.0.0.1"
 *    is a bad host name, not a second entry. Only constant extension
 *    values go through X509V3_EXT_nconf_nid.
 */
#include "cli/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/fsutil.h"
#include "core/names.h"

#define BACKDATE_S   300 /* notBefore this far back: clocks of the sites differ a little */
#define SERIAL_BYTES 16  /* 128 random bits (RFC 5280 allows up to 20 octets) */
#define HOST_MAX     253

/* ---- errors ------------------------------------------------------------ */

/* Formats the message, adds OpenSSL's reason for the last failure, empties
 * OpenSSL's error queue and returns code. */
__attribute__((format(printf, 4, 5))) static int ssl_err(char *err, size_t errlen, int code,
                                                         const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    vg_err(err, errlen, code, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
    ERR_clear_error();
    return code;
}

static void warn(json_t *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(json_t *warnings, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, json_string(text));
}

/* ---- checks of the input ------------------------------------------------ */

static int check_days(unsigned days, char *err, size_t errlen)
{
    if (days < 1 || days > VG_PKI_MAX_DAYS)
        return vg_err(err, errlen, -EINVAL, "validity of %u days: must be 1 to %d", days,
                      VG_PKI_MAX_DAYS);
    return 0;
}

/* The CA's name goes into a certificate only: any UTF-8 (OpenSSL checks
 * the encoding) without control characters, as RFC 5280 bounds it. */
static int check_ca_name(const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name);
    if (len == 0 || len > VG_PKI_CA_NAME_MAX)
        return vg_err(err, errlen, -EINVAL, "invalid CA name: must be 1 to %d bytes long",
                      VG_PKI_CA_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return vg_err(err, errlen, -EINVAL,
                          "invalid CA name: control character at position %zu", i + 1);
    return 0;
}

/* A member's or the witness's name is a vigil name; "ca" would be the CA's
 * own files. */
static int check_leaf_name(const char *name, char *err, size_t errlen)
{
    int rc = vg_name_check(name, err, errlen);
    if (rc == 0 && strcmp(name, "ca") == 0)
        rc = vg_err(err, errlen, -EINVAL, "invalid name 'ca': ca.key and ca.crt are the CA's");
    return rc;
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A host name (RFC 1123): dot-separated labels of 1-63 letters, digits and
 * hyphens, none starting or ending with a hyphen; 253 characters at most. */
static int is_host_name(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > HOST_MAX)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (s[i] == '.' || s[i] == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
        } else if (is_alnum(s[i]) || (s[i] == '-' && label > 0)) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* ---- paths and files ----------------------------------------------------- */

static int join_path(char *out, size_t outlen, const char *dir, const char *base,
                     const char *ext, char *err, size_t errlen)
{
    size_t dlen = strlen(dir);
    if (dlen == 0) /* "" + "/ca.key" would be a file in / */
        return vg_err(err, errlen, -EINVAL, "the directory must not be empty");
    const char *sep = dlen > 0 && dir[dlen - 1] == '/' ? "" : "/";
    int n = snprintf(out, outlen, "%s%s%s%s", dir, sep, base, ext);
    if (n < 0 || (size_t)n >= outlen)
        return vg_err(err, errlen, -ENAMETOOLONG, "path '%s%s%s%s' is too long", dir, sep, base,
                      ext);
    return 0;
}

static int refuse_existing(const char *path, const char *hint, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return vg_err(err, errlen, -EEXIST, "'%s' already exists%s", path, hint);
    if (errno != ENOENT)
        return vg_err(err, errlen, -errno, "cannot check '%s': %s", path, strerror(errno));
    return 0;
}

/* Makes dir with mode 0700: 1 if made, 0 if it was a directory already (a
 * warning when others may enter it), or an error. */
static int make_dir(const char *dir, json_t *warnings, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) == 0) {
        /* the umask may have taken bits away from 0700, never added any */
        if (chmod(dir, 0700) < 0)
            return vg_err(err, errlen, -errno, "cannot chmod '%s': %s", dir, strerror(errno));
        return 1;
    }
    if (errno != EEXIST)
        return vg_err(err, errlen, -errno, "cannot create directory '%s': %s", dir,
                      strerror(errno));
    if (stat(dir, &st) < 0)
        return vg_err(err, errlen, -errno, "cannot stat '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return vg_err(err, errlen, -ENOTDIR, "'%s' is not a directory", dir);
    if (st.st_mode & 077)
        warn(warnings, "directory '%s' is open to others (mode %04o); 'chmod 700 %s' is safer",
             dir, (unsigned)(st.st_mode & 07777), dir);
    return 0;
}

/*
 * A file on its way to its name. stage() creates it with mkostemp, which
 * opens with O_CREAT|O_EXCL and mode 0600, so it is never readable by
 * others; publish() gives it its name; discard() removes whatever of it
 * this process created (never a file that was there before).
 */
struct staged {
    char tmp[PATH_MAX + 16];
    const char *path;
    int published; /* path is a file this process created (not replaced) */
};

static int stage(struct staged *st, const char *path, const void *data, size_t len, mode_t mode,
                 char *err, size_t errlen)
{
    st->path = path;
    snprintf(st->tmp, sizeof st->tmp, "%s.tmpXXXXXX", path);
    int fd = mkostemp(st->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        st->tmp[0] = '\0';
        return vg_err(err, errlen, -e, "cannot create a file next to '%s': %s", path,
                      strerror(e));
    }
    int rc = vg_write_all(fd, data, len);
    if (rc == 0 && mode != 0600 && fchmod(fd, mode) < 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        unlink(st->tmp);
        st->tmp[0] = '\0';
        return vg_err(err, errlen, rc, "cannot write '%s': %s", path, strerror(-rc));
    }
    return 0;
}

static int publish(struct staged *st, int replace, char *err, size_t errlen)
{
    struct stat before;
    if (replace) {
        int existed = lstat(st->path, &before) == 0;
        if (rename(st->tmp, st->path) < 0)
            return vg_err(err, errlen, -errno, "cannot rename to '%s': %s", st->path,
                          strerror(errno));
        st->published = !existed; /* a file that was there cannot be given back */
    } else {
        if (link(st->tmp, st->path) < 0)
            return errno == EEXIST
                       ? vg_err(err, errlen, -EEXIST, "'%s' already exists", st->path)
                       : vg_err(err, errlen, -errno, "cannot create '%s': %s", st->path,
                                strerror(errno));
        st->published = 1;
        unlink(st->tmp);
    }
    st->tmp[0] = '\0';
    return 0;
}

static void discard(struct staged *st)
{
    if (st->tmp[0])
        unlink(st->tmp);
    if (st->published)
        unlink(st->path);
    st->tmp[0] = '\0';
    st->published = 0;
}

/* Stages the PEM text of key (mode 0600) or, with key NULL, of cert (0644).
 * The key's text is wiped from memory once written. */
static int stage_pem(struct staged *st, const char *path, EVP_PKEY *key, X509 *cert, char *err,
                     size_t errlen)
{
    BIO *mem = BIO_new(BIO_s_mem());
    int ok = mem && (key ? PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_X509(mem, cert));
    if (!ok) {
        BIO_free(mem);
        return ssl_err(err, errlen, -EIO, "cannot encode '%s'", path);
    }
    char *text;
    long len = BIO_get_mem_data(mem, &text);
    int rc = stage(st, path, text, (size_t)len, key ? 0600 : 0644, err, errlen);
    if (key)
        OPENSSL_cleanse(text, (size_t)len);
    BIO_free(mem);
    return rc;
}

/* Opens a regular file for PEM reading (a device could feed PEM_read
 * forever); st, if not NULL, gets its status. */
static int open_pem(const char *path, BIO **out, struct stat *st, char *err, size_t errlen)
{
    struct stat own;
    st = st ? st : &own;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return vg_err(err, errlen, -errno, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return vg_err(err, errlen, -EINVAL, "'%s' is not a regular file", path);
    }
    *out = BIO_new_fd(fd, BIO_CLOSE);
    if (!*out) {
        close(fd);
        return ssl_err(err, errlen, -ENOMEM, "cannot read '%s'", path);
    }
    return 0;
}

/* Never prompts: vigil's keys are unencrypted, and a script must not hang
 * on a terminal; an encrypted key is refused instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static int read_cert(const char *path, X509 **out, char *err, size_t errlen)
{
    BIO *bio;
    int rc = open_pem(path, &bio, NULL, err, errlen);
    if (rc < 0)
        return rc;
    *out = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!*out)
        return ssl_err(err, errlen, -EINVAL, "'%s' is not a PEM certificate", path);
    return 0;
}

static int read_key(const char *path, EVP_PKEY **out, json_t *warnings, char *err,
                    size_t errlen)
{
    BIO *bio;
    struct stat st;
    int rc = open_pem(path, &bio, &st, err, errlen);
    if (rc < 0)
        return rc;
    if (st.st_mode & 077)
        warn(warnings, "'%s' is open to others (mode %04o): 'chmod 600 %s'", path,
             (unsigned)(st.st_mode & 07777), path);
    *out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!*out)
        return ssl_err(err, errlen, -EINVAL, "'%s' is not an unencrypted PEM private key",
                       path);
    return 0;
}

/* ---- describing a certificate -------------------------------------------- */

static void format_time(const ASN1_TIME *t, char *out, size_t outlen)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outlen, "?");
}

static json_t *time_json(const ASN1_TIME *t)
{
    char text[32];
    format_time(t, text, sizeof text);
    return json_string(text);
}

/* RFC 2253 text; UTF-8 where the name is, escaped if that is not valid. */
static json_t *name_json(const X509_NAME *name)
{
    static const unsigned long flags[] = {XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB,
                                          XN_FLAG_RFC2253};
    json_t *text = NULL;
    for (size_t i = 0; !text && i < VG_ARRAY_LEN(flags); i++) {
        BIO *mem = BIO_new(BIO_s_mem());
        char *data;
        if (mem && X509_NAME_print_ex(mem, name, 0, flags[i]) >= 0) {
            long len = BIO_get_mem_data(mem, &data);
            text = json_stringn(data, (size_t)len);
        }
        BIO_free(mem);
    }
    return text ? text : json_string("?");
}

/* Hex digits in pairs, as openssl x509 -serial prints them. */
static json_t *serial_json(const X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    json_t *out = json_string(hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

static json_t *fingerprint_json(const X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char text[3 * EVP_MAX_MD_SIZE + 1] = "?";
    if (X509_digest(cert, EVP_sha256(), md, &n))
        for (unsigned int i = 0; i < n; i++)
            snprintf(text + 3 * i, sizeof text - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
    return json_string(text);
}

/* Bytes as a JSON string, each outside printable ASCII shown as '?'. */
static json_t *ascii_json(const void *text, size_t len)
{
    const unsigned char *bytes = text;
    char *shown = vg_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        shown[i] = bytes[i] >= 0x20 && bytes[i] < 0x7f ? (char)bytes[i] : '?';
    json_t *out = json_stringn(shown, len);
    free(shown);
    return out;
}

/* A path as given if it is UTF-8, else in ASCII with '?'. */
static json_t *path_json(const char *path)
{
    json_t *out = json_string(path);
    return out ? out : ascii_json(path, strlen(path));
}

static json_t *ip_json(const ASN1_OCTET_STRING *ip)
{
    char text[INET6_ADDRSTRLEN] = "?";
    int len = ASN1_STRING_length(ip);
    const unsigned char *bytes = ASN1_STRING_get0_data(ip);
    if (len == 4 || len == 16)
        inet_ntop(len == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text);
    return json_string(text);
}

/* Sets "dns" and "ip" of out from the subjectAltName of cert. */
static void describe_alt_names(json_t *out, X509 *cert)
{
    json_t *dns = json_array(), *ips = json_array();
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS)
            json_array_append_new(dns, ascii_json(ASN1_STRING_get0_data(gn->d.dNSName),
                                                  (size_t)ASN1_STRING_length(gn->d.dNSName)));
        else if (gn->type == GEN_IPADD)
            json_array_append_new(ips, ip_json(gn->d.iPAddress));
    }
    GENERAL_NAMES_free(names);
    json_object_set_new(out, "dns", dns);
    json_object_set_new(out, "ip", ips);
}

/* Sets "key_usage" and "ext_key_usage" of out, each only when cert has the
 * extension (without it, a certificate may be used for anything). */
static void describe_usage(json_t *out, X509 *cert)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } key_usages[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
                      {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
                      {KU_KEY_AGREEMENT, "keyAgreement"},
                      {KU_KEY_CERT_SIGN, "keyCertSign"},
                      {KU_CRL_SIGN, "cRLSign"}},
      ext_usages[] = {{XKU_SSL_SERVER, "serverAuth"}, {XKU_SSL_CLIENT, "clientAuth"}};
    uint32_t ku = X509_get_key_usage(cert), xku = X509_get_extended_key_usage(cert);

    if (ku != UINT32_MAX) {
        json_t *list = json_array();
        for (size_t i = 0; i < VG_ARRAY_LEN(key_usages); i++)
            if (ku & key_usages[i].bit)
                json_array_append_new(list, json_string(key_usages[i].name));
        json_object_set_new(out, "key_usage", list);
    }
    if (xku != UINT32_MAX) {
        json_t *list = json_array();
        for (size_t i = 0; i < VG_ARRAY_LEN(ext_usages); i++)
            if (xku & ext_usages[i].bit)
                json_array_append_new(list, json_string(ext_usages[i].name));
        json_object_set_new(out, "ext_key_usage", list);
    }
}

static json_t *describe(X509 *cert)
{
    json_t *out = json_object();
    json_object_set_new(out, "subject", name_json(X509_get_subject_name(cert)));
    json_object_set_new(out, "issuer", name_json(X509_get_issuer_name(cert)));
    json_object_set_new(out, "serial", serial_json(cert));
    json_object_set_new(out, "not_before", time_json(X509_get0_notBefore(cert)));
    json_object_set_new(out, "not_after", time_json(X509_get0_notAfter(cert)));
    json_object_set_new(out, "expired",
                        json_boolean(X509_cmp_current_time(X509_get0_notAfter(cert)) < 0));
    json_object_set_new(out, "ca", json_boolean(X509_get_extension_flags(cert) & EXFLAG_CA));
    describe_alt_names(out, cert);
    describe_usage(out, cert);
    json_object_set_new(out, "sha256", fingerprint_json(cert));
    return out;
}

/* ---- building certificates ------------------------------------------------ */

static EVP_PKEY *new_key(char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!key)
        ssl_err(err, errlen, -EIO, "cannot generate an EC P-256 key");
    return key;
}

/* 128 random bits as a positive, non-zero serial (RFC 5280 4.1.2.2). */
static int set_random_serial(X509 *cert)
{
    unsigned char bytes[SERIAL_BYTES];
    BIGNUM *bn = NULL;
    do {
        BN_free(bn);
        bn = NULL;
        if (RAND_bytes(bytes, sizeof bytes) != 1 ||
            !(bn = BN_bin2bn(bytes, sizeof bytes, NULL)))
            return 0;
    } while (BN_is_zero(bn));
    ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
    int ok = serial && X509_set_serialNumber(cert, serial);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok;
}

/*
 * A version 3 certificate for key with subject CN=cn, issued by issuer
 * (NULL: by itself), a random serial, valid from BACKDATE_S ago for days;
 * no extensions and no signature yet, in *out. -EINVAL if OpenSSL refuses
 * cn (not UTF-8, too long).
 */
static int new_cert(const char *cn, X509 *issuer, EVP_PKEY *key, unsigned days, X509 **out,
                    char *err, size_t errlen)
{
    X509 *cert = X509_new();
    X509_NAME *subject = X509_NAME_new();
    int rc = 0;
    if (!cert || !subject)
        rc = ssl_err(err, errlen, -ENOMEM, "cannot make a certificate");
    else if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)cn, -1, -1, 0))
        rc = ssl_err(err, errlen, -EINVAL, "invalid common name '%s'", cn);
    else if (!X509_set_version(cert, X509_VERSION_3) || !set_random_serial(cert) ||
             !X509_set_subject_name(cert, subject) ||
             !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject) ||
             !X509_gmtime_adj(X509_getm_notBefore(cert), -BACKDATE_S) ||
             !X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) ||
             !X509_set_pubkey(cert, key))
        rc = ssl_err(err, errlen, -EIO, "cannot make a certificate for '%s'", cn);
    X509_NAME_free(subject);
    if (rc < 0)
        X509_free(cert);
    else
        *out = cert;
    return rc;
}

/* One extension in OpenSSL's configuration syntax: constant values only. */
static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* pathlen 0: the cluster CA signs members and the witness, never other CAs. */
static int add_ca_exts(X509 *cert)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    return add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
           add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
           add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
}

/* Every cluster link is mutual TLS, so each certificate serves both ends. */
static int add_leaf_exts(X509 *cert, X509 *ca, GENERAL_NAMES *alt_names)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, cert, NULL, NULL, 0);
    return add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
           add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature") &&
           add_ext(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") &&
           add_ext(cert, &ctx, NID_subject_key_identifier, "hash") &&
           add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always") &&
           (sk_GENERAL_NAME_num(alt_names) == 0 ||
            X509_add1_ext_i2d(cert, NID_subject_alt_name, alt_names, 0, X509V3_ADD_DEFAULT) ==
                1);
}

/* Appends gn unless an equal name is there already; takes gn. */
static int push_unique(GENERAL_NAMES *names, GENERAL_NAME *gn)
{
    if (!gn)
        return 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(names, i), gn) == 0) {
            GENERAL_NAME_free(gn);
            return 1;
        }
    }
    if (sk_GENERAL_NAME_push(names, gn) > 0)
        return 1;
    GENERAL_NAME_free(gn);
    return 0;
}

/* DNS names are case-insensitive; certificates carry them in lower case. */
static int push_host(GENERAL_NAMES *names, const char *host)
{
    char lower[HOST_MAX + 1];
    size_t len = strlen(host);
    for (size_t i = 0; i <= len; i++)
        lower[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
    return push_unique(names, a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_DNS, lower, 0));
}

/*
 * The subjectAltName of a leaf: DNS:NAME when NAME is a host name, then
 * the given host names and addresses, each once. -EINVAL for a bad one;
 * otherwise *out is a new list the caller frees (GENERAL_NAMES_free).
 */
static int build_alt_names(const struct vg_pki_issue_req *req, GENERAL_NAMES **out,
                           json_t *warnings, char *err, size_t errlen)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    int ok = names != NULL;
    unsigned char addr[16];

    if (ok && is_host_name(req->name))
        ok = push_host(names, req->name);
    else if (ok)
        warn(warnings, "'%s' is not a host name, so the certificate has no DNS:%s", req->name,
             req->name);
    for (size_t i = 0; ok && i < req->n_dns; i++) {
        if (!is_host_name(req->dns[i])) {
            GENERAL_NAMES_free(names);
            return vg_err(err, errlen, -EINVAL,
                          "invalid DNS name '%s': use letters, digits and '-' in labels of "
                          "at most 63 characters, separated by '.'",
                          req->dns[i]);
        }
        ok = push_host(names, req->dns[i]);
    }
    for (size_t i = 0; ok && i < req->n_ips; i++) {
        /* inet_pton first: a2i_IPADDRESS would take "10.0.0.1junk" */
        if (inet_pton(AF_INET, req->ips[i], addr) != 1 &&
            inet_pton(AF_INET6, req->ips[i], addr) != 1) {
            GENERAL_NAMES_free(names);
            return vg_err(err, errlen, -EINVAL, "invalid IP address '%s'", req->ips[i]);
        }
        ok = push_unique(names, a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_IPADD, req->ips[i], 0));
    }
    if (!ok) {
        GENERAL_NAMES_free(names);
        return ssl_err(err, errlen, -ENOMEM, "cannot build the subjectAltName");
    }
    *out = names;
    return 0;
}

/* A leaf never outlives its CA: verification would fail from then on. */
static int clamp_to_ca(X509 *cert, X509 *ca, unsigned days, json_t *warnings)
{
    const ASN1_TIME *ca_end = X509_get0_notAfter(ca);
    if (ASN1_TIME_compare(X509_get0_notAfter(cert), ca_end) <= 0)
        return 1;
    if (!X509_set1_notAfter(cert, ca_end))
        return 0;
    char when[32];
    format_time(ca_end, when, sizeof when);
    warn(warnings, "the certificate expires with the CA on %s, before the %u days asked for",
         when, days);
    return 1;
}

/* ---- the CA on disk ----------------------------------------------------- */

struct ca {
    char key_path[PATH_MAX];
    char cert_path[PATH_MAX];
    X509 *cert;
    EVP_PKEY *key;
};

static void ca_release(struct ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca->cert = NULL;
    ca->key = NULL;
}

/* Loads the CA of dir and checks it can still sign: a CA certificate, its
 * key, not expired. */
static int load_ca(const char *dir, struct ca *ca, json_t *warnings, char *err, size_t errlen)
{
    struct stat st;
    char when[32];
    int rc;

    if ((rc = join_path(ca->key_path, sizeof ca->key_path, dir, VG_PKI_CA_KEY_FILE, "", err,
                        errlen)) < 0 ||
        (rc = join_path(ca->cert_path, sizeof ca->cert_path, dir, VG_PKI_CA_CERT_FILE, "", err,
                        errlen)) < 0)
        return rc;
    if (stat(ca->cert_path, &st) < 0 && errno == ENOENT)
        return vg_err(err, errlen, -ENOENT,
                      "no CA in '%s' ('%s' is missing): create one with 'vigil pki init'", dir,
                      ca->cert_path);
    if ((rc = read_cert(ca->cert_path, &ca->cert, err, errlen)) < 0 ||
        (rc = read_key(ca->key_path, &ca->key, warnings, err, errlen)) < 0)
        return rc;
    if (X509_check_private_key(ca->cert, ca->key) != 1)
        return ssl_err(err, errlen, -EINVAL, "'%s' is not the key of '%s'", ca->key_path,
                       ca->cert_path);
    if (!(X509_get_extension_flags(ca->cert) & EXFLAG_CA))
        return vg_err(err, errlen, -EINVAL, "'%s' is not a CA certificate", ca->cert_path);
    if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0) {
        format_time(X509_get0_notAfter(ca->cert), when, sizeof when);
        return vg_err(err, errlen, -EINVAL, "the CA '%s' expired on %s", ca->cert_path, when);
    }
    return 0;
}

/*
 * Writes key and cert to key_path and cert_path: both staged first, then
 * named (replace: over existing files), then the directory synced. On
 * failure the files this call created are removed again.
 */
static int write_pair(const char *dir, const char *key_path, EVP_PKEY *key,
                      const char *cert_path, X509 *cert, int replace, char *err, size_t errlen)
{
    struct staged key_file = {0}, cert_file = {0};
    int rc;
    if ((rc = stage_pem(&key_file, key_path, key, NULL, err, errlen)) < 0 ||
        (rc = stage_pem(&cert_file, cert_path, NULL, cert, err, errlen)) < 0 ||
        (rc = publish(&key_file, replace, err, errlen)) < 0 ||
        (rc = publish(&cert_file, replace, err, errlen)) < 0)
        goto fail;
    if ((rc = vg_fsync_dir(dir)) < 0) {
        vg_err(err, errlen, rc, "cannot sync directory '%s': %s", dir, strerror(-rc));
        goto fail;
    }
    return 0;
fail:
    discard(&cert_file);
    discard(&key_file);
    return rc;
}

/* The result of init and issue: the paths written, then the certificate. */
static json_t *result_json(X509 *cert, const char *key_path, const char *cert_path,
                           const char *where_key, const char *where, json_t *warnings)
{
    json_t *out = json_object();
    json_object_set_new(out, where_key, path_json(where));
    json_object_set_new(out, "key", path_json(key_path));
    json_object_set_new(out, "cert", path_json(cert_path));
    json_t *about = describe(cert);
    json_object_update(out, about);
    json_decref(about);
    if (json_array_size(warnings) > 0)
        json_object_set(out, "warnings", warnings);
    return out;
}

/* ---- the three operations ---------------------------------------------- */

int vg_pki_init(const struct vg_pki_ca_req *req, json_t **result, char *err, size_t errlen)
{
    char key_path[PATH_MAX], cert_path[PATH_MAX];
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    json_t *warnings = json_array();
    int made_dir = 0, rc;

    *result = NULL;
    if ((rc = check_days(req->days, err, errlen)) < 0 ||
        (rc = check_ca_name(req->name, err, errlen)) < 0 ||
        (rc = join_path(key_path, sizeof key_path, req->dir, VG_PKI_CA_KEY_FILE, "", err,
                        errlen)) < 0 ||
        (rc = join_path(cert_path, sizeof cert_path, req->dir, VG_PKI_CA_CERT_FILE, "", err,
                        errlen)) < 0 ||
        (rc = made_dir = make_dir(req->dir, warnings, err, errlen)) < 0)
        goto out;
    if ((rc = refuse_existing(key_path, ": a CA exists, and init never replaces it", err,
                              errlen)) < 0 ||
        (rc = refuse_existing(cert_path, ": a CA exists, and init never replaces it", err,
                              errlen)) < 0)
        goto out;
    if (!(key = new_key(err, errlen))) {
        rc = -EIO;
        goto out;
    }
    if ((rc = new_cert(req->name, NULL, key, req->days, &cert, err, errlen)) < 0)
        goto out;
    if (!add_ca_exts(cert) || !X509_sign(cert, key, EVP_sha256())) {
        rc = ssl_err(err, errlen, -EIO, "cannot make the CA certificate");
        goto out;
    }
    if ((rc = write_pair(req->dir, key_path, key, cert_path, cert, 0, err, errlen)) < 0)
        goto out;
    if (made_dir)
        vg_fsync_parent(req->dir); /* best effort: the files themselves are synced */
    *result = result_json(cert, key_path, cert_path, "dir", req->dir, warnings);
    rc = 0;
out:
    if (rc < 0 && made_dir > 0)
        rmdir(req->dir);
    X509_free(cert);
    EVP_PKEY_free(key);
    json_decref(warnings);
    return rc;
}

int vg_pki_issue(const struct vg_pki_issue_req *req, json_t **result, char *err, size_t errlen)
{
    static const char hint[] = " (--force replaces it)";
    char key_path[PATH_MAX], cert_path[PATH_MAX];
    struct ca ca = {0};
    GENERAL_NAMES *alt_names = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    json_t *warnings = json_array();
    int rc;

    *result = NULL;
    if ((rc = check_days(req->days, err, errlen)) < 0 ||
        (rc = check_leaf_name(req->name, err, errlen)) < 0 ||
        (rc = build_alt_names(req, &alt_names, warnings, err, errlen)) < 0 ||
        (rc = join_path(key_path, sizeof key_path, req->dir, req->name, ".key", err, errlen)) <
            0 ||
        (rc = join_path(cert_path, sizeof cert_path, req->dir, req->name, ".crt", err,
                        errlen)) < 0 ||
        (rc = load_ca(req->dir, &ca, warnings, err, errlen)) < 0)
        goto out;
    if (!req->force && ((rc = refuse_existing(cert_path, hint, err, errlen)) < 0 ||
                        (rc = refuse_existing(key_path, hint, err, errlen)) < 0))
        goto out;
    if (!(key = new_key(err, errlen))) {
        rc = -EIO;
        goto out;
    }
    if ((rc = new_cert(req->name, ca.cert, key, req->days, &cert, err, errlen)) < 0)
        goto out;
    if (!clamp_to_ca(cert, ca.cert, req->days, warnings) ||
        !add_leaf_exts(cert, ca.cert, alt_names) || !X509_sign(cert, ca.key, EVP_sha256())) {
        rc = ssl_err(err, errlen, -EIO, "cannot make the certificate of '%s'", req->name);
        goto out;
    }
    if ((rc = write_pair(req->dir, key_path, key, cert_path, cert, req->force, err, errlen)) <
        0)
        goto out;
    *result = result_json(cert, key_path, cert_path, "ca_cert", ca.cert_path, warnings);
    rc = 0;
out:
    X509_free(cert);
    EVP_PKEY_free(key);
    GENERAL_NAMES_free(alt_names);
    ca_release(&ca);
    json_decref(warnings);
    return rc;
}

int vg_pki_show(const char *file, json_t **result, char *err, size_t errlen)
{
    X509 *cert;
    *result = NULL;
    int rc = read_cert(file, &cert, err, errlen);
    if (rc < 0)
        return rc;
    json_t *about = describe(cert);
    *result = json_object();
    json_object_set_new(*result, "file", path_json(file));
    json_object_update(*result, about);
    json_decref(about);
    X509_free(cert);
    return 0;
}

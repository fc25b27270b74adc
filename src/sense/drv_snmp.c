/*
 * drv_snmp.c - the "snmp" driver: polls an agent with SNMPv2c or SNMPv3
 * (USM) GET and GETBULK requests through net-snmp.
 *
 * Where a sensor's value is (spec.source):
 *   {oid: "1.3.6.1.4.1.99999.1.1.0"}       a scalar, read with GET. All the
 *       scalar points of a device go in one GET PDU, split every 32 varbinds.
 *   {oid: "1.3.6.1.4.1.99999.2.1.2.3", table: "1.3.6.1.4.1.99999.2.1.2"}
 *       a cell of a table, read by walking the subtree `table` (a column or
 *       the whole table) with GETBULK, once per poll for all the points that
 *       name that subtree. Agents that serve a table only to walks (GET on
 *       an instance fails) and rows whose index changes are read this way.
 *   map: {"onBattery": 1, ...}               optional: the value's text (a
 *       string, or an integer in decimal) is looked up instead of parsed.
 * Values: INTEGER, Counter32/64, Gauge32, TimeTicks, net-snmp's Opaque
 * float/double and an OCTET STRING holding a decimal number become a
 * reading, then vg_point_value(). A counter is taken as it is (its current
 * count, not a rate). Anything else (noSuchObject, a word, an OID) is
 * rejected naming the oid; the other points are still read.
 *
 * Options (spec.options): version "2c" (default) or "3"; community
 * (required for 2c); for 3: user, security_level noAuthNoPriv | authNoPriv
 * | authPriv (default: from the passphrases given), auth_protocol SHA
 * (default), SHA-224, SHA-256, SHA-384, SHA-512 or MD5, auth_passphrase,
 * priv_protocol AES (default, AES-128) or DES, priv_passphrase, context;
 * and max_repetitions (GETBULK, default 10). Passphrases are turned into
 * keys (Ku) in init and never kept, logged or put into a message; the keys
 * are wiped in close.
 *
 * Threads: each device thread has its own session (net-snmp's single-
 * session API) and a request blocks only that thread, for at most
 * timeout_ms; net-snmp's own retries are 0 (the collector retries). The
 * library is initialised once (pthread_once) without MIBs, configuration
 * files or persistent state, so nothing is read or written on disk.
 * net-snmp's list of SNMPv3 users is global and unlocked: sessions are
 * opened and closed under one mutex, and the user entry a session created
 * is removed when the last of our sessions using it closes, so a corrected
 * passphrase takes effect when the device is rebuilt. Devices with the
 * same user on the same agent must use the same passphrases (net-snmp keys
 * its users by engine ID and name).
 *
 * net-snmp waits with select(): one process can poll about a thousand
 * SNMP devices at most (FD_SETSIZE), enough for one site's collector.
 *
 * The session is opened in the first poll, not in init (the agent may be
 * down: that is a poll failure, not a misconfiguration), and closed after
 * any failed request so the next attempt rediscovers the engine (SNMPv3
 * after an agent restart).
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <pthread.h>
#include <sodium.h>
#include <strings.h>

#include "sense/driver.h"
#include "sense/snmp_common.h"

#define MAX_GET_VARBINDS        32
#define MAX_WALK_REQUESTS       1000 /* a GETBULK walk of one subtree, per poll */
#define DEFAULT_MAX_REPETITIONS 10

struct proto {
    const char *name;
    const oid *oid;
    size_t len;
};

static const struct proto auth_protos[] = {
    {"SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol)},
    {"SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol)},
    {"SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol)},
    {"SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol)},
    {"SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol)},
    {"MD5", usmHMACMD5AuthProtocol, OID_LENGTH(usmHMACMD5AuthProtocol)},
    {NULL, NULL, 0},
};

static const struct proto priv_protos[] = {
    {"AES", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol)},
    {"DES", usmDESPrivProtocol, OID_LENGTH(usmDESPrivProtocol)},
    {NULL, NULL, 0},
};

static const char *const levels[] = {"noAuthNoPriv", "authNoPriv", "authPriv", NULL};
static const int level_codes[] = {SNMP_SEC_LEVEL_NOAUTH, SNMP_SEC_LEVEL_AUTHNOPRIV,
                                  SNMP_SEC_LEVEL_AUTHPRIV};

/* spec.options, checked; strings borrowed from the options object. */
struct opts {
    long version;
    const char *community, *user, *auth_pass, *priv_pass, *context;
    int level;
    const struct proto *auth, *priv;
    long long max_repetitions;
};

struct snmp_point {
    oid name[MAX_OID_LEN];
    size_t len;
    const char *oid_text; /* source.oid, for messages */
    const json_t *map;
    int table; /* index into tables, or -1 for a scalar */
    int seen;  /* during a walk */
};

struct snmp_table {
    oid name[MAX_OID_LEN];
    size_t len;
    const char *oid_text;
};

struct snmp_state {
    char peer[300]; /* "udp:HOST:PORT" */
    struct opts o;
    char *community, *user, *context;
    u_char auth_key[USM_AUTH_KU_LEN], priv_key[USM_PRIV_KU_LEN];
    size_t auth_key_len, priv_key_len;
    void *sess;
    struct snmp_point *pts;
    struct snmp_table *tables;
    size_t n_tables;
};

/* ---- the library ---- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

static void lib_init(void)
{
    static const int off_disk[] = {
        NETSNMP_DS_LIB_DONT_PERSIST_STATE,      NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD,
        NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, NETSNMP_DS_LIB_DONT_READ_CONFIGS,
        NETSNMP_DS_LIB_DONT_LOAD_HOST_FILES,    NETSNMP_DS_LIB_NO_TOKEN_WARNINGS,
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(off_disk); i++)
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, off_disk[i], 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
    netsnmp_set_mib_directory("/nonexistent/vigil-loads-no-mibs");
    /* the TLS certificate index is created there at start-up: make that fail */
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, "/dev/null");
    /* errors reach people through err, not net-snmp's log on stderr */
    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
    init_snmp("vigild");
}

/* net-snmp keeps one USM user per (engine ID, name) for the process; ours
 * are counted so the last session using one removes it. Under lib_lock. */
struct usm_ref {
    struct usm_ref *next;
    u_char engine[SNMP_MAX_ENG_SIZE];
    size_t engine_len;
    char *user;
    unsigned count;
};
static struct usm_ref *usm_refs;

static struct usm_ref **usm_ref_find(const netsnmp_session *s)
{
    struct usm_ref **r = &usm_refs;
    for (; *r; r = &(*r)->next)
        if ((*r)->engine_len == s->securityEngineIDLen &&
            !memcmp((*r)->engine, s->securityEngineID, s->securityEngineIDLen) &&
            !strcmp((*r)->user, s->securityName))
            return r;
    return r;
}

static void usm_ref_hold(const netsnmp_session *s)
{
    if (s->version != SNMP_VERSION_3 || !s->securityEngineIDLen ||
        s->securityEngineIDLen > SNMP_MAX_ENG_SIZE)
        return;
    struct usm_ref **r = usm_ref_find(s);
    if (!*r) {
        *r = vg_calloc(1, sizeof **r);
        memcpy((*r)->engine, s->securityEngineID, s->securityEngineIDLen);
        (*r)->engine_len = s->securityEngineIDLen;
        (*r)->user = vg_strdup(s->securityName);
    }
    (*r)->count++;
}

static void usm_ref_drop(const netsnmp_session *s)
{
    if (s->version != SNMP_VERSION_3 || !s->securityEngineIDLen)
        return;
    struct usm_ref **r = usm_ref_find(s), *ref = *r;
    if (!ref || --ref->count)
        return;
    struct usmUser *u = usm_get_user(ref->engine, ref->engine_len, ref->user);
    if (u) {
        usm_remove_user(u);
        usm_free_user(u);
    }
    *r = ref->next;
    free(ref->user);
    free(ref);
}

/* ---- options ---- */

static int pick(const char *prefix, const char *key, const char *value,
                const char *const *names, size_t stride, size_t *idx, char *err, size_t errlen)
{
    char list[128] = "";
    size_t used = 0;
    for (size_t i = 0;; i++) {
        const char *name = *(const char *const *)((const char *)names + i * stride);
        if (!name)
            break;
        if (!strcasecmp(name, value)) {
            *idx = i;
            return 0;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", name);
        used += n > 0 && (size_t)n < sizeof list - used ? (size_t)n : 0;
    }
    return vg_err(err, errlen, -EINVAL, "%s.%s: '%.32s' is not one of %s", prefix, key, value,
                  list);
}

static int opt_protocol(const json_t *options, const char *key, const struct proto *table,
                        const struct proto **out, char *err, size_t errlen)
{
    const char *name;
    size_t idx = 0;
    int rc = vg_drv_opt_string(options, "options", key, 0, &name, err, errlen);
    if (rc == -ENOENT)
        name = table[0].name;
    else if (rc)
        return rc;
    rc = pick("options", key, name, &table[0].name, sizeof table[0], &idx, err, errlen);
    *out = &table[idx];
    return rc;
}

static int opt_passphrase(const json_t *options, const char *key, const char **out, char *err,
                          size_t errlen)
{
    int rc = vg_drv_opt_string(options, "options", key, 0, out, err, errlen);
    if (rc == -ENOENT)
        *out = NULL;
    else if (rc)
        return rc;
    else if (strlen(*out) < 8) /* RFC 3414 section 11.2; net-snmp refuses shorter */
        return vg_err(err, errlen, -EINVAL, "options.%s: must be at least 8 characters", key);
    return 0;
}

static int opt_version(const json_t *options, long *version, char *err, size_t errlen)
{
    const json_t *v = json_object_get(options, "version");
    char text[32];
    if (!v) {
        *version = SNMP_VERSION_2c;
        return 0;
    }
    if (json_is_integer(v))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(text, sizeof text, "%s", json_string_value(v));
    else
        return vg_err(err, errlen, -EINVAL, "options.version: expected \"2c\" or \"3\"");
    if (!strcmp(text, "2c") || !strcmp(text, "3")) {
        *version = text[0] == '3' ? SNMP_VERSION_3 : SNMP_VERSION_2c;
        return 0;
    }
    return vg_err(err, errlen, -EINVAL, "options.version: '%s' is not one of 2c, 3", text);
}

/* Only the fields of the chosen version may be present. */
static int opt_for_version(const json_t *options, long version, char *err, size_t errlen)
{
    static const char *const v3_only[] = {
        "user",          "security_level",  "auth_protocol", "auth_passphrase",
        "priv_protocol", "priv_passphrase", "context",       NULL};
    if (version == SNMP_VERSION_3)
        return json_object_get(options, "community")
                   ? vg_err(err, errlen, -EINVAL, "options.community: only for version 2c")
                   : 0;
    for (size_t i = 0; v3_only[i]; i++)
        if (json_object_get(options, v3_only[i]))
            return vg_err(err, errlen, -EINVAL, "options.%s: only for version 3", v3_only[i]);
    return 0;
}

/* The security level, given or implied, must match the passphrases. */
static int opt_level(const json_t *options, struct opts *o, char *err, size_t errlen)
{
    const char *name;
    size_t idx = o->priv_pass ? 2 : o->auth_pass ? 1 : 0;
    int rc = vg_drv_opt_string(options, "options", "security_level", 0, &name, err, errlen);
    if (rc && rc != -ENOENT)
        return rc;
    if (!rc && (rc = pick("options", "security_level", name, levels, sizeof levels[0], &idx,
                          err, errlen)))
        return rc;
    o->level = level_codes[idx];
    if (idx >= 1 && !o->auth_pass)
        return vg_err(err, errlen, -EINVAL, "options.auth_passphrase: required for %s",
                      levels[idx]);
    if (idx == 2 && !o->priv_pass)
        return vg_err(err, errlen, -EINVAL, "options.priv_passphrase: required for authPriv");
    if (idx < 2 && o->priv_pass)
        return vg_err(err, errlen, -EINVAL,
                      "options.priv_passphrase: given, but security_level is %s", levels[idx]);
    if (idx < 1 && o->auth_pass)
        return vg_err(err, errlen, -EINVAL,
                      "options.auth_passphrase: given, but security_level is noAuthNoPriv");
    return 0;
}

static int parse_v3(const json_t *options, struct opts *o, char *err, size_t errlen)
{
    int rc;
    if ((rc = vg_drv_opt_string(options, "options", "user", 1, &o->user, err, errlen)) ||
        (rc = opt_protocol(options, "auth_protocol", auth_protos, &o->auth, err, errlen)) ||
        (rc = opt_protocol(options, "priv_protocol", priv_protos, &o->priv, err, errlen)) ||
        (rc = opt_passphrase(options, "auth_passphrase", &o->auth_pass, err, errlen)) ||
        (rc = opt_passphrase(options, "priv_passphrase", &o->priv_pass, err, errlen)) ||
        (rc = opt_level(options, o, err, errlen)))
        return rc;
    rc = vg_drv_opt_string(options, "options", "context", 0, &o->context, err, errlen);
    if (rc == -ENOENT)
        o->context = "";
    return rc == -ENOENT ? 0 : rc;
}

static int parse_options(const json_t *options, struct opts *o, char *err, size_t errlen)
{
    static const char *const keys[] = {"version",
                                       "community",
                                       "user",
                                       "security_level",
                                       "auth_protocol",
                                       "auth_passphrase",
                                       "priv_protocol",
                                       "priv_passphrase",
                                       "context",
                                       "max_repetitions",
                                       NULL};
    memset(o, 0, sizeof *o);
    int rc;
    if ((rc = vg_drv_check_keys(options, "options", "snmp", keys, err, errlen)) ||
        (rc = opt_version(options, &o->version, err, errlen)) ||
        (rc = opt_for_version(options, o->version, err, errlen)))
        return rc;
    o->max_repetitions = DEFAULT_MAX_REPETITIONS;
    rc = vg_drv_opt_int(options, "options", "max_repetitions", 0, 1, 100, &o->max_repetitions,
                        err, errlen);
    if (rc && rc != -ENOENT)
        return rc;
    if (o->version == SNMP_VERSION_3)
        return parse_v3(options, o, err, errlen);
    return vg_drv_opt_string(options, "options", "community", 1, &o->community, err, errlen);
}

static int drv_snmp_check(const json_t *options, const json_t *source, char *err, size_t errlen)
{
    struct opts o;
    int rc = parse_options(options, &o, err, errlen);
    if (!rc && source)
        rc = vg_snmp_check_source(source, "snmp", 1, err, errlen);
    return rc;
}

/* ---- init and close ---- */

static int make_keys(struct snmp_state *st, char *err, size_t errlen)
{
    const struct opts *o = &st->o;
    int rc = 0;
    if (o->version != SNMP_VERSION_3)
        return 0;
    st->auth_key_len = sizeof st->auth_key;
    st->priv_key_len = sizeof st->priv_key;
    if (o->level != SNMP_SEC_LEVEL_NOAUTH)
        rc = generate_Ku(o->auth->oid, (u_int)o->auth->len, (const u_char *)o->auth_pass,
                         strlen(o->auth_pass), st->auth_key, &st->auth_key_len);
    if (!rc && o->level == SNMP_SEC_LEVEL_AUTHPRIV) /* the priv key uses the auth hash */
        rc = generate_Ku(o->auth->oid, (u_int)o->auth->len, (const u_char *)o->priv_pass,
                         strlen(o->priv_pass), st->priv_key, &st->priv_key_len);
    if (rc != SNMPERR_SUCCESS)
        return vg_err(err, errlen, -EINVAL, "options: cannot derive the SNMPv3 keys (%s)",
                      snmp_api_errstring(rc));
    /* the passphrases stay in the options object only: it is not ours */
    st->o.auth_pass = st->o.priv_pass = NULL;
    return 0;
}

static int add_table(struct snmp_state *st, const struct vg_device *dev, const char *text)
{
    for (size_t t = 0; t < st->n_tables; t++)
        if (!strcmp(st->tables[t].oid_text, text))
            return (int)t;
    struct snmp_table *tab = &st->tables[st->n_tables];
    struct vg_snmp_oid parsed;
    vg_snmp_oid_parse(text, &parsed); /* checked by vg_snmp_check_source */
    for (size_t i = 0; i < parsed.len; i++)
        tab->name[i] = parsed.sub[i];
    tab->len = parsed.len;
    tab->oid_text = text;
    return (int)st->n_tables++;
}

static int build_points(struct snmp_state *st, const struct vg_device *dev, char *err,
                        size_t errlen)
{
    st->pts = vg_calloc(dev->n_points ? dev->n_points : 1, sizeof *st->pts);
    st->tables = vg_calloc(dev->n_points ? dev->n_points : 1, sizeof *st->tables);
    for (size_t i = 0; i < dev->n_points; i++) {
        const json_t *source = dev->points[i].source;
        struct snmp_point *p = &st->pts[i];
        char why[256];
        if (vg_snmp_check_source(source, "snmp", 1, why, sizeof why))
            return vg_err(err, errlen, -EINVAL, "sensor '%s': %s", dev->points[i].sensor, why);
        struct vg_snmp_oid parsed;
        p->oid_text = json_string_value(json_object_get(source, "oid"));
        vg_snmp_oid_parse(p->oid_text, &parsed);
        for (size_t k = 0; k < parsed.len; k++)
            p->name[k] = parsed.sub[k];
        p->len = parsed.len;
        p->map = json_object_get(source, "map");
        const json_t *table = json_object_get(source, "table");
        p->table = table ? add_table(st, dev, json_string_value(table)) : -1;
    }
    return 0;
}

static void state_free(struct snmp_state *st)
{
    if (!st)
        return;
    sodium_memzero(st->auth_key, sizeof st->auth_key);
    sodium_memzero(st->priv_key, sizeof st->priv_key);
    if (st->community)
        sodium_memzero(st->community, strlen(st->community));
    free(st->community);
    free(st->user);
    free(st->context);
    free(st->pts);
    free(st->tables);
    free(st);
}

static int drv_snmp_init(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    pthread_once(&lib_once, lib_init);
    struct snmp_state *st = vg_calloc(1, sizeof *st);
    char host[256];
    uint16_t port;
    int rc;
    if ((rc = parse_options(dev->options, &st->o, err, errlen)) ||
        (rc = vg_drv_host_port(dev->address, 161, host, sizeof host, &port, err, errlen)) ||
        (rc = make_keys(st, err, errlen)) || (rc = build_points(st, dev, err, errlen))) {
        state_free(st);
        return rc;
    }
    snprintf(st->peer, sizeof st->peer, strchr(host, ':') ? "udp6:[%s]:%u" : "udp:%s:%u", host,
             (unsigned)port);
    st->community = st->o.community ? vg_strdup(st->o.community) : NULL;
    st->user = st->o.user ? vg_strdup(st->o.user) : NULL;
    st->context = st->o.context ? vg_strdup(st->o.context) : NULL;
    dev->drv = st;
    return 0;
}

static void session_close(struct snmp_state *st)
{
    if (!st->sess)
        return;
    pthread_mutex_lock(&lib_lock);
    usm_ref_drop(snmp_sess_session(st->sess));
    snmp_sess_close(st->sess);
    pthread_mutex_unlock(&lib_lock);
    st->sess = NULL;
}

static void drv_snmp_close(struct vg_device *dev)
{
    struct snmp_state *st = dev->drv;
    if (!st)
        return;
    session_close(st);
    state_free(st);
    dev->drv = NULL;
}

/* ---- sessions and requests ---- */

static int is_auth_error(int snmperr)
{
    switch (snmperr) {
    case SNMPERR_AUTHENTICATION_FAILURE:
    case SNMPERR_UNKNOWN_USER_NAME:
    case SNMPERR_UNSUPPORTED_SEC_LEVEL:
    case SNMPERR_DECRYPTION_ERR:
    case SNMPERR_USM_AUTHENTICATIONFAILURE:
    case SNMPERR_USM_UNKNOWNSECURITYNAME:
    case SNMPERR_USM_UNSUPPORTEDSECURITYLEVEL:
    case SNMPERR_USM_DECRYPTIONERROR:
        return 1;
    default:
        return 0;
    }
}

/* The error of a failed open or request; text is net-snmp's, which names
 * no secret. */
static int failure(const struct snmp_state *st, const struct vg_device *dev, int snmperr,
                   const char *text, char *err, size_t errlen)
{
    if (snmperr == SNMPERR_TIMEOUT)
        return vg_err(err, errlen, -ETIMEDOUT, "no answer from %s within %u ms%s", st->peer,
                      (unsigned)dev->timeout_ms,
                      st->o.level == SNMP_SEC_LEVEL_AUTHPRIV
                          ? " (agents also drop what a wrong priv_passphrase encrypted)"
                          : "");
    if (is_auth_error(snmperr))
        return vg_err(err, errlen, -EACCES,
                      "authentication of SNMPv3 user '%s' failed at %s: %s (check user, "
                      "auth_protocol, auth_passphrase, priv_passphrase)",
                      st->user, st->peer, text ? text : snmp_api_errstring(snmperr));
    return vg_err(err, errlen, -EPROTO, "%s: %s", st->peer,
                  text ? text : snmp_api_errstring(snmperr));
}

static void session_template(struct snmp_state *st, const struct vg_device *dev,
                             netsnmp_session *s)
{
    snmp_sess_init(s);
    s->peername = st->peer;
    s->version = st->o.version;
    s->timeout = (long)dev->timeout_ms * 1000;
    s->retries = 0;
    if (st->o.version != SNMP_VERSION_3) {
        s->community = (u_char *)st->community;
        s->community_len = strlen(st->community);
        return;
    }
    s->securityModel = SNMP_SEC_MODEL_USM;
    s->securityName = st->user;
    s->securityNameLen = strlen(st->user);
    s->securityLevel = st->o.level;
    s->contextName = st->context;
    s->contextNameLen = strlen(st->context);
    if (st->o.level != SNMP_SEC_LEVEL_NOAUTH) {
        s->securityAuthProto = (oid *)st->o.auth->oid;
        s->securityAuthProtoLen = st->o.auth->len;
        memcpy(s->securityAuthKey, st->auth_key, st->auth_key_len);
        s->securityAuthKeyLen = st->auth_key_len;
    }
    if (st->o.level == SNMP_SEC_LEVEL_AUTHPRIV) {
        s->securityPrivProto = (oid *)st->o.priv->oid;
        s->securityPrivProtoLen = st->o.priv->len;
        memcpy(s->securityPrivKey, st->priv_key, st->priv_key_len);
        s->securityPrivKeyLen = st->priv_key_len;
    }
}

/* Opens the session; for SNMPv3 this discovers the engine (one exchange). */
static int session_open(struct snmp_state *st, const struct vg_device *dev, char *err,
                        size_t errlen)
{
    netsnmp_session tmpl;
    session_template(st, dev, &tmpl);
    char *text = NULL;
    int liberr = 0, snmperr = 0;
    pthread_mutex_lock(&lib_lock);
    st->sess = snmp_sess_open(&tmpl);
    if (st->sess)
        usm_ref_hold(snmp_sess_session(st->sess));
    else
        snmp_error(&tmpl, &liberr, &snmperr, &text);
    pthread_mutex_unlock(&lib_lock);
    sodium_memzero(tmpl.securityAuthKey, sizeof tmpl.securityAuthKey);
    sodium_memzero(tmpl.securityPrivKey, sizeof tmpl.securityPrivKey);
    if (st->sess)
        return 0;
    if (!snmperr)
        snmperr = tmpl.s_snmp_errno;
    int rc = failure(st, dev, snmperr, text, err, errlen);
    free(text);
    return rc;
}

/* One request and its answer. pdu is consumed. On failure the session is
 * closed, so the next attempt starts afresh. */
static int request(struct snmp_state *st, const struct vg_device *dev, netsnmp_pdu *pdu,
                   netsnmp_pdu **resp, char *err, size_t errlen)
{
    *resp = NULL;
    int status = snmp_sess_synch_response(st->sess, pdu, resp);
    if (status == STAT_SUCCESS && *resp)
        return 0;
    int liberr = 0, snmperr = SNMPERR_TIMEOUT;
    char *text = NULL;
    if (status != STAT_TIMEOUT)
        snmp_sess_error(st->sess, &liberr, &snmperr, &text);
    int rc = failure(st, dev, snmperr, text, err, errlen);
    free(text);
    if (*resp)
        snmp_free_pdu(*resp);
    *resp = NULL;
    session_close(st);
    return rc;
}

/* ---- values ---- */

static void deliver(const struct snmp_state *st, const struct vg_device *dev,
                    struct vg_sink *sink, size_t point, const netsnmp_variable_list *vb,
                    int64_t now)
{
    struct vg_snmp_value v = {.tag = vb->type};
    switch (vb->type) {
    case ASN_INTEGER:
        v.i = *vb->val.integer;
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
        v.u = (uint32_t)*vb->val.integer;
        break;
    case ASN_COUNTER64:
        v.u = (uint64_t)vb->val.counter64->high << 32 | (uint32_t)vb->val.counter64->low;
        break;
    case ASN_OCTET_STR:
        v.str = vb->val.string;
        v.len = vb->val_len;
        break;
    case ASN_OPAQUE_FLOAT:
        v.d = *vb->val.floatVal;
        break;
    case ASN_OPAQUE_DOUBLE:
        v.d = *vb->val.doubleVal;
        break;
    }
    double raw;
    char why[160];
    if (vg_snmp_value_reading(&v, st->pts[point].map, &raw, why, sizeof why)) {
        char reason[320];
        snprintf(reason, sizeof reason, "oid %s: %s", st->pts[point].oid_text, why);
        sink->reject(sink, point, reason);
        return;
    }
    sink->value(sink, point, now, vg_point_value(&dev->points[point], raw));
}

static void reject_fmt(struct vg_sink *sink, size_t point, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject_fmt(struct vg_sink *sink, size_t point, const char *fmt, ...)
{
    char reason[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    sink->reject(sink, point, reason);
}

/* ---- polling ---- */

/* One GET of up to MAX_GET_VARBINDS scalar points from *next on. */
static int get_batch(struct snmp_state *st, struct vg_device *dev, struct vg_sink *sink,
                     size_t *next, char *err, size_t errlen)
{
    size_t batch[MAX_GET_VARBINDS], n = 0, i = *next;
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET), *resp;
    for (; i < dev->n_points && n < MAX_GET_VARBINDS; i++)
        if (st->pts[i].table < 0) {
            snmp_add_null_var(pdu, st->pts[i].name, st->pts[i].len);
            batch[n++] = i;
        }
    *next = i;
    if (!n) {
        snmp_free_pdu(pdu);
        return 0;
    }
    int rc = request(st, dev, pdu, &resp, err, errlen);
    if (rc)
        return rc;
    int64_t now = (int64_t)vg_wall_ms();
    const netsnmp_variable_list *vb = resp->variables;
    for (size_t k = 0; k < n; k++, vb = vb ? vb->next_variable : NULL) {
        const struct snmp_point *p = &st->pts[batch[k]];
        if (resp->errstat != SNMP_ERR_NOERROR)
            reject_fmt(sink, batch[k], "oid %s: the agent answered %s (error index %ld)",
                       p->oid_text, snmp_errstring((int)resp->errstat), resp->errindex);
        else if (!vb || snmp_oid_compare(vb->name, vb->name_length, p->name, p->len))
            reject_fmt(sink, batch[k], "oid %s: not in the answer", p->oid_text);
        else
            deliver(st, dev, sink, batch[k], vb, now);
    }
    snmp_free_pdu(resp);
    return 0;
}

static int in_subtree(const oid *name, size_t len, const struct snmp_table *tab)
{
    return len > tab->len && !memcmp(name, tab->name, tab->len * sizeof(oid));
}

/* Delivers the points of table t found among the varbinds; sets *done
 * when the walk left the subtree or every point has been seen. */
static void walk_answer(struct snmp_state *st, struct vg_device *dev, struct vg_sink *sink,
                        size_t t, const netsnmp_pdu *resp, oid *cur, size_t *cur_len, int *done)
{
    int64_t now = (int64_t)vg_wall_ms();
    const struct snmp_table *tab = &st->tables[t];
    *done = !resp->variables;
    for (const netsnmp_variable_list *vb = resp->variables; vb && !*done;
         vb = vb->next_variable) {
        if (vb->type == SNMP_ENDOFMIBVIEW || !in_subtree(vb->name, vb->name_length, tab) ||
            snmp_oid_compare(vb->name, vb->name_length, cur, *cur_len) <= 0) {
            *done = 1; /* past the end, or an agent that does not move forward */
            break;
        }
        size_t unseen = 0;
        for (size_t i = 0; i < dev->n_points; i++) {
            struct snmp_point *p = &st->pts[i];
            if (p->table != (int)t || p->seen)
                continue;
            if (!snmp_oid_compare(vb->name, vb->name_length, p->name, p->len)) {
                p->seen = 1;
                deliver(st, dev, sink, i, vb, now);
            } else {
                unseen++;
            }
        }
        memcpy(cur, vb->name, vb->name_length * sizeof(oid));
        *cur_len = vb->name_length;
        *done = unseen == 0;
    }
}

/* Walks table t with GETBULK and delivers its points. */
static int walk_table(struct snmp_state *st, struct vg_device *dev, struct vg_sink *sink,
                      size_t t, char *err, size_t errlen)
{
    const struct snmp_table *tab = &st->tables[t];
    oid cur[MAX_OID_LEN];
    size_t cur_len = tab->len;
    memcpy(cur, tab->name, tab->len * sizeof(oid));
    for (size_t i = 0; i < dev->n_points; i++)
        st->pts[i].seen = 0;
    char why[200];
    snprintf(why, sizeof why, "not in table %s", tab->oid_text);
    int done = 0;
    for (int n = 0; !done; n++) {
        if (n == MAX_WALK_REQUESTS) {
            snprintf(why, sizeof why, "walk of table %s stopped after %d requests",
                     tab->oid_text, MAX_WALK_REQUESTS);
            break;
        }
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETBULK), *resp;
        pdu->non_repeaters = 0;
        pdu->max_repetitions = (long)st->o.max_repetitions;
        snmp_add_null_var(pdu, cur, cur_len);
        int rc = request(st, dev, pdu, &resp, err, errlen);
        if (rc)
            return rc;
        if (resp->errstat != SNMP_ERR_NOERROR) {
            snprintf(why, sizeof why, "the agent answered %s walking table %s",
                     snmp_errstring((int)resp->errstat), tab->oid_text);
            done = 1;
        } else {
            walk_answer(st, dev, sink, t, resp, cur, &cur_len, &done);
        }
        snmp_free_pdu(resp);
    }
    for (size_t i = 0; i < dev->n_points; i++)
        if (st->pts[i].table == (int)t && !st->pts[i].seen)
            reject_fmt(sink, i, "oid %s: %s", st->pts[i].oid_text, why);
    return 0;
}

static int drv_snmp_poll(struct vg_device *dev, struct vg_sink *sink, char *err, size_t errlen)
{
    struct snmp_state *st = dev->drv;
    int rc = st->sess ? 0 : session_open(st, dev, err, errlen);
    for (size_t next = 0; !rc && next < dev->n_points;)
        rc = get_batch(st, dev, sink, &next, err, errlen);
    for (size_t t = 0; !rc && t < st->n_tables; t++)
        rc = walk_table(st, dev, sink, t, err, errlen);
    return rc;
}

/* never shown by the API, never logged (driver.h) */
static const char *const secret_options[] = {"community", "auth_passphrase", "priv_passphrase",
                                             NULL};

const struct vg_driver vg_drv_snmp = {
    .name = "snmp",
    .help = "polls an SNMPv2c or SNMPv3 agent: GET for scalars, GETBULK walks for tables",
    .passive = 0,
    .secret_options = secret_options,
    .check = drv_snmp_check,
    .init = drv_snmp_init,
    .poll = drv_snmp_poll,
    .close = drv_snmp_close,
};

/*
 * cmd_init.c - `vigild init`: a new data directory with its keyring and the
 * first admin token, which is printed once and stored only as a hash.
 */
#include "vigild/vigild.h"

#include <jansson.h>
#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/token.h"
#include "core/fsutil.h"
#include "store/log.h"
#include "store/record.h"
#include "vigild/options.h"

/* Copies the keyring byte for byte through one buffer that is wiped after
 * (plain read/write: a stdio buffer would be freed with the keys in it). */
static int copy_keyring(const char *from, const char *to, char *err, size_t errlen)
{
    vg_keyring_t *kr = NULL;
    int rc = vg_keyring_load(from, &kr, err, errlen); /* validates format and mode */
    vg_keyring_free(kr);
    if (rc)
        return rc;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return vg_err(err, errlen, -errno, "cannot open '%s': %s", from, strerror(errno));
    int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = vg_err(err, errlen, -errno, "cannot create '%s': %s", to, strerror(errno));
        close(in);
        return rc;
    }
    char buf[4096];
    ssize_t n;
    while (!rc && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = vg_err(err, errlen, -errno, "cannot read '%s': %s", from, strerror(errno));
        else if ((rc = vg_write_all(fd, buf, (size_t)n)))
            vg_err(err, errlen, rc, "cannot write '%s': %s", to, strerror(-rc));
    }
    sodium_memzero(buf, sizeof buf);
    if (!rc && fsync(fd) < 0)
        rc = vg_err(err, errlen, -errno, "cannot fsync '%s': %s", to, strerror(errno));
    close(fd);
    close(in);
    return rc;
}

static int write_admin_token(const char *data, const char *key_path, char *token, char *err,
                             size_t errlen)
{
    vg_keyring_t *kr = NULL;
    vg_log_t *log = NULL;
    char log_dir[4096], id[VG_TOKEN_ID_LEN + 1], hash[VG_TOKEN_HASH_HEX + 1];
    snprintf(log_dir, sizeof log_dir, "%s/log", data);
    int rc = vg_keyring_load(key_path, &kr, err, errlen);
    if (rc)
        goto out;
    vg_log_opts_t lo = {log_dir, kr, 0};
    rc = vg_log_open(&lo, 0, NULL, NULL, &log, err, errlen);
    if (rc)
        goto out;
    vg_token_generate(id, token, hash);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", id, "name", "admin", "role", "admin",
                  "hash", hash, "actor", "vigild-init", "time", (json_int_t)vg_wall_ms());
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    uint64_t index;
    rc = vg_log_append(log, 1, VG_REC_TOKEN_CREATE, text, strlen(text), &index);
    free(text);
    if (!rc)
        rc = vg_log_sync(log);
    if (rc)
        vg_err(err, errlen, rc, "cannot write the first record: %s", strerror(-rc));
out:
    vg_log_close(log);
    vg_keyring_free(kr);
    return rc;
}

int vg_init_standalone(const char *data, char *token, char *err, size_t errlen)
{
    char key_path[4096];
    snprintf(key_path, sizeof key_path, "%s/keyring", data);
    int rc = vg_keyring_create(key_path, err, errlen);
    return rc ? rc : write_admin_token(data, key_path, token, err, errlen);
}

struct init_args {
    const char *data, *key_file, *output;
    int mirror;
};

/* VG_OPT_PROCEED, 0 after --help, 2 on a usage error */
static int parse_args(int argc, char **argv, struct init_args *a)
{
    static const char *const formats[] = {"text", "json", NULL};
    const struct vg_opt_def opts[] = {
        VG_OPT_STRING('d', "data", "DIR", &a->data, VG_OPT_REQUIRED, NULL,
                      "data directory to create (must not hold vigil data yet)"),
        VG_OPT_STRING('k', "key-file", "FILE", &a->key_file, 0, NULL,
                      "use this existing keyring instead of generating one (it is copied "
                      "to DIR/keyring)"),
        VG_OPT_FLAG(0, "mirror", &a->mirror,
                    "a member joining a cluster: no token and no records; its state comes "
                    "from the primary. Needs --key-file with the primary's keyring (both "
                    "members hold the same data key)"),
        VG_OPT_FORMAT('o', "output", &a->output, formats, "text",
                      "json prints {\"admin_token\":...} for scripts"),
        VG_OPT_END,
    };
    const struct vg_opt_cmd cmd = {
        .name = "init",
        .usage = "vigild init --data DIR [--key-file FILE] [--mirror] [-o text|json]",
        .about =
            "Creates DIR (mode 0700) with a new keyring (DIR/keyring, mode 0600) and an\n"
            "encrypted log holding the first admin API token. The token is printed once.\n",
        .opts = opts,
    };
    int first, rc = vg_opt_parse(&cmd, argc, argv, &first);
    if (rc == VG_OPT_PROCEED && a->mirror && !a->key_file)
        return vg_opt_usage_error(&cmd, "--mirror needs --key-file: the primary's keyring, so "
                                        "both members can read each other's records");
    return rc;
}

int vg_cmd_init(int argc, char **argv)
{
    struct init_args a = {.output = "text"};
    int rc = parse_args(argc, argv, &a);
    if (rc != VG_OPT_PROCEED)
        return rc;
    const char *data = a.data, *key_file = a.key_file, *output = a.output;
    int mirror = a.mirror;
    char err[1024], key_path[4096], probe[4096];
    char token[VG_TOKEN_LEN + 1];
    snprintf(key_path, sizeof key_path, "%s/keyring", data);
    snprintf(probe, sizeof probe, "%s/log", data);
    if (access(key_path, F_OK) == 0 || access(probe, F_OK) == 0) {
        fprintf(stderr, "vigild: '%s' already holds vigil data; refusing to overwrite it\n",
                data);
        return 1;
    }
    rc = vg_mkdir_p(data, 0700);
    if (rc) {
        fprintf(stderr, "vigild: cannot create '%s': %s\n", data, strerror(-rc));
        return 1;
    }
    rc = key_file ? copy_keyring(key_file, key_path, err, sizeof err)
                  : vg_keyring_create(key_path, err, sizeof err);
    if (!rc && !mirror)
        rc = write_admin_token(data, key_path, token, err, sizeof err);
    if (rc) {
        fprintf(stderr, "vigild: init failed: %s\n", err);
        return 1;
    }
    if (mirror) {
        if (!strcmp(output, "json")) {
            json_t *out = json_pack("{s:s, s:b}", "data", data, "mirror", 1);
            json_dumpf(out, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(out);
        } else
            fprintf(stderr,
                    "vigild: initialised '%s' as a mirror: start it with 'vigild run "
                    "--node FILE'; it copies its state from the primary.\n",
                    data);
        return 0;
    }
    if (!strcmp(output, "json")) {
        json_t *out = json_pack("{s:s, s:s}", "data", data, "admin_token", token);
        json_dumpf(out, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(out);
    } else {
        printf("admin token: %s\n", token);
        fprintf(stderr,
                "vigild: initialised '%s'. Store the admin token now: it is not shown "
                "again and only its hash is kept.\n",
                data);
    }
    sodium_memzero(token, sizeof token);
    return 0;
}

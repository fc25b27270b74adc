/*
 * append_record.c - a test tool: appends one record with a given payload
 * (any bytes, JSON or not) to a stopped member's log, sealed with its own
 * keyring, as if that member had written it. Black-box tests use it to
 * hand a member a committed record it cannot apply, which no API can do.
 *
 *   peer_append_record DATA_DIR TYPE PAYLOAD   -> prints the record's index
 */
#include "crypto/keyring.h"
#include "store/log.h"
#include "store/snapshot.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DATA_DIR TYPE PAYLOAD\n", argv[0]);
        return 2;
    }
    char key_path[4096], log_dir[4096], err[512] = "";
    snprintf(key_path, sizeof key_path, "%s/keyring", argv[1]);
    snprintf(log_dir, sizeof log_dir, "%s/log", argv[1]);
    vg_keyring_t *keys = NULL;
    vg_log_t *log = NULL;
    int rc = vg_keyring_load(key_path, &keys, err, sizeof err);
    vg_log_opts_t opts = {log_dir, keys, 0};
    uint64_t snap_index = 0; /* the log opens after its newest snapshot, as vigild's does */
    if (!rc)
        rc = vg_snapshot_latest_index(log_dir, &snap_index, err, sizeof err);
    if (!rc)
        rc = vg_log_open(&opts, snap_index, NULL, NULL, &log, err, sizeof err);
    uint64_t index = 0;
    if (!rc)
        rc = vg_log_append(log, vg_log_last_epoch(log), (uint16_t)atoi(argv[2]), argv[3],
                           strlen(argv[3]), &index);
    if (!rc)
        rc = vg_log_sync(log);
    if (rc) {
        fprintf(stderr, "append_record: %s\n", *err ? err : strerror(-rc));
        return 1;
    }
    vg_log_close(log);
    vg_keyring_free(keys);
    printf("%llu\n", (unsigned long long)index);
    return 0;
}

/*
 * daemon.h - vigild's subcommands (one file each) and their shared helpers.
 */
#ifndef VG_DAEMON_H
#define VG_DAEMON_H

#include "core/vg.h"

int vg_cmd_init(int argc, char **argv);
int vg_cmd_run(int argc, char **argv);
int vg_cmd_witness(int argc, char **argv);
int vg_cmd_probe(int argc, char **argv);
int vg_cmd_routes(int argc, char **argv);

/* Tells systemd (Type=notify) about state changes, if NOTIFY_SOCKET is set;
 * a no-op otherwise. */
void vg_sd_notify(const char *state);

/* --log-level: sets the level, or prints why not and returns 2. */
int vg_opt_log_level(const char *s);

/* A decimal number in [min, max] for flag, or a message and 2. */
int vg_opt_number(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* mkdir -p with mode for the last component; 0 or -errno. */
int vg_mkdir_p(const char *path, unsigned mode);

#endif

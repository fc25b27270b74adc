/*
 * daemon.h - vigild's subcommands (one file each) and their shared helpers.
 */
#ifndef VG_DAEMON_H
#define VG_DAEMON_H

#include "core/vg.h"

int vg_cmd_init(int argc, char **argv);
int vg_cmd_run(int argc, char **argv);
int vg_cmd_witness(int argc, char **argv);

/* Tells systemd (Type=notify) about state changes, if NOTIFY_SOCKET is set;
 * a no-op otherwise. */
void vg_sd_notify(const char *state);

/* mkdir -p with mode for the last component; 0 or -errno. */
int vg_mkdir_p(const char *path, unsigned mode);

#endif

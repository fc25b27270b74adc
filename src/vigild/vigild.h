/*
 * vigild.h - vigild's subcommands (one file each) and their shared helpers.
 */
#ifndef VG_VIGILD_H
#define VG_VIGILD_H

#include "core/vg.h"

int vg_cmd_init(int argc, char **argv);
int vg_cmd_run(int argc, char **argv);
int vg_cmd_witness(int argc, char **argv);
int vg_cmd_probe(int argc, char **argv);
int vg_cmd_routes(int argc, char **argv);
int vg_cmd_services(int argc, char **argv);
int vg_cmd_inspect(int argc, char **argv);
int vg_cmd_verify(int argc, char **argv);
int vg_cmd_dev(int argc, char **argv);

/* A keyring and the first admin token in data, an existing empty directory
 * (cmd_init.c); token gets VG_TOKEN_LEN + 1 bytes. 0 or -errno with err. */
int vg_init_standalone(const char *data, char *token, char *err, size_t errlen);

/* Tells systemd (Type=notify) about state changes, if NOTIFY_SOCKET is set;
 * a no-op otherwise. */
void vg_sd_notify(const char *state);

/* Turns core dumps off (RLIMIT_CORE 0, soft and hard) and makes the
 * process non-dumpable (PR_SET_DUMPABLE 0), unless allow_core_dumps. Call
 * before any key is loaded. 0, or -errno with a message in err. */
int vg_proc_harden(int allow_core_dumps, char *err, size_t errlen);

#endif

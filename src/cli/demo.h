/*
 * demo.h - what `vigil demo` knows of the demo running on this machine
 * (scripts/demo.sh): its directory, named by VIGIL_DEMO_DIR, holds the node
 * file NAME.yaml of each member (dc1, dc2), the pid file NAME.pid of each
 * member's vigild, its log NAME.log, the cluster CA (pki/ca.crt) and the
 * admin token (token). demo_local.c acts on the processes and the network
 * of this machine: it kills and restarts members and cuts the member link
 * with nftables; it never touches a process that is not the vigild of a
 * node file of the demo.
 */
#ifndef VG_CLI_DEMO_H
#define VG_CLI_DEMO_H

#include "cli/cli.h"
#include "cluster/node.h"

#define VG_DEMO_MEMBERS 2

struct vg_demo_member {
    char node_path[VG_NODE_PATH_MAX + 16];
    struct vg_node node;
    char url[300]; /* the client API, http:// or https:// as the node file says */
};

struct vg_demo {
    char dir[VG_NODE_PATH_MAX];
    struct vg_demo_member m[VG_DEMO_MEMBERS]; /* dc1, dc2 */
    char servers[700];                        /* "URL1,URL2" for the client */
    char ca[VG_NODE_PATH_MAX];
    char token_file[VG_NODE_PATH_MAX + 16];
};

/* Finds the demo (dir, else VIGIL_DEMO_DIR) and reads its node files. 0, or
 * an exit code with the reason printed (not in a demo: 2). */
int vg_demo_open(struct vg_demo *d, const char *dir);

/* Points the client at the demo's members (in the order of d->m), with its
 * CA and token unless the options or the environment gave them. */
void vg_demo_use(struct vg_demo *d, struct vg_cli *cli);

/* The member whose site is site, or -1. */
int vg_demo_member_of_site(const struct vg_demo *d, const char *site);

/* The pid of member i's vigild when it runs (its pid file names a live
 * vigild of that node file), else 0. */
pid_t vg_demo_member_pid(const struct vg_demo *d, int i);

/* SIGKILL to member i's vigild. 0, or an exit code (printed). */
int vg_demo_kill(const struct vg_demo *d, int i);

/* Starts member i's vigild again (next to this vigil, else from PATH),
 * logging to its log and writing its pid file. 0, or an exit code. */
int vg_demo_restart(const struct vg_demo *d, int i);

/* Cuts / restores the member link (both members still reach the witness):
 * nftables rules dropping TCP to and from both peer_listen ports. Needs
 * root and nft. 0, or an exit code (printed). heal is quiet when nothing
 * was cut; *was_cut (may be NULL) says whether something was. */
int vg_demo_partition(const struct vg_demo *d);
int vg_demo_unpartition(const struct vg_demo *d, int *was_cut);

#endif

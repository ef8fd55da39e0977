#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "test/kubelet-sim/ksim.h"
#include "test/support/proc.h"

/* Integration-test harness: a temp tree (kubelet dir, dev root, sysfs
 * root, CDI dir, fake inventory file), the daemon $KGDP_TESTD as a child
 * process with stderr captured to a file, and the C kubelet simulator.
 * KGDP_VALGRIND=1 runs the daemon under valgrind and stretches every time
 * limit by tproc_factor(). */

struct h_dev {
    const char *id;
    bool healthy;
    int numa;          /* -1: no TopologyInfo expected */
    const char *nodes; /* container paths, comma-separated: "/dev/vfio/devices/vfio0" */
};

struct h_res {
    const char *name;
    const char *socket;
    size_t n_devs;
    const struct h_dev *devs;
};

struct h_inv {
    size_t n_res;
    const struct h_res *res;
};

struct harness {
    char *root;
    char *kubelet_dir;
    char *dev_root;
    char *sysfs_root;
    char *cdi_dir;
    char *inventory;   /* the fake inventory file */
    char *log;         /* the daemon's stderr */
    pid_t pid;         /* daemon, 0 when not running */
    struct ksim *sim;
    unsigned failures_at_start;
};

/* Create the temp tree. Returns 0 or -errno; harness_fini frees it. */
int harness_init(struct harness *h);
/* Remove what the daemon left, stop the sim, print the daemon log when the
 * test failed, delete the tree. */
void harness_fini(struct harness *h);

/* Render inv into the inventory file (atomically) and create its device
 * nodes under the dev root (empty files). 0 or -errno. */
int harness_write_inventory(struct harness *h, const struct h_inv *inv);

/* Start the kubelet simulator on the kubelet dir. 0 or -errno. */
int harness_start_sim(struct harness *h);

/* Spawn $KGDP_TESTD serve with the temp roots. 0 or -errno. */
int harness_spawn_daemon(struct harness *h);

/* Whether <kubelet dir>/<name> exists. */
bool harness_socket_exists(const struct harness *h, const char *name);

/* Start $KGDP_GO_PEER (the grpc-go kubelet) on the kubelet dir, expecting
 * n_res resources, and wait for its socket. 0 and *ret_pid, or -errno. */
int harness_go_peer_start(struct harness *h, size_t n_res, pid_t *ret_pid);

/* Wait for the peer to finish its checks (killed when it overruns): 0 when
 * it exited 0, else -ETIMEDOUT or -EIO with its output printed. */
int harness_go_peer_finish(const struct harness *h, pid_t pid);

/* The value of env variable key in an Allocate container response, or
 * NULL when absent. Borrowed from c. */
const char *harness_env_value(const V1beta1__ContainerAllocateResponse *c, const char *key);

/* Print the file at path to stderr (diagnostics). */
void harness_dump(const char *title, const char *path);

/* Compare a list with the expected resource: same IDs, health and NUMA
 * (no TopologyInfo for -1). Returns 0 or -EINVAL with the first
 * difference printed to stderr. */
int harness_list_matches(const V1beta1__ListAndWatchResponse *list, const struct h_res *res);

#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "test/support/proc.h"

/* A private, writable copy of a generated fixture host ($KGDP_FIXTURES/
 * <name>) and the real daemon ($KGDP_BIN serve) running on it, for tests
 * and benchmarks that change the host under a live daemon: unbind a GPU,
 * drop a /dev node, hot-add a function. libc only (no CUnit, no gRPC), so
 * integration tests and benchmarks share it. */

struct live_host {
    char *root;    /* temp dir holding everything below */
    char *sysfs;   /* <root>/host/sys */
    char *dev;     /* <root>/host/dev */
    char *kubelet; /* <root>/kubelet */
    char *cdi;     /* <root>/cdi */
    char *log;     /* the daemon's stdout+stderr */
    pid_t pid;     /* daemon, 0 when not running */
};

/* Copy fixture `name` into a new temp dir and create the kubelet and CDI
 * dirs. 0 or -errno (reason on stderr); live_host_fini frees either way. */
int live_host_init(struct live_host *lh, const char *name);

/* Stop a daemon still running (SIGTERM, then SIGKILL), delete the tree. */
void live_host_fini(struct live_host *lh);

/* Spawn $KGDP_BIN serve on the copy with the pgpu/nvswitch aliases, log
 * level info and extra_args (NULL-terminated, may be NULL). With
 * KGDP_VALGRIND=1 it runs under valgrind (exit 99 on errors or definite
 * leaks). 0 or -errno. */
int live_host_spawn(struct live_host *lh, const char *const *extra_args);

/* Bind (restore the driver link) or unbind (move it aside) function bdf,
 * as seen in sys/bus/pci/devices/<bdf>/driver. Idempotent. 0 or -errno. */
int live_host_set_bound(const struct live_host *lh, const char *bdf, bool bound);

/* Remove (move aside) or restore the device node dev/<path>, e.g.
 * "vfio/devices/vfio2". Idempotent. 0 or -errno. */
int live_host_set_node(const struct live_host *lh, const char *path, bool present);

/* Hot-unplug (present false) or bring back function bdf: its bus link,
 * its device directory and its IOMMU group entry are moved aside / back
 * (device nodes under dev/ stay). Idempotent. 0 or -errno. */
int live_host_set_present(const struct live_host *lh, const char *bdf, bool present);

/* Hot-add function new_bdf as a clone of src_bdf (same parent, driver and
 * attributes) in a new singleton IOMMU group `group` with vfio cdev
 * vfio<cdev>: device dir, bus and group links, /dev/vfio/<group> and
 * /dev/vfio/devices/vfio<cdev>. 0 or -errno (-EEXIST when present). */
int live_host_add_function(const struct live_host *lh, const char *src_bdf, const char *new_bdf,
                           int group, int cdev);

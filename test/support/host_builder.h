#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/host/host.h"

/* Hand-built host models for unit tests: a table of functions becomes a
 * struct topo_host as topo_scan() would produce it (sorted, indices,
 * groups with viability, root ports), every device node present. */

struct hb_fn {
    const char *bdf;
    enum topo_kind kind;
    uint16_t device;
    const char *model;       /* NULL for bridges */
    const char *driver;      /* NULL: unbound; vfio when the name contains "vfio" */
    int group;               /* -1: none */
    int cdev;                /* vfio-dev/vfioN, -1: none */
    int numa;
    const char *parent;      /* upstream bridge BDF, NULL at the top */
    const char *physfn;      /* PF BDF for a VF, else NULL */
    const char *host_bridge; /* "pci0000:00" */
};

#define HB_BRIDGE(b, par, hb)                                                                      \
    {.bdf = (b), .kind = TOPO_KIND_BRIDGE, .driver = "pcieport", .group = -1, .cdev = -1,         \
     .numa = -1, .parent = (par), .host_bridge = (hb)}
#define HB_DEV(b, k, dev, mod, drv, grp, cd, nn, par, hb)                                         \
    {.bdf = (b), .kind = (k), .device = (dev), .model = (mod), .driver = (drv), .group = (grp),   \
     .cdev = (cd), .numa = (nn), .parent = (par), .host_bridge = (hb)}

/* New host from fns[0..n) (any order). iommufd picks the device-node
 * flavour. NULL on bad input (unknown parent/physfn). Free: topo_host_free. */
struct topo_host *hb_host_new(const struct hb_fn *fns, size_t n, bool iommufd);

/* A temp root with bus/pci/devices/<bdf>/driver links for every function
 * that has a driver, and under <root>/dev the device nodes the host model
 * says exist (vfio/devices/vfioN, vfio/<group>, vfio/vfio, iommu) as plain
 * files; new string (path) or NULL. */
char *hb_sysfs_new(const struct topo_host *host);

/* Point <root>/bus/pci/devices/<bdf>/driver at driver (NULL: unbind). 0 or -errno. */
int hb_sysfs_bind(const char *root, const char *bdf, const char *driver);

/* Remove the temp tree and free root. NULL accepted. */
void hb_sysfs_free(char *root);


/* An HGX-like board: GPUs 0000:{03,04,07,08}:00.0 on NUMA 0 and
 * 0000:{83,84,87,88}:00.0 on NUMA 1, two per PCIe switch, two switches
 * per host bridge (pci0000:00 / pci0000:80); GPU i in IOMMU group 10+i
 * with cdev vfio<i>; NVSwitches 0000:c{0..3}:00.0 sharing group 30
 * (cdevs vfio20..23). */
struct hb_hgx_opts {
    bool iommufd;
    bool acs_off;                 /* GPUs of one switch share a group (the lower id) */
    bool audio;                   /* each GPU has a .1 audio function in its group */
    const char *audio_driver;     /* default "vfio-pci" */
    const char *gpu_driver[8];    /* default "vfio-pci"; "": none */
    const char *gpu_model[8];     /* default "H100 SXM5 80GB" */
    int n_switches;               /* 0..4 */
    const char *switch_driver[4]; /* default "vfio-pci" */
    bool gpu_absent[8];           /* GPU i (and its audio function) left the bus */
};

extern const char *const hb_hgx_gpus[8];

struct topo_host *hb_hgx_new(const struct hb_hgx_opts *o);

struct inventory;
struct inv_policy;

/* The snapshot of board o under policy (its sysfs_root and dev_root are
 * replaced by a new temp root from hb_sysfs_new and <root>/dev). 0 and
 * *ret_inv, *ret_root (free with inventory_unref / hb_sysfs_free), or -errno. */
int hb_build(const struct hb_hgx_opts *o, const struct inv_policy *policy,
             struct inventory **ret_inv, char **ret_root);

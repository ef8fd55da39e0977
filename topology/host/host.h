#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/base/error.h"

/* The host model: what a scan of <sysfs-root> and <dev-root> found.
 * Built by topo_scan() (topology/host/scan.c), immutable afterwards, freed with
 * topo_host_free(). Indices into functions[] are stable for its lifetime. */

#define TOPO_BDF_LEN 13 /* "dddd:bb:dd.f" */

enum topo_kind {
    TOPO_KIND_OTHER = 0,   /* not NVIDIA, not a bridge */
    TOPO_KIND_BRIDGE,      /* PCI-to-PCI bridge / root or switch port (class 0x0604) */
    TOPO_KIND_GPU,         /* NVIDIA class 0x0300 or 0x0302 */
    TOPO_KIND_NVSWITCH,    /* NVIDIA class 0x0680 */
    TOPO_KIND_COMPANION,   /* any other NVIDIA function (audio 0x0403, ...) */
};

enum topo_family {
    TOPO_FAMILY_OTHER = 0,
    TOPO_FAMILY_HOPPER,
    TOPO_FAMILY_BLACKWELL,
};

/* GPU-to-GPU distance classes, closest first (cf. `nvidia-smi topo -m`). */
enum topo_distance {
    TOPO_DIST_SELF = 0,
    TOPO_DIST_PIX,  /* at most one PCIe switch between them */
    TOPO_DIST_PXB,  /* several PCIe switches, same root port / host bridge path not crossed */
    TOPO_DIST_PHB,  /* through the same PCIe host bridge (root complex) */
    TOPO_DIST_NODE, /* different host bridges, same NUMA node */
    TOPO_DIST_SYS,  /* across NUMA nodes (or NUMA unknown) */
};

enum topo_iommu_mode {
    TOPO_IOMMU_AUTO = 0,
    TOPO_IOMMU_IOMMUFD,
    TOPO_IOMMU_LEGACY,
};

enum topo_power {
    TOPO_POWER_UNKNOWN = 0, /* attribute missing or unreadable */
    TOPO_POWER_D0,
    TOPO_POWER_D1,
    TOPO_POWER_D2,
    TOPO_POWER_D3HOT,
    TOPO_POWER_D3COLD,
};

enum topo_config_state {
    TOPO_CONFIG_UNKNOWN = 0, /* config space not readable */
    TOPO_CONFIG_OK,
    TOPO_CONFIG_ALL_ONES,    /* the device no longer answers ("fell off the bus") */
};

enum topo_reset {
    TOPO_RESET_UNKNOWN = 0, /* reset_method not shown (older kernel) */
    TOPO_RESET_NONE,        /* the kernel knows no way to reset the function */
    TOPO_RESET_SOME,
};

/* What the kernel reports about a GPU/NVSwitch at the PCIe layer. Zero
 * means unknown everywhere: attributes missing on older kernels (and
 * hand-built hosts) never count as faults. Read by topo_pcie_read
 * (topology/pcie_state.c). */
struct topo_pcie {
    bool aer_fatal_known;
    bool aer_nonfatal_known;
    int64_t aer_fatal;       /* TOTAL_ERR_FATAL of aer_dev_fatal */
    int64_t aer_nonfatal;    /* TOTAL_ERR_NONFATAL of aer_dev_nonfatal */
    enum topo_power power;   /* power_state */
    enum topo_reset reset;   /* reset_method */
    char reset_method[64];   /* "flr bus" (truncated) when reset is SOME */
    int link_speed;          /* current_link_speed in 0.1 GT/s (160 = 16.0 GT/s); 0: unknown */
    int link_max_speed;      /* max_link_speed, same unit; 0: unknown */
    int link_width;          /* current_link_width in lanes; 0: unknown */
    int link_max_width;      /* max_link_width in lanes; 0: unknown */
    enum topo_config_state config;
};

struct topo_function {
    char bdf[TOPO_BDF_LEN + 1]; /* canonical, lower-case: "0000:18:00.0" */
    uint16_t vendor;
    uint16_t device;
    uint32_t class_code; /* 24-bit: base, sub, prog-if; e.g. 0x030200 */
    enum topo_kind kind;
    enum topo_family family;
    char *model;       /* NVIDIA functions: table name, pci.ids, or "device-XXXX"; else NULL */
    char *driver;      /* bound driver name, NULL when none */
    bool vfio;         /* driver is vfio-pci or a vfio variant (nvgrace_gpu_vfio_pci, ...) */
    int iommu_group;   /* -1: none */
    int vfio_cdev;     /* N of vfio-dev/vfioN, -1: none */
    bool cdev_node;    /* <dev-root>/vfio/devices/vfioN exists */
    int numa_node;     /* -1: unknown */
    bool is_vf;        /* SR-IOV virtual function (has physfn) */
    int physfn;        /* index of the PF when is_vf, else -1 */
    int parent;        /* index of the upstream bridge in functions[], -1 at a root port's top */
    int root_port;     /* index of the root port above it (itself if it is one), -1 if none */
    char *host_bridge; /* name of the sysfs directory above the root port ("pci0000:00"), or NULL */
    struct topo_pcie pcie; /* GPU/NVSwitch PFs only; all unknown for other functions */
    bool reported;     /* an NVIDIA function, a member of its IOMMU group or a bridge above:
                        * links, group, NUMA node and PF were read. Others carry only
                        * IDs, class and driver (from their uevent); -1 elsewhere. */
};

struct topo_group {
    int id;
    bool dev_node;      /* <dev-root>/vfio/<id> exists */
    size_t n_members;
    size_t *members;    /* indices into functions[], sorted by BDF */
    bool viable;        /* every member is a bridge or VFIO-bound */
    char *not_viable;   /* NULL when viable, else "0000:18:00.1 bound to snd_hda_intel" */
};

struct topo_host {
    size_t n_functions;
    struct topo_function *functions; /* sorted by BDF */
    size_t n_groups;
    struct topo_group *groups;       /* sorted by id */
    bool dev_iommu;       /* <dev-root>/iommu or <sysfs-root>/class/misc/iommu exists */
    bool dev_vfio;        /* <dev-root>/vfio/vfio exists */
    bool iommufd;         /* resolved from the requested mode and what exists */
    size_t n_warnings;
    char **warnings;      /* one line each, naming the path concerned */
    size_t n_numa_nodes;  /* rows/columns of numa_distance (node ids 0..n-1) */
    uint8_t *numa_distance; /* SLIT distances, row-major (10 = local); NULL when unknown */
};

struct topo_scan_options {
    const char *sysfs_root; /* default "/sys" */
    const char *dev_root;   /* default "/dev" */
    enum topo_iommu_mode iommu;
};

/* Scan the host. Returns 0 and a new host in *ret_host (caller frees with
 * topo_host_free), or -errno when the roots cannot be opened at all.
 * Damaged entries never fail the scan: they become warnings. */
int topo_scan(const struct topo_scan_options *opts, struct topo_host **ret_host,
              struct topo_error *err);

/* Scan again after the functions named in bdfs changed (uevents: bound,
 * unbound, added, removed): read those functions and what depends on them
 * (their IOMMU groups, newly reported neighbours) again, reuse the rest of
 * prev (borrowed). The result equals topo_scan() of the same tree when
 * nothing else changed; warnings cover only what was read again. prev
 * NULL: a full scan. 0 and *ret_host (caller frees), or -errno. */
int topo_scan_update(const struct topo_scan_options *opts, const struct topo_host *prev,
                     const char *const *bdfs, size_t n_bdfs, struct topo_host **ret_host,
                     struct topo_error *err);

/* Free a host model; NULL is accepted. */
void topo_host_free(struct topo_host *host);

/* Index of the function with this BDF, or -ENOENT. */
int topo_host_find(const struct topo_host *host, const char *bdf);

/* The group with this id, or NULL. */
const struct topo_group *topo_host_group(const struct topo_host *host, int id);

/* SLIT distance between NUMA nodes a and b (10 = same node), or -ENOENT
 * when either is unknown or the host has no distance table. */
int topo_numa_distance(const struct topo_host *host, int a, int b);

/* Distance class between two functions (indices) of the host. */
enum topo_distance topo_distance(const struct topo_host *host, size_t a, size_t b);

/* May f sit in a group that VFIO hands out? Bound to a VFIO driver, or a
 * bridge with no driver or one that leaves DMA to the group's owner
 * (pcieport, pci-stub: driver_managed_dma in the kernel). A bridge bound to
 * any other driver (shpchp, for one) makes the kernel refuse the group
 * (VFIO_GROUP_GET_STATUS: not viable). */
bool topo_group_member_ok(const struct topo_function *f);

/* Read the PCIe facts of one function from its device directory (dev_fd:
 * <sysfs-root>/bus/pci/devices/<bdf>, any open directory fd). One bounded
 * read per attribute; a missing or unparsable attribute leaves its field
 * unknown (zero). Always fills *ret. */
void topo_pcie_read(int dev_fd, struct topo_pcie *ret);

/* A link trained below its maximum speed or width (both sides known). */
bool topo_pcie_link_degraded(const struct topo_pcie *p);

/* "D0", "D3cold", ... or "unknown"; static strings. */
const char *topo_power_name(enum topo_power p);

/* Is this GPU/NVSwitch assignable as a whole device: a PF (not a VF),
 * VFIO-bound, in an IOMMU group, group viable. When false and reason is not
 * NULL, a one-line human reason without the function's own address
 * ("bound to nvidia, not to a VFIO driver") is written there (truncated to len). */
bool topo_assignable(const struct topo_host *host, size_t index, char *reason, size_t len);

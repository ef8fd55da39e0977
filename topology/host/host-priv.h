#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "topology/host/host.h"

/* Internals shared by the files that build a struct topo_host
 * (scan.c, pcie_path.c, iommu.c, vfio.c, models.c, host.c). */

/* Append one warning line to host->warnings. Returns 0 or -ENOMEM (the
 * warning is then dropped: warnings never fail a scan). */
int topo_host_warn(struct topo_host *host, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Our own model table: returns true and sets *ret_name (static string)
 * and *ret_family for a known NVIDIA device ID. */
bool topo_model_lookup(uint16_t device, const char **ret_name, enum topo_family *ret_family);

/* Classify a function from vendor and 24-bit class. */
enum topo_kind topo_classify(uint16_t vendor, uint32_t class_code);

/* Is this driver name a VFIO driver (vfio-pci or a vfio variant)? */
bool topo_vfio_driver(const char *driver);

/* What a function's uevent file says (pointers into the parsed text). */
struct topo_pci_uevent {
    uint16_t vendor, device;
    uint32_t class_code;
    bool has_id, has_class; /* PCI_ID / PCI_CLASS present */
    const char *driver;     /* DRIVER=, NULL when unbound */
    const char *slot;       /* PCI_SLOT_NAME=, NULL when absent */
};

/* Parse the text of a PCI function's uevent in place (lines KEY=VALUE;
 * unknown keys ignored). 0 and *ret, or -EINVAL for a malformed PCI_ID
 * or PCI_CLASS. */
int topo_pci_uevent_parse(char *text, struct topo_pci_uevent *ret);

/* Fill host->functions (sorted by BDF) from the directory devices_fd
 * (<sysfs-root>/bus/pci/devices): bdf, IDs, class, kind, driver and vfio,
 * one read of each function's uevent. Damaged or vanished entries become
 * warnings. 0, or -errno with err (listing failed, out of memory). */
int topo_enumerate(struct topo_host *host, int devices_fd, const char *root,
                   struct topo_error *err);

/* Fill f from bus/pci/devices/<bdf>/uevent (devices_fd is that
 * directory). 1: kept, 0: the device is gone (warned), -ENOMEM. */
int topo_enumerate_one(struct topo_host *host, const char *root, int devices_fd, const char *bdf,
                       struct topo_function *f);

/* Set parent, root_port and host_bridge of functions[index] from the
 * target of its bus/pci/devices link ("../../../devices/pci0000:00/...").
 * Every function must already be in host->functions. Problems -> warnings. */
void topo_pcie_resolve(struct topo_host *host, size_t index, const char *link,
                       const char *sysfs_root);

/* List <sysfs-root>/kernel/iommu_groups into host->groups (ids only,
 * sorted). Returns 0 or -ENOMEM; no directory means no groups. */
int topo_iommu_list(struct topo_host *host, int sys_fd, const char *sysfs_root);

/* Replace the members of g by what kernel/iommu_groups/<id>/devices
 * lists (sorted; unknown names -> warnings). 0 or -ENOMEM. */
int topo_iommu_list_members(struct topo_host *host, int sys_fd, const char *sysfs_root,
                            struct topo_group *g);

/* Once the scan is done: groups not listed (listed[i] false for
 * host->groups[i]) get their members from the functions' iommu_group
 * links; then every group's viability and /dev/vfio/<id> presence.
 * Returns 0 or -ENOMEM. */
int topo_iommu_members(struct topo_host *host, const bool *listed, int dev_fd);

/* Fill dev_iommu, dev_vfio, per-function cdev_node and resolve iommufd. */
void topo_vfio_resolve(struct topo_host *host, int sys_fd, int dev_fd, enum topo_iommu_mode mode);

/* Read the NUMA distance table into host->n_numa_nodes/numa_distance:
 * through libnuma when sysfs_root is the live /sys, else from
 * <sysfs-root>/devices/system/node/nodeN/distance. A host without NUMA
 * information keeps an empty table; problems -> warnings. 0 or -ENOMEM. */
int topo_numa_scan(struct topo_host *host, int sys_fd, const char *sysfs_root);

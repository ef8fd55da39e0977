#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/base/error.h"
#include "topology/host/host.h"

/* Inventory snapshot: what the server answers from. Immutable once built,
 * reference-counted (atomic), shared between the gRPC thread and the
 * rescan thread. Built from a host model by inventory_build() (allocation
 * rules, topology/), or by tests from hand-written data with
 * inventory_new() and their own ops. */

enum inv_mode {
    INV_MODE_PASSTHROUGH = 0,
    INV_MODE_MULTI,
    INV_MODE_PPCIE,
};

struct inv_device_node {
    char *path;      /* path inside the container/VM: "/dev/vfio/devices/vfio3" */
    char *host_path; /* the same node under the dev root: "<dev-root>/vfio/devices/vfio3" */
};

struct inv_device {
    char *id;        /* kubelet device ID: canonical PCI address */
    bool healthy;
    int numa_node;   /* -1: unknown (TopologyInfo left out) */
    char *reason;    /* why unhealthy; NULL when healthy */
    size_t n_nodes;  /* the device nodes Allocate returns for this device alone */
    struct inv_device_node *nodes;
    struct topo_pcie pcie;  /* PCIe facts at the scan (all unknown for a vanished device) */
    int64_t aer_fault_at;   /* policy clock of the last growth of pcie.aer_fatal; 0: none */
    int64_t aer_fault_from; /* the fatal count before that growth */
};

struct inv_resource {
    char *name;      /* "nvidia.com/pgpu" */
    size_t n_devices;
    struct inv_device *devices; /* sorted by id */
};

/* What Allocate returns for one container request. */
struct inv_allocation {
    size_t n_nodes;
    struct inv_device_node *nodes; /* de-duplicated, sorted by path */
    size_t n_ids;
    char **ids;                    /* the devices granted, in the order of the answer */
};

/* One GPU or NVSwitch model present on the node. */
struct inv_model {
    char *name;         /* "GH100 [H100 SXM5 80GB]": our table, pci.ids or "device-XXXX" */
    char *token;        /* the per-model resource name part: "GH100_H100_SXM5_80GB" (< 64) */
    uint16_t device_id; /* PCI device ID (vendor 10de) */
    enum topo_kind kind;     /* TOPO_KIND_GPU or TOPO_KIND_NVSWITCH */
    enum topo_family family;
    size_t count;       /* physical functions (not VFs) of this model on the bus */
};

/* Facts about the node as a whole, for node labels (copied from the host). */
struct inv_node {
    enum inv_mode mode;
    bool iommufd;        /* device nodes are iommufd cdevs */
    size_t n_gpus;       /* GPU PFs on the bus, any driver */
    size_t n_nvswitches; /* NVSwitch PFs on the bus, any driver */
    bool ppcie_capable;  /* Hopper HGX: every GPU Hopper, >= 1 NVSwitch, every GPU and
                          * NVSwitch assignable (protected PCIe needs them all in one VM) */
    bool multi_capable;  /* Blackwell: >= 2 GPUs, all Blackwell and assignable */
    size_t n_models;
    struct inv_model *models; /* GPUs first, then NVSwitches; by device ID within each */
};

struct inventory;

/* Allocation behaviour of a snapshot. Errors: -EINVAL for a request that is
 * malformed (unknown or duplicate ID, bad size) -> INVALID_ARGUMENT;
 * -EPERM (mode rule, splitting a unit) or -ENODEV (unhealthy, no longer
 * VFIO-bound) -> FAILED_PRECONDITION; anything else -> INTERNAL. err->msg is
 * shown to the user as is. */
struct inventory_ops {
    int (*preferred)(const struct inventory *inv, size_t resource, const char *const *available,
                     size_t n_available, const char *const *must, size_t n_must, size_t size,
                     char ***ret_ids, size_t *ret_n, struct topo_error *err);
    int (*allocate)(const struct inventory *inv, size_t resource, const char *const *ids,
                    size_t n_ids, struct inv_allocation *ret, struct topo_error *err);
    void (*free_priv)(void *priv);
};

/* A GPU or NVSwitch on the bus that another stack's driver (nvidia,
 * nouveau, ...) holds: capacity of that stack, not advertised by us. */
struct inv_foreign {
    char *id;     /* canonical PCI address */
    char *driver; /* the driver bound to it */
};

struct inventory {
    int refcount;                /* atomic; use inventory_ref/unref */
    uint64_t generation;         /* increases with every published snapshot */
    int64_t recheck_at;          /* policy clock at which health changes without a
                                  * hardware event (an AER quiet period ends); 0: never */
    struct inv_node node;
    size_t n_resources;
    struct inv_resource *resources; /* sorted by name */
    size_t n_foreign;
    struct inv_foreign *foreign; /* sorted by id; not part of inventory_equal */
    const struct inventory_ops *ops;
    void *priv;                  /* owned; freed by ops->free_priv */
};

/* New empty snapshot with refcount 1 and the given ops/priv (priv owned). */
struct inventory *inventory_new(const struct inventory_ops *ops, void *priv);

/* Take / drop a reference; unref frees at zero. NULL accepted. */
struct inventory *inventory_ref(struct inventory *inv);
void inventory_unref(struct inventory *inv);

/* Resource index by name, or -ENOENT. */
int inventory_find_resource(const struct inventory *inv, const char *name);

/* The device with this id in any resource, or NULL (inv may be NULL). */
const struct inv_device *inventory_find_any(const struct inventory *inv, const char *id);

/* Device index within a resource by id, or -ENOENT. */
int inventory_find_device(const struct inv_resource *res, const char *id);

/* Wrappers over ops; -EOPNOTSUPP when the op is missing. Outputs are owned
 * by the caller: free ids with inventory_free_strv, allocations with
 * inventory_allocation_clear. */
int inventory_preferred(const struct inventory *inv, size_t resource, const char *const *available,
                        size_t n_available, const char *const *must, size_t n_must, size_t size,
                        char ***ret_ids, size_t *ret_n, struct topo_error *err);
int inventory_allocate(const struct inventory *inv, size_t resource, const char *const *ids,
                       size_t n_ids, struct inv_allocation *ret, struct topo_error *err);

void inventory_free_strv(char **v, size_t n);
void inventory_allocation_clear(struct inv_allocation *a);
void inventory_device_clear(struct inv_device *d);
void inventory_resource_clear(struct inv_resource *r);
void inventory_node_clear(struct inv_node *n);

/* Turn every healthy device of resource r unhealthy with a copy of reason
 * (a consumer could not use them, e.g. their CDI spec is not on disk). Only
 * for a snapshot not yet shared with other threads. 0, -EINVAL (no such
 * resource) or -ENOMEM. */
int inventory_mark_unhealthy(struct inventory *inv, size_t r, const char *reason);

/* True when both snapshots would produce the same ListAndWatch lists, CDI
 * content and refusals (resources, ids, health and its reason, NUMA, nodes). */
bool inventory_equal(const struct inventory *a, const struct inventory *b);

/* Is id among inv's foreign devices? false for NULL. */
bool inventory_is_foreign(const struct inventory *inv, const char *id);

/* One change between two snapshots (topology/units/diff.c). */
enum inv_change {
    INV_CHANGE_ADDED = 0, /* old is NULL */
    INV_CHANGE_REMOVED,   /* new is NULL */
    INV_CHANGE_HEALTH,    /* health or its reason changed */
};

typedef void inv_diff_fn(void *ctx, enum inv_change what, const char *resource,
                         const struct inv_device *old, const struct inv_device *new);

/* Call fn once per device added, removed or whose health (or reason)
 * changed from old to new (either may be NULL), resources in old's order
 * then new ones, devices by id. Returns the number of changes. */
size_t inventory_diff(const struct inventory *old, const struct inventory *new, inv_diff_fn *fn,
                      void *ctx);

/* What a host model becomes a snapshot under (topology/units/build.c). */
struct inv_policy {
    enum inv_mode mode;
    const char *domain;         /* resource domain: "nvidia.com" */
    const char *gpu_alias;      /* "pgpu"; "" = one resource per GPU model */
    const char *nvswitch_alias; /* "nvswitch"; "" = one resource per NVSwitch model */
    const char *sysfs_root;     /* Allocate re-checks driver bindings here */
    const char *dev_root;       /* host paths of device nodes are under it */
    const struct inventory *previous; /* devices it listed that are gone now stay listed,
                                       * Unhealthy; NULL: none. Its AER counts are the
                                       * baseline for growth (none: no growth yet) */
    int64_t now;                /* clock for AER quiet periods, in seconds (monotonic) */
    unsigned aer_quiet;         /* seconds a device stays Unhealthy after its fatal AER
                                 * count grew; 0: only for the scan that saw it grow */
};

struct topo_host;

/* Build a snapshot (refcount 1) from a host model: units, resources,
 * health, device nodes and the allocation ops. Count only ours: a GPU or
 * NVSwitch bound to a VFIO driver or to none (waiting to be bound:
 * Unhealthy) is listed; one bound to another driver is not (it goes to
 * inv->foreign) unless policy->previous listed it (it lost its binding:
 * Unhealthy). The snapshot keeps what it
 * needs from host (it does not borrow it). 0 or -errno with err. */
int inventory_build(const struct topo_host *host, const struct inv_policy *policy,
                    struct inventory **ret, struct topo_error *err);

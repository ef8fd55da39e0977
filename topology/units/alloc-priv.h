#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/base/error.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* Internals of the snapshots that inventory_build() makes: units,
 * distances and re-check lists, shared by build.c, units.c, prefer.c and
 * allocate.c. The snapshot owns copies; nothing points into the host. */

/* The "host function index" of a vanished device: one that the previous
 * snapshot listed and that is no longer on the PCI bus. It stays listed,
 * unhealthy and without device nodes, in a unit of its own (group -1,
 * nothing to re-check), TOPO_DIST_SYS and unknown NUMA distance to every
 * other device; it is never an index into host->functions[]. */
#define ALLOC_FN_VANISHED SIZE_MAX

/* Reason of a vanished device. */
#define ALLOC_VANISHED_REASON "no longer present on the PCI bus"

#define ALLOC_LINK_LEN (TOPO_BDF_LEN + sizeof("/driver"))

/* Devices of one resource that must be assigned together (one IOMMU group). */
struct alloc_unit {
    int group;             /* IOMMU group id, -1 when the device has none */
    size_t n_devices;
    size_t *devices;       /* indices into the resource's devices[], ascending */
    size_t n_check;
    char (*check)[TOPO_BDF_LEN + 1]; /* non-bridge group members that must stay VFIO-bound */
    char (*check_link)[ALLOC_LINK_LEN]; /* theirs "<bdf>/driver", relative to bus/pci/devices */
};

struct alloc_resource {
    bool gpu;              /* a GPU resource (multi mode applies to it) */
    size_t n_units;
    struct alloc_unit *units;
    size_t *unit_of;       /* per device: index into units[] */
    uint8_t *dist;         /* n_devices * n_devices enum topo_distance values */
    uint8_t *numa;         /* n_devices * n_devices SLIT distances of their NUMA
                            * nodes (UINT8_MAX: unknown); ranks pairs on
                            * different nodes (prefer.c) */
};

/* What Allocate needs is made once per snapshot: the directories it
 * re-checks are held open (O_PATH), the link paths are prebuilt. */
struct alloc_priv {
    enum inv_mode mode;
    char *sysfs_root;
    int devices_fd;        /* <sysfs-root>/bus/pci/devices, or -errno of its open */
    int dev_fd;            /* the dev root, or -errno of its open */
    size_t n_resources;
    struct alloc_resource *res; /* parallel to inventory.resources[] */
};

extern const struct inventory_ops alloc_ops;

/* Free priv (an alloc_priv); NULL accepted. */
void alloc_priv_free(void *priv);

/* Resource name ("nvidia.com/pgpu" or per-model) for every listed function
 * fns[i]; ret_names[i] are new strings. 0 or -EINVAL (bad alias, clash). */
int alloc_resource_names(const struct topo_host *host, const struct inv_policy *policy,
                         const size_t *fns, size_t n, char **ret_names, struct topo_error *err);

/* The per-model part of resource names ("GH100_H100_SXM5_80GB"): model
 * upper-cased, spaces, '/' and '.' as '_', other characters dropped,
 * alphanumeric at both ends; "DEVICE_XXXX" when nothing is left. At most
 * outlen-1 characters. */
void alloc_model_token(const char *model, uint16_t device, char *out, size_t outlen);

/* Valid extended resource name "domain/name" (kubelet's rule)? */
bool alloc_resource_name_valid(const char *name);


/* Device nodes that Allocate returns for function fn alone (iommufd cdevs
 * of the VFIO members of its group, or /dev/vfio/vfio + /dev/vfio/<group>),
 * sorted, de-duplicated, host paths under dev_root. 0 or -ENOMEM. */
int alloc_device_nodes(const struct topo_host *host, const char *dev_root, size_t fn,
                       struct inv_device *dev);

/* Why function fn cannot be handed out (new string in *ret_reason), or
 * NULL when it can. 0 or -ENOMEM. */
int alloc_health_reason(const struct topo_host *host, size_t fn, char **ret_reason);

/* ppcie: when any GPU/NVSwitch of the host is not assignable, or a listed
 * one vanished (fn_of[r][d] == ALLOC_FN_VANISHED), turn every listed device
 * unhealthy with a reason naming what is missing. 0 or -ENOMEM. */
int alloc_health_ppcie(const struct topo_host *host, struct inventory *inv,
                       size_t *const *fn_of);

/* A group whose listed devices fall in several resources cannot be handed
 * out through any one of them: those devices turn unhealthy. fn_of[r][d]
 * is the host function of device d of resource r (vanished ones skipped). */
int alloc_health_shared_groups(const struct topo_host *host, struct inventory *inv,
                               size_t *const *fn_of);

/* PCIe health (pcie_health.c): copy each present device's PCIe facts,
 * carry AER faults over from policy->previous, and turn devices whose
 * config space reads all-ones or whose fatal AER count grew within the
 * quiet period unhealthy; sets inv->recheck_at. 0 or -ENOMEM. */
int alloc_health_pcie(const struct topo_host *host, const struct inv_policy *policy,
                      struct inventory *inv, size_t *const *fn_of);

/* Node facts for labels (node.c): 0 and *ret (clear with
 * inventory_node_clear), or -ENOMEM. */
int alloc_node_facts(const struct topo_host *host, const struct inv_policy *policy,
                     struct inv_node *ret);

/* Open the directories Allocate re-checks (a failed open is kept as
 * -errno and reported by each Allocate). 0 or -ENOMEM. */
int alloc_priv_prepare(struct alloc_priv *p, const char *dev_root);

/* Units, distances and re-check lists of resource r; fn_of[d] may be
 * ALLOC_FN_VANISHED. ret->gpu comes from the first present device (false
 * when none is). 0 or -ENOMEM. */
int alloc_units_build(const struct topo_host *host, const struct inv_resource *res,
                      const size_t *fn_of, struct alloc_resource *ret);
void alloc_resource_priv_clear(struct alloc_resource *ar);

/* Does a request of n devices of resource r obey the passthrough mode?
 * 0, or -EPERM with an actionable message. */
int alloc_mode_check(const struct inventory *inv, size_t r, size_t n, struct topo_error *err);

/* Ops (prefer.c, allocate.c). */
int alloc_preferred(const struct inventory *inv, size_t resource, const char *const *available,
                    size_t n_available, const char *const *must, size_t n_must, size_t size,
                    char ***ret_ids, size_t *ret_n, struct topo_error *err);
int alloc_allocate(const struct inventory *inv, size_t resource, const char *const *ids,
                   size_t n_ids, struct inv_allocation *ret, struct topo_error *err);

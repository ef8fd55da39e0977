#pragma once

#include "plugin/config/options.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

/* Test-only inventory described by a small text file (test/testd, the
 * integration tests). One directive per line, '#' starts a comment:
 *   resource <resource-name>
 *   device <id> <Healthy|Unhealthy> <numa-node|-1> <container-node-path>[,<path>...]
 * Devices belong to the preceding resource; node paths start with "/dev/"
 * and their host path is <dev-root> + the path minus the leading "/dev".
 * Resources come out sorted by name, devices by id.
 *
 * Allocation semantics (deliberately simple):
 *   Allocate: each ID must exist (-EINVAL "unknown device <ID> for <resource>"),
 *   no duplicates (-EINVAL), healthy (-ENODEV "<ID> is unhealthy: <reason>");
 *   returns the de-duplicated nodes sorted by path, CDI name "<resource>=<ID>"
 *   per device, and one env PCI_RESOURCE_<RESOURCE upper-cased, '/' '.' '-'
 *   -> '_'>=<ID,ID,...> (IDs in request order).
 *   Preferred: must_include first, then the remaining available IDs in
 *   sorted order, up to size; unknown IDs are -EINVAL. */

/* Parse text into a new snapshot (refcount 1, caller owns). 0 or -EINVAL
 * with "line N: ..." in err, -ENOMEM. */
int fake_inventory_parse(const char *text, const char *dev_root, struct inventory **ret,
                         struct topo_error *err);

/* Read and parse the file at path. 0 or -errno with err. */
int fake_inventory_load(const char *path, const char *dev_root, struct inventory **ret,
                        struct topo_error *err);

/* plugin_inventory_loader over the file named by env KGDP_FAKE_INVENTORY,
 * with o->dev_root; ctx unused. -ENOENT when the variable is unset. */
int fake_inventory_loader(const struct plugin_options *o, void *ctx,
                          const struct inventory *previous, const char *const *changed,
                          size_t n_changed, struct inventory **ret,
                          struct topo_error *err);

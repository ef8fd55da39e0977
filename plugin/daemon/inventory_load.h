#pragma once

#include "plugin/config/options.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

/* Scan the roots of o and build a snapshot under the policy o describes
 * (domain nvidia.com, aliases, mode); devices that previous (borrowed, may
 * be NULL) listed and that left the bus stay listed, unhealthy. Scan
 * warnings are logged, one line each. 0 and *ret (refcount 1, caller's),
 * or -errno with err. */
int plugin_inventory_scan(const struct plugin_options *o, const struct inventory *previous,
                          struct inventory **ret, struct topo_error *err);

/* Log the PCIe facts of inv that are new since previous (NULL: all of
 * them): degraded links, missing reset methods, devices that stopped
 * answering, AER counts that grew, power state changes. */
void plugin_pcie_report(const struct inventory *inv, const struct inventory *previous);

/* CLOCK_MONOTONIC in whole seconds (at least 1): the clock of AER quiet
 * periods (inv_policy.now, inventory.recheck_at). */
int64_t plugin_monotonic_seconds(void);

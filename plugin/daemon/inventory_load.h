#pragma once

#include <stddef.h>

#include "plugin/config/options.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

struct topo_host;

/* The host model of the last scan, kept for the next incremental one. */
struct plugin_scan_cache {
    struct topo_host *host; /* NULL before the first scan */
};

/* Scan the roots of o and build a snapshot under the policy o describes
 * (domain nvidia.com, aliases, mode); devices that previous (borrowed, may
 * be NULL) listed and that left the bus stay listed, unhealthy. With a
 * cache holding the last host and n_changed > 0, only the functions named
 * in changed (and what depends on them) are read again; the cache then
 * keeps the new host. Scan warnings are logged, one line each. 0 and *ret
 * (refcount 1, caller's), or -errno with err. */
int plugin_inventory_scan(const struct plugin_options *o, const struct inventory *previous,
                          struct plugin_scan_cache *cache, const char *const *changed,
                          size_t n_changed, struct inventory **ret, struct topo_error *err);

/* Free what the cache holds; NULL accepted. */
void plugin_scan_cache_clear(struct plugin_scan_cache *cache);

/* Log the PCIe facts of inv that are new since previous (NULL: all of
 * them): degraded links, missing reset methods, devices that stopped
 * answering, AER counts that grew, power state changes. */
void plugin_pcie_report(const struct inventory *inv, const struct inventory *previous);

/* CLOCK_MONOTONIC in whole seconds (at least 1): the clock of AER quiet
 * periods (inv_policy.now, inventory.recheck_at). */
int64_t plugin_monotonic_seconds(void);

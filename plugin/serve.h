#pragma once

#include "plugin/options.h"
#include "topology/error.h"
#include "topology/inventory.h"

/* Produces a fresh inventory snapshot (refcount 1, owned by the caller).
 * Called once at start and again for every rescan (SIGHUP, ...). */
typedef int (*plugin_inventory_loader)(const struct plugin_options *o, void *ctx,
                                       struct inventory **ret, struct topo_error *err);

/* Run the daemon: load the inventory, serve one socket per resource in
 * o->kubelet_dir, register with the kubelet, follow kubelet restarts,
 * rescan on SIGHUP, stop on SIGTERM/SIGINT. Returns the exit status. */
int plugin_serve_run(const struct plugin_options *o, plugin_inventory_loader load, void *ctx);

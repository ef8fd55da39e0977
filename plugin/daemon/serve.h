#pragma once

#include "plugin/config/options.h"
#include "plugin/events/rescan.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

/* Run the daemon: load the inventory, serve one socket per resource in
 * o->kubelet_dir, register with the kubelet, follow kubelet restarts,
 * rescan on SIGHUP, stop on SIGTERM/SIGINT. Returns the exit status. */
int plugin_serve_run(const struct plugin_options *o, plugin_inventory_loader load, void *ctx);

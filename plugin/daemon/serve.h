#pragma once

#include "plugin/config/options.h"
#include "plugin/events/rescan.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

struct plugin_metrics;

/* Run the daemon: check the kubelet dir, load the inventory, check the
 * socket paths, and only then sync it (nothing is written before a fatal
 * start error); serve one socket per resource in o->kubelet_dir, register
 * with the kubelet, follow kubelet restarts, rescan on SIGHUP, stop on
 * SIGTERM/SIGINT. metrics (may be NULL) counts what happens and is served
 * on o->metrics_address when that is set. Returns 0 after a clean stop, or
 * the -errno of the failure (logged). */
int plugin_serve_run(const struct plugin_options *o, const struct plugin_source *src,
                     struct plugin_metrics *metrics);

#pragma once

#include "plugin/config/options.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

struct plugin_sink;
struct plugin_rescan;

/* Produces a fresh inventory snapshot (refcount 1, owned by the caller).
 * Called once at start and again for every rescan (SIGHUP, ...). */
typedef int (*plugin_inventory_loader)(const struct plugin_options *o, void *ctx,
                                       struct inventory **ret, struct topo_error *err);

/* The rescan thread: runs the loader off the gRPC thread on request
 * (requests that arrive during a scan coalesce into one more scan) and
 * every interval seconds (0 = only on request), and publishes a snapshot
 * that differs from the last one. last is the snapshot being served (the
 * thread takes its own reference). 0 and *ret, or -errno. */
int plugin_rescan_start(const struct plugin_sink *sink, const struct plugin_options *o,
                        plugin_inventory_loader load, void *ctx, struct inventory *last,
                        unsigned interval, struct plugin_rescan **ret);

/* Stop and join the thread (after a scan in progress), free it. NULL accepted. */
void plugin_rescan_stop(struct plugin_rescan *r);

/* Ask for a rescan (coalesced with one in progress). Any thread; NULL accepted. */
void plugin_rescan_request(struct plugin_rescan *r);

#pragma once

#include "plugin/serve.h"

struct plugin_loop;
struct plugin_rescan;

/* The rescan thread: runs the loader off the gRPC thread on request
 * (requests that arrive during a scan coalesce into one more scan) and
 * every interval seconds (0 = only on request), and publishes a snapshot
 * that differs from the last one. last is the snapshot being served (the
 * thread takes its own reference). 0 and *ret, or -errno. */
int plugin_rescan_start(struct plugin_loop *loop, const struct plugin_options *o,
                        plugin_inventory_loader load, void *ctx, struct inventory *last,
                        unsigned interval, struct plugin_rescan **ret);

/* Stop and join the thread (after a scan in progress), free it. NULL accepted. */
void plugin_rescan_stop(struct plugin_rescan *r);

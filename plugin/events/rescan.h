#pragma once

#include <stdbool.h>

#include "plugin/config/options.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

struct plugin_sink;
struct plugin_rescan;

/* Produces a fresh inventory snapshot (refcount 1, owned by the caller).
 * Called once at start and again for every rescan (SIGHUP, ...). */
typedef int (*plugin_inventory_loader)(const struct plugin_options *o, void *ctx,
                                       struct inventory **ret, struct topo_error *err);

/* Makes what consumers resolve match a new snapshot (CDI specs) before
 * anyone is told about it, and turns the devices it could not serve
 * Unhealthy in inv (not shared yet). 0 when everything is in place, or
 * -errno for a failure a later attempt may fix: it is tried again with
 * backoff until it succeeds. */
typedef int (*plugin_inventory_sync)(const struct plugin_options *o, void *ctx,
                                     struct inventory *inv);

/* Where the daemon's snapshots come from; sync may be NULL. sync_dir,
 * when set, is the directory sync writes into: a change there by someone
 * else triggers a rescan (and so a sync) at once. */
struct plugin_source {
    plugin_inventory_loader load;
    plugin_inventory_sync sync;
    void *ctx;
    const char *sync_dir;
};

/* Retries of a failed sync: after RESCAN_RETRY_FIRST_MS, doubling up to
 * RESCAN_RETRY_MAX_MS, until a sync succeeds. */
#define RESCAN_RETRY_FIRST_MS 1000u
#define RESCAN_RETRY_MAX_MS 30000u

/* The rescan thread: runs the source's load and sync off the gRPC thread
 * on request (requests that arrive during a scan coalesce into one more
 * scan), every interval seconds (0 = only on request) and, while sync
 * fails, on the retry schedule; it publishes a snapshot that differs from
 * the last one. last is the snapshot being served (the thread takes its
 * own reference); retry: its sync failed. 0 and *ret, or -errno. */
int plugin_rescan_start(const struct plugin_sink *sink, const struct plugin_options *o,
                        const struct plugin_source *src, struct inventory *last, bool retry,
                        unsigned interval, struct plugin_rescan **ret);

/* Stop and join the thread (after a scan in progress), free it. NULL accepted. */
void plugin_rescan_stop(struct plugin_rescan *r);

/* Ask for a rescan (coalesced with one in progress). Any thread; NULL accepted. */
void plugin_rescan_request(struct plugin_rescan *r);

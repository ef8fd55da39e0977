#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "plugin/config/options.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

struct plugin_sink;
struct plugin_rescan;

/* Produces a fresh inventory snapshot (refcount 1, owned by the caller);
 * previous is the current one (borrowed; NULL at start), whose devices
 * that left the bus stay listed. changed names the PCI functions that
 * uevents reported (n_changed > 0: only they changed, the loader may scan
 * just them); n_changed == 0 asks for a full scan. Called once at start and
 * then only on the rescan thread, never concurrently. */
typedef int (*plugin_inventory_loader)(const struct plugin_options *o, void *ctx,
                                       const struct inventory *previous,
                                       const char *const *changed, size_t n_changed,
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

/* Why a rescan runs; requests that arrive during a scan coalesce (bit mask). */
enum {
    PLUGIN_RESCAN_SIGHUP = 1u << 0,
    PLUGIN_RESCAN_UEVENT = 1u << 1,
    PLUGIN_RESCAN_CDI_DIR = 1u << 2, /* someone else changed the CDI dir */
};

/* The rescan thread, the one owner of the current snapshot and the one
 * route to a rescan: every trigger calls plugin_rescan_request() or
 * plugin_rescan_request_functions(); the interval, health re-check times
 * and sync retries are kept here. It runs the source's load (with the
 * current snapshot as the previous one) and sync off the gRPC thread,
 * logs what changed (one line per changed device) and, when anything did,
 * makes the new snapshot current and posts a reference to sink. last is
 * the snapshot being served at start (the thread takes its own reference);
 * retry: its sync failed. 0 and *ret, or -errno. */
int plugin_rescan_start(const struct plugin_sink *sink, const struct plugin_options *o,
                        const struct plugin_source *src, struct inventory *last, bool retry,
                        unsigned interval, struct plugin_rescan **ret);

/* Stop and join the thread (after a scan in progress), free it. NULL accepted. */
void plugin_rescan_stop(struct plugin_rescan *r);

/* Ask for a full rescan for these reasons (PLUGIN_RESCAN_*), coalesced
 * with one in progress. Any thread; NULL accepted. */
void plugin_rescan_request(struct plugin_rescan *r, unsigned why);

/* Ask for a rescan of the PCI functions named by uevents (n == 0: a full
 * one). Requests coalesce until the scan starts; a full request, or more
 * functions than fit, makes it a full scan. Any thread; NULL accepted. */
void plugin_rescan_request_functions(struct plugin_rescan *r, const char *const *bdfs, size_t n);

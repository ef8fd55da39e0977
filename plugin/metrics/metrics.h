#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "topology/units/inventory.h"

/* Prometheus metrics of the daemon. Counters live in a mutex-protected
 * table that any thread may bump; the device gauges come from the newest
 * snapshot, which the metrics hold by reference (never the gRPC loop's
 * pointer). The HTTP side (metrics_http.c) renders on its own thread.
 * Every function accepts m == NULL (metrics off) and then does nothing. */

enum plugin_counter {
    PLUGIN_CTR_ALLOCATIONS = 0, /* resource */
    PLUGIN_CTR_REFUSALS,        /* resource, reason */
    PLUGIN_CTR_PREFERRED,       /* resource, result */
    PLUGIN_CTR_RESCANS,         /* result */
    PLUGIN_CTR_CDI_SYNCS,       /* result */
    PLUGIN_CTR_REGISTRATIONS,   /* resource, result */
    PLUGIN_CTR_KUBELET_RESTARTS,
    PLUGIN_CTR_COUNT,
};

struct plugin_metrics;
struct plugin_metrics_http;

/* New metrics (all zero), or NULL when out of memory. */
struct plugin_metrics *plugin_metrics_new(void);
void plugin_metrics_free(struct plugin_metrics *m);

/* Add one to counter c for the label values it takes (resource and/or a
 * reason/result, see enum plugin_counter; NULL where it takes none). Any
 * thread; never blocks on I/O. */
void plugin_metrics_inc(struct plugin_metrics *m, enum plugin_counter c, const char *resource,
                        const char *reason);

/* Count one Allocate answer: result 0 or the -errno of the refusal. */
void plugin_metrics_allocation(struct plugin_metrics *m, const char *resource, int result);

/* One scan (the first load or a rescan, with its CDI sync) took seconds;
 * ok = it produced a snapshot. */
void plugin_metrics_rescan(struct plugin_metrics *m, double seconds, bool ok);

/* The newest snapshot (a reference is taken; the previous one dropped). */
void plugin_metrics_set_inventory(struct plugin_metrics *m, struct inventory *inv);

/* The whole exposition in the Prometheus text format 0.0.4. 0 and *ret
 * (caller frees, *ret_len bytes), or -ENOMEM. */
int plugin_metrics_render(struct plugin_metrics *m, char **ret, size_t *ret_len);

/* Serve GET /metrics on address ("HOST:PORT", "[v6]:PORT") from a thread
 * of libmicrohttpd's own. 0 and *ret, or -errno with err (bad address,
 * port in use). Start it with the daemon's signals already blocked. */
int plugin_metrics_http_start(struct plugin_metrics *m, const char *address,
                              struct plugin_metrics_http **ret, struct topo_error *err);
/* Stop serving and join the thread; NULL accepted. */
void plugin_metrics_http_stop(struct plugin_metrics_http *h);

#include <errno.h>
#include <time.h>

#include "plugin/cli/commands.h"
#include "plugin/daemon/cdi_sync.h"
#include "plugin/daemon/inventory_load.h"
#include "plugin/daemon/nfd.h"
#include "plugin/daemon/serve.h"
#include "plugin/log/log.h"
#include "plugin/metrics/metrics.h"

/* The loader's memory: the host model of the last scan (for incremental
 * rescans on uevents) and the outputs that follow every snapshot (node
 * labels, metrics). The previous snapshot comes from the rescan thread,
 * its one owner. The loader runs at start and then only on the rescan
 * thread, never concurrently: no lock. */
struct serve_loader {
    struct plugin_scan_cache cache;
    struct plugin_nfd nfd;
    struct plugin_metrics *metrics; /* NULL: off */
};

static double
seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The daemon's loader: scan and build the snapshot. */
static int
scan(const struct plugin_options *o, void *ctx, const struct inventory *previous,
     const char *const *changed, size_t n_changed, struct inventory **ret,
     struct topo_error *err)
{
    struct serve_loader *l = ctx;
    struct inventory *inv = NULL;
    struct timespec t0;
    int r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = plugin_inventory_scan(o, previous, &l->cache, changed, n_changed, &inv, err);
    plugin_metrics_rescan(l->metrics, seconds_since(&t0), r == 0);
    if (r < 0)
        return r;
    *ret = inv;
    return 0;
}

/* Bring the CDI specs in line with the snapshot before anyone is told
 * about its devices. Healthy means a consumer can resolve the device: a
 * resource whose spec is not on disk and current has its devices listed
 * Unhealthy, and the daemon tries again with backoff. Node labels and
 * metrics follow the snapshot as served. */
static int
sync_outputs(const struct plugin_options *o, void *ctx, struct inventory *inv)
{
    struct serve_loader *l = ctx;
    int r = plugin_cdi_sync(o->cdi_dir, inv, o->cdi_takeover);

    plugin_metrics_inc(l->metrics, PLUGIN_CTR_CDI_SYNCS, NULL,
                       r == 0 ? "ok" : r == -EEXIST ? "conflict" : "failed");
    plugin_nfd_sync(&l->nfd, inv, time(NULL));
    plugin_metrics_set_inventory(l->metrics, inv);
    return r;
}

int
cmd_serve(const struct plugin_options *o)
{
    struct serve_loader l = {0};
    struct plugin_source src = {.load = scan, .sync = sync_outputs, .ctx = &l, .sync_dir = o->cdi_dir};
    int r;

    if (plugin_nfd_init(&l.nfd, o->nfd_dir,
                        plugin_nfd_scan_interval(o->nfd_dir, o->rescan_interval)) < 0 ||
        (o->metrics_address && !(l.metrics = plugin_metrics_new()))) {
        log_error("serve_failed", "error=\"out of memory\"");
        plugin_nfd_close(&l.nfd);
        return 1;
    }
    r = plugin_serve_run(o, &src, l.metrics);
    plugin_nfd_close(&l.nfd);
    plugin_metrics_free(l.metrics);
    plugin_scan_cache_clear(&l.cache);
    return r < 0 ? 1 : 0;
}

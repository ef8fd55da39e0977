#include "plugin/daemon/inventory_load.h"
#include "plugin/log/log.h"
#include "topology/host/host.h"

/* Each GPU/NVSwitch that another stack's driver holds is logged once:
 * when it first appears as such. */
static void
log_foreign(const struct inventory *inv, const struct inventory *previous)
{
    for (size_t i = 0; i < inv->n_foreign; i++)
        if (!inventory_is_foreign(previous, inv->foreign[i].id))
            log_info("not_advertised", "id=%s driver=%s reason=%s", inv->foreign[i].id,
                     inv->foreign[i].driver,
                     log_quote("bound to a non-VFIO driver: capacity of another stack",
                               (char[128]){0}, 128));
}

int
plugin_inventory_scan(const struct plugin_options *o, const struct inventory *previous,
                      struct plugin_scan_cache *cache, const char *const *changed,
                      size_t n_changed, struct inventory **ret, struct topo_error *err)
{
    struct topo_scan_options so = {
        .sysfs_root = o->sysfs_root,
        .dev_root = o->dev_root,
        .iommu = o->iommu,
    };
    struct inv_policy policy = {
        .mode = o->mode,
        .domain = "nvidia.com",
        .gpu_alias = o->gpu_alias ? o->gpu_alias : "",
        .nvswitch_alias = o->nvswitch_alias ? o->nvswitch_alias : "",
        .sysfs_root = o->sysfs_root,
        .dev_root = o->dev_root,
        .previous = previous,
        .now = plugin_monotonic_seconds(),
        .aer_quiet = o->aer_quiet,
    };
    struct topo_host *host = NULL;
    int r;

    if (cache && cache->host && n_changed > 0)
        r = topo_scan_update(&so, cache->host, changed, n_changed, &host, err);
    else
        r = topo_scan(&so, &host, err);
    if (r < 0)
        return topo_error_prefix(err, r, "scan");
    for (size_t i = 0; i < host->n_warnings; i++)
        log_warn("scan_warning", "msg=%s", LOG_QUOTED(host->warnings[i]));
    r = inventory_build(host, &policy, ret, err);
    if (r == 0) {
        plugin_pcie_report(*ret, previous);
        log_foreign(*ret, previous);
    }
    if (r < 0 || !cache) {
        topo_host_free(host);
        return r;
    }
    topo_host_free(cache->host);
    cache->host = host;
    return r;
}

void
plugin_scan_cache_clear(struct plugin_scan_cache *cache)
{
    if (!cache)
        return;
    topo_host_free(cache->host);
    cache->host = NULL;
}

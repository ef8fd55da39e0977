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
                      struct inventory **ret, struct topo_error *err)
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

    if ((r = topo_scan(&so, &host, err)) < 0)
        return topo_error_prefix(err, r, "scan");
    for (size_t i = 0; i < host->n_warnings; i++)
        log_warn("scan_warning", "msg=%s", LOG_QUOTED(host->warnings[i]));
    r = inventory_build(host, &policy, ret, err);
    topo_host_free(host);
    if (r == 0) {
        plugin_pcie_report(*ret, previous);
        log_foreign(*ret, previous);
    }
    return r;
}

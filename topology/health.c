#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/alloc-priv.h"

/* Health of listed devices: a device is Healthy only when a VM could get
 * it now: assignable (topo_assignable) and its device nodes exist. */

static int __attribute__((format(printf, 2, 3)))
reason_dup(char **ret, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(ret, fmt, ap);
    va_end(ap);
    if (r < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

int
alloc_health_reason(const struct topo_host *host, size_t fn, char **ret_reason)
{
    const struct topo_function *f = &host->functions[fn];
    const struct topo_group *g;
    char why[256];

    *ret_reason = NULL;
    if (!topo_assignable(host, fn, why, sizeof(why))) {
        *ret_reason = strdup(why[0] ? why : "not assignable");
        return *ret_reason ? 0 : -ENOMEM;
    }
    if (host->iommufd) {
        if (f->vfio_cdev < 0)
            return reason_dup(ret_reason, "no vfio cdev (vfio-dev/vfioN) in IOMMU group %d; "
                                          "iommufd needs one",
                              f->iommu_group);
        if (!f->cdev_node)
            return reason_dup(ret_reason, "device node /dev/vfio/devices/vfio%d is missing",
                              f->vfio_cdev);
        return 0;
    }
    if (!host->dev_vfio) {
        *ret_reason = strdup("device node /dev/vfio/vfio is missing");
        return *ret_reason ? 0 : -ENOMEM;
    }
    g = topo_host_group(host, f->iommu_group);
    if (!g || !g->dev_node)
        return reason_dup(ret_reason, "device node /dev/vfio/%d is missing", f->iommu_group);
    return 0;
}

static bool
listed_kind(const struct topo_function *f)
{
    return (f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH) && !f->is_vf;
}

int
alloc_health_ppcie(const struct topo_host *host, struct inventory *inv)
{
    char *first = NULL, *reason = NULL;
    size_t bad = 0;
    int r = 0;

    for (size_t i = 0; i < host->n_functions && r == 0; i++) {
        char *why = NULL;

        if (!listed_kind(&host->functions[i]))
            continue;
        r = alloc_health_reason(host, i, &why);
        if (why && bad++ == 0 && asprintf(&first, "%s %s: %s",
                                          host->functions[i].kind == TOPO_KIND_GPU ? "GPU"
                                                                                    : "NVSwitch",
                                          host->functions[i].bdf, why) < 0) {
            first = NULL;
            r = -ENOMEM;
        }
        free(why);
    }
    if (r < 0 || bad == 0) {
        free(first);
        return r;
    }
    if (bad > 1 ? asprintf(&reason,
                           "ppcie mode needs every GPU and NVSwitch assignable: %s (and %zu more)",
                           first, bad - 1) < 0
                : asprintf(&reason, "ppcie mode needs every GPU and NVSwitch assignable: %s",
                           first) < 0)
        reason = NULL;
    free(first);
    if (!reason)
        return -ENOMEM;
    for (size_t ri = 0; ri < inv->n_resources; ri++)
        for (size_t d = 0; d < inv->resources[ri].n_devices; d++) {
            struct inv_device *dev = &inv->resources[ri].devices[d];

            if (!dev->healthy)
                continue; /* its own reason is more precise */
            dev->healthy = false;
            dev->reason = strdup(reason);
            if (!dev->reason)
                r = -ENOMEM;
        }
    free(reason);
    return r;
}

/* Resource of the first listed device in group gid other than resource r,
 * or -1 (and its BDF in *ret_bdf). */
static int
other_resource(const struct topo_host *host, const struct inventory *inv, size_t *const *fn_of,
               int gid, size_t r, const char **ret_bdf)
{
    for (size_t o = 0; o < inv->n_resources; o++)
        for (size_t d = 0; o != r && d < inv->resources[o].n_devices; d++)
            if (host->functions[fn_of[o][d]].iommu_group == gid) {
                *ret_bdf = host->functions[fn_of[o][d]].bdf;
                return (int)o;
            }
    return -1;
}

int
alloc_health_shared_groups(const struct topo_host *host, struct inventory *inv,
                           size_t *const *fn_of)
{
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            struct inv_device *dev = &inv->resources[r].devices[d];
            int gid = host->functions[fn_of[r][d]].iommu_group;
            const char *bdf = NULL;
            int o;

            if (gid < 0 || (o = other_resource(host, inv, fn_of, gid, r, &bdf)) < 0)
                continue;
            free(dev->reason);
            dev->healthy = false;
            if (asprintf(&dev->reason,
                         "IOMMU group %d also holds %s of %s; a group cannot be split "
                         "between resources",
                         gid, bdf, inv->resources[o].name) < 0) {
                dev->reason = NULL;
                return -ENOMEM;
            }
        }
    return 0;
}

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"
#include "topology/base/strfmt.h"

/* Health of listed devices: a device is Healthy only when a VM could get
 * it now: assignable (topo_assignable) and its device nodes exist. */

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
            return topo_strfmt(ret_reason, "no vfio cdev (vfio-dev/vfioN) in IOMMU group %d; "
                                          "iommufd needs one",
                              f->iommu_group);
        if (!f->cdev_node)
            return topo_strfmt(ret_reason, "device node /dev/vfio/devices/vfio%d is missing",
                              f->vfio_cdev);
        return 0;
    }
    if (!host->dev_vfio) {
        *ret_reason = strdup("device node /dev/vfio/vfio is missing");
        return *ret_reason ? 0 : -ENOMEM;
    }
    g = topo_host_group(host, f->iommu_group);
    if (!g || !g->dev_node)
        return topo_strfmt(ret_reason, "device node /dev/vfio/%d is missing", f->iommu_group);
    return 0;
}

static bool
listed_kind(const struct topo_function *f)
{
    return (f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH) && !f->is_vf;
}

/* The first listed device that vanished (its id in *ret_first, borrowed)
 * and how many did. */
static size_t
vanished_devices(const struct inventory *inv, size_t *const *fn_of, const char **ret_first)
{
    size_t n = 0;

    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++)
            if (fn_of[r][d] == ALLOC_FN_VANISHED && n++ == 0)
                *ret_first = inv->resources[r].devices[d].id;
    return n;
}

/* The first GPU/NVSwitch of the host that is not assignable, described in
 * *ret_first (new string, NULL when none), and how many are not. */
static int
unassignable_functions(const struct topo_host *host, char **ret_first, size_t *ret_bad)
{
    size_t bad = 0;
    int r = 0;

    *ret_first = NULL;
    for (size_t i = 0; i < host->n_functions && r == 0; i++) {
        char *why = NULL;

        if (!listed_kind(&host->functions[i]))
            continue;
        r = alloc_health_reason(host, i, &why);
        if (why && bad++ == 0 && asprintf(ret_first, "%s %s: %s",
                                          host->functions[i].kind == TOPO_KIND_GPU ? "GPU"
                                                                                    : "NVSwitch",
                                          host->functions[i].bdf, why) < 0) {
            *ret_first = NULL;
            r = -ENOMEM;
        }
        free(why);
    }
    if (r < 0) {
        free(*ret_first);
        *ret_first = NULL;
        return r;
    }
    *ret_bad = bad;
    return 0;
}

/* The ppcie reason (new string), or NULL when every device is there and
 * assignable. A vanished device is named first: no driver rebinding
 * brings it back. 0 or -ENOMEM. */
static int
ppcie_reason(const struct topo_host *host, const struct inventory *inv, size_t *const *fn_of,
             char **ret)
{
    _cleanup_free_ char *first = NULL;
    const char *gone = NULL;
    size_t n_gone = vanished_devices(inv, fn_of, &gone), bad = 0, more;
    char tail[48] = "";
    int r = unassignable_functions(host, &first, &bad);

    *ret = NULL;
    if (r < 0 || (n_gone == 0 && bad == 0))
        return r;
    more = n_gone + bad - 1;
    if (more)
        snprintf(tail, sizeof(tail), " (and %zu more)", more);
    if (n_gone)
        r = asprintf(ret, "ppcie mode needs every GPU and NVSwitch: %s is %s%s", gone,
                     ALLOC_VANISHED_REASON, tail);
    else
        r = asprintf(ret, "ppcie mode needs every GPU and NVSwitch assignable: %s%s", first, tail);
    if (r < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

int
alloc_health_ppcie(const struct topo_host *host, struct inventory *inv, size_t *const *fn_of)
{
    _cleanup_free_ char *reason = NULL;
    int r = ppcie_reason(host, inv, fn_of, &reason);

    if (r < 0 || !reason)
        return r;
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
    return r;
}

/* Resource of the first listed device in group gid other than resource r
 * (and its BDF in *ret_bdf), or -ENOENT when no other resource has one. */
static int
other_resource(const struct topo_host *host, const struct inventory *inv, size_t *const *fn_of,
               int gid, size_t r, const char **ret_bdf)
{
    for (size_t o = 0; o < inv->n_resources; o++)
        for (size_t d = 0; o != r && d < inv->resources[o].n_devices; d++)
            if (fn_of[o][d] != ALLOC_FN_VANISHED &&
                host->functions[fn_of[o][d]].iommu_group == gid) {
                *ret_bdf = host->functions[fn_of[o][d]].bdf;
                return (int)o;
            }
    return -ENOENT;
}

int
alloc_health_shared_groups(const struct topo_host *host, struct inventory *inv,
                           size_t *const *fn_of)
{
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            struct inv_device *dev = &inv->resources[r].devices[d];
            const char *bdf = NULL;
            int gid, o;

            if (fn_of[r][d] == ALLOC_FN_VANISHED)
                continue;
            gid = host->functions[fn_of[r][d]].iommu_group;
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

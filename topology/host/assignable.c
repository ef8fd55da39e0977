#include <stdarg.h>
#include <stdio.h>

#include "topology/host/host.h"

static bool __attribute__((format(printf, 3, 4)))
refuse(char *reason, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (reason && len) {
        va_start(ap, fmt);
        vsnprintf(reason, len, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool
topo_assignable(const struct topo_host *host, size_t index, char *reason, size_t len)
{
    const struct topo_function *f;
    const struct topo_group *g;

    if (!host || index >= host->n_functions)
        return refuse(reason, len, "no such function");
    f = &host->functions[index];
    if (f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH)
        return refuse(reason, len, "not a GPU or NVSwitch");
    if (f->is_vf)
        return refuse(reason, len, "an SR-IOV virtual function");
    if (!f->driver)
        return refuse(reason, len, "has no driver (bind it to vfio-pci)");
    if (!f->vfio)
        return refuse(reason, len, "bound to %s, not to a VFIO driver", f->driver);
    if (f->iommu_group < 0)
        return refuse(reason, len, "has no IOMMU group");
    g = topo_host_group(host, f->iommu_group);
    if (!g)
        return refuse(reason, len, "IOMMU group %d not found", f->iommu_group);
    if (!g->viable)
        return refuse(reason, len, "IOMMU group %d not viable: %s", g->id,
                      g->not_viable ? g->not_viable : "unknown member");
    if (reason && len)
        reason[0] = '\0';
    return true;
}

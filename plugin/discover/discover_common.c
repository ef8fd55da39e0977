#include <errno.h>
#include <string.h>

#include "plugin/discover/discover.h"

bool
discover_is_nvidia(const struct topo_function *f)
{
    switch (f->kind) {
    case TOPO_KIND_GPU:
    case TOPO_KIND_NVSWITCH:
    case TOPO_KIND_COMPANION:
        return true;
    case TOPO_KIND_OTHER:
    case TOPO_KIND_BRIDGE:
        break;
    }
    return false;
}

const char *
discover_kind_name(enum topo_kind kind)
{
    switch (kind) {
    case TOPO_KIND_GPU: return "gpu";
    case TOPO_KIND_NVSWITCH: return "nvswitch";
    case TOPO_KIND_COMPANION: return "companion";
    case TOPO_KIND_BRIDGE: return "bridge";
    case TOPO_KIND_OTHER: break;
    }
    return "other";
}

const char *
discover_family_name(enum topo_family family)
{
    switch (family) {
    case TOPO_FAMILY_HOPPER: return "hopper";
    case TOPO_FAMILY_BLACKWELL: return "blackwell";
    case TOPO_FAMILY_OTHER: break;
    }
    return "other";
}

const char *
discover_distance_name(enum topo_distance d)
{
    switch (d) {
    case TOPO_DIST_SELF: return "X";
    case TOPO_DIST_PIX: return "PIX";
    case TOPO_DIST_PXB: return "PXB";
    case TOPO_DIST_PHB: return "PHB";
    case TOPO_DIST_NODE: return "NODE";
    case TOPO_DIST_SYS: break;
    }
    return "SYS";
}

/* "dddd:bb:dd" of two BDFs equal: functions of one physical slot. */
static bool
same_slot(const char *a, const char *b)
{
    const char *dot_a = strrchr(a, '.');
    const char *dot_b = strrchr(b, '.');

    return dot_a && dot_b && dot_a - a == dot_b - b && strncmp(a, b, (size_t)(dot_a - a)) == 0;
}

int
discover_companion_of(const struct topo_host *host, size_t index)
{
    const struct topo_function *f = &host->functions[index];
    int found = -ENOENT;

    /* An IOMMU group is assigned whole, so the companion goes where a GPU of
     * its group goes; without a group there is nothing that carries it. */
    if (f->iommu_group < 0)
        return -ENOENT;
    for (size_t i = 0; i < host->n_functions; i++) {
        const struct topo_function *g = &host->functions[i];

        if (i == index || g->kind != TOPO_KIND_GPU || g->iommu_group != f->iommu_group)
            continue;
        if (same_slot(g->bdf, f->bdf))
            return (int)i;
        if (found < 0)
            found = (int)i;
    }
    return found;
}

size_t
discover_count_nvidia(const struct topo_host *host)
{
    size_t n = 0;

    for (size_t i = 0; i < host->n_functions; i++)
        if (discover_is_nvidia(&host->functions[i]))
            n++;
    return n;
}

bool
discover_group_has_nvidia(const struct topo_host *host, const struct topo_group *g)
{
    for (size_t m = 0; m < g->n_members; m++) {
        size_t i = g->members[m];

        if (i < host->n_functions && discover_is_nvidia(&host->functions[i]))
            return true;
    }
    return false;
}

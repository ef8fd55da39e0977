#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/host.h"

/* Weak definitions of the host-model accessors (topology/host.c,
 * distance.c, assignable.c) following their contracts in host.h, so the
 * allocation tests link before the scanner exists. The scanner's strong
 * definitions replace them at link time. */

__attribute__((weak)) void
topo_host_free(struct topo_host *host)
{
    if (!host)
        return;
    for (size_t i = 0; i < host->n_functions; i++) {
        free(host->functions[i].model);
        free(host->functions[i].driver);
        free(host->functions[i].host_bridge);
    }
    free(host->functions);
    for (size_t g = 0; g < host->n_groups; g++) {
        free(host->groups[g].members);
        free(host->groups[g].not_viable);
    }
    free(host->groups);
    for (size_t w = 0; w < host->n_warnings; w++)
        free(host->warnings[w]);
    free(host->warnings);
    free(host);
}

__attribute__((weak)) const struct topo_group *
topo_host_group(const struct topo_host *host, int id)
{
    for (size_t g = 0; g < host->n_groups; g++)
        if (host->groups[g].id == id)
            return &host->groups[g];
    return NULL;
}

static size_t
depth_of(const struct topo_host *h, size_t i)
{
    size_t d = 0;

    for (int p = h->functions[i].parent; p >= 0; p = h->functions[p].parent)
        d++;
    return d;
}

__attribute__((weak)) enum topo_distance
topo_distance(const struct topo_host *host, size_t a, size_t b)
{
    const struct topo_function *fa = &host->functions[a], *fb = &host->functions[b];
    size_t da = depth_of(host, a), db = depth_of(host, b), hops = 0;
    int x = (int)a, y = (int)b;

    if (a == b)
        return TOPO_DIST_SELF;
    for (; da > db; da--, hops++)
        x = host->functions[x].parent;
    for (; db > da; db--, hops++)
        y = host->functions[y].parent;
    while (x != y && x >= 0 && y >= 0) {
        x = host->functions[x].parent;
        y = host->functions[y].parent;
        hops += 2;
    }
    if (x >= 0 && x == y)
        /* meeting at a switch's upstream port: device, downstream port, upstream port */
        return (hops <= 4 && host->functions[x].parent >= 0) ? TOPO_DIST_PIX : TOPO_DIST_PXB;
    if (fa->host_bridge && fb->host_bridge && strcmp(fa->host_bridge, fb->host_bridge) == 0)
        return TOPO_DIST_PHB;
    if (fa->numa_node >= 0 && fa->numa_node == fb->numa_node)
        return TOPO_DIST_NODE;
    return TOPO_DIST_SYS;
}

__attribute__((weak)) bool
topo_assignable(const struct topo_host *host, size_t index, char *reason, size_t len)
{
    const struct topo_function *f = &host->functions[index];
    const struct topo_group *g = f->iommu_group >= 0 ? topo_host_group(host, f->iommu_group)
                                                     : NULL;
    char buf[256] = "";

    if (f->is_vf)
        snprintf(buf, sizeof(buf), "%s is an SR-IOV virtual function", f->bdf);
    else if (!f->driver)
        snprintf(buf, sizeof(buf), "not bound to any driver");
    else if (!f->vfio)
        snprintf(buf, sizeof(buf), "driver %s is not a VFIO driver", f->driver);
    else if (!g)
        snprintf(buf, sizeof(buf), "not in an IOMMU group");
    else if (!g->viable)
        snprintf(buf, sizeof(buf), "IOMMU group %d not viable: %s", g->id,
                 g->not_viable ? g->not_viable : "?");
    if (buf[0] && reason && len)
        snprintf(reason, len, "%s", buf);
    return buf[0] == '\0';
}

__attribute__((weak)) int
topo_host_find(const struct topo_host *host, const char *bdf)
{
    for (size_t i = 0; i < host->n_functions; i++)
        if (strcmp(host->functions[i].bdf, bdf) == 0)
            return (int)i;
    return -ENOENT;
}

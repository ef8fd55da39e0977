#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/units/alloc-priv.h"

/* Units: the devices of a resource that must go to one VM together. An
 * IOMMU group is the smallest thing VFIO can isolate, and every function
 * is in one group, so the closure over groups is the group: devices of a
 * resource that share a group form one unit (two GPUs behind a switch
 * without ACS), a device with no group is a unit of its own. */

void
alloc_resource_priv_clear(struct alloc_resource *ar)
{
    if (!ar)
        return;
    for (size_t u = 0; u < ar->n_units; u++) {
        free(ar->units[u].devices);
        free(ar->units[u].check);
        free(ar->units[u].check_link);
    }
    free(ar->units);
    free(ar->unit_of);
    free(ar->dist);
    free(ar->numa);
    memset(ar, 0, sizeof(*ar));
}

void
alloc_priv_free(void *priv)
{
    struct alloc_priv *p = priv;

    if (!p)
        return;
    for (size_t r = 0; r < p->n_resources; r++)
        alloc_resource_priv_clear(&p->res[r]);
    free(p->res);
    free(p->sysfs_root);
    if (p->devices_fd >= 0)
        close(p->devices_fd);
    if (p->dev_fd >= 0)
        close(p->dev_fd);
    free(p);
}

/* Bridges need no driver; every other member of the group must stay on a
 * VFIO driver for the group to be usable by a VM. */
static int
unit_checks(const struct topo_host *host, struct alloc_unit *u, size_t fn)
{
    const struct topo_group *g = u->group >= 0 ? topo_host_group(host, u->group) : NULL;
    size_t n = g ? g->n_members : 1;

    u->check = calloc(n, sizeof(*u->check));
    u->check_link = calloc(n, sizeof(*u->check_link));
    if (!u->check || !u->check_link)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct topo_function *m = &host->functions[g ? g->members[i] : fn];
        size_t len = strlen(m->bdf); /* <= TOPO_BDF_LEN */

        if (g && m->kind == TOPO_KIND_BRIDGE)
            continue;
        memcpy(u->check[u->n_check], m->bdf, len + 1);
        memcpy(u->check_link[u->n_check], m->bdf, len);
        memcpy(u->check_link[u->n_check] + len, "/driver", sizeof("/driver"));
        u->n_check++;
    }
    return 0;
}

/* A vanished device is a unit of its own with nothing to re-check: it is
 * unhealthy, so Allocate refuses it before looking at units. */
static int
find_or_add_unit(struct alloc_resource *ar, const struct topo_host *host, size_t fn,
                 size_t n_max, size_t *ret)
{
    int gid = fn == ALLOC_FN_VANISHED ? -1 : host->functions[fn].iommu_group;
    struct alloc_unit *u;

    for (size_t i = 0; gid >= 0 && i < ar->n_units; i++)
        if (ar->units[i].group == gid) {
            *ret = i;
            return 0;
        }
    u = &ar->units[ar->n_units];
    u->group = gid;
    u->devices = calloc(n_max, sizeof(*u->devices));
    if (!u->devices)
        return -ENOMEM;
    *ret = ar->n_units++;
    return fn == ALLOC_FN_VANISHED ? 0 : unit_checks(host, u, fn);
}

/* Distance class and NUMA distance (UINT8_MAX: unknown) of two devices;
 * a vanished one is as far as can be from everything. */
static void
pair_distance(const struct topo_host *host, size_t fa, size_t fb, uint8_t *ret_dist,
              uint8_t *ret_numa)
{
    int nd;

    if (fa == ALLOC_FN_VANISHED || fb == ALLOC_FN_VANISHED) {
        *ret_dist = TOPO_DIST_SYS;
        *ret_numa = UINT8_MAX;
        return;
    }
    nd = topo_numa_distance(host, host->functions[fa].numa_node, host->functions[fb].numa_node);
    *ret_dist = (uint8_t)topo_distance(host, fa, fb);
    *ret_numa = (uint8_t)(nd < 0 ? UINT8_MAX : nd);
}

static bool
first_present_is_gpu(const struct topo_host *host, const size_t *fn_of, size_t n)
{
    for (size_t d = 0; d < n; d++)
        if (fn_of[d] != ALLOC_FN_VANISHED)
            return host->functions[fn_of[d]].kind == TOPO_KIND_GPU;
    return false;
}

int
alloc_units_build(const struct topo_host *host, const struct inv_resource *res,
                  const size_t *fn_of, struct alloc_resource *ret)
{
    size_t n = res->n_devices;
    struct alloc_resource ar = {0};
    int r = 0;

    ar.units = calloc(n ? n : 1, sizeof(*ar.units));
    ar.unit_of = calloc(n ? n : 1, sizeof(*ar.unit_of));
    ar.dist = calloc(n ? n * n : 1, 1);
    ar.numa = calloc(n ? n * n : 1, 1);
    if (!ar.units || !ar.unit_of || !ar.dist || !ar.numa)
        r = -ENOMEM;
    for (size_t d = 0; d < n && r == 0; d++) {
        size_t u;

        r = find_or_add_unit(&ar, host, fn_of[d], n, &u);
        if (r == 0) {
            ar.unit_of[d] = u;
            ar.units[u].devices[ar.units[u].n_devices++] = d;
        }
    }
    for (size_t a = 0; a < n && r == 0; a++)
        for (size_t b = a + 1; b < n; b++) {
            pair_distance(host, fn_of[a], fn_of[b], &ar.dist[a * n + b], &ar.numa[a * n + b]);
            ar.dist[b * n + a] = ar.dist[a * n + b];
            ar.numa[b * n + a] = ar.numa[a * n + b];
        }
    if (r < 0) {
        alloc_resource_priv_clear(&ar);
        return r;
    }
    ar.gpu = first_present_is_gpu(host, fn_of, n);
    *ret = ar;
    return 0;
}

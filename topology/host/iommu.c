#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/base/cleanup.h"
#include "topology/base/macros.h"
#include "topology/base/strfmt.h"
#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

/* IOMMU groups. The ids come from one listing of kernel/iommu_groups.
 * VFIO checks a group's devices/ directory, so the scan lists that
 * directory for every group that holds an NVIDIA function (the ones we may
 * hand out), and it is authoritative there. Other groups get their members
 * from the iommu_group links of the functions the scan looked at (bridges
 * above NVIDIA functions): listing every group would cost four syscalls per
 * group, about one more read per function on most hosts. */

static int
size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static int
group_cmp(const void *a, const void *b)
{
    const struct topo_group *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static int
int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return x < y ? -1 : x > y;
}

static int
add_member(struct topo_group *g, size_t idx)
{
    size_t *v = realloc(g->members, (g->n_members + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    v[g->n_members++] = idx;
    g->members = v;
    return 0;
}

struct listing {
    struct topo_host *host;
    const char *sysfs_root;
    const char *path;
    struct topo_group *g;
};

static int
member_entry(const char *name, void *ctx)
{
    struct listing *l = ctx;
    int idx = topo_host_find(l->host, name);

    if (idx < 0) {
        topo_host_warn(l->host, "%s/%s/%s: member is not a scanned PCI function", l->sysfs_root,
                       l->path, name);
        return 0;
    }
    return add_member(l->g, (size_t)idx);
}

int
topo_iommu_list_members(struct topo_host *host, int sys_fd, const char *sysfs_root,
                        struct topo_group *g)
{
    _cleanup_free_ char *path = NULL;
    struct listing l = {host, sysfs_root, NULL, g};
    int r;

    if (topo_strfmt(&path, "kernel/iommu_groups/%d/devices", g->id) < 0)
        return -ENOMEM;
    l.path = path;
    free(g->members);
    g->members = NULL;
    g->n_members = 0;
    r = topo_sysfs_list(sys_fd, path, member_entry, &l);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        topo_host_warn(host, "%s/%s: %s", sysfs_root, path, strerror(-r));
    /* functions[] is sorted by BDF, so index order is BDF order. */
    if (g->n_members > 1)
        qsort(g->members, g->n_members, sizeof(size_t), size_cmp);
    return 0;
}

bool
topo_group_member_ok(const struct topo_function *f)
{
    static const char *const dma_free_bridge_drivers[] = {"pcieport", "pci-stub"};

    if (f->vfio)
        return true;
    if (f->kind != TOPO_KIND_BRIDGE)
        return false;
    if (!f->driver)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(dma_free_bridge_drivers); i++)
        if (strcmp(f->driver, dma_free_bridge_drivers[i]) == 0)
            return true;
    return false;
}

/* Viable for VFIO: every member passes topo_group_member_ok. */
static int
judge_group(const struct topo_host *host, struct topo_group *g)
{
    g->viable = true;
    for (size_t i = 0; i < g->n_members; i++) {
        const struct topo_function *f = &host->functions[g->members[i]];
        int r;

        if (topo_group_member_ok(f))
            continue;
        g->viable = false;
        if (f->driver)
            r = asprintf(&g->not_viable, "%s bound to %s", f->bdf, f->driver);
        else
            r = asprintf(&g->not_viable, "%s has no driver", f->bdf);
        if (r < 0) {
            g->not_viable = NULL;
            return -ENOMEM;
        }
        break;
    }
    return 0;
}

struct id_list {
    struct topo_host *host;
    const char *sysfs_root; /* NULL: skip names that are not numbers silently */
    int *ids;
    size_t n, cap;
};

static int
id_entry(const char *name, void *ctx)
{
    struct id_list *l = ctx;
    int id;

    if (topo_parse_int(name, &id) < 0 || id < 0) {
        if (l->sysfs_root)
            topo_host_warn(l->host, "%s/kernel/iommu_groups/%s: not a group number", l->sysfs_root,
                           name);
        return 0;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        int *v = realloc(l->ids, ncap * sizeof(*v));

        if (!v)
            return -ENOMEM;
        l->ids = v;
        l->cap = ncap;
    }
    l->ids[l->n++] = id;
    return 0;
}

int
topo_iommu_list(struct topo_host *host, int sys_fd, const char *sysfs_root)
{
    struct id_list l = {host, sysfs_root, NULL, 0, 0};
    int r = topo_sysfs_list(sys_fd, "kernel/iommu_groups", id_entry, &l);

    if (r == -ENOMEM) {
        free(l.ids);
        return r;
    }
    /* No directory: no IOMMU enabled, no groups, nothing is assignable. */
    host->groups = l.n ? calloc(l.n, sizeof(*host->groups)) : NULL;
    if (l.n && !host->groups) {
        free(l.ids);
        return -ENOMEM;
    }
    for (size_t i = 0; i < l.n; i++)
        host->groups[i].id = l.ids[i];
    host->n_groups = l.n;
    free(l.ids);
    if (host->n_groups > 1) /* qsort's base must not be NULL, even for 0 */
        qsort(host->groups, host->n_groups, sizeof(*host->groups), group_cmp);
    return 0;
}

/* Which groups have a /dev/vfio/<id> node: one listing, not one stat each. */
static int
mark_dev_nodes(struct topo_host *host, int dev_fd)
{
    struct id_list l = {host, NULL, NULL, 0, 0};
    int r = topo_sysfs_list(dev_fd, "vfio", id_entry, &l);

    if (r == -ENOMEM) {
        free(l.ids);
        return r;
    }
    qsort(l.ids, l.n, sizeof(int), int_cmp);
    for (size_t i = 0; i < host->n_groups; i++)
        host->groups[i].dev_node =
            l.n && bsearch(&host->groups[i].id, l.ids, l.n, sizeof(int), int_cmp);
    free(l.ids);
    return 0;
}

int
topo_iommu_members(struct topo_host *host, const bool *listed, int dev_fd)
{
    int r;

    if (!host->groups) /* no IOMMU groups at all */
        return mark_dev_nodes(host, dev_fd);
    for (size_t i = 0; i < host->n_functions; i++) {
        const struct topo_group *cg = topo_host_group(host, host->functions[i].iommu_group);
        struct topo_group *g = cg ? &host->groups[cg - host->groups] : NULL;

        if (g && !listed[g - host->groups] && (r = add_member(g, i)) < 0)
            return r;
    }
    for (size_t i = 0; i < host->n_groups; i++)
        if ((r = judge_group(host, &host->groups[i])) < 0)
            return r;
    return mark_dev_nodes(host, dev_fd);
}

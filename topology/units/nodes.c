#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"

/* Device nodes a VM needs for one device. iommufd: one cdev per VFIO-bound
 * member of the IOMMU group (a GPU's audio function travels with it);
 * legacy: the container node plus the group node. */

static int
node_cmp(const void *a, const void *b)
{
    return strcmp(((const struct inv_device_node *)a)->path,
                  ((const struct inv_device_node *)b)->path);
}

static int
add_node(struct inv_device *dev, const char *dev_root, size_t droot_len, char *path)
{
    struct inv_device_node *n;

    if (!path)
        return -ENOMEM;
    for (size_t i = 0; i < dev->n_nodes; i++)
        if (strcmp(dev->nodes[i].path, path) == 0) {
            free(path);
            return 0;
        }
    n = realloc(dev->nodes, (dev->n_nodes + 1) * sizeof(*n));
    if (!n) {
        free(path);
        return -ENOMEM;
    }
    dev->nodes = n;
    n = &dev->nodes[dev->n_nodes];
    n->path = path;
    /* "/dev/vfio/7" -> "<dev-root>/vfio/7" */
    if (asprintf(&n->host_path, "%.*s%s", (int)droot_len, dev_root, path + 4) < 0) {
        free(path);
        return -ENOMEM;
    }
    dev->n_nodes++;
    return 0;
}

static char *
cdev_path(int n)
{
    char *p;

    return asprintf(&p, "/dev/vfio/devices/vfio%d", n) < 0 ? NULL : p;
}

static char *
group_path(int id)
{
    char *p;

    return asprintf(&p, "/dev/vfio/%d", id) < 0 ? NULL : p;
}

int
alloc_device_nodes(const struct topo_host *host, const char *dev_root, size_t fn,
                   struct inv_device *dev)
{
    const struct topo_function *f = &host->functions[fn];
    const struct topo_group *g = f->iommu_group >= 0 ? topo_host_group(host, f->iommu_group)
                                                     : NULL;
    size_t dl;
    int r = 0;

    if (!dev_root)
        dev_root = "/dev";
    dl = strlen(dev_root);
    while (dl > 1 && dev_root[dl - 1] == '/')
        dl--;
    if (dl == 1 && dev_root[0] == '/')
        dl = 0;
    if (!g)
        return 0;
    if (host->iommufd) {
        for (size_t i = 0; i < g->n_members && r == 0; i++) {
            const struct topo_function *m = &host->functions[g->members[i]];

            if (m->vfio && m->vfio_cdev >= 0)
                r = add_node(dev, dev_root, dl, cdev_path(m->vfio_cdev));
        }
    } else {
        r = add_node(dev, dev_root, dl, strdup("/dev/vfio/vfio"));
        if (r == 0)
            r = add_node(dev, dev_root, dl, group_path(g->id));
    }
    if (r < 0)
        return r;
    if (dev->n_nodes > 1)
        qsort(dev->nodes, dev->n_nodes, sizeof(*dev->nodes), node_cmp);
    return 0;
}

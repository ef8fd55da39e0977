#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"
#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

/* The Allocate op: validate a request against the snapshot and the
 * passthrough mode, re-check the live driver binding (the snapshot may be
 * seconds old), and return device nodes, CDI names and the env. */

/* Current driver of bdf under the sysfs root (new string): "none" when
 * unbound. NULL when out of memory. */
static char *
current_driver(int root, const char *bdf)
{
    _cleanup_free_ char *link = NULL, *target = NULL;
    int r;

    if (asprintf(&link, "bus/pci/devices/%s/driver", bdf) < 0)
        return NULL;
    r = topo_sysfs_readlink(root, link, &target);
    return strdup(r < 0 ? "none" : topo_path_basename(target));
}

static int
recheck_bindings(const struct alloc_priv *p, const struct alloc_resource *ar, const bool *units,
                 struct topo_error *err)
{
    _cleanup_close_ int root = open(p->sysfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (root < 0)
        return topo_error_set(err, -errno, "open sysfs root %s: %s", p->sysfs_root,
                              strerror(errno));
    for (size_t u = 0; u < ar->n_units; u++) {
        if (!units[u])
            continue;
        for (size_t i = 0; i < ar->units[u].n_check; i++) {
            _cleanup_free_ char *drv = current_driver(root, ar->units[u].check[i]);

            if (!drv)
                return topo_error_set(err, -ENOMEM, "out of memory");
            if (!topo_vfio_driver(drv))
                return topo_error_set(err, -ENODEV,
                                      "%s is no longer bound to a VFIO driver (now: %s)",
                                      ar->units[u].check[i], drv);
        }
    }
    return 0;
}

/* The device nodes handed out must still exist (a reset or an unbind
 * since the last scan removes them). */
static int
recheck_nodes(const struct inv_resource *res, const bool *picked, struct topo_error *err)
{
    for (size_t d = 0; d < res->n_devices; d++) {
        if (!picked[d])
            continue;
        for (size_t i = 0; i < res->devices[d].n_nodes; i++)
            if (access(res->devices[d].nodes[i].host_path, F_OK) < 0)
                return topo_error_set(err, -ENODEV, "%s: device node %s is missing (%s)",
                                      res->devices[d].id, res->devices[d].nodes[i].host_path,
                                      strerror(errno));
    }
    return 0;
}

/* Map ids to device indices; unknown, duplicate and unhealthy IDs fail. */
static int
resolve_ids(const struct inv_resource *res, const char *const *ids, size_t n, size_t *idx,
            bool *picked, struct topo_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int d = ids[i] ? inventory_find_device(res, ids[i]) : -ENOENT;

        if (d < 0)
            return topo_error_set(err, -EINVAL, "unknown device %s for %s",
                                  ids[i] ? ids[i] : "(null)", res->name);
        if (picked[d])
            return topo_error_set(err, -EINVAL, "device %s requested twice", ids[i]);
        picked[d] = true;
        idx[i] = (size_t)d;
    }
    for (size_t i = 0; i < n; i++)
        if (!res->devices[idx[i]].healthy)
            return topo_error_set(err, -ENODEV, "%s is unhealthy: %s", ids[i],
                                  res->devices[idx[i]].reason ? res->devices[idx[i]].reason
                                                              : "unknown reason");
    return 0;
}

/* Every unit touched must be requested whole. */
static int
check_units(const struct inv_resource *res, const struct alloc_resource *ar, const bool *picked,
            bool *units, struct topo_error *err)
{
    for (size_t d = 0; d < res->n_devices; d++) {
        const struct alloc_unit *u = &ar->units[ar->unit_of[d]];

        if (!picked[d])
            continue;
        units[ar->unit_of[d]] = true;
        for (size_t i = 0; i < u->n_devices; i++)
            if (!picked[u->devices[i]])
                return topo_error_set(err, -EPERM,
                                      "%s and %s share IOMMU group %d; request them together",
                                      res->devices[d].id, res->devices[u->devices[i]].id,
                                      u->group);
    }
    return 0;
}

static int
add_nodes(struct inv_allocation *a, const struct inv_device *dev)
{
    for (size_t i = 0; i < dev->n_nodes; i++) {
        size_t k = 0;
        struct inv_device_node *nn;

        while (k < a->n_nodes && strcmp(a->nodes[k].path, dev->nodes[i].path) < 0)
            k++;
        if (k < a->n_nodes && strcmp(a->nodes[k].path, dev->nodes[i].path) == 0)
            continue;
        nn = realloc(a->nodes, (a->n_nodes + 1) * sizeof(*nn));
        if (!nn)
            return -ENOMEM;
        a->nodes = nn;
        memmove(&nn[k + 1], &nn[k], (a->n_nodes - k) * sizeof(*nn));
        nn[k].path = strdup(dev->nodes[i].path);
        nn[k].host_path = strdup(dev->nodes[i].host_path);
        a->n_nodes++;
        if (!nn[k].path || !nn[k].host_path)
            return -ENOMEM;
    }
    return 0;
}

/* Devices in ID order (the resource's order) make the answer stable. */
static int
fill_allocation(const struct inv_resource *res, const bool *picked, size_t n,
                struct inv_allocation *a)
{
    if (!(a->ids = calloc(n, sizeof(*a->ids))))
        return -ENOMEM;
    for (size_t d = 0; d < res->n_devices; d++) {
        if (!picked[d])
            continue;
        if (!(a->ids[a->n_ids] = strdup(res->devices[d].id)))
            return -ENOMEM;
        a->n_ids++;
        if (add_nodes(a, &res->devices[d]) < 0)
            return -ENOMEM;
    }
    return 0;
}

int
alloc_allocate(const struct inventory *inv, size_t resource, const char *const *ids,
               size_t n_ids, struct inv_allocation *ret, struct topo_error *err)
{
    const struct alloc_priv *p = inv->priv;
    const struct inv_resource *res = &inv->resources[resource];
    const struct alloc_resource *ar = &p->res[resource];
    _cleanup_free_ size_t *idx = calloc(n_ids ? n_ids : 1, sizeof(*idx));
    _cleanup_free_ bool *picked = calloc(res->n_devices ? res->n_devices : 1, sizeof(*picked));
    _cleanup_free_ bool *units = calloc(ar->n_units ? ar->n_units : 1, sizeof(*units));
    struct inv_allocation a = {0};
    int r;

    if (!idx || !picked || !units)
        return topo_error_set(err, -ENOMEM, "out of memory");
    if (n_ids == 0)
        return topo_error_set(err, -EINVAL, "empty request for %s", res->name);
    r = resolve_ids(res, ids, n_ids, idx, picked, err);
    /* the mode's message says what to request, which also keeps groups whole */
    if (r == 0)
        r = alloc_mode_check(inv, resource, n_ids, err);
    if (r == 0)
        r = check_units(res, ar, picked, units, err);
    if (r == 0)
        r = recheck_bindings(p, ar, units, err);
    if (r == 0)
        r = recheck_nodes(res, picked, err);
    if (r < 0)
        return r;
    if (fill_allocation(res, picked, n_ids, &a) < 0) {
        inventory_allocation_clear(&a);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = a;
    return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"
#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

/* The Allocate op: validate a request against the snapshot and the
 * passthrough mode, re-check the live driver binding (the snapshot may be
 * seconds old), and return the granted IDs and device nodes. What the
 * re-checks need is prepared once per snapshot (alloc_priv_prepare). */

static int
open_dir(const char *path)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

int
alloc_priv_prepare(struct alloc_priv *p, const char *dev_root)
{
    _cleanup_free_ char *devices = NULL;

    if (asprintf(&devices, "%s/bus/pci/devices", p->sysfs_root) < 0) {
        devices = NULL;
        return -ENOMEM;
    }
    /* a root that cannot be opened fails each Allocate with its reason */
    p->devices_fd = open_dir(devices);
    p->dev_fd = open_dir(dev_root ? dev_root : "/dev");
    return 0;
}

/* Is the driver link <bdf>/driver (relative to bus/pci/devices) a VFIO
 * driver? The current name goes to drv (truncated, "none" when unbound). */
static bool
bound_to_vfio(int devices_fd, const char *link, char *drv, size_t size)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(devices_fd, link, target, sizeof(target) - 1);

    if (n < 0) {
        snprintf(drv, size, "none");
        return false;
    }
    target[n] = '\0';
    snprintf(drv, size, "%s", topo_path_basename(target));
    return topo_vfio_driver(drv);
}

static int
recheck_bindings(const struct alloc_priv *p, const struct alloc_resource *ar, const bool *units,
                 struct topo_error *err)
{
    if (p->devices_fd < 0)
        return topo_error_set(err, p->devices_fd, "open %s/bus/pci/devices: %s", p->sysfs_root,
                              strerror(-p->devices_fd));
    for (size_t u = 0; u < ar->n_units; u++) {
        if (!units[u])
            continue;
        for (size_t i = 0; i < ar->units[u].n_check; i++) {
            char drv[256];

            if (!bound_to_vfio(p->devices_fd, ar->units[u].check_link[i], drv, sizeof(drv)))
                return topo_error_set(err, -ENODEV,
                                      "%s is no longer bound to a VFIO driver (now: %s)",
                                      ar->units[u].check[i], drv);
        }
    }
    return 0;
}

/* The device nodes handed out must still exist (a reset or an unbind
 * since the last scan removes them). Container paths are "/dev/<rel>" and
 * host paths "<dev-root>/<rel>": rel is looked up under the open dev root. */
static int
recheck_nodes(const struct alloc_priv *p, const struct inv_resource *res, const bool *picked,
              struct topo_error *err)
{
    for (size_t d = 0; d < res->n_devices; d++) {
        if (!picked[d])
            continue;
        for (size_t i = 0; i < res->devices[d].n_nodes; i++) {
            const struct inv_device_node *n = &res->devices[d].nodes[i];
            const char *rel = strncmp(n->path, "/dev/", 5) == 0 ? n->path + 5 : n->host_path;
            struct stat st;

            if (p->dev_fd < 0 || fstatat(p->dev_fd, rel, &st, 0) < 0)
                return topo_error_set(err, -ENODEV, "%s: device node %s is missing (%s)",
                                      res->devices[d].id, n->host_path,
                                      strerror(p->dev_fd < 0 ? -p->dev_fd : errno));
        }
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
        r = recheck_nodes(p, res, picked, err);
    if (r < 0)
        return r;
    if (fill_allocation(res, picked, n_ids, &a) < 0) {
        inventory_allocation_clear(&a);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = a;
    return 0;
}

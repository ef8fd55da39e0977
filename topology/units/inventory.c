#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/inventory.h"

struct inventory *
inventory_new(const struct inventory_ops *ops, void *priv)
{
    struct inventory *inv = calloc(1, sizeof(*inv));

    if (!inv)
        return NULL;
    inv->refcount = 1;
    inv->ops = ops;
    inv->priv = priv;
    return inv;
}

struct inventory *
inventory_ref(struct inventory *inv)
{
    if (inv)
        __atomic_add_fetch(&inv->refcount, 1, __ATOMIC_RELAXED);
    return inv;
}

void
inventory_device_clear(struct inv_device *d)
{
    if (!d)
        return;
    free(d->id);
    free(d->reason);
    for (size_t i = 0; i < d->n_nodes; i++) {
        free(d->nodes[i].path);
        free(d->nodes[i].host_path);
    }
    free(d->nodes);
    memset(d, 0, sizeof(*d));
}

void
inventory_resource_clear(struct inv_resource *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_devices; i++)
        inventory_device_clear(&r->devices[i]);
    free(r->devices);
    free(r->name);
    memset(r, 0, sizeof(*r));
}

void
inventory_node_clear(struct inv_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_models; i++) {
        free(n->models[i].name);
        free(n->models[i].token);
    }
    free(n->models);
    memset(n, 0, sizeof(*n));
}

void
inventory_unref(struct inventory *inv)
{
    if (!inv || __atomic_sub_fetch(&inv->refcount, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < inv->n_resources; i++)
        inventory_resource_clear(&inv->resources[i]);
    free(inv->resources);
    inventory_node_clear(&inv->node);
    for (size_t i = 0; i < inv->n_foreign; i++) {
        free(inv->foreign[i].id);
        free(inv->foreign[i].driver);
    }
    free(inv->foreign);
    if (inv->ops && inv->ops->free_priv)
        inv->ops->free_priv(inv->priv);
    free(inv);
}

int
inventory_find_resource(const struct inventory *inv, const char *name)
{
    for (size_t i = 0; inv && i < inv->n_resources; i++)
        if (strcmp(inv->resources[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

int
inventory_find_device(const struct inv_resource *res, const char *id)
{
    for (size_t i = 0; res && i < res->n_devices; i++)
        if (strcmp(res->devices[i].id, id) == 0)
            return (int)i;
    return -ENOENT;
}

const struct inv_device *
inventory_find_any(const struct inventory *inv, const char *id)
{
    for (size_t r = 0; inv && r < inv->n_resources; r++) {
        int d = inventory_find_device(&inv->resources[r], id);

        if (d >= 0)
            return &inv->resources[r].devices[d];
    }
    return NULL;
}

int
inventory_preferred(const struct inventory *inv, size_t resource, const char *const *available,
                    size_t n_available, const char *const *must, size_t n_must, size_t size,
                    char ***ret_ids, size_t *ret_n, struct topo_error *err)
{
    if (!inv->ops || !inv->ops->preferred)
        return topo_error_set(err, -EOPNOTSUPP, "preferred allocation not supported");
    if (resource >= inv->n_resources)
        return topo_error_set(err, -EINVAL, "no resource #%zu", resource);
    return inv->ops->preferred(inv, resource, available, n_available, must, n_must, size, ret_ids,
                               ret_n, err);
}

int
inventory_allocate(const struct inventory *inv, size_t resource, const char *const *ids,
                   size_t n_ids, struct inv_allocation *ret, struct topo_error *err)
{
    if (!inv->ops || !inv->ops->allocate)
        return topo_error_set(err, -EOPNOTSUPP, "allocation not supported");
    if (resource >= inv->n_resources)
        return topo_error_set(err, -EINVAL, "no resource #%zu", resource);
    return inv->ops->allocate(inv, resource, ids, n_ids, ret, err);
}

void
inventory_free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void
inventory_allocation_clear(struct inv_allocation *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_nodes; i++) {
        free(a->nodes[i].path);
        free(a->nodes[i].host_path);
    }
    free(a->nodes);
    inventory_free_strv(a->ids, a->n_ids);
    memset(a, 0, sizeof(*a));
}

static bool
str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool
device_equal(const struct inv_device *a, const struct inv_device *b)
{
    /* The reason counts too: Allocate's refusal must name today's cause. */
    if (!str_eq(a->id, b->id) || a->healthy != b->healthy || a->numa_node != b->numa_node ||
        !str_eq(a->reason, b->reason) || a->n_nodes != b->n_nodes)
        return false;
    for (size_t i = 0; i < a->n_nodes; i++)
        if (!str_eq(a->nodes[i].path, b->nodes[i].path) ||
            !str_eq(a->nodes[i].host_path, b->nodes[i].host_path))
            return false;
    return true;
}

bool
inventory_equal(const struct inventory *a, const struct inventory *b)
{
    if (!a || !b)
        return a == b;
    if (a->n_resources != b->n_resources)
        return false;
    for (size_t r = 0; r < a->n_resources; r++) {
        const struct inv_resource *ra = &a->resources[r], *rb = &b->resources[r];

        if (!str_eq(ra->name, rb->name) || ra->n_devices != rb->n_devices)
            return false;
        for (size_t d = 0; d < ra->n_devices; d++)
            if (!device_equal(&ra->devices[d], &rb->devices[d]))
                return false;
    }
    return true;
}

int
inventory_mark_unhealthy(struct inventory *inv, size_t r, const char *reason)
{
    if (!inv || r >= inv->n_resources || !reason)
        return -EINVAL;
    for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
        struct inv_device *dev = &inv->resources[r].devices[d];
        char *copy;

        if (!dev->healthy)
            continue; /* its own reason comes first */
        copy = strdup(reason);
        if (!copy)
            return -ENOMEM;
        free(dev->reason);
        dev->reason = copy;
        dev->healthy = false;
    }
    return 0;
}

bool
inventory_is_foreign(const struct inventory *inv, const char *id)
{
    for (size_t i = 0; inv && i < inv->n_foreign; i++)
        if (strcmp(inv->foreign[i].id, id) == 0)
            return true;
    return false;
}

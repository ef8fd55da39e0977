#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/alloc-priv.h"
#include "topology/cleanup.h"

/* inventory_build(): host model -> snapshot. GPUs (PFs) are always
 * listed, healthy or not, so an operator sees why one is missing from
 * capacity; NVSwitches only once at least one is VFIO-bound (a host whose
 * switches stay with the NVIDIA driver gets no switch resource). */

const struct inventory_ops alloc_ops = {
    .preferred = alloc_preferred,
    .allocate = alloc_allocate,
    .free_priv = alloc_priv_free,
};

struct build_ctx {
    const struct topo_host *host;
    const struct inv_policy *policy;
    size_t n;          /* listed functions */
    size_t *fns;       /* their host indices, in BDF order */
    char **names;      /* their resource names */
    size_t **fn_of;    /* per resource: host index of each device */
};

static void
build_ctx_clear(struct build_ctx *c, size_t n_resources)
{
    free(c->fns);
    inventory_free_strv(c->names, c->n);
    for (size_t r = 0; c->fn_of && r < n_resources; r++)
        free(c->fn_of[r]);
    free(c->fn_of);
}

static int
list_functions(struct build_ctx *c, struct topo_error *err)
{
    const struct topo_host *h = c->host;
    bool switches = false;

    for (size_t i = 0; i < h->n_functions; i++)
        switches |= h->functions[i].kind == TOPO_KIND_NVSWITCH && !h->functions[i].is_vf &&
                    h->functions[i].vfio;
    c->fns = calloc(h->n_functions ? h->n_functions : 1, sizeof(*c->fns));
    if (!c->fns)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < h->n_functions; i++) {
        const struct topo_function *f = &h->functions[i];

        /* a VF is a slice of a GPU, never the whole device */
        if (f->is_vf)
            continue;
        if (f->kind == TOPO_KIND_GPU || (f->kind == TOPO_KIND_NVSWITCH && switches))
            c->fns[c->n++] = i;
    }
    c->names = calloc(c->n ? c->n : 1, sizeof(*c->names));
    if (!c->names)
        return topo_error_set(err, -ENOMEM, "out of memory");
    return alloc_resource_names(h, c->policy, c->fns, c->n, c->names, err);
}

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct names, sorted, become the resources. */
static int
make_resources(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    _cleanup_free_ char **sorted = calloc(c->n ? c->n : 1, sizeof(*sorted));
    size_t m = 0;

    if (!sorted)
        return topo_error_set(err, -ENOMEM, "out of memory");
    memcpy(sorted, c->names, c->n * sizeof(*sorted));
    qsort(sorted, c->n, sizeof(*sorted), str_cmp);
    for (size_t i = 0; i < c->n; i++)
        if (m == 0 || strcmp(sorted[m - 1], sorted[i]) != 0)
            sorted[m++] = sorted[i];
    inv->resources = calloc(m ? m : 1, sizeof(*inv->resources));
    c->fn_of = calloc(m ? m : 1, sizeof(*c->fn_of));
    if (!inv->resources || !c->fn_of)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t r = 0; r < m; r++) {
        inv->n_resources++;
        inv->resources[r].name = strdup(sorted[r]);
        c->fn_of[r] = calloc(c->n, sizeof(**c->fn_of));
        if (!inv->resources[r].name || !c->fn_of[r])
            return topo_error_set(err, -ENOMEM, "out of memory");
        inv->resources[r].devices = calloc(c->n, sizeof(*inv->resources[r].devices));
        if (!inv->resources[r].devices)
            return topo_error_set(err, -ENOMEM, "out of memory");
    }
    return alloc_socket_names(inv->resources, m, err);
}

static int
fill_device(struct build_ctx *c, size_t fn, struct inv_device *dev)
{
    const struct topo_function *f = &c->host->functions[fn];
    int r;

    dev->id = strdup(f->bdf);
    if (!dev->id)
        return -ENOMEM;
    dev->numa_node = f->numa_node >= 0 ? f->numa_node : -1;
    r = alloc_health_reason(c->host, fn, &dev->reason);
    if (r < 0)
        return r;
    dev->healthy = dev->reason == NULL;
    return alloc_device_nodes(c->host, c->policy->dev_root, fn, dev);
}

/* Listed functions are in BDF order, so devices come out sorted by ID. */
static int
fill_devices(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    for (size_t i = 0; i < c->n; i++) {
        int ri = inventory_find_resource(inv, c->names[i]);
        struct inv_resource *res;

        if (ri < 0)
            return topo_error_set(err, -EFAULT, "resource %s vanished", c->names[i]);
        res = &inv->resources[ri];
        c->fn_of[ri][res->n_devices] = c->fns[i];
        if (fill_device(c, c->fns[i], &res->devices[res->n_devices++]) < 0)
            return topo_error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

static int
make_priv(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    struct alloc_priv *p = calloc(1, sizeof(*p));

    if (!p)
        return topo_error_set(err, -ENOMEM, "out of memory");
    inv->priv = p;
    p->mode = c->policy->mode;
    p->sysfs_root = strdup(c->policy->sysfs_root ? c->policy->sysfs_root : "/sys");
    p->res = calloc(inv->n_resources ? inv->n_resources : 1, sizeof(*p->res));
    if (!p->sysfs_root || !p->res)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t r = 0; r < inv->n_resources; r++) {
        if (alloc_units_build(c->host, &inv->resources[r], c->fn_of[r], &p->res[r]) < 0)
            return topo_error_set(err, -ENOMEM, "out of memory");
        p->n_resources++;
    }
    return 0;
}

static int
check_policy(const struct topo_host *host, const struct inv_policy *policy,
             struct inventory **ret, struct topo_error *err)
{
    if (!host || !policy || !ret)
        return topo_error_set(err, -EINVAL, "inventory_build: missing host, policy or result");
    if (policy->mode != INV_MODE_PASSTHROUGH && policy->mode != INV_MODE_MULTI &&
        policy->mode != INV_MODE_PPCIE)
        return topo_error_set(err, -EINVAL, "unknown passthrough mode %d", (int)policy->mode);
    return 0;
}

int
inventory_build(const struct topo_host *host, const struct inv_policy *policy,
                struct inventory **ret, struct topo_error *err)
{
    struct build_ctx c = {.host = host, .policy = policy};
    struct inventory *inv = NULL;
    int r = check_policy(host, policy, ret, err);

    if (r == 0) {
        inv = inventory_new(&alloc_ops, NULL);
        if (!inv)
            r = topo_error_set(err, -ENOMEM, "out of memory");
    }
    if (r == 0)
        r = list_functions(&c, err);
    if (r == 0)
        r = make_resources(&c, inv, err);
    if (r == 0)
        r = fill_devices(&c, inv, err);
    if (r == 0 && alloc_health_shared_groups(host, inv, c.fn_of) < 0)
        r = topo_error_set(err, -ENOMEM, "out of memory");
    if (r == 0 && policy->mode == INV_MODE_PPCIE && alloc_health_ppcie(host, inv) < 0)
        r = topo_error_set(err, -ENOMEM, "out of memory");
    if (r == 0)
        r = make_priv(&c, inv, err);
    build_ctx_clear(&c, inv ? inv->n_resources : 0);
    if (r < 0) {
        inventory_unref(inv);
        return r;
    }
    *ret = inv;
    return 0;
}

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"

/* inventory_build(): host model -> snapshot. Count only ours: a GPU (PF)
 * bound to a VFIO driver is listed, one with no driver (waiting to be
 * bound) is listed Unhealthy, one that another stack's driver holds
 * (nvidia, nouveau: capacity of nvidia.com/gpu on a node that splits its
 * GPUs between containers and VMs) is not listed but noted in
 * inv->foreign, unless the previous snapshot listed it: then it lost its
 * binding and stays listed, Unhealthy. NVSwitches follow the same rule
 * once at least one is VFIO-bound or was listed (a host whose switches
 * are not handed to VMs gets no switch resource). A device
 * that the previous snapshot listed and that is no longer on the bus
 * (hot-unplug, fell off the bus) stays listed, unhealthy, under its old
 * resource: without it the kubelet would drop capacity
 * silently. A device that is still on the bus but no longer listed
 * (NVSwitches all handed back to the NVIDIA driver) is not vanished. */

const struct inventory_ops alloc_ops = {
    .preferred = alloc_preferred,
    .allocate = alloc_allocate,
    .free_priv = alloc_priv_free,
};

/* A device of the previous snapshot that is no longer on the bus. */
struct vanished {
    const struct inv_resource *res; /* its resource in the previous snapshot */
    const struct inv_device *dev;
    bool gpu; /* that resource held GPUs */
};

struct build_ctx {
    const struct topo_host *host;
    const struct inv_policy *policy;
    size_t n;              /* listed functions */
    size_t *fns;           /* their host indices, in BDF order */
    char **names;          /* their resource names */
    size_t n_gone;
    struct vanished *gone; /* points into policy->previous */
    size_t **fn_of;        /* per resource: host index of each device, or ALLOC_FN_VANISHED */
};

static void
build_ctx_clear(struct build_ctx *c, size_t n_resources)
{
    free(c->fns);
    free(c->gone);
    inventory_free_strv(c->names, c->n);
    for (size_t r = 0; c->fn_of && r < n_resources; r++)
        free(c->fn_of[r]);
    free(c->fn_of);
}

/* Did the previous snapshot list a device with this ID? */
static bool
listed_before(const struct inventory *prev, const char *id)
{
    for (size_t r = 0; prev && r < prev->n_resources; r++)
        if (inventory_find_device(&prev->resources[r], id) >= 0)
            return true;
    return false;
}

static bool
ours(const struct build_ctx *c, const struct topo_function *f)
{
    return f->vfio || !f->driver || listed_before(c->policy->previous, f->bdf);
}

/* f held by another stack: noted, not listed. */
static int
add_foreign(struct inventory *inv, const struct topo_function *f)
{
    struct inv_foreign *v = realloc(inv->foreign, (inv->n_foreign + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    inv->foreign = v;
    v[inv->n_foreign].id = strdup(f->bdf);
    v[inv->n_foreign].driver = strdup(f->driver);
    if (!v[inv->n_foreign].id || !v[inv->n_foreign].driver) {
        free(v[inv->n_foreign].id);
        free(v[inv->n_foreign].driver);
        return -ENOMEM;
    }
    inv->n_foreign++;
    return 0;
}

/* Switches are listed once one of them is handed to VMs (or was). */
static bool
switches_listed(const struct build_ctx *c)
{
    const struct topo_host *h = c->host;

    for (size_t i = 0; i < h->n_functions; i++)
        if (h->functions[i].kind == TOPO_KIND_NVSWITCH && !h->functions[i].is_vf &&
            (h->functions[i].vfio || listed_before(c->policy->previous, h->functions[i].bdf)))
            return true;
    return false;
}

static int
list_functions(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    const struct topo_host *h = c->host;
    bool switches = switches_listed(c);

    c->fns = calloc(h->n_functions ? h->n_functions : 1, sizeof(*c->fns));
    if (!c->fns)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < h->n_functions; i++) {
        const struct topo_function *f = &h->functions[i];

        /* a VF is a slice of a GPU, never the whole device */
        if (f->is_vf || (f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH))
            continue;
        if (ours(c, f) && (f->kind == TOPO_KIND_GPU || switches))
            c->fns[c->n++] = i;
        else if (!ours(c, f) && add_foreign(inv, f) < 0)
            return topo_error_set(err, -ENOMEM, "out of memory");
    }
    c->names = calloc(c->n ? c->n : 1, sizeof(*c->names));
    if (!c->names)
        return topo_error_set(err, -ENOMEM, "out of memory");
    return alloc_resource_names(h, c->policy, c->fns, c->n, c->names, err);
}

static bool
previous_gpu_resource(const struct inventory *prev, size_t r)
{
    const struct alloc_priv *p = prev->ops == &alloc_ops ? prev->priv : NULL;

    return p && r < p->n_resources && p->res[r].gpu;
}

static int
list_vanished(struct build_ctx *c, struct topo_error *err)
{
    const struct inventory *prev = c->policy->previous;
    size_t n = 0;

    for (size_t r = 0; prev && r < prev->n_resources; r++)
        n += prev->resources[r].n_devices;
    c->gone = calloc(n ? n : 1, sizeof(*c->gone));
    if (!c->gone)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t r = 0; prev && r < prev->n_resources; r++)
        for (size_t d = 0; d < prev->resources[r].n_devices; d++) {
            const struct inv_device *dev = &prev->resources[r].devices[d];

            if (dev->id && topo_host_find(c->host, dev->id) < 0)
                c->gone[c->n_gone++] = (struct vanished){.res = &prev->resources[r],
                                                         .dev = dev,
                                                         .gpu = previous_gpu_resource(prev, r)};
        }
    return 0;
}

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct names (of listed and vanished devices), sorted, become the
 * resources; each has room for every device. */
static int
make_resources(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    size_t all = c->n + c->n_gone;
    _cleanup_free_ char **sorted = calloc(all ? all : 1, sizeof(*sorted));
    size_t m = 0;

    if (!sorted)
        return topo_error_set(err, -ENOMEM, "out of memory");
    memcpy(sorted, c->names, c->n * sizeof(*sorted));
    for (size_t g = 0; g < c->n_gone; g++)
        sorted[c->n + g] = c->gone[g].res->name;
    qsort(sorted, all, sizeof(*sorted), str_cmp);
    for (size_t i = 0; i < all; i++)
        if (m == 0 || strcmp(sorted[m - 1], sorted[i]) != 0)
            sorted[m++] = sorted[i];
    inv->resources = calloc(m ? m : 1, sizeof(*inv->resources));
    c->fn_of = calloc(m ? m : 1, sizeof(*c->fn_of));
    if (!inv->resources || !c->fn_of)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t r = 0; r < m; r++) {
        inv->n_resources++;
        inv->resources[r].name = strdup(sorted[r]);
        c->fn_of[r] = calloc(all, sizeof(**c->fn_of));
        if (!inv->resources[r].name || !c->fn_of[r])
            return topo_error_set(err, -ENOMEM, "out of memory");
        inv->resources[r].devices = calloc(all, sizeof(*inv->resources[r].devices));
        if (!inv->resources[r].devices)
            return topo_error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
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

/* Insert vanished device g at its sorted position in its resource. */
static int
add_vanished(struct build_ctx *c, struct inventory *inv, size_t g)
{
    const struct inv_device *old = c->gone[g].dev;
    int ri = inventory_find_resource(inv, c->gone[g].res->name);
    struct inv_resource *res;
    size_t *fn_of, k = 0;

    if (ri < 0)
        return -EFAULT;
    res = &inv->resources[ri];
    fn_of = c->fn_of[ri];
    while (k < res->n_devices && strcmp(res->devices[k].id, old->id) < 0)
        k++;
    memmove(&res->devices[k + 1], &res->devices[k], (res->n_devices - k) * sizeof(*res->devices));
    memmove(&fn_of[k + 1], &fn_of[k], (res->n_devices - k) * sizeof(*fn_of));
    res->n_devices++;
    res->devices[k] = (struct inv_device){.numa_node = old->numa_node};
    fn_of[k] = ALLOC_FN_VANISHED;
    res->devices[k].id = strdup(old->id);
    res->devices[k].reason = strdup(ALLOC_VANISHED_REASON);
    return res->devices[k].id && res->devices[k].reason ? 0 : -ENOMEM;
}

static int
fill_vanished(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    for (size_t g = 0; g < c->n_gone; g++) {
        int r = add_vanished(c, inv, g);

        if (r == -EFAULT)
            return topo_error_set(err, r, "resource %s vanished", c->gone[g].res->name);
        if (r < 0)
            return topo_error_set(err, r, "out of memory");
    }
    return 0;
}

static bool
has_present(const size_t *fn_of, size_t n)
{
    for (size_t d = 0; d < n; d++)
        if (fn_of[d] != ALLOC_FN_VANISHED)
            return true;
    return false;
}

static int
make_priv(struct build_ctx *c, struct inventory *inv, struct topo_error *err)
{
    struct alloc_priv *p = calloc(1, sizeof(*p));

    if (!p)
        return topo_error_set(err, -ENOMEM, "out of memory");
    inv->priv = p;
    p->devices_fd = p->dev_fd = -EBADF;
    p->mode = c->policy->mode;
    p->sysfs_root = strdup(c->policy->sysfs_root ? c->policy->sysfs_root : "/sys");
    p->res = calloc(inv->n_resources ? inv->n_resources : 1, sizeof(*p->res));
    if (!p->sysfs_root || !p->res)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t r = 0; r < inv->n_resources; r++) {
        if (alloc_units_build(c->host, &inv->resources[r], c->fn_of[r], &p->res[r]) < 0)
            return topo_error_set(err, -ENOMEM, "out of memory");
        p->n_resources++;
        /* a resource of vanished devices only: its kind is the previous one */
        for (size_t g = 0; g < c->n_gone; g++)
            if (strcmp(c->gone[g].res->name, inv->resources[r].name) == 0 &&
                !has_present(c->fn_of[r], inv->resources[r].n_devices))
                p->res[r].gpu = c->gone[g].gpu;
    }
    if (alloc_priv_prepare(p, c->policy->dev_root) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
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
        r = list_functions(&c, inv, err);
    if (r == 0)
        r = list_vanished(&c, err);
    if (r == 0)
        r = make_resources(&c, inv, err);
    if (r == 0)
        r = fill_devices(&c, inv, err);
    if (r == 0)
        r = fill_vanished(&c, inv, err);
    if (r == 0 && (alloc_health_pcie(host, policy, inv, c.fn_of) < 0 ||
                   alloc_node_facts(host, policy, &inv->node) < 0))
        r = topo_error_set(err, -ENOMEM, "out of memory");
    if (r == 0 && alloc_health_shared_groups(host, inv, c.fn_of) < 0)
        r = topo_error_set(err, -ENOMEM, "out of memory");
    if (r == 0 && policy->mode == INV_MODE_PPCIE && alloc_health_ppcie(host, inv, c.fn_of) < 0)
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

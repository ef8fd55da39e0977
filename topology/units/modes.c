#include <errno.h>

#include "topology/units/alloc-priv.h"

/* Passthrough modes (DESIGN.md): passthrough = any count; multi = 1 GPU or
 * every GPU of the resource; ppcie = every device of the resource. "All"
 * counts the devices the resource lists, healthy or not: a CC VM needs
 * every one of them. */

int
alloc_mode_check(const struct inventory *inv, size_t r, size_t n, struct topo_error *err)
{
    const struct alloc_priv *p = inv->priv;
    const struct inv_resource *res = &inv->resources[r];
    bool gpu = p->res[r].gpu;
    const char *what = gpu ? "GPUs" : "NVSwitches";

    switch (p->mode) {
    case INV_MODE_PASSTHROUGH:
        return 0;
    case INV_MODE_MULTI:
        if (!gpu || n == 1 || n == res->n_devices)
            return 0;
        return topo_error_set(err, -EPERM, "multi mode: request 1 GPU or all %zu; got %zu",
                              res->n_devices, n);
    case INV_MODE_PPCIE:
        if (n == res->n_devices)
            return 0;
        return topo_error_set(err, -EPERM,
                              "ppcie mode: request all %zu %s of this node; got %zu",
                              res->n_devices, what, n);
    }
    return topo_error_set(err, -EINVAL, "unknown passthrough mode %d", (int)p->mode);
}

#include <string.h>

#include "topology/units/inventory.h"

/* What changed between two snapshots, device by device: resources are
 * matched by name and devices by id (both lists are sorted by id). */

static const struct inv_resource *
find_res(const struct inventory *inv, const char *name)
{
    int r = inv ? inventory_find_resource(inv, name) : -1;

    return r < 0 ? NULL : &inv->resources[r];
}

static bool
same_health(const struct inv_device *a, const struct inv_device *b)
{
    if (a->healthy != b->healthy)
        return false;
    if (!a->reason || !b->reason)
        return a->reason == b->reason;
    return strcmp(a->reason, b->reason) == 0;
}

static const struct inv_device empty_list[1];

/* Merge the sorted device lists of one resource (either may be NULL). */
static size_t
diff_resource(const char *name, const struct inv_resource *a, const struct inv_resource *b,
              inv_diff_fn *fn, void *ctx)
{
    const struct inv_device *da = a ? a->devices : empty_list, *db = b ? b->devices : empty_list;
    size_t i = 0, j = 0, n = 0, na = a ? a->n_devices : 0, nb = b ? b->n_devices : 0;

    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(da[i].id, db[j].id);

        if (c < 0) {
            fn(ctx, INV_CHANGE_REMOVED, name, &da[i++], NULL);
            n++;
        } else if (c > 0) {
            fn(ctx, INV_CHANGE_ADDED, name, NULL, &db[j++]);
            n++;
        } else {
            if (!same_health(&da[i], &db[j])) {
                fn(ctx, INV_CHANGE_HEALTH, name, &da[i], &db[j]);
                n++;
            }
            i++;
            j++;
        }
    }
    return n;
}

size_t
inventory_diff(const struct inventory *old, const struct inventory *new, inv_diff_fn *fn,
               void *ctx)
{
    size_t n = 0;

    for (size_t r = 0; old && r < old->n_resources; r++) {
        const struct inv_resource *a = &old->resources[r];

        n += diff_resource(a->name, a, find_res(new, a->name), fn, ctx);
    }
    for (size_t r = 0; new && r < new->n_resources; r++)
        if (!find_res(old, new->resources[r].name))
            n += diff_resource(new->resources[r].name, NULL, &new->resources[r], fn, ctx);
    return n;
}

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"

/* GetPreferredAllocation: the set of whole units, `size` devices, that
 * contains must_include and has the best topology: least sum of pairwise
 * distance classes, then least maximum, then least sum of NUMA (SLIT)
 * distances (nearer nodes on hosts with more than two), then the lowest
 * sorted IDs.
 * Exhaustive over up to PREFER_EXHAUSTIVE free units, greedy beyond. */

#define PREFER_EXHAUSTIVE 16

struct pick {
    size_t n;
    size_t *devs;  /* sorted device indices */
    unsigned sum;
    unsigned max;
    unsigned numa;
};

struct prefer_ctx {
    const struct inv_resource *res;
    const struct alloc_resource *ar;
    size_t size;
    size_t n_forced;   /* devices in forced units */
    bool *forced;      /* per unit */
    size_t n_free;
    size_t *free_units; /* candidate units that are not forced */
    struct pick best, cur;
    bool found;
};

static int
size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static void
pick_cost(const struct prefer_ctx *c, struct pick *p)
{
    size_t n = c->res->n_devices;

    qsort(p->devs, p->n, sizeof(*p->devs), size_cmp);
    p->sum = p->max = p->numa = 0;
    for (size_t i = 0; i < p->n; i++)
        for (size_t j = i + 1; j < p->n; j++) {
            unsigned d = c->ar->dist[p->devs[i] * n + p->devs[j]];

            p->numa += c->ar->numa[p->devs[i] * n + p->devs[j]];
            p->sum += d;
            if (d > p->max)
                p->max = d;
        }
}

static bool
pick_better(const struct pick *a, const struct pick *b)
{
    if (a->sum != b->sum)
        return a->sum < b->sum;
    if (a->max != b->max)
        return a->max < b->max;
    if (a->numa != b->numa)
        return a->numa < b->numa;
    for (size_t i = 0; i < a->n && i < b->n; i++)
        if (a->devs[i] != b->devs[i])
            return a->devs[i] < b->devs[i];
    return false;
}

static void
pick_add_unit(const struct prefer_ctx *c, struct pick *p, size_t u)
{
    const struct alloc_unit *unit = &c->ar->units[u];

    for (size_t i = 0; i < unit->n_devices; i++)
        p->devs[p->n++] = unit->devices[i];
}

static void
pick_forced(const struct prefer_ctx *c, struct pick *p)
{
    p->n = 0;
    for (size_t u = 0; u < c->ar->n_units; u++)
        if (c->forced[u])
            pick_add_unit(c, p, u);
}

static void
offer(struct prefer_ctx *c)
{
    pick_cost(c, &c->cur);
    if (!c->found || pick_better(&c->cur, &c->best)) {
        c->best.n = c->cur.n;
        memcpy(c->best.devs, c->cur.devs, c->cur.n * sizeof(*c->cur.devs));
        c->best.sum = c->cur.sum;
        c->best.max = c->cur.max;
        c->best.numa = c->cur.numa;
        c->found = true;
    }
}

static void
search_exhaustive(struct prefer_ctx *c)
{
    for (uint32_t mask = 0; mask < (1u << c->n_free); mask++) {
        size_t count = c->n_forced;

        for (size_t i = 0; i < c->n_free; i++)
            if (mask & (1u << i))
                count += c->ar->units[c->free_units[i]].n_devices;
        if (count != c->size)
            continue;
        pick_forced(c, &c->cur);
        for (size_t i = 0; i < c->n_free; i++)
            if (mask & (1u << i))
                pick_add_unit(c, &c->cur, c->free_units[i]);
        offer(c);
    }
}

/* Cost of adding unit u to the devices already in p. */
static void
added_cost(const struct prefer_ctx *c, const struct pick *p, size_t u, unsigned *sum,
           unsigned *max)
{
    const struct alloc_unit *unit = &c->ar->units[u];
    size_t n = c->res->n_devices;

    *sum = *max = 0;
    for (size_t i = 0; i < unit->n_devices; i++) {
        for (size_t j = 0; j < p->n; j++) {
            unsigned d = c->ar->dist[unit->devices[i] * n + p->devs[j]];

            *sum += d;
            *max = d > *max ? d : *max;
        }
        for (size_t j = i + 1; j < unit->n_devices; j++) {
            unsigned d = c->ar->dist[unit->devices[i] * n + unit->devices[j]];

            *sum += d;
            *max = d > *max ? d : *max;
        }
    }
}

/* Grow from one seed, always taking the closest unit that still fits. */
static void
grow(struct prefer_ctx *c, bool *used, size_t seed)
{
    pick_forced(c, &c->cur);
    memset(used, 0, c->n_free * sizeof(*used));
    used[seed] = true;
    pick_add_unit(c, &c->cur, c->free_units[seed]);
    while (c->cur.n < c->size) {
        size_t best = SIZE_MAX;
        unsigned bs = 0, bm = 0;

        for (size_t i = 0; i < c->n_free; i++) {
            unsigned s, m;

            if (used[i] || c->cur.n + c->ar->units[c->free_units[i]].n_devices > c->size)
                continue;
            added_cost(c, &c->cur, c->free_units[i], &s, &m);
            if (best == SIZE_MAX || s < bs || (s == bs && m < bm)) {
                best = i;
                bs = s;
                bm = m;
            }
        }
        if (best == SIZE_MAX)
            return; /* this seed cannot reach the size exactly */
        used[best] = true;
        pick_add_unit(c, &c->cur, c->free_units[best]);
    }
    offer(c);
}

static int
search_greedy(struct prefer_ctx *c)
{
    _cleanup_free_ bool *used = calloc(c->n_free ? c->n_free : 1, sizeof(*used));

    if (!used)
        return -ENOMEM;
    for (size_t s = 0; s < c->n_free; s++)
        if (c->n_forced + c->ar->units[c->free_units[s]].n_devices <= c->size)
            grow(c, used, s);
    return 0;
}

/* Candidates: healthy devices listed in available; a unit is a candidate
 * only when all of it is. */
static void
mark_available(const struct inv_resource *res, const char *const *available, size_t n,
               bool *avail)
{
    for (size_t i = 0; i < n; i++) {
        int d = available[i] ? inventory_find_device(res, available[i]) : -ENOENT;

        /* kubelet intersects with what it offered: unknown IDs are ignored */
        if (d >= 0 && res->devices[d].healthy)
            avail[d] = true;
    }
}

static bool
unit_available(const struct alloc_unit *u, const bool *avail)
{
    for (size_t i = 0; i < u->n_devices; i++)
        if (!avail[u->devices[i]])
            return false;
    return true;
}

static int
force_must(struct prefer_ctx *c, const bool *avail, const char *const *must, size_t n_must,
           struct topo_error *err)
{
    for (size_t i = 0; i < n_must; i++) {
        int d = must[i] ? inventory_find_device(c->res, must[i]) : -ENOENT;
        size_t u;

        if (d < 0)
            return topo_error_set(err, -EINVAL, "unknown device %s for %s",
                                  must[i] ? must[i] : "(null)", c->res->name);
        u = c->ar->unit_of[d];
        if (!c->res->devices[d].healthy)
            return topo_error_set(err, -ENODEV, "%s is unhealthy: %s", must[i],
                                  c->res->devices[d].reason ? c->res->devices[d].reason : "?");
        for (size_t k = 0; k < c->ar->units[u].n_devices; k++)
            if (!avail[c->ar->units[u].devices[k]])
                return topo_error_set(err, -EPERM,
                                      "%s shares IOMMU group %d with %s, which is not available",
                                      must[i], c->ar->units[u].group,
                                      c->res->devices[c->ar->units[u].devices[k]].id);
        if (!c->forced[u])
            c->n_forced += c->ar->units[u].n_devices;
        c->forced[u] = true;
    }
    if (c->n_forced > c->size)
        return topo_error_set(err, -EINVAL,
                              "must-include devices and their IOMMU groups make %zu devices, "
                              "more than the %zu requested",
                              c->n_forced, c->size);
    return 0;
}

static int
search(struct prefer_ctx *c, const bool *avail)
{
    for (size_t u = 0; u < c->ar->n_units; u++)
        if (!c->forced[u] && unit_available(&c->ar->units[u], avail))
            c->free_units[c->n_free++] = u;
    if (c->n_forced == c->size) {
        pick_forced(c, &c->cur);
        offer(c);
        return 0;
    }
    if (c->n_free <= PREFER_EXHAUSTIVE) {
        search_exhaustive(c);
        return 0;
    }
    return search_greedy(c);
}

static int
emit(const struct prefer_ctx *c, char ***ret_ids, size_t *ret_n)
{
    char **ids = calloc(c->best.n ? c->best.n : 1, sizeof(*ids));

    if (!ids)
        return -ENOMEM;
    for (size_t i = 0; i < c->best.n; i++) {
        ids[i] = strdup(c->res->devices[c->best.devs[i]].id);
        if (!ids[i]) {
            inventory_free_strv(ids, i);
            return -ENOMEM;
        }
    }
    *ret_ids = ids;
    *ret_n = c->best.n;
    return 0;
}

int
alloc_preferred(const struct inventory *inv, size_t resource, const char *const *available,
                size_t n_available, const char *const *must, size_t n_must, size_t size,
                char ***ret_ids, size_t *ret_n, struct topo_error *err)
{
    const struct alloc_priv *p = inv->priv;
    struct prefer_ctx c = {.res = &inv->resources[resource], .ar = &p->res[resource],
                           .size = size};
    size_t nd = c.res->n_devices ? c.res->n_devices : 1;
    _cleanup_free_ bool *avail = calloc(nd, sizeof(*avail));
    _cleanup_free_ bool *forced = calloc(nd, sizeof(*forced));
    _cleanup_free_ size_t *free_units = calloc(nd, sizeof(*free_units));
    _cleanup_free_ size_t *best = calloc(nd, sizeof(*best));
    _cleanup_free_ size_t *cur = calloc(nd, sizeof(*cur));
    int r;

    if (!avail || !forced || !free_units || !best || !cur)
        return topo_error_set(err, -ENOMEM, "out of memory");
    c.forced = forced;
    c.free_units = free_units;
    c.best.devs = best;
    c.cur.devs = cur;
    if (size == 0 || size > c.res->n_devices)
        return topo_error_set(err, -EINVAL, "cannot allocate %zu of the %zu devices of %s", size,
                              c.res->n_devices, c.res->name);
    r = alloc_mode_check(inv, resource, size, err);
    if (r < 0)
        return r;
    mark_available(c.res, available, n_available, avail);
    r = force_must(&c, avail, must, n_must, err);
    if (r == 0)
        r = search(&c, avail);
    if (r < 0)
        return r == -ENOMEM ? topo_error_set(err, r, "out of memory") : r;
    if (!c.found)
        return topo_error_set(err, -EPERM,
                              "no set of %zu available devices of %s keeps every IOMMU group "
                              "whole (%zu available)",
                              size, c.res->name, n_available);
    if (emit(&c, ret_ids, ret_n) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

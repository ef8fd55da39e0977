#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/base/cleanup.h"
#include "topology/units/alloc-priv.h"
#include "topology/units/prefer-priv.h"

/* GetPreferredAllocation: turn the request into a prefer_problem (the
 * candidates are the healthy, available devices of whole units; the units
 * holding must-include devices are forced) and let prefer_search pick the
 * set. The order of sets is the rule in README.md, "Preferred allocation". */

/* The problem's storage; freed by problem_clear. */
struct problem {
    struct prefer_problem p;
    size_t *cand;    /* candidate -> device index, ascending */
    size_t *cand_of; /* device -> candidate index, SIZE_MAX when none */
    uint8_t *level;
    uint8_t *slit;
    uint32_t *deg;
    struct prefer_unit *units;
    size_t *unit_of; /* candidate unit -> alloc unit */
    size_t *members; /* storage of units[].members */
    bool *forced;    /* per candidate unit */
};

static void
problem_clear(struct problem *pr)
{
    free(pr->cand);
    free(pr->cand_of);
    free(pr->level);
    free(pr->slit);
    free(pr->deg);
    free(pr->units);
    free(pr->unit_of);
    free(pr->members);
    free(pr->forced);
}

/* How close devices a and b of a resource are (enum prefer_level); the
 * SLIT distance of a FAR pair goes to *ret_slit (UINT8_MAX, the farthest,
 * when the host has no distance table). */
static uint8_t
pair_level(const struct inv_resource *res, const struct alloc_resource *ar, size_t a, size_t b,
           uint8_t *ret_slit)
{
    size_t n = res->n_devices;

    *ret_slit = 0;
    if (ar->unit_of[a] == ar->unit_of[b])
        return PREFER_GROUP;
    switch ((enum topo_distance)ar->dist[a * n + b]) {
    case TOPO_DIST_SELF:
    case TOPO_DIST_PIX:
        return PREFER_PIX;
    case TOPO_DIST_PXB:
        return PREFER_PXB;
    case TOPO_DIST_PHB:
        return PREFER_PHB;
    case TOPO_DIST_NODE:
        return PREFER_NODE;
    case TOPO_DIST_SYS:
        break;
    }
    if (res->devices[a].numa_node < 0 || res->devices[b].numa_node < 0)
        return PREFER_UNKNOWN;
    *ret_slit = ar->numa[a * n + b];
    return PREFER_FAR;
}

/* Healthy devices listed in available; kubelet intersects the answer with
 * what it offered, so unknown IDs are ignored. */
static void
mark_available(const struct inv_resource *res, const char *const *available, size_t n, bool *avail)
{
    for (size_t i = 0; i < n; i++) {
        int d = available[i] ? inventory_find_device(res, available[i]) : -ENOENT;

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

/* Mark the units of the must-include devices in forced[] (per alloc unit)
 * and count their devices in *ret_n. 0 or -errno with a message. */
static int
force_must(const struct inv_resource *res, const struct alloc_resource *ar, const bool *avail,
           const char *const *must, size_t n_must, bool *forced, size_t *ret_n,
           struct topo_error *err)
{
    size_t n_forced = 0;

    for (size_t i = 0; i < n_must; i++) {
        int d = must[i] ? inventory_find_device(res, must[i]) : -ENOENT;
        const struct alloc_unit *u;

        if (d < 0)
            return topo_error_set(err, -EINVAL, "unknown device %s for %s",
                                  must[i] ? must[i] : "(null)", res->name);
        if (!res->devices[d].healthy)
            return topo_error_set(err, -ENODEV, "%s is unhealthy: %s", must[i],
                                  res->devices[d].reason ? res->devices[d].reason : "?");
        if (!avail[d])
            return topo_error_set(err, -EINVAL, "must-include device %s is not available", must[i]);
        u = &ar->units[ar->unit_of[d]];
        for (size_t k = 0; k < u->n_devices; k++)
            if (!avail[u->devices[k]])
                return topo_error_set(err, -EPERM,
                                      "%s shares IOMMU group %d with %s, which is not available",
                                      must[i], u->group, res->devices[u->devices[k]].id);
        if (!forced[ar->unit_of[d]])
            n_forced += u->n_devices;
        forced[ar->unit_of[d]] = true;
    }
    *ret_n = n_forced;
    return 0;
}

/* Candidates: the devices of whole available units, in device (ID) order. */
static int
problem_candidates(struct problem *pr, const struct inv_resource *res,
                   const struct alloc_resource *ar, const bool *avail)
{
    size_t nd = res->n_devices ? res->n_devices : 1, n = 0;

    pr->cand = calloc(nd, sizeof(*pr->cand));
    pr->cand_of = calloc(nd, sizeof(*pr->cand_of));
    if (!pr->cand || !pr->cand_of)
        return -ENOMEM;
    for (size_t d = 0; d < res->n_devices; d++) {
        pr->cand_of[d] = SIZE_MAX;
        if (unit_available(&ar->units[ar->unit_of[d]], avail)) {
            pr->cand_of[d] = n;
            pr->cand[n++] = d;
        }
    }
    pr->p.n = n;
    return 0;
}

/* Pair levels, SLIT distances and degrees of the candidates. */
static int
problem_pairs(struct problem *pr, const struct inv_resource *res, const struct alloc_resource *ar)
{
    size_t n = pr->p.n ? pr->p.n : 1;

    pr->level = calloc(n * n, sizeof(*pr->level));
    pr->slit = calloc(n * n, sizeof(*pr->slit));
    pr->deg = calloc(n * PREFER_DEG_W, sizeof(*pr->deg));
    if (!pr->level || !pr->slit || !pr->deg)
        return -ENOMEM;
    for (size_t i = 0; i < pr->p.n; i++)
        for (size_t j = i + 1; j < pr->p.n; j++) {
            uint8_t s, l = pair_level(res, ar, pr->cand[i], pr->cand[j], &s);

            pr->level[i * n + j] = pr->level[j * n + i] = l;
            pr->slit[i * n + j] = pr->slit[j * n + i] = s;
            pr->deg[i * PREFER_DEG_W + l]++;
            pr->deg[j * PREFER_DEG_W + l]++;
            pr->deg[i * PREFER_DEG_W + PREFER_LEVELS] += s;
            pr->deg[j * PREFER_DEG_W + PREFER_LEVELS] += s;
        }
    pr->p.level = pr->level;
    pr->p.slit = pr->slit;
    pr->p.deg = pr->deg;
    return 0;
}

/* Candidate units, in the order of their first device. */
static int
problem_units(struct problem *pr, const struct alloc_resource *ar, const bool *forced)
{
    size_t n = pr->p.n ? pr->p.n : 1, nu = 0, next = 0;

    pr->units = calloc(n, sizeof(*pr->units));
    pr->unit_of = calloc(n, sizeof(*pr->unit_of));
    pr->members = calloc(n, sizeof(*pr->members));
    pr->forced = calloc(n, sizeof(*pr->forced));
    if (!pr->units || !pr->unit_of || !pr->members || !pr->forced)
        return -ENOMEM;
    for (size_t i = 0; i < pr->p.n; i++) {
        size_t au = ar->unit_of[pr->cand[i]];
        const struct alloc_unit *u = &ar->units[au];

        if (u->devices[0] != pr->cand[i])
            continue; /* not the unit's first device: added already */
        pr->units[nu].members = &pr->members[next];
        for (size_t k = 0; k < u->n_devices; k++)
            pr->members[next++] = pr->cand_of[u->devices[k]];
        pr->units[nu].n = u->n_devices;
        pr->unit_of[nu] = au;
        pr->forced[nu] = forced[au];
        nu++;
    }
    pr->p.n_units = nu;
    pr->p.units = pr->units;
    pr->p.forced = pr->forced;
    return 0;
}

static int
emit(const struct problem *pr, const struct inv_resource *res, const bool *chosen, char ***ret_ids,
     size_t *ret_n)
{
    char **ids = calloc(pr->p.size ? pr->p.size : 1, sizeof(*ids));
    size_t k = 0;

    if (!ids)
        return -ENOMEM;
    for (size_t i = 0; i < pr->p.n; i++) {
        if (!chosen[i])
            continue;
        ids[k] = strdup(res->devices[pr->cand[i]].id);
        if (!ids[k]) {
            inventory_free_strv(ids, k);
            return -ENOMEM;
        }
        k++;
    }
    *ret_ids = ids;
    *ret_n = k;
    return 0;
}

/* Build the problem, search, emit: 0, -ENOENT (no set) or -ENOMEM. */
static int
choose(struct problem *pr, const struct inv_resource *res, const struct alloc_resource *ar,
       const bool *avail, const bool *forced, char ***ret_ids, size_t *ret_n)
{
    _cleanup_free_ bool *chosen = NULL;
    int r = problem_candidates(pr, res, ar, avail);

    if (r == 0)
        r = problem_pairs(pr, res, ar);
    if (r == 0)
        r = problem_units(pr, ar, forced);
    if (r < 0)
        return r;
    chosen = calloc(pr->p.n ? pr->p.n : 1, sizeof(*chosen));
    if (!chosen)
        return -ENOMEM;
    r = prefer_search(&pr->p, chosen);
    return r < 0 ? r : emit(pr, res, chosen, ret_ids, ret_n);
}

int
alloc_preferred(const struct inventory *inv, size_t resource, const char *const *available,
                size_t n_available, const char *const *must, size_t n_must, size_t size,
                char ***ret_ids, size_t *ret_n, struct topo_error *err)
{
    const struct alloc_priv *priv = inv->priv;
    const struct inv_resource *res = &inv->resources[resource];
    const struct alloc_resource *ar = &priv->res[resource];
    size_t nd = res->n_devices ? res->n_devices : 1, n_forced = 0;
    _cleanup_free_ bool *avail = calloc(nd, sizeof(*avail));
    _cleanup_free_ bool *forced = calloc(nd, sizeof(*forced));
    struct problem pr = {.p = {.size = size}};
    int r;

    if (!avail || !forced)
        return topo_error_set(err, -ENOMEM, "out of memory");
    if (size == 0 || size > res->n_devices)
        return topo_error_set(err, -EINVAL, "cannot allocate %zu of the %zu devices of %s", size,
                              res->n_devices, res->name);
    r = alloc_mode_check(inv, resource, size, err);
    if (r < 0)
        return r;
    mark_available(res, available, n_available, avail);
    r = force_must(res, ar, avail, must, n_must, forced, &n_forced, err);
    if (r < 0)
        return r;
    if (n_forced > size)
        return topo_error_set(err, -EINVAL,
                              "must-include devices and their IOMMU groups make %zu devices, "
                              "more than the %zu requested",
                              n_forced, size);
    r = choose(&pr, res, ar, avail, forced, ret_ids, ret_n);
    problem_clear(&pr);
    if (r == -ENOENT)
        return topo_error_set(err, -EPERM,
                              "no set of %zu available devices of %s keeps every IOMMU group "
                              "whole (%zu available)",
                              size, res->name, n_available);
    if (r < 0)
        return topo_error_set(err, r, "out of memory");
    return 0;
}

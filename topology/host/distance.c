#include <stdbool.h>
#include <string.h>

#include "topology/host/host.h"

/* GPU-to-GPU distance, as `nvidia-smi topo -m` names it, computed from the
 * PCIe tree (functions[].parent) and NUMA nodes. The exact rule:
 *
 *   Let chain(x) = x, parent(x), parent(parent(x)), ... up to the root
 *   port, and L the first function of chain(b) that is also in chain(a)
 *   (the lowest common bridge); da, db = the position of L in chain(a),
 *   chain(b) (0 = the function itself, 1 = its parent, 2 = grandparent).
 *
 *   SELF  a == b
 *   PIX   L exists and da <= 2 and db <= 2: the same bridge, or sibling
 *         downstream ports of one switch (at most one switch between)
 *   PXB   L exists otherwise: several switches, same root port
 *   PHB   no L (different root ports), same host bridge directory
 *   NODE  different host bridges, same known NUMA node
 *   SYS   different NUMA nodes, or NUMA unknown for either
 */

#define MAX_CHAIN 64

static size_t
chain_of(const struct topo_host *host, size_t x, size_t *out)
{
    size_t n = 0;
    int cur = (int)x;

    /* Bounded: a corrupt parent cycle must not hang the caller. */
    while (cur >= 0 && (size_t)cur < host->n_functions && n < MAX_CHAIN) {
        out[n++] = (size_t)cur;
        cur = host->functions[cur].parent;
    }
    return n;
}

static bool
common_bridge(const struct topo_host *host, size_t a, size_t b, size_t *da, size_t *db)
{
    size_t ca[MAX_CHAIN], cb[MAX_CHAIN];
    size_t na = chain_of(host, a, ca), nb = chain_of(host, b, cb);

    for (size_t j = 0; j < nb; j++)
        for (size_t i = 0; i < na; i++)
            if (ca[i] == cb[j]) {
                *da = i;
                *db = j;
                return true;
            }
    return false;
}

enum topo_distance
topo_distance(const struct topo_host *host, size_t a, size_t b)
{
    const struct topo_function *fa, *fb;
    size_t da, db;

    if (!host || a >= host->n_functions || b >= host->n_functions)
        return TOPO_DIST_SYS;
    if (a == b)
        return TOPO_DIST_SELF;
    if (common_bridge(host, a, b, &da, &db))
        return da <= 2 && db <= 2 ? TOPO_DIST_PIX : TOPO_DIST_PXB;
    fa = &host->functions[a];
    fb = &host->functions[b];
    if (fa->host_bridge && fb->host_bridge && strcmp(fa->host_bridge, fb->host_bridge) == 0)
        return TOPO_DIST_PHB;
    if (fa->numa_node >= 0 && fa->numa_node == fb->numa_node)
        return TOPO_DIST_NODE;
    return TOPO_DIST_SYS;
}

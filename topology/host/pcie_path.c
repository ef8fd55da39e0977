#include <stdlib.h>
#include <string.h>

#include "topology/base/cleanup.h"
#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

/* The PCIe path of a function is the chain of directories in its real
 * sysfs path: devices/pci0000:12/0000:12:01.0/0000:13:00.0/.../0000:18:00.0.
 * The last "pciDDDD:BB" component is the host bridge (root complex); the
 * BDF components after it are the bridges down to the function itself
 * (nested "pci..." directories, e.g. behind a VMD controller, restart the
 * chain). The first of those is the root port. */

#define MAX_DEPTH 64

struct chain {
    const char *host_bridge;
    const char *bdf[MAX_DEPTH];
    size_t n;
};

/* Split the link target in place into the host bridge and BDF chain. */
static bool
parse_chain(char *path, struct chain *c)
{
    bool in_devices = false;
    char *save = NULL;

    memset(c, 0, sizeof(*c));
    for (char *tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (!in_devices) {
            in_devices = strcmp(tok, "devices") == 0;
            continue;
        }
        if (strncmp(tok, "pci", 3) == 0) {
            c->host_bridge = tok;
            c->n = 0;
        } else if (topo_is_bdf(tok) && c->host_bridge) {
            if (c->n == MAX_DEPTH)
                return false;
            c->bdf[c->n++] = tok;
        } else {
            return false;
        }
    }
    return c->host_bridge && c->n > 0;
}

void
topo_pcie_resolve(struct topo_host *host, size_t index, const char *link, const char *sysfs_root)
{
    struct topo_function *f = &host->functions[index];
    _cleanup_free_ char *copy = strdup(link);
    struct chain c;
    int top;

    if (!copy)
        return;
    if (!parse_chain(copy, &c) || strcmp(c.bdf[c.n - 1], f->bdf) != 0) {
        topo_host_warn(host, "%s/bus/pci/devices/%s: unexpected device path %s", sysfs_root,
                       f->bdf, link);
        return;
    }
    f->host_bridge = strdup(c.host_bridge);
    if (c.n >= 2) {
        int p = topo_host_find(host, c.bdf[c.n - 2]);
        if (p < 0)
            topo_host_warn(host, "%s/bus/pci/devices/%s: upstream bridge %s was not scanned",
                           sysfs_root, f->bdf, c.bdf[c.n - 2]);
        f->parent = p < 0 ? -1 : p;
    }
    top = c.n == 1 ? (int)index : topo_host_find(host, c.bdf[0]);
    /* Only a bridge at the top of the chain is a root port; an endpoint
     * on the root bus (integrated device) has none. */
    if (top >= 0 && host->functions[top].kind == TOPO_KIND_BRIDGE)
        f->root_port = top;
}

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <numa.h>

#include "topology/base/cleanup.h"
#include "topology/base/strfmt.h"
#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

/* NUMA node ids are dense on every platform we serve; a gap or more nodes
 * than this means the table is not worth trusting for preferences. */
#define NUMA_MAX_NODES 64

int
topo_numa_distance(const struct topo_host *host, int a, int b)
{
    if (!host || !host->numa_distance || a < 0 || b < 0 || (size_t)a >= host->n_numa_nodes ||
        (size_t)b >= host->n_numa_nodes)
        return -ENOENT;
    return host->numa_distance[(size_t)a * host->n_numa_nodes + (size_t)b];
}

/* Is sysfs_root the live /sys (so libnuma, which reads /sys, agrees)? */
static bool
live_sysfs(const char *sysfs_root)
{
    _cleanup_free_ char *real = realpath(sysfs_root, NULL);

    return real && strcmp(real, "/sys") == 0;
}

static int
from_libnuma(struct topo_host *host)
{
    int n;

    if (numa_available() < 0)
        return 0;
    n = numa_max_node() + 1;
    if (n <= 0 || n > NUMA_MAX_NODES)
        return 0;
    host->numa_distance = calloc((size_t)n * (size_t)n, 1);
    if (!host->numa_distance)
        return -ENOMEM;
    host->n_numa_nodes = (size_t)n;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            int d = numa_distance(a, b);

            host->numa_distance[a * n + b] = (uint8_t)(d > 0 && d <= UINT8_MAX ? d : UINT8_MAX);
        }
    return 0;
}

/* Parse one "10 21 21 ..." row into row[0..n-1]; -EINVAL when malformed. */
static int
parse_row(char *text, uint8_t *row, size_t n)
{
    char *save = NULL, *tok = strtok_r(text, " \t", &save);
    size_t i = 0;

    for (; tok; tok = strtok_r(NULL, " \t", &save)) {
        int v;

        if (i == n || topo_parse_int(tok, &v) < 0 || v <= 0 || v > UINT8_MAX)
            return -EINVAL;
        row[i++] = (uint8_t)v;
    }
    return i == n ? 0 : -EINVAL;
}

/* Nodes node0..node<n-1> present in sysfs: 0 and *ret, or -ENOMEM. */
static int
count_nodes(int sys_fd, size_t *ret)
{
    size_t n = 0;

    while (n < NUMA_MAX_NODES) {
        _cleanup_free_ char *path = NULL;

        if (topo_strfmt(&path, "devices/system/node/node%zu", n) < 0)
            return -ENOMEM;
        if (!topo_sysfs_exists(sys_fd, path))
            break;
        n++;
    }
    *ret = n;
    return 0;
}

static int
from_sysfs(struct topo_host *host, int sys_fd, const char *sysfs_root)
{
    _cleanup_free_ uint8_t *table = NULL;
    size_t n;

    if (count_nodes(sys_fd, &n) < 0)
        return -ENOMEM;
    if (n == 0)
        return 0;
    table = calloc(n * n, 1);
    if (!table)
        return -ENOMEM;
    for (size_t a = 0; a < n; a++) {
        _cleanup_free_ char *path = NULL;
        char buf[4 * NUMA_MAX_NODES + 16];
        int r;

        if (topo_strfmt(&path, "devices/system/node/node%zu/distance", a) < 0)
            return -ENOMEM;
        r = topo_sysfs_read(sys_fd, path, buf, sizeof(buf));
        if (r < 0 || parse_row(buf, table + a * n, n) < 0)
            return topo_host_warn(host, "%s/%s: %s; NUMA distances not used", sysfs_root, path,
                                  r < 0 ? strerror(-r) : "not a row of distances") == -ENOMEM
                       ? -ENOMEM
                       : 0;
    }
    host->numa_distance = TAKE_PTR(table);
    host->n_numa_nodes = n;
    return 0;
}

int
topo_numa_scan(struct topo_host *host, int sys_fd, const char *sysfs_root)
{
    if (live_sysfs(sysfs_root))
        return from_libnuma(host);
    return from_sysfs(host, sys_fd, sysfs_root);
}

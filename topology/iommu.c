#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/cleanup.h"
#include "topology/host-priv.h"
#include "topology/sysfs.h"

/* One walker for kernel/iommu_groups/<N>/devices/<bdf>: the directory, not
 * the per-device links, defines membership (it is what VFIO checks). */

static int
size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static int
group_cmp(const void *a, const void *b)
{
    const struct topo_group *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static DIR *
open_dir_at(int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (fd < 0)
        return NULL;
    d = fdopendir(fd);
    if (!d)
        close(fd);
    return d;
}

static int
read_members(struct topo_host *host, int sys_fd, const char *sysfs_root, struct topo_group *g)
{
    char path[64];
    _cleanup_dir_ DIR *d = NULL;
    struct dirent *de;

    snprintf(path, sizeof(path), "kernel/iommu_groups/%d/devices", g->id);
    d = open_dir_at(sys_fd, path);
    if (!d) {
        topo_host_warn(host, "%s/%s: %s", sysfs_root, path, strerror(errno));
        return 0;
    }
    while ((de = readdir(d))) {
        size_t *v;
        int idx;

        if (de->d_name[0] == '.')
            continue;
        idx = topo_host_find(host, de->d_name);
        if (idx < 0) {
            topo_host_warn(host, "%s/%s/%s: member is not a scanned PCI function", sysfs_root,
                           path, de->d_name);
            continue;
        }
        v = realloc(g->members, (g->n_members + 1) * sizeof(*v));
        if (!v)
            return -ENOMEM;
        v[g->n_members++] = (size_t)idx;
        g->members = v;
    }
    /* functions[] is sorted by BDF, so index order is BDF order. */
    qsort(g->members, g->n_members, sizeof(size_t), size_cmp);
    return 0;
}

/* Viable for VFIO: every member is a bridge or bound to a VFIO driver. */
static int
judge_group(const struct topo_host *host, struct topo_group *g)
{
    g->viable = true;
    for (size_t i = 0; i < g->n_members; i++) {
        const struct topo_function *f = &host->functions[g->members[i]];
        int r;

        if (f->kind == TOPO_KIND_BRIDGE || f->vfio)
            continue;
        g->viable = false;
        if (f->driver)
            r = asprintf(&g->not_viable, "%s bound to %s", f->bdf, f->driver);
        else
            r = asprintf(&g->not_viable, "%s has no driver", f->bdf);
        if (r < 0) {
            g->not_viable = NULL;
            return -ENOMEM;
        }
        break;
    }
    return 0;
}

static int
add_group(struct topo_host *host, int id, size_t *cap)
{
    if (host->n_groups == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct topo_group *v = realloc(host->groups, ncap * sizeof(*v));

        if (!v)
            return -ENOMEM;
        host->groups = v;
        *cap = ncap;
    }
    memset(&host->groups[host->n_groups], 0, sizeof(struct topo_group));
    host->groups[host->n_groups++].id = id;
    return 0;
}

int
topo_iommu_scan(struct topo_host *host, int sys_fd, int dev_fd, const char *sysfs_root)
{
    _cleanup_dir_ DIR *d = open_dir_at(sys_fd, "kernel/iommu_groups");
    struct dirent *de;
    size_t cap = 0;
    int r;

    if (!d)
        return 0; /* no IOMMU enabled: no groups, nothing is assignable */
    while ((de = readdir(d))) {
        int id;

        if (de->d_name[0] == '.')
            continue;
        if (topo_parse_int(de->d_name, &id) < 0 || id < 0) {
            topo_host_warn(host, "%s/kernel/iommu_groups/%s: not a group number", sysfs_root,
                           de->d_name);
            continue;
        }
        r = add_group(host, id, &cap);
        if (r < 0)
            return r;
    }
    qsort(host->groups, host->n_groups, sizeof(*host->groups), group_cmp);
    for (size_t i = 0; i < host->n_groups; i++) {
        struct topo_group *g = &host->groups[i];
        char node[32];

        r = read_members(host, sys_fd, sysfs_root, g);
        if (r >= 0)
            r = judge_group(host, g);
        if (r < 0)
            return r;
        snprintf(node, sizeof(node), "vfio/%d", g->id);
        g->dev_node = topo_sysfs_exists(dev_fd, node);
    }
    return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/base/cleanup.h"
#include "topology/host/scan-priv.h"
#include "topology/host/sysfs.h"

/* The incremental scan: a uevent names a function; that function is read
 * again (its uevent, or it is gone), and so is what depends on it: the
 * IOMMU groups it left or joined, and every function whose reported state
 * changes with it (scan.c marks and reads those as in a full scan). What
 * nothing dirty touches is taken from the previous host: links, group
 * listings, NUMA nodes, PF links, names. Indices are remapped by BDF. */

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Index in the new host of the previous host's function p (or -1). */
static int
remap(const struct scan *s, int p)
{
    int i;

    if (p < 0 || (size_t)p >= s->prev->n_functions)
        return -1;
    i = topo_host_find(s->host, s->prev->functions[p].bdf);
    return i < 0 ? -1 : i;
}

static void
add_dirty_group(struct scan *s, int id)
{
    if (id < 0)
        return;
    for (size_t i = 0; i < s->n_dirty_groups; i++)
        if (s->dirty_groups[i] == id)
            return;
    s->dirty_groups[s->n_dirty_groups++] = id;
}

/* The group a re-read function links to now, or -1. */
static int
group_now(const struct scan *s, const char *bdf)
{
    _cleanup_close_ int dir_fd = openat(s->devices_fd, bdf, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_free_ char *target = NULL;
    int id;

    if (dir_fd < 0 || topo_sysfs_readlink(dir_fd, "iommu_group", &target) < 0 ||
        topo_parse_int(topo_path_basename(target), &id) < 0)
        return -1;
    return id;
}

/* The functions of prev, in BDF order, with the named ones read again. */
static int
merge(struct scan *s, const char **names, size_t n_names)
{
    const struct topo_host *prev = s->prev;
    struct topo_host *host = s->host;
    size_t i = 0, j = 0;
    int r = 0;

    while (r >= 0 && (i < prev->n_functions || j < n_names)) {
        int c = i == prev->n_functions ? 1
                : j == n_names         ? -1
                                       : strcmp(prev->functions[i].bdf, names[j]);
        struct topo_function *f = &host->functions[host->n_functions];

        if (c < 0) { /* untouched: what its uevent said, the rest is recomputed */
            const struct topo_function *p = &prev->functions[i];

            *f = (struct topo_function){.vendor = p->vendor, .device = p->device,
                                        .class_code = p->class_code, .kind = p->kind,
                                        .vfio = p->vfio, .iommu_group = -1, .vfio_cdev = -1,
                                        .numa_node = -1, .physfn = -1, .parent = -1,
                                        .root_port = -1};
            memcpy(f->bdf, p->bdf, sizeof(f->bdf));
            if (p->driver && !(f->driver = strdup(p->driver)))
                return -ENOMEM;
            s->prev_idx[host->n_functions++] = (int)i++;
            continue;
        }
        if (c == 0) /* named: the group it was in may lose it */
            add_dirty_group(s, prev->functions[i++].iommu_group);
        r = topo_enumerate_one(host, s->root, s->devices_fd, names[j], f);
        if (r > 0) {
            add_dirty_group(s, group_now(s, names[j]));
            s->dirty[host->n_functions] = true;
            s->prev_idx[host->n_functions++] = -1;
        }
        j++;
    }
    return r < 0 ? r : 0;
}

int
scan_update_functions(struct scan *s, const char *const *bdfs, size_t n_bdfs,
                      struct topo_error *err)
{
    size_t cap = s->prev->n_functions + n_bdfs + 1, n = 0, k = 0;
    _cleanup_free_ const char **names = calloc(n_bdfs + 1, sizeof(*names));
    int r;

    s->host->functions = calloc(cap, sizeof(*s->host->functions));
    s->prev_idx = calloc(cap, sizeof(*s->prev_idx));
    s->dirty = calloc(cap, sizeof(*s->dirty));
    s->dirty_groups = calloc(2 * n_bdfs + 1, sizeof(*s->dirty_groups));
    if (!names || !s->host->functions || !s->prev_idx || !s->dirty || !s->dirty_groups)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n_bdfs; i++)
        if (bdfs[i] && topo_is_bdf(bdfs[i]))
            names[n++] = bdfs[i];
    qsort(names, n, sizeof(*names), str_cmp);
    for (size_t i = 0; i < n; i++) /* drop duplicates */
        if (k == 0 || strcmp(names[i], names[k - 1]) != 0)
            names[k++] = names[i];
    r = merge(s, names, k);
    if (r < 0)
        return topo_error_set(err, r, "out of memory");
    return 0;
}

/* Was function p of prev reported, and is i its clean twin? */
static const struct topo_function *
clean_twin(const struct scan *s, size_t i)
{
    int p = s->prev && !s->dirty[i] ? s->prev_idx[i] : -1;

    if (p < 0 || !s->prev->functions[p].reported)
        return NULL;
    return &s->prev->functions[p];
}

bool
scan_reuse_links(struct scan *s, size_t i)
{
    const struct topo_function *p = clean_twin(s, i);
    struct topo_function *f = &s->host->functions[i];

    /* no parent and not a root port: its bridge may be back, read again */
    if (!p || (p->parent < 0 && p->root_port != p - s->prev->functions))
        return false;
    f->iommu_group = p->iommu_group >= 0 && topo_host_group(s->host, p->iommu_group)
                         ? p->iommu_group
                         : -1;
    f->parent = remap(s, p->parent);
    f->root_port = remap(s, p->root_port);
    if (p->host_bridge)
        f->host_bridge = strdup(p->host_bridge);
    return true;
}

/* Did prev list g's devices/ (it held an NVIDIA function linking to it)? */
static const struct topo_group *
prev_listing(const struct scan *s, int id)
{
    const struct topo_group *g = topo_host_group(s->prev, id);

    for (size_t m = 0; g && m < g->n_members; m++) {
        const struct topo_function *f = &s->prev->functions[g->members[m]];

        if (f->vendor == NVIDIA_VENDOR && f->iommu_group == id)
            return g;
    }
    return NULL;
}

bool
scan_reuse_group(struct scan *s, struct topo_group *g)
{
    const struct topo_group *p;
    size_t *members;

    if (!s->prev || !(p = prev_listing(s, g->id)))
        return false;
    for (size_t i = 0; i < s->n_dirty_groups; i++)
        if (s->dirty_groups[i] == g->id)
            return false;
    members = calloc(p->n_members ? p->n_members : 1, sizeof(*members));
    if (!members)
        return false; /* listed again instead */
    free(g->members);
    g->members = members;
    g->n_members = 0;
    for (size_t m = 0; m < p->n_members; m++) {
        int i = remap(s, (int)p->members[m]);

        if (i >= 0)
            g->members[g->n_members++] = (size_t)i;
    }
    return true;
}

bool
scan_reuse_details(struct scan *s, size_t i)
{
    const struct topo_function *p = clean_twin(s, i);
    struct topo_function *f = &s->host->functions[i];

    /* a VF whose PF was missing: the PF may be back, read again */
    if (!p || (p->is_vf && p->physfn < 0))
        return false;
    f->numa_node = p->numa_node;
    f->vfio_cdev = p->vfio_cdev;
    f->is_vf = p->is_vf;
    f->physfn = remap(s, p->physfn);
    f->family = p->family;
    if (p->model)
        f->model = strdup(p->model);
    return true;
}

int
scan_refresh_unreported(struct scan *s)
{
    for (size_t i = 0; i < s->host->n_functions; i++) {
        struct topo_function *f = &s->host->functions[i];
        char bdf[TOPO_BDF_LEN + 1];
        int r;

        if (f->reported || s->dirty[i] || s->prev_idx[i] < 0 ||
            !s->prev->functions[s->prev_idx[i]].reported)
            continue;
        memcpy(bdf, f->bdf, sizeof(bdf));
        free(f->driver);
        /* 0 (gone without an event): kept with what the uevent lacked */
        if ((r = topo_enumerate_one(s->host, s->root, s->devices_fd, bdf, f)) < 0)
            return r;
    }
    return 0;
}

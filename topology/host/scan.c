#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/base/cleanup.h"
#include "topology/host/host-priv.h"
#include "topology/host/pci_access.h"
#include "topology/host/scan-priv.h"
#include "topology/host/sysfs.h"

/* topo_scan: enumerate every function with one read of its uevent
 * (enumerate.c), then look closer only at the functions we report on:
 * NVIDIA functions, the members of their IOMMU groups and the bridges
 * above all of those. Everything is read relative to open directories
 * (the sysfs root, bus/pci/devices, the function's own directory). A
 * damaged attribute affects only its function and becomes a warning that
 * names the path; only unusable roots fail the scan.
 *
 * Syscalls dominate the cost (several µs each in a VM, thousands of
 * functions on a big host): the floor is one open/read/close per function,
 * and everything else here is paid per reported function only. */

static void
libpci_warning(void *ctx, const char *msg)
{
    topo_host_warn(ctx, "libpci: %s", msg);
}

/* Is bus/pci/drivers/<name> there? Asked once per name per scan. */
static bool
driver_exists(struct scan *s, const char *name)
{
    _cleanup_free_ char *path = NULL;
    bool exists;

    for (size_t i = 0; i < s->n_drivers; i++)
        if (strcmp(s->drivers[i].name, name) == 0)
            return s->drivers[i].exists;
    if (asprintf(&path, "bus/pci/drivers/%s", name) < 0) {
        path = NULL;
        return true; /* out of memory: do not invent a damaged tree */
    }
    exists = topo_sysfs_exists(s->sys_fd, path);
    if (s->n_drivers < MAX_DRIVERS && (s->drivers[s->n_drivers].name = strdup(name)))
        s->drivers[s->n_drivers++].exists = exists;
    return exists;
}

/* The driver link of a reported function is authoritative (the uevent's
 * DRIVER= said the same on a consistent tree). */
static void
read_driver(struct scan *s, int dir_fd, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    const char *name;
    int r = topo_sysfs_readlink(dir_fd, "driver", &target);

    free(f->driver);
    f->driver = NULL;
    f->vfio = false;
    if (r == -ENOENT)
        return; /* unbound */
    if (r < 0) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/driver: %s", s->root, f->bdf,
                       strerror(-r));
        return;
    }
    name = topo_path_basename(target);
    if (!driver_exists(s, name)) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/driver: dangling link to %s", s->root,
                       f->bdf, target);
        return;
    }
    f->driver = strdup(name);
    f->vfio = topo_vfio_driver(f->driver);
}

/* The group link points at kernel/iommu_groups/<id>; host->groups holds
 * what that directory lists, so no need to follow the link. */
static void
read_group(struct scan *s, int dir_fd, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    int r = topo_sysfs_readlink(dir_fd, "iommu_group", &target);
    int id;

    if (r == -ENOENT)
        return; /* no IOMMU translation for this device */
    if (r < 0) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/iommu_group: %s", s->root, f->bdf,
                       strerror(-r));
        return;
    }
    if (topo_parse_int(topo_path_basename(target), &id) < 0 || id < 0) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/iommu_group: bad group link %s", s->root,
                       f->bdf, target);
        return;
    }
    if (!topo_host_group(s->host, id)) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/iommu_group: dangling link to %s",
                       s->root, f->bdf, target);
        return;
    }
    f->iommu_group = id;
}

static int
mark(struct scan *s, size_t i)
{
    if (s->state[i] & DETAIL)
        return 0;
    s->state[i] |= DETAIL;
    s->work[s->n_work++] = i; /* each function enters once: work has n_functions slots */
    return 0;
}

/* An NVIDIA function's group: list its members once, all reported on. */
static int
list_group(struct scan *s, const struct topo_function *f)
{
    const struct topo_group *cg = topo_host_group(s->host, f->iommu_group);
    size_t gi;
    int r;

    if (!cg || f->vendor != NVIDIA_VENDOR || s->listed[cg - s->host->groups])
        return 0;
    gi = (size_t)(cg - s->host->groups);
    s->listed[gi] = true;
    r = scan_reuse_group(s, &s->host->groups[gi])
            ? 0
            : topo_iommu_list_members(s->host, s->sys_fd, s->root, &s->host->groups[gi]);
    for (size_t m = 0; r >= 0 && m < s->host->groups[gi].n_members; m++)
        r = mark(s, s->host->groups[gi].members[m]);
    return r;
}

/* Links of one reported function: its place in the tree (the bus link),
 * driver and group. Its parent and its group's members are reported on
 * too. Returns 0 or -ENOMEM. */
static int
read_links(struct scan *s, size_t i)
{
    struct topo_function *f = &s->host->functions[i];
    _cleanup_close_ int dir_fd = -1;
    int r;

    s->state[i] |= LINKS;
    f->reported = true;
    if (scan_reuse_links(s, i)) {
        if (f->parent >= 0)
            mark(s, (size_t)f->parent);
        return list_group(s, f);
    }
    r = topo_sysfs_readlink(s->devices_fd, f->bdf, &s->links[i]);
    if (r == -ENOMEM)
        return r;
    if (r < 0 && r != -EINVAL)
        topo_host_warn(s->host, "%s/bus/pci/devices/%s: %s", s->root, f->bdf, strerror(-r));
    dir_fd = openat(s->devices_fd, f->bdf, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s: %s", s->root, f->bdf, strerror(errno));
        return 0;
    }
    read_driver(s, dir_fd, f);
    read_group(s, dir_fd, f);
    if (s->links[i])
        topo_pcie_resolve(s->host, i, s->links[i], s->root);
    else if (r == -EINVAL)
        topo_host_warn(s->host, "%s/bus/pci/devices/%s: not a link, PCIe path unknown", s->root,
                       f->bdf);
    if (f->parent >= 0 && (r = mark(s, (size_t)f->parent)) < 0)
        return r;
    return list_group(s, f);
}

static void
read_numa(struct scan *s, int dir_fd, struct topo_function *f)
{
    char buf[32];
    int r = topo_sysfs_read(dir_fd, "numa_node", buf, sizeof(buf));
    int node;

    if (r == -ENOENT)
        return; /* kernels without NUMA support */
    if (r < 0 || topo_parse_int(buf, &node) < 0 || node < -1) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/numa_node: %s", s->root, f->bdf,
                       r < 0 ? strerror(-r) : "not a NUMA node number");
        return;
    }
    f->numa_node = node;
}

static int
cdev_entry(const char *name, void *ctx)
{
    struct topo_function *f = ctx;

    if (f->vfio_cdev < 0)
        topo_parse_prefixed_int(name, "vfio", &f->vfio_cdev);
    return 0;
}

static void
read_cdev(struct scan *s, int dir_fd, struct topo_function *f)
{
    int r = topo_sysfs_list(dir_fd, "vfio-dev", cdev_entry, f);

    if (r < 0 && r != -ENOENT)
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/vfio-dev: %s", s->root, f->bdf,
                       strerror(-r));
}

static void
read_physfn(struct scan *s, int dir_fd, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    int r = topo_sysfs_readlink(dir_fd, "physfn", &target);
    int pf;

    if (r == -ENOENT)
        return;
    f->is_vf = true;
    if (r < 0 || !topo_is_bdf(topo_path_basename(target))) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/physfn: %s", s->root, f->bdf,
                       r < 0 ? strerror(-r) : "not a PCI address");
        return;
    }
    pf = topo_host_find(s->host, topo_path_basename(target));
    if (pf < 0)
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/physfn: %s was not scanned", s->root,
                       f->bdf, topo_path_basename(target));
    f->physfn = pf < 0 ? -1 : pf;
}

static void
set_model(struct scan *s, struct topo_function *f)
{
    struct topo_error err = TOPO_ERROR_INIT;
    const char *name;

    if (f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH &&
        f->kind != TOPO_KIND_COMPANION)
        return;
    if (topo_model_lookup(f->device, &name, &f->family)) {
        f->model = strdup(name);
        return;
    }
    f->family = TOPO_FAMILY_OTHER;
    /* libpci only for what it adds: names from pci.ids. */
    if (!s->pci && !s->pci_failed &&
        topo_pci_open(s->root, libpci_warning, s->host, &s->pci, &err) < 0)
        s->pci_failed = true;
    f->model = s->pci ? topo_pci_lookup_device(s->pci, f->vendor, f->device) : NULL;
    if (!f->model && asprintf(&f->model, "device-%04x", f->device) < 0)
        f->model = NULL;
}

/* NUMA node, PF link, vfio cdev and name of the functions we report on. */
static void
read_details(struct scan *s)
{
    for (size_t i = 0; i < s->host->n_functions; i++) {
        struct topo_function *f = &s->host->functions[i];
        _cleanup_close_ int dir_fd = -1;

        bool reused;

        if (!(s->state[i] & DETAIL))
            continue;
        reused = scan_reuse_details(s, i);
        dir_fd = openat(s->devices_fd, f->bdf, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
            continue; /* warned about in read_links */
        if (!reused) {
            read_numa(s, dir_fd, f);
            if (f->vfio) /* only VFIO drivers create vfio-dev/vfioN */
                read_cdev(s, dir_fd, f);
            read_physfn(s, dir_fd, f);
            set_model(s, f);
        }
        /* PCIe facts of the GPUs and NVSwitches we list (PFs: a VF reads
         * all-ones IDs from config space by design), read by every scan:
         * AER counts grow without a uevent. */
        if ((f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH) && !f->is_vf)
            topo_pcie_read(dir_fd, &f->pcie);
    }
}

static int
alloc_state(struct scan *s, struct topo_error *err)
{
    size_t n = s->host->n_functions ? s->host->n_functions : 1;

    s->links = calloc(n, sizeof(*s->links));
    s->state = calloc(n, sizeof(*s->state));
    s->work = calloc(n, sizeof(*s->work));
    s->listed = calloc(s->host->n_groups ? s->host->n_groups : 1, sizeof(*s->listed));
    if (!s->links || !s->state || !s->work || !s->listed)
        return topo_error_set(err, -ENOMEM, "out of memory for %zu PCI functions", n);
    return 0;
}

/* Links of NVIDIA functions, then of everything they pull in (group
 * members, upstream bridges) until nothing new is marked. */
static int
read_reported(struct scan *s, struct topo_error *err)
{
    int r = 0;

    for (size_t i = 0; i < s->host->n_functions; i++)
        if (s->host->functions[i].vendor == NVIDIA_VENDOR)
            mark(s, i);
    while (r >= 0 && s->n_work > 0)
        r = read_links(s, s->work[--s->n_work]);
    if (r < 0)
        return topo_error_set(err, r, "out of memory");
    return 0;
}

/* prev's distance table: the SLIT does not change while the host runs. */
static int
copy_numa(struct topo_host *host, const struct topo_host *prev)
{
    size_t n = prev->n_numa_nodes * prev->n_numa_nodes;

    if (!prev->numa_distance)
        return 0;
    if (!(host->numa_distance = malloc(n)))
        return -ENOMEM;
    memcpy(host->numa_distance, prev->numa_distance, n);
    host->n_numa_nodes = prev->n_numa_nodes;
    return 0;
}

static int
scan_host(struct scan *s, enum topo_iommu_mode mode, const char *const *bdfs, size_t n_bdfs,
          struct topo_error *err)
{
    int r = topo_iommu_list(s->host, s->sys_fd, s->root);

    if (r < 0)
        return topo_error_set(err, r, "out of memory");
    r = s->prev ? scan_update_functions(s, bdfs, n_bdfs, err)
                : topo_enumerate(s->host, s->devices_fd, s->root, err);
    if (r < 0 || (r = alloc_state(s, err)) < 0 || (r = read_reported(s, err)) < 0)
        return r;
    if (s->prev && scan_refresh_unreported(s) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
    r = topo_iommu_members(s->host, s->listed, s->dev_fd);
    if (r < 0)
        return topo_error_set(err, r, "reading IOMMU groups under %s: out of memory", s->root);
    read_details(s);
    topo_vfio_resolve(s->host, s->sys_fd, s->dev_fd, mode);
    r = s->prev ? copy_numa(s->host, s->prev) : topo_numa_scan(s->host, s->sys_fd, s->root);
    if (r < 0)
        return topo_error_set(err, -ENOMEM, "reading NUMA distances: out of memory");
    return 0;
}

static int
open_dir(int at, const char *path, const char *what, int flags, struct topo_error *err)
{
    int fd = openat(at, path, flags | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return topo_error_set(err, -errno, "open %s %s: %s", what, path, strerror(errno));
    return fd;
}

static void
scan_release(struct scan *s)
{
    for (size_t i = 0; s->links && i < s->host->n_functions; i++)
        free(s->links[i]);
    free(s->links);
    free(s->state);
    free(s->work);
    free(s->listed);
    free(s->prev_idx);
    free(s->dirty);
    free(s->dirty_groups);
    for (size_t i = 0; i < s->n_drivers; i++)
        free(s->drivers[i].name);
    topo_pci_close(s->pci);
}

static int
run_scan(const struct topo_scan_options *opts, const struct topo_host *prev,
         const char *const *bdfs, size_t n_bdfs, struct topo_host **ret_host,
         struct topo_error *err)
{
    const char *sysfs_root = opts && opts->sysfs_root ? opts->sysfs_root : "/sys";
    const char *dev_root = opts && opts->dev_root ? opts->dev_root : "/dev";
    _cleanup_close_ int sys_fd = -1, dev_fd = -1, devices_fd = -1;
    struct scan s = {.root = sysfs_root, .prev = prev};
    int r;

    sys_fd = open_dir(AT_FDCWD, sysfs_root, "sysfs root", O_PATH, err);
    if (sys_fd < 0)
        return sys_fd;
    dev_fd = open_dir(AT_FDCWD, dev_root, "dev root", O_PATH, err);
    if (dev_fd < 0)
        return dev_fd;
    devices_fd = open_dir(sys_fd, "bus/pci/devices", "PCI device list", O_PATH, err);
    if (devices_fd < 0)
        return topo_error_prefix(err, devices_fd, "scan %s", sysfs_root);
    s.sys_fd = sys_fd;
    s.dev_fd = dev_fd;
    s.devices_fd = devices_fd;
    s.host = calloc(1, sizeof(*s.host));
    if (!s.host)
        return topo_error_set(err, -ENOMEM, "out of memory");
    r = scan_host(&s, opts ? opts->iommu : TOPO_IOMMU_AUTO, bdfs, n_bdfs, err);
    scan_release(&s);
    if (r < 0) {
        topo_host_free(s.host);
        return topo_error_prefix(err, r, "scan %s", sysfs_root);
    }
    *ret_host = s.host;
    return 0;
}

int
topo_scan(const struct topo_scan_options *opts, struct topo_host **ret_host,
          struct topo_error *err)
{
    return run_scan(opts, NULL, NULL, 0, ret_host, err);
}

int
topo_scan_update(const struct topo_scan_options *opts, const struct topo_host *prev,
                 const char *const *bdfs, size_t n_bdfs, struct topo_host **ret_host,
                 struct topo_error *err)
{
    if (!prev)
        return run_scan(opts, NULL, NULL, 0, ret_host, err);
    return run_scan(opts, prev, bdfs, n_bdfs, ret_host, err);
}

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/base/cleanup.h"
#include "topology/host/host-priv.h"
#include "topology/host/pci_access.h"
#include "topology/host/sysfs.h"

/* topo_scan: libpci enumerates functions and reads IDs and class; every
 * other attribute is read here, relative to the sysfs root fd. A damaged
 * attribute affects only its function and becomes a warning that names
 * the path; only unusable roots fail the scan.
 *
 * Syscalls dominate the cost (several µs each in a VM, thousands of
 * functions on a big host), so each function gets only what the tree and
 * the groups need: its PCIe path, driver and iommu_group links, one
 * readlinkat each. The rest (NUMA node, physfn, vfio-dev) is read only
 * for the functions we report on: NVIDIA functions, the members of their
 * IOMMU groups and the bridges above all of those. */

#define NVIDIA_VENDOR 0x10de
#define MAX_DRIVERS 32 /* distinct driver names remembered per scan */
#define MAX_DEPTH 64   /* bound on a parent walk: a corrupt tree must not hang */

struct scan {
    struct topo_host *host;
    const char *root; /* for messages only; files are opened via sys_fd */
    int sys_fd;
    int dev_fd;
    char **links;       /* per function: target of bus/pci/devices/<bdf> */
    char (*physfn)[16]; /* per function: BDF of the PF, "" if none */
    bool *detail;       /* per function: read NUMA node, physfn, vfio-dev */
    struct {
        char name[64];
        bool exists;
    } drivers[MAX_DRIVERS];
    size_t n_drivers;
};

static void
libpci_warning(void *ctx, const char *msg)
{
    topo_host_warn(ctx, "libpci: %s", msg);
}

/* "bus/pci/devices/<bdf>/<attr>" (attr may be NULL) into buf. */
static const char *
dev_path(char *buf, size_t size, const char *bdf, const char *attr)
{
    snprintf(buf, size, "bus/pci/devices/%s%s%s", bdf, attr ? "/" : "", attr ? attr : "");
    return buf;
}

/* Is a link target of the shape ".../<dir>/<name>" (dir given with its
 * leading '/')? Returns 0 and *ret_name, or -EINVAL for any other shape. */
static int
tail_is(const char *target, const char *dir, const char **ret_name)
{
    const char *name = topo_path_basename(target);
    size_t dlen = strlen(dir);

    if (!*name || (size_t)(name - target) < dlen + 1 ||
        strncmp(name - dlen - 1, dir, dlen) != 0 || name[-1] != '/')
        return -EINVAL;
    *ret_name = name;
    return 0;
}

/* A driver link points at bus/pci/drivers/<name>: check each name once
 * per scan instead of following every function's link. */
static bool
driver_exists(struct scan *s, const char *link_path, const char *target)
{
    const char *name;
    char path[128];
    bool exists;

    if (tail_is(target, "/bus/pci/drivers", &name) < 0 ||
        strlen(name) >= sizeof(s->drivers[0].name))
        return topo_sysfs_exists(s->sys_fd, link_path);
    for (size_t i = 0; i < s->n_drivers; i++)
        if (strcmp(s->drivers[i].name, name) == 0)
            return s->drivers[i].exists;
    snprintf(path, sizeof(path), "bus/pci/drivers/%s", name);
    exists = topo_sysfs_exists(s->sys_fd, path);
    if (s->n_drivers < MAX_DRIVERS) {
        snprintf(s->drivers[s->n_drivers].name, sizeof(s->drivers[0].name), "%s", name);
        s->drivers[s->n_drivers++].exists = exists;
    }
    return exists;
}

static void
read_driver(struct scan *s, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    char path[64];
    int r = topo_sysfs_readlink(s->sys_fd, dev_path(path, sizeof(path), f->bdf, "driver"), &target);

    if (r == -ENOENT)
        return; /* unbound */
    if (r < 0) {
        topo_host_warn(s->host, "%s/%s: %s", s->root, path, strerror(-r));
        return;
    }
    if (!driver_exists(s, path, target)) {
        topo_host_warn(s->host, "%s/%s: dangling link to %s", s->root, path, target);
        return;
    }
    f->driver = strdup(topo_path_basename(target));
    f->vfio = topo_vfio_driver(f->driver);
}

/* The group link points at kernel/iommu_groups/<id>; host->groups holds
 * what that directory lists, so no need to follow the link. */
static void
read_group(struct scan *s, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    const char *name;
    char path[64];
    int r = topo_sysfs_readlink(s->sys_fd, dev_path(path, sizeof(path), f->bdf, "iommu_group"),
                                &target);
    int id;
    bool exists;

    if (r == -ENOENT)
        return; /* no IOMMU translation for this device */
    if (r < 0) {
        topo_host_warn(s->host, "%s/%s: %s", s->root, path, strerror(-r));
        return;
    }
    if (topo_parse_int(topo_path_basename(target), &id) < 0 || id < 0) {
        topo_host_warn(s->host, "%s/%s: bad group link %s", s->root, path, target);
        return;
    }
    if (tail_is(target, "/kernel/iommu_groups", &name) == 0)
        exists = topo_host_group(s->host, id) != NULL;
    else
        exists = topo_sysfs_exists(s->sys_fd, path);
    if (!exists) {
        topo_host_warn(s->host, "%s/%s: dangling link to %s", s->root, path, target);
        return;
    }
    f->iommu_group = id;
}

static void
read_numa(struct scan *s, struct topo_function *f)
{
    char buf[32], path[64];
    int r = topo_sysfs_read(s->sys_fd, dev_path(path, sizeof(path), f->bdf, "numa_node"), buf,
                            sizeof(buf));
    int node;

    if (r == -ENOENT)
        return; /* kernels without NUMA support */
    if (r < 0 || topo_parse_int(buf, &node) < 0 || node < -1) {
        topo_host_warn(s->host, "%s/%s: %s", s->root, path,
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
read_cdev(struct scan *s, struct topo_function *f)
{
    char path[64];
    int r = topo_sysfs_list(s->sys_fd, dev_path(path, sizeof(path), f->bdf, "vfio-dev"),
                            cdev_entry, f);

    if (r < 0 && r != -ENOENT)
        topo_host_warn(s->host, "%s/%s: %s", s->root, path, strerror(-r));
}

static void
read_physfn(struct scan *s, struct topo_function *f, char *ret_pf)
{
    _cleanup_free_ char *target = NULL;
    char path[64];
    int r = topo_sysfs_readlink(s->sys_fd, dev_path(path, sizeof(path), f->bdf, "physfn"), &target);

    if (r == -ENOENT)
        return;
    f->is_vf = true;
    if (r < 0 || !topo_is_bdf(topo_path_basename(target))) {
        topo_host_warn(s->host, "%s/%s: %s", s->root, path,
                       r < 0 ? strerror(-r) : "not a PCI address");
        return;
    }
    snprintf(ret_pf, 16, "%s", topo_path_basename(target));
}

/* The device directory is gone: libpci could not read its IDs and the
 * bus/pci/devices link dangles, or the link itself went away. */
static bool
vanished(struct scan *s, const char *path, int error)
{
    _cleanup_close_ int fd = -1;

    if (!error) {
        fd = openat(s->sys_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
            return false;
        error = errno;
    }
    topo_host_warn(s->host, "%s/%s: device vanished (%s)", s->root, path, strerror(error));
    return true;
}

/* Fill host->functions[n] from a libpci entry. Returns false (and warns)
 * when the device is gone, so the caller does not keep it. */
static bool
scan_function(struct scan *s, const struct topo_pci_entry *e, size_t n)
{
    struct topo_function *f = &s->host->functions[n];
    char *link = NULL;
    char path[64];
    int r;

    if (!topo_is_bdf(e->bdf)) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s: unsupported PCI address", s->root, e->bdf);
        return false;
    }
    dev_path(path, sizeof(path), e->bdf, NULL);
    /* Only a failed ID read hints at a vanished device: check then. */
    if (!e->ident_ok && vanished(s, path, 0))
        return false;
    r = topo_sysfs_readlink(s->sys_fd, path, &link);
    if (r == -ENOENT && vanished(s, path, ENOENT)) /* removed since libpci listed it */
        return false;
    s->links[n] = link; /* NULL when not a link: warned about in resolve_tree */
    *f = (struct topo_function){.vendor = e->vendor, .device = e->device, .iommu_group = -1,
                                .vfio_cdev = -1, .numa_node = -1, .physfn = -1, .parent = -1,
                                .root_port = -1};
    memcpy(f->bdf, e->bdf, strnlen(e->bdf, TOPO_BDF_LEN) + 1); /* checked by topo_is_bdf */
    if (e->class_ok)
        f->class_code = e->class_code;
    /* Without IDs or class the function cannot be classified: keep it in
     * the tree (it may be a bridge others hang from) as OTHER. */
    f->kind = e->ident_ok && e->class_ok ? topo_classify(e->vendor, e->class_code)
                                         : TOPO_KIND_OTHER;
    read_driver(s, f);
    read_group(s, f);
    s->physfn[n][0] = '\0';
    return true;
}

static void
set_model(struct topo_pci *pci, struct topo_function *f)
{
    const char *name;

    if (f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH &&
        f->kind != TOPO_KIND_COMPANION)
        return;
    if (topo_model_lookup(f->device, &name, &f->family)) {
        f->model = strdup(name);
        return;
    }
    f->family = TOPO_FAMILY_OTHER;
    f->model = topo_pci_lookup_device(pci, f->vendor, f->device);
    if (!f->model && asprintf(&f->model, "device-%04x", f->device) < 0)
        f->model = NULL;
}

/* PCIe facts of the GPUs and NVSwitches we list (PFs: a VF reads
 * all-ones IDs from config space by design). */
static void
read_pcie(struct scan *s, struct topo_function *f)
{
    _cleanup_close_ int fd = -1;
    char path[64];

    if ((f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH) || f->is_vf)
        return;
    fd = openat(s->sys_fd, dev_path(path, sizeof(path), f->bdf, NULL),
                O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        topo_pcie_read(fd, &f->pcie);
}

/* Once every function is known: parent, root port, host bridge. */
static void
resolve_tree(struct scan *s)
{
    struct topo_host *host = s->host;

    for (size_t i = 0; i < host->n_functions; i++) {
        if (s->links[i])
            topo_pcie_resolve(host, i, s->links[i], s->root);
        else
            topo_host_warn(host, "%s/bus/pci/devices/%s: not a link, PCIe path unknown", s->root,
                           host->functions[i].bdf);
    }
}

/* NVIDIA functions, the members of their groups, and every bridge above. */
static void
mark_details(struct scan *s)
{
    struct topo_host *host = s->host;

    for (size_t g = 0; g < host->n_groups; g++) {
        const struct topo_group *grp = &host->groups[g];
        bool nvidia = false;

        for (size_t m = 0; m < grp->n_members; m++)
            nvidia |= host->functions[grp->members[m]].vendor == NVIDIA_VENDOR;
        for (size_t m = 0; nvidia && m < grp->n_members; m++)
            s->detail[grp->members[m]] = true;
    }
    for (size_t i = 0; i < host->n_functions; i++)
        s->detail[i] |= host->functions[i].vendor == NVIDIA_VENDOR;
    for (size_t i = 0; i < host->n_functions; i++) {
        int p = s->detail[i] ? host->functions[i].parent : -1;

        for (int depth = 0; p >= 0 && depth < MAX_DEPTH; depth++) {
            s->detail[p] = true;
            p = host->functions[p].parent;
        }
    }
}

/* Details, PF links and names of the functions we report on. */
static void
read_details(struct scan *s, struct topo_pci *pci)
{
    struct topo_host *host = s->host;

    mark_details(s);
    for (size_t i = 0; i < host->n_functions; i++) {
        struct topo_function *f = &host->functions[i];

        if (!s->detail[i])
            continue;
        read_numa(s, f);
        if (f->vfio) /* only VFIO drivers create vfio-dev/vfioN */
            read_cdev(s, f);
        read_physfn(s, f, s->physfn[i]);
        if (s->physfn[i][0]) {
            int pf = topo_host_find(host, s->physfn[i]);

            if (pf < 0)
                topo_host_warn(host, "%s/bus/pci/devices/%s/physfn: %s was not scanned",
                               s->root, f->bdf, s->physfn[i]);
            f->physfn = pf < 0 ? -1 : pf;
        }
        set_model(pci, f);
        read_pcie(s, f);
    }
}

static int
scan_functions(struct scan *s, struct topo_pci *pci, struct topo_error *err)
{
    _cleanup_free_ struct topo_pci_entry *entries = NULL;
    size_t n = 0;
    int r;

    r = topo_pci_list(pci, NVIDIA_VENDOR, &entries, &n, err);
    if (r < 0)
        return r;
    s->host->functions = calloc(n ? n : 1, sizeof(*s->host->functions));
    s->links = calloc(n ? n : 1, sizeof(*s->links));
    s->physfn = calloc(n ? n : 1, sizeof(*s->physfn));
    s->detail = calloc(n ? n : 1, sizeof(*s->detail));
    if (!s->host->functions || !s->links || !s->physfn || !s->detail)
        return topo_error_set(err, -ENOMEM, "out of memory for %zu PCI functions", n);
    /* entries are sorted by BDF, so functions[] is too. */
    for (size_t i = 0; i < n; i++)
        if (scan_function(s, &entries[i], s->host->n_functions))
            s->host->n_functions++;
    resolve_tree(s);
    return 0;
}

static int
open_root(const char *path, const char *what, struct topo_error *err)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return topo_error_set(err, -errno, "open %s root %s: %s", what, path, strerror(errno));
    return fd;
}

static int
scan_host(struct scan *s, struct topo_pci *pci, enum topo_iommu_mode mode,
          struct topo_error *err)
{
    int r = topo_iommu_list(s->host, s->sys_fd, s->root);

    if (r >= 0)
        r = scan_functions(s, pci, err);
    else
        topo_error_set(err, r, "out of memory");
    if (r < 0)
        return r;
    r = topo_iommu_members(s->host, s->sys_fd, s->dev_fd, s->root);
    if (r < 0)
        return topo_error_set(err, r, "reading IOMMU groups under %s: out of memory", s->root);
    read_details(s, pci);
    topo_vfio_resolve(s->host, s->sys_fd, s->dev_fd, mode);
    if (topo_numa_scan(s->host, s->sys_fd, s->root) < 0)
        return topo_error_set(err, -ENOMEM, "reading NUMA distances: out of memory");
    return 0;
}

int
topo_scan(const struct topo_scan_options *opts, struct topo_host **ret_host,
          struct topo_error *err)
{
    const char *sysfs_root = opts && opts->sysfs_root ? opts->sysfs_root : "/sys";
    const char *dev_root = opts && opts->dev_root ? opts->dev_root : "/dev";
    _cleanup_close_ int sys_fd = -1, dev_fd = -1;
    struct scan s = {.root = sysfs_root};
    struct topo_pci *pci = NULL;
    int r;

    sys_fd = open_root(sysfs_root, "sysfs", err);
    if (sys_fd < 0)
        return sys_fd;
    dev_fd = open_root(dev_root, "dev", err);
    if (dev_fd < 0)
        return dev_fd;
    s.sys_fd = sys_fd;
    s.dev_fd = dev_fd;
    s.host = calloc(1, sizeof(*s.host));
    if (!s.host)
        return topo_error_set(err, -ENOMEM, "out of memory");
    r = topo_pci_open(sysfs_root, libpci_warning, s.host, &pci, err);
    if (r >= 0)
        r = scan_host(&s, pci, opts ? opts->iommu : TOPO_IOMMU_AUTO, err);
    topo_pci_close(pci);
    for (size_t i = 0; s.links && i < s.host->n_functions; i++)
        free(s.links[i]);
    free(s.links);
    free(s.physfn);
    free(s.detail);
    if (r < 0) {
        topo_host_free(s.host);
        return topo_error_prefix(err, r, "scan %s", sysfs_root);
    }
    *ret_host = s.host;
    return 0;
}

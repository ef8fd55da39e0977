#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/cleanup.h"
#include "topology/host-priv.h"
#include "topology/pci_access.h"
#include "topology/sysfs.h"

/* topo_scan: libpci enumerates functions and reads IDs and class; every
 * other attribute is read here, relative to the sysfs root fd. A damaged
 * attribute affects only its function and becomes a warning that names
 * the path; only unusable roots fail the scan. */

struct scan {
    struct topo_host *host;
    const char *root; /* for messages only; files are opened via sys_fd */
    int sys_fd;
    int dev_fd;
    char **links;         /* per function: target of bus/pci/devices/<bdf> */
    char (*physfn)[16];   /* per function: BDF of the PF, "" if none */
};

static void
libpci_warning(void *ctx, const char *msg)
{
    topo_host_warn(ctx, "libpci: %s", msg);
}

static void
read_driver(struct scan *s, int dfd, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    int r = topo_sysfs_readlink(dfd, "driver", &target);

    if (r == -ENOENT)
        return; /* unbound */
    if (r < 0) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/driver: %s", s->root, f->bdf, strerror(-r));
        return;
    }
    if (!topo_sysfs_exists(dfd, "driver")) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/driver: dangling link to %s", s->root,
                       f->bdf, target);
        return;
    }
    f->driver = strdup(topo_path_basename(target));
    f->vfio = topo_vfio_driver(f->driver);
}

static void
read_group(struct scan *s, int dfd, struct topo_function *f)
{
    _cleanup_free_ char *target = NULL;
    int r = topo_sysfs_readlink(dfd, "iommu_group", &target);
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
    if (!topo_sysfs_exists(dfd, "iommu_group")) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/iommu_group: dangling link to %s",
                       s->root, f->bdf, target);
        return;
    }
    f->iommu_group = id;
}

static void
read_numa(struct scan *s, int dfd, struct topo_function *f)
{
    char buf[32];
    int r = topo_sysfs_read(dfd, "numa_node", buf, sizeof(buf));
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

static void
read_cdev(struct scan *s, int dfd, struct topo_function *f)
{
    int fd = openat(dfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_dir_ DIR *d = NULL;
    struct dirent *de;

    if (fd < 0) {
        if (errno != ENOENT)
            topo_host_warn(s->host, "%s/bus/pci/devices/%s/vfio-dev: %s", s->root, f->bdf,
                           strerror(errno));
        return;
    }
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    while ((de = readdir(d)))
        if (topo_parse_prefixed_int(de->d_name, "vfio", &f->vfio_cdev) == 0)
            return;
}

static void
read_physfn(struct scan *s, int dfd, struct topo_function *f, char *ret_pf)
{
    _cleanup_free_ char *target = NULL;
    int r = topo_sysfs_readlink(dfd, "physfn", &target);

    if (r == -ENOENT)
        return;
    f->is_vf = true;
    if (r < 0 || !topo_is_bdf(topo_path_basename(target))) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s/physfn: %s", s->root, f->bdf,
                       r < 0 ? strerror(-r) : "not a PCI address");
        return;
    }
    snprintf(ret_pf, 16, "%s", topo_path_basename(target));
}

/* Fill host->functions[n] from a libpci entry. Returns false (and warns)
 * when the device is gone, so the caller does not keep it. */
static bool
scan_function(struct scan *s, const struct topo_pci_entry *e, size_t n)
{
    struct topo_function *f = &s->host->functions[n];
    _cleanup_close_ int dfd = -1;
    char path[64];

    if (!topo_is_bdf(e->bdf)) {
        topo_host_warn(s->host, "%s/bus/pci/devices/%s: unsupported PCI address", s->root, e->bdf);
        return false;
    }
    snprintf(path, sizeof(path), "bus/pci/devices/%s", e->bdf);
    dfd = openat(s->sys_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        topo_host_warn(s->host, "%s/%s: device vanished (%s)", s->root, path, strerror(errno));
        return false;
    }
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
    read_driver(s, dfd, f);
    read_group(s, dfd, f);
    read_numa(s, dfd, f);
    read_cdev(s, dfd, f);
    s->physfn[n][0] = '\0';
    read_physfn(s, dfd, f, s->physfn[n]);
    if (topo_sysfs_readlink(s->sys_fd, path, &s->links[n]) < 0)
        s->links[n] = NULL;
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

/* Second pass, once every function is known: tree links, PF links, names. */
static void
resolve_links(struct scan *s, struct topo_pci *pci)
{
    struct topo_host *host = s->host;

    for (size_t i = 0; i < host->n_functions; i++) {
        struct topo_function *f = &host->functions[i];

        if (s->links[i])
            topo_pcie_resolve(host, i, s->links[i], s->root);
        else
            topo_host_warn(host, "%s/bus/pci/devices/%s: not a link, PCIe path unknown", s->root,
                           f->bdf);
        if (s->physfn[i][0]) {
            int pf = topo_host_find(host, s->physfn[i]);

            if (pf < 0)
                topo_host_warn(host, "%s/bus/pci/devices/%s/physfn: %s was not scanned",
                               s->root, f->bdf, s->physfn[i]);
            f->physfn = pf < 0 ? -1 : pf;
        }
        set_model(pci, f);
    }
}

static int
scan_functions(struct scan *s, struct topo_pci *pci, struct topo_error *err)
{
    _cleanup_free_ struct topo_pci_entry *entries = NULL;
    size_t n = 0;
    int r;

    r = topo_pci_list(pci, &entries, &n, err);
    if (r < 0)
        return r;
    s->host->functions = calloc(n ? n : 1, sizeof(*s->host->functions));
    s->links = calloc(n ? n : 1, sizeof(*s->links));
    s->physfn = calloc(n ? n : 1, sizeof(*s->physfn));
    if (!s->host->functions || !s->links || !s->physfn)
        return topo_error_set(err, -ENOMEM, "out of memory for %zu PCI functions", n);
    /* entries are sorted by BDF, so functions[] is too. */
    for (size_t i = 0; i < n; i++)
        if (scan_function(s, &entries[i], s->host->n_functions))
            s->host->n_functions++;
    resolve_links(s, pci);
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
        r = scan_functions(&s, pci, err);
    if (r >= 0) {
        r = topo_iommu_scan(s.host, sys_fd, dev_fd, sysfs_root);
        if (r < 0)
            topo_error_set(err, r, "reading IOMMU groups under %s: out of memory", sysfs_root);
    }
    if (r >= 0)
        topo_vfio_resolve(s.host, dev_fd, opts ? opts->iommu : TOPO_IOMMU_AUTO);
    topo_pci_close(pci);
    for (size_t i = 0; s.links && i < s.host->n_functions; i++)
        free(s.links[i]);
    free(s.links);
    free(s.physfn);
    if (r < 0) {
        topo_host_free(s.host);
        return topo_error_prefix(err, "scan %s", sysfs_root);
    }
    *ret_host = s.host;
    return 0;
}

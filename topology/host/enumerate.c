#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/base/cleanup.h"
#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

/* Enumeration at the floor: one listing of bus/pci/devices and one bounded
 * read of each function's `uevent`, relative to the open directory. The
 * kernel's pci_uevent() writes everything a first pass needs there (the
 * driver core adds DRIVER=):
 *
 *   DRIVER=vfio-pci
 *   PCI_CLASS=30200
 *   PCI_ID=10DE:2330
 *   PCI_SLOT_NAME=0000:18:00.0
 *
 * The separate `vendor`, `device` and `class` attributes are read only
 * when the uevent lacks a key (never on a real kernel; damaged trees). */

#define UEVENT_MAX 1024 /* a PCI uevent is ~200 bytes */

struct names {
    struct topo_host *host;
    const char *root;
    char (*bdf)[TOPO_BDF_LEN + 1];
    size_t n, cap;
};

static int
name_entry(const char *name, void *ctx)
{
    struct names *l = ctx;

    if (!topo_is_bdf(name)) {
        topo_host_warn(l->host, "%s/bus/pci/devices/%s: unsupported PCI address", l->root, name);
        return 0;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        void *v = realloc(l->bdf, ncap * sizeof(*l->bdf));

        if (!v)
            return -ENOMEM;
        l->bdf = v;
        l->cap = ncap;
    }
    memcpy(l->bdf[l->n++], name, strlen(name) + 1); /* checked by topo_is_bdf */
    return 0;
}

static int
bdf_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Whole hex number of at most 8 digits, value <= max. */
static int
parse_hex(const char *s, size_t len, uint32_t max, uint32_t *ret)
{
    uint32_t v = 0;

    if (len == 0 || len > 8)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return -EINVAL;
        v = v * 16 + d;
    }
    if (v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

int
topo_pci_uevent_parse(char *text, struct topo_pci_uevent *ret)
{
    struct topo_pci_uevent u = {0};
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon;
        uint32_t v, w;

        if (strncmp(line, "DRIVER=", 7) == 0 && line[7]) {
            u.driver = line + 7;
        } else if (strncmp(line, "PCI_SLOT_NAME=", 14) == 0) {
            u.slot = line + 14;
        } else if (strncmp(line, "PCI_CLASS=", 10) == 0) {
            if (parse_hex(line + 10, strlen(line + 10), 0xffffff, &v) < 0)
                return -EINVAL;
            u.class_code = v;
            u.has_class = true;
        } else if (strncmp(line, "PCI_ID=", 7) == 0) {
            colon = strchr(line + 7, ':');
            if (!colon || parse_hex(line + 7, (size_t)(colon - line - 7), 0xffff, &v) < 0 ||
                parse_hex(colon + 1, strlen(colon + 1), 0xffff, &w) < 0)
                return -EINVAL;
            u.vendor = (uint16_t)v;
            u.device = (uint16_t)w;
            u.has_id = true;
        }
    }
    *ret = u;
    return 0;
}

/* One hex attribute ("0x10de") of the function directory dir_fd. */
static int
read_hex_attr(struct topo_host *host, const char *root, const char *bdf, int dir_fd,
              const char *attr, uint32_t max, uint32_t *ret)
{
    char buf[32];
    int r = topo_sysfs_read(dir_fd, attr, buf, sizeof(buf));

    if (r >= 0 && (strncmp(buf, "0x", 2) != 0 || parse_hex(buf + 2, strlen(buf + 2), max, ret) < 0))
        r = -EINVAL;
    if (r < 0)
        topo_host_warn(host, "%s/bus/pci/devices/%s/%s: %s", root, bdf, attr,
                       r == -EINVAL ? "not a hex number" : strerror(-r));
    return r;
}

/* The uevent lacked IDs or class: read the attributes it would have
 * carried. Returns false when the function directory is gone. */
static bool
read_attrs(struct topo_host *host, const char *root, int devices_fd, struct topo_function *f,
           struct topo_pci_uevent *u)
{
    _cleanup_close_ int dir_fd = openat(devices_fd, f->bdf, O_PATH | O_DIRECTORY | O_CLOEXEC);
    uint32_t v, d;

    if (dir_fd < 0) {
        topo_host_warn(host, "%s/bus/pci/devices/%s: device vanished (%s)", root, f->bdf,
                       strerror(errno));
        return false;
    }
    if (!u->has_id && read_hex_attr(host, root, f->bdf, dir_fd, "vendor", 0xffff, &v) >= 0 &&
        read_hex_attr(host, root, f->bdf, dir_fd, "device", 0xffff, &d) >= 0) {
        u->vendor = (uint16_t)v;
        u->device = (uint16_t)d;
        u->has_id = true;
    }
    if (!u->has_class && read_hex_attr(host, root, f->bdf, dir_fd, "class", 0xffffff, &v) >= 0) {
        u->class_code = v;
        u->has_class = true;
    }
    return true;
}

int
topo_enumerate_one(struct topo_host *host, const char *root, int devices_fd, const char *bdf,
                   struct topo_function *f)
{
    char path[TOPO_BDF_LEN + sizeof("/uevent")], text[UEVENT_MAX];
    struct topo_pci_uevent u = {0};
    size_t len = strlen(bdf); /* <= TOPO_BDF_LEN: checked by topo_is_bdf */
    int r;

    if (snprintf(path, sizeof(path), "%s/uevent", bdf) >= (int)sizeof(path))
        return 0; /* not a PCI address: the caller checked, cannot happen */
    *f = (struct topo_function){.iommu_group = -1, .vfio_cdev = -1, .numa_node = -1,
                                .physfn = -1, .parent = -1, .root_port = -1};
    memcpy(f->bdf, bdf, len + 1);
    r = topo_sysfs_read(devices_fd, path, text, sizeof(text));
    if (r >= 0 && topo_pci_uevent_parse(text, &u) < 0) {
        topo_host_warn(host, "%s/bus/pci/devices/%s: malformed", root, path);
        u = (struct topo_pci_uevent){0};
    } else if (r < 0 && r != -ENOENT) {
        topo_host_warn(host, "%s/bus/pci/devices/%s: %s", root, path, strerror(-r));
    }
    if (u.slot && strcmp(u.slot, bdf) != 0)
        topo_host_warn(host, "%s/bus/pci/devices/%s: PCI_SLOT_NAME is %s", root, path, u.slot);
    if ((!u.has_id || !u.has_class) && !read_attrs(host, root, devices_fd, f, &u))
        return 0;
    f->vendor = u.has_id ? u.vendor : 0xffff;
    f->device = u.has_id ? u.device : 0xffff;
    f->class_code = u.has_class ? u.class_code : 0;
    /* Without IDs or class the function cannot be classified: keep it in
     * the tree (it may be a bridge others hang from) as OTHER. */
    f->kind = u.has_id && u.has_class ? topo_classify(f->vendor, f->class_code) : TOPO_KIND_OTHER;
    if (u.driver && !(f->driver = strdup(u.driver)))
        return -ENOMEM;
    f->vfio = topo_vfio_driver(f->driver);
    return 1;
}

int
topo_enumerate(struct topo_host *host, int devices_fd, const char *root, struct topo_error *err)
{
    struct names l = {.host = host, .root = root};
    int r = topo_sysfs_list(devices_fd, ".", name_entry, &l);

    if (r < 0) {
        free(l.bdf);
        return topo_error_set(err, r, "list %s/bus/pci/devices: %s", root, strerror(-r));
    }
    qsort(l.bdf, l.n, sizeof(*l.bdf), bdf_cmp);
    host->functions = calloc(l.n ? l.n : 1, sizeof(*host->functions));
    if (!host->functions) {
        free(l.bdf);
        return topo_error_set(err, -ENOMEM, "out of memory for %zu PCI functions", l.n);
    }
    for (size_t i = 0; i < l.n && r >= 0; i++) {
        r = topo_enumerate_one(host, root, devices_fd, l.bdf[i],
                               &host->functions[host->n_functions]);
        host->n_functions += r > 0;
    }
    free(l.bdf);
    if (r < 0)
        return topo_error_set(err, r, "out of memory");
    return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/support/host_builder.h"
#include "topology/units/inventory.h"
#include "test/support/proc.h"

static int
fn_cmp(const void *a, const void *b)
{
    return strcmp(((const struct hb_fn *)a)->bdf, ((const struct hb_fn *)b)->bdf);
}

static int
index_of(const struct hb_fn *s, size_t n, const char *bdf)
{
    for (size_t i = 0; bdf && i < n; i++)
        if (strcmp(s[i].bdf, bdf) == 0)
            return (int)i;
    return -1;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool
fill_function(struct topo_function *f, const struct hb_fn *s, const struct hb_fn *all, size_t n)
{
    snprintf(f->bdf, sizeof(f->bdf), "%s", s->bdf);
    f->vendor = s->kind == TOPO_KIND_BRIDGE ? 0x8086 : 0x10de;
    f->device = s->device;
    f->class_code = s->kind == TOPO_KIND_GPU        ? 0x030200
                    : s->kind == TOPO_KIND_NVSWITCH ? 0x068000
                    : s->kind == TOPO_KIND_BRIDGE   ? 0x060400
                                                    : 0x040300;
    f->kind = s->kind;
    f->family = TOPO_FAMILY_HOPPER;
    f->model = dup_or_null(s->model);
    f->driver = dup_or_null(s->driver);
    f->vfio = s->driver && strstr(s->driver, "vfio");
    f->iommu_group = s->group;
    f->vfio_cdev = f->vfio ? s->cdev : -1;
    f->cdev_node = f->vfio_cdev >= 0;
    f->numa_node = s->numa;
    f->is_vf = s->physfn != NULL;
    f->physfn = index_of(all, n, s->physfn);
    f->parent = index_of(all, n, s->parent);
    f->host_bridge = dup_or_null(s->host_bridge);
    return (!s->parent || f->parent >= 0) && (!s->physfn || f->physfn >= 0);
}

static void
fill_root_ports(struct topo_host *h)
{
    for (size_t i = 0; i < h->n_functions; i++) {
        int p = (int)i;

        /* the root port is the top-most bridge of the chain */
        h->functions[i].root_port = -1;
        while (p >= 0) {
            if (h->functions[p].kind == TOPO_KIND_BRIDGE && h->functions[p].parent < 0)
                h->functions[i].root_port = p;
            p = h->functions[p].parent;
        }
    }
}

static bool
add_group(struct topo_host *h, int id)
{
    struct topo_group *g = &h->groups[h->n_groups++];

    g->id = id;
    g->dev_node = true;
    g->members = calloc(h->n_functions, sizeof(*g->members));
    if (!g->members)
        return false;
    g->viable = true;
    for (size_t i = 0; i < h->n_functions; i++) {
        const struct topo_function *f = &h->functions[i];

        if (f->iommu_group != id)
            continue;
        g->members[g->n_members++] = i;
        if (g->viable && !topo_group_member_ok(f)) {
            g->viable = false;
            if (asprintf(&g->not_viable, "%s bound to %s", f->bdf,
                         f->driver ? f->driver : "no driver") < 0)
                return false;
        }
    }
    return true;
}

static bool
fill_groups(struct topo_host *h)
{
    h->groups = calloc(h->n_functions ? h->n_functions : 1, sizeof(*h->groups));
    if (!h->groups)
        return false;
    /* ascending ids: repeatedly take the smallest id not yet added */
    for (;;) {
        int next = -1;

        for (size_t i = 0; i < h->n_functions; i++) {
            int id = h->functions[i].iommu_group;
            bool seen = false;

            for (size_t g = 0; g < h->n_groups; g++)
                seen |= h->groups[g].id == id;
            if (id >= 0 && !seen && (next < 0 || id < next))
                next = id;
        }
        if (next < 0)
            return true;
        if (!add_group(h, next))
            return false;
    }
}

struct topo_host *
hb_host_new(const struct hb_fn *fns, size_t n, bool iommufd)
{
    struct hb_fn *s = calloc(n ? n : 1, sizeof(*s));
    struct topo_host *h = calloc(1, sizeof(*h));
    bool ok = s && h;

    if (ok) {
        memcpy(s, fns, n * sizeof(*s));
        qsort(s, n, sizeof(*s), fn_cmp);
        h->functions = calloc(n ? n : 1, sizeof(*h->functions));
        ok = h->functions != NULL;
    }
    for (size_t i = 0; ok && i < n; i++) {
        h->n_functions++;
        ok = fill_function(&h->functions[i], &s[i], s, n);
    }
    if (ok) {
        fill_root_ports(h);
        ok = fill_groups(h);
        h->dev_iommu = iommufd;
        h->dev_vfio = true;
        h->iommufd = iommufd;
    }
    free(s);
    if (!ok) {
        topo_host_free(h);
        return NULL;
    }
    return h;
}

static int
touch(const char *root, const char *rel)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/dev/%s", root, rel);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static int mkdir_p(char *path);

static int
make_dev_nodes(const struct topo_host *host, const char *root)
{
    char dir[512], rel[64];
    int r;

    snprintf(dir, sizeof(dir), "%s/dev/vfio/devices", root);
    if ((r = mkdir_p(dir)) < 0)
        return r;
    if (host->dev_iommu && (r = touch(root, "iommu")) < 0)
        return r;
    if (host->dev_vfio && (r = touch(root, "vfio/vfio")) < 0)
        return r;
    for (size_t i = 0; i < host->n_functions; i++) {
        if (!host->functions[i].cdev_node)
            continue;
        snprintf(rel, sizeof(rel), "vfio/devices/vfio%d", host->functions[i].vfio_cdev);
        if ((r = touch(root, rel)) < 0)
            return r;
    }
    for (size_t g = 0; g < host->n_groups; g++) {
        if (!host->groups[g].dev_node)
            continue;
        snprintf(rel, sizeof(rel), "vfio/%d", host->groups[g].id);
        if ((r = touch(root, rel)) < 0)
            return r;
    }
    return 0;
}

char *
hb_sysfs_new(const struct topo_host *host)
{
    char tmpl[] = "/tmp/kgdp-hb-XXXXXX";
    char *root;

    if (!mkdtemp(tmpl))
        return NULL;
    root = strdup(tmpl);
    for (size_t i = 0; root && i < host->n_functions; i++)
        if (host->functions[i].driver &&
            hb_sysfs_bind(root, host->functions[i].bdf, host->functions[i].driver) < 0) {
            hb_sysfs_free(root);
            return NULL;
        }
    if (root && make_dev_nodes(host, root) < 0) {
        hb_sysfs_free(root);
        return NULL;
    }
    return root;
}

static int
mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int
hb_build(const struct hb_hgx_opts *o, const struct inv_policy *policy, struct inventory **ret_inv,
         char **ret_root)
{
    struct topo_host *h = hb_hgx_new(o);
    struct topo_error err = TOPO_ERROR_INIT;
    struct inv_policy p = *policy;
    char *root = h ? hb_sysfs_new(h) : NULL;
    char dev[600];
    int r;

    if (!root) {
        topo_host_free(h);
        return -ENOMEM;
    }
    snprintf(dev, sizeof(dev), "%s/dev", root);
    p.sysfs_root = root;
    p.dev_root = dev;
    r = inventory_build(h, &p, ret_inv, &err);
    topo_host_free(h);
    if (r < 0) {
        fprintf(stderr, "hb_build: %s\n", err.msg);
        hb_sysfs_free(root);
        return r;
    }
    *ret_root = root;
    return 0;
}

int
hb_sysfs_bind(const char *root, const char *bdf, const char *driver)
{
    char dir[512], link[600], target[256];
    int r;

    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, bdf);
    r = mkdir_p(dir);
    if (r < 0)
        return r;
    snprintf(link, sizeof(link), "%s/driver", dir);
    if (unlink(link) < 0 && errno != ENOENT)
        return -errno;
    if (!driver)
        return 0;
    snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
    return symlink(target, link) < 0 ? -errno : 0;
}

void
hb_sysfs_free(char *root)
{
    tproc_rm_tree(root);
    free(root);
}

const char *const hb_hgx_gpus[8] = {"0000:03:00.0", "0000:04:00.0", "0000:07:00.0",
                                    "0000:08:00.0", "0000:83:00.0", "0000:84:00.0",
                                    "0000:87:00.0", "0000:88:00.0"};
static const char *const hgx_audio[8] = {"0000:03:00.1", "0000:04:00.1", "0000:07:00.1",
                                         "0000:08:00.1", "0000:83:00.1", "0000:84:00.1",
                                         "0000:87:00.1", "0000:88:00.1"};
/* per GPU: downstream port; per switch (i / 2): upstream port; per pair of switches: root */
static const char *const hgx_dsp[8] = {"0000:02:00.0", "0000:02:01.0", "0000:06:00.0",
                                       "0000:06:01.0", "0000:82:00.0", "0000:82:01.0",
                                       "0000:86:00.0", "0000:86:01.0"};
static const char *const hgx_usp[4] = {"0000:01:00.0", "0000:05:00.0", "0000:81:00.0",
                                       "0000:85:00.0"};
static const char *const hgx_root[4] = {"0000:00:01.0", "0000:00:02.0", "0000:80:01.0",
                                        "0000:80:02.0"};
static const char *const hgx_switch[4] = {"0000:c0:00.0", "0000:c1:00.0", "0000:c2:00.0",
                                          "0000:c3:00.0"};

/* "vfio-pci" unless set; "" stands for no driver. */
static const char *
hgx_gpu_driver(const struct hb_hgx_opts *o, size_t i)
{
    if (!o->gpu_driver[i])
        return "vfio-pci";
    return o->gpu_driver[i][0] ? o->gpu_driver[i] : NULL;
}

static size_t
hgx_gpus(const struct hb_hgx_opts *o, struct hb_fn *t, size_t n)
{
    for (int i = 0; i < 8; i++) {
        const char *hb = i < 4 ? "pci0000:00" : "pci0000:80";
        int group = 10 + (o->acs_off ? i & ~1 : i), numa = i < 4 ? 0 : 1;

        t[n++] = (struct hb_fn)HB_BRIDGE(hgx_dsp[i], hgx_usp[i / 2], hb);
        if (o->gpu_absent[i])
            continue; /* the downstream port stays, the slot is empty */
        t[n++] = (struct hb_fn)HB_DEV(hb_hgx_gpus[i], TOPO_KIND_GPU, 0x2330,
                                      o->gpu_model[i] ? o->gpu_model[i] : "H100 SXM5 80GB",
                                      hgx_gpu_driver(o, i), group, i, numa, hgx_dsp[i], hb);
        if (o->audio)
            t[n++] = (struct hb_fn)HB_DEV(hgx_audio[i], TOPO_KIND_COMPANION, 0x22ba, NULL,
                                          o->audio_driver ? o->audio_driver : "vfio-pci", group,
                                          40 + i, numa, hgx_dsp[i], hb);
    }
    for (int s = 0; s < 4; s++) {
        const char *hb = s < 2 ? "pci0000:00" : "pci0000:80";

        t[n++] = (struct hb_fn)HB_BRIDGE(hgx_usp[s], hgx_root[s], hb);
        t[n++] = (struct hb_fn)HB_BRIDGE(hgx_root[s], NULL, hb);
    }
    return n;
}

struct topo_host *
hb_hgx_new(const struct hb_hgx_opts *o)
{
    struct hb_fn t[48];
    size_t n = hgx_gpus(o, t, 0);

    for (int s = 0; s < o->n_switches && s < 4; s++)
        t[n++] = (struct hb_fn)HB_DEV(hgx_switch[s], TOPO_KIND_NVSWITCH, 0x22a3, "H100 NVSwitch",
                                      o->switch_driver[s] ? o->switch_driver[s] : "vfio-pci", 30,
                                      20 + s, 1, NULL, "pci0000:c0");
    return hb_host_new(t, n, o->iommufd);
}

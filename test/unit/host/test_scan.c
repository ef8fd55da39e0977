#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "test/support/suite.h"
#include "test/support/topo_fixture.h"
#include "topology/base/cleanup.h"
#include "topology/base/macros.h"
#include "topology/host/host.h"

/* Per-fixture expectations, taken from the layouts described in
 * scripts/fixtures/layouts.py. */

struct exp_dev {
    const char *bdf;
    enum topo_kind kind;
    uint16_t device;
    int group;
    int cdev;
    int numa;
    const char *reason; /* NULL: assignable; else a substring of the reason */
};

struct exp_dist {
    const char *a, *b;
    enum topo_distance d;
};

struct exp_host {
    const char *name;
    bool iommufd, dev_iommu;
    size_t n_functions, n_gpu, n_nvswitch;
    const struct exp_dev *devs;
    size_t n_devs;
    const struct exp_dist *dists;
    size_t n_dists;
};

#define N(a) (ARRAY_SIZE(a))
#define G TOPO_KIND_GPU
#define S TOPO_KIND_NVSWITCH

static void
check_dev(const struct topo_host *h, const struct exp_dev *e)
{
    int i = topo_fixture_index(h, e->bdf);
    const struct topo_function *f = &h->functions[i];
    char reason[256];
    bool ok = topo_assignable(h, (size_t)i, reason, sizeof(reason));

    if (f->kind != e->kind || f->device != e->device || f->iommu_group != e->group ||
        f->vfio_cdev != e->cdev || f->numa_node != e->numa || ok != (e->reason == NULL))
        fprintf(stderr, "\n%s: kind %d dev %04x group %d cdev %d numa %d ok %d (%s)\n", e->bdf,
                f->kind, f->device, f->iommu_group, f->vfio_cdev, f->numa_node, ok, reason);
    CU_ASSERT_EQUAL(f->kind, e->kind);
    CU_ASSERT_EQUAL(f->vendor, 0x10de);
    CU_ASSERT_EQUAL(f->device, e->device);
    CU_ASSERT_EQUAL(f->iommu_group, e->group);
    CU_ASSERT_EQUAL(f->vfio_cdev, e->cdev);
    CU_ASSERT_EQUAL(f->cdev_node, e->cdev >= 0);
    CU_ASSERT_EQUAL(f->numa_node, e->numa);
    CU_ASSERT_PTR_NOT_NULL(f->model);
    CU_ASSERT_EQUAL(ok, e->reason == NULL);
    if (e->reason) {
        CU_ASSERT_PTR_NOT_NULL(strstr(reason, e->reason));
    }
}

static void
check_host(const struct exp_host *x)
{
    struct topo_host *h = topo_fixture_scan(x->name, TOPO_IOMMU_AUTO);
    size_t gpus = 0, switches = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(h->n_functions, x->n_functions);
    CU_ASSERT_EQUAL(h->n_warnings, 0);
    for (size_t i = 0; i < h->n_warnings; i++)
        fprintf(stderr, "\nunexpected warning: %s\n", h->warnings[i]);
    CU_ASSERT_EQUAL(h->iommufd, x->iommufd);
    CU_ASSERT_EQUAL(h->dev_iommu, x->dev_iommu);
    for (size_t i = 0; i < h->n_functions; i++) {
        const struct topo_function *f = &h->functions[i];
        bool listed = false;

        gpus += f->kind == TOPO_KIND_GPU;
        switches += f->kind == TOPO_KIND_NVSWITCH;
        for (size_t j = 0; j < x->n_devs; j++)
            listed |= strcmp(x->devs[j].bdf, f->bdf) == 0;
        /* The expected table names every GPU and NVSwitch, no more. */
        if (f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH) {
            CU_ASSERT(listed || x->n_devs == 0);
        }
        if (i > 0) {
            CU_ASSERT(strcmp(h->functions[i - 1].bdf, f->bdf) < 0);
        }
    }
    CU_ASSERT_EQUAL(gpus, x->n_gpu);
    CU_ASSERT_EQUAL(switches, x->n_nvswitch);
    for (size_t j = 0; j < x->n_devs; j++)
        check_dev(h, &x->devs[j]);
    for (size_t j = 0; j < x->n_dists; j++) {
        int a = topo_fixture_index(h, x->dists[j].a), b = topo_fixture_index(h, x->dists[j].b);

        CU_ASSERT_EQUAL(topo_distance(h, (size_t)a, (size_t)b), x->dists[j].d);
        CU_ASSERT_EQUAL(topo_distance(h, (size_t)b, (size_t)a), x->dists[j].d);
        if (topo_distance(h, (size_t)a, (size_t)b) != x->dists[j].d)
            fprintf(stderr, "\n%s-%s: %d\n", x->dists[j].a, x->dists[j].b,
                    topo_distance(h, (size_t)a, (size_t)b));
    }
    topo_host_free(h);
}

static const struct exp_dev h100_devs[] = {
    {"0000:0a:00.0", G, 0x2330, 20, 0, 0, NULL},  {"0000:11:00.0", G, 0x2330, 21, 1, 0, NULL},
    {"0000:18:00.0", G, 0x2330, 22, 2, 0, NULL},  {"0000:69:00.0", G, 0x2330, 23, 7, 0, NULL},
    {"0000:9d:00.0", G, 0x2330, 24, 8, 1, NULL},  {"0000:ad:00.0", G, 0x2330, 25, 9, 1, NULL},
    {"0000:bd:00.0", G, 0x2330, 26, 10, 1, NULL}, {"0000:dd:00.0", G, 0x2330, 27, 11, 1, NULL},
    {"0000:1c:00.0", S, 0x22a3, 40, 3, 0, NULL},  {"0000:1d:00.0", S, 0x22a3, 41, 4, 0, NULL},
    {"0000:1e:00.0", S, 0x22a3, 42, 5, 0, NULL},  {"0000:1f:00.0", S, 0x22a3, 43, 6, 0, NULL},
};
static const struct exp_dist h100_dists[] = {
    {"0000:0a:00.0", "0000:0a:00.0", TOPO_DIST_SELF}, {"0000:0a:00.0", "0000:11:00.0", TOPO_DIST_PXB},
    {"0000:18:00.0", "0000:69:00.0", TOPO_DIST_PXB},  {"0000:9d:00.0", "0000:ad:00.0", TOPO_DIST_PXB},
    {"0000:bd:00.0", "0000:dd:00.0", TOPO_DIST_PXB},  {"0000:0a:00.0", "0000:18:00.0", TOPO_DIST_NODE},
    {"0000:11:00.0", "0000:69:00.0", TOPO_DIST_NODE}, {"0000:9d:00.0", "0000:dd:00.0", TOPO_DIST_NODE},
    {"0000:0a:00.0", "0000:9d:00.0", TOPO_DIST_SYS},  {"0000:69:00.0", "0000:bd:00.0", TOPO_DIST_SYS},
    {"0000:1c:00.0", "0000:1f:00.0", TOPO_DIST_PIX},  {"0000:18:00.0", "0000:1c:00.0", TOPO_DIST_NODE},
};

static void
test_hgx_h100_iommufd(void)
{
    const struct exp_host x = {"hgx-h100-iommufd", true, true, 4 * 14 + 2 + 4 * 2, 8, 4,
                               h100_devs, N(h100_devs), h100_dists, N(h100_dists)};
    struct topo_host *h;
    const struct topo_function *f;

    check_host(&x);
    h = topo_fixture_scan("hgx-h100-iommufd", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* 12:01.0 > 13:00.0 > 14:02.0 > 16:00.0 > 17:00.0 > 18:00.0 */
    f = &h->functions[topo_fixture_index(h, "0000:18:00.0")];
    CU_ASSERT_STRING_EQUAL(h->functions[f->parent].bdf, "0000:17:00.0");
    CU_ASSERT_STRING_EQUAL(h->functions[f->root_port].bdf, "0000:12:01.0");
    CU_ASSERT_STRING_EQUAL(f->host_bridge, "pci0000:12");
    CU_ASSERT_STRING_EQUAL(f->model, "GH100 [H100 SXM5 80GB]");
    CU_ASSERT_EQUAL(f->family, TOPO_FAMILY_HOPPER);
    CU_ASSERT_FALSE(f->is_vf);
    CU_ASSERT_EQUAL(f->physfn, -1);
    f = &h->functions[topo_fixture_index(h, "0000:12:01.0")];
    CU_ASSERT_EQUAL(f->kind, TOPO_KIND_BRIDGE);
    CU_ASSERT_EQUAL(f->parent, -1);
    CU_ASSERT_EQUAL(f->root_port, topo_fixture_index(h, "0000:12:01.0"));
    CU_ASSERT_PTR_NULL(f->model);
    f = &h->functions[topo_fixture_index(h, "0000:1c:00.0")];
    CU_ASSERT_STRING_EQUAL(f->model, "GH100 [H100 NVSwitch]");
    CU_ASSERT_STRING_EQUAL(h->functions[f->root_port].bdf, "0000:19:01.0");
    CU_ASSERT_PTR_NULL(h->functions[topo_fixture_index(h, "0000:15:00.0")].model);
    /* the pair partner of 18 shares its root port and first CX7 switch:
     * 12:01.0 > 13:00.0 > 14:03.0 > 67:00.0 > 68:00.0 > 69:00.0 */
    f = &h->functions[topo_fixture_index(h, "0000:69:00.0")];
    CU_ASSERT_STRING_EQUAL(h->functions[f->parent].bdf, "0000:68:00.0");
    CU_ASSERT_STRING_EQUAL(h->functions[f->root_port].bdf, "0000:12:01.0");
    CU_ASSERT_STRING_EQUAL(f->host_bridge, "pci0000:12");
    f = &h->functions[topo_fixture_index(h, "0000:67:00.0")];
    CU_ASSERT_STRING_EQUAL(h->functions[f->parent].bdf, "0000:14:03.0");
    CU_ASSERT_STRING_EQUAL(h->functions[h->functions[f->parent].parent].bdf, "0000:13:00.0");
    CU_ASSERT_EQUAL(h->functions[f->parent].device, 0x1979);
    f = &h->functions[topo_fixture_index(h, "0000:11:00.0")];
    CU_ASSERT_STRING_EQUAL(h->functions[f->root_port].bdf, "0000:04:01.0");
    CU_ASSERT_STRING_EQUAL(f->host_bridge, "pci0000:04");
    topo_host_free(h);
}

static const struct exp_dev h200_legacy_devs[] = {
    {"0000:18:00.0", G, 0x2335, 20, -1, 0, NULL}, {"0000:2a:00.0", G, 0x2335, 21, -1, 0, NULL},
    {"0000:3a:00.0", G, 0x2335, 22, -1, 0, NULL}, {"0000:5d:00.0", G, 0x2335, 23, -1, 0, NULL},
    {"0000:9a:00.0", G, 0x2335, 24, -1, 1, NULL}, {"0000:ab:00.0", G, 0x2335, 25, -1, 1, NULL},
    {"0000:ba:00.0", G, 0x2335, 26, -1, 1, NULL}, {"0000:db:00.0", G, 0x2335, 27, -1, 1, NULL},
    {"0000:05:00.0", S, 0x22a3, 40, -1, 0, NULL}, {"0000:06:00.0", S, 0x22a3, 40, -1, 0, NULL},
    {"0000:07:00.0", S, 0x22a3, 40, -1, 0, NULL}, {"0000:08:00.0", S, 0x22a3, 40, -1, 0, NULL},
};
static const struct exp_dist h200_dists[] = {
    {"0000:18:00.0", "0000:2a:00.0", TOPO_DIST_PHB}, {"0000:18:00.0", "0000:3a:00.0", TOPO_DIST_NODE},
    {"0000:18:00.0", "0000:9a:00.0", TOPO_DIST_SYS}, {"0000:ba:00.0", "0000:db:00.0", TOPO_DIST_PHB},
    {"0000:05:00.0", "0000:08:00.0", TOPO_DIST_PIX},
};

static void
test_hgx_h200_legacy(void)
{
    const struct exp_host x = {"hgx-h200-legacy", false, false, 8 * 4 + 2 + 8, 8, 4,
                               h200_legacy_devs, N(h200_legacy_devs), h200_dists, N(h200_dists)};
    struct topo_host *h;
    const struct topo_group *g;

    check_host(&x);
    h = topo_fixture_scan("hgx-h200-legacy", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_TRUE(h->dev_vfio);
    g = topo_host_group(h, 40);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->n_members, 8); /* 4 downstream ports + 4 NVSwitches */
    CU_ASSERT_TRUE(g->viable);
    CU_ASSERT_PTR_NULL(g->not_viable);
    CU_ASSERT_TRUE(g->dev_node);
    CU_ASSERT_STRING_EQUAL(h->functions[g->members[0]].bdf, "0000:04:00.0");
    CU_ASSERT_STRING_EQUAL(h->functions[g->members[7]].bdf, "0000:08:00.0");
    CU_ASSERT_TRUE(topo_host_group(h, 20)->dev_node);
    CU_ASSERT_PTR_NULL(topo_host_group(h, 4000));
    topo_host_free(h);
    /* A forced mode wins over what exists. */
    h = topo_fixture_scan("hgx-h200-legacy", TOPO_IOMMU_IOMMUFD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_TRUE(h->iommufd);
    topo_host_free(h);
}

static const struct exp_dev h200_single_devs[] = {
    {"0000:18:00.0", G, 0x2335, 20, 4, 0, NULL},  {"0000:2a:00.0", G, 0x2335, 21, 5, 0, NULL},
    {"0000:3a:00.0", G, 0x2335, 22, 6, 0, NULL},  {"0000:5d:00.0", G, 0x2335, 23, 7, 0, NULL},
    {"0000:9a:00.0", G, 0x2335, 24, 8, 1, NULL},  {"0000:ab:00.0", G, 0x2335, 25, 9, 1, NULL},
    {"0000:ba:00.0", G, 0x2335, 26, 10, 1, NULL}, {"0000:db:00.0", G, 0x2335, 27, 11, 1, NULL},
    {"0000:05:00.0", S, 0x22a3, 40, 0, 0, NULL},  {"0000:06:00.0", S, 0x22a3, 41, 1, 0, NULL},
    {"0000:07:00.0", S, 0x22a3, 42, 2, 0, NULL},  {"0000:08:00.0", S, 0x22a3, 43, 3, 0, NULL},
};

static void
test_hgx_h200_singleton_switch(void)
{
    const struct exp_host x = {"hgx-h200-singleton-switch", true, true, 8 * 4 + 2 + 8, 8, 4,
                               h200_single_devs, N(h200_single_devs), h200_dists, N(h200_dists)};
    struct topo_host *h;

    check_host(&x);
    h = topo_fixture_scan("hgx-h200-singleton-switch", TOPO_IOMMU_LEGACY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_FALSE(h->iommufd);
    CU_ASSERT_EQUAL(topo_host_group(h, 41)->n_members, 1);
    topo_host_free(h);
}

static const struct exp_dev b200_devs[] = {
    {"0000:18:00.0", G, 0x2901, 20, 0, 0, NULL}, {"0000:1a:00.0", G, 0x2901, 21, 1, 0, NULL},
    {"0000:3a:00.0", G, 0x2901, 22, 2, 0, NULL}, {"0000:3c:00.0", G, 0x2901, 23, 3, 0, NULL},
    {"0000:9a:00.0", G, 0x2901, 24, 4, 1, NULL}, {"0000:9c:00.0", G, 0x2901, 25, 5, 1, NULL},
    {"0000:ba:00.0", G, 0x2901, 26, 6, 1, NULL}, {"0000:bc:00.0", G, 0x2901, 27, 7, 1, NULL},
};
static const struct exp_dist b200_dists[] = {
    {"0000:18:00.0", "0000:1a:00.0", TOPO_DIST_PIX},
    {"0000:18:00.0", "0000:3a:00.0", TOPO_DIST_NODE}, {"0000:18:00.0", "0000:9a:00.0", TOPO_DIST_SYS},
    {"0000:ba:00.0", "0000:bc:00.0", TOPO_DIST_PIX},
};

static void
test_hgx_b200(void)
{
    const struct exp_host x = {"hgx-b200", true, true, 4 * 8, 8, 0, b200_devs, N(b200_devs),
                               b200_dists, N(b200_dists)};
    struct topo_host *h;
    const struct topo_function *nic;

    check_host(&x);
    h = topo_fixture_scan("hgx-b200", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    nic = &h->functions[topo_fixture_index(h, "0000:19:00.0")];
    CU_ASSERT_EQUAL(nic->kind, TOPO_KIND_OTHER);
    CU_ASSERT_EQUAL(nic->vendor, 0x15b3);
    CU_ASSERT_STRING_EQUAL(nic->driver, "mlx5_core");
    CU_ASSERT_FALSE(nic->vfio);
    CU_ASSERT_EQUAL(h->functions[topo_fixture_index(h, "0000:18:00.0")].family,
                    TOPO_FAMILY_BLACKWELL);
    topo_host_free(h);
}

static const struct exp_dev rtx_devs[] = {
    {"0001:01:00.0", G, 0x2bb5, 30, 0, 0, NULL},
    {"0001:01:00.4", G, 0x2bb5, 31, 1, 0, "virtual function"},
    {"0001:01:00.5", G, 0x2bb5, 32, 2, 0, "virtual function"},
    {"0001:01:00.6", G, 0x2bb5, 33, 3, 0, "virtual function"},
    {"0001:01:00.7", G, 0x2bb5, 34, 4, 0, "virtual function"},
    {"0001:81:00.0", G, 0x2bb5, 35, 5, 1, NULL},
    {"0001:81:00.4", G, 0x2bb5, 36, -1, 1, "virtual function"},
    {"0001:81:00.5", G, 0x2bb5, 37, -1, 1, "virtual function"},
    {"0001:81:00.6", G, 0x2bb5, 38, -1, 1, "virtual function"},
    {"0001:81:00.7", G, 0x2bb5, 39, -1, 1, "virtual function"},
};
static const struct exp_dist rtx_dists[] = {
    {"0001:01:00.0", "0001:81:00.0", TOPO_DIST_SYS},
    {"0001:01:00.0", "0001:01:00.4", TOPO_DIST_PIX},
};

static void
test_rtx_pro_6000_sriov(void)
{
    const struct exp_host x = {"rtx-pro-6000-sriov", true, true, 3 + 2 * 6, 10, 0, rtx_devs,
                               N(rtx_devs), rtx_dists, N(rtx_dists)};
    struct topo_host *h;
    int pf, vf;

    check_host(&x);
    h = topo_fixture_scan("rtx-pro-6000-sriov", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    pf = topo_fixture_index(h, "0001:81:00.0");
    vf = topo_fixture_index(h, "0001:81:00.6");
    CU_ASSERT_TRUE(h->functions[vf].is_vf);
    CU_ASSERT_EQUAL(h->functions[vf].physfn, pf);
    CU_ASSERT_FALSE(h->functions[pf].is_vf);
    CU_ASSERT_EQUAL(h->functions[pf].physfn, -1);
    CU_ASSERT_STRING_EQUAL(h->functions[pf].host_bridge, "pci0001:80");
    CU_ASSERT_STRING_EQUAL(h->functions[pf].model,
                           "GB202GL [RTX PRO 6000 Blackwell Server Edition]");
    topo_host_free(h);
}

static const struct exp_dev mixed_devs[] = {
    {"0000:17:00.0", G, 0x2331, 10, 0, 0, NULL},
    {"0000:31:00.0", G, 0x26b9, 11, -1, 0, "bound to nvidia, not to a VFIO driver"},
    {"0000:4b:00.0", G, 0x26b9, 12, 1, 0, NULL},
    {"0000:ca:00.0", G, 0x26b9, 13, 3, 1, "0000:ca:00.1 bound to snd_hda_intel"},
    {"0000:e3:00.0", G, 0x1eb8, 14, 4, -1, NULL},
    {"0000:f1:00.0", G, 0x2fff, 15, -1, 1, "has no driver"},
};
static const struct exp_dist mixed_dists[] = {
    {"0000:17:00.0", "0000:4b:00.0", TOPO_DIST_PHB}, {"0000:17:00.0", "0000:ca:00.0", TOPO_DIST_SYS},
    {"0000:ca:00.0", "0000:e3:00.0", TOPO_DIST_PHB}, {"0000:4b:00.0", "0000:4b:00.1", TOPO_DIST_PIX},
};

static void
test_mixed(void)
{
    const struct exp_host x = {"mixed", true, true, 7 + 9, 6, 0, mixed_devs, N(mixed_devs),
                               mixed_dists, N(mixed_dists)};
    struct topo_host *h;
    const struct topo_group *g;
    const struct topo_function *f;
    char reason[128];

    check_host(&x);
    h = topo_fixture_scan("mixed", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    g = topo_host_group(h, 13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FALSE(g->viable);
    CU_ASSERT_STRING_EQUAL(g->not_viable, "0000:ca:00.1 bound to snd_hda_intel");
    CU_ASSERT_TRUE(topo_host_group(h, 12)->viable);
    CU_ASSERT_EQUAL(topo_host_group(h, 12)->n_members, 2);
    CU_ASSERT_STRING_EQUAL(topo_host_group(h, 15)->not_viable, "0000:f1:00.0 has no driver");
    f = &h->functions[topo_fixture_index(h, "0000:4b:00.1")];
    CU_ASSERT_EQUAL(f->kind, TOPO_KIND_COMPANION);
    CU_ASSERT_EQUAL(f->class_code, 0x040300);
    CU_ASSERT_FALSE(topo_assignable(h, (size_t)topo_fixture_index(h, "0000:4b:00.1"), reason,
                                    sizeof(reason)));
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, "not a GPU or NVSwitch"));
    CU_ASSERT_STRING_EQUAL(h->functions[topo_fixture_index(h, "0000:f1:00.0")].model,
                           "device-2fff");
    CU_ASSERT_STRING_EQUAL(h->functions[topo_fixture_index(h, "0000:17:00.0")].model,
                           "GH100 [H100 PCIe]");
    f = &h->functions[topo_fixture_index(h, "0000:e3:00.0")];
    CU_ASSERT_EQUAL(f->family, TOPO_FAMILY_OTHER);
    /* Not in our table: pci.ids when installed, else the numeric form. */
    if (access("/usr/share/misc/pci.ids", R_OK) == 0) {
        CU_ASSERT_STRING_EQUAL(f->model, "TU104GL [Tesla T4]");
    } else {
        CU_ASSERT_STRING_EQUAL(f->model, "device-1eb8");
    }
    CU_ASSERT_STRING_EQUAL(h->functions[topo_fixture_index(h, "0000:31:00.0")].driver, "nvidia");
    topo_host_free(h);
}

static const struct exp_dev acs_devs[] = {
    {"0000:03:00.0", G, 0x2330, 10, -1, 0, NULL},
    {"0000:04:00.0", G, 0x2330, 10, -1, 0, NULL},
    {"0000:07:00.0", G, 0x2330, 11, -1, 0, NULL},
    {"0000:08:00.0", G, 0x2330, 11, -1, 0, NULL},
    {"0000:0b:00.0", G, 0x2330, 12, -1, 0, "not viable: 0000:0c:00.0 has no driver"},
    {"0000:0c:00.0", G, 0x2330, 12, -1, 0, "has no driver"},
};
static const struct exp_dist acs_dists[] = {
    {"0000:03:00.0", "0000:04:00.0", TOPO_DIST_PIX},
    {"0000:03:00.0", "0000:07:00.0", TOPO_DIST_PHB},
    {"0000:03:00.0", "0000:02:00.0", TOPO_DIST_PIX},
};

static void
test_acs_off(void)
{
    const struct exp_host x = {"acs-off", false, false, 3 * 6, 6, 0, acs_devs, N(acs_devs),
                               acs_dists, N(acs_dists)};
    struct topo_host *h;
    const struct topo_group *g;

    check_host(&x);
    h = topo_fixture_scan("acs-off", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    g = topo_host_group(h, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->n_members, 4);
    CU_ASSERT_STRING_EQUAL(h->functions[g->members[0]].bdf, "0000:02:00.0");
    CU_ASSERT_STRING_EQUAL(h->functions[g->members[3]].bdf, "0000:04:00.0");
    CU_ASSERT_TRUE(g->viable);
    CU_ASSERT_TRUE(g->dev_node);
    topo_host_free(h);
}

static void
test_large(void)
{
    const struct exp_host x = {"large", true, true, 4064, 64, 0, NULL, 0, NULL, 0};

    check_host(&x);
}

static void
test_no_nvidia(void)
{
    const struct exp_host x = {"no-nvidia", false, false, 9, 0, 0, NULL, 0, NULL, 0};
    struct topo_host *h;
    const struct topo_function *amd;

    check_host(&x);
    h = topo_fixture_scan("no-nvidia", TOPO_IOMMU_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    amd = &h->functions[topo_fixture_index(h, "0000:03:00.0")];
    CU_ASSERT_EQUAL(amd->kind, TOPO_KIND_OTHER);
    CU_ASSERT_TRUE(amd->vfio);
    CU_ASSERT_PTR_NULL(amd->model);
    CU_ASSERT_EQUAL(h->functions[topo_fixture_index(h, "0000:00:00.0")].root_port, -1);
    CU_ASSERT_FALSE(h->iommufd);
    topo_host_free(h);
}

/* A temp dir whose entries are symlinks to <fixture>/<sub>/<entry>. */
static char *
link_tree(const char *fixture, const char *sub, const char *const *entries)
{
    char *dir = strdup("/tmp/kgdp-topo-links-XXXXXX"), *dst = NULL, *src = NULL;
    bool ok = dir && mkdtemp(dir);

    for (size_t i = 0; ok && entries[i]; i++) {
        ok = asprintf(&src, "%s/%s/%s/%s", getenv("KGDP_FIXTURES"), fixture, sub, entries[i]) > 0 &&
             asprintf(&dst, "%s/%s", dir, entries[i]) > 0 && symlink(src, dst) == 0;
        free(src);
        free(dst);
        src = dst = NULL;
    }
    CU_ASSERT_FATAL(ok);
    return dir;
}

static void
rm_link_tree(char *dir, const char *const *entries)
{
    char *p;

    for (size_t i = 0; entries[i]; i++)
        if (asprintf(&p, "%s/%s", dir, entries[i]) > 0) {
            unlink(p);
            free(p);
        }
    rmdir(dir);
    free(dir);
}

/* The DaemonSet mounts /sys whole but only /dev/vfio of /dev: iommufd is
 * then known from the misc device in sysfs, not from /dev/iommu. */
static void
test_iommufd_from_sysfs(void)
{
    static const char *const dev_entries[] = {"vfio", NULL};
    static const char *const sys_entries[] = {"bus", "devices", "kernel", NULL};
    char *dev = link_tree("hgx-h100-iommufd", "dev", dev_entries);
    char *sys = link_tree("hgx-h100-iommufd", "sys", sys_entries);
    _cleanup_free_ char *fx_sys = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_scan_options o = {.iommu = TOPO_IOMMU_AUTO, .dev_root = dev};
    struct topo_host *h = NULL;

    CU_ASSERT_FATAL(asprintf(&fx_sys, "%s/hgx-h100-iommufd/sys", getenv("KGDP_FIXTURES")) > 0);
    o.sysfs_root = fx_sys;
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &h, &err), 0);
    CU_ASSERT_TRUE(h->dev_iommu);
    CU_ASSERT_TRUE(h->iommufd);
    CU_ASSERT_TRUE(h->functions[topo_fixture_index(h, "0000:0a:00.0")].cdev_node);
    topo_host_free(h);
    /* Neither /dev/iommu nor the misc device: legacy. */
    o.sysfs_root = sys;
    h = NULL;
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &h, &err), 0);
    CU_ASSERT_FALSE(h->dev_iommu);
    CU_ASSERT_FALSE(h->iommufd);
    CU_ASSERT_EQUAL(h->n_functions, 4 * 14 + 2 + 4 * 2);
    topo_host_free(h);
    rm_link_tree(dev, dev_entries);
    rm_link_tree(sys, sys_entries);
}

TEST_SUITE(topo_scan, NULL, NULL, {"iommufd known from sysfs", test_iommufd_from_sysfs}, {"hgx-h100-iommufd", test_hgx_h100_iommufd},
           {"hgx-h200-legacy", test_hgx_h200_legacy},
           {"hgx-h200-singleton-switch", test_hgx_h200_singleton_switch},
           {"hgx-b200", test_hgx_b200}, {"rtx-pro-6000-sriov", test_rtx_pro_6000_sriov},
           {"mixed", test_mixed}, {"acs-off", test_acs_off}, {"large", test_large},
           {"no-nvidia", test_no_nvidia})

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/host_builder.h"
#include "test/support/suite.h"
#include "topology/units/alloc-priv.h"
#include "topology/units/inventory.h"

/* Devices that an earlier snapshot listed and that left the PCI bus stay
 * listed, unhealthy, until they come back (inv_policy.previous). */

#define GONE "0000:07:00.0" /* hb_hgx_gpus[2] */

struct env {
    struct inventory *inv;
    char *sysfs; /* temp root of this host: driver links, device nodes under dev/ */
    char dev[600];
};

/* Build o's host under mode and aliases, with previous (may be NULL). */
static void
env_open(struct env *e, const struct hb_hgx_opts *o, enum inv_mode mode, const char *gpu_alias,
         const struct inventory *previous)
{
    struct inv_policy p = {.mode = mode, .domain = "nvidia.com", .gpu_alias = gpu_alias,
                           .nvswitch_alias = "nvswitch", .previous = previous};

    CU_ASSERT_EQUAL_FATAL(hb_build(o, &p, &e->inv, &e->sysfs), 0);
    snprintf(e->dev, sizeof(e->dev), "%s/dev", e->sysfs);
}

static void
env_close(struct env *e)
{
    inventory_unref(e->inv);
    hb_sysfs_free(e->sysfs);
}

static size_t
res_of(const struct inventory *inv, const char *name)
{
    int r = inventory_find_resource(inv, name);

    CU_ASSERT_FATAL(r >= 0);
    return (size_t)r;
}

static const struct inv_device *
dev_of(const struct inventory *inv, const char *res, const char *id)
{
    const struct inv_resource *rs = &inv->resources[res_of(inv, res)];
    int d = inventory_find_device(rs, id);

    CU_ASSERT_FATAL(d >= 0);
    return &rs->devices[d];
}

/* Allocate ids from res; expect code and, when given, msg inside the error. */
static void
expect_alloc(const struct inventory *inv, const char *res, const char *const *ids, size_t n,
             int code, const char *msg)
{
    struct inv_allocation a = {0};
    struct topo_error err = TOPO_ERROR_INIT;
    int r = inventory_allocate(inv, res_of(inv, res), ids, n, &a, &err);

    CU_ASSERT_EQUAL(r, code);
    if (msg)
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
    inventory_allocation_clear(&a);
}

/* Preferred of size from every listed pgpu device; the answer as a
 * comma-joined string in got (empty on error), the return code returned. */
static int
preferred_all(const struct inventory *inv, size_t size, const char *const *must, size_t n_must,
              char *got, size_t len)
{
    const struct inv_resource *rs = &inv->resources[res_of(inv, "nvidia.com/pgpu")];
    const char *avail[8];
    struct topo_error err = TOPO_ERROR_INIT;
    char **ids = NULL;
    size_t n = 0;
    int r;

    CU_ASSERT_FATAL(rs->n_devices <= 8);
    for (size_t i = 0; i < rs->n_devices; i++)
        avail[i] = rs->devices[i].id;
    r = inventory_preferred(inv, res_of(inv, "nvidia.com/pgpu"), avail, rs->n_devices, must,
                            n_must, size, &ids, &n, &err);
    got[0] = '\0';
    for (size_t i = 0; r == 0 && i < n; i++)
        snprintf(got + strlen(got), len - strlen(got), "%s%s", i ? "," : "", ids[i]);
    inventory_free_strv(ids, r == 0 ? n : 0);
    return r;
}

static void
test_listed_unhealthy(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .audio = true, .n_switches = 4};
    struct env a, b;
    const struct inv_resource *g;
    const struct inv_device *ghost;

    env_open(&a, &o, INV_MODE_PASSTHROUGH, "pgpu", NULL);
    o.gpu_absent[2] = true;
    env_open(&b, &o, INV_MODE_PASSTHROUGH, "pgpu", a.inv);
    g = &b.inv->resources[res_of(b.inv, "nvidia.com/pgpu")];
    CU_ASSERT_EQUAL_FATAL(g->n_devices, 8);
    for (size_t i = 0; i < 8; i++) {
        CU_ASSERT_STRING_EQUAL(g->devices[i].id, hb_hgx_gpus[i]);
        CU_ASSERT_EQUAL(g->devices[i].healthy, i != 2);
        CU_ASSERT_EQUAL(g->devices[i].numa_node, i < 4 ? 0 : 1);
    }
    ghost = &g->devices[2];
    CU_ASSERT_STRING_EQUAL(ghost->id, GONE);
    CU_ASSERT_STRING_EQUAL(ghost->reason, "no longer present on the PCI bus");
    CU_ASSERT_EQUAL(ghost->n_nodes, 0);
    CU_ASSERT_PTR_NULL(ghost->nodes);
    CU_ASSERT_EQUAL(g->devices[3].n_nodes, 2); /* GPU and audio cdevs */
    /* the switches are not touched */
    g = &b.inv->resources[res_of(b.inv, "nvidia.com/nvswitch")];
    CU_ASSERT_EQUAL(g->n_devices, 4);
    for (size_t i = 0; i < g->n_devices; i++)
        CU_ASSERT_TRUE(g->devices[i].healthy);
    env_close(&b);
    env_close(&a);
}

static void
test_allocate_and_prefer(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .audio = true, .n_switches = 4};
    const char *gone[] = {GONE}, *after[] = {"0000:08:00.0"};
    const char *pair[] = {"0000:03:00.0", "0000:04:00.0"}, *with_gone[] = {"0000:08:00.0", GONE};
    struct env a, b;
    struct inv_allocation al = {0};
    struct topo_error err = TOPO_ERROR_INIT;
    char got[512];

    env_open(&a, &o, INV_MODE_PASSTHROUGH, "pgpu", NULL);
    o.gpu_absent[2] = true;
    env_open(&b, &o, INV_MODE_PASSTHROUGH, "pgpu", a.inv);
    expect_alloc(b.inv, "nvidia.com/pgpu", gone, 1, -ENODEV,
                 GONE " is unhealthy: no longer present on the PCI bus");
    expect_alloc(b.inv, "nvidia.com/pgpu", with_gone, 2, -ENODEV, GONE);
    expect_alloc(b.inv, "nvidia.com/pgpu", pair, 2, 0, NULL);
    /* the device after the ghost: its own unit, nodes and CDI name */
    CU_ASSERT_EQUAL_FATAL(inventory_allocate(b.inv, res_of(b.inv, "nvidia.com/pgpu"), after, 1,
                                             &al, &err), 0);
    CU_ASSERT_EQUAL_FATAL(al.n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(al.nodes[0].path, "/dev/vfio/devices/vfio3");
    CU_ASSERT_STRING_EQUAL(al.nodes[1].path, "/dev/vfio/devices/vfio43");
    CU_ASSERT_EQUAL_FATAL(al.n_ids, 1);
    CU_ASSERT_STRING_EQUAL(al.ids[0], "0000:08:00.0");
    inventory_allocation_clear(&al);
    /* preferred never proposes it, even when offered */
    CU_ASSERT_EQUAL(preferred_all(b.inv, 7, NULL, 0, got, sizeof(got)), 0);
    CU_ASSERT_STRING_EQUAL(got, "0000:03:00.0,0000:04:00.0,0000:08:00.0,0000:83:00.0,"
                                "0000:84:00.0,0000:87:00.0,0000:88:00.0");
    CU_ASSERT_EQUAL(preferred_all(b.inv, 8, NULL, 0, got, sizeof(got)), -EPERM);
    CU_ASSERT_EQUAL(preferred_all(b.inv, 1, gone, 1, got, sizeof(got)), -ENODEV);
    /* a pick around the ghost's switch neighbour never includes it */
    CU_ASSERT_EQUAL(preferred_all(b.inv, 3, after, 1, got, sizeof(got)), 0);
    CU_ASSERT_PTR_NULL(strstr(got, GONE));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "0000:08:00.0"));
    env_close(&b);
    env_close(&a);
}

/* The ghost is a unit of its own, nothing to re-check, far from all. */
static void
test_units(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .acs_off = true};
    struct env a, b;
    const struct alloc_priv *p;
    const struct alloc_resource *ar;
    size_t r, n, u;

    env_open(&a, &o, INV_MODE_PASSTHROUGH, "pgpu", NULL);
    o.gpu_absent[2] = true; /* shared group 12 with 0000:08:00.0 */
    env_open(&b, &o, INV_MODE_PASSTHROUGH, "pgpu", a.inv);
    r = res_of(b.inv, "nvidia.com/pgpu");
    n = b.inv->resources[r].n_devices;
    p = b.inv->priv;
    ar = &p->res[r];
    CU_ASSERT_EQUAL_FATAL(n, 8);
    CU_ASSERT_TRUE(ar->gpu);
    CU_ASSERT_EQUAL(ar->n_units, 5); /* 4 pairs, the 07/08 pair split by the ghost */
    u = ar->unit_of[2];
    CU_ASSERT_EQUAL(ar->units[u].group, -1);
    CU_ASSERT_EQUAL(ar->units[u].n_devices, 1);
    CU_ASSERT_EQUAL(ar->units[u].n_check, 0);
    CU_ASSERT_EQUAL(ar->units[ar->unit_of[3]].group, 12);
    CU_ASSERT_EQUAL(ar->units[ar->unit_of[3]].n_devices, 1);
    CU_ASSERT_EQUAL(ar->units[ar->unit_of[0]].n_devices, 2);
    for (size_t d = 0; d < n; d++) {
        CU_ASSERT_EQUAL(ar->dist[2 * n + d], d == 2 ? TOPO_DIST_SELF : TOPO_DIST_SYS);
        CU_ASSERT_EQUAL(ar->numa[2 * n + d], d == 2 ? 0 : UINT8_MAX);
    }
    CU_ASSERT_EQUAL(ar->dist[0 * n + 1], TOPO_DIST_PIX);
    CU_ASSERT_EQUAL(ar->dist[3 * n + 1], TOPO_DIST_PHB);
    CU_ASSERT_TRUE(b.inv->resources[r].devices[3].healthy);
    env_close(&b);
    env_close(&a);
}

static void
test_ppcie(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4};
    static const char want[] = "ppcie mode needs every GPU and NVSwitch: " GONE
                               " is no longer present on the PCI bus";
    struct env a, b;

    env_open(&a, &o, INV_MODE_PPCIE, "pgpu", NULL);
    CU_ASSERT_TRUE(dev_of(a.inv, "nvidia.com/pgpu", "0000:03:00.0")->healthy);
    o.gpu_absent[2] = true;
    env_open(&b, &o, INV_MODE_PPCIE, "pgpu", a.inv);
    for (size_t r = 0; r < b.inv->n_resources; r++)
        for (size_t d = 0; d < b.inv->resources[r].n_devices; d++) {
            const struct inv_device *dev = &b.inv->resources[r].devices[d];

            CU_ASSERT_FALSE(dev->healthy);
            CU_ASSERT_STRING_EQUAL(dev->reason, strcmp(dev->id, GONE) == 0
                                                    ? "no longer present on the PCI bus"
                                                    : want);
        }
    CU_ASSERT_EQUAL(b.inv->resources[res_of(b.inv, "nvidia.com/nvswitch")].n_devices, 4);
    env_close(&b);
    env_close(&a);
}

static void
test_multi_all(void)
{
    struct hb_hgx_opts o = {.iommufd = true};
    const char *present[7], *all[8], *one[] = {"0000:88:00.0"};
    struct env a, b;
    char got[512];

    env_open(&a, &o, INV_MODE_MULTI, "pgpu", NULL);
    o.gpu_absent[2] = true;
    env_open(&b, &o, INV_MODE_MULTI, "pgpu", a.inv);
    for (size_t i = 0, k = 0; i < 8; i++) {
        all[i] = hb_hgx_gpus[i];
        if (i != 2)
            present[k++] = hb_hgx_gpus[i];
    }
    expect_alloc(b.inv, "nvidia.com/pgpu", present, 7, -EPERM, "request 1 GPU or all 8");
    expect_alloc(b.inv, "nvidia.com/pgpu", all, 8, -ENODEV, GONE);
    expect_alloc(b.inv, "nvidia.com/pgpu", one, 1, 0, NULL);
    CU_ASSERT_EQUAL(preferred_all(b.inv, 7, NULL, 0, got, sizeof(got)), -EPERM);
    CU_ASSERT_EQUAL(preferred_all(b.inv, 8, NULL, 0, got, sizeof(got)), -EPERM);
    CU_ASSERT_EQUAL(preferred_all(b.inv, 1, NULL, 0, got, sizeof(got)), 0);
    /* the GPU whose switch partner left: every free pair stays whole */
    CU_ASSERT_STRING_EQUAL(got, "0000:08:00.0");
    env_close(&b);
    env_close(&a);
}

/* Per-model resources: the one model that left entirely stays. */
static void
test_resource_vanished(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4};
    struct env a, b;
    const struct inv_resource *rs;
    const struct alloc_priv *p;

    o.gpu_model[5] = "H100 PCIe";
    env_open(&a, &o, INV_MODE_MULTI, "", NULL);
    CU_ASSERT(inventory_find_resource(a.inv, "nvidia.com/H100_PCIE") >= 0);
    o.gpu_absent[5] = true;
    o.n_switches = 0;
    env_open(&b, &o, INV_MODE_MULTI, "", a.inv);
    CU_ASSERT_EQUAL_FATAL(b.inv->n_resources, 3);
    CU_ASSERT_STRING_EQUAL(b.inv->resources[0].name, "nvidia.com/H100_PCIE");
    CU_ASSERT_STRING_EQUAL(b.inv->resources[1].name, "nvidia.com/H100_SXM5_80GB");
    CU_ASSERT_STRING_EQUAL(b.inv->resources[2].name, "nvidia.com/nvswitch");
    rs = &b.inv->resources[0];
    CU_ASSERT_EQUAL_FATAL(rs->n_devices, 1);
    CU_ASSERT_STRING_EQUAL(rs->devices[0].id, "0000:84:00.0");
    CU_ASSERT_FALSE(rs->devices[0].healthy);
    CU_ASSERT_EQUAL(rs->devices[0].numa_node, 1);
    CU_ASSERT_EQUAL(b.inv->resources[1].n_devices, 7);
    rs = &b.inv->resources[2];
    CU_ASSERT_EQUAL(rs->n_devices, 4);
    for (size_t d = 0; d < rs->n_devices; d++)
        CU_ASSERT_STRING_EQUAL(rs->devices[d].reason, "no longer present on the PCI bus");
    /* each keeps its kind: the GPU one follows the multi rule */
    p = b.inv->priv;
    CU_ASSERT_TRUE(p->res[0].gpu);
    CU_ASSERT_TRUE(p->res[1].gpu);
    CU_ASSERT_FALSE(p->res[2].gpu);
    env_close(&b);
    env_close(&a);
}

/* What kubelet and a VM would see (host paths differ: each env has its
 * own temp root). */
static bool
same_listing(const struct inventory *a, const struct inventory *b)
{
    if (a->n_resources != b->n_resources)
        return false;
    for (size_t r = 0; r < a->n_resources; r++) {
        const struct inv_resource *ra = &a->resources[r], *rb = &b->resources[r];

        if (strcmp(ra->name, rb->name) != 0 ||
            ra->n_devices != rb->n_devices)
            return false;
        for (size_t d = 0; d < ra->n_devices; d++) {
            const struct inv_device *x = &ra->devices[d], *y = &rb->devices[d];

            if (strcmp(x->id, y->id) != 0 || x->healthy != y->healthy ||
                x->numa_node != y->numa_node || x->n_nodes != y->n_nodes)
                return false;
            for (size_t n = 0; n < x->n_nodes; n++)
                if (strcmp(x->nodes[n].path, y->nodes[n].path) != 0)
                    return false;
        }
    }
    return true;
}

/* Still gone two scans later; back: a normal device again. */
static void
test_comes_back(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .audio = true, .n_switches = 4};
    struct env a, b, b2, c;
    const char *back[] = {GONE};
    const struct inv_resource *g;

    env_open(&a, &o, INV_MODE_PASSTHROUGH, "pgpu", NULL);
    o.gpu_absent[2] = true;
    env_open(&b, &o, INV_MODE_PASSTHROUGH, "pgpu", a.inv);
    env_open(&b2, &o, INV_MODE_PASSTHROUGH, "pgpu", b.inv);
    CU_ASSERT_TRUE(same_listing(b.inv, b2.inv));
    CU_ASSERT_FALSE(same_listing(a.inv, b2.inv));
    CU_ASSERT_FALSE(dev_of(b2.inv, "nvidia.com/pgpu", GONE)->healthy);
    o.gpu_absent[2] = false;
    env_open(&c, &o, INV_MODE_PASSTHROUGH, "pgpu", b2.inv);
    g = &c.inv->resources[res_of(c.inv, "nvidia.com/pgpu")];
    CU_ASSERT_EQUAL(g->n_devices, 8);
    CU_ASSERT_TRUE(dev_of(c.inv, "nvidia.com/pgpu", GONE)->healthy);
    CU_ASSERT_PTR_NULL(dev_of(c.inv, "nvidia.com/pgpu", GONE)->reason);
    CU_ASSERT_EQUAL(dev_of(c.inv, "nvidia.com/pgpu", GONE)->n_nodes, 2);
    CU_ASSERT_TRUE(same_listing(a.inv, c.inv));
    expect_alloc(c.inv, "nvidia.com/pgpu", back, 1, 0, NULL);
    env_close(&c);
    env_close(&b2);
    env_close(&b);
    env_close(&a);
}

TEST_SUITE(alloc_vanish, NULL, NULL,
           {"listed unhealthy, sorted, no nodes", test_listed_unhealthy},
           {"allocate refuses it, preferred skips it", test_allocate_and_prefer},
           {"a unit of its own", test_units}, {"ppcie: all unhealthy", test_ppcie},
           {"multi: all counts it", test_multi_all},
           {"a vanished resource keeps its socket", test_resource_vanished},
           {"comes back healthy", test_comes_back});

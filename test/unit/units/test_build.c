#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/host_builder.h"
#include "test/support/suite.h"
#include "topology/units/inventory.h"
#include "topology/base/macros.h"

/* inventory_build on hand-built hosts: resources, units, health, nodes. */

static struct inv_policy
policy(enum inv_mode mode, const char *gpu_alias, const char *sw_alias)
{
    return (struct inv_policy){.mode = mode, .domain = "nvidia.com", .gpu_alias = gpu_alias,
                               .nvswitch_alias = sw_alias, .sysfs_root = "/nonexistent",
                               .dev_root = "/r/dev"};
}

static struct inventory *
build(const struct hb_hgx_opts *o, const struct inv_policy *p)
{
    struct topo_host *h = hb_hgx_new(o);
    struct inventory *inv = NULL;
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(inventory_build(h, p, &inv, &err), 0);
    topo_host_free(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
    return inv;
}

static const struct inv_resource *
res(const struct inventory *inv, const char *name)
{
    int r = inventory_find_resource(inv, name);

    CU_ASSERT_FATAL(r >= 0);
    return &inv->resources[r];
}

static void
test_alias_resources(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct inventory *inv = build(&o, &p);
    const struct inv_resource *g;

    CU_ASSERT_EQUAL(inv->n_resources, 2);
    CU_ASSERT_STRING_EQUAL(inv->resources[0].name, "nvidia.com/nvswitch");
    CU_ASSERT_STRING_EQUAL(inv->resources[1].name, "nvidia.com/pgpu");
    g = res(inv, "nvidia.com/pgpu");
    CU_ASSERT_EQUAL_FATAL(g->n_devices, 8);
    for (size_t i = 0; i < 8; i++) {
        CU_ASSERT_STRING_EQUAL(g->devices[i].id, hb_hgx_gpus[i]);
        CU_ASSERT_TRUE(g->devices[i].healthy);
        CU_ASSERT_PTR_NULL(g->devices[i].reason);
        CU_ASSERT_EQUAL(g->devices[i].numa_node, i < 4 ? 0 : 1);
    }
    CU_ASSERT_EQUAL(res(inv, "nvidia.com/nvswitch")->n_devices, 4);
    inventory_unref(inv);
}

static void
test_iommufd_nodes(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .audio = true, .n_switches = 4};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct inventory *inv = build(&o, &p);
    const struct inv_device *d = &res(inv, "nvidia.com/pgpu")->devices[2];
    const struct inv_device *s = &res(inv, "nvidia.com/nvswitch")->devices[0];

    /* the GPU and its audio function: one unit, only the GPU listed */
    CU_ASSERT_EQUAL(res(inv, "nvidia.com/pgpu")->n_devices, 8);
    CU_ASSERT_STRING_EQUAL(d->id, "0000:07:00.0");
    CU_ASSERT_EQUAL_FATAL(d->n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(d->nodes[0].path, "/dev/vfio/devices/vfio2");
    CU_ASSERT_STRING_EQUAL(d->nodes[0].host_path, "/r/dev/vfio/devices/vfio2");
    CU_ASSERT_STRING_EQUAL(d->nodes[1].path, "/dev/vfio/devices/vfio42");
    /* switches share group 30: every switch cdev travels with each */
    CU_ASSERT_EQUAL_FATAL(s->n_nodes, 4);
    CU_ASSERT_STRING_EQUAL(s->nodes[0].path, "/dev/vfio/devices/vfio20");
    CU_ASSERT_STRING_EQUAL(s->nodes[3].path, "/dev/vfio/devices/vfio23");
    inventory_unref(inv);
}

static void
test_legacy_nodes(void)
{
    struct hb_hgx_opts o = {.iommufd = false, .n_switches = 4};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct inventory *inv = build(&o, &p);
    const struct inv_device *d = &res(inv, "nvidia.com/pgpu")->devices[1];
    const struct inv_device *s = &res(inv, "nvidia.com/nvswitch")->devices[3];

    CU_ASSERT_EQUAL_FATAL(d->n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(d->nodes[0].path, "/dev/vfio/11");
    CU_ASSERT_STRING_EQUAL(d->nodes[0].host_path, "/r/dev/vfio/11");
    CU_ASSERT_STRING_EQUAL(d->nodes[1].path, "/dev/vfio/vfio");
    CU_ASSERT_STRING_EQUAL(d->nodes[1].host_path, "/r/dev/vfio/vfio");
    CU_ASSERT_EQUAL_FATAL(s->n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(s->nodes[0].path, "/dev/vfio/30");
    inventory_unref(inv);
}

static void
test_per_model(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 2,
                            .gpu_model = {NULL, NULL, NULL, NULL, "H200 SXM 141GB",
                                          "H200 SXM 141GB", "H200 SXM 141GB", "H200 SXM 141GB"}};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "", "");
    struct inventory *inv = build(&o, &p);

    CU_ASSERT_EQUAL_FATAL(inv->n_resources, 3);
    CU_ASSERT_STRING_EQUAL(inv->resources[0].name, "nvidia.com/H100_NVSWITCH");
    CU_ASSERT_STRING_EQUAL(inv->resources[1].name, "nvidia.com/H100_SXM5_80GB");
    CU_ASSERT_STRING_EQUAL(inv->resources[2].name, "nvidia.com/H200_SXM_141GB");
    CU_ASSERT_EQUAL(inv->resources[1].n_devices, 4);
    CU_ASSERT_STRING_EQUAL(inv->resources[2].devices[0].id, "0000:83:00.0");
    inventory_unref(inv);
    /* one alias gathers every model */
    p = policy(INV_MODE_PASSTHROUGH, "pgpu", "");
    inv = build(&o, &p);
    CU_ASSERT_EQUAL_FATAL(inv->n_resources, 2);
    CU_ASSERT_STRING_EQUAL(inv->resources[1].name, "nvidia.com/pgpu");
    CU_ASSERT_EQUAL(inv->resources[1].n_devices, 8);
    inventory_unref(inv);
}

static void
test_name_sanitising(void)
{
    static const char long_model[] = "An Extremely Long Model Name That Goes On And On Past "
                                     "Sixty Three Characters For Sure";
    struct hb_hgx_opts o = {.iommufd = true,
                            .gpu_model = {"Foo/Bar.baz  (x)-y", "A.B", "A/B", long_model, "__",
                                          "__", "__", "__"}};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "", "nvswitch");
    struct inventory *inv = build(&o, &p);
    const char *want[] = {"nvidia.com/AN_EXTREMELY_LONG_MODEL_NAME_THAT_GOES_ON_AND_ON_PAST_SIXTY_"
                          "THR",
                          "nvidia.com/A_B_2330", "nvidia.com/DEVICE_2330",
                          "nvidia.com/FOO_BAR_BAZ_XY"};

    /* "A.B" and "A/B" both become A_B: told apart by device ID, which they
     * share here, so they end up in one resource */
    CU_ASSERT_EQUAL_FATAL(inv->n_resources, 4);
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_STRING_EQUAL(inv->resources[i].name, want[i]);
    CU_ASSERT_EQUAL(inv->resources[1].n_devices, 2);
    CU_ASSERT_EQUAL(strlen(strchr(inv->resources[0].name, '/') + 1), 63);
    inventory_unref(inv);
}

static void
test_bad_names(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 1};
    struct topo_host *h = hb_hgx_new(&o);
    struct {
        const char *domain, *gpu, *sw, *msg;
    } cases[] = {
        {"nvidia.com", "bad/alias", "nvswitch", "not a valid extended resource name"},
        {"nvidia.com", "-x", "nvswitch", "nvidia.com/-x"},
        {"kubernetes.io", "pgpu", "nvswitch", "kubernetes.io/pgpu"},
        {"Nvidia.com", "pgpu", "nvswitch", "Nvidia.com/pgpu"},
        {"nvidia.com", "same", "same", "GPUs and NVSwitches would share resource"},
    };

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct inv_policy p = policy(INV_MODE_PASSTHROUGH, cases[i].gpu, cases[i].sw);
        struct topo_error err = TOPO_ERROR_INIT;
        struct inventory *inv = NULL;

        p.domain = cases[i].domain;
        CU_ASSERT_EQUAL(inventory_build(h, &p, &inv, &err), -EINVAL);
        CU_ASSERT_PTR_NULL(inv);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].msg));
    }
    topo_host_free(h);
}

static void
test_health(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .audio = true, .n_switches = 2,
                            .gpu_driver = {"nvidia"}, .switch_driver = {"nvidia", "nvidia"}};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct inventory *inv = build(&o, &p);
    const struct inv_resource *g = res(inv, "nvidia.com/pgpu");

    /* no VFIO-bound switch: no switch resource; the GPU and the switches
     * on nvidia are another stack's: not listed, noted as foreign */
    CU_ASSERT_EQUAL(inv->n_resources, 1);
    CU_ASSERT_EQUAL(g->n_devices, 7);
    CU_ASSERT_STRING_EQUAL(g->devices[0].id, "0000:04:00.0");
    CU_ASSERT_TRUE(g->devices[0].healthy);
    CU_ASSERT_EQUAL_FATAL(inv->n_foreign, 3);
    CU_ASSERT_STRING_EQUAL(inv->foreign[0].driver, "nvidia");
    CU_ASSERT_TRUE(inventory_is_foreign(inv, "0000:03:00.0"));
    inventory_unref(inv);

    o = (struct hb_hgx_opts){.iommufd = true, .audio = true, .audio_driver = "snd_hda_intel"};
    inv = build(&o, &p);
    g = res(inv, "nvidia.com/pgpu");
    CU_ASSERT_FALSE(g->devices[0].healthy);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(g->devices[0].reason, "IOMMU group 10 not viable: 0000:03:00.1 bound to snd_hda_intel"));
    inventory_unref(inv);
}

static void
test_missing_nodes_and_vfs(void)
{
    struct hb_hgx_opts o = {.iommufd = true};
    struct topo_host *h = hb_hgx_new(&o);
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    h->functions[topo_host_find(h, "0000:04:00.0")].cdev_node = false;
    /* pretend 0000:88:00.0 is a VF of 0000:87:00.0: never listed */
    h->functions[topo_host_find(h, "0000:88:00.0")].is_vf = true;
    h->functions[topo_host_find(h, "0000:88:00.0")].physfn = topo_host_find(h, "0000:87:00.0");
    CU_ASSERT_EQUAL_FATAL(inventory_build(h, &p, &inv, &err), 0);
    CU_ASSERT_EQUAL(inv->resources[0].n_devices, 7);
    CU_ASSERT_EQUAL(inventory_find_device(&inv->resources[0], "0000:88:00.0"), -ENOENT);
    CU_ASSERT_FALSE(inv->resources[0].devices[1].healthy);
    CU_ASSERT_STRING_EQUAL(inv->resources[0].devices[1].reason,
                           "device node /dev/vfio/devices/vfio1 is missing");
    inventory_unref(inv);
    topo_host_free(h);
}

static void
test_ppcie_health(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4, .switch_driver = {NULL, "nvidia"}};
    struct inv_policy p = policy(INV_MODE_PPCIE, "pgpu", "nvswitch");
    struct inventory *inv = build(&o, &p);

    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            CU_ASSERT_FALSE(inv->resources[r].devices[d].healthy);
            CU_ASSERT_PTR_NOT_NULL(inv->resources[r].devices[d].reason);
        }
    CU_ASSERT_PTR_NOT_NULL(strstr(res(inv, "nvidia.com/pgpu")->devices[5].reason,
                                  "ppcie mode needs every GPU and NVSwitch assignable: NVSwitch "
                                  "0000:c0:00.0: IOMMU group 30 not viable: 0000:c1:00.0 bound "
                                  "to nvidia (and 3 more)"));
    inventory_unref(inv);
    /* the same host in passthrough mode: GPUs healthy */
    p.mode = INV_MODE_PASSTHROUGH;
    inv = build(&o, &p);
    CU_ASSERT_TRUE(res(inv, "nvidia.com/pgpu")->devices[5].healthy);
    inventory_unref(inv);
}

static void
test_no_gpus(void)
{
    struct hb_fn t[] = {HB_BRIDGE("0000:00:01.0", NULL, "pci0000:00")};
    struct topo_host *h = hb_host_new(t, 1, true);
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(inventory_build(h, &p, &inv, &err), 0);
    CU_ASSERT_EQUAL(inv->n_resources, 0);
    inventory_unref(inv);
    topo_host_free(h);
}

/* Count only ours: a GPU that another stack's driver holds is not listed
 * (only noted), one without a driver is listed Unhealthy, and one this
 * snapshot's predecessor listed stays listed, Unhealthy, once it is handed
 * to another driver; switches follow the same rule. */
static void
test_count_only_ours(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 2, .gpu_driver = {[1] = "nouveau"}};
    struct inv_policy p = policy(INV_MODE_PASSTHROUGH, "pgpu", "nvswitch");
    struct inventory *first = build(&o, &p), *second;
    const struct inv_resource *g = res(first, "nvidia.com/pgpu");
    int d;

    CU_ASSERT_EQUAL(g->n_devices, 7);
    CU_ASSERT_EQUAL_FATAL(first->n_foreign, 1);
    CU_ASSERT_STRING_EQUAL(first->foreign[0].driver, "nouveau");
    CU_ASSERT_STRING_EQUAL(first->foreign[0].id, hb_hgx_gpus[1]);
    CU_ASSERT_EQUAL(inventory_find_device(g, hb_hgx_gpus[1]), -ENOENT);
    /* GPU 2 and a switch go to nvidia, GPU 3 loses its driver */
    o.gpu_driver[2] = "nvidia";
    o.gpu_driver[3] = "";
    o.switch_driver[0] = "nvidia";
    p.previous = first;
    second = build(&o, &p);
    g = res(second, "nvidia.com/pgpu");
    CU_ASSERT_EQUAL(g->n_devices, 7);
    CU_ASSERT_EQUAL(second->n_foreign, 1); /* still only the one never listed */
    d = inventory_find_device(g, hb_hgx_gpus[2]);
    CU_ASSERT_FATAL(d >= 0);
    CU_ASSERT_FALSE(g->devices[d].healthy);
    CU_ASSERT_PTR_NOT_NULL(g->devices[d].reason && strstr(g->devices[d].reason, "bound to nvidia"));
    d = inventory_find_device(g, hb_hgx_gpus[3]);
    CU_ASSERT_FATAL(d >= 0);
    CU_ASSERT_FALSE(g->devices[d].healthy);
    CU_ASSERT_PTR_NOT_NULL(g->devices[d].reason && strstr(g->devices[d].reason, "has no driver"));
    CU_ASSERT_EQUAL(res(second, "nvidia.com/nvswitch")->n_devices, 2);
    CU_ASSERT_FALSE(res(second, "nvidia.com/nvswitch")->devices[0].healthy);
    inventory_unref(second);
    inventory_unref(first);
}

TEST_SUITE(alloc_build, NULL, NULL, {"alias resources", test_alias_resources},
           {"iommufd nodes", test_iommufd_nodes}, {"legacy nodes", test_legacy_nodes},
           {"per-model resources", test_per_model}, {"name sanitising", test_name_sanitising},
           {"bad names", test_bad_names}, {"health", test_health},
           {"missing nodes and VFs", test_missing_nodes_and_vfs},
           {"ppcie health", test_ppcie_health}, {"no GPUs", test_no_gpus},
           {"count only ours", test_count_only_ours})

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/host_builder.h"
#include "test/support/suite.h"
#include "topology/units/inventory.h"

/* The preferred op on hand-built hosts: topology, units, modes. */

static struct inventory *
open_inv(const struct topo_host *h, enum inv_mode mode)
{
    struct inv_policy p = {.mode = mode, .domain = "nvidia.com", .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch", .sysfs_root = "/nonexistent",
                           .dev_root = "/dev"};
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(inventory_build(h, &p, &inv, &err), 0);
    return inv;
}

/* Run preferred on resource 0 ("nvidia.com/pgpu" sorts before nothing else
 * here); want = comma-joined IDs, or NULL with code/msg for an error. */
static void
expect(const struct inventory *inv, const char *const *avail, size_t n_avail,
       const char *const *must, size_t n_must, size_t size, const char *want, int code,
       const char *msg)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **ids = NULL, got[1024] = "";
    size_t n = 0;
    int r = inventory_preferred(inv, (size_t)inventory_find_resource(inv, "nvidia.com/pgpu"),
                                avail, n_avail, must, n_must, size, &ids, &n, &err);

    CU_ASSERT_EQUAL(r, code);
    if (r < 0) {
        if (msg)
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
        return;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "", ids[i]);
    CU_ASSERT_STRING_EQUAL(got, want);
    inventory_free_strv(ids, n);
}

static void
test_topology(void)
{
    struct hb_hgx_opts o = {.iommufd = true};
    struct topo_host *h = hb_hgx_new(&o);
    struct inventory *inv = open_inv(h, INV_MODE_PASSTHROUGH);
    const char *no04[] = {"0000:03:00.0", "0000:07:00.0", "0000:08:00.0", "0000:83:00.0"};
    const char *must[] = {"0000:87:00.0"};

    /* two under one PCIe switch; four of one NUMA node */
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 2, "0000:03:00.0,0000:04:00.0", 0, NULL);
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 4,
           "0000:03:00.0,0000:04:00.0,0000:07:00.0,0000:08:00.0", 0, NULL);
    expect(inv, hb_hgx_gpus, 8, must, 1, 2, "0000:87:00.0,0000:88:00.0", 0, NULL);
    expect(inv, hb_hgx_gpus, 8, must, 1, 4,
           "0000:83:00.0,0000:84:00.0,0000:87:00.0,0000:88:00.0", 0, NULL);
    expect(inv, no04, 4, NULL, 0, 2, "0000:07:00.0,0000:08:00.0", 0, NULL);
    expect(inv, no04, 4, NULL, 0, 3, "0000:03:00.0,0000:07:00.0,0000:08:00.0", 0, NULL);
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 9, NULL, -EINVAL, "cannot allocate 9");
    expect(inv, no04, 4, NULL, 0, 5, NULL, -EPERM, "no set of 5 available devices");
    inventory_unref(inv);
    topo_host_free(h);
}

static void
test_units(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .acs_off = true};
    struct topo_host *h = hb_hgx_new(&o);
    struct inventory *inv = open_inv(h, INV_MODE_PASSTHROUGH);
    const char *must[] = {"0000:84:00.0"};
    const char *avail[] = {"0000:03:00.0", "0000:04:00.0", "0000:07:00.0"};

    expect(inv, hb_hgx_gpus, 8, must, 1, 2, "0000:83:00.0,0000:84:00.0", 0, NULL);
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 1, NULL, -EPERM, "no set of 1");
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 3, NULL, -EPERM, "keeps every IOMMU group whole");
    expect(inv, hb_hgx_gpus, 8, must, 1, 1, NULL, -EINVAL, "more than the 1 requested");
    /* 0000:08:00.0 is not available, so 0000:07:00.0 cannot be proposed */
    expect(inv, avail, 3, NULL, 0, 2, "0000:03:00.0,0000:04:00.0", 0, NULL);
    expect(inv, avail, 3, avail + 2, 1, 2, NULL, -EPERM,
           "0000:07:00.0 shares IOMMU group 12 with 0000:08:00.0, which is not available");
    inventory_unref(inv);
    topo_host_free(h);
}

static void
test_modes(void)
{
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4};
    struct topo_host *h = hb_hgx_new(&o);
    struct inventory *inv = open_inv(h, INV_MODE_PPCIE);
    const char *unknown[] = {"0000:99:00.0"};

    expect(inv, hb_hgx_gpus, 8, NULL, 0, 2, NULL, -EPERM, "ppcie mode: request all 8 GPUs");
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 8,
           "0000:03:00.0,0000:04:00.0,0000:07:00.0,0000:08:00.0,0000:83:00.0,0000:84:00.0,"
           "0000:87:00.0,0000:88:00.0",
           0, NULL);
    inventory_unref(inv);
    inv = open_inv(h, INV_MODE_MULTI);
    expect(inv, hb_hgx_gpus, 8, NULL, 0, 3, NULL, -EPERM, "multi mode: request 1 GPU or all 8");
    expect(inv, hb_hgx_gpus + 4, 4, NULL, 0, 1, "0000:83:00.0", 0, NULL);
    expect(inv, hb_hgx_gpus, 8, unknown, 1, 1, NULL, -EINVAL, "unknown device 0000:99:00.0");
    inventory_unref(inv);
    topo_host_free(h);
}

/* 20 GPUs, five switches of four: beyond the exhaustive limit. */
static void
test_greedy(void)
{
    struct hb_fn t[64];
    char bdf[45][16];
    size_t n = 0;
    struct topo_host *h;
    struct inventory *inv;
    const char *ids[20], *must[1];

    for (int s = 0; s < 5; s++) {
        snprintf(bdf[n], 16, "0000:%02x:00.0", 0x10 * (s + 1));
        t[n] = (struct hb_fn)HB_BRIDGE(bdf[n], NULL, "pci0000:00");
        n++;
        for (int g = 0; g < 4; g++) {
            int i = s * 4 + g;

            snprintf(bdf[n], 16, "0000:%02x:%02x.0", 0x10 * (s + 1) + 1, g);
            t[n] = (struct hb_fn)HB_BRIDGE(bdf[n], bdf[0 + s * 9], "pci0000:00");
            n++;
            snprintf(bdf[n], 16, "0000:%02x:00.0", 0x10 * (s + 1) + 2 + g);
            t[n] = (struct hb_fn)HB_DEV(bdf[n], TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB",
                                        "vfio-pci", 100 + i, i, 0, bdf[n - 1], "pci0000:00");
            ids[i] = bdf[n];
            n++;
        }
    }
    h = hb_host_new(t, n, true);
    inv = open_inv(h, INV_MODE_PASSTHROUGH);
    CU_ASSERT_EQUAL_FATAL(inv->resources[0].n_devices, 20);
    expect(inv, ids, 20, NULL, 0, 4, "0000:12:00.0,0000:13:00.0,0000:14:00.0,0000:15:00.0", 0,
           NULL);
    must[0] = ids[13];
    expect(inv, ids, 20, must, 1, 4, "0000:42:00.0,0000:43:00.0,0000:44:00.0,0000:45:00.0", 0,
           NULL);
    expect(inv, ids + 1, 19, NULL, 0, 4, "0000:22:00.0,0000:23:00.0,0000:24:00.0,0000:25:00.0",
           0, NULL);
    inventory_unref(inv);
    topo_host_free(h);
}

TEST_SUITE(alloc_prefer, NULL, NULL, {"topology", test_topology}, {"units", test_units},
           {"modes", test_modes}, {"greedy beyond 16 units", test_greedy})

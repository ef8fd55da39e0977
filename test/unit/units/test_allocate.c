#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test/support/host_builder.h"
#include "test/support/suite.h"
#include "topology/units/inventory.h"

/* The Allocate op on hand-built hosts, with a temp sysfs root for the
 * driver re-check. */

struct env {
    struct inventory *inv;
    char *sysfs;    /* temp root: sysfs links, and the device nodes under dev/ */
    char dev[600];
    int pgpu, nvswitch;
};

static void
env_open(struct env *e, const struct hb_hgx_opts *o, enum inv_mode mode)
{
    struct inv_policy p = {.mode = mode, .domain = "nvidia.com", .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch"};

    CU_ASSERT_EQUAL_FATAL(hb_build(o, &p, &e->inv, &e->sysfs), 0);
    snprintf(e->dev, sizeof(e->dev), "%s/dev", e->sysfs);
    e->pgpu = inventory_find_resource(e->inv, "nvidia.com/pgpu");
    e->nvswitch = inventory_find_resource(e->inv, "nvidia.com/nvswitch");
    CU_ASSERT_FATAL(e->pgpu >= 0);
}

static void
env_close(struct env *e)
{
    inventory_unref(e->inv);
    hb_sysfs_free(e->sysfs);
}

/* Allocate ids; expect code and (when not 0) msg inside the error. */
static void
expect(struct env *e, int res, const char *const *ids, size_t n, int code, const char *msg)
{
    struct inv_allocation a = {0};
    struct topo_error err = TOPO_ERROR_INIT;
    int r = inventory_allocate(e->inv, (size_t)res, ids, n, &a, &err);

    CU_ASSERT_EQUAL(r, code);
    if (msg)
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
    if (r == 0)
        inventory_allocation_clear(&a);
}

static void
test_passthrough_ok(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = true, .audio = true};
    const char *ids[] = {"0000:04:00.0", "0000:03:00.0"};
    struct inv_allocation a = {0};
    struct topo_error err = TOPO_ERROR_INIT;

    env_open(&e, &o, INV_MODE_PASSTHROUGH);
    CU_ASSERT_EQUAL_FATAL(inventory_allocate(e.inv, (size_t)e.pgpu, ids, 2, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(a.n_nodes, 4);
    CU_ASSERT_STRING_EQUAL(a.nodes[0].path, "/dev/vfio/devices/vfio0");
    CU_ASSERT_STRING_EQUAL(a.nodes[1].path, "/dev/vfio/devices/vfio1");
    CU_ASSERT_STRING_EQUAL(a.nodes[2].path, "/dev/vfio/devices/vfio40");
    CU_ASSERT_EQUAL(strncmp(a.nodes[3].host_path, e.dev, strlen(e.dev)), 0);
    CU_ASSERT_STRING_EQUAL(a.nodes[3].host_path + strlen(e.dev), "/vfio/devices/vfio41");
    CU_ASSERT_EQUAL_FATAL(a.n_ids, 2);
    CU_ASSERT_STRING_EQUAL(a.ids[0], "0000:03:00.0");
    CU_ASSERT_STRING_EQUAL(a.ids[1], "0000:04:00.0");
    inventory_allocation_clear(&a);
    env_close(&e);
}

static void
test_bad_ids(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = true, .gpu_driver = {[5] = "nvidia"}};
    const char *unknown[] = {"0000:99:00.0"};
    const char *dup[] = {"0000:03:00.0", "0000:03:00.0"};
    const char *sick[] = {"0000:84:00.0"};

    env_open(&e, &o, INV_MODE_PASSTHROUGH);
    expect(&e, e.pgpu, unknown, 1, -EINVAL, "unknown device 0000:99:00.0 for nvidia.com/pgpu");
    expect(&e, e.pgpu, dup, 2, -EINVAL, "0000:03:00.0 requested twice");
    /* another stack's GPU is not ours: not listed, so unknown here */
    expect(&e, e.pgpu, sick, 1, -EINVAL, "unknown device 0000:84:00.0 for nvidia.com/pgpu");
    expect(&e, e.pgpu, dup, 0, -EINVAL, "empty request");
    env_close(&e);
}

static void
test_acs_off_units(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = false, .acs_off = true};
    const char *one[] = {"0000:07:00.0"};
    const char *pair[] = {"0000:08:00.0", "0000:07:00.0"};
    struct inv_allocation a = {0};
    struct topo_error err = TOPO_ERROR_INIT;

    env_open(&e, &o, INV_MODE_PASSTHROUGH);
    expect(&e, e.pgpu, one, 1, -EPERM,
           "0000:07:00.0 and 0000:08:00.0 share IOMMU group 12; request them together");
    CU_ASSERT_EQUAL_FATAL(inventory_allocate(e.inv, (size_t)e.pgpu, pair, 2, &a, &err), 0);
    /* legacy: one group node, the container node, de-duplicated */
    CU_ASSERT_EQUAL_FATAL(a.n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(a.nodes[0].path, "/dev/vfio/12");
    CU_ASSERT_STRING_EQUAL(a.nodes[1].path, "/dev/vfio/vfio");
    inventory_allocation_clear(&a);
    env_close(&e);
}

static void
test_ppcie(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4};
    const char *sw[] = {"0000:c0:00.0", "0000:c1:00.0", "0000:c2:00.0", "0000:c3:00.0"};

    env_open(&e, &o, INV_MODE_PPCIE);
    expect(&e, e.pgpu, hb_hgx_gpus, 2, -EPERM, "ppcie mode: request all 8 GPUs of this node; got 2");
    expect(&e, e.pgpu, (const char *const *)hb_hgx_gpus, 8, 0, NULL);
    CU_ASSERT_FATAL(e.nvswitch >= 0);
    expect(&e, e.nvswitch, sw, 1, -EPERM, "ppcie mode: request all 4 NVSwitches of this node; got 1");
    expect(&e, e.nvswitch, sw, 4, 0, NULL);
    env_close(&e);
}

static void
test_multi(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = true, .n_switches = 4};
    const char *sw[] = {"0000:c0:00.0", "0000:c1:00.0", "0000:c2:00.0", "0000:c3:00.0"};

    env_open(&e, &o, INV_MODE_MULTI);
    expect(&e, e.pgpu, hb_hgx_gpus + 2, 1, 0, NULL);
    expect(&e, e.pgpu, hb_hgx_gpus, 8, 0, NULL);
    expect(&e, e.pgpu, hb_hgx_gpus, 3, -EPERM, "multi mode: request 1 GPU or all 8; got 3");
    expect(&e, e.pgpu, hb_hgx_gpus, 2, -EPERM, "multi mode: request 1 GPU or all 8; got 2");
    /* the switches share one group: all of them, whatever the mode */
    expect(&e, e.nvswitch, sw, 4, 0, NULL);
    expect(&e, e.nvswitch, sw, 2, -EPERM, "share IOMMU group 30");
    env_close(&e);
}

static void
test_rebound(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = true, .audio = true};
    const char *ids[] = {"0000:83:00.0"};

    env_open(&e, &o, INV_MODE_PASSTHROUGH);
    expect(&e, e.pgpu, ids, 1, 0, NULL);
    CU_ASSERT_EQUAL(hb_sysfs_bind(e.sysfs, "0000:83:00.0", "nvidia"), 0);
    expect(&e, e.pgpu, ids, 1, -ENODEV,
           "0000:83:00.0 is no longer bound to a VFIO driver (now: nvidia)");
    CU_ASSERT_EQUAL(hb_sysfs_bind(e.sysfs, "0000:83:00.0", "vfio-pci"), 0);
    CU_ASSERT_EQUAL(hb_sysfs_bind(e.sysfs, "0000:83:00.1", NULL), 0);
    expect(&e, e.pgpu, ids, 1, -ENODEV,
           "0000:83:00.1 is no longer bound to a VFIO driver (now: none)");
    CU_ASSERT_EQUAL(hb_sysfs_bind(e.sysfs, "0000:83:00.1", "vfio-pci"), 0);
    expect(&e, e.pgpu, ids, 1, 0, NULL);
    env_close(&e);
}

/* A node removed since the scan (device reset, unbind in progress) is not
 * handed out. */
static void
test_missing_node(void)
{
    struct env e;
    struct hb_hgx_opts o = {.iommufd = true};
    const char *ids[] = {"0000:83:00.0"};
    char path[700];

    env_open(&e, &o, INV_MODE_PASSTHROUGH);
    expect(&e, e.pgpu, ids, 1, 0, NULL);
    snprintf(path, sizeof(path), "%s/vfio/devices/vfio4", e.dev);
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
    expect(&e, e.pgpu, ids, 1, -ENODEV, "0000:83:00.0: device node ");
    expect(&e, e.pgpu, ids, 1, -ENODEV, "/vfio/devices/vfio4 is missing");
    env_close(&e);
}

TEST_SUITE(alloc_allocate, NULL, NULL, {"missing device node", test_missing_node}, {"passthrough", test_passthrough_ok},
           {"bad ids", test_bad_ids}, {"ACS off units", test_acs_off_units},
           {"ppcie", test_ppcie}, {"multi", test_multi}, {"rebound driver", test_rebound})

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/fake_inventory.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

static const char *const example =
    "# two resources\n"
    "resource nvidia.com/pgpu\n"
    "device 0000:2a:00.0 Healthy 1 /dev/vfio/devices/vfio1\n"
    "device 0000:18:00.0 Healthy 0 /dev/vfio/devices/vfio0,/dev/vfio/devices/vfio9\n"
    "device 0000:3a:00.0 Unhealthy -1 /dev/vfio/devices/vfio2   # comment\n"
    "\n"
    "resource nvidia.com/nvswitch\n"
    "device 0000:05:00.0 Healthy -1 /dev/vfio/devices/vfio8\n";

static struct inventory *
parse_ok(const char *text)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_EQUAL_FATAL(fake_inventory_parse(text, "/host/dev", &inv, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
    return inv;
}

static void
test_parse_sorted(void)
{
    struct inventory *inv = parse_ok(example);
    const struct inv_resource *pgpu;

    CU_ASSERT_EQUAL_FATAL(inv->n_resources, 2);
    CU_ASSERT_STRING_EQUAL(inv->resources[0].name, "nvidia.com/nvswitch");
    pgpu = &inv->resources[1];
    CU_ASSERT_STRING_EQUAL(pgpu->name, "nvidia.com/pgpu");
    CU_ASSERT_EQUAL_FATAL(pgpu->n_devices, 3);
    CU_ASSERT_STRING_EQUAL(pgpu->devices[0].id, "0000:18:00.0");
    CU_ASSERT_STRING_EQUAL(pgpu->devices[1].id, "0000:2a:00.0");
    CU_ASSERT_STRING_EQUAL(pgpu->devices[2].id, "0000:3a:00.0");
    CU_ASSERT_EQUAL(pgpu->devices[0].numa_node, 0);
    CU_ASSERT_EQUAL(pgpu->devices[2].numa_node, -1);
    CU_ASSERT_TRUE(pgpu->devices[0].healthy);
    CU_ASSERT_FALSE(pgpu->devices[2].healthy);
    CU_ASSERT_PTR_NOT_NULL(pgpu->devices[2].reason);
    CU_ASSERT_EQUAL_FATAL(pgpu->devices[0].n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(pgpu->devices[0].nodes[1].path, "/dev/vfio/devices/vfio9");
    CU_ASSERT_STRING_EQUAL(pgpu->devices[0].nodes[1].host_path, "/host/dev/vfio/devices/vfio9");
    inventory_unref(inv);
}

static const struct {
    const char *text;
    const char *msg; /* substring of the error */
} bad_cases[] = {
    {"device 0000:18:00.0 Healthy 0 /dev/vfio/0\n", "line 1: device before any resource"},
    {"resource a/b\ndevice x Sick 0 /dev/x\n", "line 2: health 'Sick'"},
    {"resource a/b\ndevice x Healthy zero /dev/x\n", "bad NUMA node 'zero'"},
    {"resource a/b\ndevice x Healthy -2 /dev/x\n", "bad NUMA node '-2'"},
    {"resource a/b\ndevice x Healthy 0 /vfio/x\n", "does not start with /dev/"},
    {"resource a/b\ndevice x Healthy 0 /dev/a\ndevice x Healthy 0 /dev/b\n",
     "line 3: duplicate device x"},
    {"resource a/b\nresource a/b\n", "duplicate resource a/b"},
    {"resource a/b s.sock\n", "expected: resource"},
    {"resource\n", "expected: resource"},
    {"resource a/b\ndevice x Healthy 0\n", "expected: device"},
    {"\n\nfrob a b\n", "line 3: unknown directive 'frob'"},
};

static void
test_parse_errors(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        struct topo_error err = TOPO_ERROR_INIT;
        struct inventory *inv = NULL;

        CU_ASSERT_EQUAL(fake_inventory_parse(bad_cases[i].text, "/dev", &inv, &err), -EINVAL);
        CU_ASSERT_PTR_NULL(inv);
        if (!strstr(err.msg, bad_cases[i].msg)) {
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err.msg, bad_cases[i].msg);
            CU_FAIL("error message");
        }
    }
}

static void
test_allocate(void)
{
    struct inventory *inv = parse_ok(example);
    struct topo_error err = TOPO_ERROR_INIT;
    struct inv_allocation a = {0};
    const char *ids[] = {"0000:2a:00.0", "0000:18:00.0"};

    CU_ASSERT_EQUAL_FATAL(inventory_allocate(inv, 1, ids, 2, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(a.n_nodes, 3);
    CU_ASSERT_STRING_EQUAL(a.nodes[0].path, "/dev/vfio/devices/vfio0");
    CU_ASSERT_STRING_EQUAL(a.nodes[1].path, "/dev/vfio/devices/vfio1");
    CU_ASSERT_STRING_EQUAL(a.nodes[2].path, "/dev/vfio/devices/vfio9");
    CU_ASSERT_STRING_EQUAL(a.nodes[1].host_path, "/host/dev/vfio/devices/vfio1");
    CU_ASSERT_EQUAL_FATAL(a.n_ids, 2);
    CU_ASSERT_STRING_EQUAL(a.ids[0], "0000:2a:00.0");
    CU_ASSERT_STRING_EQUAL(a.ids[1], "0000:18:00.0");
    inventory_allocation_clear(&a);
    inventory_unref(inv);
}

static void
test_allocate_dedup(void)
{
    struct inventory *inv = parse_ok("resource x.io/g-p\n"
                                     "device a Healthy 0 /dev/vfio/vfio,/dev/vfio/7\n"
                                     "device b Healthy 0 /dev/vfio/vfio,/dev/vfio/7\n");
    struct topo_error err = TOPO_ERROR_INIT;
    struct inv_allocation a = {0};
    const char *ids[] = {"b", "a"};

    CU_ASSERT_EQUAL_FATAL(inventory_allocate(inv, 0, ids, 2, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(a.n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(a.nodes[0].path, "/dev/vfio/7");
    CU_ASSERT_STRING_EQUAL(a.nodes[1].path, "/dev/vfio/vfio");
    CU_ASSERT_EQUAL(a.n_ids, 2);
    inventory_allocation_clear(&a);
    inventory_unref(inv);
}

static void
test_allocate_refused(void)
{
    struct inventory *inv = parse_ok(example);
    const char *unknown[] = {"0000:99:00.0"}, *dup[] = {"0000:18:00.0", "0000:18:00.0"},
               *sick[] = {"0000:18:00.0", "0000:3a:00.0"};
    struct topo_error err = TOPO_ERROR_INIT;
    struct inv_allocation a = {0};

    CU_ASSERT_EQUAL(inventory_allocate(inv, 1, unknown, 1, &a, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "unknown device 0000:99:00.0 for nvidia.com/pgpu");
    CU_ASSERT_EQUAL(inventory_allocate(inv, 1, dup, 2, &a, &err), -EINVAL);
    CU_ASSERT_EQUAL(inventory_allocate(inv, 1, sick, 2, &a, &err), -ENODEV);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "0000:3a:00.0 is unhealthy: "));
    CU_ASSERT_EQUAL(a.n_nodes, 0);
    inventory_unref(inv);
}

static void
test_preferred(void)
{
    struct inventory *inv = parse_ok(example);
    const char *avail[] = {"0000:3a:00.0", "0000:2a:00.0", "0000:18:00.0"};
    const char *must[] = {"0000:2a:00.0"}, *bad[] = {"nope"};
    struct topo_error err = TOPO_ERROR_INIT;
    char **ids = NULL;
    size_t n = 0;

    CU_ASSERT_EQUAL_FATAL(inventory_preferred(inv, 1, avail, 3, must, 1, 2, &ids, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(ids[0], "0000:2a:00.0");
    CU_ASSERT_STRING_EQUAL(ids[1], "0000:18:00.0");
    inventory_free_strv(ids, n);
    CU_ASSERT_EQUAL_FATAL(inventory_preferred(inv, 1, avail, 3, NULL, 0, 5, &ids, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(ids[2], "0000:3a:00.0");
    inventory_free_strv(ids, n);
    CU_ASSERT_EQUAL(inventory_preferred(inv, 1, bad, 1, NULL, 0, 1, &ids, &n, &err), -EINVAL);
    inventory_unref(inv);
}

static void
test_loader_env(void)
{
    struct plugin_options o = {.dev_root = "/dev"};
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    unsetenv("KGDP_FAKE_INVENTORY");
    CU_ASSERT_EQUAL(fake_inventory_loader(&o, NULL, NULL, NULL, 0, &inv, &err), -ENOENT);
    setenv("KGDP_FAKE_INVENTORY", "/nonexistent/inv.txt", 1);
    CU_ASSERT_EQUAL(fake_inventory_loader(&o, NULL, NULL, NULL, 0, &inv, &err), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/inv.txt"));
    CU_ASSERT_PTR_NULL(inv);
    unsetenv("KGDP_FAKE_INVENTORY");
}

TEST_SUITE(plugin_fake_inventory, NULL, NULL, {"parse and sort", test_parse_sorted},
           {"parse errors name the line", test_parse_errors}, {"allocate", test_allocate},
           {"allocate de-duplicates nodes", test_allocate_dedup},
           {"allocate refusals", test_allocate_refused}, {"preferred", test_preferred},
           {"loader env", test_loader_env})

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/support/host_builder.h"
#include "test/support/suite.h"
#include "topology/host/host-priv.h"
#include "topology/units/inventory.h"
#include "topology/base/macros.h"

/* A 4-node machine (e.g. NPS4): 0-1 and 2-3 are near (12), the pairs far (32). */
static const char *const slit_rows[4] = {"10 12 32 32", "12 10 32 32", "32 32 10 12",
                                         "32 32 12 10"};

static char *
make_tree(const char *const *rows, size_t n)
{
    char *root = strdup("/tmp/kgdp-numa-XXXXXX");

    if (!root || !mkdtemp(root))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "mkdir -p %s/devices/system/node/node%zu", root, i);
        if (system(path) != 0)
            return NULL;
        snprintf(path, sizeof(path), "%s/devices/system/node/node%zu/distance", root, i);
        if (!(f = fopen(path, "w")))
            return NULL;
        fprintf(f, "%s\n", rows[i]);
        fclose(f);
    }
    return root;
}

static void
drop_tree(char *root)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(root);
}

static void
scan_tree(const char *root, struct topo_host *h)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    CU_ASSERT_TRUE_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(topo_numa_scan(h, fd, root), 0);
    close(fd);
}

static void
test_sysfs_table(void)
{
    char *root = make_tree(slit_rows, 4);
    struct topo_host h = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    scan_tree(root, &h);
    CU_ASSERT_EQUAL(h.n_numa_nodes, 4);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, 0, 0), 10);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, 0, 1), 12);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, 1, 3), 32);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, 3, 2), 12);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, -1, 0), -ENOENT);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, 0, 4), -ENOENT);
    CU_ASSERT_EQUAL(h.n_warnings, 0);
    free(h.numa_distance);
    drop_tree(root);
}

static void
test_bad_rows(void)
{
    static const char *const bad[][2] = {
        {"10 12", "12 10 7"}, /* too many */
        {"10 12", "12"},      /* too few */
        {"10 x", "12 10"},    /* not a number */
        {"10 300", "12 10"},  /* out of range */
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *root = make_tree(bad[i], 2);
        struct topo_host h = {0};

        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        scan_tree(root, &h);
        CU_ASSERT_PTR_NULL(h.numa_distance);
        CU_ASSERT_EQUAL(h.n_numa_nodes, 0);
        CU_ASSERT_EQUAL_FATAL(h.n_warnings, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(h.warnings[0], "devices/system/node/node"));
        free(h.warnings[0]);
        free(h.warnings);
        drop_tree(root);
    }
}

static void
test_no_numa(void)
{
    char *root = make_tree(NULL, 0);
    struct topo_host h = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    scan_tree(root, &h);
    CU_ASSERT_PTR_NULL(h.numa_distance);
    CU_ASSERT_EQUAL(h.n_warnings, 0);
    CU_ASSERT_EQUAL(topo_numa_distance(&h, 0, 0), -ENOENT);
    drop_tree(root);
}

/* One GPU per NUMA node, each under its own host bridge: every pair is SYS,
 * so only the SLIT table can tell the near node from the far ones. */
static void
test_prefer_near_node(void)
{
    static const struct hb_fn fns[] = {
        HB_BRIDGE("0000:00:01.0", NULL, "pci0000:00"),
        HB_DEV("0000:01:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 1, 0, 0,
               "0000:00:01.0", "pci0000:00"),
        HB_BRIDGE("0000:40:01.0", NULL, "pci0000:40"),
        HB_DEV("0000:41:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 2, 1, 1,
               "0000:40:01.0", "pci0000:40"),
        HB_BRIDGE("0000:80:01.0", NULL, "pci0000:80"),
        HB_DEV("0000:81:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 3, 2, 2,
               "0000:80:01.0", "pci0000:80"),
        HB_BRIDGE("0000:c0:01.0", NULL, "pci0000:c0"),
        HB_DEV("0000:c1:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 4, 3, 3,
               "0000:c0:01.0", "pci0000:c0"),
    };
    static const uint8_t slit[16] = {10, 32, 32, 12, 32, 10, 12, 32, 32, 12, 10, 32, 12, 32, 32, 10};
    struct topo_host *h = hb_host_new(fns, ARRAY_SIZE(fns), true);
    struct inv_policy pol = {.domain = "nvidia.com", .gpu_alias = "pgpu", .nvswitch_alias = "nvswitch",
                             .sysfs_root = "/nonexistent", .dev_root = "/dev"};
    const char *avail[] = {"0000:01:00.0", "0000:41:00.0", "0000:81:00.0", "0000:c1:00.0"};
    const char *must[] = {"0000:01:00.0"};
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;
    char **ids = NULL;
    size_t n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* node 0 is near node 3, node 1 near node 2 */
    h->n_numa_nodes = 4;
    h->numa_distance = malloc(sizeof(slit));
    CU_ASSERT_PTR_NOT_NULL_FATAL(h->numa_distance);
    memcpy(h->numa_distance, slit, sizeof(slit));
    CU_ASSERT_EQUAL_FATAL(inventory_build(h, &pol, &inv, &err), 0);
    CU_ASSERT_EQUAL_FATAL(inventory_preferred(inv, 0, avail, 4, must, 1, 2, &ids, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(ids[0], "0000:01:00.0");
    CU_ASSERT_STRING_EQUAL(ids[1], "0000:c1:00.0");
    inventory_free_strv(ids, n);
    CU_ASSERT_EQUAL_FATAL(inventory_preferred(inv, 0, avail + 1, 3, NULL, 0, 2, &ids, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(ids[0], "0000:41:00.0");
    CU_ASSERT_STRING_EQUAL(ids[1], "0000:81:00.0");
    inventory_free_strv(ids, n);
    inventory_unref(inv);
    topo_host_free(h);
}

/* A scanned fixture carries its SLIT table (two sockets: 10 / 21). */
static void
test_fixture_scan(void)
{
    const char *base = getenv("KGDP_FIXTURES");
    char sys[512], dev[512];
    struct topo_scan_options o = {.sysfs_root = sys, .dev_root = dev};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    snprintf(sys, sizeof(sys), "%s/hgx-h100-iommufd/sys", base);
    snprintf(dev, sizeof(dev), "%s/hgx-h100-iommufd/dev", base);
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &h, &err), 0);
    CU_ASSERT_EQUAL(h->n_numa_nodes, 2);
    CU_ASSERT_EQUAL(topo_numa_distance(h, 0, 0), 10);
    CU_ASSERT_EQUAL(topo_numa_distance(h, 0, 1), 21);
    CU_ASSERT_EQUAL(topo_numa_distance(h, 1, 0), 21);
    topo_host_free(h);
}

TEST_SUITE(topo_numa, NULL, NULL, {"fixture scan", test_fixture_scan}, {"distances from sysfs", test_sysfs_table},
           {"malformed rows", test_bad_rows}, {"no NUMA information", test_no_numa},
           {"preferred picks the nearer node", test_prefer_near_node})

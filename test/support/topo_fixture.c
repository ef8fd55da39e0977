#include <stdio.h>
#include <stdlib.h>

#include <CUnit/CUnit.h>

#include "test/support/topo_fixture.h"
#include "topology/base/cleanup.h"

struct topo_host *
topo_fixture_scan(const char *name, enum topo_iommu_mode mode)
{
    const char *base = getenv("KGDP_FIXTURES");
    _cleanup_free_ char *sys = NULL, *dev = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *host = NULL;
    struct topo_scan_options o = {.iommu = mode};

    if (!base) {
        fprintf(stderr, "KGDP_FIXTURES is not set (run through `make unit`)\n");
        return NULL;
    }
    if (asprintf(&sys, "%s/%s/sys", base, name) < 0 || asprintf(&dev, "%s/%s/dev", base, name) < 0)
        return NULL;
    o.sysfs_root = sys;
    o.dev_root = dev;
    if (topo_scan(&o, &host, &err) < 0) {
        fprintf(stderr, "scan of %s failed: %s\n", name, err.msg);
        return NULL;
    }
    return host;
}

int
topo_fixture_index(const struct topo_host *host, const char *bdf)
{
    int i = topo_host_find(host, bdf);

    if (i < 0)
        fprintf(stderr, "function %s not found\n", bdf);
    CU_ASSERT_FATAL(i >= 0);
    return i;
}

struct inventory *
topo_fixture_inventory(const char *name, enum inv_mode mode)
{
    struct inv_policy p = {.mode = mode, .domain = "nvidia.com", .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch", .sysfs_root = "/nonexistent",
                           .dev_root = "/dev", .now = 1, .aer_quiet = 300};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = topo_fixture_scan(name, TOPO_IOMMU_AUTO);
    struct inventory *inv = NULL;

    if (!h || inventory_build(h, &p, &inv, &err) < 0) {
        fprintf(stderr, "fixture %s: %s\n", name, h ? err.msg : "scan failed");
        CU_FAIL("fixture inventory");
        inv = NULL;
    }
    topo_host_free(h);
    return inv;
}

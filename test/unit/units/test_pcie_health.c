#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/suite.h"
#include "test/support/topo_fixture.h"
#include "topology/units/inventory.h"

/* Health from the PCIe layer (topology/units/pcie_health.c) over the
 * fixture pcie-faults: all-ones config space is Unhealthy; a fatal AER
 * count that grew since the previous snapshot is Unhealthy until the quiet
 * period passes without a new one; the first snapshot is only a baseline;
 * a degraded link, no reset method and D3cold stay Healthy. Node facts
 * (topology/units/node.c) from several fixtures. */

#define QUIET 300
#define AER_GPU "0000:1a:00.0" /* TOTAL_ERR_FATAL 3 in the fixture */

static struct inventory *
build(const struct topo_host *h, const struct inventory *prev, int64_t now, unsigned quiet)
{
    struct inv_policy p = {.mode = INV_MODE_PASSTHROUGH, .domain = "nvidia.com",
                           .gpu_alias = "pgpu", .nvswitch_alias = "nvswitch",
                           .sysfs_root = "/nonexistent", .dev_root = "/dev",
                           .previous = prev, .now = now, .aer_quiet = quiet};
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_EQUAL_FATAL(inventory_build(h, &p, &inv, &err), 0);
    return inv;
}

static const struct inv_device *
dev(const struct inventory *inv, const char *id)
{
    int r = inventory_find_resource(inv, "nvidia.com/pgpu"), d;

    CU_ASSERT_FATAL(r >= 0);
    d = inventory_find_device(&inv->resources[r], id);
    CU_ASSERT_FATAL(d >= 0);
    return &inv->resources[r].devices[d];
}

static void
set_fatal(struct topo_host *h, const char *bdf, int64_t n)
{
    int i = topo_fixture_index(h, bdf);

    CU_ASSERT_FATAL(i >= 0);
    h->functions[i].pcie.aer_fatal = n;
}

static void
test_first_scan(void)
{
    struct topo_host *h = topo_fixture_scan("pcie-faults", TOPO_IOMMU_AUTO);
    struct inventory *inv;
    const struct inv_device *d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    inv = build(h, NULL, 1000, QUIET);
    /* errors counted before the first look are history */
    CU_ASSERT_TRUE(dev(inv, AER_GPU)->healthy);
    CU_ASSERT_EQUAL(dev(inv, AER_GPU)->pcie.aer_fatal, 3);
    d = dev(inv, "0000:1b:00.0");
    CU_ASSERT_FALSE(d->healthy);
    CU_ASSERT_PTR_NOT_NULL(d->reason && strstr(d->reason, "all-ones"));
    CU_ASSERT_TRUE(dev(inv, "0000:19:00.0")->healthy);
    CU_ASSERT_TRUE(topo_pcie_link_degraded(&dev(inv, "0000:19:00.0")->pcie));
    CU_ASSERT_TRUE(dev(inv, "0000:1c:00.0")->healthy);
    CU_ASSERT_TRUE(dev(inv, "0000:1d:00.0")->healthy);
    CU_ASSERT_TRUE(dev(inv, "0000:18:00.0")->healthy);
    CU_ASSERT_EQUAL(inv->recheck_at, 0);
    inventory_unref(inv);
    topo_host_free(h);
}

static void
test_aer_growth_and_quiet(void)
{
    struct topo_host *h = topo_fixture_scan("pcie-faults", TOPO_IOMMU_AUTO);
    struct inventory *a, *b, *c, *d, *e;
    const struct inv_device *x;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    a = build(h, NULL, 1000, QUIET);
    set_fatal(h, AER_GPU, 4);
    b = build(h, a, 1010, QUIET);
    x = dev(b, AER_GPU);
    CU_ASSERT_FALSE(x->healthy);
    CU_ASSERT_PTR_NOT_NULL(x->reason && strstr(x->reason, "from 3 to 4"));
    CU_ASSERT_EQUAL(b->recheck_at, 1010 + QUIET);
    CU_ASSERT_TRUE(dev(b, "0000:18:00.0")->healthy);
    /* no new error, quiet period not over: still Unhealthy, same reason */
    c = build(h, b, 1010 + QUIET - 1, QUIET);
    CU_ASSERT_FALSE(dev(c, AER_GPU)->healthy);
    CU_ASSERT_STRING_EQUAL(dev(c, AER_GPU)->reason, x->reason);
    CU_ASSERT_TRUE(inventory_equal(b, c));
    /* a new error restarts the quiet period */
    set_fatal(h, AER_GPU, 6);
    d = build(h, c, 1200, QUIET);
    CU_ASSERT_FALSE(dev(d, AER_GPU)->healthy);
    CU_ASSERT_PTR_NOT_NULL(strstr(dev(d, AER_GPU)->reason, "from 4 to 6"));
    CU_ASSERT_EQUAL(d->recheck_at, 1200 + QUIET);
    /* quiet long enough: Healthy again, nothing left to re-check */
    e = build(h, d, 1200 + QUIET, QUIET);
    CU_ASSERT_TRUE(dev(e, AER_GPU)->healthy);
    CU_ASSERT_PTR_NULL(dev(e, AER_GPU)->reason);
    CU_ASSERT_EQUAL(e->recheck_at, 0);
    inventory_unref(a);
    inventory_unref(b);
    inventory_unref(c);
    inventory_unref(d);
    inventory_unref(e);
    topo_host_free(h);
}

static void
test_aer_unknown_and_off(void)
{
    struct topo_host *h = topo_fixture_scan("pcie-faults", TOPO_IOMMU_AUTO);
    struct inventory *a, *b;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* quiet period 0 turns the AER rule off */
    a = build(h, NULL, 1000, 0);
    set_fatal(h, AER_GPU, 9);
    b = build(h, a, 1001, 0);
    CU_ASSERT_TRUE(dev(b, AER_GPU)->healthy);
    inventory_unref(b);
    /* a count that was unknown before is no growth */
    i = topo_fixture_index(h, AER_GPU);
    h->functions[i].pcie.aer_fatal_known = false;
    inventory_unref(a);
    a = build(h, NULL, 1000, QUIET);
    h->functions[i].pcie.aer_fatal_known = true;
    b = build(h, a, 1001, QUIET);
    CU_ASSERT_TRUE(dev(b, AER_GPU)->healthy);
    inventory_unref(a);
    inventory_unref(b);
    topo_host_free(h);
}

static void
test_node_facts(void)
{
    static const struct {
        const char *fixture;
        size_t gpus, switches, models;
        bool iommufd, ppcie, multi;
    } cases[] = {
        {"hgx-h100-iommufd", 8, 4, 2, true, true, false},
        {"hgx-h200-legacy", 8, 4, 2, false, true, false},
        {"hgx-b200", 8, 0, 1, true, false, true},
        {"pcie-faults", 6, 2, 2, true, true, false},
        /* 2331 (Hopper), 26b9 x3, 1eb8, 2fff: not all assignable, not one family */
        {"mixed", 6, 0, 4, true, false, false},
    };

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct topo_host *h = topo_fixture_scan(cases[k].fixture, TOPO_IOMMU_AUTO);
        struct inventory *inv;
        const struct inv_node *n;

        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        inv = build(h, NULL, 1000, QUIET);
        n = &inv->node;
        CU_ASSERT_EQUAL(n->n_gpus, cases[k].gpus);
        CU_ASSERT_EQUAL(n->n_nvswitches, cases[k].switches);
        CU_ASSERT_EQUAL(n->n_models, cases[k].models);
        CU_ASSERT_EQUAL(n->iommufd, cases[k].iommufd);
        CU_ASSERT_EQUAL(n->ppcie_capable, cases[k].ppcie);
        CU_ASSERT_EQUAL(n->multi_capable, cases[k].multi);
        CU_ASSERT_EQUAL(n->models[0].kind, TOPO_KIND_GPU);
        if (n->n_models <= 2)
            CU_ASSERT_EQUAL(n->models[0].count, cases[k].gpus);
        inventory_unref(inv);
        topo_host_free(h);
    }
}

TEST_SUITE(units_pcie_health, NULL, NULL,
           {"first snapshot: all-ones Unhealthy, AER history and degraded link Healthy",
            test_first_scan},
           {"fatal AER growth: Unhealthy with the counts until the quiet period passes",
            test_aer_growth_and_quiet},
           {"quiet period 0 or an unknown earlier count: no AER fault", test_aer_unknown_and_off},
           {"node facts: counts, models, iommufd, ppcie and multi-GPU capability",
            test_node_facts})

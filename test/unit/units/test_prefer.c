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

/* 20 GPUs, five switches of four (0000:1[2-5]:00.0, 0000:2[2-5]:00.0, ...)
 * on one host bridge and NUMA node 0; ids[] gets the GPU IDs. */
struct five_switches {
    char bdf[45][16];
    const char *ids[20];
};

static struct topo_host *
five_switches_new(struct five_switches *b)
{
    struct hb_fn t[64];
    size_t n = 0;

    for (int s = 0; s < 5; s++) {
        size_t top = n;

        snprintf(b->bdf[n], 16, "0000:%02x:00.0", 0x10 * (s + 1));
        t[n] = (struct hb_fn)HB_BRIDGE(b->bdf[n], NULL, "pci0000:00");
        n++;
        for (int g = 0; g < 4; g++) {
            int i = s * 4 + g;

            snprintf(b->bdf[n], 16, "0000:%02x:%02x.0", 0x10 * (s + 1) + 1, g);
            t[n] = (struct hb_fn)HB_BRIDGE(b->bdf[n], b->bdf[top], "pci0000:00");
            n++;
            snprintf(b->bdf[n], 16, "0000:%02x:00.0", 0x10 * (s + 1) + 2 + g);
            t[n] = (struct hb_fn)HB_DEV(b->bdf[n], TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB",
                                        "vfio-pci", 100 + i, i, 0, b->bdf[n - 1], "pci0000:00");
            b->ids[i] = b->bdf[n];
            n++;
        }
    }
    return hb_host_new(t, n, true);
}

/* More sets than the exact search takes: the bounded growth. */
static void
test_greedy(void)
{
    struct five_switches b;
    struct topo_host *h = five_switches_new(&b);
    struct inventory *inv = open_inv(h, INV_MODE_PASSTHROUGH);
    const char *must[1];

    CU_ASSERT_EQUAL_FATAL(inv->resources[0].n_devices, 20);
    expect(inv, b.ids, 20, NULL, 0, 8,
           "0000:12:00.0,0000:13:00.0,0000:14:00.0,0000:15:00.0,0000:22:00.0,0000:23:00.0,"
           "0000:24:00.0,0000:25:00.0",
           0, NULL);
    must[0] = b.ids[13];
    expect(inv, b.ids, 20, must, 1, 8,
           "0000:12:00.0,0000:13:00.0,0000:14:00.0,0000:15:00.0,0000:42:00.0,0000:43:00.0,"
           "0000:44:00.0,0000:45:00.0",
           0, NULL);
    /* one switch is short of a GPU: the four whole ones are taken */
    expect(inv, b.ids + 1, 19, NULL, 0, 16,
           "0000:22:00.0,0000:23:00.0,0000:24:00.0,0000:25:00.0,0000:32:00.0,0000:33:00.0,"
           "0000:34:00.0,0000:35:00.0,0000:42:00.0,0000:43:00.0,0000:44:00.0,0000:45:00.0,"
           "0000:52:00.0,0000:53:00.0,0000:54:00.0,0000:55:00.0",
           0, NULL);
    inventory_unref(inv);
    topo_host_free(h);
}

/* 75 groups of three GPUs (one root port each, bus 01..4b) and one of four
 * (bus 4c): a request for 9 can only be three groups of three, and more
 * than 65,536 sets qualify. A growth that took the group of four after a
 * group of three (more pairs in one group) would be stuck two short. */
static void
test_growth_reaches_size(void)
{
    enum { N_TRIPLES = 75, N_FNS = N_TRIPLES * 4 + 5 };
    static char bdf[N_FNS][16];
    static struct hb_fn t[N_FNS];
    static const char *avail[N_TRIPLES * 3 + 4];
    size_t n = 0, counts[N_TRIPLES + 1] = {0}, k;
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h;
    struct inventory *inv;
    char **ids = NULL;

    for (int g = 0; g <= N_TRIPLES; g++) {
        size_t rp = n;

        snprintf(bdf[n], 16, "0000:00:%02x.%x", g / 8, g % 8);
        t[n] = (struct hb_fn)HB_BRIDGE(bdf[n], NULL, "pci0000:00");
        n++;
        for (int d = 0; d < (g < N_TRIPLES ? 3 : 4); d++, n++) {
            snprintf(bdf[n], 16, "0000:%02x:%02x.0", g + 1, d);
            t[n] = (struct hb_fn)HB_DEV(bdf[n], TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 100 + g,
                                        (int)n, 0, bdf[rp], "pci0000:00");
        }
    }
    h = hb_host_new(t, n, true);
    inv = open_inv(h, INV_MODE_PASSTHROUGH);
    CU_ASSERT_EQUAL_FATAL(inv->resources[0].n_devices, N_TRIPLES * 3 + 4);
    for (size_t d = 0; d < inv->resources[0].n_devices; d++)
        avail[d] = inv->resources[0].devices[d].id;
    CU_ASSERT_EQUAL_FATAL(inventory_preferred(inv, 0, avail, inv->resources[0].n_devices, NULL, 0,
                                              9, &ids, &k, &err),
                          0);
    CU_ASSERT_EQUAL_FATAL(k, 9);
    for (size_t i = 0; i < k; i++) {
        char *end = NULL;
        unsigned long bus;

        CU_ASSERT_FATAL(strncmp(ids[i], "0000:", 5) == 0);
        bus = strtoul(ids[i] + 5, &end, 16);
        CU_ASSERT_FATAL(end && *end == ':');
        CU_ASSERT_FATAL(bus >= 1 && bus <= N_TRIPLES + 1);
        counts[bus - 1]++;
    }
    for (size_t g = 0; g <= N_TRIPLES; g++)
        CU_ASSERT(counts[g] == 0 || counts[g] == 3);
    CU_ASSERT_EQUAL(counts[N_TRIPLES], 0);
    inventory_free_strv(ids, k);
    inventory_unref(inv);
    topo_host_free(h);
}

/* The shape seen on a real kernel: two GPUs sharing IOMMU group 5 behind a
 * conventional PCI bridge, NUMA unknown; two GPUs in groups 7 and 8 under
 * one PCIe switch on a host bridge of NUMA node 0. low: the shared pair has
 * the lower IDs (02:00.0, 02:01.0; else 92:00.0, 92:01.0); the switch pair
 * is 13:00.0, 14:00.0. */
static struct topo_host *
real_kernel_shape(bool low)
{
    const char *rp = low ? "0000:00:1c.0" : "0000:90:1c.0", *br = low ? "0000:01:00.0" : "0000:91:00.0";
    const char *a = low ? "0000:02:00.0" : "0000:92:00.0", *b = low ? "0000:02:01.0" : "0000:92:01.0";
    const char *hb = low ? "pci0000:00" : "pci0000:90";
    struct hb_fn t[] = {
        HB_BRIDGE(rp, NULL, hb),
        HB_BRIDGE(br, rp, hb),
        HB_DEV(a, TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB", "vfio-pci", 5, 0, -1, br, hb),
        HB_DEV(b, TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB", "vfio-pci", 5, 1, -1, br, hb),
        HB_BRIDGE("0000:10:00.0", NULL, "pci0000:10"),
        HB_BRIDGE("0000:11:00.0", "0000:10:00.0", "pci0000:10"),
        HB_BRIDGE("0000:12:00.0", "0000:11:00.0", "pci0000:10"),
        HB_BRIDGE("0000:12:01.0", "0000:11:00.0", "pci0000:10"),
        HB_DEV("0000:13:00.0", TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB", "vfio-pci", 7, 2, 0,
               "0000:12:00.0", "pci0000:10"),
        HB_DEV("0000:14:00.0", TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB", "vfio-pci", 8, 3, 0,
               "0000:12:01.0", "pci0000:10"),
    };

    return hb_host_new(t, sizeof(t) / sizeof(t[0]), true);
}

/* A pair of one IOMMU group beats a pair under one switch on a known node:
 * the shared pair can only ever serve a request of two or more. */
static void
test_real_kernel_shape(void)
{
    for (int low = 0; low < 2; low++) {
        struct topo_host *h = real_kernel_shape(low);
        struct inventory *inv = open_inv(h, INV_MODE_PASSTHROUGH);
        const char *shared = low ? "0000:02:00.0,0000:02:01.0" : "0000:92:00.0,0000:92:01.0";
        const char *ids[4], *must13[] = {"0000:13:00.0"}, *no14[3];
        char want[128];
        size_t k = 0;

        for (size_t d = 0; d < 4; d++)
            ids[d] = inv->resources[0].devices[d].id;
        for (size_t d = 0; d < 4; d++)
            if (strcmp(ids[d], "0000:14:00.0") != 0)
                no14[k++] = ids[d];
        expect(inv, ids, 4, NULL, 0, 2, shared, 0, NULL);
        expect(inv, ids, 4, NULL, 0, 1, "0000:13:00.0", 0, NULL);
        snprintf(want, sizeof(want), low ? "%s,0000:13:00.0" : "0000:13:00.0,%s", shared);
        expect(inv, ids, 4, NULL, 0, 3, want, 0, NULL);
        expect(inv, no14, 3, NULL, 0, 2, shared, 0, NULL);
        expect(inv, no14, 3, NULL, 0, 1, "0000:13:00.0", 0, NULL);
        /* must_include decides over the group */
        expect(inv, ids, 4, must13, 1, 2, "0000:13:00.0,0000:14:00.0", 0, NULL);
        expect(inv, ids, 4, ids + (low ? 0 : 2), 1, 1, NULL, -EINVAL,
               "IOMMU groups make 2 devices, more than the 1 requested");
        inventory_unref(inv);
        topo_host_free(h);
    }
}

/* Equally close sets: the one that breaks the fewest close pairs of what
 * is left wins, e.g. a GPU whose switch partner is in use rather than one
 * of a free pair. */
static void
test_keep_pairs(void)
{
    struct hb_hgx_opts o = {.iommufd = true};
    struct topo_host *h = hb_hgx_new(&o);
    struct inventory *inv = open_inv(h, INV_MODE_PASSTHROUGH);
    const char *no08[] = {"0000:03:00.0", "0000:04:00.0", "0000:07:00.0", "0000:83:00.0",
                          "0000:84:00.0", "0000:87:00.0", "0000:88:00.0"};
    struct five_switches b;
    const char *avail[5];

    expect(inv, hb_hgx_gpus, 8, NULL, 0, 1, "0000:03:00.0", 0, NULL);
    expect(inv, no08, 7, NULL, 0, 1, "0000:07:00.0", 0, NULL);
    expect(inv, no08 + 3, 4, NULL, 0, 3, "0000:83:00.0,0000:84:00.0,0000:87:00.0", 0, NULL);
    inventory_unref(inv);
    topo_host_free(h);
    /* three free GPUs of one switch, two of another: two or one GPU come
     * from the two, which keeps the three together (lower IDs
     * notwithstanding) */
    h = five_switches_new(&b);
    inv = open_inv(h, INV_MODE_PASSTHROUGH);
    avail[0] = b.ids[0];
    avail[1] = b.ids[1];
    avail[2] = b.ids[2];
    avail[3] = b.ids[4];
    avail[4] = b.ids[5];
    expect(inv, avail, 5, NULL, 0, 2, "0000:22:00.0,0000:23:00.0", 0, NULL);
    expect(inv, avail, 5, NULL, 0, 3, "0000:12:00.0,0000:13:00.0,0000:14:00.0", 0, NULL);
    expect(inv, avail, 5, NULL, 0, 1, "0000:22:00.0", 0, NULL);
    inventory_unref(inv);
    topo_host_free(h);
}

/* One GPU per host bridge: A (NUMA unknown), B (node 0), C (node 1), D
 * (node 2); SLIT 0-1 32, 0-2 12, 1-2 20. */
static void
test_numa(void)
{
    static const uint8_t slit[9] = {10, 32, 12, 32, 10, 20, 12, 20, 10};
    struct hb_fn t[] = {
        HB_BRIDGE("0000:00:01.0", NULL, "pci0000:00"),
        HB_DEV("0000:01:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 1, 0, -1,
               "0000:00:01.0", "pci0000:00"),
        HB_BRIDGE("0000:40:01.0", NULL, "pci0000:40"),
        HB_DEV("0000:41:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 2, 1, 0,
               "0000:40:01.0", "pci0000:40"),
        HB_BRIDGE("0000:80:01.0", NULL, "pci0000:80"),
        HB_DEV("0000:81:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 3, 2, 1,
               "0000:80:01.0", "pci0000:80"),
        HB_BRIDGE("0000:c0:01.0", NULL, "pci0000:c0"),
        HB_DEV("0000:c1:00.0", TOPO_KIND_GPU, 0x2330, "H100", "vfio-pci", 4, 3, 2,
               "0000:c0:01.0", "pci0000:c0"),
    };
    const char *ids[] = {"0000:01:00.0", "0000:41:00.0", "0000:81:00.0", "0000:c1:00.0"};
    struct topo_host *h = hb_host_new(t, sizeof(t) / sizeof(t[0]), true);
    struct inventory *inv;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* without a SLIT table: known nodes, equally far; unknown never nearer */
    inv = open_inv(h, INV_MODE_PASSTHROUGH);
    expect(inv, ids, 4, NULL, 0, 2, "0000:41:00.0,0000:81:00.0", 0, NULL);
    expect(inv, ids, 4, ids, 1, 2, "0000:01:00.0,0000:41:00.0", 0, NULL);
    inventory_unref(inv);
    h->numa_distance = malloc(sizeof(slit));
    CU_ASSERT_PTR_NOT_NULL_FATAL(h->numa_distance);
    memcpy(h->numa_distance, slit, sizeof(slit));
    h->n_numa_nodes = 3;
    inv = open_inv(h, INV_MODE_PASSTHROUGH);
    expect(inv, ids, 4, NULL, 0, 2, "0000:41:00.0,0000:c1:00.0", 0, NULL);
    expect(inv, ids, 4, ids + 2, 1, 2, "0000:81:00.0,0000:c1:00.0", 0, NULL);
    expect(inv, ids, 4, NULL, 0, 3, "0000:41:00.0,0000:81:00.0,0000:c1:00.0", 0, NULL);
    inventory_unref(inv);
    topo_host_free(h);
}

TEST_SUITE(alloc_prefer, NULL, NULL, {"topology", test_topology}, {"units", test_units},
           {"modes", test_modes}, {"greedy beyond 16 units", test_greedy},
           {"real-kernel shape: the shared group first", test_real_kernel_shape},
           {"ties keep free pairs whole", test_keep_pairs}, {"NUMA: SLIT, unknown", test_numa},
           {"bounded growth reaches the size", test_growth_reaches_size})

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "test/support/alloc_fixture.h"
#include "test/support/suite.h"

/* Passthrough modes, GetPreferredAllocation and Allocate on the generated
 * fixture hosts (scripts/fixtures/layouts.py). */

#define PGPU "nvidia.com/pgpu"
#define NVSW "nvidia.com/nvswitch"
#define H100_GPUS                                                                                  \
    "0000:0a:00.0,0000:11:00.0,0000:18:00.0,0000:69:00.0,0000:9d:00.0,0000:ad:00.0,"               \
    "0000:bd:00.0,0000:dd:00.0"
#define H100_SWITCHES "0000:1c:00.0,0000:1d:00.0,0000:1e:00.0,0000:1f:00.0"
#define H200_GPUS                                                                                  \
    "0000:18:00.0,0000:2a:00.0,0000:3a:00.0,0000:5d:00.0,0000:9a:00.0,0000:ab:00.0,"               \
    "0000:ba:00.0,0000:db:00.0"
#define B200_GPUS                                                                                  \
    "0000:18:00.0,0000:1a:00.0,0000:3a:00.0,0000:3c:00.0,0000:9a:00.0,0000:9c:00.0,"               \
    "0000:ba:00.0,0000:bc:00.0"

/* Preferred: want = the comma-joined answer, or NULL with code and a
 * substring of the message. */
static void
prefer(const struct alloc_fixture *fx, const char *res, const char *avail, const char *must,
       size_t size, const char *want, int code, const char *msg)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char got[2048];
    int r = alloc_fixture_preferred(fx, res, avail, must, size, got, sizeof(got), &err);

    if (r != code || (r == 0 && want && strcmp(got, want) != 0))
        fprintf(stderr, "\npreferred %zu of %s (must %s): %d %s [%s], want %d %s\n", size, res,
                must ? must : "-", r, r == 0 ? got : "", err.msg, code, want ? want : msg);
    CU_ASSERT_EQUAL(r, code);
    if (r == 0 && want)
        CU_ASSERT_STRING_EQUAL(got, want);
    if (r < 0 && msg)
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
}

/* Allocate: code 0 checks the CDI names, env and node paths; else the
 * message must contain msg. nodes: comma-joined container paths or NULL. */
static void
allocate(const struct alloc_fixture *fx, const char *res, const char *ids, int code,
         const char *msg, const char *nodes)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct inv_allocation a = {0};
    char buf[4096] = "", got_ids[4096] = "";
    int r = alloc_fixture_allocate(fx, res, ids, &a, &err);

    if (r != code)
        fprintf(stderr, "\nallocate %s of %s: %d %s, want %d\n", ids, res, r, err.msg, code);
    CU_ASSERT_EQUAL(r, code);
    if (r < 0) {
        if (msg && !strstr(err.msg, msg))
            fprintf(stderr, "\nallocate %s: message \"%s\" lacks \"%s\"\n", ids, err.msg, msg);
        if (msg)
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
        return;
    }
    /* every requested device granted, in ID order (the CDI names and the
     * PCI_RESOURCE_* value are made from this list) */
    for (size_t i = 0; i < a.n_ids; i++)
        snprintf(got_ids + strlen(got_ids), sizeof(got_ids) - strlen(got_ids), "%s%s",
                 i ? "," : "", a.ids[i]);
    CU_ASSERT_STRING_EQUAL(got_ids, ids);
    if (nodes) {
        buf[0] = '\0';
        for (size_t i = 0; i < a.n_nodes; i++) {
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
                     a.nodes[i].path);
            CU_ASSERT_PTR_NOT_NULL(strstr(a.nodes[i].host_path, fx->dev));
        }
        if (strcmp(buf, nodes) != 0)
            fprintf(stderr, "\nallocate %s: nodes %s, want %s\n", ids, buf, nodes);
        CU_ASSERT_STRING_EQUAL(buf, nodes);
    }
    inventory_allocation_clear(&a);
}

static void
test_h100_preferred(void)
{
    struct alloc_fixture fx;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-h100-iommufd", INV_MODE_PASSTHROUGH,
                                             "pgpu", "nvswitch"),
                          0);
    /* 2: a pair under one PCIe switch; 4: the four GPUs of one NUMA node */
    prefer(&fx, PGPU, NULL, NULL, 2, "0000:0a:00.0,0000:11:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, NULL, 4, "0000:0a:00.0,0000:11:00.0,0000:18:00.0,0000:69:00.0", 0,
           NULL);
    prefer(&fx, PGPU, "0000:18:00.0,0000:69:00.0,0000:9d:00.0,0000:ad:00.0,0000:bd:00.0", NULL,
           2, "0000:18:00.0,0000:69:00.0", 0, NULL);
    /* two pairs across nodes (2 + 2 + 4 x SYS) beat a pair and two strays */
    prefer(&fx, PGPU, "0000:11:00.0,0000:18:00.0,0000:69:00.0,0000:9d:00.0,0000:ad:00.0", NULL,
           4, "0000:18:00.0,0000:69:00.0,0000:9d:00.0,0000:ad:00.0", 0, NULL);
    /* must_include picks the pair and the node */
    prefer(&fx, PGPU, NULL, "0000:ad:00.0", 2, "0000:9d:00.0,0000:ad:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, "0000:dd:00.0", 2, "0000:bd:00.0,0000:dd:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, "0000:dd:00.0", 4,
           "0000:9d:00.0,0000:ad:00.0,0000:bd:00.0,0000:dd:00.0", 0, NULL);
    /* {0a,11,69} and {0a,18,69} cost the same: the lower IDs win */
    prefer(&fx, PGPU, NULL, "0000:69:00.0", 3, "0000:0a:00.0,0000:11:00.0,0000:69:00.0", 0,
           NULL);
    /* must_include wins over topology */
    prefer(&fx, PGPU, NULL, "0000:0a:00.0,0000:dd:00.0", 2, "0000:0a:00.0,0000:dd:00.0", 0,
           NULL);
    prefer(&fx, PGPU, "0000:0a:00.0,0000:18:00.0,0000:9d:00.0", NULL, 2,
           "0000:0a:00.0,0000:18:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, NULL, 8, H100_GPUS, 0, NULL);
    prefer(&fx, PGPU, NULL, "0000:ff:00.0", 2, NULL, -EINVAL, "unknown device 0000:ff:00.0");
    prefer(&fx, PGPU, NULL, NULL, 9, NULL, -EINVAL, "cannot allocate 9");
    prefer(&fx, NVSW, NULL, NULL, 2, "0000:1c:00.0,0000:1d:00.0", 0, NULL);
    alloc_fixture_close(&fx);
}

static void
test_h100_allocate(void)
{
    struct alloc_fixture fx;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-h100-iommufd", INV_MODE_PASSTHROUGH,
                                             "pgpu", "nvswitch"),
                          0);
    allocate(&fx, PGPU, "0000:0a:00.0,0000:11:00.0", 0, NULL,
             "/dev/vfio/devices/vfio0,/dev/vfio/devices/vfio1");
    allocate(&fx, PGPU, "0000:dd:00.0", 0, NULL, "/dev/vfio/devices/vfio11");
    allocate(&fx, NVSW, H100_SWITCHES, 0, NULL,
             "/dev/vfio/devices/vfio3,/dev/vfio/devices/vfio4,/dev/vfio/devices/vfio5,"
             "/dev/vfio/devices/vfio6");
    allocate(&fx, PGPU, "0000:1c:00.0", -EINVAL, "unknown device 0000:1c:00.0", NULL);
    allocate(&fx, PGPU, "0000:0a:00.0,0000:0a:00.0", -EINVAL, "requested twice", NULL);
    alloc_fixture_close(&fx);
}

static void
test_ppcie(void)
{
    struct alloc_fixture fx;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-h100-iommufd", INV_MODE_PPCIE, "pgpu",
                                             "nvswitch"),
                          0);
    prefer(&fx, PGPU, NULL, NULL, 2, NULL, -EPERM, "request all 8 GPUs");
    allocate(&fx, PGPU, "0000:0a:00.0,0000:11:00.0", -EPERM, "request all 8 GPUs", NULL);
    allocate(&fx, PGPU, "0000:0a:00.0", -EPERM, "ppcie mode", NULL);
    prefer(&fx, PGPU, NULL, NULL, 8, H100_GPUS, 0, NULL);
    allocate(&fx, PGPU, H100_GPUS, 0, NULL, NULL);
    prefer(&fx, NVSW, NULL, NULL, 2, NULL, -EPERM, "request all 4 NVSwitches");
    allocate(&fx, NVSW, "0000:1c:00.0,0000:1d:00.0", -EPERM, "request all 4 NVSwitches", NULL);
    allocate(&fx, NVSW, H100_SWITCHES, 0, NULL, NULL);
    alloc_fixture_close(&fx);
    /* legacy VFIO: the four switches share group 40, one group node */
    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-h200-legacy", INV_MODE_PPCIE, "pgpu",
                                             "nvswitch"),
                          0);
    allocate(&fx, PGPU, "0000:18:00.0,0000:2a:00.0", -EPERM, "request all 8 GPUs", NULL);
    allocate(&fx, PGPU, H200_GPUS, 0, NULL,
             "/dev/vfio/20,/dev/vfio/21,/dev/vfio/22,/dev/vfio/23,/dev/vfio/24,/dev/vfio/25,"
             "/dev/vfio/26,/dev/vfio/27,/dev/vfio/vfio");
    allocate(&fx, NVSW, "0000:05:00.0", -EPERM, "request all 4 NVSwitches", NULL);
    allocate(&fx, NVSW, "0000:05:00.0,0000:06:00.0,0000:07:00.0,0000:08:00.0", 0, NULL,
             "/dev/vfio/40,/dev/vfio/vfio");
    prefer(&fx, NVSW, NULL, NULL, 4, "0000:05:00.0,0000:06:00.0,0000:07:00.0,0000:08:00.0", 0,
           NULL);
    alloc_fixture_close(&fx);
}

static void
test_multi(void)
{
    struct alloc_fixture fx;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-b200", INV_MODE_MULTI, "pgpu", "nvswitch"),
                          0);
    allocate(&fx, PGPU, "0000:3c:00.0", 0, NULL, "/dev/vfio/devices/vfio3");
    allocate(&fx, PGPU, B200_GPUS, 0, NULL, NULL);
    allocate(&fx, PGPU, "0000:18:00.0,0000:1a:00.0,0000:3a:00.0", -EPERM,
             "request 1 GPU or all 8", NULL);
    allocate(&fx, PGPU, "0000:18:00.0,0000:1a:00.0", -EPERM, "multi mode", NULL);
    prefer(&fx, PGPU, NULL, NULL, 3, NULL, -EPERM, "request 1 GPU or all 8");
    prefer(&fx, PGPU, NULL, NULL, 1, "0000:18:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, NULL, 8, B200_GPUS, 0, NULL);
    alloc_fixture_close(&fx);
    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "rtx-pro-6000-sriov", INV_MODE_MULTI, "pgpu",
                                             "nvswitch"),
                          0);
    allocate(&fx, PGPU, "0001:81:00.0", 0, NULL, "/dev/vfio/devices/vfio5");
    allocate(&fx, PGPU, "0001:01:00.0,0001:81:00.0", 0, NULL,
             "/dev/vfio/devices/vfio0,/dev/vfio/devices/vfio5");
    /* there are only two whole GPUs: three is never a valid request */
    prefer(&fx, PGPU, NULL, NULL, 3, NULL, -EINVAL, "cannot allocate 3 of the 2");
    allocate(&fx, PGPU, "0001:01:00.0,0001:81:00.0,0001:01:00.5", -EINVAL,
             "unknown device 0001:01:00.5", NULL);
    prefer(&fx, PGPU, NULL, NULL, 1, "0001:01:00.0", 0, NULL);
    alloc_fixture_close(&fx);
}

/* Switches without ACS: two GPUs per IOMMU group are one unit. */
static void
test_acs_off(void)
{
    struct alloc_fixture fx;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "acs-off", INV_MODE_PASSTHROUGH, "pgpu",
                                             "nvswitch"),
                          0);
    allocate(&fx, PGPU, "0000:03:00.0", -EPERM, "share IOMMU group 10; request them together",
             NULL);
    allocate(&fx, PGPU, "0000:08:00.0", -EPERM, "share IOMMU group 11", NULL);
    allocate(&fx, PGPU, "0000:04:00.0,0000:07:00.0", -EPERM, "share IOMMU group", NULL);
    allocate(&fx, PGPU, "0000:03:00.0,0000:04:00.0", 0, NULL, "/dev/vfio/10,/dev/vfio/vfio");
    allocate(&fx, PGPU, "0000:0b:00.0", -ENODEV, "has no driver", NULL);
    /* preferred never proposes one member of a pair alone */
    prefer(&fx, PGPU, NULL, NULL, 1, NULL, -EPERM, "keeps every IOMMU group whole");
    prefer(&fx, PGPU, NULL, NULL, 3, NULL, -EPERM, "keeps every IOMMU group whole");
    prefer(&fx, PGPU, NULL, NULL, 2, "0000:03:00.0,0000:04:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, "0000:08:00.0", 2, "0000:07:00.0,0000:08:00.0", 0, NULL);
    prefer(&fx, PGPU, "0000:03:00.0,0000:07:00.0,0000:08:00.0", NULL, 2,
           "0000:07:00.0,0000:08:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, NULL, 4, "0000:03:00.0,0000:04:00.0,0000:07:00.0,0000:08:00.0", 0,
           NULL);
    prefer(&fx, PGPU, "0000:03:00.0,0000:07:00.0,0000:08:00.0", "0000:03:00.0", 2, NULL, -EPERM,
           "shares IOMMU group 10 with 0000:04:00.0");
    alloc_fixture_close(&fx);
}

static void
test_unhealthy(void)
{
    struct alloc_fixture fx;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "mixed", INV_MODE_PASSTHROUGH, "pgpu",
                                             "nvswitch"),
                          0);
    allocate(&fx, PGPU, "0000:31:00.0", -EINVAL, "unknown device 0000:31:00.0", NULL);
    allocate(&fx, PGPU, "0000:ca:00.0", -ENODEV, "0000:ca:00.1 bound to snd_hda_intel", NULL);
    allocate(&fx, PGPU, "0000:4b:00.0", 0, NULL,
             "/dev/vfio/devices/vfio1,/dev/vfio/devices/vfio2");
    /* mixed models under one alias: one request can span them */
    allocate(&fx, PGPU, "0000:17:00.0,0000:4b:00.0", 0, NULL,
             "/dev/vfio/devices/vfio0,/dev/vfio/devices/vfio1,/dev/vfio/devices/vfio2");
    prefer(&fx, PGPU, NULL, "0000:f1:00.0", 1, NULL, -ENODEV, "has no driver");
    /* unhealthy devices are never proposed */
    prefer(&fx, PGPU, NULL, NULL, 3, "0000:17:00.0,0000:4b:00.0,0000:e3:00.0", 0, NULL);
    prefer(&fx, PGPU, NULL, NULL, 4, NULL, -EPERM, NULL);
    alloc_fixture_close(&fx);
}

/* 64 GPUs: more free units than the exhaustive search takes. */
static void
test_large(void)
{
    struct alloc_fixture fx;
    struct topo_error err = TOPO_ERROR_INIT;
    char got[1024], copy[1024];
    const char *ids[16];
    size_t n;
    int numa = -2, sw = -2;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "large", INV_MODE_PASSTHROUGH, "pgpu",
                                             "nvswitch"),
                          0);
    CU_ASSERT_EQUAL_FATAL(
        alloc_fixture_preferred(&fx, PGPU, NULL, NULL, 8, got, sizeof(got), &err), 0);
    n = alloc_fixture_split(got, ids, 16);
    CU_ASSERT_EQUAL_FATAL(n, 8);
    for (size_t i = 0; i < n; i++) {
        int f = topo_host_find(fx.host, ids[i]);

        CU_ASSERT_FATAL(f >= 0);
        CU_ASSERT_EQUAL(fx.host->functions[f].kind, TOPO_KIND_GPU);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(ids[i], ids[j]);
        /* eight of one NUMA node (two switches of one host bridge) */
        if (numa == -2)
            numa = fx.host->functions[f].numa_node;
        CU_ASSERT_EQUAL(fx.host->functions[f].numa_node, numa);
    }
    /* four: the four GPUs of one switch */
    CU_ASSERT_EQUAL_FATAL(
        alloc_fixture_preferred(&fx, PGPU, NULL, "0000:0c:00.0", 4, got, sizeof(got), &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "0000:0c:00.0"));
    snprintf(copy, sizeof(copy), "%s", got);
    n = alloc_fixture_split(copy, ids, 16);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    for (size_t i = 0; i < n; i++) {
        int f = topo_host_find(fx.host, ids[i]);
        int up;

        CU_ASSERT_FATAL(f >= 0 && fx.host->functions[f].parent >= 0);
        up = fx.host->functions[fx.host->functions[f].parent].parent;
        if (sw == -2)
            sw = up;
        CU_ASSERT_EQUAL(up, sw);
    }
    alloc_fixture_close(&fx);
}

/* The IOMMU group of device id; -1 when it has none. */
static int
group_of(const struct alloc_fixture *fx, const char *id)
{
    int f = topo_host_find(fx->host, id);

    CU_ASSERT_FATAL(f >= 0);
    return fx->host->functions[f].iommu_group;
}

/* Listed devices of res in group g; *ret_healthy: all of them healthy. */
static size_t
group_size(const struct alloc_fixture *fx, const struct inv_resource *res, int g,
           bool *ret_healthy)
{
    size_t n = 0;

    *ret_healthy = true;
    for (size_t d = 0; d < res->n_devices; d++)
        if (group_of(fx, res->devices[d].id) == g) {
            n++;
            *ret_healthy &= res->devices[d].healthy;
        }
    return n;
}

/* A request that a healthy shared group fills exactly gets one whole
 * shared group (size 2: the shared pair whenever there is one). Returns
 * how many sizes were checked. */
static size_t
check_shared_first(const struct alloc_fixture *fx, const struct inv_resource *res)
{
    size_t checked = 0;

    for (size_t d = 0; d < res->n_devices; d++) {
        struct topo_error err = TOPO_ERROR_INIT;
        int g = group_of(fx, res->devices[d].id);
        char got[4096];
        const char *ids[64];
        bool healthy;
        size_t k = g >= 0 ? group_size(fx, res, g, &healthy) : 0, n;

        if (k < 2 || !healthy || (d > 0 && group_of(fx, res->devices[d - 1].id) == g))
            continue; /* no shared group, or checked at its first device */
        if (alloc_fixture_preferred(fx, res->name, NULL, NULL, k, got, sizeof(got), &err) != 0) {
            fprintf(stderr, "\n%s size %zu: %s\n", res->name, k, err.msg);
            CU_FAIL("no answer for a shared group's size");
            continue;
        }
        n = alloc_fixture_split(got, ids, 64);
        CU_ASSERT_EQUAL(n, k);
        for (size_t i = 1; i < n; i++)
            CU_ASSERT_EQUAL(group_of(fx, ids[i]), group_of(fx, ids[0]));
        checked++;
    }
    return checked;
}

static void
test_shared_first(void)
{
    const char *base = getenv("KGDP_FIXTURES");
    size_t checked = 0;
    struct dirent *e;
    DIR *dir;

    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    dir = opendir(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    while ((e = readdir(dir))) {
        struct alloc_fixture fx;

        if (e->d_name[0] == '.')
            continue;
        if (alloc_fixture_open(&fx, e->d_name, INV_MODE_PASSTHROUGH, "pgpu", "nvswitch") == 0)
            for (size_t r = 0; r < fx.inv->n_resources; r++)
                checked += check_shared_first(&fx, &fx.inv->resources[r]);
        alloc_fixture_close(&fx);
    }
    closedir(dir);
    /* acs-off has two shared pairs, hgx-h200-legacy a group of four NVSwitches */
    CU_ASSERT(checked >= 3);
}

TEST_SUITE(alloc_fixture_rules, NULL, NULL, {"hgx-h100 preferred", test_h100_preferred},
           {"hgx-h100 allocate", test_h100_allocate},
           {"ppcie: all GPUs and all NVSwitches", test_ppcie},
           {"multi: 1 or all", test_multi}, {"acs-off pairs stay whole", test_acs_off},
           {"unhealthy devices", test_unhealthy}, {"large: heuristic path", test_large},
           {"every fixture: a shared group that fits is taken whole", test_shared_first})

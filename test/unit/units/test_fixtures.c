#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/CUnit.h>

#include "plugin/grpc/socket_name.h"
#include "test/support/alloc_fixture.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* inventory_build on every generated fixture host: which resources and
 * device IDs each one lists, health and reasons, NUMA and device nodes.
 * Expected values come from the layouts in scripts/fixtures/layouts.py. */

#define N(a) (ARRAY_SIZE(a))
#define PGPU "nvidia.com/pgpu"
#define NVSW "nvidia.com/nvswitch"
#define CDEV(n) "/dev/vfio/devices/vfio" #n

struct exp_res {
    const char *name;
    const char *ids; /* comma-joined, in order; NULL: check n_devices only */
    size_t n_devices;
};

struct exp_dev {
    const char *res;
    const char *id;
    int numa;
    const char *nodes;  /* container paths, comma-joined, sorted; NULL: not checked */
    const char *reason; /* NULL: healthy; else a substring of the reason */
};

struct exp_fixture {
    const char *name;
    size_t n_res;
    struct exp_res res[3];
    size_t n_devs;
    const struct exp_dev *devs;
};

static const struct exp_dev h100_devs[] = {
    {PGPU, "0000:0a:00.0", 0, CDEV(0), NULL},  {PGPU, "0000:11:00.0", 0, CDEV(1), NULL},
    {PGPU, "0000:69:00.0", 0, CDEV(7), NULL},  {PGPU, "0000:9d:00.0", 1, CDEV(8), NULL},
    {PGPU, "0000:dd:00.0", 1, CDEV(11), NULL}, {NVSW, "0000:1c:00.0", 0, CDEV(3), NULL},
    {NVSW, "0000:1f:00.0", 0, CDEV(6), NULL},
};

/* All four switches share group 40: each carries the same group node. */
static const struct exp_dev h200_legacy_devs[] = {
    {PGPU, "0000:18:00.0", 0, "/dev/vfio/20,/dev/vfio/vfio", NULL},
    {PGPU, "0000:db:00.0", 1, "/dev/vfio/27,/dev/vfio/vfio", NULL},
    {NVSW, "0000:05:00.0", 0, "/dev/vfio/40,/dev/vfio/vfio", NULL},
    {NVSW, "0000:06:00.0", 0, "/dev/vfio/40,/dev/vfio/vfio", NULL},
    {NVSW, "0000:07:00.0", 0, "/dev/vfio/40,/dev/vfio/vfio", NULL},
    {NVSW, "0000:08:00.0", 0, "/dev/vfio/40,/dev/vfio/vfio", NULL},
};

static const struct exp_dev h200_single_devs[] = {
    {PGPU, "0000:18:00.0", 0, CDEV(4), NULL}, {PGPU, "0000:db:00.0", 1, CDEV(11), NULL},
    {NVSW, "0000:05:00.0", 0, CDEV(0), NULL}, {NVSW, "0000:08:00.0", 0, CDEV(3), NULL},
};

static const struct exp_dev b200_devs[] = {
    {PGPU, "0000:18:00.0", 0, CDEV(0), NULL},
    {PGPU, "0000:bc:00.0", 1, CDEV(7), NULL},
};

static const struct exp_dev rtx_devs[] = {
    {PGPU, "0001:01:00.0", 0, CDEV(0), NULL},
    {PGPU, "0001:81:00.0", 1, CDEV(5), NULL},
};

static const struct exp_dev mixed_devs[] = {
    {PGPU, "0000:17:00.0", 0, CDEV(0), NULL},
    /* 0000:31:00.0 is on the nvidia driver: another stack's, not listed */
    /* the audio companion of group 12 travels with the GPU */
    {PGPU, "0000:4b:00.0", 0, CDEV(1) "," CDEV(2), NULL},
    {PGPU, "0000:ca:00.0", 1, NULL, "0000:ca:00.1 bound to snd_hda_intel"},
    {PGPU, "0000:e3:00.0", -1, CDEV(4), NULL},
    {PGPU, "0000:f1:00.0", 1, NULL, "has no driver"},
};

static const struct exp_dev acs_devs[] = {
    {PGPU, "0000:03:00.0", 0, "/dev/vfio/10,/dev/vfio/vfio", NULL},
    {PGPU, "0000:04:00.0", 0, "/dev/vfio/10,/dev/vfio/vfio", NULL},
    {PGPU, "0000:08:00.0", 0, "/dev/vfio/11,/dev/vfio/vfio", NULL},
    {PGPU, "0000:0b:00.0", 0, NULL, "not viable: 0000:0c:00.0 has no driver"},
    {PGPU, "0000:0c:00.0", 0, NULL, "has no driver"},
};

static const struct exp_dev damaged_devs[] = {
    {PGPU, "0000:18:00.0", 0, CDEV(0), NULL},
    {PGPU, "0000:1a:00.0", 0, NULL, "has no driver"},
    {PGPU, "0000:1b:00.0", -1, CDEV(3), NULL}, /* unreadable NUMA node: left out */
    {PGPU, "0000:1c:00.0", 0, NULL, "has no IOMMU group"},
};

/* the PCIe layer: only config space that reads all-ones is a fault on a
 * first scan (a degraded link, AER history, D3cold, no reset are not) */
static const struct exp_dev pcie_faults_devs[] = {
    {PGPU, "0000:19:00.0", 0, CDEV(1), NULL},
    {PGPU, "0000:1a:00.0", 0, CDEV(2), NULL},
    {PGPU, "0000:1b:00.0", 0, CDEV(3), "config space reads all-ones"},
    {PGPU, "0000:1c:00.0", 0, CDEV(4), NULL},
    {PGPU, "0000:1d:00.0", 0, CDEV(5), NULL},
};

static const struct exp_fixture fixtures[] = {
    {"hgx-h100-iommufd", 2,
     {{NVSW, "0000:1c:00.0,0000:1d:00.0,0000:1e:00.0,0000:1f:00.0", 4},
      {PGPU,
       "0000:0a:00.0,0000:11:00.0,0000:18:00.0,0000:69:00.0,0000:9d:00.0,0000:ad:00.0,"
       "0000:bd:00.0,0000:dd:00.0",
       8}},
     N(h100_devs), h100_devs},
    {"hgx-h200-legacy", 2,
     {{NVSW, "0000:05:00.0,0000:06:00.0,0000:07:00.0,0000:08:00.0", 4},
      {PGPU,
       "0000:18:00.0,0000:2a:00.0,0000:3a:00.0,0000:5d:00.0,0000:9a:00.0,0000:ab:00.0,"
       "0000:ba:00.0,0000:db:00.0",
       8}},
     N(h200_legacy_devs), h200_legacy_devs},
    {"hgx-h200-singleton-switch", 2,
     {{NVSW, "0000:05:00.0,0000:06:00.0,0000:07:00.0,0000:08:00.0", 4},
      {PGPU,
       "0000:18:00.0,0000:2a:00.0,0000:3a:00.0,0000:5d:00.0,0000:9a:00.0,0000:ab:00.0,"
       "0000:ba:00.0,0000:db:00.0",
       8}},
     N(h200_single_devs), h200_single_devs},
    /* no NVSwitch PCI function: no nvswitch resource */
    {"hgx-b200", 1,
     {{PGPU,
       "0000:18:00.0,0000:1a:00.0,0000:3a:00.0,0000:3c:00.0,0000:9a:00.0,0000:9c:00.0,"
       "0000:ba:00.0,0000:bc:00.0",
       8}},
     N(b200_devs), b200_devs},
    /* PFs only: the VFs 0001:01:00.4-7 and 0001:81:00.4-7 are never listed */
    {"rtx-pro-6000-sriov", 1, {{PGPU, "0001:01:00.0,0001:81:00.0", 2}}, N(rtx_devs), rtx_devs},
    /* H100 PCIe, L40S and the others under one alias */
    {"mixed", 1,
     {{PGPU, "0000:17:00.0,0000:4b:00.0,0000:ca:00.0,0000:e3:00.0,0000:f1:00.0", 5}},
     N(mixed_devs), mixed_devs},
    {"acs-off", 1,
     {{PGPU, "0000:03:00.0,0000:04:00.0,0000:07:00.0,0000:08:00.0,0000:0b:00.0,0000:0c:00.0",
       6}},
     N(acs_devs), acs_devs},
    /* 19:00.0 (no class) and 1d:00.0 (no vendor) cannot be classified */
    {"damaged", 1, {{PGPU, "0000:18:00.0,0000:1a:00.0,0000:1b:00.0,0000:1c:00.0", 4}},
     N(damaged_devs), damaged_devs},
    {"pcie-faults", 2,
     {{NVSW, "0000:1e:00.0,0000:1f:00.0", 2},
      {PGPU, "0000:18:00.0,0000:19:00.0,0000:1a:00.0,0000:1b:00.0,0000:1c:00.0,0000:1d:00.0", 6}},
     N(pcie_faults_devs), pcie_faults_devs},
    {"large", 1, {{PGPU, NULL, 64}}, 0, NULL},
    {"large-half", 1, {{PGPU, NULL, 32}}, 0, NULL},
    {"no-nvidia", 0, {{NULL, NULL, 0}}, 0, NULL},
};

static const struct exp_dev *
find_exp(const struct exp_fixture *x, const char *res, const char *id)
{
    for (size_t i = 0; i < x->n_devs; i++)
        if (strcmp(x->devs[i].res, res) == 0 && strcmp(x->devs[i].id, id) == 0)
            return &x->devs[i];
    return NULL;
}

static void
check_nodes(const struct alloc_fixture *fx, const struct inv_device *d, const char *want)
{
    char got[512] = "";

    for (size_t i = 0; i < d->n_nodes; i++) {
        char *host = NULL;

        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "",
                 d->nodes[i].path);
        /* host paths: the same node under the fixture's dev root */
        CU_ASSERT_FATAL(strncmp(d->nodes[i].path, "/dev/", 5) == 0);
        CU_ASSERT_FATAL(asprintf(&host, "%s/%s", fx->dev, d->nodes[i].path + 5) > 0);
        CU_ASSERT_STRING_EQUAL(d->nodes[i].host_path, host);
        free(host);
    }
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n%s: nodes %s, want %s\n", d->id, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void
check_device(const struct alloc_fixture *fx, const struct exp_fixture *x, const char *res,
             const struct inv_device *d)
{
    const struct exp_dev *e = find_exp(x, res, d->id);

    if (!e) {
        /* not named in the table: a healthy device with device nodes */
        CU_ASSERT_TRUE(d->healthy);
        CU_ASSERT_PTR_NULL(d->reason);
        CU_ASSERT(d->n_nodes > 0);
        return;
    }
    if (d->healthy != (e->reason == NULL))
        fprintf(stderr, "\n%s %s: healthy %d reason %s\n", x->name, d->id, d->healthy,
                d->reason ? d->reason : "-");
    CU_ASSERT_EQUAL(d->healthy, e->reason == NULL);
    CU_ASSERT_EQUAL(d->numa_node, e->numa);
    if (e->reason) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(d->reason);
        CU_ASSERT_PTR_NOT_NULL(strstr(d->reason, e->reason));
    } else {
        CU_ASSERT_PTR_NULL(d->reason);
    }
    if (e->nodes)
        check_nodes(fx, d, e->nodes);
}

static void
check_fixture(const struct exp_fixture *x)
{
    struct alloc_fixture fx;
    char ids[2048];

    if (alloc_fixture_open(&fx, x->name, INV_MODE_PASSTHROUGH, "pgpu", "nvswitch") < 0) {
        alloc_fixture_close(&fx);
        return;
    }
    if (fx.inv->n_resources != x->n_res)
        fprintf(stderr, "\n%s: %zu resources, want %zu\n", x->name, fx.inv->n_resources,
                x->n_res);
    CU_ASSERT_EQUAL_FATAL(fx.inv->n_resources, x->n_res);
    for (size_t r = 0; r < x->n_res; r++) {
        const struct inv_resource *res = &fx.inv->resources[r];

        CU_ASSERT_STRING_EQUAL(res->name, x->res[r].name);
        CU_ASSERT_EQUAL(res->n_devices, x->res[r].n_devices);
        alloc_fixture_ids(res, ids, sizeof(ids));
        if (x->res[r].ids && strcmp(ids, x->res[r].ids) != 0)
            fprintf(stderr, "\n%s %s: ids %s\n", x->name, res->name, ids);
        if (x->res[r].ids)
            CU_ASSERT_STRING_EQUAL(ids, x->res[r].ids);
        for (size_t d = 0; d < res->n_devices; d++)
            check_device(&fx, x, res->name, &res->devices[d]);
    }
    /* every named device exists */
    for (size_t i = 0; i < x->n_devs; i++) {
        int ri = inventory_find_resource(fx.inv, x->devs[i].res);

        CU_ASSERT_FATAL(ri >= 0);
        CU_ASSERT(inventory_find_device(&fx.inv->resources[ri], x->devs[i].id) >= 0);
    }
    alloc_fixture_close(&fx);
}

static bool
in_table(const char *name)
{
    for (size_t i = 0; i < N(fixtures); i++)
        if (strcmp(fixtures[i].name, name) == 0)
            return true;
    return false;
}

static void
test_every_fixture(void)
{
    const char *base = getenv("KGDP_FIXTURES");
    DIR *d;
    struct dirent *e;

    for (size_t i = 0; i < N(fixtures); i++)
        check_fixture(&fixtures[i]);
    /* a fixture added to layouts.py without expectations fails here */
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    d = opendir(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((e = readdir(d))) {
        char *sys = NULL;
        struct stat st;

        if (e->d_name[0] == '.' || asprintf(&sys, "%s/%s/sys", base, e->d_name) < 0)
            continue;
        if (stat(sys, &st) == 0 && S_ISDIR(st.st_mode) && !in_table(e->d_name)) {
            fprintf(stderr, "\nfixture %s has no expectations here\n", e->d_name);
            CU_FAIL("fixture without expectations");
        }
        free(sys);
    }
    closedir(d);
}

static void
test_vfs_never_listed(void)
{
    static const char *const vfs[] = {"0001:01:00.4", "0001:01:00.7", "0001:81:00.4",
                                      "0001:81:00.7"};
    struct alloc_fixture fx;
    struct inv_allocation a = {0};
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "rtx-pro-6000-sriov", INV_MODE_PASSTHROUGH,
                                             "pgpu", "nvswitch"),
                          0);
    for (size_t i = 0; i < N(vfs); i++)
        CU_ASSERT(inventory_find_device(alloc_fixture_res(&fx, PGPU, NULL), vfs[i]) < 0);
    /* a VF requested by ID is an unknown device */
    CU_ASSERT_EQUAL(alloc_fixture_allocate(&fx, PGPU, "0001:01:00.4", &a, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown device 0001:01:00.4"));
    alloc_fixture_close(&fx);
}

static const char *
per_model_name(const struct topo_host *h, const char *bdf, const char *known_model,
               const char *known, const char *fallback)
{
    int i = topo_host_find(h, bdf);

    CU_ASSERT_FATAL(i >= 0);
    return strcmp(h->functions[i].model, known_model) == 0 ? known : fallback;
}

static void
test_per_model(void)
{
    struct alloc_fixture fx;
    struct topo_error err = TOPO_ERROR_INIT;
    char **socks = NULL;
    const char *l40s, *t4;
    char ids[512];

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "mixed", INV_MODE_PASSTHROUGH, "", ""), 0);
    /* L40S and T4 names come from pci.ids when it knows them */
    l40s = per_model_name(fx.host, "0000:31:00.0", "AD102GL [L40S]", "nvidia.com/AD102GL_L40S",
                          "nvidia.com/DEVICE26B9");
    t4 = per_model_name(fx.host, "0000:e3:00.0", "TU104GL [Tesla T4]",
                        "nvidia.com/TU104GL_TESLA_T4", "nvidia.com/DEVICE1EB8");
    CU_ASSERT_EQUAL_FATAL(fx.inv->n_resources, 4);
    alloc_fixture_ids(alloc_fixture_res(&fx, "nvidia.com/GH100_H100_PCIE", NULL), ids,
                      sizeof(ids));
    CU_ASSERT_STRING_EQUAL(ids, "0000:17:00.0");
    alloc_fixture_ids(alloc_fixture_res(&fx, l40s, NULL), ids, sizeof(ids));
    CU_ASSERT_STRING_EQUAL(ids, "0000:4b:00.0,0000:ca:00.0"); /* 31:00.0 is nvidia's */
    alloc_fixture_ids(alloc_fixture_res(&fx, t4, NULL), ids, sizeof(ids));
    CU_ASSERT_STRING_EQUAL(ids, "0000:e3:00.0");
    alloc_fixture_ids(alloc_fixture_res(&fx, "nvidia.com/DEVICE2FFF", NULL), ids, sizeof(ids));
    CU_ASSERT_STRING_EQUAL(ids, "0000:f1:00.0");
    /* never two resources with one name, nor two with one socket */
    CU_ASSERT_EQUAL_FATAL(plugin_socket_names(fx.inv, &socks, &err), 0);
    for (size_t i = 0; i < fx.inv->n_resources; i++)
        for (size_t j = i + 1; j < fx.inv->n_resources; j++) {
            CU_ASSERT_STRING_NOT_EQUAL(fx.inv->resources[i].name, fx.inv->resources[j].name);
            CU_ASSERT_STRING_NOT_EQUAL(socks[i], socks[j]);
        }
    plugin_socket_names_free(socks, fx.inv->n_resources);
    alloc_fixture_close(&fx);
    /* per-model GPUs and NVSwitches on an HGX board */
    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-h100-iommufd", INV_MODE_PASSTHROUGH, "",
                                             ""),
                          0);
    CU_ASSERT_EQUAL_FATAL(fx.inv->n_resources, 2);
    CU_ASSERT_STRING_EQUAL(fx.inv->resources[0].name, "nvidia.com/GH100_H100_NVSWITCH");
    CU_ASSERT_STRING_EQUAL(fx.inv->resources[1].name, "nvidia.com/GH100_H100_SXM5_80GB");
    CU_ASSERT_EQUAL(fx.inv->resources[1].n_devices, 8);
    alloc_fixture_close(&fx);
}

/* ppcie: one missing GPU makes every device of the node unusable. */
static void
test_ppcie_health(void)
{
    struct alloc_fixture fx;
    const struct inv_resource *res;

    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "mixed", INV_MODE_PPCIE, "pgpu", "nvswitch"),
                          0);
    res = alloc_fixture_res(&fx, PGPU, NULL);
    for (size_t d = 0; d < res->n_devices; d++) {
        CU_ASSERT_FALSE(res->devices[d].healthy);
        CU_ASSERT_PTR_NOT_NULL_FATAL(res->devices[d].reason);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(res->devices[0].reason,
                                  "ppcie mode needs every GPU and NVSwitch assignable"));
    CU_ASSERT_PTR_NOT_NULL(strstr(res->devices[0].reason, "0000:31:00.0"));
    /* a device's own reason stays the more precise one */
    CU_ASSERT_PTR_NOT_NULL(strstr(res->devices[2].reason, "bound to snd_hda_intel"));
    alloc_fixture_close(&fx);
    CU_ASSERT_EQUAL_FATAL(alloc_fixture_open(&fx, "hgx-h100-iommufd", INV_MODE_PPCIE, "pgpu",
                                             "nvswitch"),
                          0);
    for (size_t r = 0; r < fx.inv->n_resources; r++)
        for (size_t d = 0; d < fx.inv->resources[r].n_devices; d++)
            CU_ASSERT_TRUE(fx.inv->resources[r].devices[d].healthy);
    alloc_fixture_close(&fx);
}

TEST_SUITE(alloc_fixtures, NULL, NULL, {"every fixture: resources, IDs, health, nodes",
                                        test_every_fixture},
           {"SR-IOV VFs are never listed", test_vfs_never_listed},
           {"per-model resources", test_per_model}, {"ppcie health", test_ppcie_health})

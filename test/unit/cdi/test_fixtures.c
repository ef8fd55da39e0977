#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <json-c/json.h>

#include "cdi/cdi.h"
#include "test/support/proc.h"
#include "test/support/cdi_test_devtree.h"
#include "test/support/cdi_test_util.h"
#include "test/support/suite.h"
#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"
#include "topology/host/host.h"
#include "topology/base/macros.h"

/* Every fixture through the CDI library the way a runtime sees it: scan,
 * build the inventory, write the specs, Allocate every healthy device (and
 * every multi-device unit whole), then let the library load the directory
 * with schema validation, resolve Allocate's cdi_names, inject them into an
 * OCI spec and compare the injected nodes with Allocate's, path and
 * hostPath, exactly. */

/* What Allocate answered for one request, and the checker argument for it. */
struct fx_alloc {
    char *arg; /* "kind=ID,kind=ID" */
    struct inv_allocation a;
};

struct fx_run {
    size_t n;
    struct fx_alloc *allocs;
};

static void
fx_run_clear(struct fx_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        free(run->allocs[i].arg);
        inventory_allocation_clear(&run->allocs[i].a);
    }
    free(run->allocs);
    memset(run, 0, sizeof(*run));
}

/* Allocate ids of resource r and record the answer; FATAL unless it succeeds
 * and names exactly the requested devices. */
static void
fx_allocate(struct fx_run *run, const struct inventory *inv, size_t r, const char *const *ids,
            size_t n)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct fx_alloc *fa;
    FILE *f;
    size_t len = 0;

    fa = realloc(run->allocs, (run->n + 1) * sizeof(*fa));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
    run->allocs = fa;
    fa = &fa[run->n];
    memset(fa, 0, sizeof(*fa));
    if (inventory_allocate(inv, r, ids, n, &fa->a, &err) < 0)
        fprintf(stderr, "\nAllocate %s of %s: %s\n", ids[0], inv->resources[r].name, err.msg);
    run->n++;
    CU_ASSERT_EQUAL_FATAL(err.code, 0);
    CU_ASSERT_EQUAL_FATAL(fa->a.n_ids, n);
    CU_ASSERT_FATAL(fa->a.n_nodes > 0);
    f = open_memstream(&fa->arg, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *name = NULL;
        bool found = false;

        for (size_t c = 0; c < fa->a.n_ids; c++)
            found = found || strcmp(fa->a.ids[c], ids[i]) == 0;
        CU_ASSERT(found);
        CU_ASSERT_EQUAL_FATAL(cdi_qualified_name(inv->resources[r].name, fa->a.ids[i], &name), 0);
        fprintf(f, "%s%s", i ? "," : "", name);
    }
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

/* One unit of resource r: each device alone when the unit is one device;
 * else a lone device is refused (-EPERM) and the unit goes whole. */
static void
fx_allocate_unit(struct fx_run *run, const struct inventory *inv, size_t r,
                 const struct alloc_unit *u)
{
    const struct inv_resource *res = &inv->resources[r];
    const char *ids[64];
    bool all_healthy = true;

    CU_ASSERT_FATAL(u->n_devices > 0 && u->n_devices <= 64);
    for (size_t i = 0; i < u->n_devices; i++) {
        const struct inv_device *dev = &res->devices[u->devices[i]];

        ids[i] = dev->id;
        all_healthy = all_healthy && dev->healthy;
        if (dev->healthy)
            CU_ASSERT(dev->n_nodes > 0); /* healthy means something to hand out */
        if (dev->healthy && u->n_devices > 1) {
            struct topo_error err = TOPO_ERROR_INIT;
            struct inv_allocation a = {0};

            CU_ASSERT_EQUAL(inventory_allocate(inv, r, &ids[i], 1, &a, &err), -EPERM);
            inventory_allocation_clear(&a);
        }
    }
    if (all_healthy)
        fx_allocate(run, inv, r, ids, u->n_devices);
}

static void
fx_allocate_all(struct fx_run *run, const struct inventory *inv)
{
    const struct alloc_priv *p = inv->priv;

    CU_ASSERT_FATAL(inv->ops == &alloc_ops && p && p->n_resources == inv->n_resources);
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t u = 0; u < p->res[r].n_units; u++)
            fx_allocate_unit(run, inv, r, &p->res[r].units[u]);
}

/* The registry knows exactly the devices that have nodes. */
static void
fx_check_devices(json_object *res, const struct inventory *inv)
{
    json_object *devices;
    size_t want = 0;

    CU_ASSERT_FATAL(json_object_object_get_ex(res, "devices", &devices));
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            const struct inv_device *dev = &inv->resources[r].devices[d];
            _cleanup_free_ char *q = NULL;
            bool listed = false;

            CU_ASSERT_FATAL(asprintf(&q, "%s=%s", inv->resources[r].name, dev->id) > 0);
            for (size_t i = 0; i < json_object_array_length(devices); i++)
                listed =
                    listed ||
                    strcmp(json_object_get_string(json_object_array_get_idx(devices, i)), q) == 0;
            CU_ASSERT_EQUAL(listed, dev->n_nodes > 0);
            want += dev->n_nodes > 0;
        }
    CU_ASSERT_EQUAL(json_object_array_length(devices), want);
}

static const char *
node_str(json_object *node, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(node, key, &v) ? json_object_get_string(v) : "";
}

static int64_t
node_int(json_object *node, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(node, key, &v) ? json_object_get_int64(v) : -1;
}

/* Injected nodes == Allocate's nodes: same paths, same host paths, and the
 * major:minor injection took from each host path. */
static void
fx_check_injection(json_object *injected, const struct fx_alloc *fa)
{
    json_object *nodes;

    CU_ASSERT_FATAL(json_object_object_get_ex(injected, fa->arg, &nodes));
    CU_ASSERT_EQUAL(json_object_array_length(nodes), fa->a.n_nodes);
    for (size_t n = 0; n < fa->a.n_nodes; n++) {
        const struct inv_device_node *want = &fa->a.nodes[n];
        json_object *got = NULL;
        struct stat st;

        for (size_t i = 0; i < json_object_array_length(nodes) && !got; i++)
            if (strcmp(node_str(json_object_array_get_idx(nodes, i), "path"), want->path) == 0)
                got = json_object_array_get_idx(nodes, i);
        if (!got)
            fprintf(stderr, "\n%s: %s not injected\n", fa->arg, want->path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_STRING_EQUAL(node_str(got, "hostPath"), want->host_path);
        CU_ASSERT_EQUAL_FATAL(stat(want->host_path, &st), 0);
        CU_ASSERT_STRING_EQUAL(node_str(got, "type"), "c");
        CU_ASSERT_EQUAL(node_int(got, "major"), (int64_t)major(st.st_rdev));
        CU_ASSERT_EQUAL(node_int(got, "minor"), (int64_t)minor(st.st_rdev));
    }
}

/* The node layout of the host's flavour, for every allocation. */
static void
fx_check_layout(const struct topo_host *host, const struct fx_run *run)
{
    for (size_t i = 0; i < run->n; i++)
        for (size_t n = 0; n < run->allocs[i].a.n_nodes; n++) {
            const char *p = run->allocs[i].a.nodes[n].path;

            bool ok = host->iommufd ? strncmp(p, "/dev/vfio/devices/vfio", 22) == 0
                                    : strncmp(p, "/dev/vfio/", 10) == 0 && !strchr(p + 10, '/');

            CU_ASSERT(ok);
        }
}

static char **
fx_args(const struct fx_run *run)
{
    char **args = calloc(run->n ? run->n : 1, sizeof(*args));

    CU_ASSERT_PTR_NOT_NULL_FATAL(args);
    for (size_t i = 0; i < run->n; i++)
        args[i] = run->allocs[i].arg;
    return args;
}

/* One policy: gpu/nvswitch aliases (pgpu, nvswitch) or per-model names. */
static void
fx_check_policy(const char *name, const struct topo_host *host, const char *sys, const char *dev,
                const char *cdi_dir, bool alias)
{
    const struct inv_policy pol = {.mode = INV_MODE_PASSTHROUGH,
                                   .domain = "nvidia.com",
                                   .gpu_alias = alias ? "pgpu" : "",
                                   .nvswitch_alias = alias ? "nvswitch" : "",
                                   .sysfs_root = sys,
                                   .dev_root = dev};
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    struct inventory *inv = NULL;
    struct fx_run run = {0};
    _cleanup_free_ char **args = NULL;
    json_object *res, *errors, *injected;
    int status = -1;

    if (inventory_build(host, &pol, &inv, &err) < 0 ||
        cdi_sync(cdi_dir, inv, false, &rep, &err) < 0)
        fprintf(stderr, "\n%s: %s\n", name, err.msg);
    CU_ASSERT_EQUAL_FATAL(err.code, 0);
    CU_ASSERT_EQUAL(rep.n_written, inv->n_resources);
    CU_ASSERT(rep.n_conflicts == 0 && rep.n_skipped == 0);
    cdi_report_clear(&rep);
    fx_allocate_all(&run, inv);
    args = fx_args(&run);
    res = cdi_t_run_checker(cdi_dir, args, run.n, &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_FATAL(json_object_object_get_ex(res, "errors", &errors));
    if (status != 0 || json_object_array_length(errors))
        fprintf(stderr, "\n%s: %s\n", name, json_object_to_json_string(errors));
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_EQUAL(json_object_array_length(errors), 0);
    fx_check_devices(res, inv);
    CU_ASSERT_FATAL(json_object_object_get_ex(res, "injected", &injected));
    for (size_t i = 0; i < run.n; i++)
        fx_check_injection(injected, &run.allocs[i]);
    fx_check_layout(host, &run);
    fprintf(stderr, "\n    %s (%s, %s): %zu resources, %zu allocations injected ", name,
            host->iommufd ? "iommufd" : "legacy", alias ? "aliases" : "per-model", inv->n_resources,
            run.n);
    json_object_put(res);
    fx_run_clear(&run);
    inventory_unref(inv);
}

static void
fx_check_fixture(const char *name)
{
    static bool told;
    const char *base = getenv("KGDP_FIXTURES");
    _cleanup_free_ char *sys = NULL, *src_dev = NULL, *dev = NULL, *cdi_a = NULL, *cdi_m = NULL;
    char *tmp = cdi_t_tempdir();
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *host = NULL;
    enum cdi_t_node_kind kind;

    if (!base)
        fprintf(stderr, "\nKGDP_FIXTURES is not set (run through `make unit`)\n");
    CU_ASSERT_FATAL(base && tmp);
    CU_ASSERT_FATAL(asprintf(&sys, "%s/%s/sys", base, name) > 0 &&
                    asprintf(&src_dev, "%s/%s/dev", base, name) > 0 &&
                    asprintf(&dev, "%s/dev", tmp) > 0 && asprintf(&cdi_a, "%s/cdi-a", tmp) > 0 &&
                    asprintf(&cdi_m, "%s/cdi-m", tmp) > 0);
    CU_ASSERT_EQUAL_FATAL(cdi_t_devtree_copy(src_dev, dev, &kind), 0);
    if (!told)
        fprintf(stderr, "\n    fixture dev nodes: %s ", cdi_t_node_kind_str(kind));
    told = true;
    if (topo_scan(&(struct topo_scan_options){.sysfs_root = sys, .dev_root = dev}, &host, &err) < 0)
        fprintf(stderr, "\nscan of %s: %s\n", name, err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(host);
    fx_check_policy(name, host, sys, dev, cdi_a, true);
    fx_check_policy(name, host, sys, dev, cdi_m, false);
    topo_host_free(host);
    tproc_rm_tree(tmp);
    free(tmp);
}

/* The fixtures this suite covers; a new one must be added here. */
static const char *const fixtures[] = {
    "acs-off",
    "damaged",
    "hgx-b200",
    "hgx-h100-iommufd",
    "hgx-h200-legacy",
    "hgx-h200-singleton-switch",
    "large",
    "large-half",
    "mixed",
    "no-nvidia",
    "pcie-faults",
    "rtx-pro-6000-sriov",
};

static void
test_every_fixture_listed(void)
{
    const char *base = getenv("KGDP_FIXTURES");
    _cleanup_dir_ DIR *d = base ? opendir(base) : NULL;
    struct dirent *de;
    size_t seen = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((de = readdir(d))) {
        bool listed = false;

        if (de->d_name[0] == '.' || de->d_type != DT_DIR)
            continue;
        for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
            listed = listed || strcmp(fixtures[i], de->d_name) == 0;
        if (!listed)
            fprintf(stderr, "\nfixture %s is not covered by cdi_fixtures\n", de->d_name);
        CU_ASSERT(listed);
        seen += listed;
    }
    CU_ASSERT_EQUAL(seen, ARRAY_SIZE(fixtures));
}

#define FX_TEST(ident, idx)                                                                        \
    static void test_fx_##ident(void)                                                              \
    {                                                                                              \
        fx_check_fixture(fixtures[idx]);                                                           \
    }
FX_TEST(acs_off, 0)
FX_TEST(damaged, 1)
FX_TEST(hgx_b200, 2)
FX_TEST(hgx_h100_iommufd, 3)
FX_TEST(hgx_h200_legacy, 4)
FX_TEST(hgx_h200_singleton_switch, 5)
FX_TEST(large, 6)
FX_TEST(large_half, 7)
FX_TEST(mixed, 8)
FX_TEST(no_nvidia, 9)
FX_TEST(pcie_faults, 10)
FX_TEST(rtx_pro_6000_sriov, 11)

TEST_SUITE(cdi_fixtures, NULL, NULL,
           {"every generated fixture is covered", test_every_fixture_listed},
           {"acs-off", test_fx_acs_off}, {"damaged", test_fx_damaged},
           {"hgx-b200", test_fx_hgx_b200}, {"hgx-h100-iommufd", test_fx_hgx_h100_iommufd},
           {"hgx-h200-legacy", test_fx_hgx_h200_legacy},
           {"hgx-h200-singleton-switch", test_fx_hgx_h200_singleton_switch},
           {"large", test_fx_large}, {"large-half", test_fx_large_half}, {"mixed", test_fx_mixed},
           {"pcie-faults", test_fx_pcie_faults},
           {"no-nvidia", test_fx_no_nvidia}, {"rtx-pro-6000-sriov", test_fx_rtx_pro_6000_sriov})

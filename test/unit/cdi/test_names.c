#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "test/support/cdi_test_util.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

static void
test_kinds(void)
{
    static const char *const good[] = {"nvidia.com/pgpu", "nvidia.com/GH100_H100_SXM5_80GB",
                                       "a.b-c_d/x_y-z", "vendor9/class9", "nv/gpu"};
    /* Every one of these would be refused (or crash) the CDI library. */
    static const char *const bad[] = {
        "nvidia.com",       "/pgpu",
        "nvidia.com/",      "1nvidia.com/pgpu",
        "nvidia.com/p.gpu", "n/pgpu",
        "nvidia.com/p",     "nvidia.com-/pgpu",
        "nvidia.com/pgpu-", "nvi dia.com/pgpu",
        "nvidia.com/pg/pu", "nvidia.com/_pgpu",
        "nvidia.com/pgpu=", "",
    };
    struct topo_error err = TOPO_ERROR_INIT;

    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        CU_ASSERT_EQUAL(cdi_validate_kind(good[i], &err), 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err.msg[0] = '\0';
        CU_ASSERT_EQUAL(cdi_validate_kind(bad[i], &err), -EINVAL);
        CU_ASSERT(err.msg[0] != '\0');
    }
    CU_ASSERT_EQUAL(cdi_validate_kind(NULL, &err), -EINVAL);
}

static void
test_device_names(void)
{
    static const char *const good[] = {"0000:18:00.0", "a", "7", "gpu_0.a-b:c"};
    static const char *const bad[] = {"", "-a", "a-", "0000:18:00.0/", "a b", "a=b", ":0", "a/b"};
    struct topo_error err = TOPO_ERROR_INIT;

    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        CU_ASSERT_EQUAL(cdi_validate_device_name(good[i], &err), 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        CU_ASSERT_EQUAL(cdi_validate_device_name(bad[i], &err), -EINVAL);
}

static void
test_version_compare(void)
{
    CU_ASSERT(cdi_version_compare("0.5.0", "0.5.0") == 0);
    CU_ASSERT(cdi_version_compare("0.4.0", "0.5.0") < 0);
    CU_ASSERT(cdi_version_compare("0.10.0", "0.5.0") > 0);
    CU_ASSERT(cdi_version_compare("1.0.0", "0.9.9") > 0);
    CU_ASSERT(cdi_version_compare("x", "0.1.0") < 0);
    CU_ASSERT(cdi_version_compare("0.5", "0.1.0") < 0);
    CU_ASSERT(cdi_version_compare("0.5.0.1", "0.1.0") < 0);
}

/* One GPU whose name and node can be varied per case. */
static int
validate_one(const char *version, const char *name, const char *path, const char *host)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_node node = {(char *)path, (char *)host};
    struct cdi_device dev = {(char *)name, path ? 1 : 0, &node};
    struct cdi_spec spec = {(char *)version, (char *)"nvidia.com/pgpu", 1, &dev};

    return cdi_spec_validate(&spec, &err);
}

static void
test_versions(void)
{
    CU_ASSERT_EQUAL(validate_one("0.5.0", "0000:18:00.0", "/dev/vfio/12", "/dev/vfio/12"), 0);
    CU_ASSERT_EQUAL(validate_one("0.4.0", "gpu0", "/dev/vfio/12", NULL), 0);
    /* hostPath and a leading digit need 0.5.0. */
    CU_ASSERT_EQUAL(validate_one("0.4.0", "gpu0", "/dev/vfio/12", "/dev/vfio/12"), -EINVAL);
    CU_ASSERT_EQUAL(validate_one("0.4.0", "0000:18:00.0", "/dev/vfio/12", NULL), -EINVAL);
    /* Beyond what Debian's CDI library and containerd 1.7.0-1.7.11 load. */
    CU_ASSERT_EQUAL(validate_one("0.6.0", "gpu0", "/dev/vfio/12", NULL), -EINVAL);
    CU_ASSERT_EQUAL(validate_one("abc", "gpu0", "/dev/vfio/12", NULL), -EINVAL);
    CU_ASSERT_EQUAL(validate_one(NULL, "gpu0", "/dev/vfio/12", NULL), -EINVAL);
}

static void
test_edits(void)
{
    CU_ASSERT_EQUAL(validate_one("0.5.0", "gpu0", NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(validate_one("0.5.0", "gpu0", "", NULL), -EINVAL);
    CU_ASSERT_EQUAL(validate_one("0.5.0", "gpu0", "dev/vfio/12", NULL), -EINVAL);
    CU_ASSERT_EQUAL(validate_one("0.5.0", "gpu0", "/dev/vfio/12", "vfio/12"), -EINVAL);
    CU_ASSERT_EQUAL(validate_one("0.5.0", "gpu 0", "/dev/vfio/12", NULL), -EINVAL);
}

static void
test_duplicates(void)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_node nodes[2] = {{(char *)"/dev/vfio/1", NULL}, {(char *)"/dev/vfio/1", NULL}};
    struct cdi_device devs[2] = {{(char *)"gpu0", 1, &nodes[0]}, {(char *)"gpu0", 1, &nodes[1]}};
    struct cdi_spec spec = {(char *)"0.5.0", (char *)"nvidia.com/pgpu", 2, devs};

    CU_ASSERT_EQUAL(cdi_spec_validate(&spec, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gpu0"));
    devs[1].name = (char *)"gpu1";
    CU_ASSERT_EQUAL(cdi_spec_validate(&spec, &err), 0);
    /* One device listing one node twice. */
    devs[0].n_nodes = 2;
    CU_ASSERT_EQUAL(cdi_spec_validate(&spec, &err), -EINVAL);
}

/* A bad inventory is refused as a whole: nothing in the dir changes. */
static void
test_sync_refuses(void)
{
    static const struct cdi_t_res bad[] = {
        {"nvidia.com/nvswitch",
         {{"0000:05:00.0", {{"/dev/vfio/devices/vfio9", "/dev/vfio/devices/vfio9"}}}}},
        /* a relative host path (from a relative --dev-root) */
        {"nvidia.com/pgpu",
         {{"0000:18:00.0", {{"/dev/vfio/devices/vfio0", "dev/vfio/devices/vfio0"}}}}},
    };
    static const struct cdi_t_res good[] = {
        {"nvidia.com/pgpu",
         {{"0000:18:00.0", {{"/dev/vfio/devices/vfio0", "/dev/vfio/devices/vfio0"}}}}},
    };
    struct inventory *inv_bad = cdi_t_inventory(bad, 2), *inv_good = cdi_t_inventory(good, 1);
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    char *dir = cdi_t_tempdir();
    char *before, *after;

    CU_ASSERT_FATAL(inv_bad && inv_good && dir);
    CU_ASSERT_EQUAL_FATAL(cdi_sync(dir, inv_good, false, &rep, &err), 0);
    cdi_report_clear(&rep);
    before = cdi_t_read(dir, "kata-gpu-device-plugin_nvidia.com-pgpu.json", NULL);
    CU_ASSERT_EQUAL(cdi_sync(dir, inv_bad, false, &rep, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "0000:18:00.0"));
    after = cdi_t_read(dir, "kata-gpu-device-plugin_nvidia.com-pgpu.json", NULL);
    CU_ASSERT_EQUAL(cdi_t_count(dir), 1);
    CU_ASSERT(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
    cdi_t_rmdir(dir);
    inventory_unref(inv_bad);
    inventory_unref(inv_good);
}

TEST_SUITE(cdi_validate, NULL, NULL, {"kind names", test_kinds},
           {"device names", test_device_names}, {"version compare", test_version_compare},
           {"version minimums", test_versions}, {"edits", test_edits},
           {"duplicates", test_duplicates}, {"sync refuses bad inventory", test_sync_refuses})

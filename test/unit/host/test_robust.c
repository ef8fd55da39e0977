#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "test/support/suite.h"
#include "test/support/topo_fixture.h"
#include "topology/host/host.h"
#include "topology/host/sysfs.h"

/* Damaged sysfs entries affect only their device and leave a warning that
 * names the path; bad roots fail cleanly; the real /sys scans. */

static bool
has_warning(const struct topo_host *h, const char *a, const char *b)
{
    for (size_t i = 0; i < h->n_warnings; i++)
        if (strstr(h->warnings[i], a) && strstr(h->warnings[i], b))
            return true;
    return false;
}

static void
test_damaged(void)
{
    struct topo_host *h = topo_fixture_scan("damaged", TOPO_IOMMU_AUTO);
    const struct topo_function *f;
    char reason[256];
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(h->n_functions, 12); /* 6 root ports + 6 GPUs; 1e:00.0 vanished */
    CU_ASSERT_EQUAL(topo_host_find(h, "0000:1e:00.0"), -ENOENT);
    CU_ASSERT_TRUE(has_warning(h, "bus/pci/devices/0000:1e:00.0", "vanished"));
    /* the healthy neighbour is untouched */
    i = topo_fixture_index(h, "0000:18:00.0");
    CU_ASSERT_TRUE(topo_assignable(h, (size_t)i, reason, sizeof(reason)));
    CU_ASSERT_EQUAL(h->functions[i].kind, TOPO_KIND_GPU);
    CU_ASSERT_EQUAL(h->functions[i].numa_node, 0);
    /* missing class: kept, unclassified */
    f = &h->functions[topo_fixture_index(h, "0000:19:00.0")];
    CU_ASSERT_EQUAL(f->kind, TOPO_KIND_OTHER);
    CU_ASSERT_EQUAL(f->vendor, 0x10de);
    CU_ASSERT_EQUAL(f->iommu_group, 21);
    CU_ASSERT_TRUE(has_warning(h, "0000:19:00.0/class", ""));
    /* dangling driver link: no driver, not assignable */
    i = topo_fixture_index(h, "0000:1a:00.0");
    CU_ASSERT_PTR_NULL(h->functions[i].driver);
    CU_ASSERT_FALSE(topo_assignable(h, (size_t)i, reason, sizeof(reason)));
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, "has no driver"));
    CU_ASSERT_TRUE(has_warning(h, "0000:1a:00.0/driver", "dangling"));
    CU_ASSERT_FALSE(topo_host_group(h, 22)->viable);
    /* unparsable numa_node: unknown, still assignable */
    i = topo_fixture_index(h, "0000:1b:00.0");
    CU_ASSERT_EQUAL(h->functions[i].numa_node, -1);
    CU_ASSERT_TRUE(topo_assignable(h, (size_t)i, NULL, 0));
    CU_ASSERT_TRUE(has_warning(h, "0000:1b:00.0/numa_node", "NUMA"));
    /* iommu_group link to a missing group */
    i = topo_fixture_index(h, "0000:1c:00.0");
    CU_ASSERT_EQUAL(h->functions[i].iommu_group, -1);
    CU_ASSERT_FALSE(topo_assignable(h, (size_t)i, reason, sizeof(reason)));
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, "no IOMMU group"));
    CU_ASSERT_TRUE(has_warning(h, "0000:1c:00.0/iommu_group", "dangling"));
    CU_ASSERT_PTR_NULL(topo_host_group(h, 24));
    /* no vendor attribute */
    f = &h->functions[topo_fixture_index(h, "0000:1d:00.0")];
    CU_ASSERT_EQUAL(f->kind, TOPO_KIND_OTHER);
    CU_ASSERT_EQUAL(f->vendor, 0xffff);
    CU_ASSERT_TRUE(has_warning(h, "0000:1d:00.0/vendor", ""));
    /* dangling member of a GPU's group: skipped, the GPU stays assignable */
    CU_ASSERT_TRUE(has_warning(h, "kernel/iommu_groups/23/devices/0000:99:00.0", "not a scanned"));
    CU_ASSERT_EQUAL(topo_host_group(h, 23)->n_members, 1);
    CU_ASSERT_EQUAL(h->n_warnings, 7); /* one per damaged entry */
    topo_host_free(h);
}

static void
test_bad_roots(void)
{
    struct topo_scan_options o = {"/nonexistent-sysfs-root", "/dev", TOPO_IOMMU_AUTO};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = NULL;

    CU_ASSERT_EQUAL(topo_scan(&o, &h, &err), -ENOENT);
    CU_ASSERT_PTR_NULL(h);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent-sysfs-root"));
    o.sysfs_root = "/tmp";
    o.dev_root = "/nonexistent-dev-root";
    CU_ASSERT_EQUAL(topo_scan(&o, &h, &err), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent-dev-root"));
}

static void
test_empty_root(void)
{
    /* A root without bus/pci: libpci fails, the scan reports it cleanly. */
    char dir[] = "/tmp/kgdp-empty-XXXXXX";
    struct topo_scan_options o = {NULL, NULL, TOPO_IOMMU_AUTO};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = NULL;
    int r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    o.sysfs_root = dir;
    o.dev_root = dir;
    r = topo_scan(&o, &h, &err);
    if (r == 0) {
        CU_ASSERT_EQUAL(h->n_functions, 0);
        CU_ASSERT(h->n_warnings > 0);
        topo_host_free(h);
    } else {
        CU_ASSERT(r < 0);
        CU_ASSERT(err.msg[0] != '\0');
    }
    rmdir(dir);
}

/* Entries of a directory other than dot files. */
static size_t
count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;

    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void
test_real_sys(void)
{
    struct topo_scan_options o = {"/sys", "/dev", TOPO_IOMMU_AUTO};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = NULL;

    if (access("/sys/bus/pci/devices", R_OK) != 0)
        return; /* no PCI here: nothing to check */
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &h, &err), 0);
    CU_ASSERT_EQUAL(h->n_functions, count_entries("/sys/bus/pci/devices"));
    for (size_t i = 0; i < h->n_functions; i++) {
        char path[128], buf[32];
        unsigned v = 0, d = 0, c = 0;
        FILE *f;

        CU_ASSERT_EQUAL(topo_host_find(h, h->functions[i].bdf), (int)i);
        /* what the uevent said agrees with the kernel's own attributes */
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", h->functions[i].bdf);
        if ((f = fopen(path, "re"))) {
            CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
            v = (unsigned)strtoul(buf, NULL, 16);
            fclose(f);
            CU_ASSERT_EQUAL(h->functions[i].vendor, v);
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", h->functions[i].bdf);
        if ((f = fopen(path, "re"))) {
            CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
            d = (unsigned)strtoul(buf, NULL, 16);
            fclose(f);
            CU_ASSERT_EQUAL(h->functions[i].device, d);
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", h->functions[i].bdf);
        if ((f = fopen(path, "re"))) {
            CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
            c = (unsigned)strtoul(buf, NULL, 16);
            fclose(f);
            CU_ASSERT_EQUAL(h->functions[i].class_code, c);
        }
        for (size_t j = 0; j < h->n_functions; j++)
            CU_ASSERT(topo_distance(h, i, j) <= TOPO_DIST_SYS);
    }
    topo_host_free(h);
}

static void
test_parsers(void)
{
    int v = 7;

    CU_ASSERT_EQUAL(topo_parse_int("12", &v), 0);
    CU_ASSERT_EQUAL(v, 12);
    CU_ASSERT_EQUAL(topo_parse_int("-1", &v), 0);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_EQUAL(topo_parse_int("1x", &v), -EINVAL);
    CU_ASSERT_EQUAL(topo_parse_int("", &v), -EINVAL);
    CU_ASSERT_EQUAL(topo_parse_int(" 1", &v), -EINVAL);
    CU_ASSERT_EQUAL(topo_parse_int("99999999999", &v), -ERANGE);
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_EQUAL(topo_parse_prefixed_int("vfio3", "vfio", &v), 0);
    CU_ASSERT_EQUAL(v, 3);
    CU_ASSERT_EQUAL(topo_parse_prefixed_int("vfio-3", "vfio", &v), -EINVAL);
    CU_ASSERT_EQUAL(topo_parse_prefixed_int("vfio", "vfio", &v), -EINVAL);
    CU_ASSERT_TRUE(topo_is_bdf("0000:18:00.0"));
    CU_ASSERT_TRUE(topo_is_bdf("10000:e0:06.0"));
    CU_ASSERT_FALSE(topo_is_bdf("0000:18:00.8"));
    CU_ASSERT_FALSE(topo_is_bdf("0000:18:00"));
    CU_ASSERT_FALSE(topo_is_bdf("0000:1G:00.0"));
    CU_ASSERT_FALSE(topo_is_bdf("pci0000:00"));
    CU_ASSERT_STRING_EQUAL(topo_path_basename("../../drivers/vfio-pci"), "vfio-pci");
}

static void
test_null_args(void)
{
    CU_ASSERT_EQUAL(topo_host_find(NULL, "0000:00:00.0"), -ENOENT);
    CU_ASSERT_PTR_NULL(topo_host_group(NULL, 1));
    CU_ASSERT_FALSE(topo_assignable(NULL, 0, NULL, 0));
    topo_host_free(NULL);
}

TEST_SUITE(topo_robust, NULL, NULL, {"damaged fixture", test_damaged},
           {"bad roots", test_bad_roots}, {"empty root", test_empty_root},
           {"real /sys", test_real_sys}, {"parsers", test_parsers}, {"null args", test_null_args})

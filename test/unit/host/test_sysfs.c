#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "test/support/suite.h"
#include "test/support/topo_fixture.h"
#include "topology/host/sysfs.h"

/* topo_sysfs_list: the raw getdents64 lister the scan uses for group and
 * vfio-dev directories. */

struct seen {
    int n;
    int dots;
    int stop_at; /* return -EINTR at this call, 0: never */
    char names[8][16];
};

static int
record(const char *name, void *ctx)
{
    struct seen *s = ctx;

    if (name[0] == '.')
        s->dots++;
    if (s->n < 8)
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
    s->n++;
    return s->stop_at && s->n == s->stop_at ? -EINTR : 0;
}

static bool
saw(const struct seen *s, const char *name)
{
    for (int i = 0; i < s->n && i < 8; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

static void
test_list(void)
{
    char dir[] = "/tmp/kgdp-list-XXXXXX", path[64];
    struct seen s = {0};
    int dfd;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(dfd >= 0);
    CU_ASSERT_EQUAL(mkdirat(dfd, "devices", 0755), 0);
    CU_ASSERT_EQUAL(topo_sysfs_list(dfd, "devices", record, &s), 0);
    CU_ASSERT_EQUAL(s.n, 0); /* "." and ".." are not entries */
    CU_ASSERT_EQUAL(symlinkat("../x", dfd, "devices/0000:18:00.0"), 0);
    CU_ASSERT_EQUAL(mkdirat(dfd, "devices/.hidden", 0755), 0);
    CU_ASSERT_EQUAL(topo_sysfs_list(dfd, "devices", record, &s), 0);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_EQUAL(s.dots, 1);
    CU_ASSERT_TRUE(saw(&s, "0000:18:00.0"));
    CU_ASSERT_TRUE(saw(&s, ".hidden"));
    memset(&s, 0, sizeof(s));
    s.stop_at = 1;
    CU_ASSERT_EQUAL(topo_sysfs_list(dfd, "devices", record, &s), -EINTR);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_EQUAL(topo_sysfs_list(dfd, "missing", record, &s), -ENOENT);
    CU_ASSERT_EQUAL(topo_sysfs_list(dfd, "devices/0000:18:00.0", record, &s), -ENOENT);
    snprintf(path, sizeof(path), "%s/devices/.hidden", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/devices/0000:18:00.0", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/devices", dir);
    rmdir(path);
    close(dfd);
    rmdir(dir);
}

/* Every function has IDs, class and driver from its uevent; links, group,
 * NUMA node and physfn are read only for the functions reported on (NVIDIA
 * functions, their group members, the bridges above them). */
static void
test_lazy_details(void)
{
    struct topo_host *h = topo_fixture_scan("hgx-b200", TOPO_IOMMU_AUTO);
    const struct topo_function *nic, *gpu;
    const struct topo_group *g;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    nic = &h->functions[topo_fixture_index(h, "0000:19:00.0")];
    gpu = &h->functions[topo_fixture_index(h, "0000:18:00.0")];
    CU_ASSERT_STRING_EQUAL(nic->driver, "mlx5_core");
    CU_ASSERT_EQUAL(nic->class_code, 0x020000);
    /* not reported: no place in the tree, no group, no NUMA node read */
    CU_ASSERT_EQUAL(nic->parent, -1);
    CU_ASSERT_EQUAL(nic->iommu_group, -1);
    CU_ASSERT_EQUAL(nic->numa_node, -1);
    CU_ASSERT_EQUAL(topo_distance(h, (size_t)(nic - h->functions), (size_t)(gpu - h->functions)),
                    TOPO_DIST_SYS);
    /* reported: the GPU, its group, the switch ports above it */
    CU_ASSERT_FATAL(gpu->parent >= 0);
    CU_ASSERT(h->functions[gpu->parent].parent >= 0);
    g = topo_host_group(h, gpu->iommu_group);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->n_members, 1);
    CU_ASSERT_EQUAL(g->members[0], (size_t)(gpu - h->functions));
    CU_ASSERT_TRUE(g->viable);
    CU_ASSERT_EQUAL(gpu->numa_node, 0);
    CU_ASSERT_EQUAL(h->functions[gpu->parent].numa_node, 0);
    CU_ASSERT(h->functions[gpu->parent].iommu_group >= 0);
    topo_host_free(h);
}

TEST_SUITE(topo_sysfs, NULL, NULL, {"list directory", test_list},
           {"details where reported", test_lazy_details})

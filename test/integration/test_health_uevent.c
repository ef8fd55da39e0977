#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/suite.h"

/* Health follows kernel uevents without any SIGHUP, through the
 * incremental rescan. The daemon watches a fake tree the kernel knows
 * nothing of, so the test gives the copy a GPU at the address of a real
 * PCI function of the running kernel (a clone of 18:00.0) and makes the
 * kernel emit a real uevent for that address ("change" written to its
 * uevent file in the real /sys, root only): the daemon reads that one
 * function again. Hot-add, unbind and rebind, each seen from a uevent. */

#define FIXTURE "hgx-h100-iommufd"
#define SOURCE "0000:18:00.0"
#define CLONE_GROUP 990
#define CHANGE_MS 5000 /* uevent -> list; times tproc_factor() */

/* A PCI function of the running kernel whose uevent we may write, at an
 * address the fixture does not use; false (reason printed) when none. */
static bool
real_function(const struct hl *t, char *bdf, size_t size)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    bool ok = false;

    while (d && !ok && (e = readdir(d))) {
        char path[512];

        if (e->d_name[0] == '.' || strlen(e->d_name) >= size)
            continue;
        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", t->lh.sysfs, e->d_name);
        if (access(path, F_OK) == 0)
            continue;
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uevent", e->d_name);
        ok = access(path, W_OK) == 0;
        if (ok)
            memcpy(bdf, e->d_name, strlen(e->d_name) + 1);
    }
    if (d)
        closedir(d);
    if (!ok)
        printf("[no writable PCI uevent in /sys (needs root and a PCI bus): not run] ");
    return ok;
}

static int
kernel_uevent(const char *bdf)
{
    char path[512];
    int fd, r;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uevent", bdf);
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
        return -errno;
    r = write(fd, "change", 6) == 6 ? 0 : -errno;
    close(fd);
    return r;
}

static void
test_uevent_health(void)
{
    int ms = CHANGE_MS * tproc_factor();
    char gpu[64];
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    if (!real_function(&t, gpu, sizeof(gpu))) {
        hl_finish(&t);
        return;
    }
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, gpu, NULL), -ENOENT);
    /* hot-add: the new function and its group are read on the uevent */
    CU_ASSERT_EQUAL_FATAL(live_host_add_function(&t.lh, SOURCE, gpu, CLONE_GROUP, CLONE_GROUP),
                          0);
    CU_ASSERT_EQUAL_FATAL(kernel_uevent(gpu), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, gpu, 1, ms) >= 0);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 9);
    /* unbind, rebind */
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, gpu, false), 0);
    CU_ASSERT_EQUAL_FATAL(kernel_uevent(gpu), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, gpu, 0, ms) >= 0);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, SOURCE, NULL), 1);
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, gpu, true), 0);
    CU_ASSERT_EQUAL_FATAL(kernel_uevent(gpu), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, gpu, 1, ms) >= 0);
    /* what the incremental rescans built equals a full scan of the copy */
    CU_ASSERT_EQUAL(hl_lists_match_host(&t), 0);
    hl_finish(&t);
}

TEST_SUITE(integ_health_uevent, NULL, NULL,
           {"hot-add, unbind, rebind seen from kernel uevents (no SIGHUP)", test_uevent_health})

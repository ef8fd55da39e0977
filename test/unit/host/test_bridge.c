#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/support/live_host.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"
#include "topology/host/host.h"

/* A bridge in a VFIO group: the kernel lets VFIO use the group only while
 * the bridge has no driver or one that leaves DMA to the group's owner
 * (pcieport, pci-stub). A real q35 guest shows shpchp bound to a
 * pcie-pci-bridge, and VFIO_GROUP_GET_STATUS then says "not viable"
 * (test/realkernel). Here: the NVSwitch group 40 of hgx-h200-legacy, whose
 * four downstream ports are bound to pcieport in the fixture. */

#define PORT "0000:04:00.0"

/* Scan the copy with the port bound to driver (NULL: unbound); group 40. */
static struct topo_host *
scan_with_port_driver(const struct live_host *lh, const char *driver)
{
    _cleanup_free_ char *link = NULL, *target = NULL, *drv_dir = NULL;
    struct topo_scan_options o = {.sysfs_root = lh->sysfs, .dev_root = lh->dev};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = NULL;

    CU_ASSERT_FATAL(asprintf(&link, "%s/bus/pci/devices/" PORT "/driver", lh->sysfs) > 0);
    unlink(link);
    if (driver) {
        CU_ASSERT_FATAL(asprintf(&target, "../../../../../bus/pci/drivers/%s", driver) > 0);
        /* the scan takes a link to a driver that is not registered as unbound */
        CU_ASSERT_FATAL(asprintf(&drv_dir, "%s/bus/pci/drivers/%s", lh->sysfs, driver) > 0);
        mkdir(drv_dir, 0755);
        CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
    }
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &h, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo_host_group(h, 40));
    return h;
}

static void
test_bridge_driver(void)
{
    struct live_host lh = {0};
    struct topo_host *h;
    const struct topo_group *g;

    CU_ASSERT_EQUAL_FATAL(live_host_init(&lh, "hgx-h200-legacy"), 0);
    h = scan_with_port_driver(&lh, "shpchp");
    g = topo_host_group(h, 40);
    CU_ASSERT_FALSE(g->viable);
    CU_ASSERT_STRING_EQUAL(g->not_viable ? g->not_viable : "(viable)", PORT " bound to shpchp");
    CU_ASSERT_FALSE(topo_assignable(h, (size_t)topo_host_find(h, "0000:05:00.0"), NULL, 0));
    topo_host_free(h);
    for (int i = 0; i < 3; i++) {
        static const char *const fine[] = {"pcieport", "pci-stub", NULL};

        h = scan_with_port_driver(&lh, fine[i]);
        g = topo_host_group(h, 40);
        CU_ASSERT_TRUE(g->viable);
        CU_ASSERT_PTR_NULL(g->not_viable);
        topo_host_free(h);
    }
    live_host_fini(&lh);
}

TEST_SUITE(topo_bridge, NULL, NULL, {"bridge drivers and group viability", test_bridge_driver})

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "topology/host/host-priv.h"
#include "topology/host/sysfs.h"

bool
topo_vfio_driver(const char *driver)
{
    /* vfio-pci and its variant drivers (nvgrace_gpu_vfio_pci, mlx5_vfio_pci,
     * ...) all carry "vfio" in their name and expose the same device API. */
    return driver && strstr(driver, "vfio") != NULL;
}

void
topo_vfio_resolve(struct topo_host *host, int sys_fd, int dev_fd, enum topo_iommu_mode mode)
{
    bool any_cdev = false;

    /* The DaemonSet mounts only /dev/vfio of the host's /dev: the iommufd
     * misc device ("iommu") also shows in sysfs, which it mounts whole. */
    host->dev_iommu = topo_sysfs_exists(dev_fd, "iommu") ||
                      topo_sysfs_exists(sys_fd, "class/misc/iommu");
    host->dev_vfio = topo_sysfs_exists(dev_fd, "vfio/vfio");
    for (size_t i = 0; i < host->n_functions; i++) {
        struct topo_function *f = &host->functions[i];
        char path[64];

        if (f->vfio_cdev < 0)
            continue;
        if (f->vfio)
            any_cdev = true;
        if (snprintf(path, sizeof(path), "vfio/devices/vfio%d", f->vfio_cdev) <
            (int)sizeof(path))
            f->cdev_node = topo_sysfs_exists(dev_fd, path);
    }
    switch (mode) {
    case TOPO_IOMMU_IOMMUFD:
        host->iommufd = true;
        break;
    case TOPO_IOMMU_LEGACY:
        host->iommufd = false;
        break;
    case TOPO_IOMMU_AUTO:
    default:
        /* iommufd needs the /dev/iommu char device and vfio cdevs
         * (CONFIG_VFIO_DEVICE_CDEV) on the devices we hand out. */
        host->iommufd = host->dev_iommu && any_cdev;
        break;
    }
}

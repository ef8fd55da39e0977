#include <stddef.h>
#include <string.h>

#include "topology/host/host-priv.h"
#include "topology/base/macros.h"

#define NVIDIA_VENDOR 0x10de
#define PCI_CLASS_BRIDGE_PCI 0x0604

/* Names in pci.ids style ("CHIP [product]") so that per-model resource
 * names match the Go plugin, which reads them from pci.ids
 * ("GH100 [H100 SXM5 80GB]" -> GH100_H100_SXM5_80GB). Debian's pci.ids
 * lacks most of these IDs, hence the table. */
static const struct {
    uint16_t device;
    const char *name;
    enum topo_family family;
} models[] = {
    {0x2330, "GH100 [H100 SXM5 80GB]", TOPO_FAMILY_HOPPER},
    {0x2331, "GH100 [H100 PCIe]", TOPO_FAMILY_HOPPER},
    {0x2321, "GH100L [H100 NVL]", TOPO_FAMILY_HOPPER},
    {0x2339, "GH100 [H100 SXM5 94GB]", TOPO_FAMILY_HOPPER},
    {0x2337, "GH100 [H100 SXM5 64GB]", TOPO_FAMILY_HOPPER},
    {0x2338, "GH100 [H100 SXM5 96GB]", TOPO_FAMILY_HOPPER},
    {0x233d, "GH100 [H100 96GB]", TOPO_FAMILY_HOPPER},
    {0x2335, "GH100 [H200 SXM 141GB]", TOPO_FAMILY_HOPPER},
    {0x233b, "GH100 [H200 NVL]", TOPO_FAMILY_HOPPER},
    {0x2324, "GH100 [H800]", TOPO_FAMILY_HOPPER},
    {0x2322, "GH100 [H800 PCIe]", TOPO_FAMILY_HOPPER},
    {0x233a, "GH100 [H800L 94GB]", TOPO_FAMILY_HOPPER},
    {0x2329, "GH100 [H20]", TOPO_FAMILY_HOPPER},
    {0x232c, "GH100 [H20 HBM3e]", TOPO_FAMILY_HOPPER},
    {0x2328, "GH100 [H20B]", TOPO_FAMILY_HOPPER},
    {0x230c, "GH100 [H20 NVL16]", TOPO_FAMILY_HOPPER},
    {0x230e, "GH100 [H20 NVL16]", TOPO_FAMILY_HOPPER},
    {0x2342, "GH100 [GH200 120GB / 480GB]", TOPO_FAMILY_HOPPER},
    {0x2348, "GH100 [GH200 144G HBM3e]", TOPO_FAMILY_HOPPER},
    {0x2901, "GB100 [B200]", TOPO_FAMILY_BLACKWELL},
    {0x2909, "GB100 [HGX B200 168GB]", TOPO_FAMILY_BLACKWELL},
    {0x2920, "GB100 [B100]", TOPO_FAMILY_BLACKWELL},
    {0x29bc, "GB100 [B100]", TOPO_FAMILY_BLACKWELL},
    {0x2941, "GB100 [HGX GB200]", TOPO_FAMILY_BLACKWELL},
    {0x3182, "GB110 [B300 SXM6 AC]", TOPO_FAMILY_BLACKWELL},
    {0x31c2, "GB110 [GB300]", TOPO_FAMILY_BLACKWELL},
    {0x31c3, "GB110 [GB300]", TOPO_FAMILY_BLACKWELL},
    {0x2bb5, "GB202GL [RTX PRO 6000 Blackwell Server Edition]", TOPO_FAMILY_BLACKWELL},
    {0x22a3, "GH100 [H100 NVSwitch]", TOPO_FAMILY_HOPPER},
    {0x1af1, "GA100 [A100 NVSwitch]", TOPO_FAMILY_OTHER},
};

bool
topo_model_lookup(uint16_t device, const char **ret_name, enum topo_family *ret_family)
{
    for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
        if (models[i].device == device) {
            *ret_name = models[i].name;
            *ret_family = models[i].family;
            return true;
        }
    }
    return false;
}

enum topo_kind
topo_classify(uint16_t vendor, uint32_t class_code)
{
    uint32_t cls = class_code >> 8;

    if (cls == PCI_CLASS_BRIDGE_PCI)
        return TOPO_KIND_BRIDGE;
    if (vendor != NVIDIA_VENDOR)
        return TOPO_KIND_OTHER;
    if (cls == 0x0300 || cls == 0x0302)
        return TOPO_KIND_GPU;
    if (cls == 0x0680)
        return TOPO_KIND_NVSWITCH;
    return TOPO_KIND_COMPANION;
}

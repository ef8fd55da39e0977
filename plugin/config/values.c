#include <errno.h>
#include <string.h>

#include "plugin/config/values.h"
#include "topology/base/macros.h"

static const char *const mode_names[] = {"passthrough", "multi", "ppcie"};

const char *
plugin_mode_name(enum inv_mode mode)
{
    return (unsigned)mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

int
plugin_parse_mode(const char *s, enum inv_mode *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *ret = (enum inv_mode)i;
            return 0;
        }
    return -EINVAL;
}

int
plugin_parse_iommu(const char *s, enum topo_iommu_mode *ret)
{
    if (strcmp(s, "auto") == 0)
        *ret = TOPO_IOMMU_AUTO;
    else if (strcmp(s, "iommufd") == 0)
        *ret = TOPO_IOMMU_IOMMUFD;
    else if (strcmp(s, "legacy") == 0)
        *ret = TOPO_IOMMU_LEGACY;
    else
        return -EINVAL;
    return 0;
}

#include <errno.h>
#include <stdlib.h>
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

int
plugin_parse_address(const char *s, struct topo_error *err)
{
    const char *colon = strrchr(s, ':');
    char *end;
    unsigned long port;

    if (!colon || colon == s)
        return topo_error_set(err, -EINVAL, "'%s' is not HOST:PORT", s);
    if (s[0] == '[' && colon[-1] != ']')
        return topo_error_set(err, -EINVAL, "'%s': an IPv6 host goes in brackets ([::1]:PORT)", s);
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || colon[1] == '-' || colon[1] == '+' || port == 0 ||
        port > 65535)
        return topo_error_set(err, -EINVAL, "'%s': the port must be 1-65535", s);
    return 0;
}

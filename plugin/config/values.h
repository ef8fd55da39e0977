#pragma once

#include "topology/base/error.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* Value parsers shared by flags and the config file: 0 or -EINVAL. */
int plugin_parse_mode(const char *s, enum inv_mode *ret);
int plugin_parse_iommu(const char *s, enum topo_iommu_mode *ret);
const char *plugin_mode_name(enum inv_mode mode);
/* Is s "HOST:PORT" with a port 1-65535 ("[v6]:PORT" for IPv6)? 0 or -EINVAL with err. */
int plugin_parse_address(const char *s, struct topo_error *err);

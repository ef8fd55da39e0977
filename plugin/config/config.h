#pragma once

#include "plugin/config/options.h"
#include "topology/base/error.h"

/* Apply a JSON config file to o (keys: sysfsRoot, devRoot, kubeletDir,
 * cdiDir, mode, gpuAlias, nvswitchAlias, iommu, rescanInterval, logLevel,
 * cdiTakeover, nfdFeaturesDir, metricsAddress, aerQuietPeriod). Unknown
 * keys and bad values are errors. 0 or -errno. */
int plugin_config_load(const char *path, struct plugin_options *o, struct topo_error *err);

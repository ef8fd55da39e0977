#pragma once

#include <stddef.h>

#include "plugin/config/options.h"
#include "topology/base/error.h"

/* Apply a JSON config file to o (keys: sysfsRoot, devRoot, kubeletDir,
 * cdiDir, mode, gpuAlias, nvswitchAlias, iommu, rescanInterval, logLevel,
 * cdiTakeover, nfdFeaturesDir, metricsAddress, aerQuietPeriod). Unknown
 * keys and bad values are errors. 0 or -errno. */
int plugin_config_load(const char *path, struct plugin_options *o, struct topo_error *err);

/* Largest config file accepted, in bytes (a file of exactly this size is). */
#define PLUGIN_CONFIG_MAX_BYTES ((size_t)64 * 1024)

/* The same for the len bytes of text (not NUL-terminated; path only names
 * it in errors): a NUL byte or more than PLUGIN_CONFIG_MAX_BYTES is an
 * error. 0 or -errno. */
int plugin_config_parse(const char *path, const char *text, size_t len, struct plugin_options *o,
                        struct topo_error *err);

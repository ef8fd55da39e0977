#pragma once

#include <stdbool.h>

#include "plugin/log/log.h"
#include "topology/base/error.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* Everything the command line, the config file and the environment can
 * set. Precedence: built-in defaults < --config FILE < environment
 * (P_GPU_ALIAS, NVSWITCH_ALIAS) < flags. */
struct plugin_options {
    char *command;        /* "serve" (default), "discover", "cdi", "version" */
    char *sysfs_root;     /* "/sys" */
    char *dev_root;       /* "/dev" */
    char *kubelet_dir;    /* "/var/lib/kubelet/device-plugins" */
    char *cdi_dir;        /* "/var/run/cdi" */
    enum inv_mode mode;   /* passthrough */
    char *gpu_alias;      /* "pgpu"; "" = per-model resource names */
    char *nvswitch_alias; /* "nvswitch"; "" = per-model resource names */
    enum topo_iommu_mode iommu;
    unsigned rescan_interval; /* seconds; 0 = no periodic rescan */
    char *config;         /* path of the JSON config file, or NULL */
    enum log_level log_level;
    char *format;         /* discover: "table" | "json" | "dot" */
    char *output;         /* cdi: directory or "-" (stdout); NULL = --cdi-dir */
    bool cdi_takeover;    /* replace foreign specs that define our kinds */
    char *nfd_dir;        /* NFD features.d to write node labels into; NULL = off */
    char *metrics_address; /* "HOST:PORT" to serve /metrics on; NULL = off */
    unsigned aer_quiet;   /* seconds Unhealthy after a fatal AER error (300); 0 = ignore AER */
};

/* Parse argv (argv[0] is the program). Returns 0 and fills *ret (free with
 * plugin_options_free), or -EINVAL with a message in err. */
int plugin_options_parse(int argc, char **argv, struct plugin_options *ret,
                         struct topo_error *err);
void plugin_options_free(struct plugin_options *o);

/* Print usage to stdout. */
void plugin_usage(void);

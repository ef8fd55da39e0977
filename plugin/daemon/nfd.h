#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "topology/units/inventory.h"

/* Node labels through Node Feature Discovery's local feature files: one
 * file in NFD's features.d, "<prefix>/<name>=<value>" lines and an
 * "# +expiry-time" directive, so the labels of a daemon that died expire
 * by themselves. */

/* Every label lives under this prefix: a sub-domain of
 * feature.node.kubernetes.io, which nfd-master accepts without
 * -extra-label-ns in every version. */
#define NFD_LABEL_PREFIX "kata-gpu.feature.node.kubernetes.io/"

/* The file we own in the features directory. */
#define NFD_FILE_NAME "kata-gpu-device-plugin"

/* The label lines of inv->node (no comments, no expiry), one per line, in
 * a fixed order. 0 and *ret (caller frees), or -ENOMEM. */
int nfd_labels_render(const struct inventory *inv, char **ret);

/* The writer's memory between scans. */
struct plugin_nfd {
    char *dir;       /* features.d; NULL: labels are off */
    unsigned ttl;    /* seconds each written file stays valid */
    char *labels;    /* what was written last, NULL: nothing yet */
    time_t expiry;   /* its expiry time (wall clock) */
};

/* Seconds between scans that the daemon guarantees when labels are on:
 * the rescan interval, at most NFD_REFRESH_MAX (0: only on request). */
#define NFD_REFRESH_MAX 1800
unsigned plugin_nfd_scan_interval(const char *dir, unsigned rescan_interval);

/* Set up the writer for dir (NULL: off); scans come at least every
 * interval seconds (plugin_nfd_scan_interval). 0 or -ENOMEM. */
int plugin_nfd_init(struct plugin_nfd *n, const char *dir, unsigned interval);

/* Bring the file in line with inv at wall time now: written atomically
 * when the labels changed or half its lifetime has passed, else left
 * alone. Failures are logged; the next call tries again. 0 or -errno. */
int plugin_nfd_sync(struct plugin_nfd *n, const struct inventory *inv, time_t now);

/* Remove the file (clean shutdown) and free the writer. */
void plugin_nfd_close(struct plugin_nfd *n);

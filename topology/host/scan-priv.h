#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/host/host-priv.h"
#include "topology/host/pci_access.h"

/* The state of one scan, shared by scan.c (the full scan) and
 * scan_update.c (what an incremental scan reuses from the previous host). */

#define NVIDIA_VENDOR 0x10de
#define MAX_DRIVERS 32 /* distinct driver names remembered per scan */

enum {
    DETAIL = 1u << 0, /* reported on: read links and details */
    LINKS = 1u << 1,  /* bus, driver and iommu_group links read (or reused) */
};

struct scan {
    struct topo_host *host;
    const char *root; /* for messages only; files are opened via the fds */
    int sys_fd, dev_fd, devices_fd;
    char **links;      /* per function: target of bus/pci/devices/<bdf> */
    uint8_t *state;    /* per function: DETAIL | LINKS */
    bool *listed;      /* per group: devices/ listed (or reused) */
    size_t *work;      /* functions marked DETAIL whose links are unread */
    size_t n_work;
    struct topo_pci *pci; /* pci.ids names; opened on first need */
    bool pci_failed;
    struct {
        char *name;
        bool exists;
    } drivers[MAX_DRIVERS];
    size_t n_drivers;

    /* Incremental scans only (prev == NULL in a full scan). */
    const struct topo_host *prev;
    int *prev_idx;     /* per function: its index in prev, -1 when new */
    bool *dirty;       /* per function: named by the update, re-read */
    int *dirty_groups; /* ids of groups a re-read function left or joined */
    size_t n_dirty_groups;
};

/* Build host->functions from prev and the functions named in bdfs (those
 * are read again: uevent, or gone), fill prev_idx, dirty and dirty_groups.
 * 0, or -errno with err. */
int scan_update_functions(struct scan *s, const char *const *bdfs, size_t n_bdfs,
                          struct topo_error *err);

/* Reuse prev's links of function i (group, parent, root port, host
 * bridge) when it was reported there and is not dirty. true when reused. */
bool scan_reuse_links(struct scan *s, size_t i);

/* Reuse prev's listing of group g when nothing dirty left or joined it.
 * true when reused. */
bool scan_reuse_group(struct scan *s, struct topo_group *g);

/* Reuse prev's details of function i (NUMA, cdev, PF, name). */
bool scan_reuse_details(struct scan *s, size_t i);

/* Functions reported in prev but no longer: read their uevent again, as a
 * full scan would have (their driver came from the link). 0 or -ENOMEM. */
int scan_refresh_unreported(struct scan *s);

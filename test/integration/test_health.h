#pragma once

#include <stdbool.h>

#include "test/kubelet-sim/ksim.h"
#include "test/support/live_host.h"

/* The real daemon on a private copy of a fixture host, followed by the
 * kubelet simulator: what the health tests (test_health*.c) share. */

#define HL_PGPU "nvidia.com/pgpu"
#define HL_NVSWITCH "nvidia.com/nvswitch"
#define HL_READY_MS 15000 /* times tproc_factor() */

struct hl {
    struct live_host lh;
    struct ksim *sim;
    unsigned failures_at_start;
};

/* Copy fixture, start the sim, spawn the daemon with extra_args (may be
 * NULL) and wait until pgpu and nvswitch registered and listed. 0, or
 * -errno after failing the current test and cleaning up (hl_finish). */
int hl_start(struct hl *t, const char *fixture, const char *const *extra_args);

/* SIGTERM the daemon and fail the current test unless it exits 0 (under
 * valgrind: no memory error, no definite leak); print its log when the
 * test failed; stop the sim; delete the tree. */
void hl_finish(struct hl *t);

/* Health of id in the last list of resource: 1 Healthy, 0 Unhealthy,
 * -ENOENT not listed (or no list yet). ret_count (may be NULL) gets the
 * number of lists received so far. */
int hl_health(struct hl *t, const char *resource, const char *id, size_t *ret_count);

/* Wait until hl_health(resource, id) == want (1, 0 or -ENOENT). Returns
 * the ms it took, or -ETIMEDOUT (the last state printed). */
long hl_wait_health(struct hl *t, const char *resource, const char *id, int want, int timeout_ms);

/* Number of devices in the last list of resource, -errno without one. */
int hl_count(struct hl *t, const char *resource);

/* Send SIGHUP to the daemon. 0 or -errno. */
int hl_sighup(struct hl *t);

/* Scan the copy now (in this process, as the daemon does) and compare
 * every resource's last list with it: same IDs, health and NUMA node.
 * 0, or -EINVAL with the first difference printed. */
int hl_lists_match_host(struct hl *t);

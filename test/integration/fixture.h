#pragma once

#include "test/integration/harness.h"

/* The inventory most integration tests run with: two resources served by
 * one daemon, NUMA known and unknown, one unhealthy device, two switches
 * that share a device node. */
enum { FIX_PGPU, FIX_NVSWITCH };
extern const struct h_inv fixture_inv;

#define FIX_READY_MS 15000 /* generous readiness wait, times tproc_factor() */

/* harness_init + write fixture inv + sim + daemon, then wait until every
 * resource of inv registered and sent its first list. 0 or -errno (the
 * reason printed). */
int fixture_start(struct harness *h, const struct h_inv *inv);

/* Stop the daemon with SIGTERM and fail the current test unless it exits
 * with status 0 (under valgrind: no definite leak, no error). */
void fixture_stop(struct harness *h);

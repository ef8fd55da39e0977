#pragma once

#include <stdbool.h>

#include "topology/units/inventory.h"

/* Bring the CDI specs in dir in line with inv (cdi_sync) and log what
 * happened, one line per file written, removed, conflicting, skipped or
 * failed. Healthy means a consumer can resolve the device: the devices of
 * every resource whose spec is not on disk and current (write failed,
 * directory unusable, yielded to a foreign spec) are turned Unhealthy in inv
 * with the reason, so inv must not be shared yet. Returns 0 when every spec
 * is in place, else -errno (the first failure): try again later. */
int plugin_cdi_sync(const char *dir, struct inventory *inv, bool takeover);

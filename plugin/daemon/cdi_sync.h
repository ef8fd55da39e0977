#pragma once

#include <stdbool.h>

#include "topology/units/inventory.h"

/* Sync our CDI specs for inv into dir (cdi_sync) and log what happened,
 * one line per file written, removed, conflicting or skipped. Returns 0
 * when every spec is in place, 1 when a kind was skipped for a conflict,
 * -errno when nothing could be written. */
int plugin_cdi_sync(const char *dir, const struct inventory *inv, bool takeover);

#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "topology/base/error.h"

/* Temp files of topo_atomic_write_at are ".<name>.<random><suffix>". */
#define TOPO_ATOMIC_TEMP_SUFFIX ".tmp"

/* Atomically make dirfd/name hold exactly data (mode 0644): temp file in
 * the same directory, write, fsync, rename, fsync the directory. A file
 * that already holds these bytes with that mode is not touched
 * (*ret_changed = false). name is a plain file name, not starting with
 * '.'. On failure nothing half-written remains. 0 or -errno with err. */
int topo_atomic_write_at(int dirfd, const char *name, const char *data, size_t len,
                         bool *ret_changed, struct topo_error *err);

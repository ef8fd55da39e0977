#pragma once

#include <stddef.h>

#include "topology/base/error.h"

/* inotify on the kubelet dir. */

/* inotify fd watching dir for files created, deleted or moved (owned by
 * the caller). 0 or -errno with err (a missing dir is a clear error). */
int plugin_kubelet_watch_open(const char *dir, int *ret_fd, struct topo_error *err);

/* Loop events (PLUGIN_EV_*) that a buffer of inotify events stands for:
 * kubelet.sock created or moved in -> KUBELET_NEW; any file deleted or
 * moved out -> DIR_DELETE; overflow -> both. Partial records are ignored. */
unsigned plugin_kubelet_watch_parse(const void *buf, size_t len);

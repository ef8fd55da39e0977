#pragma once

#include "plugin/events/uevent.h"

/* Test seam: start a monitor on an already bound NETLINK_KOBJECT_UEVENT
 * socket (e.g. one with a tiny receive buffer that a test has overrun).
 * Takes ownership of sock_fd in every case; otherwise as uevent_monitor_start(). */
int uevent_monitor_start_fd(int sock_fd, uevent_fn *cb, void *ctx,
                            struct uevent_monitor **ret, struct topo_error *err);

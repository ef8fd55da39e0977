#pragma once

#include "topology/base/error.h"

/* A liveness probe of one device-plugin socket, as the kubelet sees it:
 * dial the unix socket (authority "localhost") and call
 * GetDevicePluginOptions with a deadline. Blocking; safe to call from any
 * thread, with or without grpc_init already done (it takes and drops its
 * own reference), but never from a completion-queue thread it would stall. */

/* 0 if GetDevicePluginOptions answered OK within timeout_ms; -errno with
 * err otherwise: -ENOENT/-ENOTSOCK (no socket at path), -ENAMETOOLONG,
 * -ECONNREFUSED (nobody listens), -ETIMEDOUT (no answer in time),
 * -EBADMSG (an answer that is not DevicePluginOptions), -EPROTO (another
 * gRPC status, named in err), -EINVAL (timeout_ms < 1), -ENOMEM. */
int plugin_probe_socket(const char *path, int timeout_ms, struct topo_error *err);

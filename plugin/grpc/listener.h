#pragma once

#include <stdbool.h>

#include <grpc/grpc.h>

#include "topology/base/error.h"

/* Our own listening unix socket in front of one grpc_server: we bind,
 * listen and accept, and hand each connection to the server
 * (grpc_server_add_channel_from_fd). Owning the descriptors is what lets
 * the daemon
 *  - keep accepting once descriptors are free again after the process ran
 *    out of them (libgrpc 1.51's own listener stops for good on EMFILE);
 *  - shut down the connection of a peer that stopped reading: libgrpc
 *    defers closing a transport until its pending write finishes, which
 *    for such a peer is never, and the server's shutdown waits for it;
 *  - replace a server at once: libgrpc unlinks its socket path when its
 *    listener goes away, which could remove the replacement's socket. */
struct plugin_listener;

/* Bind path (replacing a stale socket file, nothing else), listen, and
 * start the thread that accepts for srv (started, and kept alive by the
 * caller until plugin_listener_stop returns). name labels log lines.
 * 0 and *ret, or -errno with err. */
int plugin_listener_start(const char *path, const char *name, grpc_server *srv,
                          struct plugin_listener **ret, struct topo_error *err);

/* Stop accepting and join the thread, close the listening socket (and
 * unlink path when unlink_path), and shut down every connection that is
 * still open, so that no peer can hold up the server's shutdown. The
 * server itself is left to the caller. NULL is a no-op. */
void plugin_listener_stop(struct plugin_listener *l, bool unlink_path);

#pragma once

#include "plugin/config/options.h"
#include "plugin/events/sink.h"
#include "topology/units/inventory.h"

/* The gRPC side of the daemon as the daemon glue sees it: no gRPC types
 * cross this header. One loop serves every resource of the current
 * snapshot on one completion queue, driven by one thread. */
struct plugin_loop;
struct plugin_metrics;

/* grpc_init, the completion queue and the wake-up, and one server per
 * resource of inv (the loop takes a reference); kubelet_sock is the path
 * of kubelet.sock (copied). 0 and *ret, or -errno (logged) with nothing
 * left to tear down. */
int plugin_runtime_start(const struct plugin_options *o, struct inventory *inv,
                         const char *kubelet_sock, struct plugin_loop **ret);

/* Where the loop counts calls, registrations and kubelet restarts (NULL
 * = nowhere). Before plugin_runtime_run. */
void plugin_runtime_set_metrics(struct plugin_loop *loop, struct plugin_metrics *metrics);

/* The loop as an event sink for the event sources. */
struct plugin_sink plugin_loop_sink(struct plugin_loop *loop);

/* Register and serve until a stop request has shut every server down. */
void plugin_runtime_run(struct plugin_loop *loop);

/* One self-probe round, on a thread that may block (never the loop's):
 * every socket that serves is asked GetDevicePluginOptions within
 * timeout_ms (then once more within three times that), and one that does
 * not answer is re-created by the loop (a
 * server can stop accepting while its socket file stays). A round is
 * skipped while this process cannot open a socket itself: a probe could
 * not tell a dead server from our own lack of descriptors. */
void plugin_runtime_probe(struct plugin_loop *loop, int timeout_ms);

/* Refuse further posts: call before stopping the event sources. */
void plugin_runtime_close(struct plugin_loop *loop);

/* Stop serving, let every tag come home, tear the queue down, free the
 * loop and grpc_shutdown. After plugin_runtime_close. NULL accepted. */
void plugin_runtime_destroy(struct plugin_loop *loop);

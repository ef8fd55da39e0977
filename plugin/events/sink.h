#pragma once

#include "topology/units/inventory.h"

/* What event sources hand to the daemon: a bit mask of events and, from
 * the rescan, a new snapshot. The sources know only this interface; the
 * gRPC loop implements it (plugin_loop_sink). */

/* Events (bit mask). */
enum {
    PLUGIN_EV_STOP = 1u << 0,        /* SIGTERM / SIGINT */
    PLUGIN_EV_RESCAN = 1u << 1,      /* SIGHUP (the monitor turns it into a rescan request) */
    PLUGIN_EV_KUBELET_NEW = 1u << 2, /* kubelet.sock created */
    PLUGIN_EV_DIR_DELETE = 1u << 3,  /* a file left the kubelet dir */
    PLUGIN_EV_PUBLISH = 1u << 4,     /* a new snapshot waits in the mailbox */
    PLUGIN_EV_PROBED = 1u << 5,      /* a self-probe round ended (plugin/grpc/self_probe.c) */
};

struct plugin_sink {
    /* Post events and optionally a snapshot (its reference moves to the
     * sink). Any thread; never blocks for long. */
    void (*post)(void *ctx, unsigned events, struct inventory *inv);
    void *ctx;
};

static inline void
plugin_sink_post(const struct plugin_sink *sink, unsigned events, struct inventory *inv)
{
    sink->post(sink->ctx, events, inv);
}

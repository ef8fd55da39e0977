#include <errno.h>

#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/grpc/runtime.h"

/* gRPC core has no C alarm: an empty batch on a never-started call of a
 * lame channel completes at once on our queue, which wakes the loop from
 * any thread. One wake is in flight at a time; later posts ride on it. */

static void
wake_done(struct plugin_tag *tag, bool ok)
{
    struct plugin_loop *loop = plugin_container_of(tag, struct plugin_loop, wake_tag);
    (void)ok;
    pthread_mutex_lock(&loop->lock);
    loop->wake_pending = false;
    pthread_mutex_unlock(&loop->lock);
}

int
plugin_wake_init(struct plugin_loop *loop)
{
    loop->wake_tag.done = wake_done;
    loop->wake_channel = grpc_lame_client_channel_create("wake", GRPC_STATUS_UNAVAILABLE, "wake");
    if (!loop->wake_channel)
        return -ENOMEM;
    loop->wake_call = grpc_channel_create_call(loop->wake_channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                               loop->cq, grpc_slice_from_static_string("/wake"),
                                               NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return loop->wake_call ? 0 : -ENOMEM;
}

void
plugin_loop_post(struct plugin_loop *loop, unsigned events, struct inventory *inv)
{
    grpc_call_error e;

    pthread_mutex_lock(&loop->lock);
    if (loop->wake_closed) {
        pthread_mutex_unlock(&loop->lock);
        inventory_unref(inv);
        return;
    }
    loop->events |= events;
    if (inv) {
        inventory_unref(loop->pending_inv);
        inv->generation = ++loop->generation;
        loop->pending_inv = inv;
        loop->events |= PLUGIN_EV_PUBLISH;
    }
    if (!loop->wake_pending) {
        e = grpc_call_start_batch(loop->wake_call, NULL, 0, &loop->wake_tag, NULL);
        if (e == GRPC_CALL_OK)
            loop->wake_pending = true;
        else
            log_error("wake_failed", "grpc_call_error=%d", (int)e);
    }
    pthread_mutex_unlock(&loop->lock);
}

void
plugin_wake_close(struct plugin_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->wake_closed = true;
    pthread_mutex_unlock(&loop->lock);
}

bool
plugin_wake_busy(struct plugin_loop *loop)
{
    bool busy;

    pthread_mutex_lock(&loop->lock);
    busy = loop->wake_pending;
    pthread_mutex_unlock(&loop->lock);
    return busy;
}

void
plugin_wake_destroy(struct plugin_loop *loop)
{
    if (loop->wake_call)
        grpc_call_unref(loop->wake_call);
    if (loop->wake_channel)
        grpc_channel_destroy(loop->wake_channel);
    loop->wake_call = NULL;
    loop->wake_channel = NULL;
    inventory_unref(loop->pending_inv);
    loop->pending_inv = NULL;
}

static void
sink_post(void *ctx, unsigned events, struct inventory *inv)
{
    plugin_loop_post(ctx, events, inv);
}

struct plugin_sink
plugin_loop_sink(struct plugin_loop *loop)
{
    return (struct plugin_sink){.post = sink_post, .ctx = loop};
}

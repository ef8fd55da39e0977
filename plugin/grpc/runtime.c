#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>

#include "plugin/grpc/loop.h"
#include "plugin/grpc/runtime.h"
#include "plugin/grpc/socket_name.h"
#include "plugin/log/log.h"

static int
start_servers(struct plugin_loop *loop)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **names = NULL;
    int r = 0;

    if ((r = plugin_socket_names(loop->inv, &names, &err)) < 0) {
        log_error("serve_failed", "error=%s", LOG_QUOTED(err.msg));
        return r;
    }
    for (size_t i = loop->inv->n_resources; r == 0 && i-- > 0;) {
        struct plugin_server *s = plugin_server_new(loop, loop->inv->resources[i].name, names[i]);

        if (!s) {
            r = -ENOMEM;
            break;
        }
        s->next = loop->servers;
        loop->servers = s;
        if ((r = plugin_server_start(s)) == 0)
            s->need_register = true;
    }
    plugin_socket_names_free(names, loop->inv->n_resources);
    return r;
}

void
plugin_loop_dispatch(grpc_event ev)
{
    if (ev.type == GRPC_OP_COMPLETE)
        ((struct plugin_tag *)ev.tag)->done(ev.tag, ev.success);
}

int
plugin_runtime_start(const struct plugin_options *o, struct inventory *inv,
                     const char *kubelet_sock, struct plugin_loop **ret)
{
    struct plugin_loop *loop = calloc(1, sizeof(*loop));
    int r;

    if (!loop || !(loop->kubelet_sock = strdup(kubelet_sock))) {
        free(loop);
        return -ENOMEM;
    }
    loop->opts = o;
    loop->inv = inventory_ref(inv);
    loop->inv->generation = loop->generation = 1;
    pthread_mutex_init(&loop->lock, NULL);
    grpc_init();
    loop->cq = grpc_completion_queue_create_for_next(NULL);
    r = plugin_wake_init(loop);
    if (r == 0)
        r = start_servers(loop);
    if (r < 0) {
        log_error("serve_failed", "error=%s", strerror(-r));
        plugin_runtime_close(loop);
        plugin_runtime_destroy(loop);
        return r;
    }
    *ret = loop;
    return 0;
}

void
plugin_runtime_set_metrics(struct plugin_loop *loop, struct plugin_metrics *metrics)
{
    loop->metrics = metrics;
}

void
plugin_runtime_run(struct plugin_loop *loop)
{
    plugin_loop_reconcile(loop);
    plugin_self_probe_targets(loop);
    while (!loop->stopping || loop->servers) {
        grpc_event ev = grpc_completion_queue_next(loop->cq, plugin_loop_deadline(loop), NULL);

        plugin_loop_dispatch(ev);
        plugin_loop_handle_events(loop);
    }
}

void
plugin_runtime_close(struct plugin_loop *loop)
{
    plugin_wake_close(loop);
}

/* Every tag must come home and the queue be drained to GRPC_QUEUE_SHUTDOWN
 * before it is destroyed. */
void
plugin_runtime_destroy(struct plugin_loop *loop)
{
    grpc_event ev;

    if (!loop)
        return;
    plugin_loop_stop(loop);
    while (loop->servers || plugin_wake_busy(loop))
        plugin_loop_dispatch(
            grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL));
    plugin_wake_destroy(loop);
    plugin_self_probe_destroy(loop);
    grpc_completion_queue_shutdown(loop->cq);
    do {
        ev = grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        plugin_loop_dispatch(ev);
    } while (ev.type != GRPC_QUEUE_SHUTDOWN);
    grpc_completion_queue_destroy(loop->cq);
    inventory_unref(loop->inv);
    grpc_shutdown();
    pthread_mutex_destroy(&loop->lock);
    free(loop->kubelet_sock);
    free(loop);
}

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc_security.h>

#include "plugin/log/log.h"
#include "plugin/grpc/listener.h"
#include "plugin/grpc/loop.h"
#include "plugin/grpc/socket_path.h"
#include "topology/base/macros.h"

static const char *const method_paths[PLUGIN_M_COUNT] = {
    [PLUGIN_M_OPTIONS] = "/v1beta1.DevicePlugin/GetDevicePluginOptions",
    [PLUGIN_M_LIST_WATCH] = "/v1beta1.DevicePlugin/ListAndWatch",
    [PLUGIN_M_PREFERRED] = "/v1beta1.DevicePlugin/GetPreferredAllocation",
    [PLUGIN_M_ALLOCATE] = "/v1beta1.DevicePlugin/Allocate",
    [PLUGIN_M_PRESTART] = "/v1beta1.DevicePlugin/PreStartContainer",
};

struct plugin_server *
plugin_server_ref(struct plugin_server *s)
{
    s->refs++;
    return s;
}

void
plugin_server_unref(struct plugin_server *s)
{
    if (!s || --s->refs > 0)
        return;
    plugin_register_destroy(s);
    free(s->resource);
    free(s->socket_name);
    free(s->socket_path);
    free(s);
}

static void
shutdown_done(struct plugin_tag *tag, bool ok)
{
    struct plugin_server *s = plugin_container_of(tag, struct plugin_server, shutdown_tag);

    (void)ok;
    grpc_server_destroy(s->srv);
    s->srv = NULL;
    s->state = PLUGIN_SRV_DOWN;
    log_info("server_stopped", "resource=%s socket=%s", s->resource, s->socket_path);
    plugin_loop_server_stopped(s);
    plugin_server_unref(s);
}

struct plugin_server *
plugin_server_new(struct plugin_loop *loop, const char *resource, const char *socket_name)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct plugin_server *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->refs = 1;
    s->loop = loop;
    s->state = PLUGIN_SRV_DOWN;
    s->shutdown_tag.done = shutdown_done;
    s->reg.backoff = (struct plugin_backoff)PLUGIN_BACKOFF_INIT(PLUGIN_REGISTER_RETRY_FIRST_MS,
                                                                PLUGIN_REGISTER_RETRY_MAX_MS);
    s->resource = strdup(resource);
    s->socket_name = strdup(socket_name);
    if (!s->resource || !s->socket_name ||
        plugin_socket_path(loop->opts->kubelet_dir, socket_name, &s->socket_path, &err) < 0) {
        if (err.code)
            log_error("server_failed", "resource=%s error=\"%s\"", resource, err.msg);
        plugin_server_unref(s);
        return NULL;
    }
    return s;
}

/* A kubelet that stops acknowledging pings (stopped, hung) loses its
 * connection, and a peer cannot open more streams than a kubelet needs. */
#define KEEPALIVE_TIME_MS 30000
#define KEEPALIVE_TIMEOUT_MS 10000
#define MAX_CONCURRENT_STREAMS 100

static grpc_server *
server_create(struct plugin_server *s)
{
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_KEEPALIVE_TIME_MS,
         .value.integer = KEEPALIVE_TIME_MS},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
         .value.integer = KEEPALIVE_TIMEOUT_MS},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
         .value.integer = 1},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS,
         .value.integer = MAX_CONCURRENT_STREAMS},
    };
    grpc_channel_args channel_args = {.num_args = ARRAY_SIZE(args), .args = args};
    grpc_server *srv = grpc_server_create(&channel_args, NULL);

    if (!srv)
        return NULL;
    grpc_server_register_completion_queue(srv, s->loop->cq, NULL);
    for (int m = 0; m < PLUGIN_M_COUNT; m++) {
        s->methods[m] = grpc_server_register_method(srv, method_paths[m], NULL,
                                                    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (!s->methods[m]) {
            grpc_server_destroy(srv);
            return NULL;
        }
    }
    return srv;
}

/* A started grpc_server has to be shut down before it is destroyed. One
 * that never had a connection or a call does so at once. */
static void
server_discard(grpc_server *srv)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    static char tag;

    grpc_server_shutdown_and_notify(srv, cq, &tag);
    grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    grpc_completion_queue_destroy(cq);
    grpc_server_destroy(srv);
}

int
plugin_server_start(struct plugin_server *s)
{
    struct topo_error err = TOPO_ERROR_INIT;
    grpc_server *srv;

    if (s->state != PLUGIN_SRV_DOWN)
        return 0;
    srv = server_create(s);
    if (!srv)
        return -ENOMEM;
    grpc_server_start(srv);
    if (plugin_listener_start(s->socket_path, s->resource, srv, &s->listener, &err) < 0) {
        /* A read-only or non-directory kubelet dir is named as such. */
        struct topo_error dir_err = TOPO_ERROR_INIT;
        int r = plugin_kubelet_dir_check(s->loop->opts->kubelet_dir, &dir_err);

        server_discard(srv);
        log_error("serve_failed", "resource=%s socket=%s error=%s", s->resource, s->socket_path,
                  LOG_QUOTED(r < 0 ? dir_err.msg : err.msg));
        return r < 0 ? r : err.code;
    }
    s->srv = srv;
    s->srv_gen++;
    s->state = PLUGIN_SRV_SERVING;
    log_info("serving", "resource=%s socket=%s", s->resource, s->socket_path);
    return plugin_calls_request_all(s);
}

void
plugin_server_stop(struct plugin_server *s)
{
    plugin_register_cancel(s);
    if (s->state != PLUGIN_SRV_SERVING)
        return;
    s->state = PLUGIN_SRV_STOPPING;
    /* First no new connections, and every open one shut down: a peer that
     * stopped reading would otherwise hold the shutdown below forever. */
    plugin_listener_stop(s->listener, s->removed || s->loop->stopping);
    s->listener = NULL;
    grpc_server_shutdown_and_notify(s->srv, s->loop->cq, &s->shutdown_tag);
    plugin_server_ref(s);
    /* Shutdown waits for open calls, and ListAndWatch never ends by itself. */
    grpc_server_cancel_all_calls(s->srv);
}

bool
plugin_server_socket_exists(const struct plugin_server *s)
{
    struct stat st;

    return lstat(s->socket_path, &st) == 0 && S_ISSOCK(st.st_mode);
}

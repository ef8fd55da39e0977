#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc_security.h>

#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/grpc/socket_path.h"

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
    s->reg.backoff = (struct plugin_backoff)PLUGIN_BACKOFF_INIT(100, 5000);
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

static grpc_server *
server_create(struct plugin_server *s)
{
    grpc_server *srv = grpc_server_create(NULL, NULL);

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

int
plugin_server_start(struct plugin_server *s)
{
    grpc_server_credentials *creds;
    grpc_server *srv;
    char *addr;
    int port;

    if (s->state != PLUGIN_SRV_DOWN)
        return 0;
    if (asprintf(&addr, "unix:%s", s->socket_path) < 0)
        return -ENOMEM;
    srv = server_create(s);
    if (!srv) {
        free(addr);
        return -ENOMEM;
    }
    creds = grpc_insecure_server_credentials_create();
    /* Binding unlinks a stale file at the path: a socket left by a killed
     * predecessor does not block us. */
    port = grpc_server_add_http2_port(srv, addr, creds);
    grpc_server_credentials_release(creds);
    free(addr);
    if (port == 0) {
        struct topo_error err = TOPO_ERROR_INIT;
        int r = plugin_kubelet_dir_check(s->loop->opts->kubelet_dir, &err);

        grpc_server_destroy(srv);
        log_error("serve_failed", "resource=%s socket=%s error=%s", s->resource, s->socket_path,
                  LOG_QUOTED(r < 0 ? err.msg : "cannot bind the socket"));
        return r < 0 ? r : -EADDRNOTAVAIL;
    }
    grpc_server_start(srv);
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

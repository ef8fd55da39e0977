#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/grpc/socket_name.h"
#include "plugin/metrics/metrics.h"
#include "topology/base/cleanup.h"

/* Event handling of the gRPC thread: what the mailbox brings (signals,
 * kubelet dir changes, new snapshots) turns into flags on the servers, and
 * reconcile acts on the flags. Nothing here blocks. */

static bool
kubelet_present(const struct plugin_loop *loop)
{
    return access(loop->kubelet_sock, F_OK) == 0;
}

static void
unlink_server(struct plugin_loop *loop, struct plugin_server *s)
{
    for (struct plugin_server **p = &loop->servers; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            plugin_server_unref(s);
            return;
        }
}

/* Take a server out of service for good: shut it down, or drop it at once
 * when it has no grpc_server (binding failed earlier). */
static void
retire(struct plugin_loop *loop, struct plugin_server *s)
{
    s->removed = true;
    if (s->state == PLUGIN_SRV_DOWN) {
        plugin_register_cancel(s);
        unlink_server(loop, s);
        return;
    }
    plugin_server_stop(s);
}

void
plugin_loop_stop(struct plugin_loop *loop)
{
    struct plugin_server *next;

    if (!loop->stopping)
        log_info("shutdown", "servers=%s", loop->servers ? "stopping" : "none");
    loop->stopping = true;
    for (struct plugin_server *s = loop->servers; s; s = next) {
        next = s->next;
        retire(loop, s);
    }
}

void
plugin_loop_server_stopped(struct plugin_server *s)
{
    struct plugin_loop *loop = s->loop;

    if (s->removed || loop->stopping) {
        unlink_server(loop, s);
        return;
    }
    /* A restart: a new grpc_server behind a new socket. */
    if (plugin_server_start(s) == 0)
        s->need_register = true;
    plugin_loop_reconcile(loop);
}

static struct plugin_server *
find_server(struct plugin_loop *loop, const char *resource)
{
    for (struct plugin_server *s = loop->servers; s; s = s->next)
        if (!s->removed && strcmp(s->resource, resource) == 0)
            return s;
    return NULL;
}

static bool
socket_taken(const struct plugin_loop *loop, const char *name)
{
    for (const struct plugin_server *s = loop->servers; s; s = s->next)
        if (!s->removed && strcmp(s->socket_name, name) == 0)
            return true;
    return false;
}

/* A new resource's socket: its own name unless a server that stays took
 * it (then the hashed form). 0 and *ret, or -errno (logged). */
static int
new_socket_name(struct plugin_loop *loop, const char *resource, const char *name, char **ret)
{
    int r;

    if (!socket_taken(loop, name))
        return (*ret = strdup(name)) ? 0 : -ENOMEM;
    if ((r = plugin_socket_name(resource, true, ret)) < 0)
        return r;
    if (!socket_taken(loop, *ret))
        return 0;
    log_error("resource_failed", "resource=%s error=\"socket %s is taken\"", resource, *ret);
    free(*ret);
    return -EEXIST;
}

static void
add_server(struct plugin_loop *loop, const char *resource, const char *name)
{
    _cleanup_free_ char *sock = NULL;
    struct plugin_server *s;

    if (new_socket_name(loop, resource, name, &sock) < 0 ||
        !(s = plugin_server_new(loop, resource, sock)))
        return;
    log_info("resource_added", "resource=%s socket=%s", resource, sock);
    s->next = loop->servers;
    loop->servers = s;
    if (plugin_server_start(s) == 0)
        s->need_register = true;
}

/* Make the set of servers follow the resources of the current snapshot. A
 * resource that stays keeps its server and socket, so the kubelet keeps
 * the endpoint it knows. */
static void
sync_servers(struct plugin_loop *loop)
{
    const struct inventory *inv = loop->inv;
    struct topo_error err = TOPO_ERROR_INIT;
    struct plugin_server *next;
    char **names = NULL;

    for (struct plugin_server *s = loop->servers; s; s = next) {
        next = s->next;
        if (!s->removed && inventory_find_resource(inv, s->resource) < 0) {
            log_info("resource_removed", "resource=%s", s->resource);
            retire(loop, s);
        }
    }
    if (plugin_socket_names(inv, &names, &err) < 0) {
        log_error("resources_failed", "error=%s", LOG_QUOTED(err.msg));
        return;
    }
    for (size_t i = 0; i < inv->n_resources; i++)
        if (!find_server(loop, inv->resources[i].name))
            add_server(loop, inv->resources[i].name, names[i]);
    plugin_socket_names_free(names, inv->n_resources);
}

static void
publish(struct plugin_loop *loop, struct inventory *inv)
{
    inventory_unref(loop->inv);
    loop->inv = inv;
    log_info("published", "generation=%llu resources=%zu", (unsigned long long)inv->generation,
             inv->n_resources);
    sync_servers(loop);
    for (struct plugin_server *s = loop->servers; s; s = s->next)
        if (!s->removed)
            plugin_list_watch_push(s);
}

static void
kubelet_events(struct plugin_loop *loop, unsigned events)
{
    bool fresh = events & PLUGIN_EV_KUBELET_NEW;

    if (fresh) {
        log_info("kubelet_restart", "socket=%s", loop->kubelet_sock);
        plugin_metrics_inc(loop->metrics, PLUGIN_CTR_KUBELET_RESTARTS, NULL, NULL);
    }
    for (struct plugin_server *s = loop->servers; s; s = s->next) {
        if (s->removed)
            continue;
        if (s->state == PLUGIN_SRV_DOWN) {
            s->need_restart = true; /* binding failed earlier: try again */
            s->need_register = true;
        }
        if (s->state == PLUGIN_SRV_SERVING && !plugin_server_socket_exists(s)) {
            log_warn("socket_vanished", "resource=%s socket=%s", s->resource, s->socket_path);
            s->need_restart = true;
            s->need_register = true;
        }
        if (fresh)
            s->need_register = true;
    }
}

void
plugin_loop_handle_events(struct plugin_loop *loop)
{
    struct inventory *inv;
    unsigned events;

    pthread_mutex_lock(&loop->lock);
    events = loop->events;
    loop->events = 0;
    inv = loop->pending_inv;
    loop->pending_inv = NULL;
    pthread_mutex_unlock(&loop->lock);
    /* Called after every completion: with an empty mailbox there is
     * nothing to reconcile (flags change only with events, snapshots and
     * server restarts, which reconcile themselves), and an RPC pays no
     * stat of kubelet.sock. */
    if (!events && !inv)
        return;
    if (events & PLUGIN_EV_STOP)
        plugin_loop_stop(loop);
    if (loop->stopping) {
        inventory_unref(inv);
        return;
    }
    if (inv)
        publish(loop, inv);
    if (events & (PLUGIN_EV_KUBELET_NEW | PLUGIN_EV_DIR_DELETE))
        kubelet_events(loop, events);
    if (events & PLUGIN_EV_PROBED)
        plugin_self_probe_apply(loop);
    plugin_loop_reconcile(loop);
    plugin_self_probe_targets(loop);
}

void
plugin_loop_reconcile(struct plugin_loop *loop)
{
    bool kubelet = kubelet_present(loop);

    if (loop->stopping)
        return;
    for (struct plugin_server *s = loop->servers; s; s = s->next) {
        if (s->removed)
            continue;
        if (s->state == PLUGIN_SRV_DOWN && s->need_restart) {
            s->need_restart = false;
            if (plugin_server_start(s) < 0)
                continue;
        }
        if (s->state != PLUGIN_SRV_SERVING)
            continue;
        if (s->need_restart) {
            s->need_restart = false;
            plugin_server_stop(s);
            continue;
        }
        /* No kubelet yet: its kubelet.sock event will bring us back. */
        if (s->need_register && kubelet) {
            s->need_register = false;
            plugin_register_request(s);
        }
    }
}

gpr_timespec
plugin_loop_deadline(struct plugin_loop *loop)
{
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);

    for (struct plugin_server *s = loop->servers; s; s = s->next)
        plugin_register_fire_due(s, now);
    for (struct plugin_server *s = loop->servers; s; s = s->next)
        if (s->reg.state == PLUGIN_REG_WAITING && gpr_time_cmp(s->reg.retry_at, deadline) < 0)
            deadline = s->reg.retry_at;
    return deadline;
}

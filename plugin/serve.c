#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "plugin/log.h"
#include "plugin/loop.h"
#include "plugin/monitor.h"
#include "plugin/rescan.h"
#include "plugin/serve.h"
#include "plugin/socket_path.h"
#include "plugin/uevent.h"
#include "topology/cleanup.h"

/* Every socket path must fit before anything is started. */
static int
check_paths(const struct plugin_options *o, const struct inventory *inv, char **ret_kubelet)
{
    struct topo_error err = TOPO_ERROR_INIT;

    for (size_t i = 0; i < inv->n_resources; i++) {
        _cleanup_free_ char *path = NULL;

        if (plugin_socket_path(o->kubelet_dir, inv->resources[i].socket, &path, &err) < 0) {
            log_error("serve_failed", "resource=%s error=%s", inv->resources[i].name,
                      log_quote(err.msg, (char[600]){0}, 600));
            return err.code;
        }
    }
    if (plugin_socket_path(o->kubelet_dir, "kubelet.sock", ret_kubelet, &err) < 0) {
        log_error("serve_failed", "error=%s", log_quote(err.msg, (char[600]){0}, 600));
        return err.code;
    }
    return 0;
}

static int
start_servers(struct plugin_loop *loop)
{
    for (size_t i = loop->inv->n_resources; i-- > 0;) {
        struct plugin_server *s = plugin_server_new(loop, &loop->inv->resources[i]);

        if (!s)
            return -ENOMEM;
        s->next = loop->servers;
        loop->servers = s;
        if (plugin_server_start(s) < 0)
            return -EADDRNOTAVAIL;
        s->need_register = true;
    }
    return 0;
}

/* A kernel event about PCI, vfio or IOMMU groups: rescan (coalesced). */
static void
on_uevent(void *ctx)
{
    plugin_rescan_request(ctx);
}

/* Without netlink (e.g. a restricted container) the periodic rescan and
 * SIGHUP still work: warn and go on. */
static struct uevent_monitor *
start_uevents(struct plugin_rescan *rescan)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct uevent_monitor *m = NULL;

    if (uevent_monitor_start(on_uevent, rescan, &m, &err) < 0) {
        log_warn("uevents_unavailable", "error=%s", log_quote(err.msg, (char[600]){0}, 600));
        return NULL;
    }
    return m;
}

static void
dispatch(grpc_event ev)
{
    if (ev.type == GRPC_OP_COMPLETE)
        ((struct plugin_tag *)ev.tag)->done(ev.tag, ev.success);
}

/* Serve until a stop request has shut every server down. */
static void
run_loop(struct plugin_loop *loop)
{
    while (!loop->stopping || loop->servers) {
        grpc_event ev = grpc_completion_queue_next(loop->cq, plugin_loop_deadline(loop), NULL);

        dispatch(ev);
        plugin_loop_handle_events(loop);
    }
}

/* Close the mailbox, stop the helper threads, let every tag come home and
 * tear the queue down (it must be drained to GRPC_QUEUE_SHUTDOWN). */
static void
teardown(struct plugin_loop *loop, struct plugin_monitor *mon, struct uevent_monitor *uev,
         struct plugin_rescan *rescan)
{
    grpc_event ev;

    plugin_wake_close(loop);
    plugin_monitor_stop(mon);
    uevent_monitor_stop(uev);
    plugin_rescan_stop(rescan);
    loop->rescan = NULL;
    plugin_loop_stop(loop);
    while (loop->servers || plugin_wake_busy(loop))
        dispatch(grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL));
    plugin_wake_destroy(loop);
    grpc_completion_queue_shutdown(loop->cq);
    do {
        ev = grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        dispatch(ev);
    } while (ev.type != GRPC_QUEUE_SHUTDOWN);
    grpc_completion_queue_destroy(loop->cq);
}

static int
serve(struct plugin_loop *loop, plugin_inventory_loader load, void *ctx, int sig_fd, int watch_fd)
{
    struct plugin_monitor *mon = NULL;
    struct plugin_rescan *rescan = NULL;
    struct uevent_monitor *uev = NULL;
    int r;

    loop->cq = grpc_completion_queue_create_for_next(NULL);
    r = plugin_wake_init(loop);
    if (r == 0)
        r = start_servers(loop);
    if (r == 0)
        r = plugin_monitor_start(loop, sig_fd, watch_fd, &mon);
    if (r == 0)
        r = plugin_rescan_start(loop, loop->opts, load, ctx, loop->inv, loop->opts->rescan_interval,
                                &rescan);
    loop->rescan = rescan;
    if (r == 0)
        uev = start_uevents(rescan);
    if (r == 0) {
        plugin_loop_reconcile(loop);
        run_loop(loop);
    } else {
        log_error("serve_failed", "error=%s", strerror(-r));
    }
    teardown(loop, mon, uev, rescan);
    return r;
}

int
plugin_serve_run(const struct plugin_options *o, plugin_inventory_loader load, void *ctx)
{
    struct plugin_loop loop = {.opts = o};
    struct topo_error err = TOPO_ERROR_INIT;
    _cleanup_close_ int sig_fd = -1;
    _cleanup_close_ int watch_fd = -1;
    sigset_t old;
    int r;

    if ((r = load(o, ctx, &loop.inv, &err)) < 0) {
        log_error("serve_failed", "error=%s", log_quote(err.msg, (char[600]){0}, 600));
        return 1;
    }
    loop.inv->generation = loop.generation = 1;
    if (check_paths(o, loop.inv, &loop.kubelet_sock) < 0 ||
        plugin_kubelet_watch_open(o->kubelet_dir, &watch_fd, &err) < 0) {
        if (err.code)
            log_error("serve_failed", "error=%s", log_quote(err.msg, (char[600]){0}, 600));
        inventory_unref(loop.inv);
        free(loop.kubelet_sock);
        return 1;
    }
    /* Before grpc_init: the threads libgrpc starts inherit the mask, so the
     * signals reach only our signalfd. */
    if ((r = plugin_signals_block(&old)) < 0 || (r = plugin_signals_open(&sig_fd)) < 0) {
        log_error("serve_failed", "error=\"signals: %s\"", strerror(-r));
        inventory_unref(loop.inv);
        free(loop.kubelet_sock);
        return 1;
    }
    pthread_mutex_init(&loop.lock, NULL);
    grpc_init();
    log_info("start", "kubelet_dir=%s resources=%zu", o->kubelet_dir, loop.inv->n_resources);
    r = serve(&loop, load, ctx, sig_fd, watch_fd);
    inventory_unref(loop.inv);
    grpc_shutdown();
    pthread_mutex_destroy(&loop.lock);
    free(loop.kubelet_sock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    log_info("exit", "status=%d", r < 0 ? 1 : 0);
    return r < 0 ? 1 : 0;
}

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "plugin/daemon/prober.h"
#include "plugin/daemon/serve.h"
#include "plugin/events/dir_watch.h"
#include "plugin/events/kubelet_watch.h"
#include "plugin/events/monitor.h"
#include "plugin/events/rescan.h"
#include "plugin/events/signals.h"
#include "plugin/events/uevent.h"
#include "plugin/grpc/grpc_log.h"
#include "plugin/grpc/runtime.h"
#include "plugin/grpc/socket_name.h"
#include "plugin/grpc/socket_path.h"
#include "plugin/daemon/nfd.h"
#include "plugin/log/log.h"
#include "plugin/metrics/metrics.h"
#include "topology/base/cleanup.h"

/* Self-probe of every socket: how often, and how long one may take. A
 * healthy server answers in well under a millisecond. */
#define PROBE_INTERVAL_MS 5000
#define PROBE_TIMEOUT_MS 1000

/* The daemon's threads: the gRPC loop (this thread), the monitor (signals
 * and the kubelet dir), the rescan thread (the one owner of the current
 * snapshot; every trigger reaches it through plugin_rescan_request*), the
 * uevent listener and the self-probe. */
struct daemon {
    struct plugin_loop *loop;
    struct plugin_monitor *mon;
    struct plugin_rescan *rescan;
    struct uevent_monitor *uev;
    struct plugin_dir_watch *dirw;
    struct plugin_prober *prober;
};

/* Every socket path must fit before anything is started. */
static int
check_paths(const struct plugin_options *o, const struct inventory *inv, char **ret_kubelet)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **names = NULL;
    int r = plugin_socket_names(inv, &names, &err);

    for (size_t i = 0; r == 0 && i < inv->n_resources; i++) {
        _cleanup_free_ char *path = NULL;

        r = plugin_socket_path(o->kubelet_dir, names[i], &path, &err);
    }
    plugin_socket_names_free(names, inv->n_resources);
    if (r == 0)
        r = plugin_socket_path(o->kubelet_dir, "kubelet.sock", ret_kubelet, &err);
    if (r < 0)
        log_error("serve_failed", "error=%s", LOG_QUOTED(err.msg));
    return r;
}

/* A kernel event about PCI, vfio or IOMMU groups: rescan (coalesced). */
static void
on_uevent(void *ctx, const char *const *slots, size_t n_slots)
{
    plugin_rescan_request_functions(ctx, slots, n_slots);
}

/* Without netlink (e.g. a restricted container) the periodic rescan and
 * SIGHUP still work: warn and go on. */
static struct uevent_monitor *
start_uevents(struct plugin_rescan *rescan)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct uevent_monitor *m = NULL;

    if (uevent_monitor_start(on_uevent, rescan, &m, &err) < 0) {
        log_warn("uevents_unavailable", "error=%s", LOG_QUOTED(err.msg));
        return NULL;
    }
    return m;
}

/* Someone changed the dir our sync writes into: rescan (and sync) now. */
static void
on_dir_change(void *ctx)
{
    plugin_rescan_request(ctx, PLUGIN_RESCAN_CDI_DIR);
}

/* Without the watch, the periodic rescan still rewrites what is ours:
 * warn and go on. */
static struct plugin_dir_watch *
start_dir_watch(const char *dir, struct plugin_rescan *rescan)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct plugin_dir_watch *w = NULL;

    if (!dir)
        return NULL;
    if (plugin_dir_watch_start(dir, on_dir_change, rescan, &w, &err) < 0)
        log_warn("dir_watch_unavailable", "error=%s", LOG_QUOTED(err.msg));
    return w;
}

static int
start_sources(struct daemon *d, const struct plugin_options *o, const struct plugin_source *src,
              struct inventory *inv, bool retry, int sig_fd, struct plugin_kubelet_watch *watch)
{
    struct plugin_sink sink = plugin_loop_sink(d->loop);
    int r;

    /* the rescan first: the monitor and the uevent listener request rescans */
    if ((r = plugin_rescan_start(&sink, o, src, inv, retry,
                                 plugin_nfd_scan_interval(o->nfd_dir, o->rescan_interval),
                                 &d->rescan)) < 0 ||
        (r = plugin_monitor_start(&sink, d->rescan, sig_fd, watch, &d->mon)) < 0) {
        log_error("serve_failed", "error=%s", strerror(-r));
        return r;
    }
    d->uev = start_uevents(d->rescan);
    d->dirw = start_dir_watch(src->sync_dir, d->rescan);
    if ((r = plugin_prober_start(d->loop, PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS, &d->prober)) < 0)
        log_error("serve_failed", "error=\"self-probe: %s\"", strerror(-r));
    return r;
}

/* Close the mailbox, stop the helper threads, then the loop. */
static void
stop_all(struct daemon *d)
{
    plugin_runtime_close(d->loop);
    plugin_prober_stop(d->prober);
    plugin_monitor_stop(d->mon);
    uevent_monitor_stop(d->uev);
    plugin_dir_watch_stop(d->dirw);
    plugin_rescan_stop(d->rescan);
    plugin_runtime_destroy(d->loop);
}

/* A metrics endpoint that cannot listen is reported; devices are served
 * anyway: they matter more than their statistics. */
static struct plugin_metrics_http *
start_metrics(const struct plugin_options *o, struct plugin_metrics *metrics)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct plugin_metrics_http *http = NULL;

    if (!metrics || !o->metrics_address)
        return NULL;
    if (plugin_metrics_http_start(metrics, o->metrics_address, &http, &err) < 0) {
        log_error("metrics_failed", "error=%s", LOG_QUOTED(err.msg));
        return NULL;
    }
    log_info("metrics_serving", "address=%s path=/metrics", o->metrics_address);
    return http;
}

static int
serve(const struct plugin_options *o, const struct plugin_source *src,
      struct plugin_metrics *metrics, struct inventory *inv, bool retry, const char *kubelet_sock,
      int sig_fd, struct plugin_kubelet_watch *watch)
{
    struct daemon d = {0};
    struct plugin_metrics_http *http;
    int r;

    /* Before grpc_init, so that its first line goes our way too. */
    plugin_grpc_log_init();
    if ((r = plugin_runtime_start(o, inv, kubelet_sock, &d.loop)) < 0)
        return r;
    plugin_runtime_set_metrics(d.loop, metrics);
    http = start_metrics(o, metrics);
    log_info("start", "kubelet_dir=%s resources=%zu", o->kubelet_dir, inv->n_resources);
    r = start_sources(&d, o, src, inv, retry, sig_fd, watch);
    if (r == 0)
        plugin_runtime_run(d.loop);
    stop_all(&d);
    plugin_metrics_http_stop(http);
    return r;
}

/* Every connection costs a descriptor (two: ours and libgrpc's), and a
 * rescan opens sysfs and CDI files: take all the hard limit allows, so
 * that running out takes a flood, not a busy node. */
static void
raise_nofile_limit(void)
{
    struct rlimit rl;
    rlim_t was;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        log_warn("nofile_limit", "soft=%llu hard=%llu error=\"%s\"", (unsigned long long)was,
                 (unsigned long long)rl.rlim_max, strerror(errno));
    else
        log_info("nofile_limit", "soft=%llu was=%llu", (unsigned long long)rl.rlim_cur,
                 (unsigned long long)was);
}

static void
log_start_error(const struct topo_error *err)
{
    if (err->code)
        log_error("serve_failed", "error=%s", LOG_QUOTED(err->msg));
}

/* Everything that can make the start fail, before anything is written:
 * the kubelet dir, the snapshot, the socket paths, the dir watch, the
 * signals. 0 or -errno (logged); *ret_inv is the caller's either way. */
static int
start_checks(const struct plugin_options *o, const struct plugin_source *src,
             struct inventory **ret_inv, char **ret_kubelet_sock,
             struct plugin_kubelet_watch **ret_watch, int *ret_sig_fd, sigset_t *old)
{
    struct topo_error err = TOPO_ERROR_INIT;
    int r;

    if ((r = plugin_kubelet_dir_check(o->kubelet_dir, &err)) < 0 ||
        (r = src->load(o, src->ctx, NULL, NULL, 0, ret_inv, &err)) < 0) {
        log_start_error(&err);
        return r;
    }
    if ((r = check_paths(o, *ret_inv, ret_kubelet_sock)) < 0)
        return r;
    if ((r = plugin_kubelet_watch_open(o->kubelet_dir, ret_watch, &err)) < 0) {
        log_start_error(&err);
        return r;
    }
    /* Before grpc_init: the threads libgrpc starts inherit the mask, so the
     * signals reach only our signalfd. */
    if ((r = plugin_signals_block(old)) < 0 || (r = plugin_signals_open(ret_sig_fd)) < 0) {
        log_error("serve_failed", "error=\"signals: %s\"", strerror(-r));
        return r;
    }
    return 0;
}

int
plugin_serve_run(const struct plugin_options *o, const struct plugin_source *src,
                 struct plugin_metrics *metrics)
{
    _cleanup_close_ int sig_fd = -1;
    struct plugin_kubelet_watch *watch = NULL;
    _cleanup_free_ char *kubelet_sock = NULL;
    struct inventory *inv = NULL;
    sigset_t old;
    bool retry;
    int r;

    if ((r = start_checks(o, src, &inv, &kubelet_sock, &watch, &sig_fd, &old)) < 0) {
        plugin_kubelet_watch_close(watch);
        inventory_unref(inv);
        return r;
    }
    raise_nofile_limit();
    retry = src->sync && src->sync(o, src->ctx, inv) < 0;
    r = serve(o, src, metrics, inv, retry, kubelet_sock, sig_fd, watch);
    plugin_kubelet_watch_close(watch);
    inventory_unref(inv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    log_info("exit", "status=%d", r < 0 ? 1 : 0);
    return r;
}

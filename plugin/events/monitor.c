#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "plugin/log/log.h"
#include "plugin/events/sink.h"
#include "plugin/events/kubelet_watch.h"
#include "plugin/events/monitor.h"
#include "plugin/events/rescan.h"
#include "plugin/events/signals.h"

/* Signals and inotify arrive on file descriptors, and the gRPC thread
 * sleeps in the completion queue: this thread polls the descriptors and
 * posts what it sees to the loop. */
struct plugin_monitor {
    struct plugin_sink sink;
    struct plugin_rescan *rescan;
    struct plugin_kubelet_watch *watch;
    int sig_fd, stop_fd;
    pthread_t thread;
};

static void
drain_watch(struct plugin_monitor *m)
{
    unsigned events = plugin_kubelet_watch_read(m->watch);

    if (events)
        plugin_sink_post(&m->sink, events, NULL);
}

static void *
monitor_main(void *arg)
{
    struct plugin_monitor *m = arg;
    struct pollfd fds[3] = {
        {.fd = m->sig_fd, .events = POLLIN},
        {.fd = plugin_kubelet_watch_fd(m->watch), .events = POLLIN},
        {.fd = m->stop_fd, .events = POLLIN},
    };

    for (;;) {
        unsigned events;

        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("monitor_failed", "error=poll errno=%d", errno);
            return NULL;
        }
        if (fds[2].revents)
            return NULL;
        if (fds[0].revents && (events = plugin_signals_read(m->sig_fd))) {
            /* every rescan trigger takes the one route: a request */
            if (events & PLUGIN_EV_RESCAN)
                plugin_rescan_request(m->rescan, PLUGIN_RESCAN_SIGHUP);
            if (events & ~PLUGIN_EV_RESCAN)
                plugin_sink_post(&m->sink, events & ~PLUGIN_EV_RESCAN, NULL);
        }
        if (fds[1].revents)
            drain_watch(m);
    }
}

int
plugin_monitor_start(const struct plugin_sink *sink, struct plugin_rescan *rescan, int sig_fd,
                     struct plugin_kubelet_watch *watch, struct plugin_monitor **ret)
{
    struct plugin_monitor *m = calloc(1, sizeof(*m));
    int r;

    if (!m)
        return -ENOMEM;
    m->sink = *sink;
    m->rescan = rescan;
    m->sig_fd = sig_fd;
    m->watch = watch;
    m->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (m->stop_fd < 0) {
        r = -errno;
        free(m);
        return r;
    }
    r = -pthread_create(&m->thread, NULL, monitor_main, m);
    if (r < 0) {
        close(m->stop_fd);
        free(m);
        return r;
    }
    *ret = m;
    return 0;
}

void
plugin_monitor_stop(struct plugin_monitor *m)
{
    uint64_t one = 1;

    if (!m)
        return;
    if (write(m->stop_fd, &one, sizeof(one)) < 0)
        log_error("monitor_stop_failed", "errno=%d", errno);
    pthread_join(m->thread, NULL);
    close(m->stop_fd);
    free(m);
}

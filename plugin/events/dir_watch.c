#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "plugin/events/dir_watch.h"

#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM |             \
     IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* How often a missing directory is looked for. */
#define REARM_MS 1000

struct plugin_dir_watch {
    char *dir;
    void (*cb)(void *ctx);
    void *ctx;
    int fd, wd, stop_fd;
    bool started;
    pthread_t thread;
};

/* Watch the directory if it exists now; true when newly watched. */
static bool
arm(struct plugin_dir_watch *w)
{
    if (w->wd >= 0)
        return false;
    w->wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK);
    return w->wd >= 0;
}

/* Does this batch of events call for a rescan? The watch is dropped when
 * the directory went away or moved (it is looked for again by path). */
static bool
parse(struct plugin_dir_watch *w, const char *p, size_t len)
{
    bool hit = false;

    while (len >= sizeof(struct inotify_event)) {
        struct inotify_event ev;
        size_t size;

        memcpy(&ev, p, sizeof(ev));
        size = sizeof(ev) + ev.len;
        if (size > len)
            break;
        if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW))
            hit = true;
        if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF) && w->wd >= 0)
            inotify_rm_watch(w->fd, w->wd);
        if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
            w->wd = -1;
        if (ev.len && p[sizeof(ev)] != '.' && p[sizeof(ev)] != '\0')
            hit = true;
        p += size;
        len -= size;
    }
    return hit;
}

static bool
drain(struct plugin_dir_watch *w)
{
    char buf[4096] __attribute__((aligned(8)));
    bool hit = false;
    ssize_t n;

    while ((n = read(w->fd, buf, sizeof(buf))) > 0)
        hit |= parse(w, buf, (size_t)n);
    return hit;
}

static void *
watch_main(void *arg)
{
    struct plugin_dir_watch *w = arg;
    struct pollfd fds[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};

    for (;;) {
        int n = poll(fds, 2, w->wd < 0 ? REARM_MS : -1);
        bool hit = false;

        if (n < 0 && errno != EINTR)
            return NULL;
        if (n > 0 && fds[1].revents)
            return NULL;
        if (n > 0 && fds[0].revents)
            hit = drain(w);
        hit |= arm(w);
        if (hit)
            w->cb(w->ctx);
    }
}

void
plugin_dir_watch_stop(struct plugin_dir_watch *w)
{
    uint64_t one = 1;

    if (!w)
        return;
    if (w->started && write(w->stop_fd, &one, sizeof(one)) == sizeof(one))
        pthread_join(w->thread, NULL);
    if (w->fd >= 0)
        close(w->fd);
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    free(w->dir);
    free(w);
}

int
plugin_dir_watch_start(const char *dir, void (*cb)(void *ctx), void *ctx,
                       struct plugin_dir_watch **ret, struct topo_error *err)
{
    struct plugin_dir_watch *w = calloc(1, sizeof(*w));
    int r;

    if (!w)
        return topo_error_set(err, -ENOMEM, "out of memory");
    *w = (struct plugin_dir_watch){.cb = cb, .ctx = ctx, .wd = -1, .stop_fd = -1};
    w->dir = strdup(dir);
    w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    w->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (!w->dir || w->fd < 0 || w->stop_fd < 0) {
        r = w->dir ? -errno : -ENOMEM;
        plugin_dir_watch_stop(w);
        return topo_error_set(err, r, "watch %s: %s", dir, strerror(-r));
    }
    arm(w);
    if ((r = -pthread_create(&w->thread, NULL, watch_main, w)) < 0) {
        plugin_dir_watch_stop(w);
        return topo_error_set(err, r, "watch %s: thread: %s", dir, strerror(-r));
    }
    w->started = true;
    *ret = w;
    return 0;
}

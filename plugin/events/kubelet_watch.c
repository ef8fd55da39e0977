#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "plugin/events/sink.h"
#include "plugin/events/kubelet_watch.h"

#define KUBELET_SOCKET "kubelet.sock"

int
plugin_kubelet_watch_open(const char *dir, int *ret_fd, struct topo_error *err)
{
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

    if (fd < 0)
        return topo_error_set(err, -errno, "inotify_init1: %s", strerror(errno));
    /* Events, not inode numbers: a re-created kubelet.sock can reuse the
     * inode of the old one. */
    if (inotify_add_watch(
            fd, dir, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF) < 0) {
        int r = -errno;

        close(fd);
        return topo_error_set(err, r, "watch kubelet dir %s: %s", dir, strerror(-r));
    }
    *ret_fd = fd;
    return 0;
}

unsigned
plugin_kubelet_watch_parse(const void *buf, size_t len)
{
    const char *p = buf;
    unsigned events = 0;

    while (len >= sizeof(struct inotify_event)) {
        struct inotify_event ev;
        size_t size;

        memcpy(&ev, p, sizeof(ev));
        size = sizeof(ev) + ev.len;
        if (size > len)
            break;
        if (ev.mask & IN_Q_OVERFLOW)
            events |= PLUGIN_EV_KUBELET_NEW | PLUGIN_EV_DIR_DELETE;
        if (ev.mask & (IN_DELETE | IN_MOVED_FROM))
            events |= PLUGIN_EV_DIR_DELETE;
        if ((ev.mask & (IN_CREATE | IN_MOVED_TO)) && ev.len &&
            strncmp(p + sizeof(ev), KUBELET_SOCKET, ev.len) == 0 &&
            strnlen(p + sizeof(ev), ev.len) == strlen(KUBELET_SOCKET))
            events |= PLUGIN_EV_KUBELET_NEW;
        p += size;
        len -= size;
    }
    return events;
}

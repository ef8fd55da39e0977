#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "plugin/events/sink.h"
#include "plugin/events/kubelet_watch.h"

#define KUBELET_SOCKET "kubelet.sock"

/* Events, not inode numbers: a re-created kubelet.sock can reuse the inode
 * of the old one. The dir itself can go too (deleted, moved away, replaced
 * by a new one): its parent is watched for a directory of its name. */
#define DIR_MASK                                                                                   \
    (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |         \
     IN_ONLYDIR)
#define PARENT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR)

struct plugin_kubelet_watch {
    int fd;
    int wd_dir;    /* -1 while the dir is gone */
    int wd_parent; /* -1 when the parent cannot be watched */
    char *dir;
    char *name; /* the dir's name in its parent */
    char *kubelet_sock;
};

void
plugin_kubelet_watch_close(struct plugin_kubelet_watch *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->dir);
    free(w->name);
    free(w->kubelet_sock);
    free(w);
}

/* dir without trailing slashes, its parent and its name. */
static int
split_dir(struct plugin_kubelet_watch *w, const char *dir, char **ret_parent)
{
    size_t len = strlen(dir), cut;
    const char *slash;

    while (len > 1 && dir[len - 1] == '/')
        len--;
    w->dir = strndup(dir, len);
    if (!w->dir)
        return -ENOMEM;
    slash = strrchr(w->dir, '/');
    cut = slash ? (size_t)(slash - w->dir) : 0;
    w->name = strdup(slash ? slash + 1 : w->dir);
    *ret_parent = slash ? strndup(w->dir, cut ? cut : 1) : strdup(".");
    if (!w->name || !*ret_parent || asprintf(&w->kubelet_sock, "%s/%s", w->dir, KUBELET_SOCKET) < 0)
        return -ENOMEM;
    return 0;
}

int
plugin_kubelet_watch_open(const char *dir, struct plugin_kubelet_watch **ret,
                          struct topo_error *err)
{
    struct plugin_kubelet_watch *w = calloc(1, sizeof(*w));
    char *parent = NULL;
    int r;

    if (!w)
        return topo_error_set(err, -ENOMEM, "out of memory");
    w->fd = w->wd_dir = w->wd_parent = -1;
    r = split_dir(w, dir, &parent);
    if (r < 0) {
        r = topo_error_set(err, r, "out of memory");
        goto fail;
    }
    w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (w->fd < 0) {
        r = topo_error_set(err, -errno, "inotify_init1: %s", strerror(errno));
        goto fail;
    }
    w->wd_dir = inotify_add_watch(w->fd, w->dir, DIR_MASK);
    if (w->wd_dir < 0) {
        r = topo_error_set(err, -errno, "watch kubelet dir %s: %s", dir, strerror(errno));
        goto fail;
    }
    /* Without it (e.g. the parent is not readable) a deleted dir is only
     * noticed when it comes back through another event: not fatal. */
    w->wd_parent = inotify_add_watch(w->fd, parent, PARENT_MASK);
    free(parent);
    *ret = w;
    return 0;
fail:
    free(parent);
    plugin_kubelet_watch_close(w);
    return r;
}

int
plugin_kubelet_watch_fd(const struct plugin_kubelet_watch *w)
{
    return w->fd;
}

static bool
event_names(const struct inotify_event *ev, const char *name, const char *want)
{
    return ev->len && strncmp(name, want, ev->len) == 0 && strnlen(name, ev->len) == strlen(want);
}

static void
parse_one(const struct inotify_event *ev, const char *name, int wd_dir, int wd_parent,
          const char *dir_name, struct plugin_watch_events *out)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        out->events |= PLUGIN_EV_KUBELET_NEW | PLUGIN_EV_DIR_DELETE;
        out->dir_back = true; /* whatever happened to the dir: look again */
        return;
    }
    if (ev->wd == wd_parent && wd_parent >= 0) {
        if (!event_names(ev, name, dir_name))
            return;
        if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
            out->events |= PLUGIN_EV_DIR_DELETE;
            out->dir_gone = true;
        }
        if (ev->mask & (IN_CREATE | IN_MOVED_TO))
            out->dir_back = true;
        return;
    }
    if (ev->wd != wd_dir)
        return; /* a watch we left behind */
    if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        out->events |= PLUGIN_EV_DIR_DELETE;
        out->dir_gone = true;
    }
    if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
        out->events |= PLUGIN_EV_DIR_DELETE;
    if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && event_names(ev, name, KUBELET_SOCKET))
        out->events |= PLUGIN_EV_KUBELET_NEW;
}

void
plugin_kubelet_watch_parse(const void *buf, size_t len, int wd_dir, int wd_parent,
                           const char *dir_name, struct plugin_watch_events *ret)
{
    const char *p = buf;

    *ret = (struct plugin_watch_events){0};
    while (len >= sizeof(struct inotify_event)) {
        struct inotify_event ev;
        size_t size;

        memcpy(&ev, p, sizeof(ev));
        size = sizeof(ev) + ev.len;
        if (size > len)
            break;
        parse_one(&ev, p + sizeof(ev), wd_dir, wd_parent, dir_name, ret);
        p += size;
        len -= size;
    }
}

/* The dir went away or a dir of its name appeared: drop the old watch (a
 * moved dir keeps it, and its events are no longer about our path) and
 * watch whatever directory is at the path now. */
static unsigned
rewatch(struct plugin_kubelet_watch *w, bool gone)
{
    unsigned events = 0;
    int wd;

    if (gone && w->wd_dir >= 0) {
        inotify_rm_watch(w->fd, w->wd_dir);
        w->wd_dir = -1;
    }
    wd = inotify_add_watch(w->fd, w->dir, DIR_MASK);
    if (wd < 0)
        return events;
    if (wd != w->wd_dir) {
        /* A new dir: nothing of ours is in it, and the kubelet may have
         * created its socket before we watched. */
        w->wd_dir = wd;
        events |= PLUGIN_EV_DIR_DELETE;
        if (access(w->kubelet_sock, F_OK) == 0)
            events |= PLUGIN_EV_KUBELET_NEW;
    }
    return events;
}

unsigned
plugin_kubelet_watch_read(struct plugin_kubelet_watch *w)
{
    /* Aligned for struct inotify_event. */
    char buf[4096] __attribute__((aligned(8)));
    struct plugin_watch_events got = {0};
    ssize_t n;

    while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
        struct plugin_watch_events one;

        plugin_kubelet_watch_parse(buf, (size_t)n, w->wd_dir, w->wd_parent, w->name, &one);
        got.events |= one.events;
        got.dir_gone |= one.dir_gone;
        got.dir_back |= one.dir_back;
    }
    if (got.dir_gone || got.dir_back || w->wd_dir < 0)
        got.events |= rewatch(w, got.dir_gone);
    return got.events;
}
